"""The one thread that writes the live stream: :class:`EventWriter`.

The event loop hands it batches of parsed frames with :meth:`EventWriter.submit`,
which never blocks and never touches SQL. The thread turns frames into row
tuples (:mod:`ayla_monitor.store.rows`) and stores them with ``executemany``
on peewee's cursor inside ``db.atomic()``: ``INSERT OR IGNORE`` on SQLite,
``INSERT IGNORE`` on MySQL, so a replayed event, or one another machine
already stored, is skipped by the unique (stream, seq) key. Measured on this
project's rows, that is several times faster than
``insert_many(...).on_conflict_ignore()``, which spends most of its time
building SQL text (see ``benchmarks/store_insert.py``).

Nothing received is dropped silently: while the database fails, batches stay
queued, the failure is reported, and writing is retried with a capped
backoff; what is still unwritten at :meth:`EventWriter.close` goes to a JSON
Lines spill file whose path is returned for the caller to show.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import peewee
from peewee import __exception_wrapper__ as _as_peewee_errors  # type: ignore[attr-defined]

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.store.connection import explain_failure
from ayla_monitor.store.database import open_connected
from ayla_monitor.store.errors import DatabaseUnavailable, WriteFailed
from ayla_monitor.store.location import default_database_path, describe_database, is_mysql_url
from ayla_monitor.store.records import WriterReport
from ayla_monitor.store.rows import EVENT_COLUMNS, MALFORMED_COLUMNS, Row, build_rows, clean_rows

__all__ = ["EventWriter", "insert_sql"]

log = logging.getLogger(__name__)

Batch = tuple[int, Sequence[Any]]


def insert_sql(mysql: bool, table: str, columns: Sequence[str], ignore: bool = True) -> str:
    """``INSERT [OR] IGNORE`` text for ``executemany`` in the backend's dialect."""
    if mysql:
        cols = ", ".join(f"`{c}`" for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        verb = "INSERT IGNORE INTO" if ignore else "INSERT INTO"
        return f"{verb} `{table}` ({cols}) VALUES ({marks})"
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["?"] * len(columns))
    verb = "INSERT OR IGNORE INTO" if ignore else "INSERT INTO"
    return f'{verb} "{table}" ({cols}) VALUES ({marks})'


#: SQLite rows per INSERT statement (x 15 columns stays under SQLite's
#: 32,766-variable limit). sqlite3 releases the GIL once per statement step:
#: one row per step made the writer and the event loop hand the GIL back and
#: forth 5,000 times a batch, and the recorder stored 21k events/s where the
#: writer alone managed 53k (benchmarks/ingest.py).
SQLITE_ROWS_PER_STATEMENT = 500


def sqlite_multi_row_sql(table: str, columns: Sequence[str], rows: int) -> str:
    """``INSERT OR IGNORE`` of ``rows`` rows in one statement (SQLite)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    return f'INSERT OR IGNORE INTO "{table}" ({cols}) VALUES ' + ", ".join([one] * rows)


def _update_last_seq_sql(mysql: bool) -> str:
    if mysql:
        return (
            "UPDATE `streams` SET `last_seq` = %s WHERE `id` = %s AND (`last_seq` IS NULL OR `last_seq` < %s)"
        )
    return 'UPDATE "streams" SET "last_seq" = ? WHERE "id" = ? AND ("last_seq" IS NULL OR "last_seq" < ?)'


class EventWriter:
    """Stores submitted frames from a dedicated thread with its own connection.

    Backpressure policy: :meth:`submit` never blocks and never drops. When
    accepting a batch would take the frames waiting to be written past
    ``max_pending``, it returns ``False`` and keeps nothing; the caller must
    stop reading its socket and submit the same batch again once there is
    room (check :meth:`has_room`, e.g. on the next ``notify`` report). A batch
    larger than ``max_pending`` is still accepted when nothing is pending, so
    a caller can always make progress.

    ``notify(WriterReport)`` is called from the writer thread after every
    commit and every failure; it must be quick and thread-safe (e.g.
    ``loop.call_soon_threadsafe``).

    Always :meth:`close` a started writer (the thread is a daemon so that a
    hung database cannot keep the process alive; frames still queued at exit
    without ``close()`` would be lost). :meth:`flush` and :meth:`close` block:
    call them from a worker thread, not the event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        max_pending: int = 200_000,
        commit_interval: float = 0.25,
        notify: Callable[[WriterReport], None] | None = None,
        spill_dir: Path | None = None,
        batch_rows: int = 5000,
        retry_delays: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        self.url = url
        self._mysql = is_mysql_url(url)
        self._max_pending = max_pending
        self._interval = commit_interval
        self._notify = notify
        self._spill_dir = spill_dir
        self._batch_rows = batch_rows
        self._retry_first, self._retry_cap = retry_delays
        self._event_sql = insert_sql(self._mysql, "events", EVENT_COLUMNS)
        self._event_chunk_sql = sqlite_multi_row_sql("events", EVENT_COLUMNS, SQLITE_ROWS_PER_STATEMENT)
        self._malformed_sql = insert_sql(self._mysql, "malformed_frames", MALFORMED_COLUMNS, ignore=False)
        self._seq_sql = _update_last_seq_sql(self._mysql)

        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[Batch] = deque()
        self._queued = 0  # frames in the queue
        self._first_at: float | None = None  # when the oldest queued frame arrived
        self._in_flight: list[Batch] = []
        self._rejected: list[Batch] = []  # refused row by row by the database (a bug)
        self._submitted = 0
        self._done = 0
        self._stored = 0
        self._malformed_stored = 0
        self._duplicates = 0
        self._error: str | None = None
        self._flush_waiters = 0
        self._closing = False
        self._close_deadline = 0.0
        self._thread: threading.Thread | None = None

    # -- the caller's side -----------------------------------------------

    def start(self) -> None:
        """Start the writer thread (it connects, and retries until it can)."""
        if self._thread is not None:
            raise RuntimeError("the writer was already started")
        self._thread = threading.Thread(target=self._run, name="ayla-event-writer", daemon=True)
        self._thread.start()

    def submit(self, stream_id: int, frames: Sequence[Event | MalformedFrame]) -> bool:
        """Queue ``frames`` of stream ``stream_id`` for writing, or return
        ``False`` (and keep nothing) when there is no room: see the class
        docstring for the policy."""
        count = len(frames)
        if not count:
            return True
        cond = self._cond
        with cond:
            if self._closing:
                raise RuntimeError("the writer is closed")
            pending = self._submitted - self._done
            if pending and pending + count > self._max_pending:
                return False
            self._queue.append((stream_id, frames))
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
            return not pending or pending + count <= self._max_pending

    @property
    def pending(self) -> int:
        """Frames accepted and not yet committed."""
        return self._submitted - self._done

    @property
    def stored(self) -> int:
        """Frames committed (events, including duplicates skipped, and malformed frames)."""
        return self._stored + self._malformed_stored

    @property
    def malformed_stored(self) -> int:
        return self._malformed_stored

    @property
    def duplicates(self) -> int:
        """Events skipped because the database already had their (stream, seq)."""
        return self._duplicates

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
        with self._cond:
            left = list(self._rejected) + list(self._in_flight) + list(self._queue)
            self._queue.clear()
            self._queued = 0
        return self._spill(left) if left else None

    # -- the writer thread -----------------------------------------------

    def _report(self) -> None:
        if self._notify is None:
            return
        try:
            self._notify(WriterReport(self.stored, self.pending, self._error))
        except Exception:  # a watcher's bug must not stop the writing
            log.exception("The writer's notify callback failed")

    def _take(self) -> list[Batch] | None:
        """Wait for work and take up to ``batch_rows`` frames; ``None`` to stop."""
        cond = self._cond
        with cond:
            while True:
                if not self._queue:
                    if self._closing:
                        return None
                    cond.wait()
                    continue
                if self._closing or self._flush_waiters or self._queued >= self._batch_rows:
                    break
                assert self._first_at is not None
                remaining = self._first_at + self._interval - time.monotonic()
                if remaining <= 0:
                    break
                cond.wait(remaining)
            taken: list[Batch] = []
            rows = 0
            queue = self._queue
            while queue and rows < self._batch_rows:
                batch = queue.popleft()
                taken.append(batch)
                rows += len(batch[1])
            self._queued -= rows
            if not queue:
                self._first_at = None
            self._in_flight = taken
            return taken

    def _give_back(self, taken: list[Batch]) -> None:
        with self._cond:
            self._queue.extendleft(reversed(taken))
            self._queued += sum(len(b[1]) for b in taken)
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._in_flight = []

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
        database: peewee.Database | None = None
        delay = self._retry_first
        try:
            while True:
                taken = self._take()
                if taken is None:
                    return
                try:
                    if database is None:
                        database = open_connected(self.url, bulk=True)
                    self._write(database, taken)
                except Exception as exc:  # noqa: BLE001 - every failure keeps the rows
                    self._give_back(taken)
                    self._fail(exc)
                    if database is not None:
                        try:
                            database.close()
                        except Exception:  # noqa: BLE001 - the connection is gone anyway
                            pass
                        database = None
                    if not self._wait_retry(delay):
                        return
                    delay = min(self._retry_cap, delay * 2)
                    continue
                delay = self._retry_first
                count = sum(len(b[1]) for b in taken)
                with self._cond:
                    self._in_flight = []
                    self._done += count
                    self._cond.notify_all()
                if self._error is not None and not self._rejected:
                    log.warning("Writing to %s works again", describe_database(self.url))
                    self._error = None
                self._report()
        finally:
            if database is not None:
                database.close()

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, DatabaseUnavailable):
            message = str(exc).rstrip(".") + "; the events are kept and writing is retried."
        elif isinstance(exc, (peewee.PeeweeException, OSError)) or exc.__class__.__module__.startswith(
            ("sqlite3", "pymysql")
        ):
            message = explain_failure(exc, self.url) + "; the events are kept and writing is retried."
        else:
            message = (
                f"Storing events failed ({type(exc).__name__}: {exc}); they are kept and writing is retried."
            )
            log.error("Storing events failed", exc_info=exc)
        if message != self._error:
            log.error("%s", message)
        self._error = message
        self._report()

    def _write(self, database: peewee.Database, taken: list[Batch]) -> None:
        events: list[Row] = []
        malformed: list[Row] = []
        tops: dict[int, int] = {}
        for stream_id, frames in taken:
            top = build_rows(stream_id, frames, events, malformed)
            if top is not None and (stream_id not in tops or top > tops[stream_id]):
                tops[stream_id] = top
        try:
            inserted = self._insert(database, events, malformed, tops)
        except UnicodeEncodeError:
            # Lone surrogates from "\ud800"-style escapes: the driver refused
            # the batch (rolled back); escape them and write again.
            events = clean_rows(events)
            malformed = clean_rows(malformed)
            inserted = self._insert(database, events, malformed, tops)
        except (peewee.IntegrityError, peewee.DataError):
            self._isolate(database, taken)
            return
        self._stored += len(events)
        self._malformed_stored += len(malformed)
        self._duplicates += len(events) - inserted
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Committed %d events (%d new), %d malformed", len(events), inserted, len(malformed))

    def _insert(
        self, database: peewee.Database, events: list[Row], malformed: list[Row], tops: dict[int, int]
    ) -> int:
        inserted = 0
        lock = {} if self._mysql else {"lock_type": "IMMEDIATE"}
        # peewee's own wrapper (what execute_sql uses) turns the driver's
        # errors into peewee's, so that sqlite3 and PyMySQL fail alike.
        with database.atomic(**lock), _as_peewee_errors:
            cursor = database.cursor()
            if events and self._mysql:
                # PyMySQL already turns executemany into multi-row INSERTs.
                cursor.executemany(self._event_sql, events)
                inserted = max(cursor.rowcount, 0)
            elif events:
                step = SQLITE_ROWS_PER_STATEMENT
                full = len(events) - len(events) % step
                for start in range(0, full, step):
                    cursor.execute(self._event_chunk_sql, list(chain.from_iterable(events[start : start + step])))
                    inserted += max(cursor.rowcount, 0)
                if full < len(events):
                    cursor.executemany(self._event_sql, events[full:])
                    inserted += max(cursor.rowcount, 0)
            if malformed:
                cursor.executemany(self._malformed_sql, malformed)
            for stream_id, top in tops.items():
                cursor.execute(self._seq_sql, (top, stream_id, top))
        return inserted

    def _isolate(self, database: peewee.Database, taken: list[Batch]) -> None:
        """Write frame by frame a batch the database refused as a whole: keep
        the frames it refuses one by one (a caller's bug, e.g. an unknown
        stream id) for the spill file, store the rest."""
        refused: list[Batch] = []
        last: Exception | None = None
        for stream_id, frames in taken:
            for frame in frames:
                events: list[Row] = []
                malformed: list[Row] = []
                top = build_rows(stream_id, (frame,), events, malformed)
                try:
                    inserted = self._insert(
                        database,
                        clean_rows(events),
                        clean_rows(malformed),
                        {} if top is None else {stream_id: top},
                    )
                except (peewee.IntegrityError, peewee.DataError) as exc:
                    refused.append((stream_id, (frame,)))
                    last = exc
                    continue
                self._stored += len(events)
                self._malformed_stored += len(malformed)
                self._duplicates += len(events) - inserted
        if refused:
            with self._cond:
                self._rejected.extend(refused)
            self._error = (
                f"The database {describe_database(self.url)} refused {len(refused)} frames "
                f"({last}); they will be saved to a file when recording stops."
            )
            log.error("%s", self._error)

    def _spill(self, batches: list[Batch]) -> Path:
        """Write unstored frames as JSON Lines; the spill folder, else the temp folder."""
        name = time.strftime("unstored-%Y%m%d-%H%M%S")
        folders = [self._spill_dir or default_database_path().parent, Path(tempfile.gettempdir())]
        count = sum(len(b[1]) for b in batches)
        failure: OSError | None = None
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{name}.jsonl"
                n = 1
                while path.exists():
                    path = folder / f"{name}-{n}.jsonl"
                    n += 1
                with open(path, "x", encoding="utf-8") as out:
                    for stream_id, frames in batches:
                        for frame in frames:
                            out.write(json.dumps(_spill_line(stream_id, frame)))
                            out.write("\n")
                    out.flush()
                    os.fsync(out.fileno())
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


def _spill_line(stream_id: int, frame: Any) -> dict[str, Any]:
    if isinstance(frame, MalformedFrame):
        return {
            "stream_id": stream_id,
            "seq": None,
            "received_at": frame.received_at,
            "raw": frame.raw,
            "reason": frame.reason,
        }
    return {
        "stream_id": stream_id,
        "seq": getattr(frame, "seq", None),
        "received_at": getattr(frame, "received_at", None),
        "raw": getattr(frame, "raw", None),
    }
