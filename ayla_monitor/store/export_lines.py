"""JSON lines made by SQLite: each row's whole JSON line comes out of the
query as bytes, so that Python only joins and writes them.

Shaping a row in Python (a tuple of 16 driver objects, a dict, ``orjson``)
cost more than reading it; SQLite's ``json_object``, ``printf`` and
``datetime`` do the same work in C: instructions per row (callgrind,
40,000 rows of a big database) 56.7k -> 41.1k, CPU seconds 20 % fewer
(``benchmarks/big_database.py``). CSV lines are put together in Python
(``export._csv_lines``): made here (``printf``, a quoting ``CASE`` per
field) they took 32 % fewer instructions than the ``csv`` module and no
less CPU time. (A thread reading the next chunk while
the last one is written gained nothing: nearly all the work is in the query.)

A line is made here only where it is what :mod:`ayla_monitor.store.export`'s
Python writer would write, byte for byte; the query gives ``NULL``
instead, and those rows are written by the Python writer, when:

- a column whose declared type does not make it text (an adopted table's)
  holds a real number or a blob (``json_object`` writes reals its own way);
  in a text column SQLite keeps only text (a number is stored as its
  text), or a blob, which no writer of this app stores;
- the receive time is before 1970 or past the year 9999 (``datetime``'s way);
- the stored event is not one ``{...}`` text.

A line break in a stored event shows in the line itself, so the caller
checks each chunk (:func:`needs_python`): everywhere else a ``\\n`` or ``\\r``
is written escaped. What is left matches ``orjson``: ``json_quote`` escapes
every ASCII character as it does (tests/store/test_export.py), and the
event, joined with ``||``, may hold a NUL (``printf`` would end it there).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import peewee
from peewee import SQL, Case, Node, NodeList, Value

from ayla_monitor.store.models import Event, Stream
from ayla_monitor.store.records import EXPORT_COLUMNS, STORED_COLUMNS

__all__ = ["line_expression", "needs_python"]

#: 9999-12-31T23:59:59, as in ``export.iso_received``: past it, datetime's way.
_LAST_SECOND = 253_402_300_799
#: the columns between seq and received_at: text
_TEXTS = tuple(Event._meta.columns[c.db] for c in STORED_COLUMNS[3:13])


def _sql(template: str, *nodes: Any) -> Node:
    """``template`` with each ``{}`` replaced by the next of ``nodes``, in parentheses."""
    texts = template.split("{}")
    assert len(texts) == len(nodes) + 1, template
    parts: list[Any] = [SQL(texts[0])]
    for node, text in zip(nodes, texts[1:], strict=True):
        parts += [node, SQL(text)]
    return NodeList(parts, glue="", parens=True)


def _affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (sqlite.org/datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "integer"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if not upper or "BLOB" in upper:
        return "blob"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def _guards(db: peewee.Database) -> list[Node]:
    """What a row must be for SQLite's line to be the Python writer's."""
    declared = {c.name: c.data_type for c in db.get_columns(Event._meta.table_name)}
    guards = [_sql("{} IS NULL OR {} >= 0 AND {} < " + str(_LAST_SECOND), *[Event.received_at] * 3)]
    guards += [_sql("typeof({}) IN ('text', 'integer', 'null')", c) for c in (Event.seq, *_TEXTS, Event.note)
               if _affinity(declared.get(c.column_name, "")) != "text"]
    guards.append(_sql("{} IS NULL OR typeof({}) = 'text' AND {} LIKE '{%}'", *[Event.raw] * 3))
    return guards


def _stream_name(names: dict[int, str]) -> Node:
    """The stream's name: the few streams as constants (a lookup per row
    cost three times as much), or looked up where there are many."""
    if not names:
        return SQL("NULL")
    if len(names) <= 32:
        return Case(Event.stream, [(i, Value(n)) for i, n in names.items()], None)
    return Stream.select(Stream.name).where(Stream.id == Event.stream)


def _fields(names: dict[int, str]) -> list[tuple[str, Node]]:
    """(name, expression) of each exported column before ``received_at``, in EXPORT_COLUMNS order."""
    fields = [("id", Event.id), ("stream", _stream_name(names)), ("seq", Event.seq)]
    fields += [(c.name, c) for c in _TEXTS]
    assert (*(name for name, _ in fields), "received_at", "note") == EXPORT_COLUMNS
    return fields


def _millis(column: Any = Event.received_at) -> Node:
    """``column`` (epoch seconds, 0 or more) in whole milliseconds as
    ``iso_received`` counts them: it rounds to the microsecond half to even,
    then cuts to the millisecond. With x the microseconds into the second
    (exact in binary floating point, as the fraction of a second is) and
    q its whole milliseconds, rounding reaches the next millisecond when
    x >= (q + 1) * 1000 - 0.5 (at exactly that, half to even rounds up too:
    (q + 1) * 1000 is even)."""
    x = _sql("({} - CAST({} AS INTEGER)) * 1000000.0", column, column)
    q = _sql("CAST({} AS INTEGER) / 1000", x)
    return _sql("CAST({} AS INTEGER) * 1000 + {} + ({} >= ({} + 1) * 1000 - 0.5)", column, q, x, q)


def _printf(template: str, values: list[Any], end: Any) -> Node:
    return _sql("printf('" + template.replace("'", "''") + "'" + ", {}" * len(values) + ") || {}", *values, end)


def _received(template: str, null_template: str, before: list[Any], after: list[Any], end: Any) -> Node:
    """A line with its receive time as ``iso_received`` writes it: from
    ``template`` (``%s.%03dZ`` where it goes), or ``null_template`` when
    there is none, then ``end`` (joined, not through ``printf``: it may hold a NUL)."""
    millis = _millis()
    clock = _sql("replace(datetime({} / 1000, 'unixepoch'), ' ', 'T')", millis)
    return _sql("CASE WHEN {} IS NULL THEN {} ELSE {} END", Event.received_at,
                _printf(null_template, [*before, *after], end),
                _printf(template, [*before, clock, _sql("{} % 1000", millis), *after], end))


def _json_line(names: dict[int, str]) -> Node:
    pairs: list[Any] = []
    for name, value in _fields(names):
        pairs += [SQL(f"'{name}'"), value]
    # the last value ends in '"', a digit or "null": only the object's "}" is trimmed
    head = _sql("rtrim(json_object(" + ", ".join(["{}"] * len(pairs)) + "), '}')", *pairs)
    note = [_sql("json_quote({})", Event.note)]
    event = _sql("ifnull({}, 'null') || '}' || char(10)", Event.raw)
    return _received('%s,"received_at":"%s.%03dZ","note":%s,"event":', '%s,"received_at":null,"note":%s,"event":',
                     [head], note, event)


def line_expression(db: peewee.Database, names: dict[int, str]) -> Node | None:
    """A row's whole JSON line (ending in a line break) as a blob, or
    ``NULL`` where the Python writer must make it; ``None`` if this SQLite
    has no JSON functions (built in since 3.38, an option before). ``names``:
    stream names by id."""
    try:
        db.execute_sql("SELECT json_object('a', json_quote('b'))").fetchall()
    except peewee.OperationalError:
        return None
    return _sql("CAST(CASE WHEN {} THEN {} END AS BLOB)", NodeList(_guards(db), glue=" AND "), _json_line(names))


def needs_python(lines: list[bytes], joined: bytes) -> bool:
    """Whether ``lines`` (``joined``: the same, joined) hold one that Python
    must write instead, its event holding a line break (see the module's
    docstring): a chunk is checked at once, in C loops; then each line, if
    it does."""
    if b"\r" in joined:
        return True
    # a line's only line break is its last byte
    return any(map(int.__ne__, map(len, lines), map((1).__add__, map(bytes.find, lines, repeat(b"\n")))))
