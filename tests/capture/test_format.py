"""The capture format: written by the writer, read back, bad lines skipped with their numbers."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from ayla_monitor.capture.format import FORMAT_VERSION, StreamInfo, read_capture
from ayla_monitor.capture.redact import parse_redaction
from ayla_monitor.capture.writer import CaptureError, CaptureWriter
from ayla_monitor.dss.events import Connectivity, MalformedFrame, SeqGap
from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.dss.wire import connectivity_event

KEY = "0123456789abcdef0123456789abcdef"
STREAMS = [StreamInfo("main", "0123…cdef", "connectivity", "ws://h/stream?stream_key=0123…cdef")]


def frames(count: int) -> list[str]:
    return [
        encode_frame(
            connectivity_event(
                i,
                oem_id="0dfc7900",
                oem_model="ledevb",
                dsn="AC000W000000001",
                event_time=f"2026-11-30T08:00:{i % 60:02d}Z",
                status="Online",
                user_uuid="40e45b84-690c-11e8-acf3-12f911dcfe40",
            )
        )
        for i in range(1, count + 1)
    ]


@pytest.mark.parametrize("name", ["c.jsonl", "c.jsonl.gz"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    sent = frames(5)
    batch = [parse_frame(f, 1000.0 + i) for i, f in enumerate(sent)]
    batch.insert(2, MalformedFrame("not|a frame", "why", 1001.5))
    batch.insert(3, SeqGap(0, 7, 8, 1001.6))
    with CaptureWriter(path, STREAMS, start=1000.0) as writer:
        writer.observe("main", batch)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    capture = read_capture(path)
    assert capture.problems == []
    assert capture.header is not None and capture.header.version == FORMAT_VERSION
    assert capture.header.streams == tuple(STREAMS)
    assert [f.frame for f in capture.frames] == sent[:2] + ["not|a frame"] + sent[2:]
    assert [f.offset for f in capture.frames] == [0.0, 1.0, 1.5, 2.0, 3.0, 4.0]
    assert {f.stream for f in capture.frames} == {"main"}
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_key_never_in_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    leaky = MalformedFrame(f"wss://x/stream?stream_key={KEY}", "why", 5.0)
    with CaptureWriter(path, STREAMS, secrets=[KEY], start=0.0) as writer:
        writer.observe("main", [leaky])
    text = path.read_text()
    assert KEY not in text and "0123…cdef" in text


def test_redaction_is_named_in_the_header_and_no_salt_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    salt = b"\x01" * 32
    with CaptureWriter(path, STREAMS, redaction=parse_redaction("dsn,location"), salt=salt, start=0.0) as writer:
        writer.add("main", 1.0, frames(1)[0])
    capture = read_capture(path)
    assert capture.header is not None
    assert capture.header.redaction.applied == ("dsn", "location")
    assert capture.header.redaction.location == "round:2"
    assert "AC000W000000001" not in path.read_text()
    assert salt.hex() not in path.read_text() and "salt" not in path.read_text()


def test_unwritable_path_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="does not exist"):
        CaptureWriter(tmp_path / "no" / "c.jsonl", STREAMS)
    with pytest.raises(CaptureError, match="is a folder"):
        CaptureWriter(tmp_path, STREAMS)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.raises(CaptureError, match="cannot write the capture .*Not a directory"):
        CaptureWriter(a_file / "c.jsonl", STREAMS)


def _written(tmp_path: Path, count: int = 4) -> Path:
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, STREAMS, start=0.0, threaded=False) as writer:
        for i, frame in enumerate(frames(count)):
            writer.add("main", float(i), frame)
    return path


def test_bad_lines_are_skipped_with_their_numbers(tmp_path: Path) -> None:
    path = _written(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"this is not json\n")
    lines.insert(4, b"[1, 2]\n")
    lines.insert(5, b'{"t": 1.0}\n')
    path.write_bytes(b"".join(lines))
    capture = read_capture(path)
    assert len(capture.frames) == 4
    assert [(p.line, p.reason) for p in capture.problems] == [
        (3, "not JSON"),
        (5, "a JSON list, not an object"),
        (6, 'no frame text ("f")'),
    ]


def test_cut_mid_line(tmp_path: Path) -> None:
    path = _written(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    capture = read_capture(path)
    assert len(capture.frames) == 3
    assert [str(p) for p in capture.problems] == ["line 5: cut short (the file ends mid-line)"]


def test_gzip_cut_short_and_damaged(tmp_path: Path) -> None:
    plain = _written(tmp_path, 400).read_bytes()
    packed = gzip.compress(plain)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    capture = read_capture(cut)
    assert 0 < len(capture.frames) < 400
    assert any("cut short" in str(p) for p in capture.problems)
    damaged = tmp_path / "bad.jsonl.gz"
    damaged.write_bytes(packed[:40] + b"\x00" * 64 + packed[104:])
    capture = read_capture(damaged)
    assert len(capture.frames) < 400
    assert capture.problems and all("line" in str(p) or "gzip" in str(p) for p in capture.problems)


def test_unknown_version_is_named_and_frames_still_read(tmp_path: Path) -> None:
    path = _written(tmp_path)
    text = path.read_text().replace('"version":1', '"version":7', 1)
    path.write_text(text)
    capture = read_capture(path)
    assert len(capture.frames) == 4
    assert "unknown format version 7" in str(capture.problems[0])


def test_frames_parse_back_to_the_same_events(tmp_path: Path) -> None:
    path = _written(tmp_path)
    events = [parse_frame(f.frame, 0.0) for f in read_capture(path).frames]
    assert [e.seq for e in events if isinstance(e, Connectivity)] == [1, 2, 3, 4]
