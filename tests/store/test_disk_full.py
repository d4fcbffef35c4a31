"""A full disk, for real: a small tmpfs mounted for the test (root only).

The writer's failure names the full disk and the database's folder, the
frames are kept and spilled, and the recorder exits 5 naming the import
command. Where a tmpfs cannot be mounted, one test checks the wording on the
driver's own exception instead (``sqlite3.OperationalError("database or disk
is full")``, the one place a mocked fault stands in for a real one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import peewee
import pytest

from ayla_monitor.dss.events import Event
from ayla_monitor.store.connection import explain_failure
from ayla_monitor.store.database import Store
from ayla_monitor.store.spill import SpillLine, read_spill
from ayla_monitor.store.writer import EventWriter
from tests.conftest import sqlite_file

MakeEvent = Callable[..., Event]
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs: a few thousand events fill it."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.05)


def test_a_full_disk_is_named_with_its_folder_and_nothing_is_lost(
    small_disk: Path, tmp_path: Path, make_event: MakeEvent
) -> None:
    url = f"sqlite:///{small_disk / 'events.sqlite'}"
    with Store.open(url) as store:
        sid = store.ensure_stream("s", "wss://h/stream", "f" * 16, None).id
    writer = EventWriter(url, commit_interval=0.01, spill_dir=tmp_path / "spill", retry_delays=(0.05, 0.2))
    writer.start()
    try:
        events = [make_event("datapoint", seq=i, value="x" * 400) for i in range(1, 3001)]
        assert writer.submit(sid, events[:100])
        assert writer.flush(timeout=60)  # these fit
        for start in range(100, len(events), 500):
            assert writer.submit(sid, events[start : start + 500])
        wait_for(lambda: writer.error is not None, "writer error")
    finally:
        spill = writer.close(timeout=1)
    error = writer.error or ""
    assert f"The disk holding {small_disk} is full" in error, error
    assert "kept and writing is retried" in error
    assert spill is not None and spill.parent == tmp_path / "spill"
    spilled = [line for line in read_spill(spill) if isinstance(line, SpillLine)]
    with sqlite_file(f"file:{small_disk / 'events.sqlite'}?mode=ro", uri=True) as conn:
        stored = {seq for (seq,) in conn.execute("select seq from events")}
    # every event is in exactly one of the two places
    assert stored.isdisjoint(line.seq for line in spilled)
    assert stored | {line.seq for line in spilled} == set(range(1, 3001))
    assert spilled and stored >= set(range(1, 101))


def test_the_recorder_on_a_full_disk_exits_5_and_names_the_import_command(
    small_disk: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data-home"),  # the spill file's folder (the default one is full)
        "PYTHONPATH": str(Path(__file__).parent.parent.parent),
    }
    simulator = subprocess.Popen(
        [sys.executable, "-m", "ayla_monitor", "simulate", "--port", "0", "--rate", "0", "--prefill", "4000"]
        + ["--keys", KEY],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert simulator.stderr is not None
        url = simulator.stderr.readline().strip().split(" on ", 1)[1]
        db = small_disk / "events.sqlite"
        done = subprocess.run(
            [sys.executable, "-m", "ayla_monitor", "record", "--url", url, "--stream-key", KEY]
            + ["--db", str(db), "--seq-start", "1", "--seq-end", "4000"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    finally:
        simulator.terminate()
        simulator.communicate(timeout=60)
    assert done.returncode == 5, done.stderr
    assert f"The disk holding {small_disk} is full" in done.stderr
    assert "Traceback" not in done.stderr and KEY not in done.stderr
    found = re.search(
        r"Put them back in the database with: ayla-monitor import --db (\S+) (\S+)", done.stderr
    )
    assert found and found.group(1) == str(db), done.stderr
    spill = Path(found.group(2))
    assert spill.is_file() and spill.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in spill.read_text().splitlines()]
    assert lines and all(line["stream_id"] and line["raw"] for line in lines)


def test_the_wording_of_a_full_disk_without_a_real_one(tmp_path: Path) -> None:
    """The mocked fault: the driver's own exception for SQLITE_FULL, and
    MySQL's 'table is full', where no small disk can be mounted."""
    url = f"sqlite:///{tmp_path / 'db' / 'events.sqlite'}"
    sentence = explain_failure(peewee.OperationalError("database or disk is full"), url)
    assert sentence.startswith(f"The disk holding {tmp_path / 'db'} is full")
    sentence = explain_failure(OSError(28, "No space left on device"), url)
    assert sentence.startswith(f"The disk holding {tmp_path / 'db'} is full")
    mysql = "mysql://rec:s3cret@db.example:3306/ayla"
    sentence = explain_failure(peewee.OperationalError(1114, "The table 'events' is full"), mysql)
    assert "db.example:3306" in sentence and "out of disk space" in sentence and "s3cret" not in sentence
