"""The recorder's lean path (``parse_frame_lean``: decoded once, columns read
straight from the JSON) stores exactly the rows the window's typed path
stores (``parse_frame`` then the typed event's fields), frame for frame:
the documented samples, the test frames, the simulator's hostile fleet,
and hand-made odd events. Pure: no database."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.dss.events import LeanEvent, Location, MalformedFrame, Registration
from ayla_monitor.dss.frames import device_facts, encode_frame, parse_event, parse_frame, parse_frame_lean
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.rows import build_rows

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = ("connectivity", "datapoint", "datapointack", "location", "registration")


def rows_of(frames: list[Any]) -> tuple[list[Any], list[Any], int | None]:
    events: list[Any] = []
    malformed: list[Any] = []
    top = build_rows(7, 2, frames, events, malformed, [])
    return events, malformed, top


def both(texts: list[str]) -> None:
    typed = [parse_frame(t, 1_700_000_000.5) for t in texts]
    lean = [parse_frame_lean(t, 1_700_000_000.5) for t in texts]
    for a, b in zip(typed, lean, strict=True):
        if isinstance(a, MalformedFrame):
            assert a == b  # refused alike, with the same reason
        elif hasattr(a, "seq"):
            assert isinstance(b, LeanEvent) and (b.seq, b.time, b.dsn, b.event_type) == (a.seq, a.time, a.dsn,
                                                                                          a.event_type)
    assert rows_of(lean) == rows_of(typed)


def odd_events() -> list[dict[str, Any]]:
    """Each sample with one field made odd, the way servers and devices do."""
    odd = []
    for kind in SAMPLES:
        base = json.loads((DATA / f"{kind}.json").read_text())
        body_key = next(k for k in base if k not in ("seq", "metadata"))
        changes = [
            lambda o: o["metadata"].update(oem_id=12345, oem_model=None, dsn=["a", "b"]),
            lambda o: o["metadata"].update(event_type=7),
            lambda o: o["metadata"].pop("event_type"),
            lambda o: o["metadata"].update(property_name="p" * 300, display_name="d" * 300, base_type="b" * 40),
            lambda o, k=body_key: o.pop(k),
            lambda o, k=body_key: o.update({k: "not an object"}),
            lambda o, k=body_key: o[k].update(value={"nested": [1, 2.5, None]}, user_uuid=99),
            lambda o, k=body_key: o[k].update(value=True, created_at_from_device="2020-01-01T00:00:00Z"),
            lambda o, k=body_key: o[k].update(value="12.5", status=None, registered="0", lat=" 1.5", long="x"),
            lambda o, k=body_key: o[k].update(value=2**70, event_time=123, registered=1, lat=1, long=2),
            lambda o: o.update(seq="0042"),
        ]
        for change in changes:
            obj = copy.deepcopy(base)
            change(obj)
            odd.append(obj)
    return odd


def test_the_samples_and_test_frames_store_the_same_rows() -> None:
    texts = [encode_frame(json.loads((DATA / f"{kind}.json").read_text())) for kind in SAMPLES]
    texts += json.loads((DATA / "frames.json").read_text())
    both(texts)


def test_odd_events_store_the_same_rows() -> None:
    both([encode_frame(obj) for obj in odd_events()])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_hostile_fleet_stores_the_same_rows(seed: int) -> None:
    fleet = Fleet(30, seed=seed, hostile=True, hostile_value_bytes=3_000)
    objs = fleet.take(1_500, time.time(), 0.1)
    both([encode_frame({**obj, "seq": i + 1}) if isinstance(obj, dict) else obj for i, obj in enumerate(objs)])


def test_a_lean_event_is_lean() -> None:
    """It keeps the raw text and the columns, not the decoded object."""
    text = encode_frame(json.loads((DATA / "datapoint.json").read_text()))
    event = parse_frame_lean(text, 5.0)
    assert isinstance(event, LeanEvent)
    assert event.raw == text.split("|", 1)[1] and event.received_at == 5.0
    assert not any(isinstance(v, (dict, list)) for v in event.columns)


def test_device_facts_read_like_typed_events() -> None:
    """The start folds stored locations and registrations from their JSON
    with device_facts: what parse_event's typed event says, field for field."""
    def typed(obj: dict[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
        event = parse_event(obj, "", 0.0)
        if isinstance(event, Location):
            return "location", (event.ip, event.lat, event.long, event.provider)
        if isinstance(event, Registration):
            return "registration", (event.registered, event.registration_type)
        return None

    objs = [json.loads((DATA / f"{kind}.json").read_text()) for kind in SAMPLES] + odd_events()
    objs += [obj for obj in Fleet(30, seed=5, hostile=True).take(3_000, time.time(), 0.1) if isinstance(obj, dict)]
    told = [device_facts(obj) for obj in objs]
    assert told == [typed(obj) for obj in objs]
    assert {facts[0] for facts in told if facts} == {"location", "registration"}
