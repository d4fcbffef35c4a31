"""A capture made from a real SQLite database: the selection, the bad frames, the redaction."""

from __future__ import annotations

from pathlib import Path

from ayla_monitor.capture.export import export_store
from ayla_monitor.capture.format import read_capture
from ayla_monitor.capture.redact import parse_redaction
from ayla_monitor.dss.events import Event, Location, MalformedFrame
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.store.database import Store
from tests.store.test_history import DSN, OTHER, T0, Story, write_story


def story() -> Story:
    return (
        Story()
        .status(T0, "Online")
        .value(T0 + 60, "temperature", "decimal", 21.5)
        .location(T0 + 90, 44.7695, -69.4283)
        .value(T0 + 120, "temperature", "decimal", 99.0, dsn=OTHER)
        .status(T0 + 600, "Offline")
    )


def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    built = story()
    built.events.insert(2, MalformedFrame("garbage from 10.9.8.7", "no '|'", T0 + 70))  # type: ignore[arg-type]
    write_story(url, built)
    return url


def test_everything_in_receive_order_with_the_bad_frame(tmp_path: Path) -> None:
    url = database(tmp_path)
    with Store.open(url) as store:
        result = export_store(store, EventFilter(), tmp_path / "all.jsonl.gz")
    assert result.frames == 6 and result.error is None
    capture = read_capture(tmp_path / "all.jsonl.gz")
    frames = [parse_frame(f.frame, 0.0) for f in capture.frames]
    assert isinstance(frames[2], MalformedFrame) and frames[2].raw == "garbage from 10.9.8.7"
    assert [f.seq for f in frames if isinstance(f, Event)] == [1, 2, 3, 4, 5]
    assert [f.offset for f in capture.frames] == [0.0, 60.0, 70.0, 90.0, 120.0, 600.0]
    assert capture.header is not None and [s.label for s in capture.header.streams] == ["history test"]


def test_one_device_and_a_time_range_redacted(tmp_path: Path) -> None:
    url = database(tmp_path)
    path = tmp_path / "one.jsonl"
    with Store.open(url) as store:
        result = export_store(
            store,
            EventFilter(dsns=(DSN,), since=T0 + 30, until=T0 + 500),
            path,
            redaction=parse_redaction("dsn,location,ip"),
        )
    assert result.frames == 2  # the value and the location; no bad frame in a device's capture
    text = path.read_text()
    assert DSN not in text and "10.0.0.1" not in text and "44.7695" not in text
    events = [parse_frame(f.frame, 0.0) for f in read_capture(path).frames]
    location = events[1]
    assert isinstance(location, Location) and location.lat == 44.77 and location.ip is None
    assert {e.dsn for e in events if isinstance(e, Event)} == {location.dsn}
