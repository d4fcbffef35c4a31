"""The spill file (0600, old lines without an epoch, unreadable lines) and
putting its frames back (idempotent, refuses another database's spill)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from ayla_monitor.dss.events import Event
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.store.database import Store
from ayla_monitor.store.spill import SpillLine, Unreadable, read_spill, spill_line, write_spill
from ayla_monitor.store.spill_import import ImportRefused, import_spills
from ayla_monitor.store.writer import EventWriter

MakeEvent = Callable[..., Event]


def test_a_spill_file_is_readable_by_its_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "unstored.jsonl"
        assert write_spill(path, [{"stream_id": 1, "raw": "x"}]) == 1
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):  # never replaces a file
        write_spill(path, [])
    assert path.read_text() == '{"stream_id": 1, "raw": "x"}\n'


def test_the_writer_spills_into_a_0600_file(tmp_path: Path, make_event: MakeEvent) -> None:
    (tmp_path / "file").write_text("x")  # a file where the database's folder should be
    writer = EventWriter(f"sqlite:///{tmp_path}/file/e.sqlite", commit_interval=0.01, spill_dir=tmp_path)
    writer.start()
    assert writer.submit(3, [make_event("datapoint", seq=9), parse_frame("garbage", 2.5)])
    path = writer.close(timeout=1.0)  # the database is unreachable: it gives up and spills
    assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = list(read_spill(path))
    assert [type(line) for line in lines] == [SpillLine, SpillLine]
    assert lines[0].seq == 9 and lines[0].epoch == 0 and lines[0].reason is None
    assert lines[1] == SpillLine(3, 0, None, 2.5, "garbage", lines[1].reason) and lines[1].reason


def test_old_lines_without_epoch_and_broken_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(
        '{"stream_id": 2, "seq": 5, "received_at": 1.5, "raw": "{}"}\n'
        '{"stream_id": 2, "epoch": 3, "seq": 6, "received_at": 2, "raw": "{}"}\n'
        "\n"
        '{"stream_id": 2, "seq": 7, "raw": "{}"\n'  # cut short
        '{"seq": 8, "raw": "{}"}\n'
        "[1, 2]\n"
    )
    lines = list(read_spill(path))
    assert lines[0] == SpillLine(2, 0, 5, 1.5, "{}")
    assert lines[1] == SpillLine(2, 3, 6, 2.0, "{}")
    assert [(line.number, line.why.split(" (")[0]) for line in lines[2:] if isinstance(line, Unreadable)] == [
        (4, "not JSON"),
        (5, "no stream_id"),
        (6, "not a JSON object"),
    ]


def test_spill_line_carries_the_epoch_when_the_event_has_one(make_event: MakeEvent) -> None:
    event = make_event("datapoint", seq=4)
    assert spill_line(1, event)["epoch"] == getattr(event, "epoch", 0)
    assert "reason" not in spill_line(1, event)


def _spill_of(tmp_path: Path, sid: int, events: list[Event]) -> Path:
    path = tmp_path / "unstored.jsonl"
    frames = [*events, parse_frame("not a frame", 7.25)]
    write_spill(path, [spill_line(sid, f) for f in frames])
    with path.open("a") as out:
        out.write("this line was cut\n")
    return path


def test_import_puts_spilled_frames_back_once(db_url: str, tmp_path: Path, make_event: MakeEvent) -> None:
    with Store.open(db_url) as store:
        sid = store.ensure_stream("s", "wss://h", "f", None).id
    events = [make_event("datapoint", seq=i, value=i) for i in range(1, 6)]
    events.append(make_event("connectivity", seq=6))
    path = _spill_of(tmp_path, sid, events)

    first = import_spills([path], db_url)
    assert (first.files, first.read, first.stored, first.bad_frames, first.duplicates, first.unreadable) == (
        1,
        7,
        6,
        1,
        0,
        1,
    )
    assert first.problems == [f"{path} line 8: not JSON (Expecting value)"]
    assert first.spill_path is None
    again = import_spills([path], db_url)
    assert (again.read, again.stored, again.bad_frames, again.duplicates) == (7, 0, 0, 7)
    with Store.open(db_url) as store:
        stored = list(store.iter_events())
        assert sorted(e.raw for e in stored) == sorted(e.raw for e in events)
        assert [m.raw for m in store.iter_malformed()] == ["not a frame"]
        assert store.last_seq(sid) == 6


def test_import_refuses_the_spill_of_another_database(tmp_path: Path, make_event: MakeEvent) -> None:
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    Store.open(url).close()  # no stream at all
    path = _spill_of(tmp_path, 12, [make_event("datapoint", seq=1)])
    with pytest.raises(
        ImportRefused, match=r"stream id 12, which .*other.sqlite does not have.*another database"
    ):
        import_spills([path], url)
    with Store.open(url) as store:
        assert list(store.iter_events()) == [] and list(store.iter_malformed()) == []


def test_import_of_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="Cannot read the spill file .*nope.jsonl"):
        import_spills([tmp_path / "nope.jsonl"], f"sqlite:///{tmp_path / 'e.sqlite'}")
