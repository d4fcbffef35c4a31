"""The engine: several streams, one database writer, any number of watchers.

Each stream runs a :class:`~ayla_monitor.dss.client.StreamClient` in the
engine's task group. What it receives goes to the
:class:`~ayla_monitor.store.writer.EventWriter` (the loop never waits on
SQL: a process of its own writes) and, as :class:`~ayla_monitor.core.status.FramesReceived` batches, to
every watcher from :meth:`Engine.subscribe`.

Backpressure, not loss: when the writer's queue is full, a stream stops
reading its socket until there is room again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ayla_monitor.core.status import (
    FramesReceived,
    StatusChanged,
    StreamState,
    StreamStatus,
    Update,
    WriterHealth,
)
from ayla_monitor.dss.client import ClientOptions, StreamClient
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.store.database import Store
from ayla_monitor.store.records import WriterReport
from ayla_monitor.store.writer import EventWriter

__all__ = ["Engine"]

log = logging.getLogger(__name__)

#: How often a stream whose batch the writer refused tries again.
BACKPRESSURE_POLL = 0.01


@dataclass(slots=True)
class _Stream:
    definition: StreamDefinition
    status: StreamStatus
    client: StreamClient | None = None
    task: asyncio.Task[None] | None = None


class _Sink:
    """What one stream's client reports to; counts, stores and fans out."""

    __slots__ = ("engine", "stream")

    def __init__(self, engine: Engine, stream: _Stream) -> None:
        self.engine = engine
        self.stream = stream

    def link_state(self, state: StreamState, detail: str = "", retry_at: float | None = None) -> None:
        status = self.stream.status
        status.state = state
        status.detail = detail
        status.retry_at = retry_at
        now = self.engine.clock()
        if state is StreamState.LIVE:
            status.connected_since = now
        elif state is StreamState.RECONNECTING:
            status.reconnects += 1
            status.connected_since = None
        elif state is StreamState.STOPPED:
            status.connected_since = None
        self.engine.publish(StatusChanged(status.snapshot()))

    def heartbeat(self) -> None:
        status = self.stream.status
        status.heartbeats += 1
        status.last_frame_at = self.engine.clock()
        self.engine.publish(StatusChanged(status.snapshot()))

    async def frames(self, batch: list[Event | MalformedFrame]) -> None:
        engine = self.engine
        status = self.stream.status
        budget = engine.remaining
        if budget is not None:
            if budget <= 0:
                return
            batch = engine.take_budget(batch)
        events = malformed = noted = 0
        last_time = status.last_event_time
        for frame in batch:
            if frame.__class__ is MalformedFrame:
                malformed += 1
            else:
                events += 1
                if frame.note is not None:  # type: ignore[union-attr]
                    noted += 1
                if frame.time is not None:  # type: ignore[union-attr]
                    last_time = frame.time  # type: ignore[union-attr]
        writer = engine.writer
        while not writer.submit(status.stream_id, batch):
            await asyncio.sleep(BACKPRESSURE_POLL)
        status.events += events
        status.malformed += malformed
        status.noted += noted
        status.last_event_time = last_time
        status.last_seq = self.stream.client.last_seq if self.stream.client else status.last_seq
        status.last_frame_at = engine.clock()
        engine.publish(FramesReceived(status.stream_id, batch))
        engine.publish(StatusChanged(status.snapshot()))


class Engine:
    """Streams in, events stored and fanned out. Use as ``async with``.

    ``max_events``: stop every stream once that many events were received
    (the recorder's ``--count``); :attr:`done` is set then.
    """

    def __init__(
        self,
        database_url: str,
        *,
        options: ClientOptions | None = None,
        clock: Callable[[], float] = time.time,
        max_events: int | None = None,
        max_pending: int = 20_000,
        spill_dir: Path | None = None,
    ) -> None:
        self.database_url = database_url
        self.options = options or ClientOptions()
        self.clock = clock
        self.remaining = max_events
        self.done = asyncio.Event()
        self.spill_path: Path | None = None
        self.health = WriterHealth(0, 0, None)
        self._max_pending = max_pending
        self._spill_dir = spill_dir
        self._streams: dict[int, _Stream] = {}
        self._watchers: list[asyncio.Queue[Update]] = []
        self._tasks: asyncio.TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store: Store | None = None
        self._writer: EventWriter | None = None

    # -- lifetime ----------------------------------------------------------

    async def __aenter__(self) -> Engine:
        self._loop = asyncio.get_running_loop()
        self._store = await asyncio.to_thread(Store.open, self.database_url)
        writer = EventWriter(
            self.database_url,
            max_pending=self._max_pending,
            notify=self._writer_report,
            spill_dir=self._spill_dir,
        )
        try:
            await asyncio.to_thread(writer.start)
        except BaseException:
            await asyncio.to_thread(self._store.close)
            raise
        self._writer = writer
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        try:
            if self._tasks is not None:
                await self._tasks.__aexit__(None, None, None)
        finally:
            self._tasks = None
            if self._writer is not None:
                self.spill_path = await asyncio.to_thread(self._writer.close)
                self.health = WriterHealth(self._writer.stored, self._writer.pending, self._writer.error)
            if self._store is not None:
                await asyncio.to_thread(self._store.close)

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the engine is not open")
        return self._store

    @property
    def writer(self) -> EventWriter:
        if self._writer is None:
            raise RuntimeError("the engine is not open")
        return self._writer

    # -- streams -----------------------------------------------------------

    async def add_stream(self, definition: StreamDefinition, *, start: bool = True) -> int:
        """Register a stream (in the database too) and start it. It resumes
        after the last stored seq unless ``definition.replay`` asks otherwise."""
        store = self.store
        record = await asyncio.to_thread(
            store.ensure_stream,
            definition.name,
            definition.base_url,
            definition.fingerprint,
            definition.subscription_type,
        )
        last_seq = await asyncio.to_thread(store.last_seq, record.id)
        if record.id in self._streams:
            await self.stop_stream(record.id)
        status = StreamStatus(
            stream_id=record.id,
            name=definition.name,
            display_url=definition.base_url,
            subscription_type=definition.subscription_type,
            state=StreamState.STOPPED,
            last_seq=last_seq,
        )
        self._streams[record.id] = _Stream(definition, status)
        if start:
            await self.start_stream(record.id)
        else:
            self.publish(StatusChanged(status.snapshot()))
        return record.id

    async def start_stream(self, stream_id: int, replay: ReplayWindow | None = None) -> None:
        """(Re)connect a stream; with ``replay``, ask for that window first."""
        stream = self._streams[stream_id]
        if stream.task is not None and not stream.task.done():
            await self.stop_stream(stream_id)
        definition = stream.definition
        resume = stream.status.last_seq
        if replay is not None:
            definition = definition.with_replay(replay)
            resume = None
        elif definition.replay.seq_start is not None:
            resume = None if stream.client is None else stream.client.last_seq
        client = StreamClient(definition, _Sink(self, stream), options=self.options, last_seq=resume)
        stream.client = client
        stream.status.state = StreamState.CONNECTING
        if self._tasks is None:
            raise RuntimeError("the engine is not open")
        stream.task = self._tasks.create_task(self._run(stream, client), name=f"stream-{stream_id}")

    async def _run(self, stream: _Stream, client: StreamClient) -> None:
        try:
            await client.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: keep the other streams and the window alive
            log.exception("stream %s stopped by an internal error", stream.definition.name)
            client.sink.link_state(StreamState.STOPPED, "internal error (see the log)")

    async def stop_stream(self, stream_id: int) -> None:
        stream = self._streams[stream_id]
        task, stream.task = stream.task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def remove_stream(self, stream_id: int) -> None:
        """Stop a stream and forget it here; its stored events stay."""
        await self.stop_stream(stream_id)
        del self._streams[stream_id]

    def definition(self, stream_id: int) -> StreamDefinition:
        return self._streams[stream_id].definition

    def statuses(self) -> list[StreamStatus]:
        return [s.status.snapshot() for s in self._streams.values()]

    # -- the --count budget --------------------------------------------------

    def take_budget(self, batch: list[Event | MalformedFrame]) -> list[Event | MalformedFrame]:
        """Cut ``batch`` to the events still allowed; set :attr:`done` at zero."""
        remaining = self.remaining
        assert remaining is not None
        kept: list[Event | MalformedFrame] = []
        for frame in batch:
            if remaining <= 0:
                break
            kept.append(frame)
            if frame.__class__ is not MalformedFrame:
                remaining -= 1
        self.remaining = remaining
        if remaining <= 0:
            self.done.set()
        return kept

    # -- watchers ----------------------------------------------------------

    def subscribe(self) -> AsyncIterator[Update]:
        """Updates from now on, in order, until the watcher stops iterating."""
        queue: asyncio.Queue[Update] = asyncio.Queue()
        self._watchers.append(queue)

        async def updates() -> AsyncIterator[Update]:
            try:
                while True:
                    yield await queue.get()
            finally:
                self._watchers.remove(queue)

        return updates()

    def publish(self, update: Update) -> None:
        for queue in self._watchers:
            queue.put_nowait(update)

    def _writer_report(self, report: WriterReport) -> None:
        # Called on the writer's feeding thread.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            health = WriterHealth(report.stored, report.pending, report.error)
            try:
                loop.call_soon_threadsafe(self._set_health, health)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _set_health(self, health: WriterHealth) -> None:
        self.health = health
        self.publish(health)
