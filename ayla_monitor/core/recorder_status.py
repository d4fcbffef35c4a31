"""The recorder's status row, written every few seconds while it runs
(:mod:`ayla_monitor.store.recorders`): host, process id, version, its
streams (keys masked), state, last seq, rate, open gaps, started and updated
at. Windows watching the database and ``ayla-monitor status`` read it; a row
not updated for three intervals is shown as stale.

Run :meth:`StatusReporter.run` as a task beside an open :class:`Engine`;
when it is cancelled it writes a last row with the state ``stopped``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence

from ayla_monitor import __version__
from ayla_monitor.core.status import StreamState, StreamStatus
from ayla_monitor.core.store_opening import open_store
from ayla_monitor.dss.keys import mask_key
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.recorders import RecorderRow, RecorderStream, publish

__all__ = ["StatusReporter", "INTERVAL", "summarize"]

log = logging.getLogger(__name__)

#: Seconds between two status rows.
INTERVAL = 5.0


def summarize(statuses: Sequence[StreamStatus]) -> str:
    """The recorder's state from its streams': ``live``, ``3 live, 1 reconnecting``, ``starting``."""
    if not statuses:
        return "starting"
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.state.value] = counts.get(s.state.value, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {name}" for name, n in counts.items())


class StatusReporter:
    """Writes one recorder's status row every ``interval`` seconds."""

    def __init__(
        self,
        url: str,
        statuses: Callable[[], Sequence[StreamStatus]],
        keys: Callable[[int], str | None],
        *,
        interval: float = INTERVAL,
        role: str = "recorder",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.statuses = statuses
        self.keys = keys
        self.interval = interval
        self.role = role
        self.clock = clock
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = clock()
        #: rows written
        self.written = 0
        self._last: tuple[float, dict[int, int]] | None = None
        self._store: Store | None = None

    def row(self, state: str | None = None) -> RecorderRow:
        """The row as of now (rates over the time since the previous row)."""
        now = self.clock()
        statuses = list(self.statuses())
        counts = {s.stream_id: s.events for s in statuses}
        rates: dict[int, float] = {}
        if self._last is not None:
            then, before = self._last
            elapsed = now - then
            if elapsed > 0:
                rates = {sid: max(0.0, (n - before.get(sid, n)) / elapsed) for sid, n in counts.items()}
        self._last = (now, counts)
        streams = tuple(
            RecorderStream(
                stream_id=s.stream_id,
                name=s.name,
                url=s.display_url,
                key=mask_key(self.keys(s.stream_id) or ""),
                state=s.state.value,
                detail=s.detail,
                last_seq=s.last_seq,
                epoch=s.epoch,
                events=s.events,
                stored=s.stored,
                rate=round(rates.get(s.stream_id, 0.0), 1),
                open_gaps=s.open_gaps,
                missing=s.missing,
            )
            for s in statuses
        )
        seqs = [s.last_seq for s in statuses if s.last_seq is not None]
        return RecorderRow(
            id=self.id,
            host=self.host,
            pid=self.pid,
            version=__version__,
            state=state or summarize(statuses),
            started_at=self.started_at,
            updated_at=now,
            interval=self.interval,
            role=self.role,
            last_seq=max(seqs) if seqs else None,
            rate=round(sum(rates.values()), 1),
            open_gaps=sum(s.open_gaps for s in statuses),
            events=sum(s.events for s in statuses),
            streams=streams,
        )

    async def write(self, state: str | None = None) -> bool:
        """Write the row now; ``False`` (logged) if the database refused."""
        row = self.row(state)
        try:
            if self._store is None:
                self._store = await open_store(self.url)
            await asyncio.to_thread(publish, self._store, row)
        except StoreError as exc:
            log.info("The recorder's status row could not be written: %s", exc)
            return False
        self.written += 1
        return True

    async def run(self) -> None:
        try:
            await self.write()  # at once: the recorder is there, "starting"
            await asyncio.sleep(min(self.interval, 1.0))  # then with its streams
            while True:
                await self.write()
                await asyncio.sleep(self.interval)
        finally:
            try:
                await asyncio.shield(self._stop())
            except asyncio.CancelledError:
                pass

    async def _stop(self) -> None:
        try:
            await self.write(StreamState.STOPPED.value)
        finally:
            store, self._store = self._store, None
            if store is not None:
                await asyncio.to_thread(store.close)
