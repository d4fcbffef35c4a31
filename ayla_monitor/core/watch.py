"""Watching a database that recorders elsewhere write: no stream key, no
connection to the DSS, only the rows as they are stored.

:class:`DatabaseWatch` reads the rows stored after the last one seen (by
primary key, :mod:`ayla_monitor.store.follow`) every ``poll`` seconds and
the recorders' status rows every ``status_poll`` seconds, and hands them to
its watchers as the very updates the :class:`~ayla_monitor.core.engine.Engine`
publishes (:class:`FramesReceived` with the events parsed back from their
raw JSON, :class:`StatusChanged` per recorded stream), so that whatever
shows an engine's updates shows a watched database the same way.

A lost connection does not end the watch: the next polls try again, the
``on_connection`` callback tells the caller (a banner), and reading resumes
after the last row seen, so nothing stored meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from ayla_monitor.core.status import (
    FramesReceived,
    StatusChanged,
    StreamState,
    StreamStatus,
    Update,
    UpdateFanout,
)
from ayla_monitor.core.store_opening import open_store
from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.frames import loads_json, parse_event
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.follow import FollowedEvent, FollowedMalformed, Follower
from ayla_monitor.store.recorders import RecorderRow, read_recorders

__all__ = ["DatabaseWatch", "stream_statuses", "POLL", "STATUS_POLL"]

log = logging.getLogger(__name__)

#: Seconds between two reads of new rows (new rows are on screen within 2 s).
POLL = 0.5
#: Seconds between two reads of the recorders' status rows.
STATUS_POLL = 2.0

_STATES = {s.value: s for s in StreamState}


@dataclass(frozen=True, slots=True)
class Connection:
    ok: bool
    message: str = ""


def _event(row: FollowedEvent) -> Event | None:
    if row.raw is None:  # a row another tool inserted (the original events.sql design)
        return None
    try:
        obj = loads_json(row.raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    return parse_event(obj, row.raw, row.received_at or 0.0, row.note)


def _malformed(row: FollowedMalformed) -> MalformedFrame:
    return MalformedFrame(row.raw, row.reason, row.received_at)


def _read(follower: Follower) -> tuple[dict[int, list[Event | MalformedFrame]], int]:
    """One poll's frames by stream id, parsed back from their JSON, and the
    number of rows read. Off the event loop: up to 20,000 rows a poll."""
    events, bad = follower.poll()
    by_stream: dict[int, list[Event | MalformedFrame]] = {}
    for row in events:
        event = _event(row)
        if event is not None:
            by_stream.setdefault(row.stream_id or 0, []).append(event)
    for frame in bad:
        by_stream.setdefault(frame.stream_id or 0, []).append(_malformed(frame))
    return by_stream, len(events) + len(bad)


def stream_statuses(
    recorders: list[RecorderRow], names: dict[int, str], now: float
) -> dict[int, StreamStatus]:
    """One status per recorded stream, from the freshest recorder that
    records it; a stale recorder's streams are STOPPED with the reason."""
    found: dict[int, StreamStatus] = {}
    fresh: dict[int, float] = {}
    others: dict[int, list[str]] = {}
    for r in recorders:
        stale = r.stale(now)
        who = f"{r.role} {r.host} pid {r.pid}"
        for s in r.streams:
            label = f"{who} ({'stale' if stale else r.state if r.state == 'stopped' else s.state})"
            others.setdefault(s.stream_id, []).append(label)
            if s.stream_id in found and fresh[s.stream_id] >= r.updated_at:
                continue
            state = _STATES.get(s.state, StreamState.STOPPED)
            if stale:
                state = StreamState.STOPPED
                detail = f"stale: no status for {now - r.updated_at:.0f} s"
            elif r.state == "stopped":
                state = StreamState.STOPPED
                detail = f"{who} stopped"
            else:
                detail = s.detail
            fresh[s.stream_id] = r.updated_at
            found[s.stream_id] = StreamStatus(
                stream_id=s.stream_id,
                name=f"{names.get(s.stream_id, s.name)} · {r.host} pid {r.pid}",
                display_url=f"{s.url} (key {s.key})",
                subscription_type=None,
                state=state,
                detail=detail,
                events=s.events,
                stored=s.stored,
                last_seq=s.last_seq,
                epoch=s.epoch,
                last_frame_at=r.updated_at,
                open_gaps=s.open_gaps,
                missing=s.missing,
            )
    for stream_id, labels in others.items():
        if len(labels) > 1:
            status = found[stream_id]
            status.detail = "; ".join(x for x in (status.detail, "recorded by " + ", ".join(labels)) if x)
    return found


class DatabaseWatch(UpdateFanout):
    """Follow ``url``'s new rows and recorders. Use as ``async with``; run
    :meth:`run` as a task; :meth:`subscribe` like the engine's."""

    def __init__(
        self,
        url: str,
        *,
        poll: float = POLL,
        status_poll: float = STATUS_POLL,
        clock: Callable[[], float] = time.time,
        on_connection: Callable[[bool, str], object] | None = None,
    ) -> None:
        self.database_url = url
        self.poll = poll
        self.status_poll = status_poll
        self.clock = clock
        self.on_connection = on_connection
        self.recorders: list[RecorderRow] = []
        self.statuses: dict[int, StreamStatus] = {}
        #: events and bad frames handed to the watchers
        self.delivered = 0
        self.connected = True
        self.error = ""
        self._store: Store | None = None
        #: a connection of its own for following: the window's queries on
        #: :attr:`store` (History, device views, reports) never hold it up
        self._reader: Store | None = None
        self._follower: Follower | None = None
        self._watchers: list[asyncio.Queue[Update]] = []
        self._names: dict[int, str] = {}

    async def __aenter__(self) -> DatabaseWatch:
        self._store = await open_store(self.database_url)
        try:
            self._reader = await open_store(self.database_url)
            self._follower = await asyncio.to_thread(Follower, self._reader)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for store in (self._store, self._reader):
            if store is not None:
                await asyncio.to_thread(store.close)
        self._store = self._reader = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the watch is not open")
        return self._store

    def _connection(self, ok: bool, message: str = "") -> None:
        if ok == self.connected and message == self.error:
            return
        self.connected, self.error = ok, message
        if ok:
            log.info("Reading %s works again", self.store.description)
        else:
            log.warning("Reading the watched database failed: %s", message)
        if self.on_connection is not None:
            self.on_connection(ok, message)

    def seen(self, ids: list[int]) -> None:
        """Event ids the caller read with its history: not delivered again."""
        if self._follower is not None:
            self._follower.skip(ids)

    async def run(self) -> None:
        """Poll until cancelled."""
        next_status = 0.0
        while True:
            try:
                if time.monotonic() >= next_status:
                    await self.read_recorders()
                    next_status = time.monotonic() + self.status_poll
                await self.read_rows()
                self._connection(True)
            except StoreError as exc:
                self._connection(False, str(exc))
                next_status = 0.0
            follower = self._follower
            await asyncio.sleep(0 if follower is not None and follower.behind and self.connected else self.poll)

    async def read_rows(self) -> int:
        """Read and publish what was stored since the last read; how many rows."""
        follower = self._follower
        assert follower is not None, "open the watch first"
        by_stream, count = await asyncio.to_thread(_read, follower)
        if any(sid not in self._names for sid in by_stream):
            assert self._reader is not None
            records = await asyncio.to_thread(self._reader.streams)
            self._names = {s.id: s.name for s in records}
        for stream_id, frames in by_stream.items():
            self.publish(FramesReceived(stream_id, frames))
        self.delivered += count
        return count

    async def read_recorders(self) -> None:
        store = self._reader
        assert store is not None, "open the watch first"
        self.recorders = await asyncio.to_thread(read_recorders, store)
        if any(s.stream_id not in self._names for r in self.recorders for s in r.streams):
            records = await asyncio.to_thread(store.streams)
            self._names = {s.id: s.name for s in records}
        statuses = stream_statuses(self.recorders, self._names, self.clock())
        for stream_id, status in statuses.items():
            if self.statuses.get(stream_id) != status:
                self.publish(StatusChanged(status))
        self.statuses = statuses

    def stream_names(self) -> dict[int, str]:
        return dict(self._names)
