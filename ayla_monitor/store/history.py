"""What happened before now: chart series, connectivity spans, location
history and the history browser's pages, read from the stored events.

Everything here returns plain data (lists of floats, frozen dataclasses) so
that charts and tables stay thin, and the shaping (gaps where a device was
offline, booleans as steps, values that are not numbers counted and skipped)
is testable without a window. Times in: epoch seconds; the ``time`` column
holds ISO 8601 text, which sorts as time does, so ranges become text ranges
that the ``(dsn, event_type, property_name, time)`` and ``(time)`` indexes
serve. Pages use keyset paging on ``(time, id)``: the first page of a
million-row table costs what a page costs.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee
from peewee import SQL, fn

from ayla_monitor.dss.events import Location
from ayla_monitor.dss.filter import EventFilter, epoch_of, iso_of
from ayla_monitor.dss.frames import parse_event
from ayla_monitor.dss.values import as_number
from ayla_monitor.store.database import _EVENT_FIELDS, Store
from ayla_monitor.store.models import Event, MalformedFrame
from ayla_monitor.store.records import StoredEvent, StoredMalformed
from ayla_monitor.store.selection import event_conditions, malformed_conditions

__all__ = [
    "NUMERIC_TYPES",
    "PLOTTABLE_TYPES",
    "iso_of",
    "epoch_of",
    "Series",
    "Span",
    "LocationPoint",
    "Cursor",
    "HistoryPage",
    "property_series",
    "connectivity_spans",
    "location_history",
    "history_page",
    "iter_history",
    "count_history",
    "PREVIEW_CHARS",
    "read_event",
    "read_malformed",
    "build_series",
    "spans_from_changes",
    "step_points",
    "with_gaps",
    "value_at",
]

#: Base types whose values are numbers on a chart; booleans are drawn as steps.
NUMERIC_TYPES = frozenset({"integer", "decimal", "float"})
PLOTTABLE_TYPES = NUMERIC_TYPES | {"boolean"}
#: Most points one chart series reads (a week of a fast property is far below).
MAX_POINTS = 200_000
#: Most location events the device view lists.
MAX_LOCATIONS = 500

_NAN = math.nan


# -- pure shaping ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """``[start, end)`` during which a device was online (``True``), offline
    (``False``) or not known to be either (``None``)."""

    start: float
    end: float
    online: bool | None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class Series:
    """One property's values over time, ready to draw.

    ``times``/``values`` are the points as stored (NaN never appears here);
    :meth:`drawn` gives what a chart draws: booleans as steps and a NaN break
    wherever the device was offline. ``skipped`` counts values that were not
    numbers (text, empty, ``null``): they are left out, never plotted as 0.
    """

    dsn: str
    property_name: str
    base_type: str | None
    display_name: str | None = None
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    skipped: int = 0

    @property
    def boolean(self) -> bool:
        return self.base_type == "boolean"

    @property
    def label(self) -> str:
        name = self.property_name
        return name if not self.display_name or self.display_name == name else f"{name} ({self.display_name})"

    def add(self, when: float | None, value: Any) -> bool:
        """Append one value (live); ``False`` (and counted) if it is not a number."""
        number = _plot_number(self.base_type, value)
        if number is None or when is None:
            self.skipped += 1
            return False
        if self.times and when < self.times[-1]:
            # Late arrival: keep the points in time order.
            at = bisect_left(self.times, when)
            self.times.insert(at, when)
            self.values.insert(at, number)
        else:
            self.times.append(when)
            self.values.append(number)
        return True

    def drawn(self, offline: Sequence[Span] = (), until: float | None = None) -> tuple[list[float], list[float]]:
        """``(x, y)`` for a line chart: steps for booleans, NaN breaks in ``offline`` spans."""
        xs, ys = self.times, self.values
        if self.boolean:
            xs, ys = step_points(xs, ys, until)
        return with_gaps(xs, ys, offline, hold=self.boolean)


def _plot_number(base_type: str | None, value: Any) -> float | None:
    if base_type == "boolean":
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "true"):
                return 1.0
            if text in ("0", "false"):
                return 0.0
            return None
        if value is True or value is False or value in (0, 1):
            return float(value)
        return None
    return as_number(value)


def build_series(
    dsn: str,
    property_name: str,
    base_type: str | None,
    rows: Sequence[tuple[str | None, Any]],
    display_name: str | None = None,
) -> Series:
    """A :class:`Series` from ``(time text, value)`` rows in time order."""
    series = Series(dsn, property_name, base_type, display_name)
    times, values = series.times, series.values
    skipped = 0
    for when_text, value in rows:
        when = epoch_of(when_text)
        number = _plot_number(base_type, value)
        if when is None or number is None:
            skipped += 1
            continue
        times.append(when)
        values.append(number)
    series.skipped = skipped
    return series


def step_points(
    times: Sequence[float], values: Sequence[float], until: float | None = None
) -> tuple[list[float], list[float]]:
    """A value holds until the next one: ``(t0,v0),(t1,v0),(t1,v1),...``, and
    the last value holds until ``until`` when given (and later than the last point)."""
    xs: list[float] = []
    ys: list[float] = []
    previous: float | None = None
    for t, v in zip(times, values, strict=True):
        if previous is not None and v != previous:
            xs.append(t)
            ys.append(previous)
        xs.append(t)
        ys.append(v)
        previous = v
    if xs and until is not None and until > xs[-1]:
        xs.append(until)
        ys.append(ys[-1])
    return xs, ys


def with_gaps(
    xs: Sequence[float], ys: Sequence[float], offline: Sequence[Span], *, hold: bool = False
) -> tuple[list[float], list[float]]:
    """``(xs, ys)`` with a NaN point at the start of every offline span that
    falls between two points, so that a line is not drawn across it. With
    ``hold`` (steps), the value before the span is drawn up to its start."""
    out_x: list[float] = list(xs)
    out_y: list[float] = list(ys)
    breaks = [s for s in offline if s.online is False]
    if not breaks or len(out_x) < 2:
        return out_x, out_y
    inserted = 0
    for span in breaks:
        at = bisect_left(xs, span.start)
        if 0 < at < len(xs):  # points on both sides
            where = at + inserted
            if hold:
                out_x.insert(where, span.start)
                out_y.insert(where, ys[at - 1])
                where += 1
                inserted += 1
            out_x.insert(where, span.start)
            out_y.insert(where, _NAN)
            inserted += 1
    return out_x, out_y


def value_at(times: Sequence[float], values: Sequence[float], when: float) -> tuple[float, float] | None:
    """The point nearest ``when`` (for the hover readout); ``None`` if there is none."""
    if not times:
        return None
    at = bisect_left(times, when)
    best = None
    for i in (at - 1, at):
        if 0 <= i < len(times) and (best is None or abs(times[i] - when) < abs(times[best] - when)):
            best = i
    assert best is not None
    return times[best], values[best]


def spans_from_changes(
    before: bool | None, changes: Sequence[tuple[float, bool | None]], start: float, end: float
) -> list[Span]:
    """Online/offline spans over ``[start, end)`` given the state ``before`` the
    range and the ``(time, online)`` connectivity changes inside it; neighbours
    with the same state are merged."""
    spans: list[Span] = []
    state = before
    at = start
    for when, online in changes:
        when = min(max(when, start), end)
        if online == state:
            continue
        if when > at:
            spans.append(Span(at, when, state))
        at, state = when, online
    if end > at:
        spans.append(Span(at, end, state))
    merged: list[Span] = []
    for span in spans:
        if merged and merged[-1].online == span.online:
            merged[-1] = Span(merged[-1].start, span.end, span.online)
        else:
            merged.append(span)
    return merged


# -- queries --------------------------------------------------------------------


def property_series(
    store: Store,
    dsn: str,
    properties: Sequence[str],
    since: float,
    until: float,
    *,
    limit: int = MAX_POINTS,
) -> dict[str, Series]:
    """Each property's datapoints in ``[since, until)``, in time order. One
    range scan of the device/type/property/time index per property."""
    low, high = iso_of(since), iso_of(until)

    def work(db: peewee.Database) -> dict[str, Series]:
        result: dict[str, Series] = {}
        for name in properties:
            select = (
                Event.select(Event.time, Event.value, Event.base_type, Event.display_name)
                .where(
                    (Event.dsn == dsn)
                    & (Event.event_type == "datapoint")
                    & (Event.property_name == name)
                    & (Event.time >= low)
                    & (Event.time < high)
                )
                .order_by(Event.time, Event.id)
                .limit(limit)
                .tuples()
                .bind(db)
            )
            rows: list[Any] = list(select)  # tuples (peewee's stubs type the select as models)
            base_type = next((r[2] for r in reversed(rows) if r[2]), None)
            display = next((r[3] for r in reversed(rows) if r[3]), None)
            if base_type is None:
                base_type = _latest_base_type(db, dsn, name)
            result[name] = build_series(dsn, name, base_type, [(r[0], r[1]) for r in rows], display)
        return result

    return store._call(work)


def _latest_base_type(db: peewee.Database, dsn: str, name: str) -> str | None:
    row = (
        Event.select(Event.base_type)
        .where((Event.dsn == dsn) & (Event.event_type == "datapoint") & (Event.property_name == name))
        .order_by(Event.time.desc())
        .limit(1)
        .tuples()
        .bind(db)
        .first()
    )
    return row[0] if row else None


def connectivity_spans(store: Store, dsn: str, since: float, until: float) -> list[Span]:
    """The device's online/offline spans over ``[since, until)``: the state the
    last connectivity event before the range left it in, then each change."""
    low, high = iso_of(since), iso_of(until)
    where = (
        (Event.dsn == dsn)
        & (Event.event_type == "connectivity")
        & (Event.property_name.is_null())
    )

    def work(db: peewee.Database) -> tuple[Any, list[Any]]:
        before = (
            Event.select(Event.value)
            .where(where & (Event.time < low))
            .order_by(Event.time.desc(), Event.id.desc())
            .limit(1)
            .tuples()
            .bind(db)
            .first()
        )
        inside = list(
            Event.select(Event.time, Event.value)
            .where(where & (Event.time >= low) & (Event.time < high))
            .order_by(Event.time, Event.id)
            .limit(MAX_POINTS)
            .tuples()
            .bind(db)
        )
        return before, inside

    before, inside = store._call(work)
    changes: list[tuple[float, bool | None]] = []
    for when_text, status in inside:
        when = epoch_of(when_text)
        if when is not None:
            changes.append((when, _online(status)))
    return spans_from_changes(_online(before[0]) if before else None, changes, since, until)


def _online(status: str | None) -> bool | None:
    if not isinstance(status, str):
        return None
    low = status.strip().lower()
    return True if low == "online" else False if low == "offline" else None


@dataclass(frozen=True, slots=True)
class LocationPoint:
    """One location event of a device."""

    time: str | None
    lat: float | None
    long: float | None
    provider: str | None
    ip: str | None

    def map_url(self) -> str | None:
        """The position on OpenStreetMap, ``None`` without a usable position."""
        lat, lon = self.lat, self.long
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=15/{lat:.6f}/{lon:.6f}"


def location_history(
    store: Store, dsn: str, since: float | None = None, until: float | None = None, limit: int = MAX_LOCATIONS
) -> list[LocationPoint]:
    """The device's location events, newest first (at most ``limit``)."""
    where = (Event.dsn == dsn) & (Event.event_type == "location") & (Event.property_name.is_null())
    if since is not None:
        where &= Event.time >= iso_of(since)
    if until is not None:
        where &= Event.time < iso_of(until)

    def work(db: peewee.Database) -> list[Any]:
        return list(
            Event.select(Event.time, Event.raw, Event.received_at)
            .where(where)
            .order_by(Event.time.desc(), Event.id.desc())
            .limit(limit)
            .tuples()
            .bind(db)
        )

    points = []
    for when, raw, received in store._call(work):
        event = _parse(raw, received)
        if isinstance(event, Location):
            points.append(LocationPoint(when, event.lat, event.long, event.provider, event.ip))
        else:
            points.append(LocationPoint(when, None, None, None, None))
    return points


def _parse(raw: str | None, received_at: float | None) -> object:
    if not raw:
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return parse_event(obj, raw, received_at or 0.0) if isinstance(obj, dict) else None


# -- the history browser ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: after the row with this time and id."""

    time: str
    id: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    events: list[StoredEvent]
    #: ``None`` when this was the last page.
    next: Cursor | None
    #: with ``preview``: each event's ``raw`` length as stored (its ``value``
    #: and ``raw`` are then cut to ``preview`` characters); empty otherwise.
    raw_lengths: list[int] = field(default_factory=list)


#: How much of an event's value and raw JSON a page brings when asked for a
#: preview: a page of 500 events with 1 MB values would otherwise be 1 GB.
PREVIEW_CHARS = 4_000


def _char_length(db: peewee.Database, column: Any) -> Any:
    return fn.CHAR_LENGTH(column) if isinstance(db, peewee.MySQLDatabase) else fn.LENGTH(column)


def _preview_fields(db: peewee.Database, preview: int) -> tuple[Any, ...]:
    """:data:`_EVENT_FIELDS` with ``value`` and ``raw`` cut in the database, and raw's length."""
    fields: list[Any] = []
    for column in _EVENT_FIELDS:
        if column is Event.value or column is Event.raw:
            fields.append(fn.SUBSTR(column, 1, preview))
        else:
            fields.append(column)
    fields.append(_char_length(db, Event.raw))
    return tuple(fields)


def _history_conditions(query: EventFilter) -> list[peewee.Expression]:
    # Rows without a time cannot be placed on a time line (nor paged by it).
    return [*event_conditions(query), Event.time.is_null(False)]


def history_page(
    store: Store, query: EventFilter, after: Cursor | None = None, size: int = 500,
    *, preview: int | None = None,
) -> HistoryPage:
    """One page of matching events in time order (newest first if
    ``query.descending``), after ``after``. With ``preview``, long values and
    raw JSON are cut to that many characters in the database (read the whole
    event with :func:`read_event`)."""
    names = {s.id: s.name for s in store.streams()}
    where = _history_conditions(query)
    if after is not None:
        # "after (time, id)", written so that both databases see a range on the time index.
        if query.descending:
            where.append(Event.time <= after.time)
            where.append((Event.time < after.time) | (Event.id < after.id))
        else:
            where.append(Event.time >= after.time)
            where.append((Event.time > after.time) | (Event.id > after.id))

    def work(db: peewee.Database) -> list[Any]:
        key: Any = Event.time
        if query.dsns and isinstance(db, peewee.MySQLDatabase):
            # MariaDB's ORDER BY ... LIMIT shortcut walks the whole time index
            # backwards for one device's events (0.5 s on 1M rows); sorting the
            # device's few thousand rows from its own index takes milliseconds.
            key = fn.CONCAT(Event.time, "")
        order = (key.desc(), Event.id.desc()) if query.descending else (key, Event.id)
        fields = _EVENT_FIELDS if preview is None else _preview_fields(db, preview)
        select = Event.select(*fields).where(*where).order_by(*order).limit(size + 1)
        return list(select.tuples().bind(db))

    rows = store._call(work)
    more = len(rows) > size
    rows = rows[:size]
    lengths: list[int] = []
    if preview is not None:
        lengths = [int(r[-1] or 0) for r in rows]
        rows = [r[:-1] for r in rows]
    events = [StoredEvent(r[0], r[1], names.get(r[1]), *r[2:]) for r in rows]
    cursor = Cursor(events[-1].time, events[-1].id) if more and events and events[-1].time else None
    return HistoryPage(events, cursor, lengths)


def read_event(
    store: Store, *, event_id: int | None = None, stream_id: int | None = None,
    seq: int | None = None, epoch: int = 0,
) -> StoredEvent | None:
    """One whole stored event: by its row id, or by ``(stream_id, epoch, seq)``
    as the live log knows it (``None`` if it is not, or not yet, stored)."""
    if event_id is not None:
        where = [Event.id == event_id]
    elif stream_id is not None and seq is not None:
        where = [Event.stream == stream_id, Event.seq == seq]
        epoch_field = Event._meta.fields.get("epoch")
        if epoch_field is not None:
            where.append(epoch_field == epoch)
    else:
        raise ValueError("read_event needs an event id, or a stream id and a seq")
    names = {s.id: s.name for s in store.streams()}

    def work(db: peewee.Database) -> list[Any]:
        return list(Event.select(*_EVENT_FIELDS).where(*where).limit(1).tuples().bind(db))

    rows = store._call(work)
    if not rows:
        return None
    r = rows[0]
    return StoredEvent(r[0], r[1], names.get(r[1]), *r[2:])


def read_malformed(store: Store, stream_id: int | None, received_at: float) -> StoredMalformed | None:
    """One whole stored bad frame, by its stream and the time it arrived
    (``None`` if it is not, or not yet, stored)."""
    names = {s.id: s.name for s in store.streams()}
    # received_at is a double written from the same float: equal, but allow
    # for a backend that keeps fewer digits.
    near = (MalformedFrame.received_at >= received_at - 1e-3) & (MalformedFrame.received_at <= received_at + 1e-3)
    owner = MalformedFrame.stream.is_null() if stream_id is None else MalformedFrame.stream == stream_id

    def work(db: peewee.Database) -> list[Any]:
        select = MalformedFrame.select(MalformedFrame.id, MalformedFrame.stream, MalformedFrame.received_at,
                                       MalformedFrame.reason, MalformedFrame.raw).where(owner, near)
        return list(select.order_by(fn.ABS(MalformedFrame.received_at - received_at)).limit(1).tuples().bind(db))

    rows = store._call(work)
    if not rows:
        return None
    r = rows[0]
    return StoredMalformed(r[0], r[1], names.get(r[1]), r[2], r[3], r[4])


def iter_history(store: Store, query: EventFilter, chunk: int = 2000) -> Iterator[StoredEvent]:
    """Every matching event, a page at a time, in time order."""
    after: Cursor | None = None
    while True:
        page = history_page(store, query, after, chunk)
        yield from page.events
        if page.next is None:
            return
        after = page.next


def count_history(store: Store, query: EventFilter, at_most: int | None = None) -> int:
    """How many events match (run it off the UI thread); with
    ``query.malformed``, how many bad frames. With ``at_most``, counting
    stops past it: an answer of ``at_most + 1`` means "more than
    ``at_most``" (a window shows that instead of walking ten million rows,
    and counts exactly only when asked)."""
    if at_most is not None:
        model: type[Event] | type[MalformedFrame] = MalformedFrame if query.malformed else Event
        where = malformed_conditions(query) if query.malformed else _history_conditions(query)
        select = model.select(SQL("1"))
        capped = (select.where(*where) if where else select).limit(at_most + 1)
        return store._call(lambda db: int(capped.bind(db).count()))
    if query.malformed:
        where = malformed_conditions(query)

        def malformed(db: peewee.Database) -> int:
            select = MalformedFrame.select(fn.COUNT(SQL("*")))
            return int((select.where(*where) if where else select).bind(db).scalar() or 0)

        return store._call(malformed)
    where = _history_conditions(query)

    def work(db: peewee.Database) -> int:
        return int(Event.select(fn.COUNT(SQL("*"))).where(*where).bind(db).scalar() or 0)

    return store._call(work)
