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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import peewee
from peewee import fn

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.database import Store
from ayla_monitor.store.models import Event
from ayla_monitor.store.selection import event_conditions

__all__ = ["SCAN_COLUMNS", "BARE_COLUMNS", "scan_events", "bare_columns", "row_columns"]

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
    store: Store, selected: EventFilter | None = None, chunk: int = 5000, after: int = 0
) -> Iterator[tuple[Any, ...]]:
    """The selected events whose id is above ``after``, as tuples of
    :data:`SCAN_COLUMNS` (a row without its JSON: followed by its
    :data:`BARE_COLUMNS`), oldest id first. The store's lock is free between
    chunks. (A time range alone does not start the walk: the ids before it
    are still read, one chunk's lock at a time; give ``after`` from
    :func:`~ayla_monitor.store.follow.first_id_since` to skip them.)"""
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
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]
