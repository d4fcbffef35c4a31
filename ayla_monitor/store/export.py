"""Stored events out as CSV or JSON Lines, with as little work per row as
Python allows.

The window's export and ``ayla-monitor export`` both write through here.
Rows come from the database a chunk at a time by keyset paging on ``id``,
or on ``(time, id)`` where a time range or a type makes that an index range
(:func:`time_order`) and for the window (History's order): each chunk is one
indexed range without a sort, so the first line of a ten-million-event
export waits for one small read, and memory holds one chunk. Rows stay the
driver's tuples (no model objects, no per-row dataclass), and a JSON line
splices the event's stored JSON text as it is instead of parsing and writing
it again (that was most of the cost: 12.8k rows per CPU second before, 59k
after, ``benchmarks/export.py``). On SQLite the query itself makes each
JSON line (:mod:`~ayla_monitor.store.export_lines`), and the writer here
only the rows it leaves to it.
Stream keys are never stored, so no export holds one.

Formats (``EXPORT_COLUMNS`` in :mod:`ayla_monitor.store.records` names the
fields, in order):

- ``csv``: a header line, then one line per event (``received_at`` as ISO
  8601 UTC with milliseconds; empty for none);
- ``jsonl``: one compact JSON object per line with the same fields, plus
  ``event``: the event as received (JSON; its text when it is not JSON).
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
import peewee

from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.database import Store
from ayla_monitor.store.export_lines import line_expression, needs_python
from ayla_monitor.store.location import is_mysql_url
from ayla_monitor.store.models import Event, MalformedFrame
from ayla_monitor.store.records import EXPORT_COLUMNS, STORED_COLUMNS, stored_raw
from ayla_monitor.store.selection import event_conditions, malformed_conditions

__all__ = [
    "FORMATS",
    "MALFORMED_FIELDS",
    "ExportCancelled",
    "export_events",
    "export_malformed",
    "iso_received",
    "time_order",
]

FORMATS = ("csv", "jsonl")
MALFORMED_FIELDS = ("id", "stream", "received_at", "reason", "raw")
#: Rows read per query: each chunk is one indexed range (and lets another
#: reader of the store in between).
CHUNK = 5_000
#: The first query reads fewer, so that the first line does not wait for a
#: whole chunk to be read and written (0.4 s of 5,000 rows on a busy machine).
FIRST_CHUNK = 200

#: What a JSON line reads (STORED_COLUMNS), and a CSV row (the same without
#: ``raw``: the biggest column, and not in a CSV).
_SELECTED = tuple(Event._meta.columns[c.db] for c in STORED_COLUMNS)
_SELECTED_CSV = tuple(Event._meta.columns[c.db] if c.name in ("id", "stream", "received_at") else
                      peewee.fn.IFNULL(Event._meta.columns[c.db], "") for c in STORED_COLUMNS if c.exported)
_ID, _TIME, _RAW = ([c.name for c in STORED_COLUMNS].index(n) for n in ("id", "time", "raw"))


class ExportCancelled(Exception):
    """The user cancelled the export."""


def time_order(selected: EventFilter) -> bool:
    """Whether ``selected`` is read fastest in event-time order: a time range
    or a type is a range of the ``(time)`` or ``(event_type, time)`` index,
    already in that order. In id order the same filter made MariaDB sort
    every event of the type before the first line, and both databases walk
    the table from its first row to reach a recent time range (nearly the
    whole table for the last day). Anything else (no filter, devices, properties, text) is read
    in id order, the table's own."""
    return selected.since is not None or selected.until is not None or bool(selected.event_types)


# -- reading ----------------------------------------------------------------


def _event_chunks(
    store: Store, selected: EventFilter, by_time: bool, chunk: int, cancel: threading.Event | None,
    timeless: bool = False, fields: tuple[Any, ...] = _SELECTED, keys: tuple[int, int] = (_ID, _TIME),
) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of row tuples of ``fields`` (by default ``STORED_COLUMNS``, in
    that order; ``id`` and ``time`` at the positions ``keys``) in id order, or in
    ``(time, id)`` order with ``by_time``: rows without a time left out, as
    History does, unless ``timeless`` (then they come first, by id: the same
    index range, where a missing time sorts first)."""
    where = event_conditions(selected)
    down = selected.descending
    phases: list[tuple[list[Any], bool]] = [(where, False)]
    if by_time:
        phases = [([*where, Event.time.is_null(False)], True)]
        if timeless:
            phases.insert(len(phases) if down else 0, ([*where, Event.time.is_null()], False))
    remaining = selected.limit
    first = min(chunk, FIRST_CHUNK)
    for conditions, timed in phases:
        for rows in _phase(store, conditions, timed, down, chunk, remaining, cancel, first, fields, keys):
            first = chunk
            yield rows
            if remaining is not None:
                remaining -= len(rows)
        if remaining is not None and remaining <= 0:
            return


def _phase(
    store: Store, where: list[Any], by_time: bool, down: bool, chunk: int, remaining: int | None,
    cancel: threading.Event | None, first: int, fields: tuple[Any, ...], keys: tuple[int, int],
) -> Iterator[list[tuple[Any, ...]]]:
    order: tuple[Any, ...]
    if by_time:
        order = (Event.time.desc(), Event.id.desc()) if down else (Event.time, Event.id)
    else:
        order = (Event.id.desc(),) if down else (Event.id,)
    after: tuple[Any, ...] | None = None
    while remaining is None or remaining > 0:
        if cancel is not None and cancel.is_set():
            raise ExportCancelled
        size = first if after is None else chunk
        if remaining is not None:
            size = min(size, remaining)
        conditions = list(where)
        if after is not None:
            conditions.extend(_after(after, by_time, down))

        def work(db: peewee.Database, conditions: list[Any] = conditions, size: int = size) -> list[tuple[Any, ...]]:
            select = Event.select(*fields)
            if conditions:
                select = select.where(*conditions)
            sql, params = select.order_by(*order).limit(size).bind(db).sql()
            # The driver's cursor, not peewee's row wrapper: a tuple per row as
            # the driver made it (peewee's per-row processing cost more than the rest).
            return list(db.execute_sql(sql, params).fetchall())

        rows = store._call(work)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]
        after = (last[keys[1]] if by_time else None, last[keys[0]])
        if remaining is not None:
            remaining -= len(rows)


def _after(after: tuple[Any, ...], by_time: bool, down: bool) -> list[Any]:
    when, last_id = after
    if not by_time:
        return [Event.id < last_id if down else Event.id > last_id]
    # "after (time, id)", written so that both databases see a range on the time index.
    if down:
        return [Event.time <= when, (Event.time < when) | (Event.id < last_id)]
    return [Event.time >= when, (Event.time > when) | (Event.id > last_id)]


# -- times --------------------------------------------------------------------

_DAYS: dict[int, str] = {}
#: "HH:MM:SS." by second of the day, made when first needed (at most 86,400).
_CLOCKS: dict[int, str] = {}
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))
#: 9999-12-31T23:59:59: past it (and before 1970), datetime's own way.
_LAST_SECOND = 253_402_300_799


def iso_received(epoch: float | None) -> str | None:
    """A receive time as ``2026-11-30T08:15:00.123Z``: what
    ``datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")``
    writes (microseconds rounded half to even, then cut to milliseconds),
    put together from texts made once per day, per second of the day and per
    millisecond: the datetime way was a third of a CSV export's time (and
    formatting the numbers each time, two thirds of what was left)."""
    if epoch is None:
        return None
    if not 0 <= epoch < _LAST_SECOND:  # NaN too
        return None if math.isnan(epoch) or math.isinf(epoch) else _iso_slow(epoch)
    fraction, whole = math.modf(epoch)
    second = int(whole)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        second += 1
        micro -= 1_000_000
    day, rest = divmod(second, 86_400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    clock = _CLOCKS.get(rest)
    if clock is None:
        hour, minutes = divmod(rest, 3600)
        minute, sec = divmod(minutes, 60)
        clock = _CLOCKS[rest] = f"{hour:02d}:{minute:02d}:{sec:02d}."
    return f"{date}{clock}{_MILLIS[micro // 1000]}"


def _iso_slow(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- writing ------------------------------------------------------------------


def _text_out(out: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(out, encoding="utf-8", newline="")


def _event_json(raw: str | None) -> bytes:
    """The event as received, for the ``event`` field: the stored text as it
    is when it is one line holding one JSON object (what the recorder stores:
    a frame's text that parsed as one, which is not parsed again here: that
    check cost as much as the rest of the line); otherwise parsed and written
    again on one line, or kept as a string when it is not JSON."""
    if raw is None:
        return b"null"
    if raw[:1] == "{" and raw[-1:] == "}" and "\n" not in raw and "\r" not in raw:
        return raw.encode("utf-8", "backslashreplace")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = raw
    return _dumps_safe(value)


def _dumps_safe(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, huge integers, deep nesting
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def export_events(
    store: Store,
    selected: EventFilter,
    fmt: str,
    out: BinaryIO,
    *,
    by_time: bool | None = None,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    chunk: int = CHUNK,
) -> int:
    """Write the events ``selected`` finds to ``out`` (bytes) as ``csv`` or
    ``jsonl``; returns how many. In event-time order with ``by_time`` (rows
    without a time left out, as History does), else in id order (the order
    they were stored); newest first with ``selected.descending``. ``None``:
    the order an index serves at once (:func:`time_order`; rows without a
    time then come first, all of them kept).
    ``progress(count)`` after every chunk; ``cancel`` set stops it with
    :class:`ExportCancelled` before the next chunk."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    timeless = by_time is None
    if by_time is None:
        by_time = time_order(selected)
    names = {s.id: s.name for s in store.streams()}
    line = None if fmt == "csv" or is_mysql_url(store.url) else store._call(lambda db: line_expression(db, names))
    if line is not None:
        return _export_lines(store, selected, out, by_time, timeless, names, line, progress, cancel, chunk)
    fields = _SELECTED_CSV if fmt == "csv" else _SELECTED
    chunks = _event_chunks(store, selected, by_time, chunk, cancel, timeless, fields)
    count = 0
    if fmt == "csv":
        out.write(",".join(EXPORT_COLUMNS).encode() + b"\n")
        for rows in chunks:
            out.write(_csv_lines(rows, names).encode("utf-8"))
            count += len(rows)
            if progress is not None:
                progress(count)
        return count
    write = out.write
    for rows in chunks:
        write(b"".join([_json_line(r, names) for r in rows]))
        count += len(rows)
        if progress is not None:
            progress(count)
    return count


def _export_lines(
    store: Store, selected: EventFilter, out: BinaryIO, by_time: bool, timeless: bool, names: dict[int, str],
    line: peewee.Node, progress: Callable[[int], None] | None, cancel: threading.Event | None, chunk: int,
) -> int:
    """JSON Lines from SQLite: each row's line comes made from the query
    (:mod:`~ayla_monitor.store.export_lines`); only the rows it leaves to
    Python are read again and written by :func:`_json_line`."""
    # (line, id), and the time to page on where the order is by time
    fields = (line, Event.id, *([Event.time] if by_time else []))
    count = 0
    for rows in _event_chunks(store, selected, by_time, chunk, cancel, timeless, fields, keys=(1, 2)):
        lines = [r[0] for r in rows]
        data = None if None in lines else b"".join(lines)
        if data is None or needs_python(lines, data):
            data = _with_python_lines(store, lines, [r[1] for r in rows], names)
        out.write(data)
        count += len(rows)
        if progress is not None:
            progress(count)
    return count


def _with_python_lines(store: Store, lines: list[bytes | None], ids: list[int], names: dict[int, str]) -> bytes:
    """``lines`` with those SQLite left to Python (``None``, or
    :func:`needs_python`) made by :func:`_json_line`."""
    redo = {i for i, line in zip(ids, lines, strict=True) if line is None or needs_python([line], line)}

    def work(db: peewee.Database) -> list[tuple[Any, ...]]:
        sql, params = Event.select(*_SELECTED).where(Event.id.in_(list(redo))).bind(db).sql()
        return list(db.execute_sql(sql, params).fetchall())

    made = {row[_ID]: _json_line(row, names) for row in store._call(work)}
    # a row gone since (deleted by retention) is left out, as a later read would
    return b"".join([made.get(i, b"") if i in redo else line or b"" for i, line in zip(ids, lines, strict=True)])


# The two writers below take a row by position: a JSON line's in STORED_COLUMNS
# order (raw is r[13]), a CSV row's in EXPORT_COLUMNS order (the same without
# raw); tests/store/test_export.py checks that these are the orders.


def _csv_lines(rows: list[tuple[Any, ...]], names: dict[int, str]) -> str:
    """CSV lines of ``rows`` (``None`` read as ``""``): put together by hand
    where no field needs quoting (14 commas, no quote, no line break: then
    each field is its ``str``, as the csv module writes it), else by the csv
    module."""
    iso = iso_received
    lines = [f"{r[0]},{names.get(r[1]) or ''},{r[2]},{r[3]},{r[4]},{r[5]},{r[6]},{r[7]},{r[8]},{r[9]},{r[10]},"
             f"{r[11]},{r[12]},{iso(r[13]) or ''},{r[14]}\n" for r in rows]
    text = "".join(lines)
    if text.count(",") == 14 * len(rows) and '"' not in text and "\r" not in text and text.count("\n") == len(rows):
        return text
    quoted = io.StringIO()
    writer = csv.writer(quoted, lineterminator="\n")
    for r, line in zip(rows, lines, strict=True):
        if line.count(",") == 14 and '"' not in line and "\r" not in line and line.find("\n") == len(line) - 1:
            quoted.write(line)
        else:
            writer.writerow(_csv_row(r, names))
    return quoted.getvalue()


def _csv_row(r: tuple[Any, ...], names: dict[int, str]) -> tuple[Any, ...]:
    return (r[0], names.get(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
            iso_received(r[13]), r[14])


def _json_line(r: tuple[Any, ...], names: dict[int, str]) -> bytes:
    head = {
        "id": r[0], "stream": names.get(r[1]), "seq": r[2], "event_type": r[3], "oem_id": r[4],
        "oem_model": r[5], "dsn": r[6], "time": r[7], "user_uuid": r[8], "property_name": r[9],
        "base_type": r[10], "display_name": r[11], "value": r[12], "received_at": iso_received(r[14]),
        "note": r[15],
    }
    try:
        text = orjson.dumps(head)
    except (TypeError, orjson.JSONEncodeError):
        text = _dumps_safe(head)
    return b"".join((text[:-1], b',"event":', _event_json(stored_raw(r[_RAW])), b"}\n"))


def export_malformed(
    store: Store,
    selected: EventFilter,
    fmt: str,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    chunk: int = CHUNK,
) -> int:
    """Write the kept bad frames (of ``selected``'s streams, with its text):
    when, from which stream, why, and the frame as received; in id order."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    names = {s.id: s.name for s in store.streams()}
    where = malformed_conditions(selected)
    fields = (MalformedFrame.id, MalformedFrame.stream, MalformedFrame.received_at, MalformedFrame.reason,
              MalformedFrame.raw)
    text = _text_out(out) if fmt == "csv" else None
    writer = csv.writer(text, lineterminator="\n") if text is not None else None
    if writer is not None:
        writer.writerow(MALFORMED_FIELDS)
    count, last = 0, 0
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled

            def work(db: peewee.Database, last: int = last) -> list[tuple[Any, ...]]:
                select = MalformedFrame.select(*fields).where(MalformedFrame.id > last, *where)
                sql, params = select.order_by(MalformedFrame.id).limit(chunk).bind(db).sql()
                return list(db.execute_sql(sql, params).fetchall())

            rows = store._call(work)
            shaped = [(r[0], names.get(r[1]), iso_received(r[2]), r[3], stored_raw(r[4])) for r in rows]
            if writer is not None and text is not None:
                writer.writerows(shaped)
                text.flush()
            else:
                out.write(b"".join(_dumps_safe(dict(zip(MALFORMED_FIELDS, s, strict=True))) + b"\n"
                                   for s in shaped))
            count += len(rows)
            if progress is not None and rows:
                progress(count)
            if len(rows) < chunk:
                return count
            last = rows[-1][0]
    finally:
        if text is not None:
            text.detach()

