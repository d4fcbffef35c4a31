"""Rows per second into SQLite and MariaDB: executemany vs insert_many, and
the EventWriter end to end (row building included).

    .venv/bin/python benchmarks/store_insert.py [ROWS]

MariaDB: ``AYLA_BENCH_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/test``);
its project tables are dropped first. Set it to ``-`` to skip MariaDB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import peewee

from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.store.database import Store, open_connected
from ayla_monitor.store.models import MODELS, Event
from ayla_monitor.store.rows import EVENT_COLUMNS, build_rows
from ayla_monitor.store.writer import EventWriter
from ayla_monitor.store.writer_process import insert_sql

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CHUNK = 5000  # rows per transaction, as the writer batches


def make_events(count: int) -> list:
    samples = [
        parse_frame(encode_frame(json.loads((DATA / f"{name}.json").read_text())), 0.0)
        for name in ("datapoint", "datapoint", "datapoint", "connectivity", "datapointack", "location")
    ]
    now = time.time()
    return [
        dataclasses.replace(
            samples[i % len(samples)], seq=i, dsn=f"AC000W{i % 500:09d}", received_at=now + i * 1e-5
        )
        for i in range(count)
    ]


def fresh(url: str) -> None:
    database = open_connected(url)
    for model in reversed(MODELS):
        database.execute_sql(f"DROP TABLE IF EXISTS {model._meta.table_name}")
    database.close()
    with Store.open(url) as store:
        store.ensure_stream("bench", "ws://127.0.0.1/stream", "bench", "datapoint")


def bench_executemany(url: str, rows: list[tuple]) -> float:
    fresh(url)
    database = open_connected(url, bulk=True)
    mysql = isinstance(database, peewee.MySQLDatabase)
    sql = insert_sql(mysql, "events", EVENT_COLUMNS)
    start = time.perf_counter()
    for i in range(0, len(rows), CHUNK):
        with database.atomic():
            database.cursor().executemany(sql, rows[i : i + CHUNK])
    elapsed = time.perf_counter() - start
    database.close()
    return len(rows) / elapsed


def bench_insert_many(url: str, rows: list[tuple]) -> float:
    fresh(url)
    database = open_connected(url)
    fields = [Event._meta.columns[c] for c in EVENT_COLUMNS]
    per_statement = 2000  # 15 columns x 2000 < SQLite's 32766 variables
    start = time.perf_counter()
    for i in range(0, len(rows), CHUNK):
        with database.atomic():
            chunk = rows[i : i + CHUNK]
            for j in range(0, len(chunk), per_statement):
                Event.insert_many(chunk[j : j + per_statement], fields=fields).on_conflict_ignore().execute(
                    database
                )
    elapsed = time.perf_counter() - start
    database.close()
    return len(rows) / elapsed


def bench_writer(url: str, events: list) -> float:
    fresh(url)
    writer = EventWriter(url, max_pending=len(events) + 1)
    writer.start()
    start = time.perf_counter()
    for i in range(0, len(events), 100):  # the loop submits what one read produced
        writer.submit(1, events[i : i + 100])
    writer.flush(timeout=600)
    elapsed = time.perf_counter() - start
    writer.close()
    return len(events) / elapsed


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    events = make_events(count)
    rows: list[tuple] = []
    start = time.perf_counter()
    build_rows(1, 0, events, rows, [], [])
    print(f"row building: {count / (time.perf_counter() - start):,.0f} rows/s")
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("SQLite", f"sqlite:///{tmp}/bench.sqlite"))
        mysql = os.environ.get("AYLA_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
        if mysql != "-":
            targets.append(("MariaDB", mysql))
        for name, url in targets:
            for label, run, data in (
                ("executemany", bench_executemany, rows),
                ("insert_many", bench_insert_many, rows),
                ("EventWriter", bench_writer, events),
            ):
                rate = run(url, data)
                print(f"{name:8} {label:12} {count:,} rows: {rate:>10,.0f} rows/s", flush=True)
            database = open_connected(url)
            for model in reversed(MODELS):
                database.execute_sql(f"DROP TABLE IF EXISTS {model._meta.table_name}")
            database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
