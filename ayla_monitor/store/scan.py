"""Every stored event of a selection as plain row tuples, fast: for a pass
over millions of rows (``ayla-monitor report``, the window's insight at start).

:meth:`Store.iter_events` gives :class:`~ayla_monitor.store.records.StoredEvent`
objects through peewee's row conversion: measured on 100,000 rows, the
conversion (16 field converters per row) and the frozen dataclass cost
more than reading the rows. Here the rows come straight from the driver's
cursor, in id order, a chunk at a time (keyset paging on the primary key:
never the whole selection in memory), with only what such a pass needs:
the JSON as received holds the rest. Each column costs per row (SQLite
2.4 -> 1.1 µs a row for five columns instead of twelve); on MariaDB,
PyMySQL decodes every field in Python, so the server sends the four after
the id as one text (8.5 -> 3.8 µs a row).

That reading is still half of a report's CPU on MySQL (5-6 µs of a row's
11), all of it in Python under the GIL, so a thread cannot take it off
the pass. With ``aside=True`` (the report) it runs in a process of its own,
started with ``spawn`` as the writer's is: a thread there pages through
the rows as above and the process sends each chunk as one :mod:`marshal`
blob over a pipe (0.4 µs a row to write, 0.3 to read back), while the
caller folds the chunk before. The thread reads up to :data:`_AHEAD`
chunks ahead of what the pipe has taken (memory stays bounded): without
that slack each side waited ~2 s a million rows for the other. A failure
comes back as its sentence (:class:`DatabaseUnavailable`, as the scan in
place says it) or, for a bug, its traceback; closing the generator ends
the process. Not on SQLite, whose rows cost less to read (1.5 µs) than to
send.
"""

from __future__ import annotations

import marshal
import multiprocessing
import queue
import signal
import threading
import traceback
from collections.abc import Generator, Iterator
from multiprocessing.connection import Connection
from typing import Any

import peewee
from peewee import fn

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.connection import open_read_only
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.location import is_mysql_url
from ayla_monitor.store.models import Event
from ayla_monitor.store.selection import event_conditions

__all__ = ["SCAN_COLUMNS", "BARE_COLUMNS", "scan_events", "bare_columns", "row_columns"]

#: chunks the reader process reads ahead of what its pipe has taken
_AHEAD = 4
#: the columns of a scanned row, in order
SCAN_COLUMNS = ("id", "stream_id", "seq", "received_at", "raw")
#: the columns a row without its JSON (one written by another tool) is
#: rebuilt from: such a row comes with these after :data:`SCAN_COLUMNS`
BARE_COLUMNS = ("event_type", "oem_id", "oem_model", "dsn", "time", "property_name", "value")
_BARE_FIELDS = [getattr(Event, name) for name in BARE_COLUMNS]
_LEAN_FIELDS = (Event.id, Event.stream, Event.seq, Event.received_at, Event.raw)
# received_at as text is what the text protocol sends for a double anyway
# (PyMySQL reads it back with float()); no tab is in any of the first three
_PACKED_FIELDS = (
    Event.id,
    fn.CONCAT_WS("\t", fn.IFNULL(Event.stream, ""), fn.IFNULL(Event.seq, ""), fn.IFNULL(Event.received_at, ""),
                 fn.IFNULL(Event.raw, "")),
)


def _unpacked(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    out = []
    for row_id, packed in rows:
        stream, seq, received, raw = packed.split("\t", 3)
        out.append((row_id, int(stream) if stream else None, int(seq) if seq else None,
                    float(received) if received else None, raw or None))
    return out


def bare_columns(store: Store, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """:data:`BARE_COLUMNS` of the events ``ids`` (for a row whose JSON is
    missing or unreadable)."""

    def work(db: peewee.Database) -> dict[int, tuple[Any, ...]]:
        select = Event.select(Event.id, *_BARE_FIELDS).where(Event.id.in_(ids))
        return {row[0]: tuple(row[1:]) for row in db.execute(select.bind(db)).fetchall()}

    return store._call(work) if ids else {}


def row_columns(store: Store, row_id: int) -> tuple[Any, ...] | None:
    """:data:`BARE_COLUMNS` of one event (its JSON does not read), ``None`` if it is gone."""
    return bare_columns(store, [row_id]).get(row_id)


def scan_events(
    store: Store, selected: EventFilter | None = None, chunk: int = 5000, after: int = 0, *, aside: bool = False
) -> Generator[tuple[Any, ...], None, None]:
    """The selected events whose id is above ``after``, as tuples of
    :data:`SCAN_COLUMNS` (a row without its JSON: followed by its
    :data:`BARE_COLUMNS`), oldest id first. The store's lock is free between
    chunks. (A time range alone does not start the walk: the ids before it
    are still read, one chunk's lock at a time; give ``after`` from
    :func:`~ayla_monitor.store.follow.first_id_since` to skip them.)

    ``aside=True``: on MySQL, the rows are read by a process of its own
    (see the module doc); close the generator to stop it early."""
    if aside and is_mysql_url(store.url):
        yield from _read_aside(store, selected, chunk, after)
        return
    for rows in _chunks(store, selected, chunk, after):
        yield from rows


def _chunks(
    store: Store, selected: EventFilter | None, chunk: int, after: int
) -> Iterator[list[tuple[Any, ...]]]:
    """:func:`scan_events`' rows a chunk at a time; the last one is shorter than ``chunk`` (maybe empty)."""
    where = event_conditions(selected or EventFilter())
    last = after
    while True:

        def work(db: peewee.Database, last: int = last) -> list[tuple[Any, ...]]:
            mysql = isinstance(db, peewee.MySQLDatabase)
            fields = _PACKED_FIELDS if mysql else _LEAN_FIELDS
            select = Event.select(*fields).where(Event.id > last, *where).order_by(Event.id).limit(chunk)
            rows = db.execute(select.bind(db)).fetchall()
            return _unpacked(rows) if mysql else list(rows)

        rows = store._call(work)
        bare = [row[0] for row in rows if not row[4]]
        if bare:
            columns = bare_columns(store, bare)
            rows = [row + columns.get(row[0], (None,) * len(BARE_COLUMNS)) if not row[4] else row for row in rows]
        yield rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def _read_aside(
    store: Store, selected: EventFilter | None, chunk: int, after: int
) -> Generator[tuple[Any, ...], None, None]:
    """:func:`scan_events` with the reading done by :func:`_reader` in a process of its own."""
    context = multiprocessing.get_context("spawn")  # as the writer's: fork is unsafe with Qt's and our threads
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_reader, args=(sending, store.url, selected, chunk, after),
                              name="ayla-db-reader", daemon=True)
    process.start()
    sending.close()
    done = False
    try:
        while True:
            try:
                rows = marshal.loads(receiving.recv_bytes())
            except (EOFError, OSError) as exc:
                process.join(1.0)
                code = process.exitcode
                how = "was killed" if code is not None and code < 0 else f"ended (exit code {code})"
                raise DatabaseUnavailable(f"Reading {store.description} stopped: its reader process {how}.") from exc
            if rows.__class__ is str:  # the sentence of a DatabaseUnavailable
                raise DatabaseUnavailable(rows)
            if rows.__class__ is tuple:  # a bug: its traceback
                raise RuntimeError(f"The database reader process failed:\n{rows[0]}")
            yield from rows
            if len(rows) < chunk:
                done = True
                return
    finally:
        receiving.close()
        if not done:  # stopped early (or failed): nothing of it is wanted any more
            process.kill()
        process.join()


def _reader(sending: Connection, url: str, selected: EventFilter | None, chunk: int, after: int) -> None:
    """The reader process: :func:`_fetch` on a thread, up to :data:`_AHEAD`
    chunks ahead of what the pipe has taken, sent from here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the group: the parent stops this process
    blobs: queue.Queue[bytes | None] = queue.Queue(_AHEAD)
    threading.Thread(target=_fetch, args=(blobs, url, selected, chunk, after), name="ayla-db-fetch",
                     daemon=True).start()
    try:
        while (blob := blobs.get()) is not None:
            sending.send_bytes(blob)
    except OSError:
        pass  # the parent stopped reading


def _fetch(blobs: queue.Queue[bytes | None], url: str, selected: EventFilter | None, chunk: int, after: int) -> None:
    """:func:`_chunks` of ``url``'s events, each a :mod:`marshal` blob of its
    list of rows; a failure as the sentence of its
    :class:`DatabaseUnavailable` (``str``), or a bug as ``(traceback,)``; then ``None``."""
    try:
        with Store(url, open_read_only(url)) as store:
            for rows in _chunks(store, selected, chunk, after):
                blobs.put(marshal.dumps(rows))
    except DatabaseUnavailable as exc:
        blobs.put(marshal.dumps(str(exc)))
    except Exception:  # a bug: the parent raises it with this traceback
        blobs.put(marshal.dumps((traceback.format_exc(),)))
    blobs.put(None)
