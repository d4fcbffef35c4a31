"""The engine: several streams, one database writer, any number of watchers.

Each stream runs a :class:`~ayla_monitor.dss.client.StreamClient` in the
engine's task group. What it receives goes to the
:class:`~ayla_monitor.store.writer.EventWriter` (the loop never waits on
SQL: a process of its own writes) and, as :class:`~ayla_monitor.core.status.FramesReceived` batches, to
every watcher from :meth:`Engine.subscribe`.

Backpressure, not loss: when the writer's queue is full, a stream stops
reading its socket until there is room again.

Every frame is accounted for: the engine counts what each stream received
(:class:`~ayla_monitor.core.status.StreamStatus`), the writer reports what
became of it (stored, duplicate, conflict, bad frame), and the gaps the
client saw in the seqs are recorded and asked for again
(:meth:`Engine.fill_gaps`, after each reconnect and on demand).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ayla_monitor.core.recorder_status import StatusReporter
from ayla_monitor.core.retention import Retention
from ayla_monitor.core.status import (
    FramesReceived,
    StatusChanged,
    StreamState,
    StreamStatus,
    Update,
    UpdateFanout,
    WriterHealth,
)
from ayla_monitor.core.store_opening import open_store
from ayla_monitor.dss.client import Batch, ClientOptions, StreamClient, describe_failure, fetch_range
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.errors import FrameTooLarge
from ayla_monitor.dss.events import MalformedFrame, SeqGap
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.store.database import Store
from ayla_monitor.store.records import GapRecord, WriterReport
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
    #: open gaps: (epoch, first seq) -> last seq
    gaps: dict[tuple[int, int], int] = field(default_factory=dict)
    filling: asyncio.Task[str] | None = None

    def count_gaps(self) -> None:
        self.status.open_gaps = len(self.gaps)
        self.status.missing = sum(last - first + 1 for (_epoch, first), last in self.gaps.items())


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
        client = self.stream.client
        status.waiting_for = client.waiting_for if client is not None and state is StreamState.LIVE else None
        if state is not StreamState.STOPPED:
            status.by_user = False
        if state is StreamState.LIVE:
            status.connected_since = now
            if self.stream.gaps:
                self.engine.fill_in_background(self.stream)
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

    def notice(self, text: str) -> None:
        status = self.stream.status
        status.notice = text
        client = self.stream.client
        if client is not None:
            status.epoch = client.epoch
        self.engine.publish(StatusChanged(status.snapshot()))

    async def frames(self, batch: Batch, epoch: int) -> None:
        engine = self.engine
        stream = self.stream
        status = stream.status
        budget = engine.remaining
        if budget is not None:
            if budget <= 0:
                return
            batch = engine.take_budget(batch)
        events = malformed = noted = 0
        last_time = status.last_event_time
        gaps: list[SeqGap] = []
        for frame in batch:
            cls = frame.__class__
            if cls is MalformedFrame:
                malformed += 1
            elif cls is SeqGap:
                gaps.append(frame)  # type: ignore[arg-type]
            else:
                events += 1
                if frame.note is not None:  # type: ignore[union-attr]
                    noted += 1
                if frame.time is not None:  # type: ignore[union-attr]
                    last_time = frame.time  # type: ignore[union-attr]
        writer = engine.writer
        try:
            while not writer.submit(status.stream_id, batch, epoch):
                await asyncio.sleep(BACKPRESSURE_POLL)
        except asyncio.CancelledError:
            # Stopped while the writer was full (the end of --count or
            # --exit-after, a Disconnect): what was received is stored all
            # the same, one batch past the bound at most.
            writer.submit(status.stream_id, batch, epoch, force=True)
            raise
        finally:
            self._account(batch, epoch, events, malformed, noted, last_time, gaps)

    def _account(
        self, batch: Batch, epoch: int, events: int, malformed: int, noted: int, last_time: str | None,
        gaps: list[SeqGap],
    ) -> None:
        """Count a batch handed to the writer, and show it to the watchers."""
        engine = self.engine
        stream = self.stream
        status = stream.status
        status.events += events
        status.malformed += malformed
        status.noted += noted
        status.last_event_time = last_time
        status.epoch = epoch
        if events:
            status.waiting_for = None
        client = stream.client
        status.last_seq = client.last_seq if client is not None else status.last_seq
        status.last_frame_at = engine.clock()
        if gaps:
            for gap in gaps:
                if gap.state == "open":
                    stream.gaps[(gap.epoch, gap.first)] = gap.last
            stream.count_gaps()
            batch = [f for f in batch if f.__class__ is not SeqGap]
        engine.publish(FramesReceived(status.stream_id, batch))  # type: ignore[arg-type]
        engine.publish(StatusChanged(status.snapshot()))


class Engine(UpdateFanout):
    """Streams in, events stored and fanned out. Use as ``async with``.

    ``max_events``: stop every stream once that many events were received
    (the recorder's ``--count``); :attr:`done` is set then.
    ``retention_days``: delete events older than that, in the background
    (:attr:`retention`, :mod:`ayla_monitor.core.retention`).
    ``status_interval``: write this process's status row (its streams, keys
    masked) that often (:attr:`reporter`, :mod:`ayla_monitor.core.recorder_status`).
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
        retention_days: float | None = None,
        status_interval: float | None = None,
        role: str = "recorder",
    ) -> None:
        self.database_url = database_url
        self.retention = Retention(database_url, retention_days, clock=clock)
        self._retention_task: asyncio.Task[None] | None = None
        self.reporter = (
            StatusReporter(database_url, self.statuses, self._key_of, interval=status_interval, role=role, clock=clock)
            if status_interval
            else None
        )
        self._reporter_task: asyncio.Task[None] | None = None
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
        self._store = await open_store(self.database_url)
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
        self._retention_task = self._tasks.create_task(self.retention.run(), name="retention")
        if self.reporter is not None:
            self._reporter_task = self._tasks.create_task(self.reporter.run(), name="status-row")
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
        for background in (self._retention_task, self._reporter_task):
            if background is not None:
                background.cancel()
        try:
            if self._tasks is not None:
                await self._tasks.__aexit__(None, None, None)
        finally:
            self._tasks = None
            if self._writer is not None:
                self.spill_path = await asyncio.to_thread(self._writer.close)
                writer = self._writer
                counts = {s: writer.counts(s) for s in self._streams}
                self._set_health(WriterHealth(writer.stored, writer.pending, writer.error, counts))
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
        epoch, last_seq = await asyncio.to_thread(store.position, record.id)
        gaps = await asyncio.to_thread(store.gaps, record.id, open_only=True)
        if record.id in self._streams:
            await self.stop_stream(record.id)
        status = StreamStatus(
            stream_id=record.id,
            name=definition.name,
            display_url=definition.base_url,
            subscription_type=definition.subscription_type,
            state=StreamState.STOPPED,
            last_seq=last_seq,
            epoch=epoch,
        )
        stream = _Stream(definition, status, gaps={(g.epoch, g.first_seq): g.last_seq for g in gaps})
        stream.count_gaps()
        self._streams[record.id] = stream
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
        client = StreamClient(
            definition, _Sink(self, stream), options=self.options, last_seq=resume, epoch=stream.status.epoch
        )
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

    async def stop_stream(self, stream_id: int, *, by_user: bool = False) -> None:
        """Stop a stream (``by_user``: the user's Disconnect, shown as such)."""
        stream = self._streams[stream_id]
        if by_user:  # before the client says STOPPED: its first word must already be "by you"
            stream.status.by_user = True
        task, stream.task = stream.task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        filling, stream.filling = stream.filling, None
        if filling is not None and not filling.done():
            filling.cancel()
            await asyncio.wait([filling])
        if by_user:
            stream.status.by_user = True
            stream.status.state = StreamState.STOPPED
            stream.status.detail = "disconnected"
            stream.status.retry_at = None
            self.publish(StatusChanged(stream.status.snapshot()))

    def retry_now(self, stream_id: int) -> None:
        """A stream waiting to reconnect tries at once."""
        client = self._streams[stream_id].client
        if client is not None:
            client.retry_now()

    # -- gaps --------------------------------------------------------------

    def fill_in_background(self, stream: _Stream) -> None:
        """Start filling the stream's open gaps unless that already runs."""
        if self._tasks is None or (stream.filling is not None and not stream.filling.done()):
            return
        stream.filling = self._tasks.create_task(
            self._fill_quietly(stream), name=f"fill-{stream.status.stream_id}"
        )

    async def _fill_quietly(self, stream: _Stream) -> str:
        try:
            return await self._fill(stream)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: the stream itself goes on
            log.exception("filling the gaps of %s failed", stream.definition.name)
            return "filling the gaps failed (see the log)"

    async def fill_gaps(self, stream_id: int) -> str:
        """Ask the server again for the stream's open gaps; one sentence
        saying what came of it. Gaps it no longer has are marked lost."""
        stream = self._streams[stream_id]
        running = stream.filling
        if running is not None and not running.done():
            await asyncio.wait([running])
        stream.filling = asyncio.ensure_future(self._fill(stream))
        return await stream.filling

    async def _fill(self, stream: _Stream) -> str:
        store = self.store
        status = stream.status
        stream_id = status.stream_id
        # The gaps seen last may still be on their way to the database.
        await asyncio.to_thread(self.writer.flush, 10.0)
        gaps = await asyncio.to_thread(store.gaps, stream_id, open_only=True)
        if not gaps:
            stream.gaps.clear()
            stream.count_gaps()
            self.publish(StatusChanged(status.snapshot()))
            return "no open gaps"
        filled = oversized = recovered = 0
        lost_ranges: list[str] = []
        failure = ""
        for gap in gaps:
            count, state = await self._fill_one(stream, gap)
            recovered += count
            if state.startswith("open"):  # the server could not be asked: the gap stays open
                failure = state.removeprefix("open: ")
                continue
            if state == "filled":
                filled += 1
            elif state == "oversized":
                oversized += 1
            else:
                lost_ranges.append(_seq_range(gap.first_seq, gap.last_seq))
            stream.gaps.pop((gap.epoch, gap.first_seq), None)
            stream.count_gaps()
            self.publish(StatusChanged(status.snapshot()))
        parts = [f"filled {filled} gap{'s' if filled != 1 else ''}"] if filled else []
        if recovered:
            parts[-1:] = [f"{parts[-1] if parts else 'received'} ({recovered:,} events)"]
        if oversized:
            parts.append(
                f"{oversized} gap{'s' if oversized != 1 else ''} hold a frame over the size limit "
                "(raise it with --max-frame-mb or in Settings)"
            )
        if lost_ranges:
            parts.append(f"the server no longer had seqs {', '.join(lost_ranges[:5])}")
        if failure:
            parts.append(f"{len(stream.gaps)} still open: {failure}")
        sentence = "; ".join(parts) or "nothing to fill"
        status.notice = sentence[:1].upper() + sentence[1:]
        self.publish(StatusChanged(status.snapshot()))
        log.info("stream %s: %s", stream.definition.name, sentence)
        return sentence

    async def _fill_one(self, stream: _Stream, gap: GapRecord) -> tuple[int, str]:
        """Ask for one gap's seqs; (events recovered, the gap's state now:
        ``filled``, ``partial``, ``lost``, ``oversized``, or ``open: <why>``
        when the server could not be asked). A connection that ends early
        (dropped, or a frame too large) is asked again from the first seq
        still missing, for as long as each request brings something."""
        status = stream.status
        wanted = set(range(gap.first_seq, gap.last_seq + 1))
        have = await asyncio.to_thread(
            self.store.stored_seqs, status.stream_id, gap.epoch, gap.first_seq, gap.last_seq
        )
        wanted.difference_update(have)
        recovered = 0
        too_large = ""
        while wanted and gap.epoch == status.epoch:  # an older epoch's server is gone
            try:
                got, refused = await self._fetch(stream, gap.epoch, wanted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server or the network: the gap stays open
                failure = str(describe_failure(exc, stream.definition))
                log.info(
                    "stream %s: cannot fill seqs %s: %s",
                    stream.definition.name,
                    _seq_range(gap.first_seq, gap.last_seq),
                    failure,
                )
                return recovered, f"open: {failure}"
            recovered += got
            if refused:  # the first seq still missing cannot be taken: the rest can
                too_large = refused
                wanted.discard(min(wanted))
            elif not got:
                break
        if not wanted and too_large:
            state, detail = "oversized", too_large
        elif not wanted:
            state, detail = "filled", f"{recovered:,} events received again" if recovered else "already stored"
        elif len(wanted) == gap.size:
            state, detail = "lost", "the server no longer has these seqs"
        else:
            state = "partial"
            detail = f"{gap.size - len(wanted):,} of {gap.size:,} received; the server no longer has the rest"
        record = SeqGap(gap.epoch, gap.first_seq, gap.last_seq, self.clock(), state, detail)
        while not self.writer.submit(status.stream_id, [record], gap.epoch):
            await asyncio.sleep(BACKPRESSURE_POLL)
        return recovered, state

    async def _fetch(self, stream: _Stream, epoch: int, wanted: set[int]) -> tuple[int, str]:
        """One request for the seqs in ``wanted`` (removed as they arrive,
        and stored); how many came, and why the next one was refused if it
        was too large."""
        status = stream.status
        got = 0
        batches = fetch_range(stream.definition, min(wanted), max(wanted), self.options, clock=self.clock)
        async with contextlib.aclosing(batches):  # its connection closes when we stop early
            try:
                async for events in batches:
                    events = [e for e in events if e.seq in wanted]
                    wanted.difference_update(e.seq for e in events)
                    got += len(events)
                    status.events += len(events)
                    while not self.writer.submit(status.stream_id, events, epoch):
                        await asyncio.sleep(BACKPRESSURE_POLL)
                    self.publish(FramesReceived(status.stream_id, list(events)))
                    if not wanted:
                        break
            except FrameTooLarge as exc:
                return got, str(exc)
        return got, ""

    async def remove_stream(self, stream_id: int) -> None:
        """Stop a stream and forget it here; its stored events stay."""
        await self.stop_stream(stream_id)
        del self._streams[stream_id]

    def definition(self, stream_id: int) -> StreamDefinition:
        return self._streams[stream_id].definition

    def _key_of(self, stream_id: int) -> str | None:
        stream = self._streams.get(stream_id)
        return stream.definition.key if stream is not None else None

    def statuses(self) -> list[StreamStatus]:
        return [s.status.snapshot() for s in self._streams.values()]

    # -- the --count budget --------------------------------------------------

    def take_budget(self, batch: Batch) -> Batch:
        """Cut ``batch`` to the events still allowed; set :attr:`done` at zero."""
        remaining = self.remaining
        assert remaining is not None
        kept: Batch = []
        for frame in batch:
            if remaining <= 0:
                break
            kept.append(frame)
            if frame.__class__ is not MalformedFrame and frame.__class__ is not SeqGap:
                remaining -= 1
        self.remaining = remaining
        if remaining <= 0:
            self.done.set()
        return kept

    # -- the writer's reports (watchers: UpdateFanout) -----------------------

    def _writer_report(self, report: WriterReport) -> None:
        # Called on the writer's feeding thread.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            health = WriterHealth(report.stored, report.pending, report.error, report.counts)
            try:
                loop.call_soon_threadsafe(self._set_health, health)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _set_health(self, health: WriterHealth) -> None:
        self.health = health
        for stream_id, (stored, duplicates, conflicts, bad) in health.counts.items():
            stream = self._streams.get(stream_id)
            if stream is None:
                continue
            status = stream.status
            if (status.stored, status.duplicates, status.conflicts, status.bad_stored) != (
                stored,
                duplicates,
                conflicts,
                bad,
            ):
                status.stored, status.duplicates, status.conflicts, status.bad_stored = (
                    stored,
                    duplicates,
                    conflicts,
                    bad,
                )
                self.publish(StatusChanged(status.snapshot()))
        self.publish(health)


def _seq_range(first: int, last: int) -> str:
    return f"{first:,}" if first == last else f"{first:,}-{last:,}"
