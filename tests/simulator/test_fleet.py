"""The fleet alone: pure, seeded, time passed in."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import (
    BASE_TYPES,
    EVENT_TYPES,
    Connectivity,
    Datapoint,
    DatapointAck,
    Event,
    Heartbeat,
    Location,
    MalformedFrame,
    Registration,
    UnknownEvent,
)
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.simulator.fleet import MODELS, Fleet, event_route

T0 = 1_700_000_000.0


def parsed(events: list[dict[str, Any]]) -> list[Event]:
    out: list[Event] = []
    for seq, event in enumerate(events, 1):
        frame = parse_frame(wire.sequenced_frame(wire.unsequenced_text(event), seq), T0)
        assert not isinstance(frame, (MalformedFrame, Heartbeat)), frame
        out.append(frame)
    return out


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    a = Fleet(8, seed=42).take(400, T0, 0.1)
    b = Fleet(8, seed=42).take(400, T0, 0.1)
    c = Fleet(8, seed=43).take(400, T0, 0.1)
    assert a == b
    assert a != c
    assert Fleet(8, seed=42, hostile=True).take(400, T0) == Fleet(8, seed=42, hostile=True).take(400, T0)


def test_intro_reports_each_device_online_then_every_property() -> None:
    fleet = Fleet(12, seed=1)
    intro_size = fleet.intro_pending
    assert intro_size == sum(1 + len(d.model.properties) for d in fleet.devices)
    events = parsed(fleet.take(intro_size, T0))
    assert fleet.intro_pending == 0
    dsns = [d.dsn for d in fleet.devices]
    assert len(set(dsns)) == 12
    assert all(re.fullmatch(r"AC000W\d{9}", dsn) for dsn in dsns)
    online = {e.dsn for e in events if isinstance(e, Connectivity) and e.status == "Online"}
    assert online == set(dsns)
    seen = {(e.dsn, e.property_name) for e in events if type(e) is Datapoint}
    assert seen == {(d.dsn, p.name) for d in fleet.devices for p in d.model.properties}
    assert all(e.time == "2023-11-14T22:13:20Z" for e in events)
    # each device's Online comes before its values
    first_online: dict[str | None, int] = {}
    for i, e in enumerate(events):
        if isinstance(e, Connectivity):
            first_online.setdefault(e.dsn, i)
        else:
            assert first_online[e.dsn] < i


def test_a_few_hundred_events_cover_every_event_and_base_type() -> None:
    fleet = Fleet(20, seed=7)
    fleet.take(fleet.intro_pending, T0)  # skip the intro: live mix only
    events = parsed(fleet.take(400, T0, 0.05))
    kinds = Counter(e.event_type for e in events)
    assert set(kinds) == set(EVENT_TYPES)
    assert kinds["datapoint"] > kinds["connectivity"]
    assert {e.base_type for e in events if isinstance(e, Datapoint)} == set(BASE_TYPES)
    assert all(e.note is None for e in events), [e.note for e in events if e.note]
    assert not any(isinstance(e, UnknownEvent) for e in events)


def test_values_look_like_devices() -> None:
    fleet = Fleet(10, seed=3)
    raw = fleet.take(4000, T0, 0.05)
    events = parsed(raw)
    points = [e for e in events if type(e) is Datapoint]
    acks = [e for e in events if isinstance(e, DatapointAck)]
    by_type: defaultdict[str, list[Any]] = defaultdict(list)
    for e in points:
        by_type[e.base_type or ""].append(e.raw_value)
    assert set(by_type["boolean"]) == {0, 1}
    assert all(isinstance(v, int) for v in by_type["integer"])
    assert any(isinstance(v, str) for v in by_type["decimal"])  # "21.5" sometimes
    assert any(isinstance(v, float) for v in by_type["decimal"])
    assert all(v.startswith("https://") for v in by_type["file"])
    assert any("|" in v for v in by_type["string"] + by_type["message"])
    assert any(len(v) > 1000 for v in by_type["message"])
    # acks answer input properties, mostly with 200
    inputs = {(m.oem_model, p.name) for m in MODELS for p in m.properties if p.direction == "input"}
    assert acks and all((a.oem_model, a.property_name) in inputs for a in acks)
    statuses = Counter(a.ack_status for a in acks)
    assert statuses[200] > len(acks) * 0.7
    assert any(s is not None and s >= 400 for s in statuses)
    ids = {e.datapoint_id for e in points}
    assert all(a.datapoint_id in ids for a in acks)
    # locations as padded strings, both providers; registrations both ways
    locations = [r["location_event"] for r in raw if event_route(r) == "location"]
    assert all(len(b["lat"]) >= 10 and "." in b["long"] for b in locations)
    assert {b["provider"] for b in locations} == {"ip-based", "gps"}
    registrations = [e for e in events if isinstance(e, Registration)]
    assert {r.registered for r in registrations} == {True, False}
    assert len({r.registration_type for r in registrations}) >= 3
    assert all(isinstance(e, Location) and e.lat is not None for e in events if e.event_type == "location")


def test_numbers_walk_within_their_range() -> None:
    fleet = Fleet(5, seed=11)
    specs = {(m.oem_model, p.name): p for m in MODELS for p in m.properties}
    last: dict[tuple[str | None, str | None], float] = {}
    jumps = 0
    for e in parsed(fleet.take(3000, T0, 0.05)):
        if type(e) is not Datapoint or e.base_type not in ("integer", "decimal", "float"):
            continue
        spec = specs[(e.oem_model or "", e.property_name or "")]
        value = float(e.value)  # type: ignore[arg-type]
        assert spec.low <= value <= spec.high
        key = (e.dsn, e.property_name)
        if key in last and abs(value - last[key]) > 5 * spec.step + 0.01:
            jumps += 1
        last[key] = value
    assert len(last) > 10
    assert jumps == 0


def test_offline_devices_send_no_values() -> None:
    fleet = Fleet(6, seed=5)
    online: dict[str | None, bool] = {}
    went_offline = came_back = 0
    for e in parsed(fleet.take(3000, T0, 0.05)):
        if isinstance(e, Connectivity):
            if online.get(e.dsn) and not e.online:
                went_offline += 1
            if online.get(e.dsn) is False and e.online:
                came_back += 1
            online[e.dsn] = bool(e.online)
        elif isinstance(e, (Datapoint, Location)):
            assert online[e.dsn], f"{e.event_type} from offline {e.dsn}"
    assert went_offline and came_back


def test_hostile_fleet_is_hard_but_never_malformed() -> None:
    fleet = Fleet(10, seed=9, hostile=True)
    events = parsed(fleet.take(1500, T0, 0.05))
    texts = [e.raw for e in events]
    assert any(isinstance(e, UnknownEvent) for e in events)
    assert any(isinstance(e, Datapoint) and e.raw_value is None for e in events)
    assert any("<img src=http://" in t for t in texts)
    assert any("\\u0000" in t or "\\u001b" in t for t in texts)
    assert any("🔥" in t for t in texts)
    assert any(e.note and "missing" in e.note for e in events)
    assert any(len(t) > 50_000 for t in texts)


def test_big_values_every_n_events_and_hostile_value_size() -> None:
    fleet = Fleet(5, seed=3, big_every=9, hostile_value_bytes=1_000_000)
    events = fleet.take(45, T0)
    big = [i for i, e in enumerate(events, 1) if len(str(e.get("datapoint", {}).get("value", ""))) == 1_000_000]
    assert big == [9, 18, 27, 36, 45]
    assert all(events[i - 1]["metadata"]["property_name"] == "blob" for i in big)
    assert not any(d.values.get("blob") for d in fleet.devices)  # the simulator keeps none of them
    hostile = Fleet(5, seed=3, hostile=True, hostile_value_bytes=2_000_000)
    longest = max(len(json.dumps(e)) for e in hostile.take(3000, T0))
    assert 2_000_000 < longest < 2_100_000
    with pytest.raises(ValueError):
        Fleet(5, big_every=0)
