"""The command line end to end: real processes, real simulator, real SQLite."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import sqlite_file

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


#: Generous: the machine may be busy; every wait below ends on its condition long before.
DEADLINE = 120.0


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = DEADLINE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ayla_monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ayla_monitor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def simulator() -> Iterator[str]:
    """`ayla-monitor simulate` on a free port; yields its URL. Drops every
    connection after 150 events, so the recorder must reconnect and resume."""
    proc = start(
        "simulate", "--port", "0", "--rate", "400", "--keys", KEY, "--drop-after", "150", "--heartbeat", "0.5"
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "listening on" in line, line
    url = line.strip().split(" on ", 1)[1]
    yield url
    proc.terminate()
    proc.communicate(timeout=DEADLINE)


def count_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite_file(db) as conn:
            return int(conn.execute("select count(*) from events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def record_until(url: str, db: Path, key_file: Path, rows: int, sig: int) -> subprocess.CompletedProcess[str]:
    """Record until the database holds ``rows`` events, then stop with ``sig``."""
    proc = start("record", "--url", url, "--stream-key-file", str(key_file), "--db", str(db))
    deadline = time.monotonic() + DEADLINE
    while count_rows(db) < rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)  # polling: the wait ends as soon as the rows are there
    reached = count_rows(db)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=DEADLINE)
    assert reached >= rows, f"only {reached} of {rows} rows within {DEADLINE:.0f} s: {err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def simulator_past(url: str, seq: int, probe_db: Path) -> None:
    """Wait until the simulator's live stream has gone past ``seq``, so that
    a restarted recorder has missed events to catch up on: a throwaway
    ``record --count 1`` into ``probe_db`` tells where the stream is."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        probe_db.unlink(missing_ok=True)  # a fresh database: it starts live, not after a stored seq
        done = cli("record", "--url", url, "--stream-key", KEY, "--count", "1", "--db", str(probe_db))
        found = re.search(r"last seq (\d+)", done.stderr)
        if found and int(found.group(1)) > seq:
            return
    raise AssertionError(f"the simulator did not pass seq {seq} within {DEADLINE:.0f} s")


def test_record_stop_restart_export(tmp_path: Path, simulator: str) -> None:
    db = tmp_path / "events.sqlite"
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# our test stream\n{KEY}\n")

    first = record_until(simulator, db, key_file, 200, signal.SIGINT)
    assert first.returncode == 0, first.stderr
    assert "Received" in first.stderr and "reconnect" in first.stderr
    assert KEY not in first.stderr and "0123…cdef" in first.stderr
    with sqlite_file(db) as conn:
        last = conn.execute("select max(seq) from events").fetchone()[0]
    simulator_past(simulator, last + 50, tmp_path / "probe.sqlite")  # it goes on without us
    second = record_until(simulator, db, key_file, count_rows(db) + 300, signal.SIGTERM)
    assert second.returncode == 0, second.stderr

    exported = cli("export", "--db", str(db), "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    seqs = [row["seq"] for row in lines]
    # every event of the simulator's sequence from the first one recorded, exactly once
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len(seqs) == count_rows(db) >= 500
    assert all(row["stream"] and row["event_type"] and row["time"] for row in lines)
    assert all(KEY not in json.dumps(row) for row in lines)

    csv_out = tmp_path / "out.csv"
    exported_csv = cli(
        "export", "--db", str(db), "--format", "csv", "--type", "datapoint", "-o", str(csv_out)
    )
    assert exported_csv.returncode == 0
    header, *rows = csv_out.read_text().splitlines()
    assert header.startswith("id,stream,seq,event_type,oem_id,oem_model,dsn,time")
    assert rows and all(",datapoint," in row for row in rows)
    with sqlite_file(db) as conn:
        assert conn.execute("select count(*) from events where event_type='datapoint'").fetchone()[0] == len(
            rows
        )
        # the original table's columns answer the original queries
        assert conn.execute(
            "select id, event_type, oem_id, oem_model, dsn, time, user_uuid from events limit 1"
        ).fetchone()
        dump = "\n".join(conn.iterdump())
    assert KEY not in dump


def test_count_stops_after_n_events(tmp_path: Path, simulator: str) -> None:
    db = tmp_path / "e.sqlite"
    done = cli("record", "--url", simulator, "--stream-key", KEY, "--db", str(db), "--count", "50")
    assert done.returncode == 0, done.stderr
    assert count_rows(db) == 50


def test_rejected_key_exits_3(tmp_path: Path, simulator: str) -> None:
    done = cli(
        "record", "--url", simulator, "--db", str(tmp_path / "e.sqlite"), env={"AYLA_STREAM_KEY": OTHER}
    )
    assert done.returncode == 3, done.stderr
    assert "rejected stream key fedc…3210" in done.stderr
    assert OTHER not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "--url", "ws://127.0.0.1:9/stream"], "no stream key"),
        (["record", "--url", "ws://127.0.0.1:9/stream", "--stream-key", "abcdef"], "32 hexadecimal"),
        (["record", "--stream-key", KEY, "--region", "eu", "--deployment", "dev"], "no cloud stream host"),
        (["record", "--stream-key", KEY, "--url", "http://x/stream"], "ws:// or wss://"),
        (["record", "--stream-key-file", "/nonexistent/key.txt"], "cannot read key file"),
        (["record", "--stream-key", KEY, "--seq-end", "5"], "needs a first seq"),
        (["export", "--since", "yesterday"], "not a date"),
        (["simulate", "--keys", "nothex"], "32 hexadecimal"),
    ],
)
def test_usage_errors_exit_2_with_a_reason(tmp_path: Path, args: list[str], message: str) -> None:
    done = cli(*args, "--db", str(tmp_path / "e.sqlite")) if args[0] != "simulate" else cli(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_database_exits_4(tmp_path: Path) -> None:
    done = cli(
        "record",
        "--stream-key",
        KEY,
        "--url",
        "ws://127.0.0.1:9/stream",
        "--db",
        "mysql://root@127.0.0.1:1/x",
    )
    assert done.returncode == 4, done.stderr
    assert "127.0.0.1:1" in done.stderr and "Traceback" not in done.stderr


def test_export_malformed(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    proc = start(
        "simulate", "--port", "0", "--rate", "0", "--prefill", "40", "--keys", KEY, "--malformed-every", "10"
    )
    assert proc.stderr is not None
    url = proc.stderr.readline().strip().split(" on ", 1)[1]
    try:
        done = cli(
            "record",
            "--url",
            url,
            "--stream-key",
            KEY,
            "--db",
            str(db),
            "--seq-start",
            "1",
            "--seq-end",
            "40",
        )
        assert done.returncode == 0, done.stderr
        # every frame accounted for, in the closing summary
        assert "Received 44 frames" in done.stderr
        assert "40 events stored, 0 duplicates (already stored), 0 conflicts (stored apart), 4 bad frames stored" in done.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=DEADLINE)
    out = cli("export", "--db", str(db), "--malformed")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 4 and all(r["reason"] and "raw" in r for r in rows)


def test_version_and_module_entry() -> None:
    from ayla_monitor import __version__

    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"ayla-monitor {__version__}"


def test_time_bounds() -> None:
    from ayla_monitor.headless.export import parse_time_bound

    assert parse_time_bound("2018-09-24") == "2018-09-24T00:00:00Z"
    assert parse_time_bound("2018-09-24", end=True) == "2018-09-25T00:00:00Z"
    assert parse_time_bound("2018-09-24T10:26:37Z", end=True) == "2018-09-24T10:26:38Z"
    assert parse_time_bound("2018-09-24T12:26:37+02:00") == "2018-09-24T10:26:37Z"
    with pytest.raises(ValueError, match="not a date"):
        parse_time_bound("yesterday")


def test_export_reads_rows_of_the_original_design(tmp_path: Path) -> None:
    """A row written by the original collector (only the original columns) exports too."""
    from ayla_monitor.store.database import Store

    db = tmp_path / "old.sqlite"
    Store.open(f"sqlite:///{db}").close()  # the schema
    with sqlite_file(db) as conn:
        conn.execute(
            "INSERT INTO events (event_type, oem_id, oem_model, dsn, time, user_uuid) VALUES "
            "('connectivity', '0dfc7900', 'ledevb', 'AC000W000340649', '2018-09-24T10:26:37Z', "
            "'40e45b84-690c-11e8-acf3-12f911dcfe40')"
        )
    for fmt in ("jsonl", "csv"):
        done = cli("export", "--db", str(db), "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert "AC000W000340649" in done.stdout and "2018-09-24T10:26:37Z" in done.stdout
    row = json.loads(cli("export", "--db", str(db)).stdout)
    assert row["received_at"] is None and row["event"] is None and row["seq"] is None
