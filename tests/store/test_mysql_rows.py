"""The writer's own INSERT text for MySQL: what PyMySQL would send, and what
MariaDB stores from it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ayla_monitor.store.connection import make_database
from ayla_monitor.store.mysql_rows import MAX_STATEMENT, execute_inserts, insert_statements
from tests.store.conftest import mysql_url

TRICKY = [
    "plain",
    "it's",
    "''",
    "back\\slash\\",
    "\\'",
    'double "quotes"',
    "new\nline\ttab\r",
    "nul\x00char",
    "ümlaut 漢字 🚀",
    "%s %(x)s {} ?",
    "",
    "-- comment; DROP TABLE t; '",
]


def test_statements_are_cut_at_the_length_and_keep_every_row_in_order() -> None:
    head = "INSERT INTO `t` (`a`) VALUES "
    rows = [(f"{i:06d}" + "x" * 1000,) for i in range(3000)]
    statements = list(insert_statements(head, rows))
    assert len(statements) > 1
    assert all(len(s) <= MAX_STATEMENT for s in statements)
    literals = [part for s in statements for part in s[len(head) :].split(",")]
    assert literals == [f"('{row[0]}')" for row in rows]


def test_a_row_longer_than_a_statement_goes_alone() -> None:
    head = "INSERT INTO `t` (`a`) VALUES "
    rows = [("a",), ("b" * (MAX_STATEMENT + 10),), ("c",)]
    statements = list(insert_statements(head, rows))
    assert statements == [head + "('a')", head + f"('{'b' * (MAX_STATEMENT + 10)}')", head + "('c')"]


def test_values_that_are_not_texts_numbers_or_null_are_refused() -> None:
    with pytest.raises(TypeError, match="bytes"):
        list(insert_statements("INSERT INTO t VALUES ", [(b"raw",)]))
    with pytest.raises(ValueError, match="inf"):
        list(insert_statements("INSERT INTO t VALUES ", [(float("inf"),)]))


@pytest.mark.mysql
def test_the_text_is_pymysqls_and_mariadb_stores_each_value_as_given() -> None:
    database = make_database(mysql_url(), bulk=True)  # the writer's session: NO_BACKSLASH_ESCAPES
    database.connect()
    try:
        database.execute_sql("DROP TABLE IF EXISTS mysql_rows_probe")
        database.execute_sql(
            "CREATE TABLE mysql_rows_probe (n INT PRIMARY KEY, t LONGTEXT, i BIGINT, f DOUBLE, z LONGTEXT)"
            " CHARACTER SET utf8mb4"
        )
        rows = [(n, text, -(2**40) + n, 1767225600.123456 + n, None) for n, text in enumerate(TRICKY)]
        rows.append((len(TRICKY), None, 0, 1e-7, "x"))
        head = "INSERT INTO `mysql_rows_probe` (`n`, `t`, `i`, `f`, `z`) VALUES "
        (statement,) = insert_statements(head, rows)
        cursor = database.cursor()
        theirs = head + ",".join(cursor.mogrify("(%s,%s,%s,%s,%s)", row) for row in rows)
        assert statement == theirs
        cursor.execute(statement)
        stored = database.execute_sql("SELECT n, t, i, f, z FROM mysql_rows_probe ORDER BY n").fetchall()
        assert [tuple(r) for r in stored] == rows
        # Several statements, each written on another thread while the one before runs.
        more = [(n, f"{n}'" * 4000, n, 0.5, None) for n in range(100, 400)]
        assert len(list(insert_statements(head, more))) > 2
        with ThreadPoolExecutor(1) as ahead:
            execute_inserts(cursor, head, more, ahead)
            with pytest.raises(Exception, match="Duplicate entry"):  # a failing statement is raised
                execute_inserts(cursor, head, more[:1], ahead)
        stored = database.execute_sql("SELECT n, t, i, f, z FROM mysql_rows_probe WHERE n >= 100 ORDER BY n")
        assert [tuple(r) for r in stored.fetchall()] == more
    finally:
        database.execute_sql("DROP TABLE IF EXISTS mysql_rows_probe")
        database.close()
