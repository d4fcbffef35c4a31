"""Export rate and first row: ``ayla-monitor export`` over a large database.

    .venv/bin/python benchmarks/export.py [EVENTS] [--reuse] [--runs N] [--filter]

Builds a database of EVENTS (default 1,000,000) simulated events through the
recorder's real writer path (Fleet -> dss.wire -> parse_frame ->
EventWriter.submit -> the writer process), event times spread over eight
days, then runs the command a user runs, in a process of its own:

- ``export --format csv|jsonl -o FILE``: rows per second (wall clock, the
  process's start included) and the exporter's CPU seconds;
- ``export --format ...`` to a pipe: seconds until its first event arrives
  (the process is then stopped).

``--filter`` adds a filtered export (one event type) to each.
Each figure is printed per run (default 3 runs). ``--compare DIR`` runs, in
turn with this checkout, the ``ayla_monitor`` found in DIR (e.g. a
``git archive`` of an earlier commit), so that both see the same load on a
shared machine; CPU seconds are the fairer figure there. SQLite in a temporary
folder (kept with ``--reuse`` in ``/tmp/ayla-export-bench``); MariaDB at
``AYLA_BENCH_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/ayla_export_bench``,
created if missing; ``-`` skips it).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import peewee

from ayla_monitor.dss import wire
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.database import Store, open_connected
from ayla_monitor.store.models import MODELS
from ayla_monitor.store.writer import EventWriter

DEVICES = 200
DAYS = 8
BATCH = 500  # frames per submit, as a busy socket read hands them over
END = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the newest event
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/ayla_export_bench"
SQLITE_DIR = Path("/tmp/ayla-export-bench")


def _drop(url: str) -> None:
    database = open_connected(url)
    for model in reversed(MODELS):
        database.execute_sql(f"DROP TABLE IF EXISTS {model._meta.table_name}")
    database.close()


def _stored(url: str) -> int:
    database = open_connected(url)
    try:
        row = database.execute_sql("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0]) if row else 0
    finally:
        database.close()


def build(url: str, count: int) -> float:
    """A fresh database with ``count`` events written by an EventWriter; seconds taken."""
    started = time.perf_counter()
    _drop(url)
    with Store.open(url) as store:
        stream_id = store.ensure_stream("bench", "ws://127.0.0.1/stream", "bench-export", None).id
    writer = EventWriter(url)
    writer.start()
    fleet = Fleet(DEVICES, seed=7)
    start = END - DAYS * 86_400
    step = DAYS * 86_400 / count
    seq = 0
    try:
        while seq < count:
            frames = []
            for _ in range(min(BATCH, count - seq)):
                seq += 1
                now = start + seq * step
                text = wire.unsequenced_text(fleet.next_event(now))
                frames.append(parse_frame(wire.sequenced_frame(text, seq), now))
            while not writer.submit(stream_id, frames):
                writer.flush(timeout=60)  # backpressure: wait until the writer has room
            if seq % 100_000 == 0:
                print(f"  {seq:,} events ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        if not writer.flush(timeout=600):
            raise SystemExit(f"the writer did not store everything: {writer.error}")
    finally:
        writer.close()
    database = open_connected(url)
    database.execute_sql("ANALYZE TABLE events" if isinstance(database, peewee.MySQLDatabase) else "ANALYZE")
    database.close()
    return time.perf_counter() - started


def _command(url: str, fmt: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "ayla_monitor", "export", "--db", url, "--format", fmt, *extra]


ROOT = Path(__file__).resolve().parent.parent


def _env(code: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = code
    return env


def _cwd(code: str | None) -> str:
    # ``python -m`` puts the working folder first on sys.path: run in the code's own.
    return code if code is not None else str(ROOT)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def export_to_file(url: str, fmt: str, extra: list[str], out: Path, code: str | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, bytes) of one export into ``out``."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(_command(url, fmt, [*extra, "-o", str(out)]), capture_output=True, text=True,
                          env=_env(code), cwd=_cwd(code))
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export failed ({done.returncode}): {done.stderr.strip()}")
    return wall, _children_cpu() - cpu, out.stat().st_size


def first_row(url: str, fmt: str, extra: list[str], code: str | None) -> float:
    """Seconds from starting the command until its first event arrives on a
    pipe (a CSV's header comes before any reading: its first row is asked for)."""
    started = time.perf_counter()
    process = subprocess.Popen(_command(url, fmt, extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=_env(code), cwd=_cwd(code))
    assert process.stdout is not None
    data = process.stdout.readline()
    if fmt == "csv":
        data = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.kill()
    process.wait()
    if not data:
        raise SystemExit("the export wrote nothing")
    return elapsed


def bench(name: str, url: str, count: int, runs: int, with_filter: bool, folder: Path,
          compare: str | None) -> None:
    cases: list[tuple[str, list[str], int]] = [("all", [], count)]
    if with_filter:
        database = open_connected(url)
        row = database.execute_sql("SELECT COUNT(*) FROM events WHERE event_type = 'connectivity'").fetchone()
        database.close()
        cases.append(("--type connectivity", ["--type", "connectivity"], int(row[0])))
    codes: list[tuple[str, str | None]] = [("now", None)]
    if compare is not None:
        codes.insert(0, ("before", compare))
    for fmt in ("csv", "jsonl"):
        for label, extra, rows in cases:
            for run in range(runs):
                for which, code in codes:
                    out = folder / f"export-bench.{fmt}"
                    wall, cpu, size = export_to_file(url, fmt, extra, out, code)
                    out.unlink()
                    print(f"{name:8} {which:6} {fmt:5} {label:20} run {run + 1}: {rows:,} rows in {wall:.2f} s = "
                          f"{rows / wall:,.0f} rows/s; {cpu:.2f} CPU s = {rows / cpu:,.0f} rows per CPU s; "
                          f"{size / 2**20:,.0f} MB ({size / 2**20 / wall:,.0f} MB/s)", flush=True)
            for which, code in codes:
                firsts = [first_row(url, fmt, extra, code) for _ in range(runs)]
                print(f"{name:8} {which:6} {fmt:5} {label:20} first row: " + ", ".join(f"{t:.2f} s" for t in firsts),
                      flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the events")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--filter", action="store_true", help="also a filtered export (--type connectivity)")
    parser.add_argument("--compare", metavar="DIR", help="also run the ayla_monitor in DIR, in turn")
    parser.add_argument("--only", choices=("sqlite", "mariadb"), help="one database only")
    args = parser.parse_args()
    SQLITE_DIR.mkdir(exist_ok=True)
    targets = [] if args.only == "mariadb" else [("SQLite", f"sqlite:///{SQLITE_DIR}/export-{args.events}.sqlite")]
    mysql = os.environ.get("AYLA_BENCH_MYSQL_URL", DEFAULT_MYSQL)
    if mysql != "-" and args.only != "sqlite":
        admin = peewee.MySQLDatabase(None, host="127.0.0.1", user="root")
        name = mysql.rsplit("/", 1)[-1]
        admin.init("mysql", host="127.0.0.1", user="root", port=3306)
        admin.connect()
        admin.execute_sql(f"CREATE DATABASE IF NOT EXISTS `{name}`")
        admin.close()
        targets.append(("MariaDB", mysql))
    for name, url in targets:
        stored = _stored(url) if args.reuse else -1
        if stored != args.events:
            seconds = build(url, args.events)
            print(f"{name}: built {args.events:,} events in {seconds:.0f} s "
                  f"({args.events / seconds:,.0f} events/s)", flush=True)
        bench(name, url, args.events, args.runs, args.filter, SQLITE_DIR, args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
