"""Following a database that others write: the rows stored after the last
one seen, by primary key.

``SELECT … FROM events WHERE id > :last ORDER BY id LIMIT :n`` is a range
of the primary key (InnoDB's clustered index, SQLite's rowid): its cost
grows with the rows returned, never with the table (``benchmarks/team.py``
shows the plan on 10 million rows). Filters (type, device, property, stream)
are applied to those rows here, so a rare filter cannot turn the read into
a walk over an index that reaches back through the whole table.

Ids are handed out in commit order only roughly: a transaction that took an
id before another commits after it. A follower therefore keeps the ids of
the last :data:`SETTLE` seconds' reads in view (:class:`Follower`): a row
that shows up late below the highest id seen is still delivered, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from ayla_monitor.store.database import Store
from ayla_monitor.store.models import Event, MalformedFrame

__all__ = ["FollowedEvent", "FollowedMalformed", "Follower", "first_id_since", "first_id_query", "last_id", "SETTLE", "PAGE"]

#: Rows per read.
PAGE = 5000
#: Seconds during which a row may still appear below the highest id seen
#: (a writer's transaction that took its ids earlier and committed later).
SETTLE = 10.0


@dataclass(frozen=True, slots=True)
class FollowedEvent:
    id: int
    stream_id: int | None
    seq: int | None
    epoch: int
    event_type: str | None
    dsn: str | None
    property_name: str | None
    value: str | None
    time: str | None
    received_at: float | None
    raw: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class FollowedMalformed:
    id: int
    stream_id: int | None
    received_at: float
    reason: str
    raw: str


_FIELDS = (
    Event.id,
    Event.stream,
    Event.seq,
    Event.epoch,
    Event.event_type,
    Event.dsn,
    Event.property_name,
    Event.value,
    Event.time,
    Event.received_at,
    Event.raw,
    Event.note,
)


def last_id(store: Store) -> int:
    """The highest event id now (0 for an empty table): following starts after it."""
    return int(store._call(lambda db: Event.select(peewee.fn.MAX(Event.id)).bind(db).scalar()) or 0)


def last_malformed_id(store: Store) -> int:
    return int(
        store._call(lambda db: MalformedFrame.select(peewee.fn.MAX(MalformedFrame.id)).bind(db).scalar()) or 0
    )


def first_id_query(time_iso: str) -> peewee.ModelSelect[Event]:
    """The lowest id among the events whose time is ``time_iso`` or later:
    a range of the ``(time)`` index, whose cost follows the events since
    then (which a caller reads next anyway).

    ``MIN(id + 0)``, not ``MIN(id)``: for ``MIN(id)`` SQLite walks the table
    in id order until a row matches (2.2 s to reach the last hour of 10M
    events, whose times grow with their ids) instead of the index (3 ms)."""
    return Event.select(peewee.fn.MIN(Event.id + 0)).where(Event.time >= time_iso)


def first_id_since(store: Store, time_iso: str) -> int:
    """The id to follow from so that events whose time is ``time_iso`` or
    later are included."""

    def work(db: peewee.Database) -> int | None:
        found: int | None = first_id_query(time_iso).bind(db).scalar()
        return found

    found = store._call(work)
    return last_id(store) if found is None else max(0, int(found) - 1)


def events_after(store: Store, after: int, limit: int = PAGE) -> list[FollowedEvent]:
    """Events with an id above ``after``, in id order, at most ``limit``."""

    def work(db: peewee.Database) -> list[tuple[object, ...]]:
        query = Event.select(*_FIELDS).where(Event.id > after).order_by(Event.id).limit(limit)
        rows: list[tuple[object, ...]] = list(query.tuples().bind(db))  # type: ignore[arg-type]
        return rows

    return [FollowedEvent(*row) for row in store._call(work)]  # type: ignore[arg-type]


def events_between(store: Store, first: int, last: int) -> list[FollowedEvent]:
    """Events with ``first <= id <= last`` (a primary key range), in id order."""

    def work(db: peewee.Database) -> list[tuple[object, ...]]:
        query = Event.select(*_FIELDS).where((Event.id >= first) & (Event.id <= last)).order_by(Event.id)
        rows: list[tuple[object, ...]] = list(query.tuples().bind(db))  # type: ignore[arg-type]
        return rows

    return [FollowedEvent(*row) for row in store._call(work)]  # type: ignore[arg-type]


def malformed_after(store: Store, after: int, limit: int = PAGE) -> list[FollowedMalformed]:
    def work(db: peewee.Database) -> list[tuple[object, ...]]:
        query = (
            MalformedFrame.select(
                MalformedFrame.id,
                MalformedFrame.stream,
                MalformedFrame.received_at,
                MalformedFrame.reason,
                MalformedFrame.raw,
            )
            .where(MalformedFrame.id > after)
            .order_by(MalformedFrame.id)
            .limit(limit)
        )
        rows: list[tuple[object, ...]] = list(query.tuples().bind(db))  # type: ignore[arg-type]
        return rows

    return [FollowedMalformed(*row) for row in store._call(work)]  # type: ignore[arg-type]


class Follower:
    """New events of one database, each delivered once, in id order as far
    as the writers' commits allow. Blocking: call :meth:`poll` off the event
    loop. ``after``: the id to start after (default: the highest now)."""

    def __init__(
        self,
        store: Store,
        after: int | None = None,
        *,
        settle: float = SETTLE,
        page: int = PAGE,
        pages: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.page = page
        #: at most this many pages per poll: a follower far behind catches up
        #: poll by poll (bounded memory, and its caller can stop between polls)
        self.pages = pages
        #: the last poll stopped at its page limit: poll again at once
        self.behind = False
        self.settle = settle
        self.clock = clock
        self.last = last_id(store) if after is None else after
        self.malformed_last = last_malformed_id(store)
        #: ids at or below ``last`` not seen yet, with when they were found missing
        self._holes: dict[int, float] = {}
        #: ids above ``last`` already shown some other way (a view's history), not delivered again
        self._skip: set[int] = set()
        #: rows read in total
        self.delivered = 0

    def skip(self, ids: list[int]) -> None:
        """Rows the caller has already (read with its history): never delivered."""
        self._skip.update(i for i in ids if i > self.last)

    def poll(self) -> tuple[list[FollowedEvent], list[FollowedMalformed]]:
        """The events and malformed frames stored since the last poll."""
        now = self.clock()
        found: list[FollowedEvent] = []
        if self._holes:
            # Late commits below the highest id seen: one primary key range.
            for hole, seen in list(self._holes.items()):
                if now - seen > self.settle:
                    del self._holes[hole]  # never coming: an id a rollback or a refused batch used
            if self._holes:
                late = [e for e in events_between(self.store, min(self._holes), max(self._holes)) if e.id in self._holes]
                for event in late:
                    del self._holes[event.id]
                found.extend(late)
        self.behind = True
        for _ in range(self.pages):
            rows = events_after(self.store, self.last, self.page)
            for row in rows:
                for missing in range(self.last + 1, row.id):
                    self._holes[missing] = now
                self.last = row.id
            found.extend(rows)
            if len(rows) < self.page:
                self.behind = False
                break
        if self._skip:
            found = [e for e in found if e.id not in self._skip]
            self._skip = {i for i in self._skip if i > self.last}
        if len(self._holes) > 100_000:  # a huge refused batch: keep the newest
            for hole in sorted(self._holes)[: len(self._holes) - 100_000]:
                del self._holes[hole]
        bad = malformed_after(self.store, self.malformed_last, self.page)
        if bad:
            self.malformed_last = bad[-1].id
        self.delivered += len(found) + len(bad)
        return found, bad
