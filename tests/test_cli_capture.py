"""record --capture, simulate --replay and doctor from the command line: real processes."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from ayla_monitor.cli import ExitCode
from ayla_monitor.headless.doctor import EXIT_FAILED
from tests.conftest import sqlite_file
from tests.test_cli import cli, start

KEY = "0123456789abcdef0123456789abcdef"
DEMO_KEY = "de5a0" * 6 + "de"


def _listening(*args: str) -> Iterator[tuple[str, str]]:
    proc = start(*args)
    assert proc.stderr is not None
    head = []
    while True:
        line = proc.stderr.readline()
        assert line, "".join(head)
        head.append(line)
        if "listening on" in line:
            break
    url = line.strip().split(" on ", 1)[1]
    yield url, "".join(head)
    proc.terminate()
    proc.communicate(timeout=60)


@pytest.fixture
def simulator() -> Iterator[str]:
    for url, _head in _listening("simulate", "--port", "0", "--rate", "0", "--prefill", "200",
                                 "--keys", KEY, "--malformed-every", "50", "--heartbeat", "0.5"):
        yield url


def events(db: Path) -> list[tuple[int, str]]:
    with sqlite_file(db) as conn:
        return [(int(s), d) for s, d in conn.execute("select seq, dsn from events order by seq")]


def test_record_capture_replay_record(tmp_path: Path, simulator: str) -> None:
    capture = tmp_path / "c.jsonl.gz"
    first = cli("record", "--url", simulator, "--stream-key", KEY, "--db", str(tmp_path / "a.sqlite"),
                "--seq-start", "1", "--seq-end", "200", "--capture", str(capture), "--redact", "dsn,uuid,location")
    assert first.returncode == 0, first.stderr
    assert f"frames written to {capture}" in first.stderr
    text = gzip.decompress(capture.read_bytes()).decode()
    assert KEY not in text
    original = events(tmp_path / "a.sqlite")
    assert len(original) == 200 and not any(dsn in text for _, dsn in original)

    for url, head in _listening("simulate", "--port", "0", "--replay", str(capture), "--speed", "max"):
        assert "Replaying 204 frames of 1 stream" in head and "redacted: dsn, uuid, location" in head
        second = cli("record", "--url", url, "--stream-key", DEMO_KEY, "--db", str(tmp_path / "b.sqlite"),
                     "--seq-start", "1", "--seq-end", "200")
        assert second.returncode == 0, second.stderr
    replayed = events(tmp_path / "b.sqlite")
    assert [s for s, _ in replayed] == [s for s, _ in original]
    assert {d for _, d in replayed}.isdisjoint({d for _, d in original})


def test_unwritable_capture_is_refused_before_recording(tmp_path: Path, simulator: str) -> None:
    db = tmp_path / "a.sqlite"
    done = cli("record", "--url", simulator, "--stream-key", KEY, "--db", str(db), "--count", "5",
               "--capture", str(tmp_path / "missing" / "c.jsonl"))
    assert done.returncode == 2
    assert "cannot write the capture" in done.stderr and "does not exist" in done.stderr
    assert not db.exists()
    bad = cli("record", "--url", simulator, "--stream-key", KEY, "--db", str(db), "--redact", "dsn")
    assert bad.returncode == 2 and "--capture FILE" in bad.stderr


def test_replay_of_a_damaged_capture_names_what_it_skipped(tmp_path: Path, simulator: str) -> None:
    capture = tmp_path / "c.jsonl"
    done = cli("record", "--url", simulator, "--stream-key", KEY, "--db", str(tmp_path / "a.sqlite"),
               "--seq-start", "1", "--seq-end", "20", "--capture", str(capture))
    assert done.returncode == 0, done.stderr
    lines = capture.read_text().splitlines(keepends=True)
    lines.insert(3, "this is not json\n")
    capture.write_text("".join(lines)[:-30])  # and cut mid-line
    for _url, head in _listening("simulate", "--port", "0", "--replay", str(capture)):
        assert "skipped line 4: not JSON" in head
        assert f"skipped line {len(lines)}: cut short" in head


def test_replay_of_a_missing_file(tmp_path: Path) -> None:
    done = cli("simulate", "--port", "0", "--replay", str(tmp_path / "nope.jsonl"))
    assert done.returncode == 2 and "cannot read the capture" in done.stderr


def test_doctor_names_the_failing_step(simulator: str) -> None:
    closed = cli("doctor", "--url", "ws://127.0.0.1:1/stream", "--stream-key", KEY)
    assert closed.returncode == ExitCode.CHECK_FAILED == EXIT_FAILED and "Result: FAILED at TCP connect" in closed.stdout
    wrong = cli("doctor", "--url", simulator, "--stream-key", "f" * 32)
    assert wrong.returncode == 7 and "Result: FAILED at HTTP upgrade: HTTP 401" in wrong.stdout
    assert "f" * 32 not in wrong.stdout + wrong.stderr
    right = cli("doctor", "--url", simulator, "--stream-key", KEY, "--wait", "30")
    assert right.returncode == 0, right.stdout
    assert "Result: every step passed." in right.stdout


def test_export_capture_needs_a_file_and_a_database(tmp_path: Path) -> None:
    no_file = cli("export", "--db", str(tmp_path / "x.sqlite"), "--format", "capture")
    assert no_file.returncode == 2 and "needs -o FILE" in no_file.stderr
    bad_redaction = cli("export", "--db", str(tmp_path / "x.sqlite"), "--format", "capture", "-o",
                        str(tmp_path / "c.jsonl"), "--redact", "dns")
    assert bad_redaction.returncode == 2 and "'dns' is not a redaction" in bad_redaction.stderr
    missing = cli("export", "--db", str(tmp_path / "x.sqlite"), "--format", "capture", "-o", str(tmp_path / "c.jsonl"))
    assert missing.returncode == 4
    assert not (tmp_path / "c.jsonl").exists()
