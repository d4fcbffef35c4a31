"""No plain ``sqlite3`` connection is left for the garbage collector to close.

``with sqlite3.connect(...) as conn:`` commits but does not close. Python
3.13 reports such a connection as a ResourceWarning (an error in this suite)
only when the collector gets to it, in whichever later test is running then;
Python 3.11 and 3.12 say nothing. This check finds the pattern on every version.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
FOLDERS = ("ayla_monitor", "tests", "packaging", "benchmarks")


def bare_connects(source: str) -> list[int]:
    """The lines of ``with`` blocks entered directly on ``sqlite3.connect(...)``."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.With | ast.AsyncWith)
        for item in node.items
        if isinstance(item.context_expr, ast.Call) and ast.unparse(item.context_expr.func) == "sqlite3.connect"
    ]


def test_the_check_finds_a_with_block_that_leaves_the_connection_open() -> None:
    source = "import sqlite3\nwith sqlite3.connect('a') as c:\n    pass\nwith closing(sqlite3.connect('b')) as d:\n    pass\n"
    assert bare_connects(source) == [2]


def test_no_with_block_leaves_a_sqlite3_connection_open() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in bare_connects(path.read_text())
    ]
    assert found == [], "use tests.conftest.sqlite_file, or contextlib.closing outside the tests"
