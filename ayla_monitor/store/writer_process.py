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

    request  (generation, [marshal of (stream id, epoch, event rows,
              malformed rows, gap rows), ...],
              {stream id: (epoch, highest seq)})  stored in one transaction
    reply    ("ok", [(stored, duplicates,     one tuple per blob: what became
              conflicts, bad frames), ...])   of its frames
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

Nothing is merged or dropped by a unique key (no ``INSERT IGNORE``, which
on MySQL also turns a value too long or bad UTF-8 into a warning and
truncates silently). Events are inserted plainly, which is the common case
and costs nothing more; when the unique (stream, epoch, seq) key refuses a
row, the transaction is rolled back and done again with each row
classified against what is stored: the same seq with byte-identical JSON
is a *duplicate* (counted, not stored again); with other content it is a
*conflict*, stored in a row of its own with ``seq`` empty, ``conflict_seq``
set and a note, so both contents can be found.

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
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

import peewee
from peewee import __exception_wrapper__ as _as_peewee_errors  # type: ignore[attr-defined]

from ayla_monitor.store.connection import explain_failure
from ayla_monitor.store.database import open_connected
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.latest import batch_where, latest_rows_upsert_sql, latest_upsert_sql
from ayla_monitor.store.location import is_mysql_url
from ayla_monitor.store.mysql_rows import execute_inserts
from ayla_monitor.store.rows import (
    CONFLICT_SEQ,
    EVENT_COLUMNS,
    GAP_COLUMNS,
    MALFORMED_COLUMNS,
    NOTE,
    RAW,
    SEQ,
    Row,
    clean_rows,
    latest_rows,
)

__all__ = ["RowSink", "serve", "insert_sql"]

Reply = tuple[Any, ...]
#: (stream id, epoch, event rows, malformed rows, gap rows): one submitted batch
Blob = tuple[int, int, list[Row], list[Row], list[Row]]
#: what became of one blob's frames: stored, duplicates, conflicts, bad frames
Counts = tuple[int, int, int, int]

#: PyMySQL's SERVER_STATUS_NO_BACKSLASH_ESCAPES: the session's mode that
#: :mod:`~ayla_monitor.store.mysql_rows` writes its text for
_NO_BACKSLASH_ESCAPES = 512

#: rows per ``seq IN (...)`` look-up (SQLite's variable limit is 999 on old builds)
_LOOKUP_CHUNK = 500


def _dialect(mysql: bool, sql: str) -> str:
    """``sql`` written with ``"`` quotes and ``?`` marks, in the backend's dialect."""
    return sql.replace('"', "`").replace("?", "%s") if mysql else sql


def insert_sql(mysql: bool, table: str, columns: tuple[str, ...]) -> str:
    """``INSERT`` text for ``executemany`` in the backend's dialect."""
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["?"] * len(columns))
    return _dialect(mysql, f'INSERT INTO "{table}" ({cols}) VALUES ({marks})')


_LAST_SEQ_SQL = (
    'UPDATE "streams" SET "epoch" = ?, "last_seq" = ? WHERE "id" = ? AND ("epoch" < ? '
    'OR ("epoch" = ? AND ("last_seq" IS NULL OR "last_seq" < ?)))'
)


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
        #: MySQL: writes the next INSERT's text while the server runs one
        self._ahead: ThreadPoolExecutor | None = None
        m = self._mysql
        self._event_sql = insert_sql(m, "events", EVENT_COLUMNS)
        self._event_head = self._event_sql.split(" VALUES ")[0] + " VALUES "
        self._malformed_sql = insert_sql(m, "malformed_frames", MALFORMED_COLUMNS)
        self._gap_insert_sql = insert_sql(m, "gaps", GAP_COLUMNS)
        self._latest_sql = latest_rows_upsert_sql(m)
        #: number of seq ranges -> the statement that takes their latest rows
        self._latest_batch_sql: dict[int, str] = {}
        self._max_id_sql = _dialect(m, 'SELECT MAX("id") FROM "events"')
        self._seq_sql = _dialect(m, _LAST_SEQ_SQL)
        self._gap_find_sql = _dialect(
            m, 'SELECT "state" FROM "gaps" WHERE "stream_id" = ? AND "epoch" = ? AND "first_seq" = ?'
        )
        self._gap_update_sql = _dialect(
            m,
            'UPDATE "gaps" SET "last_seq" = ?, "state" = ?, "detail" = ?, "closed_at" = ? '
            'WHERE "stream_id" = ? AND "epoch" = ? AND "first_seq" = ?',
        )
        self._range_count_sql = _dialect(
            m, 'SELECT COUNT(*) FROM "events" WHERE "stream_id" = ? AND "epoch" = ? AND "seq" BETWEEN ? AND ?'
        )
        # A conflict resent: found through the device index (a conflict has the
        # same device, type, property and time as itself), not a scan.
        self._conflict_find_sql = _dialect(
            m,
            'SELECT "raw" FROM "events" WHERE "dsn" <=> ? AND "event_type" <=> ? AND "property_name" <=> ? '
            'AND "time" <=> ? AND "stream_id" = ? AND "epoch" = ? AND "conflict_seq" = ?',
        )
        self._seqs_sql = _dialect(
            m, 'SELECT "seq", "raw" FROM "events" WHERE "stream_id" = ? AND "epoch" = ? AND "seq" IN '
        )
        if not m:
            self._conflict_find_sql = self._conflict_find_sql.replace("<=>", "IS")

    def write(self, blobs: list[Blob], tops: dict[int, tuple[int, int]]) -> Reply:
        try:
            if self._database is None:
                self._database = open_connected(self.url, bulk=True)
                if self._mysql:
                    # store/latest.py says why
                    self._database.execute_sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            try:
                counts = self._insert(self._database, blobs, tops)
            except UnicodeEncodeError:
                # Lone surrogates from "\ud800"-style escapes: the driver refused
                # the batch (rolled back); escape them and write again.
                clean = [(s, e, clean_rows(ev), clean_rows(bad), gaps) for s, e, ev, bad, gaps in blobs]
                counts = self._insert(self._database, clean, tops)
        except (peewee.IntegrityError, peewee.DataError) as exc:
            return ("refused", str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the rows are kept
            self.close()
            return self._failure(exc)
        return ("ok", counts)

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
        self, database: peewee.Database, blobs: list[Blob], tops: dict[int, tuple[int, int]]
    ) -> list[Counts]:
        """Store ``blobs`` in one transaction; what became of each one's frames."""
        try:
            return self._transaction(database, blobs, tops, classify=False)
        except peewee.IntegrityError:
            # A seq the database already holds (a replay, another recorder, a
            # seq used twice): the whole transaction was rolled back; classify.
            try:
                return self._transaction(database, blobs, tops, classify=True)
            except peewee.IntegrityError:
                # Another recorder stored one of them meanwhile: look again.
                return self._transaction(database, blobs, tops, classify=True)

    def _transaction(
        self, database: peewee.Database, blobs: list[Blob], tops: dict[int, tuple[int, int]], classify: bool
    ) -> list[Counts]:
        lock: dict[str, str] = {} if self._mysql else {"lock_type": "IMMEDIATE"}
        counts: list[Counts] = []
        sent_latest: list[Row] = []
        # peewee's own wrapper (what execute_sql uses) turns the driver's
        # errors into peewee's, so that sqlite3 and PyMySQL fail alike.
        with database.atomic(**lock), _as_peewee_errors:
            cursor = database.cursor()
            events: list[Row] = []
            malformed: list[Row] = []
            gaps: list[Row] = []
            #: (stream id, epoch) -> [lowest seq, highest seq] of the events of its blobs
            ranges: dict[tuple[int, int], list[int]] = {}
            for stream_id, epoch, more_events, more_malformed, more_gaps in blobs:
                duplicates = conflicts = 0
                if classify and more_events:
                    more_events, duplicates, conflicts = self._classify(cursor, stream_id, epoch, more_events)
                counts.append((len(more_events) - conflicts, duplicates, conflicts, len(more_malformed)))
                seqs = [row[SEQ] for row in more_events]
                if not classify and seqs and None not in seqs:
                    low, high = min(seqs), max(seqs)
                    known = ranges.setdefault((stream_id, epoch), [low, high])
                    known[:] = min(known[0], low), max(known[1], high)
                else:
                    sent_latest.extend(more_events)  # a conflict or an event without a seq
                events += more_events
                malformed += more_malformed
                gaps += more_gaps
            if events:
                # MySQL: multi-row INSERTs, written by store/mysql_rows.py; sqlite3
                # steps one prepared statement per row (measured 10% faster here than
                # 500-row INSERTs, which only paid off while a thread shared the GIL).
                before = 0
                if ranges:
                    cursor.execute(self._max_id_sql)
                    before = cursor.fetchone()[0] or 0
                if self._mysql and database.connection().server_status & _NO_BACKSLASH_ESCAPES:
                    if self._ahead is None:
                        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="insert-text")
                    execute_inserts(cursor, self._event_head, events, self._ahead)
                else:
                    cursor.executemany(self._event_sql, events)
                # The devices' latest state, in the same transaction: never
                # behind. Picked by the database from the rows just stored
                # (store/latest.py), or sent when a batch's seqs do not say
                # which rows are its own.
                if ranges:
                    sql = self._latest_batch_sql.get(len(ranges))
                    if sql is None:
                        sql = self._latest_batch_sql[len(ranges)] = latest_upsert_sql(
                            self._mysql, batch_where(len(ranges))
                        )
                    cursor.execute(sql, (before, *(x for key, seqs in ranges.items() for x in (*key, *seqs))))
                if sent_latest:
                    cursor.executemany(self._latest_sql, latest_rows(sent_latest))
            if malformed:
                cursor.executemany(self._malformed_sql, malformed)
            for gap in gaps:
                self._record_gap(cursor, gap)
            for stream_id, (epoch, top) in tops.items():
                cursor.execute(self._seq_sql, (epoch, top, stream_id, epoch, epoch, top))
        return counts

    def _classify(self, cursor: Any, stream_id: int, epoch: int, rows: list[Row]) -> tuple[list[Row], int, int]:
        """``rows`` less the duplicates, with conflicts turned into rows of
        their own; how many of each."""
        seqs = sorted({row[SEQ] for row in rows if row[SEQ] is not None})
        stored: dict[int, str] = {}
        for at in range(0, len(seqs), _LOOKUP_CHUNK):
            chunk = seqs[at : at + _LOOKUP_CHUNK]
            marks = ", ".join(["%s" if self._mysql else "?"] * len(chunk))
            cursor.execute(f"{self._seqs_sql}({marks})", (stream_id, epoch, *chunk))
            stored.update(cursor.fetchall())
        kept: list[Row] = []
        conflicting: dict[int, set[str]] = {}  # seq -> contents of its conflicts stored or kept
        duplicates = conflicts = 0
        for row in rows:
            seq = row[SEQ]
            if seq is None:
                kept.append(row)
                continue
            first = stored.get(seq)
            if first is None:
                stored[seq] = row[RAW]
                kept.append(row)
                continue
            raw = row[RAW]
            if raw == first:
                duplicates += 1
                continue
            known = conflicting.get(seq)
            if known is None:
                cursor.execute(
                    self._conflict_find_sql, (row[5], row[2], row[8], row[6], stream_id, epoch, seq)
                )
                known = conflicting[seq] = {r[0] for r in cursor.fetchall()}
            if raw in known:
                duplicates += 1  # the same conflicting event, received again
                continue
            known.add(raw)
            conflicts += 1
            note = f"conflict: seq {seq} of this stream already holds another event"
            fields = list(row)
            fields[SEQ] = None
            fields[CONFLICT_SEQ] = seq
            fields[NOTE] = f"{note}; {row[NOTE]}" if row[NOTE] else note
            kept.append(tuple(fields))
        return kept, duplicates, conflicts

    def _record_gap(self, cursor: Any, row: Row) -> None:
        """Insert a gap, or update the one recorded before (by anyone)."""
        stream_id, epoch, first, last, seen_at, state, detail = row
        cursor.execute(self._gap_find_sql, (stream_id, epoch, first))
        found = cursor.fetchone()
        if found is None:
            if state == "open":
                cursor.execute(self._range_count_sql, (stream_id, epoch, first, last))
                if cursor.fetchone()[0] >= last - first + 1:  # another recorder has them
                    state, detail = "filled", "already stored when the gap was seen"
            closed = None if state == "open" else seen_at
            cursor.execute(self._gap_insert_sql, (stream_id, epoch, first, last, seen_at, state, detail))
            if closed is not None:
                cursor.execute(self._gap_update_sql, (last, state, detail, closed, stream_id, epoch, first))
            return
        if found[0] == "filled" or (state == "open" and found[0] != "open"):
            return  # a gap that is closed stays closed
        closed = None if state == "open" else seen_at
        cursor.execute(self._gap_update_sql, (last, state, detail, closed, stream_id, epoch, first))

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.shutdown()
            self._ahead = None
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
                reply = sink.write([marshal.loads(blob) for blob in blobs], tops)
                if reply[0] != "ok":
                    failed = generation
            conn.send_bytes(marshal.dumps(reply))
    finally:
        sink.close()
        conn.close()
