"""Following new rows by primary key (store/follow.py), on both backends: a
row committed late below the highest id seen is delivered once; a hole that
never fills is forgotten after the settle time; history ids are skipped."""

from __future__ import annotations

from pathlib import Path

from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store
from ayla_monitor.store.follow import Follower, first_id_query, first_id_since
from tests.conftest import sqlite_file


def _insert(url: str, ids: list[int], time: str = "2026-01-01T00:00:00Z") -> None:
    database = make_database(url)
    database.connect()
    mark = "%s" if url.startswith("mysql") else "?"
    try:
        for i in ids:
            database.execute_sql(
                f"INSERT INTO events (id, event_type, dsn, time, seq, epoch, raw) VALUES "
                f"({mark}, 'datapoint', 'D', {mark}, {mark}, 0, '{{}}')",
                (i, time, i),
            )
    finally:
        database.close()


def test_late_rows_are_delivered_once(db_url: str) -> None:
    clock = [0.0]
    with Store.open(db_url) as store:
        follower = Follower(store, clock=lambda: clock[0], settle=10.0, page=2)
        assert follower.last == 0
        _insert(db_url, [1, 2, 4, 6])
        events, bad = follower.poll()
        assert [e.id for e in events] == [1, 2, 4, 6] and bad == []
        _insert(db_url, [3])  # committed after 4 and 6
        clock[0] = 5.0
        assert [e.id for e in follower.poll()[0]] == [3]
        assert follower.poll()[0] == []
        clock[0] = 20.0  # 5 never came: forgotten
        assert follower.poll()[0] == []
        _insert(db_url, [5, 7, 8])
        assert [e.id for e in follower.poll()[0]] == [7, 8]  # 5 was given up on
        follower.skip([9, 10])  # read with a history
        _insert(db_url, [9, 10, 11])
        assert [e.id for e in follower.poll()[0]] == [11]
        assert first_id_since(store, "2026-01-01T00:00:00Z") == 0
        assert first_id_since(store, "2099-01-01") == 11  # nothing that late: from the newest on


def test_the_first_id_since_a_time_is_found_on_the_time_index(tmp_path: Path) -> None:
    """SQLite, given MIN(id), walks the table in id order until a time
    matches: the whole table when the time asked for is recent."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    Store.open(url).close()
    _insert(url, [1, 2, 3], time="2026-01-01T00:00:00Z")
    _insert(url, [4, 5], time="2026-01-02T00:00:00Z")
    sql, params = first_id_query("2026-01-02").bind(make_database(url)).sql()
    with sqlite_file(tmp_path / "events.sqlite") as connection:
        plan = " ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "INDEX events_time" in plan, plan
        assert connection.execute(sql, params).fetchone()[0] == 4
