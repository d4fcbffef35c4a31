"""Team mode under load: two recorders into one MariaDB while windows watch it.

    .venv/bin/python benchmarks/team.py --rate 10000 --seconds 30 --windows 3
    .venv/bin/python benchmarks/team.py --explain-rows 10000000

The first form starts a simulator (two stream keys, every fleet event on
both: ``--rate`` events/s per key), two ``ayla-monitor record`` processes
(one per key) into ``--db``, and ``--windows`` offscreen windows in
``--watch`` mode (each a process of its own, like people at their desks).
It prints what each recorder received and stored, whether every event is
stored exactly once (per stream: rows = distinct seqs = last - first + 1),
each window's lag from the recorder receiving an event to the event
reaching the window's log (an upper bound of insert-to-screen: it includes
the writer's commit), and the database server's CPU over the run.

The second form fills a database of its own with N rows (MariaDB's
sequence engine, no simulator) and prints what the watch query costs there:
its plan (EXPLAIN: a range on the PRIMARY key), the rows the server read for
it (Handler_read_* counters) and its time, median of 20.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLI = [PYTHON, "-m", "ayla_monitor"]
KEYS = ("7ea47ea47ea47ea47ea47ea47ea47ea4", "5eed5eed5eed5eed5eed5eed5eed5eed")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_pid() -> int | None:
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if found:
            return int(found[0])
    return None


def _sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    from ayla_monitor.store.connection import make_database

    database = make_database(url)
    database.connect()
    try:
        return list(database.execute_sql(statement, params).fetchall())
    finally:
        database.close()


def _fresh(url: str) -> None:
    for table in ("gaps", "events", "malformed_frames", "device_latest", "schema_version", "streams", "recorders"):
        _sql(url, f"DROP TABLE IF EXISTS `{table}`")
    from ayla_monitor.store.database import Store

    Store.open(url).close()


# -- one watching window (a process of its own) ------------------------------------------


def window_main(url: str, seconds: float, out: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QSettings

    from ayla_monitor.keystore import Keystore
    from ayla_monitor.ui.app import prepare_application, run_app
    from ayla_monitor.ui.settings import AppSettings

    app = prepare_application()
    scratch = Path(tempfile.mkdtemp(prefix="team-window-"))
    settings = AppSettings.load(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    keystore = Keystore(fallback_path=scratch / "keys.json", use_keyring=False)
    lags: list[float] = []
    rows = 0
    watched: list[object] = []

    def ready(session: object) -> None:  # after the history was read: that is not a lag
        log_view = session.window.log_view  # type: ignore[attr-defined]
        add_rows = log_view.add_rows

        def measured(batch: list[object]) -> None:
            nonlocal rows
            now = time.time()
            for row in batch:
                received = getattr(row, "received_at", None)
                if received:
                    lags.append(now - received)
            rows += len(batch)
            add_rows(batch)

        log_view.add_rows = measured
        watched.append(session.watching.watch)  # type: ignore[attr-defined]

    qasync.run(run_app(database=url, demo=False, exit_after=seconds, settings=settings, keystore=keystore,
                       on_ready=ready, watch=True))
    del app
    read = getattr(watched[0], "delivered", 0) if watched else 0
    state = {}
    if watched:
        w = watched[0]
        f = getattr(w, "_follower", None)
        state = {"error": getattr(w, "error", ""), "last": getattr(f, "last", None),
                 "holes": len(getattr(f, "_holes", {})), "skip": len(getattr(f, "_skip", ())),
                 "behind": getattr(f, "behind", None)}
    out.write_text(json.dumps({"lags": lags, "rows": rows, "read": read, "state": state}))


# -- the run -------------------------------------------------------------------------


def _summary(text: str) -> dict[str, int]:
    received = re.search(r"Received ([\d,]+) frames", text)
    stored = re.search(r"([\d,]+) events? stored", text)
    return {
        "received": int(received.group(1).replace(",", "")) if received else -1,
        "stored": int(stored.group(1).replace(",", "")) if stored else -1,
    }


def run(args: argparse.Namespace) -> None:
    url = args.db
    _fresh(url)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="team-bench-"))
    sim = subprocess.Popen(
        [*CLI, "simulate", "--port", "0", "--keys", ",".join(KEYS), "--rate", str(args.rate),
         "--devices", str(args.devices), "--heartbeat", "5"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    assert sim.stderr is not None
    line = sim.stderr.readline()
    stream_url = line.rsplit(" ", 1)[1].strip()
    processes: list[subprocess.Popen[str]] = []
    try:
        recorders = []
        for i, key in enumerate(KEYS):
            key_file = scratch / f"key{i}"
            key_file.write_text(key + "\n")
            recorders.append(subprocess.Popen(
                [*CLI, "record", "--url", stream_url, "--stream-key-file", str(key_file), "--db", url,
                 "--status-interval", "2"],
                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
            ))
        processes.extend(recorders)
        deadline = time.monotonic() + 120  # both recorders storing before the windows open
        while time.monotonic() < deadline and len(_sql(url, "SELECT DISTINCT stream_id FROM events")) < 2:
            time.sleep(0.5)
        windows = []
        for i in range(args.windows):
            out = scratch / f"window{i}.json"
            windows.append((out, subprocess.Popen(
                [PYTHON, __file__, "--window", url, "--seconds", str(args.seconds), "--out", str(out)],
                stderr=(scratch / f"window{i}.err").open("w"), stdout=subprocess.DEVNULL, env=env, text=True,
            )))
        processes.extend(p for _, p in windows)
        server = _server_pid()
        cpu_before = _cpu_seconds(server) if server else 0.0
        began = time.monotonic()
        for _, window in windows:
            window.wait(timeout=args.seconds + 120)
        wall = time.monotonic() - began
        cpu = (_cpu_seconds(server) - cpu_before) if server else float("nan")
        summaries = []
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
            _, err = recorder.communicate(timeout=120)
            summaries.append(_summary(err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=30)

    rows = _sql(url, "SELECT stream_id, COUNT(*), COUNT(DISTINCT epoch, seq), MIN(seq), MAX(seq) "
                     "FROM events GROUP BY stream_id ORDER BY stream_id")
    print(f"Two recorders into {url.rsplit('@', 1)[-1]}, {args.rate:,} events/s each "
          f"({2 * args.rate:,} combined), {args.windows} windows watching, {args.seconds:.0f} s")
    for i, summary in enumerate(summaries):
        print(f"  recorder {i + 1}: received {summary['received']:,} events, stored {summary['stored']:,}")
    all_once = sorted(int(r[1]) for r in rows) == sorted(s["stored"] for s in summaries)  # type: ignore[call-overload]
    for row in rows:
        sid, count, distinct, first, last = row
        once = count == distinct == (int(last) - int(first) + 1)  # type: ignore[call-overload]
        all_once = all_once and once
        print(f"  stream {sid}: {count:,} rows, {distinct:,} distinct seqs, seqs {first}-{last}")
    print(f"  every event stored exactly once: {'yes' if all_once else 'NO'}")
    for i, (out, _) in enumerate(windows):
        if not out.exists():
            print(f"  window {i + 1} failed: {out.with_suffix('.err')}")
            continue
        data = json.loads(out.read_text())
        lags = data["lags"]
        print(f"  window {i + 1}: {data['rows']:,} rows reached its log; receive-to-screen lag "
              f"p50 {_percentile(lags, 0.5):.2f} s, p99 {_percentile(lags, 0.99):.2f} s, "
              f"max {max(lags, default=float('nan')):.2f} s")
    print(f"  database server CPU: {cpu:.1f} s over {wall:.0f} s ({100 * cpu / wall:.0f}% of one core)")


# -- the watch query at N rows ---------------------------------------------------------------


def explain(args: argparse.Namespace) -> None:
    url = args.db
    have = 0
    try:
        have = int(_sql(url, "SELECT COUNT(*) FROM events")[0][0])  # type: ignore[arg-type]
    except Exception:
        pass
    if have < args.explain_rows:
        _fresh(url)
        _sql(url, "INSERT INTO streams (name, display_url, fingerprint, epoch) VALUES ('bench', 'ws://x', 'f', 0)")
        began = time.monotonic()
        step = 1_000_000
        for start in range(0, args.explain_rows, step):
            n = min(step, args.explain_rows - start)
            _sql(url, (
                "INSERT INTO events (event_type, oem_id, oem_model, dsn, time, stream_id, seq, property_name, "
                "base_type, value, raw, received_at, epoch) "
                "SELECT 'datapoint', 'oem', 'model', CONCAT('AC000W', LPAD(seq MOD 200, 9, '0')), "
                "DATE_FORMAT(FROM_UNIXTIME(1700000000 + seq DIV 10), '%%Y-%%m-%%dT%%H:%%i:%%sZ'), 1, seq + %s, "
                "'temperature', 'decimal', '21.5', '{\"seq\":\"0\"}', 1700000000 + seq / 10, 0 "
                f"FROM seq_1_to_{n}"
            ), (start,))
            print(f"  {start + n:,} rows ({time.monotonic() - began:.0f} s)", file=sys.stderr)
        _sql(url, "ANALYZE TABLE events")
    top = int(_sql(url, "SELECT MAX(id) FROM events")[0][0])  # type: ignore[arg-type]
    from ayla_monitor.store.connection import make_database

    query = ("SELECT id, stream_id, seq, epoch, event_type, dsn, property_name, value, time, received_at, raw, note "
             "FROM events WHERE id > %s ORDER BY id LIMIT 5000")
    database = make_database(url)
    database.connect()
    try:
        plan = database.execute_sql("EXPLAIN " + query, (top - 100,)).fetchall()
        print(f"The watch query on {have or args.explain_rows:,} rows (highest id {top:,}):")
        print("  EXPLAIN: " + "; ".join(f"table {r[2]} type {r[3]} key {r[5]} rows {r[8]} {r[9]}" for r in plan))
        for new in (100, 5000):
            database.execute_sql("FLUSH STATUS")
            database.execute_sql(query, (top - new,)).fetchall()
            counters = dict(database.execute_sql("SHOW SESSION STATUS LIKE 'Handler_read%%'").fetchall())
            read = {k: int(v) for k, v in counters.items() if int(v)}
            times = []
            for _ in range(20):
                began = time.perf_counter()
                database.execute_sql(query, (top - new,)).fetchall()
                times.append(time.perf_counter() - began)
            print(f"  {new:,} new rows: {statistics.median(times) * 1000:.2f} ms (median of 20); server read {read}")
    finally:
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("AYLA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/team_bench"))
    parser.add_argument("--rate", type=int, default=10_000, help="events/s per recorder (default 10,000)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--explain-rows", type=int, help="measure the watch query on a table of this many rows")
    parser.add_argument("--window", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window:
        window_main(args.window, args.seconds, Path(args.out))
    elif args.explain_rows:
        explain(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
