"""The frame parser: one table of (wire text, expected) cases, the samples,
and a property test (any text in, never an exception out)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ayla_monitor.dss.events import (
    HEARTBEAT,
    Connectivity,
    Datapoint,
    DatapointAck,
    Heartbeat,
    Location,
    MalformedFrame,
    Registration,
    UnknownEvent,
    value_text,
)
from ayla_monitor.dss.frames import encode_frame, parse_frame

DATA = Path(__file__).parent.parent / "data"
T = 1_700_000_000.0


def sample(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def with_value(value: object, base_type: str = "string", **meta: object) -> dict:
    event = sample("datapoint")
    event["datapoint"]["value"] = value
    event["metadata"]["base_type"] = base_type
    event["metadata"].update(meta)
    return event


# (wire text, expected class, attributes to check)
CASES: list[tuple[str, type, dict[str, object]]] = [
    ("1|Z", Heartbeat, {}),
    # only '1|Z' is a heartbeat: the rest are bad frames, kept with the reason
    ("Z", MalformedFrame, {"reason": "no '|' separating length and payload"}),
    ("|Z", MalformedFrame, {"reason": "a heartbeat is '1|Z', not '|Z'"}),
    ("NaN|Z", MalformedFrame, {"reason": "a heartbeat is '1|Z', not 'NaN|Z'"}),
    ('{"a":1|Z', MalformedFrame, {"reason": "a heartbeat is '1|Z', not '{\"a\":1|Z'"}),
    ("2|Z", MalformedFrame, {}),
    (encode_frame(sample("connectivity")), Connectivity, {"seq": 1, "status": "Online", "online": True}),
    (
        encode_frame(sample("datapoint")),
        Datapoint,
        {"seq": 13, "value": False, "raw_value": 0, "property_name": "Blue_LED", "echo": True},
    ),
    (
        encode_frame(sample("datapointack")),
        DatapointAck,
        {"seq": 2, "value": True, "ack_status": 200, "acked_at": "2018-09-24T10:24:57Z"},
    ),
    (encode_frame(sample("location")), Location, {"lat": 44.7695, "long": -69.4283, "provider": "ip-based"}),
    (
        encode_frame(sample("registration")),
        Registration,
        {"registered": False, "registration_type": "AP-Mode", "time": "2018-09-24T10:29:50Z"},
    ),
    # a value that holds '|' and even '|Z' must not split the frame
    (encode_frame(with_value("a|b|Z|c")), Datapoint, {"value": "a|b|Z|c", "note": None}),
    (encode_frame(with_value("1|Z")), Datapoint, {"value": "1|Z"}),
    # decimals sent as strings become numbers; raw value kept as sent
    (encode_frame(with_value("21.50", "decimal")), Datapoint, {"value": 21.5, "raw_value": "21.50"}),
    (encode_frame(with_value(7, "integer")), Datapoint, {"value": 7}),
    (encode_frame(with_value("x7", "integer")), Datapoint, {"value": "x7"}),
    (encode_frame(with_value(None, "decimal")), Datapoint, {"value": None, "note": None}),
    (encode_frame(with_value("", "decimal")), Datapoint, {"value": ""}),
    # HTML stays text
    (
        encode_frame(with_value("<b>x</b><img src=http://e/>")),
        Datapoint,
        {"value": "<b>x</b><img src=http://e/>"},
    ),
    # created_at_from_device wins as the event time when set
    (
        encode_frame(
            {
                **sample("datapoint"),
                "datapoint": {
                    **sample("datapoint")["datapoint"],
                    "created_at_from_device": "2018-09-24T10:00:00Z",
                },
            }
        ),
        Datapoint,
        {"time": "2018-09-24T10:00:00Z"},
    ),
    # an ack whose body comes under "datapointack"
    (
        encode_frame(
            {
                "seq": "5",
                "metadata": sample("datapointack")["metadata"],
                "datapointack": sample("datapointack")["datapoint"],
            }
        ),
        DatapointAck,
        {"seq": 5, "ack_status": 200, "note": None},
    ),
    # unknown type kept whole
    ('42|{"seq":"9","metadata":{"event_type":"x"}}', UnknownEvent, {"seq": 9, "event_type": "x"}),
    ("2|{}", MalformedFrame, {"reason": "no metadata block"}),
    ('31|{"seq":"4","metadata":{"x":1}}', UnknownEvent, {"seq": 4, "event_type": ""}),
    # a seq that is not a positive integer: a bad frame (the store tells events apart by seq)
    *[
        (
            encode_frame({**sample("connectivity"), "seq": seq}),
            MalformedFrame,
            {"reason": reason},
        )
        for seq, reason in [
            ("0", "seq '0' is not a positive integer"),
            (0, "seq '0' is not a positive integer"),
            ("-3", "seq '-3' is not a positive integer"),
            ("abc", "seq 'abc' is not an integer"),
            ("1.5", "seq '1.5' is not an integer"),
            (1.5, "seq '1.5' is not an integer"),
            ("", "seq '' is not an integer"),
            (" 7", "seq ' 7' is not an integer"),
            ("1_000", "seq '1_000' is not an integer"),
            (True, "seq 'true' is not an integer"),
            (None, "seq 'null' is not an integer"),
            (str(2**63), f"seq '{2**63}' is too large"),
        ]
    ],
    (
        encode_frame({k: v for k, v in sample("connectivity").items() if k != "seq"}),
        MalformedFrame,
        {"reason": "no seq"},
    ),
    (encode_frame({**sample("connectivity"), "seq": 12}), Connectivity, {"seq": 12}),
    (encode_frame({**sample("connectivity"), "metadata": [1]}), MalformedFrame, {"reason": "metadata is not a JSON object"}),
    # missing body: still an event, with a note
    (
        encode_frame({"seq": "3", "metadata": {"event_type": "connectivity", "dsn": "D"}}),
        Connectivity,
        {"seq": 3, "dsn": "D", "status": None},
    ),
    # nulls everywhere
    (
        encode_frame({"seq": None, "metadata": None, "connection": None}),
        MalformedFrame,
        {"reason": "metadata is not a JSON object"},
    ),
    # wrong length prefix, valid event: kept, noted
    ("999|" + encode_frame(sample("connectivity")).split("|", 1)[1], Connectivity, {"seq": 1}),
    # the malformed ones
    ("hello", MalformedFrame, {}),
    ("abc|{}", MalformedFrame, {}),
    ("5|{not json", MalformedFrame, {}),
    ("2|[]", MalformedFrame, {}),
    ("4|null", MalformedFrame, {}),
    ("", MalformedFrame, {}),
    ("|", MalformedFrame, {}),
]


@pytest.mark.parametrize(("wire", "cls", "attrs"), CASES, ids=[c[0][:30] for c in CASES])
def test_parse_case(wire: str, cls: type, attrs: dict[str, object]) -> None:
    frame = parse_frame(wire, T)
    assert type(frame) is cls
    for name, value in attrs.items():
        assert getattr(frame, name) == value, name
    if cls is MalformedFrame:
        assert frame.raw == wire  # type: ignore[union-attr]
        assert frame.reason  # type: ignore[union-attr]
    elif cls is not Heartbeat:
        assert frame.raw == wire.split("|", 1)[1]  # type: ignore[union-attr]
        assert frame.received_at == T  # type: ignore[union-attr]


def test_documented_frames_all_parse() -> None:
    frames = json.loads((DATA / "frames.json").read_text())
    parsed = [parse_frame(f, T) for f in frames]
    assert parsed[0] is HEARTBEAT
    assert [type(p) for p in parsed[1:]] == [Connectivity, Datapoint, DatapointAck, Location, Registration]
    assert all(p.note is None for p in parsed[1:])  # type: ignore[union-attr]


def test_length_mismatch_is_noted() -> None:
    payload = encode_frame(sample("connectivity")).split("|", 1)[1]
    frame = parse_frame(f"999|{payload}", T)
    assert isinstance(frame, Connectivity)
    assert frame.note is not None and "999" in frame.note


def test_non_ascii_length_in_bytes_or_characters() -> None:
    event = with_value("température 21°C ✓")
    wire = encode_frame(event)
    prefix, payload = wire.split("|", 1)
    assert int(prefix) == len(payload.encode("utf-8")) != len(payload)
    for length in (len(payload), len(payload.encode("utf-8"))):
        frame = parse_frame(f"{length}|{payload}", T)
        assert isinstance(frame, Datapoint)
        assert frame.note is None
        assert frame.value == "température 21°C ✓"


def test_missing_body_is_noted() -> None:
    frame = parse_frame(encode_frame({"seq": "3", "metadata": {"event_type": "location"}}), T)
    assert isinstance(frame, Location)
    assert frame.note is not None and "location_event" in frame.note


def test_big_value_survives() -> None:
    big = "x" * (1024 * 1024 + 7)
    frame = parse_frame(encode_frame(with_value(big, "message")), T)
    assert isinstance(frame, Datapoint)
    assert frame.value == big


def test_encode_parse_round_trip_for_every_sample() -> None:
    for name in ("connectivity", "datapoint", "datapointack", "location", "registration"):
        obj = sample(name)
        frame = parse_frame(encode_frame(obj), T)
        assert json.loads(frame.raw) == obj  # type: ignore[union-attr]
        assert frame.event_type == name  # type: ignore[union-attr]


def test_value_text() -> None:
    assert value_text(None) is None
    assert value_text("a|b") == "a|b"
    assert value_text(True) == "1"
    assert value_text(0) == "0"
    assert value_text(21.5) == "21.5"
    assert value_text({"a": [1]}) == '{"a":[1]}'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_never_raises(text: str) -> None:
    frame = parse_frame(text, T)
    if isinstance(frame, MalformedFrame):
        assert frame.raw == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    seq=json_values,
    event_type=st.sampled_from(
        ["connectivity", "datapoint", "datapointack", "location", "registration", "zzz"]
    )
    | json_values,
    body=json_values,
    base_type=st.sampled_from(["boolean", "integer", "decimal", "float", "string", "message", "file"])
    | json_values,
    value=json_values,
    prefix=st.integers(min_value=-5, max_value=10**6) | st.none(),
)
def test_any_json_shape_never_raises(seq, event_type, body, base_type, value, prefix) -> None:  # type: ignore[no-untyped-def]
    obj = {
        "seq": seq,
        "metadata": {"event_type": event_type, "base_type": base_type, "dsn": body},
        "datapoint": {"value": value, "echo": body},
        "connection": body,
        "location_event": body,
        "registration_event": body,
    }
    wire = encode_frame(obj)
    if prefix is not None:
        wire = f"{prefix}|{wire.split('|', 1)[1]}"
    frame = parse_frame(wire, T)
    payload = wire.split("|", 1)[1]
    valid_seq = type(seq) is int and 1 <= seq < 2**63
    if isinstance(frame, MalformedFrame):
        # refused only for its seq: every other shape is still an event
        assert not valid_seq and "seq" in frame.reason
        assert frame.raw == wire
    else:
        assert valid_seq
        assert frame.raw == payload
