"""Ingest benchmark: simulator burst -> recorder -> database, beside a bare client.

    .venv/bin/python benchmarks/ingest.py [--events 200000] [--mysql URL | --no-mysql]

A simulator (its own process) holds N events in its replay buffer; each
client (its own process, so that peak memory is its own) connects with
``seq_start=1&seq_end=N`` and takes them as fast as it can:

- bare:   websockets + parse_frame only (what receiving costs);
- sqlite: the recorder into a fresh SQLite file (what storing adds);
- mysql:  the recorder into MariaDB/MySQL (tables dropped first).

Prints events/s, CPU seconds and peak RSS of each, and the ratio of the
recorder's rate to the bare client's. Checks that every event was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from ayla_monitor.store.location import describe_database

#: a local simulator key, not a secret: one per run, so that a run into a
#: database recorded before (--into) is a stream of its own, not duplicates
KEY = os.environ.get("AYLA_BENCH_KEY") or secrets.token_hex(16)
os.environ["AYLA_BENCH_KEY"] = KEY  # the children's
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306/test"


def _usage() -> dict[str, float]:
    """CPU and peak memory of this process, and of its finished children (the
    recorder's database writer process)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu": own.ru_utime + own.ru_stime,
        "peak_mb": own.ru_maxrss / 1024,
        "child_cpu": kids.ru_utime + kids.ru_stime,
        "child_peak_mb": kids.ru_maxrss / 1024,
    }


# -- the child processes -------------------------------------------------------


def child_simulator(events: int, devices: int = 200, scenarios: bool = False, key: str = KEY) -> None:
    """A simulator holding ``events`` in its replay buffer (benchmarks/alerts.py
    asks for a bigger fleet with its scenarios)."""
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    async def main() -> None:
        config = SimulatorConfig(devices=devices, rate=0, keys={key: None}, replay_size=events, heartbeat=30,
                                 scenarios=scenarios)
        sim = Simulator(config)
        sim.prefill(events)
        async with sim:
            print(sim.url, flush=True)
            await asyncio.Future()

    asyncio.run(main())


def child_bare(url: str, events: int) -> None:
    from websockets.asyncio.client import connect

    from ayla_monitor.dss.events import Heartbeat, MalformedFrame
    from ayla_monitor.dss.frames import parse_frame

    async def main() -> dict[str, float]:
        started = time.perf_counter()
        count = 0
        uri = f"{url}?stream_key={KEY}&seq_start=1&seq_end={events}"
        async with connect(uri, compression=None, max_size=2**24, max_queue=4096, ping_interval=None) as ws:
            async for message in ws:
                frame = parse_frame(message, time.time())  # type: ignore[arg-type]
                if not isinstance(frame, (Heartbeat, MalformedFrame)):
                    count += 1
                    if count >= events:
                        break
        seconds = time.perf_counter() - started
        return {"events": count, "seconds": seconds}

    result = asyncio.run(main())
    print(json.dumps({**result, **_usage()}))


def child_record(url: str, events: int, database: str) -> None:
    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.dss.endpoints import ReplayWindow
    from ayla_monitor.dss.subscription import StreamDefinition
    from ayla_monitor.headless.record import record
    from ayla_monitor.store.database import Store

    definition = StreamDefinition.create(KEY, name="bench", url=url, replay=ReplayWindow(1, events))
    tune_garbage_collector()  # as `ayla-monitor record` does
    from ayla_monitor.dss.filter import EventFilter

    with Store.open(database) as store:
        before = store.count_events(EventFilter())
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        result = asyncio.run(record([definition], database, out=quiet, handle_signals=False))
    seconds = time.perf_counter() - started
    with Store.open(database) as store:
        stored = store.count_events(EventFilter()) - before
    print(
        json.dumps(
            {
                "events": stored,
                "received": sum(s.events for s in result.statuses),
                "seconds": seconds,
                **_usage(),
            }
        )
    )


# -- the driver ----------------------------------------------------------------


def _mysql_server() -> psutil.Process | None:
    """The local MariaDB/MySQL server process (its CPU is part of what storing costs)."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("mariadbd", "mysqld"):
            return process
    return None


def run_child(simulator: psutil.Process, *args: str) -> dict[str, float]:
    """Run one client; its figures, with the simulator's CPU seconds meanwhile."""
    before = sum(simulator.cpu_times()[:2])
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["sim_cpu"] = sum(simulator.cpu_times()[:2]) - before
    return result


def drop_mysql_tables(url: str) -> None:
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(url)
    conn = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
    )
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        names = [row[0] for row in cur.fetchall()]
        cur.execute("SET FOREIGN_KEY_CHECKS=0")
        for name in names:
            if name in ("events", "streams", "malformed_frames", "gaps", "device_latest", "recorders", "alerts",
                        "schema_version", "ayla_schema"):
                cur.execute(f"DROP TABLE `{name}`")
    conn.commit()
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--mysql", default=os.environ.get("AYLA_BENCH_MYSQL_URL", DEFAULT_MYSQL))
    parser.add_argument("--no-mysql", action="store_true")
    parser.add_argument("--into", action="append", default=[], metavar="URL",
                        help="also record into this existing database (kept; e.g. a big one), beside the fresh ones")
    args = parser.parse_args()
    n = args.events

    print(f"ingest benchmark: {n:,} events, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    started = time.perf_counter()
    sim = subprocess.Popen(
        [sys.executable, __file__, "_simulator", str(n)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        print(f"simulator ready with {n:,} events in {time.perf_counter() - started:.1f} s at {url}")
        rows: list[tuple[str, dict[str, float]]] = []
        simulator = psutil.Process(sim.pid)
        rows.append(("bare client (receive + parse)", run_child(simulator, "_bare", url, str(n))))
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            rows.append(("recorder -> SQLite", run_child(simulator, "_record", url, str(n), db)))
        if not args.no_mysql:
            try:
                drop_mysql_tables(args.mysql)
            except Exception as exc:  # the server may simply not be there
                print(f"MySQL/MariaDB skipped: {exc}")
            else:
                server = _mysql_server()
                before = sum(server.cpu_times()[:2]) if server is not None else 0.0
                rows.append(("recorder -> MariaDB", run_child(simulator, "_record", url, str(n), args.mysql)))
                if server is not None:
                    server_cpu = sum(server.cpu_times()[:2]) - before
                    print(f"MariaDB/MySQL server CPU during the recorder's run: {server_cpu:.2f} s "
                          f"({server_cpu / n * 1e6:.1f} us an event)")
        for into in args.into:
            rows.append((f"recorder -> {describe_database(into)[-30:]}", run_child(simulator, "_record", url, str(n), into)))
    finally:
        sim.terminate()
        sim.wait()

    bare_rate = rows[0][1]["events"] / rows[0][1]["seconds"]
    print()
    print(
        f"{'client':30} {'events':>8} {'seconds':>7} {'events/s':>9} {'vs bare':>7} "
        f"{'CPU s: client':>13} {'writer':>6} {'sim':>5} {'peak MB':>7}"
    )
    for name, r in rows:
        rate = r["events"] / r["seconds"]
        print(
            f"{name:30} {int(r['events']):>8,} {r['seconds']:>7.2f} {rate:>9,.0f} {rate / bare_rate:>7.2f} "
            f"{r['cpu']:>13.2f} {r['child_cpu']:>6.2f} {r['sim_cpu']:>5.2f} {r['peak_mb'] + r['child_peak_mb']:>7.0f}"
        )
    print("(CPU s: the client process, its database writer process, the simulator meanwhile;")
    print(" peak MB: the client's peak RSS plus its writer process's)")
    missing = [name for name, r in rows if int(r["events"]) != n]
    if missing:
        print(f"INCOMPLETE: {', '.join(missing)} did not get all {n:,} events")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        role, rest = sys.argv[1], sys.argv[2:]
        if role == "_simulator":
            child_simulator(int(rest[0]))
        elif role == "_bare":
            child_bare(rest[0], int(rest[1]))
        elif role == "_record":
            child_record(rest[0], int(rest[1]), rest[2])
        sys.exit(0)
    sys.exit(main())
