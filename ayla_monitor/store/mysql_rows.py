"""Multi-row ``INSERT`` text for MySQL, written without PyMySQL's escaping.

PyMySQL's ``executemany`` escapes every value through a generic, per-type
dispatch (``connection.escape`` -> ``escape_item`` -> ``escape_string``):
in the writer process that was about 60 % of its CPU per event on MariaDB,
and the writer waits for the server between batches, so that CPU and the
server's own run one after the other (``benchmarks/ingest.py`` says how
much). The writer's rows hold only ``str``, ``int``, ``float`` and
``None``, and its session runs with ``NO_BACKSLASH_ESCAPES`` (where a
quote doubled is the only escape a text needs, as PyMySQL itself does in
that mode), so a row's literal is one short loop.

Each statement is written on another thread while the one before runs
(:func:`execute_inserts`): the driver waits for the server without holding
the GIL, so the text and the server's work overlap.

The text is what PyMySQL would send, value for value (the tests compare
them); statements are cut at PyMySQL's own length (``max_stmt_length``),
well under the server's ``max_allowed_packet``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from typing import Any

__all__ = ["insert_statements", "execute_inserts", "MAX_STATEMENT"]

#: characters per statement (PyMySQL's ``Cursor.max_stmt_length``)
MAX_STATEMENT = 1024000


def _float(value: float) -> str:
    text = repr(value)
    if text in ("inf", "-inf", "nan"):
        raise ValueError(f"{text} cannot be stored in MySQL")
    # an exponent makes MySQL read a DOUBLE, not a DECIMAL (as PyMySQL does)
    return text if "e" in text else text + "e0"


def _values(row: Sequence[Any]) -> str:
    parts = []
    for value in row:
        kind = value.__class__
        if kind is str:
            parts.append("'" + value.replace("'", "''") + "'")
        elif value is None:
            parts.append("NULL")
        elif kind is int:
            parts.append(str(value))
        elif kind is float:
            parts.append(_float(value))
        else:
            raise TypeError(f"a row holds a {kind.__name__}: {value!r}")
    return "(" + ",".join(parts) + ")"


def insert_statements(head: str, rows: Sequence[Sequence[Any]]) -> Iterator[str]:
    """``head`` (``INSERT INTO t (a, b) VALUES``) followed by the rows'
    literals, in statements of at most :data:`MAX_STATEMENT` characters
    (a single longer row goes alone)."""
    size = len(head)
    batch: list[str] = []
    for row in rows:
        text = _values(row)
        if batch and size + len(text) + 1 > MAX_STATEMENT:
            yield head + ",".join(batch)
            batch, size = [], len(head)
        batch.append(text)
        size += len(text) + 1
    if batch:
        yield head + ",".join(batch)


def execute_inserts(cursor: Any, head: str, rows: Sequence[Sequence[Any]], ahead: Executor) -> None:
    """Run :func:`insert_statements` on ``cursor``, each statement written
    on ``ahead`` (one thread) while the one before runs."""
    statements = insert_statements(head, rows)
    pending = ahead.submit(next, statements, None)
    while (statement := pending.result()) is not None:
        pending = ahead.submit(next, statements, None)
        cursor.execute(statement)
