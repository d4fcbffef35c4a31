"""Databases that cannot be reached or stop working: clear messages, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ayla_monitor.dss.events import Event
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.records import WriterReport
from ayla_monitor.store.writer import EventWriter, _Batch, _WriterProcess

UNREACHABLE_MYSQL = "mysql://root:s3cret@127.0.0.1:1/test"

MakeEvent = Callable[..., Event]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for ``condition`` with a deadline generous enough for a busy machine."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_an_unreachable_mysql_server_is_one_clear_sentence() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        Store.open(UNREACHABLE_MYSQL)
    assert str(caught.value) == "Cannot reach the MySQL server at 127.0.0.1:1 (connection refused)."
    assert "s3cret" not in str(caught.value)


def test_a_sqlite_file_under_a_regular_file_is_one_clear_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(DatabaseUnavailable) as caught:
        Store.open(f"sqlite:///{blocker}/sub/events.sqlite")
    assert str(caught.value) == (
        f"Cannot open the SQLite database {blocker}/sub/events.sqlite: {blocker} is a file, not a folder."
    )


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tables you are looking for\n" * 200)
    with pytest.raises(DatabaseUnavailable, match=r"notes.txt is not a readable SQLite database"):
        Store.open(f"sqlite:///{path}")


def _spilled(path: Path | None) -> list[dict]:
    assert path is not None and path.name.startswith("unstored-") and path.suffix == ".jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("where", ["mysql", "sqlite"])
def test_a_writer_that_cannot_reach_its_database_keeps_and_spills(
    where: str, tmp_path: Path, make_event: MakeEvent
) -> None:
    if where == "mysql":
        url = UNREACHABLE_MYSQL
    else:
        (tmp_path / "file").write_text("x")
        url = f"sqlite:///{tmp_path}/file/events.sqlite"
    reports: list[WriterReport] = []
    writer = EventWriter(url, commit_interval=0.01, notify=reports.append, spill_dir=tmp_path / "spill")
    writer.start()
    events = [make_event("datapoint", seq=i, value=i) for i in range(1, 6)]
    malformed = parse_frame("7|garbage", 3.5)
    assert writer.submit(7, [*events, malformed])
    wait_until(lambda: writer.error is not None, "the writer to report the failure")
    assert not writer.flush(timeout=0.5)  # the database is still unreachable
    assert writer.pending == 6 and writer.stored == 0
    assert writer.error is not None and "writing is retried" in writer.error and "s3cret" not in writer.error
    assert reports and reports[-1] == WriterReport(0, 6, writer.error)
    lines = _spilled(writer.close(timeout=0.5))
    assert lines[:5] == [
        {"stream_id": 7, "epoch": 0, "seq": e.seq, "received_at": e.received_at, "raw": e.raw} for e in events
    ]
    assert lines[5] == {
        "stream_id": 7,
        "epoch": 0,
        "seq": None,
        "received_at": 3.5,
        "raw": "7|garbage",
        "reason": malformed.reason,
    }


def test_frames_the_database_refuses_are_spilled_not_lost(tmp_path: Path, make_event: MakeEvent) -> None:
    """A stream id that does not exist (a caller's bug) fails the foreign key on
    SQLite: the rest of the batch is stored, the refused frame is spilled."""
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        writer = EventWriter(url, commit_interval=0.01, spill_dir=tmp_path)
        writer.start()
        assert writer.submit(sid, [make_event("datapoint", seq=1)])
        assert writer.submit(sid + 41, [make_event("datapoint", seq=2)])
        assert writer.submit(sid, [make_event("datapoint", seq=3)])
        assert not writer.flush(timeout=10)
        assert writer.error is not None and "refused 1 frames" in writer.error
        lines = _spilled(writer.close())
        assert [(line["stream_id"], line["seq"]) for line in lines] == [(sid + 41, 2)]
        assert [e.seq for e in store.iter_events()] == [1, 3]


def test_backpressure_refuses_without_dropping(tmp_path: Path, make_event: MakeEvent) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
    events = [make_event("connectivity", seq=i) for i in range(1, 31)]
    writer = EventWriter(url, max_pending=10, commit_interval=0.01)
    # Not started yet: nothing drains, so the limit shows.
    assert writer.submit(sid, events[:25])  # larger than max_pending, but nothing pending
    assert not writer.has_room(1)
    assert not writer.submit(sid, events[25:26])
    assert writer.pending == 25
    writer.start()
    assert writer.flush(timeout=10)
    assert writer.pending == 0 and writer.has_room(1000)  # an empty queue takes any batch
    assert writer.submit(sid, events[25:])
    assert writer.flush(timeout=10) and writer.close() is None
    with Store.open(url) as store:
        assert [e.seq for e in store.iter_events()] == list(range(1, 31))


def test_a_lone_frame_is_committed_after_the_commit_interval(tmp_path: Path, make_event: MakeEvent) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        committed = threading.Event()
        writer = EventWriter(url, commit_interval=0.05, notify=lambda report: committed.set())
        writer.start()
        started = time.monotonic()
        assert writer.submit(sid, [make_event("datapoint", seq=1)])
        # Committed with no more frames and no close (a batch is 5,000 rows):
        # the interval did it. It cannot come sooner than the interval; how
        # much later depends on the machine, so the wait is generous.
        assert committed.wait(60)
        assert time.monotonic() - started >= 0.04
        assert store.count_events() == 1 and writer.stored == 1
        assert writer.close() is None


def test_a_killed_writer_process_is_restarted_and_nothing_is_lost(tmp_path: Path, make_event: MakeEvent) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        reports: list[WriterReport] = []
        writer = EventWriter(url, commit_interval=0.01, notify=reports.append, retry_delays=(0.05, 0.1))
        writer.start()
        assert writer.submit(sid, [make_event("datapoint", seq=i) for i in range(1, 11)])
        assert writer.flush(timeout=10)
        first = writer._process
        assert first is not None
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.join(5)
        assert writer.submit(sid, [make_event("datapoint", seq=i) for i in range(11, 21)])
        assert writer.flush(timeout=10)
        assert any(r.error and "database writer process was killed" in r.error for r in reports)
        assert writer.error is None  # it works again
        assert writer._process is not None and writer._process.process.pid != first.process.pid
        assert writer.close() is None
        assert [e.seq for e in store.iter_events()] == list(range(1, 21))
        assert store.last_seq(sid) == 20


def test_ctrl_c_reaches_the_writer_process_without_stopping_it(tmp_path: Path, make_event: MakeEvent) -> None:
    """Ctrl+C goes to the whole process group: the writer process must live on
    to store what the recorder still holds when it stops."""
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        writer = EventWriter(url, commit_interval=0.01)
        writer.start()
        assert writer.submit(sid, [make_event("datapoint", seq=1)])
        assert writer.flush(timeout=10)
        child = writer._process
        assert child is not None
        os.kill(child.process.pid, signal.SIGINT)
        assert writer.submit(sid, [make_event("datapoint", seq=2)])
        assert writer.flush(timeout=10)
        assert writer._process is child and child.process.is_alive()
        assert writer.close() is None
        assert not child.process.is_alive() and child.process.exitcode == 0
        assert [e.seq for e in store.iter_events()] == [1, 2]


def test_after_a_failed_batch_the_process_skips_the_rest_of_its_generation(
    tmp_path: Path, make_event: MakeEvent
) -> None:
    """Batches are stored in order: one sent behind a batch that failed is not
    stored before it (else last_seq could run ahead of a gap)."""
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
        good = _Batch.build(sid, 0, [make_event("datapoint", seq=5)])
        bad = _Batch.build(sid + 41, 0, [make_event("datapoint", seq=4)])  # no such stream: refused
        process = _WriterProcess(url)
        try:
            process.send(0, [bad.rows], {})
            process.send(0, [good.rows], {sid: (0, 5)})
            assert process.receive()[0] == "refused"
            assert process.receive() == ("skipped",)
            assert store.count_events() == 0 and store.last_seq(sid) is None
            process.send(1, [good.rows], {sid: (0, 5)})
            assert process.receive() == ("ok", [(1, 0, 0, 0)])
        finally:
            process.stop()
        assert [e.seq for e in store.iter_events()] == [5] and store.last_seq(sid) == 5


def test_a_writer_left_open_does_not_hang_the_exit(tmp_path: Path) -> None:
    """multiprocessing ends daemon processes with SIGTERM at exit and waits for
    them: a writer process that ignored it would hang every unclosed exit."""
    script = (
        "from ayla_monitor.store.writer import EventWriter\n"
        "if __name__ == '__main__':\n"
        f"    EventWriter('sqlite:///{tmp_path}/events.sqlite').start()\n"
    )
    path = tmp_path / "left_open.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_backpressure_counts_bytes_too(tmp_path: Path, make_event: MakeEvent) -> None:
    """A few 1 MB values fill memory long before they fill the count: the
    writer refuses by weight as well, and still loses nothing."""
    url = f"sqlite:///{tmp_path}/events.sqlite"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
    big = [make_event("datapoint", seq=i, value="x" * 2**20) for i in range(1, 5)]
    # each weighs 2 MB in its row: the value, and the raw JSON that holds it
    writer = EventWriter(url, max_pending=1000, max_pending_bytes=5 * 2**20, commit_interval=0.01)
    assert writer.submit(sid, big[:2])  # 4 MB: under the limit
    assert writer.submit(sid, big[2:3])  # 6 MB now: over it
    assert not writer.has_room(1) and not writer.submit(sid, big[3:])
    assert writer.pending == 3
    writer.start()
    assert writer.flush(timeout=60) and writer.has_room(1)
    assert writer.submit(sid, big[3:])
    assert writer.flush(timeout=60) and writer.close() is None
    with Store.open(url) as store:
        assert [len(e.value or "") for e in store.iter_events()] == [2**20] * 4
