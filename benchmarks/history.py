"""History and chart queries on a one-million-event database, SQLite and MariaDB.

    .venv/bin/python benchmarks/history.py [EVENTS] [--reuse]

Builds the database from the simulator (Fleet -> dss.wire -> parse_frame ->
rows.build_rows -> executemany, with every index in place, as the writer
writes), event times spread over eight days, then times what the window
runs: the history browser's first page for each kind of filter, a later
page, the count, and the device view's loads (one property over a week, the
connectivity timeline, the property list). Each figure is the median of 5
runs after one warm-up run (the first run is printed too).

MariaDB: ``AYLA_BENCH_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/ayla_bench``;
the database is created if missing and its project tables are replaced).
Set it to ``-`` to skip MariaDB. ``--reuse`` keeps a database that already
holds the events (to re-time the queries only).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee

from ayla_monitor.dss import wire
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store, open_connected
from ayla_monitor.store.history import (
    connectivity_spans,
    count_history,
    history_page,
    property_series,
)
from ayla_monitor.store.models import MODELS
from ayla_monitor.store.rows import EVENT_COLUMNS, build_rows
from ayla_monitor.store.writer_process import insert_sql

DEVICES = 200
DAYS = 8
CHUNK = 5000
PAGE = 500  # the history browser's later pages
FIRST_PAGE = 100  # its first page (ui/history.py FIRST_PAGE_SIZE)
END = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the newest event
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/ayla_bench"


def build(url: str, count: int) -> float:
    """A fresh database with ``count`` simulated events; returns seconds taken."""
    started = time.perf_counter()
    database = open_connected(url)
    for model in reversed(MODELS):
        database.execute_sql(f"DROP TABLE IF EXISTS {model._meta.table_name}")
    database.close()
    with Store.open(url) as store:
        stream_id = store.ensure_stream("bench", "ws://127.0.0.1/stream", "bench-history", None).id
    database = open_connected(url, bulk=True)
    mysql = isinstance(database, peewee.MySQLDatabase)
    sql = insert_sql(mysql, "events", EVENT_COLUMNS)
    fleet = Fleet(DEVICES, seed=7)
    start = END - DAYS * 86_400
    step = DAYS * 86_400 / count
    seq = 0
    while seq < count:
        frames = []
        for _ in range(min(CHUNK, count - seq)):
            seq += 1
            now = start + seq * step
            text = wire.unsequenced_text(fleet.next_event(now))
            frames.append(parse_frame(wire.sequenced_frame(text, seq), now))
        rows: list[Any] = []
        build_rows(stream_id, 0, frames, rows, [], [])
        with database.atomic():
            database.cursor().executemany(sql, rows)
        if seq % 100_000 == 0:
            print(f"  {seq:,} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if mysql:
        database.execute_sql("ANALYZE TABLE events")
    else:
        database.execute_sql("ANALYZE")
    database.close()
    return time.perf_counter() - started


def timed(work: Callable[[], Any], runs: int = 5) -> tuple[float, float, Any]:
    """(first run, median of the next ``runs``) in milliseconds, and the last result."""
    t = time.perf_counter()
    result = work()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times), result


def queries(store: Store) -> list[tuple[str, Callable[[], Any], Callable[[Any], str]]]:
    """What the window runs, with a one-line description of each result."""
    devices = device_properties_probe(store)
    dsn, prop = devices
    week = (END - 7 * 86_400, END + 1)
    day = END - 86_400

    def page(query: EventFilter) -> Callable[[], Any]:
        return lambda: history_page(store, query, None, FIRST_PAGE)

    def later_page(query: EventFilter, number: int) -> Callable[[], Any]:
        first = history_page(store, query, None, FIRST_PAGE)
        cursor = first.next
        for _ in range(number - 2):
            assert cursor is not None
            cursor = history_page(store, query, cursor, PAGE).next
        return lambda: history_page(store, query, cursor, PAGE)

    rows = lambda page: f"{len(page.events)} rows"  # noqa: E731
    return [
        ("history: last day, newest first", page(EventFilter(descending=True, since=day)), rows),
        ("history: all time, newest first", page(EventFilter(descending=True)), rows),
        ("history: all time, oldest first", page(EventFilter(descending=False)), rows),
        ("history: one device (DSN)", page(EventFilter(descending=True, dsns=(dsn,))), rows),
        ("history: type connectivity, last week", page(EventFilter(descending=True, since=week[0], event_types=("connectivity",))),
         rows),
        ("history: property (substring)", page(EventFilter(descending=True, property_like=prop[:5])), rows),
        ("history: device + property + last day", page(EventFilter(descending=True, since=day, dsns=(dsn,), property_like=prop)),
         rows),
        ("history: text 'boost'", page(EventFilter(descending=True, text="boost")), rows),
        ("history: text, rare ('pipe |z')", page(EventFilter(descending=True, text="pipe |z")), rows),
        ("history: page 20 (keyset)", later_page(EventFilter(descending=True), 20), rows),
        ("count: all events", lambda: count_history(store, EventFilter(descending=True)), lambda n: f"{n:,} events"),
        ("count: one device", lambda: count_history(store, EventFilter(descending=True, dsns=(dsn,))), lambda n: f"{n:,} events"),
        ("chart: one property over a week", lambda: property_series(store, dsn, [prop], *week),
         lambda s: f"{len(s[prop].times):,} points, {s[prop].skipped} skipped"),
        ("chart: connectivity timeline, a week", lambda: connectivity_spans(store, dsn, *week),
         lambda spans: f"{len(spans)} spans"),
        ("device view: property list", lambda: store.device_states(dsn=dsn),
         lambda states: f"{sum(len(s.properties) for s in states)} properties"),
    ]


def device_properties_probe(store: Store) -> tuple[str, str]:
    """A thermostat and its temperature (a decimal, sometimes sent as text)."""
    fleet = Fleet(DEVICES, seed=7)
    device = next(d for d in fleet.devices if d.model.oem_model == "thermostat")
    return device.dsn, "temperature"


def report(name: str, url: str, count: int, reuse: bool) -> list[str]:
    lines = []
    have = 0
    if reuse:
        try:
            with Store.open(url) as store:
                have = store.count_events()
        except Exception:  # noqa: BLE001 - a missing database is simply rebuilt
            have = 0
    if have >= count:
        lines.append(f"{name}: reusing {have:,} events")
    else:
        print(f"Building {count:,} events on {name}…", file=sys.stderr)
        seconds = build(url, count)
        lines.append(f"{name}: built {count:,} events in {seconds:.0f} s ({count / seconds:,.0f} events/s)")
    with Store.open(url) as store:
        size = store.size_bytes()
        if size:
            lines.append(f"  database size {size / 1e6:,.0f} MB")
        lines.append(f"  {'query':44} {'first':>9} {'median':>9}  result")
        for label, work, describe in queries(store):
            first, median, result = timed(work)
            lines.append(f"  {label:44} {first:7.1f}ms {median:7.1f}ms  {describe(result)}")
    return lines


def ensure_mysql_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    server = make_database(url.rsplit("/", 1)[0] + "/mysql")
    server.connect()
    try:
        server.execute_sql(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    finally:
        server.close()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reuse = "--reuse" in sys.argv
    count = int(args[0]) if args else 1_000_000
    out: list[str] = [f"{count:,} events, {DEVICES} simulated devices over {DAYS} days; "
                      f"first page {FIRST_PAGE} rows, then pages of {PAGE}; median of 5 runs after a first one"]
    folder = Path(os.environ.get("AYLA_BENCH_DIR", tempfile.gettempdir()))
    sqlite_url = f"sqlite:///{folder / 'ayla-history-bench.sqlite'}"
    out += report("SQLite", sqlite_url, count, reuse)
    mysql_url = os.environ.get("AYLA_BENCH_MYSQL_URL", DEFAULT_MYSQL)
    if mysql_url != "-":
        ensure_mysql_database(mysql_url)
        out += report("MariaDB", mysql_url, count, reuse)
    print("\n".join(out))


if __name__ == "__main__":
    main()
