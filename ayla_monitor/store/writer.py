"""What writes the live stream: :class:`EventWriter`.

The event loop hands it batches of parsed frames with :meth:`EventWriter.submit`,
which never blocks and never touches SQL. A thread turns frames into row
tuples (:mod:`ayla_monitor.store.rows`) and hands them to the writer's own
process (:mod:`ayla_monitor.store.writer_process`, which says why a process),
which stores them with plain ``INSERT`` statements on peewee's cursor inside
``db.atomic()``, and tells duplicates from conflicts when the unique
(stream, epoch, seq) key refuses a row (the process's docstring says how).
Every frame is accounted for, per stream: stored, duplicate, conflict or
bad frame (:attr:`EventWriter.counts`). Measured on this project's rows, that is
several times faster than ``insert_many(...).on_conflict_ignore()``, which
spends most of its time building SQL text (see ``benchmarks/store_insert.py``).
If the process dies it is started again, and its batch is retried.

Nothing received is dropped silently: while the database fails, batches stay
queued, the failure is reported, and writing is retried with a capped
backoff; what is still unwritten at :meth:`EventWriter.close` goes to a JSON
Lines spill file whose path is returned for the caller to show.
"""

from __future__ import annotations

import logging
import marshal
import multiprocessing
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ayla_monitor.dss.events import Event, LeanEvent, MalformedFrame, SeqGap
from ayla_monitor.store import spill, writer_process
from ayla_monitor.store.errors import WriteFailed
from ayla_monitor.store.location import default_database_path, describe_database
from ayla_monitor.store.records import WriterReport
from ayla_monitor.store.rows import Row, build_rows

__all__ = ["EventWriter"]

log = logging.getLogger(__name__)


class _WriterGone(Exception):
    """The writer process died or its pipe broke (a crash, or it was killed)."""


@dataclass(slots=True, eq=False)
class _Batch:
    """Frames of one stream as submitted, with their rows ready for the process."""

    stream_id: int
    epoch: int
    frames: Sequence[Any]
    rows: bytes  # marshal of writer_process.Blob; dropped once sent
    top: int | None  # the highest seq among the events
    nbytes: int  # the size of the rows: what the batch holds in memory, roughly

    @classmethod
    def build(cls, stream_id: int, epoch: int, frames: Sequence[Any]) -> _Batch:
        events: list[Row] = []
        malformed: list[Row] = []
        gaps: list[Row] = []
        top = build_rows(stream_id, epoch, frames, events, malformed, gaps)
        rows = marshal.dumps((stream_id, epoch, events, malformed, gaps))
        return cls(stream_id, epoch, frames, rows, top, len(rows))

    def take_rows(self) -> bytes:
        """The rows to send, built again if they were sent before (a retry)."""
        rows, self.rows = self.rows, b""
        return rows or _Batch.build(self.stream_id, self.epoch, self.frames).rows

    @property
    def size(self) -> int:
        """Frames to account for (gaps are records, not frames)."""
        return sum(1 for f in self.frames if f.__class__ is not SeqGap)


class _WriterProcess:
    """The parent's handle on one :mod:`~ayla_monitor.store.writer_process`."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")  # fork is unsafe with Qt's and our threads
        self._conn, child_end = context.Pipe()
        self.process = context.Process(
            target=writer_process.serve, args=(child_end, url), name="ayla-db-writer", daemon=True
        )
        self.process.start()
        child_end.close()

    def send(self, generation: int, rows: list[bytes], tops: dict[int, tuple[int, int]]) -> None:
        """Send batches' rows to be stored in one transaction (blocks, without
        the GIL, while the process is busy with the request before)."""
        try:
            self._conn.send_bytes(marshal.dumps((generation, rows, tops)))
        except (OSError, ValueError) as exc:
            raise self._gone() from exc

    def receive(self) -> tuple[Any, ...]:
        """The reply to the oldest batch sent and not answered yet."""
        try:
            reply: tuple[Any, ...] = marshal.loads(self._conn.recv_bytes())
        except (EOFError, OSError, ValueError) as exc:
            raise self._gone() from exc
        return reply

    def _gone(self) -> _WriterGone:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            how = "was killed"
        else:
            how = f"stopped (exit code {code})"
        return _WriterGone(f"The database writer process {how}")

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self._conn.send_bytes(b"")
        except OSError:
            pass
        self._conn.close()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)


class EventWriter:
    """Stores submitted frames: :meth:`submit` builds their rows, a thread
    feeds them to a process of its own (with its own connection) that writes them.

    Backpressure policy: :meth:`submit` never blocks and never drops. When
    accepting a batch would take the frames waiting to be written past
    ``max_pending``, it returns ``False`` and keeps nothing; the caller must
    stop reading its socket and submit the same batch again once there is
    room (check :meth:`has_room`, e.g. on the next ``notify`` report). A batch
    larger than ``max_pending`` is still accepted when nothing is pending, so
    a caller can always make progress. ``max_pending_bytes`` bounds the same
    way what the waiting rows weigh: a stream of 1 MB values fills memory
    long before it fills the count (issue 10: the window reached 650 MB).

    ``notify(WriterReport)`` is called from the feeding thread after every
    commit and every failure; it must be quick and thread-safe (e.g.
    ``loop.call_soon_threadsafe``).

    Always :meth:`close` a started writer (the thread and the process are
    daemons so that a hung database cannot keep the program alive; frames
    still queued at exit without ``close()`` would be lost). :meth:`flush` and :meth:`close` block:
    call them from a worker thread, not the event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        max_pending: int = 200_000,
        max_pending_bytes: int = 64 * 2**20,
        commit_interval: float = 0.25,
        notify: Callable[[WriterReport], None] | None = None,
        spill_dir: Path | None = None,
        batch_rows: int = 5000,
        retry_delays: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        self.url = url
        self._max_pending = max_pending
        self._max_bytes = max_pending_bytes
        self._pending_bytes = 0  # rows submitted and not yet committed
        self._interval = commit_interval
        self._notify = notify
        self._spill_dir = spill_dir
        self._batch_rows = batch_rows
        self._retry_first, self._retry_cap = retry_delays

        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[_Batch] = deque()
        self._queued = 0  # frames in the queue
        self._first_at: float | None = None  # when the oldest queued frame arrived
        self._in_flight: list[_Batch] = []
        self._rejected: list[_Batch] = []  # refused row by row by the database (a bug)
        self._submitted = 0
        self._done = 0
        #: stream id -> [stored, duplicates, conflicts, bad frames]
        self._counts: dict[int, list[int]] = {}
        self._error: str | None = None
        self._flush_waiters = 0
        self._closing = False
        self._close_deadline = 0.0
        self._thread: threading.Thread | None = None
        self._process: _WriterProcess | None = None
        self._generation = 0  # see writer_process: bumped after every failure

    # -- the caller's side -----------------------------------------------

    def start(self) -> None:
        """Start the writer process and the thread that feeds it (the process
        connects, and retries until it can). Blocks for the process's start."""
        if self._thread is not None:
            raise RuntimeError("the writer was already started")
        self._process = _WriterProcess(self.url)  # here, so that its start-up overlaps the caller's
        self._thread = threading.Thread(target=self._run, name="ayla-event-writer", daemon=True)
        self._thread.start()

    def submit(
        self, stream_id: int, frames: Sequence[Event | LeanEvent | MalformedFrame | SeqGap], epoch: int = 0, *,
        force: bool = False,
    ) -> bool:
        """Queue ``frames`` of stream ``stream_id`` (events of its sequence
        ``epoch``, bad frames, and the gaps seen among them) for writing, or
        return ``False`` (and keep nothing) when there is no room: see the
        class docstring for the policy. ``force``: queue them even so (a
        stream that stops hands over the batch it holds)."""
        count = len(frames)
        if not count:
            return True
        cond = self._cond
        with cond:
            if self._closing:
                raise RuntimeError("the writer is closed")
            pending = self._submitted - self._done
            if not force and pending and (pending + count > self._max_pending or self._pending_bytes >= self._max_bytes):
                return False
        # Rows are built here, on the caller's thread, while the feeding thread
        # only moves bytes: two threads both running Python ran each other
        # out of the GIL (the recorder lost a fifth of its rate to it).
        batch = _Batch.build(stream_id, epoch, frames)
        with cond:
            self._pending_bytes += batch.nbytes
            self._queue.append(batch)
            self._submitted += count
            self._queued += count
            if self._first_at is None:
                self._first_at = time.monotonic()
                cond.notify_all()  # all: a flush() may be waiting on the same condition
            elif self._queued >= self._batch_rows:
                cond.notify_all()
        return True

    def has_room(self, count: int = 1) -> bool:
        """Whether :meth:`submit` would accept ``count`` frames now."""
        with self._cond:
            pending = self._submitted - self._done
            return not pending or (pending + count <= self._max_pending and self._pending_bytes < self._max_bytes)

    @property
    def pending(self) -> int:
        """Frames accepted and not yet committed."""
        return self._submitted - self._done

    def counts(self, stream_id: int | None = None) -> tuple[int, int, int, int]:
        """What became of the frames written so far, of one stream or all:
        (events stored, duplicates not stored again, conflicts stored apart,
        bad frames stored)."""
        rows = self._counts.values() if stream_id is None else [self._counts.get(stream_id, [0, 0, 0, 0])]
        stored = duplicates = conflicts = bad = 0
        for a, b, c, d in rows:
            stored += a
            duplicates += b
            conflicts += c
            bad += d
        return stored, duplicates, conflicts, bad

    @property
    def stored(self) -> int:
        """Events and bad frames the database wrote (duplicates are not)."""
        stored, _duplicates, conflicts, bad = self.counts()
        return stored + conflicts + bad

    @property
    def malformed_stored(self) -> int:
        return self.counts()[3]

    @property
    def duplicates(self) -> int:
        """Events not stored again: the database had their seq with the same content."""
        return self.counts()[1]

    @property
    def conflicts(self) -> int:
        """Events stored apart: the database had their seq with other content."""
        return self.counts()[2]

    @property
    def error(self) -> str | None:
        """The last failure as one sentence, ``None`` while writing works."""
        return self._error

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is committed; ``False`` on
        timeout (e.g. while the database is down) or if rows were refused."""
        with self._cond:
            target = self._submitted
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                done = self._cond.wait_for(lambda: self._done >= target, timeout)
            finally:
                self._flush_waiters -= 1
            return done and not self._rejected

    def close(self, timeout: float = 10) -> Path | None:
        """Write what is queued, stop the thread, and return the path of a
        spill file holding whatever could not be written within ``timeout``
        seconds (``None`` when everything was stored). Raises
        :class:`WriteFailed` only if even the spill file cannot be written."""
        with self._cond:
            if not self._closing:
                self._closing = True
                self._close_deadline = time.monotonic() + timeout
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout + 2.0)
            if thread.is_alive():
                log.error("The event writer did not stop within %.0f s; saving what it holds", timeout)
                process = self._process
                if process is not None:
                    process.process.kill()  # a hung statement: the spill file keeps its rows
        with self._cond:
            left = list(self._rejected) + list(self._in_flight) + list(self._queue)
            self._queue.clear()
            self._queued = 0
        return self._spill(left) if left else None

    # -- the feeding thread ----------------------------------------------

    def _report(self) -> None:
        if self._notify is None:
            return
        try:
            counts = {stream: (a, b, c, d) for stream, (a, b, c, d) in self._counts.items()}
            self._notify(WriterReport(self.stored, self.pending, self._error, counts))
        except Exception:  # a watcher's bug must not stop the writing
            log.exception("The writer's notify callback failed")

    def _take(self, block: bool) -> list[_Batch] | None:
        """Take up to ``batch_rows`` frames once a batch is due (full, old
        enough, flushed or closing); ``None`` to stop. With ``block=False``,
        return ``[]`` at once when no batch is due."""
        cond = self._cond
        with cond:
            while True:
                if not self._queue:
                    if self._closing:
                        return None
                    if not block:
                        return []
                    cond.wait()
                    continue
                if self._closing or self._flush_waiters or self._queued >= self._batch_rows:
                    break
                assert self._first_at is not None
                remaining = self._first_at + self._interval - time.monotonic()
                if remaining <= 0:
                    break
                if not block:
                    return []
                cond.wait(remaining)
            taken: list[_Batch] = []
            rows = 0
            queue = self._queue
            while queue and rows < self._batch_rows:
                batch = queue.popleft()
                taken.append(batch)
                rows += len(batch.frames)
            self._queued -= rows
            if not queue:
                self._first_at = None
            self._in_flight.extend(taken)
            return taken

    def _give_back(self, taken: list[_Batch]) -> None:
        """Put unwritten batches back at the front of the queue, in order."""
        with self._cond:
            self._queue.extendleft(reversed(taken))
            self._queued += sum(len(b.frames) for b in taken)
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._land(taken)

    def _land(self, taken: list[_Batch]) -> None:
        """Drop ``taken`` from the batches in flight (call with the lock held)."""
        gone = {id(b) for b in taken}
        self._in_flight = [b for b in self._in_flight if id(b) not in gone]

    def _wait_retry(self, delay: float) -> bool:
        """Sleep ``delay`` unless closing runs out of time; ``False`` to give up."""
        with self._cond:
            end = time.monotonic() + delay
            while True:
                now = time.monotonic()
                if self._closing:
                    if now >= self._close_deadline:
                        return False
                    end = min(end, self._close_deadline)
                if now >= end:
                    return True
                self._cond.wait(end - now)

    def _run(self) -> None:
        """Feed the process, one batch ahead: the next batch is sent while the
        process still writes the previous one."""
        delay = self._retry_first
        sent: deque[list[_Batch]] = deque()  # requests sent, reply not read yet; oldest first
        try:
            while True:
                taken = self._take(block=not sent)
                if taken is None and not sent:
                    return
                unsent = taken or []
                try:
                    if self._process is None:
                        self._process = _WriterProcess(self.url)
                    if taken:
                        self._send(self._process, taken)
                        sent.append(taken)
                        unsent = []
                    failure = None
                    if sent and (not taken or len(sent) > 1):
                        failure = self._settle(self._process, sent)
                except Exception as exc:  # noqa: BLE001 - a bug here must not lose the rows
                    if isinstance(exc, _WriterGone):
                        failure = (str(exc), "")
                    else:
                        failure = (f"Storing events failed ({type(exc).__name__}: {exc})",
                                   "".join(traceback.format_exception(exc)))
                    if self._process is not None:  # its replies can no longer be matched: a new one
                        self._process.stop(0)
                        self._process = None
                if failure is None:
                    delay = self._retry_first
                    continue
                # The process skips what was sent after a failure: all of it goes back.
                self._give_back([b for request in sent for b in request] + unsent)
                sent.clear()
                self._generation += 1
                self._fail(*failure)
                if not self._wait_retry(delay):
                    return
                delay = min(self._retry_cap, delay * 2)
        finally:
            if self._process is not None:
                self._process.stop()
            self._process = None

    def _send(self, process: _WriterProcess, taken: list[_Batch]) -> None:
        process.send(self._generation, [b.take_rows() for b in taken], _tops(taken))

    def _settle(self, process: _WriterProcess, sent: deque[list[_Batch]]) -> tuple[str, str] | None:
        """Read the reply to the oldest batch sent. Count it when stored;
        ``(sentence, traceback)`` when the database failed (the batch stays
        in ``sent``; the process skips the ones after it)."""
        taken = sent[0]
        reply = process.receive()
        if reply[0] == "failed":
            for _later in range(len(sent) - 1):
                process.receive()  # ("skipped",)
            return reply[1], reply[2]
        if reply[0] == "refused":
            skipped = [b for request in list(sent)[1:] for b in request]
            for _later in range(len(sent) - 1):
                process.receive()
            sent.clear()
            self._generation += 1
            failure = self._isolate(process, taken)
            if failure is not None:
                sent.append(taken + skipped)
                return failure
            self._give_back(skipped)
            self._committed(taken)
            return None
        sent.popleft()
        self._count(taken, reply[1])
        self._committed(taken)
        return None

    def _count(self, taken: list[_Batch], counts: list[tuple[int, int, int, int]]) -> None:
        for batch, these in zip(taken, counts, strict=True):
            mine = self._counts.setdefault(batch.stream_id, [0, 0, 0, 0])
            for i, n in enumerate(these):
                mine[i] += n
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Committed %d batches: %s", len(taken), counts)

    def _committed(self, taken: list[_Batch]) -> None:
        count = sum(len(b.frames) for b in taken)
        if self._error is not None and not self._rejected:  # before flush() can return
            log.warning("Writing to %s works again", describe_database(self.url))
            self._error = None
        with self._cond:
            self._land(taken)
            self._done += count
            self._pending_bytes -= sum(b.nbytes for b in taken)
            self._cond.notify_all()
        self._report()

    def _fail(self, sentence: str, trace: str) -> None:
        """Report a failed write: ``sentence`` for the user, ``trace`` (a
        traceback, when the failure is a bug rather than the database's) for the log."""
        if trace:
            log.error("Storing events failed:\n%s", trace.rstrip())
        message = sentence.rstrip(".") + "; the events are kept and writing is retried."
        if message != self._error:
            log.error("%s", message)
        self._error = message
        self._report()

    def _isolate(self, process: _WriterProcess, taken: list[_Batch]) -> tuple[str, str] | None:
        """Write frame by frame a batch the database refused as a whole: keep
        the frames it refuses one by one (a caller's bug, e.g. an unknown
        stream id) for the spill file, store the rest."""
        refused: list[_Batch] = []
        last = ""
        for whole in taken:
            stream_id = whole.stream_id
            for frame in whole.frames:
                one = _Batch.build(stream_id, whole.epoch, (frame,))
                process.send(self._generation, [one.take_rows()], _tops([one]))
                reply = process.receive()
                if reply[0] == "failed":
                    return reply[1], reply[2]
                if reply[0] == "refused":
                    refused.append(one)
                    last = reply[1]
                    self._generation += 1  # so that the process takes the next frame
                    continue
                self._count([one], reply[1])
        if refused:
            with self._cond:
                self._rejected.extend(refused)
            self._error = (
                f"The database {describe_database(self.url)} refused {len(refused)} frames "
                f"({last}); they will be saved to a file when recording stops."
            )
            log.error("%s", self._error)
        return None

    def _spill(self, batches: list[_Batch]) -> Path:
        """Write unstored frames as JSON Lines; the spill folder, else the temp folder."""
        name = time.strftime("unstored-%Y%m%d-%H%M%S")
        folders = [self._spill_dir or default_database_path().parent, Path(tempfile.gettempdir())]
        count = sum(b.size for b in batches)
        failure: OSError | None = None
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                lines = (
                    _spill_line(b.stream_id, b.epoch, frame)
                    for b in batches
                    for frame in b.frames
                    if frame.__class__ is not SeqGap  # a record of ours, not a frame received
                )
                n = 0
                while True:
                    path = folder / (f"{name}.jsonl" if n == 0 else f"{name}-{n}.jsonl")
                    try:
                        spill.write_spill(path, lines)  # 0600: customer data
                        break
                    except FileExistsError:
                        n += 1
            except OSError as exc:
                failure = exc
                log.error("Cannot write the spill file in %s: %s", folder, exc)
                continue
            log.warning(
                "%d frames could not be stored in %s; they were saved to %s",
                count,
                describe_database(self.url),
                path,
            )
            return path
        raise WriteFailed(
            f"{count} received frames could not be stored in {describe_database(self.url)} "
            f"nor saved to a file ({failure})."
        )


def _spill_line(stream_id: int, epoch: int, frame: Any) -> dict[str, Any]:
    """One spill line (:mod:`ayla_monitor.store.spill` says what it holds)."""
    line = spill.spill_line(stream_id, frame)
    line["epoch"] = epoch
    return line


def _tops(batches: list[_Batch]) -> dict[int, tuple[int, int]]:
    """Each stream's newest (epoch, highest seq) among ``batches``."""
    tops: dict[int, tuple[int, int]] = {}
    for batch in batches:
        top = batch.top
        if top is not None:
            mark = (batch.epoch, top)
            if batch.stream_id not in tops or mark > tops[batch.stream_id]:
                tops[batch.stream_id] = mark
    return tops
