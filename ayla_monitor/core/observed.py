"""An engine whose received frames also go to an observer (a capture file).

The observer is called on the event loop, synchronously, with each batch in
the order the engine fans it out (live batches and gap fills alike), so
nothing is missed at the start or the end of a recording. It must be quick:
the capture writer only queues the batch for a thread of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import FramesReceived, Update
from ayla_monitor.dss.events import Event, MalformedFrame

__all__ = ["FrameObserver", "ObservedEngine"]

#: (the stream's name, a batch of its events and bad frames, in arrival order)
FrameObserver = Callable[[str, Sequence[Event | MalformedFrame]], None]


class ObservedEngine(Engine):
    """:class:`Engine` plus ``frame_observer``."""

    def __init__(self, *args: Any, frame_observer: FrameObserver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = frame_observer

    def publish(self, update: Update) -> None:
        if update.__class__ is FramesReceived:
            frames = update.frames
            if frames:
                self._observer(self.definition(update.stream_id).name, frames)
        super().publish(update)
