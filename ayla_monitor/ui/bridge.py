"""The one place where the engine's updates become Qt signals.

The engine hands out plain updates through an async iterator
(:meth:`~ayla_monitor.core.engine.Engine.subscribe`); :meth:`EngineBridge.run`
reads them on the loop and emits one signal per update. Widgets connect to
the signals and never await anything themselves.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from PySide6.QtCore import QObject, Signal

from ayla_monitor.core.status import FramesReceived, StatusChanged, Update, WriterHealth

__all__ = ["EngineBridge"]

log = logging.getLogger(__name__)


class EngineBridge(QObject):
    """Engine updates in, signals out."""

    #: (stream_id, list of events and malformed frames): one batch from one stream.
    frames_received = Signal(int, object)
    #: a :class:`~ayla_monitor.core.status.StreamStatus` snapshot.
    status_changed = Signal(object)
    #: a :class:`~ayla_monitor.core.status.WriterHealth`.
    writer_health = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.batches = 0

    async def run(self, updates: AsyncIterator[Update]) -> None:
        """Forward every update until ``updates`` ends or the task is cancelled."""
        async for update in updates:
            self.deliver(update)

    def deliver(self, update: Update) -> None:
        """Emit the signal for one update (also callable directly, e.g. in tests)."""
        match update:
            case FramesReceived(stream_id=stream_id, frames=frames):
                self.batches += 1
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("stream %d: %d frames", stream_id, len(frames))
                self.frames_received.emit(stream_id, frames)
            case StatusChanged(status=status):
                self.status_changed.emit(status)
            case WriterHealth():
                self.writer_health.emit(update)
            case _:
                log.warning("Ignoring an update of unknown kind %s", type(update).__name__)
