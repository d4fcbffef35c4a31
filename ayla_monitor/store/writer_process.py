"""The database writer's own process: row tuples in, SQL out.

:class:`~ayla_monitor.store.writer.EventWriter` builds row tuples and hands
them here; this process owns the connection and runs the ``INSERT``
statements. Storing used to run on a thread of the receiving process, where
it shared the GIL with the event loop: py-spy showed each of them running
only ~40% of the time, waiting for the other's GIL, and the recorder stored
32k events/s while the loop alone received 86k/s and the writer alone
stored 53k rows/s (``benchmarks/ingest.py``). In a process of its own the
SQL work runs beside the loop, not in turns with it.

The two ends talk over a :func:`multiprocessing.Pipe`, each message a
:mod:`marshal` blob: both ends run the same interpreter, rows hold only
``str``/``int``/``float``/``None``, and marshal encodes and decodes them
2-4x faster than pickle (1.1 µs + 1.6 µs a row here). Requests are answered
in order, and the parent sends the next batch before reading the previous
reply, so that building rows and writing them overlap::

    request  (generation, [marshal of (event rows, malformed rows), ...],
              {stream id: highest seq})       stored in one transaction
    reply    ("ok", rows inserted)            duplicates were skipped
             ("refused", reason)              the database refused the batch
                                              (integrity or data error): the
                                              caller retries frame by frame
             ("failed", sentence, traceback)  the database failed; sentence
                                              for the user, traceback for
                                              the log when it is a bug
             ("skipped",)                     not tried: an earlier batch of
                                              the same generation failed, and
                                              batches are stored in order
    b""      close the connection and exit

After a failure the parent puts everything unanswered back in its queue and
tries again with the next generation, so a batch is never stored after a
later one that failed, and the stream's ``last_seq`` never runs ahead of a
gap.

The process ignores SIGINT: Ctrl+C in a terminal reaches the whole process
group, and the recorder must still be able to write what it holds when it
stops. SIGTERM keeps its default (multiprocessing ends daemon processes with
it when the parent exits); if a SIGTERM to the whole group ends this process
first, the parent starts another and writes again. The process exits when
its parent closes the pipe, or dies.
"""

from __future__ import annotations

import marshal
import signal
import traceback
from multiprocessing.connection import Connection
from typing import Any

import peewee
from peewee import __exception_wrapper__ as _as_peewee_errors  # type: ignore[attr-defined]

from ayla_monitor.store.connection import explain_failure
from ayla_monitor.store.database import open_connected
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.location import is_mysql_url
from ayla_monitor.store.rows import EVENT_COLUMNS, MALFORMED_COLUMNS, Row, clean_rows

__all__ = ["RowSink", "serve", "insert_sql"]

Reply = tuple[Any, ...]

def insert_sql(mysql: bool, table: str, columns: tuple[str, ...], ignore: bool = True) -> str:
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


def _update_last_seq_sql(mysql: bool) -> str:
    if mysql:
        return (
            "UPDATE `streams` SET `last_seq` = %s WHERE `id` = %s AND (`last_seq` IS NULL OR `last_seq` < %s)"
        )
    return 'UPDATE "streams" SET "last_seq" = ? WHERE "id" = ? AND ("last_seq" IS NULL OR "last_seq" < ?)'


class RowSink:
    """Writes batches of rows to one database, connecting when needed.

    :meth:`write` never raises: it returns one of the replies described in
    the module docstring. It runs in the writer process, and in tests in
    the test's own process.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._mysql = is_mysql_url(url)
        self._database: peewee.Database | None = None
        self._event_sql = insert_sql(self._mysql, "events", EVENT_COLUMNS)
        self._malformed_sql = insert_sql(self._mysql, "malformed_frames", MALFORMED_COLUMNS, ignore=False)
        self._seq_sql = _update_last_seq_sql(self._mysql)

    def write(self, events: list[Row], malformed: list[Row], tops: dict[int, int]) -> Reply:
        try:
            if self._database is None:
                self._database = open_connected(self.url, bulk=True)
            try:
                inserted = self._insert(self._database, events, malformed, tops)
            except UnicodeEncodeError:
                # Lone surrogates from "\ud800"-style escapes: the driver refused
                # the batch (rolled back); escape them and write again.
                inserted = self._insert(self._database, clean_rows(events), clean_rows(malformed), tops)
        except (peewee.IntegrityError, peewee.DataError) as exc:
            return ("refused", str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the rows are kept
            self.close()
            return self._failure(exc)
        return ("ok", inserted)

    def _failure(self, exc: BaseException) -> Reply:
        if isinstance(exc, DatabaseUnavailable):
            return ("failed", str(exc).rstrip("."), "")
        if isinstance(exc, (peewee.PeeweeException, OSError)) or exc.__class__.__module__.startswith(
            ("sqlite3", "pymysql")
        ):
            return ("failed", explain_failure(exc, self.url), "")
        sentence = f"Storing events failed ({type(exc).__name__}: {exc})"
        return ("failed", sentence, "".join(traceback.format_exception(exc)))

    def _insert(
        self, database: peewee.Database, events: list[Row], malformed: list[Row], tops: dict[int, int]
    ) -> int:
        inserted = 0
        lock: dict[str, str] = {} if self._mysql else {"lock_type": "IMMEDIATE"}
        # peewee's own wrapper (what execute_sql uses) turns the driver's
        # errors into peewee's, so that sqlite3 and PyMySQL fail alike.
        with database.atomic(**lock), _as_peewee_errors:
            cursor = database.cursor()
            if events:
                # PyMySQL turns executemany into multi-row INSERTs; sqlite3 steps
                # one prepared statement per row (measured 10% faster here than
                # 500-row INSERTs, which only paid off while a thread shared the GIL).
                cursor.executemany(self._event_sql, events)
                inserted = max(cursor.rowcount, 0)
            if malformed:
                cursor.executemany(self._malformed_sql, malformed)
            for stream_id, top in tops.items():
                cursor.execute(self._seq_sql, (top, stream_id, top))
        return inserted

    def close(self) -> None:
        database, self._database = self._database, None
        if database is not None:
            try:
                database.close()
            except Exception:  # noqa: BLE001 - the connection is gone anyway
                pass


def serve(conn: Connection, url: str) -> None:
    """The writer process's main: answer requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sink = RowSink(url)
    failed = -1  # the generation of the last batch that was not stored
    try:
        while True:
            try:
                request = conn.recv_bytes()
            except (EOFError, OSError):
                return
            if not request:
                return
            generation, blobs, tops = marshal.loads(request)
            if generation <= failed:
                reply: Reply = ("skipped",)
            else:
                events: list[Row] = []
                malformed: list[Row] = []
                for blob in blobs:
                    more_events, more_malformed = marshal.loads(blob)
                    events += more_events
                    malformed += more_malformed
                reply = sink.write(events, malformed, tops)
                if reply[0] != "ok":
                    failed = generation
            conn.send_bytes(marshal.dumps(reply))
    finally:
        sink.close()
        conn.close()
