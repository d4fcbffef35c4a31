"""The stored devices' properties, read after their tiles show: :class:`StoredProperties`.

The window starts from :meth:`~ayla_monitor.store.database.Store.device_overview`
(every device but its properties: a quarter of the latest rows with 10,000
devices) and is ready with it; the properties follow here,
:data:`CHUNK` devices a read on a worker thread, each chunk merged into the
tiles on the GUI thread when it comes (what live events told meanwhile is
newer and stays). Until the last chunk is in, :attr:`StoredProperties.loading`
holds the alerts' check of rules against the fleet (a property not read yet
is not a property that no device has).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.ui.queries import QueryRunner
from ayla_monitor.ui.tiles import TilesView

__all__ = ["StoredProperties", "CHUNK"]

log = logging.getLogger(__name__)

#: Devices a read: with 10,000 devices, 20 reads of ~5,300 rows, each about
#: 20 ms of CPU (SQLite), so that tiles fill in while the loop runs.
CHUNK = 500


class StoredProperties(QObject):
    """Reads the properties of the devices shown from the store, a chunk at a
    time, into ``tiles``; ``owner`` (the window) is who asks ``runner``."""

    #: every chunk is in (or the reading stopped: failed, or a new load)
    finished = Signal()

    def __init__(self, runner: QueryRunner, tiles: TilesView, owner: QObject) -> None:
        super().__init__(owner)
        self.setObjectName("stored-properties")
        self._runner = runner
        self._tiles = tiles
        self._owner = owner
        self._generation = 0
        #: chunks of DSNs still to read
        self._chunks: list[Sequence[str]] = []
        # tiles emptied (another database): what is still to read is not theirs
        tiles.model.modelReset.connect(self.stop)

    @property
    def loading(self) -> bool:
        return bool(self._chunks)

    def load(self, store: Any, dsns: Sequence[str]) -> None:
        """Read the properties of ``dsns`` (in the order they are shown first) from ``store``."""
        self._generation += 1
        self._chunks = [dsns[at : at + CHUNK] for at in range(0, len(dsns), CHUNK)]
        self._next(store, self._generation)

    def stop(self) -> None:
        if self._chunks:
            self._generation += 1
            self._chunks = []
            self.finished.emit()

    def _next(self, store: Any, generation: int) -> None:
        if not self._chunks:
            self.finished.emit()
            return
        chunk = self._chunks[0]

        def done(states: list[DeviceState]) -> None:
            if generation != self._generation:
                return  # stopped, or a newer load
            self._chunks.pop(0)
            self._tiles.load_states(states)
            self._next(store, generation)

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                log.warning("The stored properties of the devices could not be read: %s", exc)
                self.stop()

        self._runner.call(self._owner, lambda: store.device_properties(chunk), done, failed)
