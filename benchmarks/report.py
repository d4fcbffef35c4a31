"""``ayla-monitor report`` over a one-million-event database, SQLite and MariaDB.

    .venv/bin/python benchmarks/report.py [EVENTS] [--reuse]

Builds the database from the simulator's scenario fleet (200 devices, 20
events/s of simulated time: about 14 hours for a million; Fleet -> dss.wire
-> parse_frame -> rows.build_rows -> executemany, indexes in place, as the
writer writes), then runs ``ayla-monitor report --format json`` and
``--format html`` over all of it as a child process, and prints each run's
wall time, CPU time and peak RSS (its whole process: Python, peewee, the
driver, the insight and the output). Targets: under 10 s and 300 MB. The
database server's own CPU (MariaDB) is not in the child's CPU time; on
MariaDB the report's reader process is (the child reaps it, and ``wait4``
counts what a child reaped), and the peak RSS is the larger of the two
processes', not their sum.

MariaDB: ``AYLA_BENCH_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/ayla_bench_report``;
created if missing, its project tables replaced); ``-`` skips it.
``--reuse`` keeps a database that already holds the events.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import peewee

from ayla_monitor.dss import wire
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.connection import make_database
from ayla_monitor.store.database import Store, open_connected
from ayla_monitor.store.models import MODELS
from ayla_monitor.store.rows import EVENT_COLUMNS, build_rows
from ayla_monitor.store.writer_process import insert_sql

DEVICES = 200
RATE = 20.0  # events per simulated second
CHUNK = 5000
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/ayla_bench_report"


def build(url: str, count: int) -> float:
    started = time.perf_counter()
    database = open_connected(url)
    for model in reversed(MODELS):
        database.execute_sql(f"DROP TABLE IF EXISTS {model._meta.table_name}")
    database.close()
    with Store.open(url) as store:
        stream_id = store.ensure_stream("bench", "ws://127.0.0.1/stream", "bench-report", None).id
    database = open_connected(url, bulk=True)
    mysql = isinstance(database, peewee.MySQLDatabase)
    sql = insert_sql(mysql, "events", EVENT_COLUMNS)
    fleet = Fleet(DEVICES, seed=7, scenarios=True)
    seq = 0
    while seq < count:
        frames = []
        for _ in range(min(CHUNK, count - seq)):
            seq += 1
            now = START + seq / RATE
            text = wire.unsequenced_text(fleet.next_event(now))
            frames.append(parse_frame(wire.sequenced_frame(text, seq), now + 0.3))
        rows: list[Any] = []
        build_rows(stream_id, 0, frames, rows, [], [])
        with database.atomic():
            database.cursor().executemany(sql, rows)
        if seq % 200_000 == 0:
            print(f"  {seq:,} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    database.execute_sql("ANALYZE TABLE events" if mysql else "ANALYZE")
    database.close()
    return time.perf_counter() - started


def run_report(url: str, fmt: str) -> tuple[float, float, float, int]:
    """(wall seconds, the child's CPU seconds, its peak RSS in MB, output bytes)
    of one ``report`` run. On a shared machine the CPU time is the steadier figure."""
    out = Path(tempfile.gettempdir()) / f"ayla-bench-report.{fmt}"
    started = time.perf_counter()
    # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the
    # largest of all children so far)
    proc = subprocess.Popen([sys.executable, "-m", "ayla_monitor", "report", "--db", url, "--format", fmt,
                             "-o", str(out)], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"report failed: {proc.stderr.read().decode() if proc.stderr else status}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.stat().st_size


def bench(name: str, url: str, count: int, reuse: bool) -> list[str]:
    lines = []
    if not reuse:
        lines.append(f"{name}: built {count:,} events in {build(url, count):.0f} s")
    for fmt in ("json", "html", "json", "html"):
        seconds, cpu, rss, size = run_report(url, fmt)
        lines.append(f"{name}: report --format {fmt}: {seconds:.1f} s ({cpu:.1f} s CPU), peak RSS {rss:.0f} MB, "
                     f"{size / 1024:.0f} KB")
        print(lines[-1], file=sys.stderr)
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
    assert resource.getrlimit(resource.RLIMIT_AS)  # a Unix benchmark (wait4, ru_maxrss in KB)
    out = [f"{count:,} stored events of {DEVICES} simulated devices (scenarios on), the whole range"]
    folder = Path(os.environ.get("AYLA_BENCH_DIR", tempfile.gettempdir()))
    out += bench("SQLite", f"sqlite:///{folder / 'ayla-report-bench.sqlite'}", count, reuse)
    mysql_url = os.environ.get("AYLA_BENCH_MYSQL_URL", DEFAULT_MYSQL)
    if mysql_url != "-":
        ensure_mysql_database(mysql_url)
        out += bench("MariaDB", mysql_url, count, reuse)
    print("\n".join(out))


if __name__ == "__main__":
    main()
