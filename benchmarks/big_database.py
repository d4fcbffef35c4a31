"""Ten million events, ten thousand devices: build a big database honestly,
then time what a user meets on it (issue 11).

    .venv/bin/python benchmarks/big_database.py build --db URL [--events 10000000] [--devices 10000]
    .venv/bin/python benchmarks/big_database.py measure --db URL [--runs 3] [--export]

``build`` goes the way a recorder stores: the simulator's fleet makes each
event, it is framed and read back by the recorder's parser (``parse_frame_lean``), and
the real :class:`~ayla_monitor.store.writer.EventWriter` turns it into rows
in this process and stores them in its own process (plain INSERTs, the
latest-state upsert, every index in place), in batches of 5,000. Event
times are spread evenly over the last 30 days. It prints its rate as it goes.

``measure`` prints, each the median of ``--runs`` (the first run too):

- window ready: a fresh process opens the window on the database
  (offscreen, its garbage collection as ``run_gui`` sets it) until the
  tiles and the log are filled (``run_app``'s ``on_ready``), from the
  process start, beside the same on an empty database; and until every
  tile's properties are in (they are read after ``ready``);
- the window's start query alone (device overview, latest events, streams,
  size), and the devices' properties read after it;
- count of all events (what an exact count costs) and the estimate shown instead;
- history pages (first page newest first, one device);
- bytes per event on disk (data and indexes);
- with ``--export``: ``ayla-monitor export`` of every event as JSON Lines and
  as CSV (rows per second, wall clock from the command's start) and the
  seconds until its first line reaches a pipe.

MySQL/MariaDB URLs work for both (the database must exist).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAYS = 30
BATCH = 5_000


def _device_index(database: Any) -> tuple[str, str]:
    """The per-device index of ``events``: its name and the SQL that makes it."""
    for index in database.get_indexes("events"):
        if index.columns[:1] == ["dsn"]:
            cols = ", ".join(f"`{c}`" if "mysql" in type(database).__name__.lower() else f'"{c}"'
                             for c in index.columns)
            return index.name, index.sql or f"CREATE INDEX `{index.name}` ON `events` ({cols})"
    raise SystemExit("events has no per-device index")


def build(url: str, events: int, devices: int, batch: int = BATCH, index_after: bool = False) -> None:
    from ayla_monitor.dss import wire
    from ayla_monitor.dss.frames import parse_frame_lean
    from ayla_monitor.simulator.fleet import Fleet
    from ayla_monitor.store.database import Store, open_connected
    from ayla_monitor.store.location import is_mysql_url
    from ayla_monitor.store.writer import EventWriter

    with Store.open(url) as store:
        stream_id = store.ensure_stream("big", "ws://127.0.0.1/stream", f"big-{time.time()}", None).id
    if index_after:
        database = open_connected(url)
        index_name, index_sql = _device_index(database)
        database.execute_sql(f"DROP INDEX `{index_name}` ON `events`" if is_mysql_url(url)
                             else f'DROP INDEX "{index_name}"')
        database.close()
    writer = EventWriter(url, max_pending=4 * batch, batch_rows=batch)
    writer.start()
    fleet = Fleet(devices, seed=11)
    end = time.time()
    step = DAYS * 86_400 / events
    start = end - DAYS * 86_400
    started = time.perf_counter()
    seq = 0
    while seq < events:
        frames = []
        for _ in range(min(batch, events - seq)):
            seq += 1
            now = start + seq * step
            text = wire.unsequenced_text(fleet.next_event(now))
            frames.append(parse_frame_lean(wire.sequenced_frame(text, seq), now))
        while not writer.submit(stream_id, frames):
            writer.flush(timeout=0.05)
        if seq % 500_000 < batch:
            took = time.perf_counter() - started
            print(f"  {seq:,} events in {took:,.0f} s ({seq / took:,.0f}/s)", file=sys.stderr, flush=True)
    if not writer.flush(timeout=3600):
        raise SystemExit(f"the writer did not finish: {writer.error}")
    error = writer.close()
    if error:
        raise SystemExit(f"the writer failed: {error}")
    took = time.perf_counter() - started
    print(f"built {events:,} events of {devices:,} devices in {took:,.0f} s ({events / took:,.0f} events/s)")
    if index_after:
        started = time.perf_counter()
        database = open_connected(url)
        database.execute_sql(index_sql)
        database.close()
        print(f"built the per-device index in {time.perf_counter() - started:,.0f} s")


def _timed(work: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    t = time.perf_counter()
    result = work()
    first = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - t)
    return first, statistics.median(times), result


def window_ready(url: str) -> tuple[float, float]:
    """Seconds from a fresh process's start to the window's tiles and log
    filled (``run_app``'s ``on_ready``), and to every tile's properties in."""
    env = dict(os.environ, AYLA_BENCH_T0=repr(time.time()))
    out = subprocess.run([sys.executable, __file__, "_window", url], check=True, capture_output=True, text=True,
                         env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["ready"]), float(result["complete"])


def _child_window(url: str, started: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import PySide6.QtWidgets  # noqa: F401  (before qasync)
    import qasync
    from PySide6.QtCore import QSettings

    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.keystore import Keystore
    from ayla_monitor.ui.app import Session, prepare_application, run_app
    from ayla_monitor.ui.collector import install as collect_on_gui_thread
    from ayla_monitor.ui.settings import AppSettings

    app = prepare_application()
    tune_garbage_collector()  # as run_gui does: the window's collections, on its GUI thread
    collect_on_gui_thread(app)
    tmp = Path(tempfile.mkdtemp(prefix="ayla-big-"))
    settings = AppSettings.load(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    keystore = Keystore(fallback_path=tmp / "keys.json", use_keyring=False)
    ready: dict[str, float] = {}

    def on_ready(session: Session) -> None:
        ready["ready"] = time.time() - started
        ready["ready_cpu"] = time.process_time()  # this process's, its start included
        ready["tiles"] = session.window.tiles.model.rowCount()
        loader = getattr(session.window, "stored_properties", None)  # (the code before it: all at once)
        if loader is None or not loader.loading:
            complete(session)
        else:
            loader.finished.connect(lambda: complete(session))

    def complete(session: Session) -> None:
        ready["complete"] = time.time() - started
        ready["complete_cpu"] = time.process_time()
        session.window.close()

    qasync.run(run_app(database=url, demo=False, exit_after=600, settings=settings, keystore=keystore,
                       on_ready=on_ready))
    print(json.dumps(ready))


def export_rates(url: str, events: int) -> None:
    command = [sys.executable, "-m", "ayla_monitor", "export", "--db", url]
    for fmt in ("jsonl", "csv"):
        out = Path(tempfile.mkdtemp(prefix="ayla-big-export-")) / f"all.{fmt}"
        started = time.perf_counter()
        subprocess.run([*command, "--format", fmt, "-o", str(out)], check=True, capture_output=True)
        took = time.perf_counter() - started
        size = out.stat().st_size
        out.unlink()
        print(f"  export --format {fmt:5s} {events:,} rows in {took:,.1f} s: {events / took:,.0f} rows/s, "
              f"{size / took / 1e6:,.0f} MB/s")
        started = time.perf_counter()
        with subprocess.Popen([*command, "--format", fmt], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None
            proc.stdout.readline()
            first = time.perf_counter() - started
            proc.kill()
        print(f"  export --format {fmt:5s} first line after {first:.2f} s (process start included)")


def properties(store: Any, dsns: list[str]) -> int:
    """The properties of devices ``dsns``, read as the window reads them after its start."""
    from ayla_monitor.ui.stored_properties import CHUNK

    return sum(len(state.properties) for at in range(0, len(dsns), CHUNK)
               for state in store.device_properties(dsns[at : at + CHUNK]))


def measure(url: str, runs: int, export: bool) -> None:
    from ayla_monitor.dss.filter import EventFilter
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.history import history_page

    with Store.open(url) as store:
        events = store.count_events()
        size = store.size_bytes()
        print(f"database: {events:,} events, {size or 0:,} bytes on disk"
              + (f" ({size / events:,.0f} bytes per event with indexes)" if size and events else ""))
        dsns = [state.dsn for state in store.device_overview()]
        rows = [
            ("start query (device overview, latest events, streams, size)",
             lambda: (store.device_overview(), store.recent_events(2000), store.streams(), store.size_bytes()),
             lambda r: f"{len(r[0]):,} devices"),
            ("then the devices' properties (all, in chunks)", lambda: properties(store, dsns),
             lambda r: f"{r:,} properties"),
            ("count of all events (exact)", lambda: store.count_events(), lambda n: f"{n:,}"),
            ("history: first page, newest first",
             lambda: history_page(store, EventFilter(descending=True), None, 100), lambda p: f"{len(p.events)} rows"),
        ]
        dsn = store.device_states()[len(store.device_states()) // 2].dsn if events else None
        if dsn is not None:
            rows.append(("history: one device, newest first",
                         lambda: history_page(store, EventFilter(descending=True, dsns=(dsn,)), None, 100),
                         lambda p: f"{len(p.events)} rows"))
        for label, work, say in rows:
            first, median, result = _timed(work, runs)
            print(f"  {label:58s} first {first * 1000:8.1f} ms  median {median * 1000:8.1f} ms  ({say(result)})")
    if export:
        export_rates(url, events)
    empty = Path(tempfile.mkdtemp(prefix="ayla-empty-")) / "empty.sqlite"
    for label, target in (("window ready, empty database", f"sqlite:///{empty}"), ("window ready, this database", url)):
        times = [window_ready(target) for _ in range(runs)]
        print(f"  {label:58s} first {times[0][0] * 1000:8.0f} ms  median "
              f"{statistics.median(t[0] for t in times) * 1000:8.0f} ms  (properties in: median "
              f"{statistics.median(t[1] for t in times) * 1000:8.0f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build")
    b.add_argument("--db", required=True)
    b.add_argument("--events", type=int, default=10_000_000)
    b.add_argument("--devices", type=int, default=10_000)
    b.add_argument("--batch", type=int, default=BATCH, help="events per transaction (default %(default)s)")
    b.add_argument("--index-after", action="store_true",
                   help="drop the per-device index for the load and build it once at the end, as a bulk load does")
    m = commands.add_parser("measure")
    m.add_argument("--db", required=True)
    m.add_argument("--runs", type=int, default=3)
    m.add_argument("--export", action="store_true", help="also time exporting every event (JSON Lines, CSV)")
    args = parser.parse_args()
    print(f"big database benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if args.command == "build":
        build(args.db, args.events, args.devices, args.batch, args.index_after)
    else:
        measure(args.db, args.runs, args.export)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_window":
        _child_window(sys.argv[2], float(os.environ["AYLA_BENCH_T0"]))
        sys.exit(0)
    sys.exit(main())
