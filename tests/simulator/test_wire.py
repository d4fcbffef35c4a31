"""The event builders reproduce Ayla's samples exactly, key order included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import (
    Connectivity,
    Datapoint,
    DatapointAck,
    DssEvent,
    Location,
    MalformedFrame,
    Registration,
)
from ayla_monitor.dss.frames import parse_frame


def _sample(data_dir: Path, name: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((data_dir / f"{name}.json").read_text(encoding="utf-8"))
    return sample


def _build(name: str, s: dict[str, Any]) -> dict[str, Any]:
    meta = s["metadata"]
    common = {"oem_id": meta["oem_id"], "oem_model": meta["oem_model"], "dsn": meta["dsn"]}
    seq = int(s["seq"])
    if name == "connectivity":
        c = s["connection"]
        return wire.connectivity_event(
            seq, **common, event_time=c["event_time"], status=c["status"], user_uuid=c["user_uuid"]
        )
    if name in ("datapoint", "datapointack"):
        d = s["datapoint"]
        fields = dict(
            **common,
            property_name=meta["property_name"],
            base_type=meta["base_type"],
            value=d["value"],
            datapoint_id=d["id"],
            created_at=d["created_at"],
            user_uuid=d["user_uuid"],
            echo=d["echo"],
        )
        if name == "datapoint":
            return wire.datapoint_event(seq, **fields)
        return wire.datapointack_event(
            seq,
            **fields,
            ack_status=d["ack_status"],
            ack_message=d["ack_message"],
            ack_id=d["ack_id"],
            acked_at=d["acked_at"],
        )
    if name == "location":
        b = s["location_event"]
        return wire.location_event(
            seq,
            **common,
            ip=b["ip"],
            lat=b["lat"],
            long=b["long"],
            provider=b["provider"],
            created_at=b["created_at"],
            user_uuid=b["user_uuid"],
        )
    b = s["registration_event"]
    return wire.registration_event(
        seq,
        **common,
        registered=b["registered"],
        registration_type=b["registration_type"],
        at=b["unregistered_at"],
        user_uuid=b["user_uuid"],
    )


EXPECTED = {
    "connectivity": Connectivity,
    "datapoint": Datapoint,
    "datapointack": DatapointAck,
    "location": Location,
    "registration": Registration,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builders_reproduce_the_samples(data_dir: Path, name: str) -> None:
    sample = _sample(data_dir, name)
    built = _build(name, sample)
    assert json.dumps(built) == json.dumps(sample)  # same content, same key order
    text = wire.unsequenced_text(built)
    assert '"seq"' not in text
    frame = wire.sequenced_frame(text, 4242)
    event = parse_frame(frame, 0.0)
    assert type(event) is EXPECTED[name]
    assert isinstance(event, DssEvent)
    assert event.seq == 4242
    assert event.note is None
    assert event.dsn == sample["metadata"]["dsn"]


def test_sequenced_frame_puts_seq_first_and_counts_utf8_bytes() -> None:
    text = wire.unsequenced_text({"metadata": {"event_type": "x", "v": "Grüße 🔥 |Z"}})
    frame = wire.sequenced_frame(text, 7)
    prefix, _, payload = frame.partition("|")
    assert payload.startswith('{"seq":"7",')
    assert int(prefix) == len(payload.encode("utf-8")) != len(payload)
    assert wire.sequenced_frame("{}", 3) == '11|{"seq":"3"}'


def test_time_and_coordinates_look_like_the_wire() -> None:
    assert wire.iso_time(0) == "1970-01-01T00:00:00Z"
    assert wire.iso_time(1537784797.9) == "2018-09-24T10:26:37Z"
    assert wire.format_coordinate(44.7695) == " 44.769500"
    assert wire.format_coordinate(-69.4283) == "-69.428300"
    assert wire.format_coordinate(-179.5) == "-179.500000"


@pytest.mark.parametrize("frame", wire.MALFORMED_FRAMES)
def test_malformed_frames_are_malformed(frame: str) -> None:
    assert isinstance(parse_frame(frame, 0.0), MalformedFrame)
