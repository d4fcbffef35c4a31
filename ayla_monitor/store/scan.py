"""Every stored event of a selection as plain row tuples, fast: for a pass
over millions of rows (``ayla-monitor report``).

:meth:`Store.iter_events` gives :class:`~ayla_monitor.store.records.StoredEvent`
objects through peewee's row conversion: measured on 100,000 rows, the
conversion (16 field converters per row) and the frozen dataclass cost
more than reading the rows. Here the rows come straight from the
driver's cursor with the dozen columns such a pass reads, in id order, a chunk at a time (keyset paging on the
primary key: never the whole selection in memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import peewee
from peewee import Case

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.database import Store
from ayla_monitor.store.models import Event
from ayla_monitor.store.selection import event_conditions

__all__ = ["SCAN_COLUMNS", "scan_events"]

#: the columns of a scanned row, in order: what a pass over the fleet reads
#: (the JSON as received holds the rest). ``value`` only where there is no
#: JSON (rows written by other tools): a datapoint's value is in its JSON
#: already, and can be megabytes.
SCAN_COLUMNS = (
    "id", "stream_id", "seq", "event_type", "oem_id", "oem_model", "dsn", "time", "property_name", "value", "raw",
    "received_at",
)
_FIELDS = (
    Event.id, Event.stream, Event.seq, Event.event_type, Event.oem_id, Event.oem_model, Event.dsn, Event.time,
    Event.property_name, Case(None, [(Event.raw.is_null(), Event.value)], None), Event.raw, Event.received_at,
)


def scan_events(
    store: Store, selected: EventFilter | None = None, chunk: int = 5000, after: int = 0
) -> Iterator[tuple[Any, ...]]:
    """The selected events whose id is above ``after``, as tuples of
    :data:`SCAN_COLUMNS`, oldest id first. The store's lock is free between
    chunks. (A time range alone does not start the walk: the ids before it
    are still read, one chunk's lock at a time; give ``after`` from
    :func:`~ayla_monitor.store.follow.first_id_since` to skip them.)"""
    where = event_conditions(selected or EventFilter())
    last = after
    while True:

        def work(db: peewee.Database, last: int = last) -> list[tuple[Any, ...]]:
            select = Event.select(*_FIELDS).where(Event.id > last, *where).order_by(Event.id).limit(chunk)
            cursor = db.execute(select.bind(db))
            return list(cursor.fetchall())

        rows = store._call(work)
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]
