"""Redaction: pure, table-driven; a redacted frame parses like the original."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ayla_monitor.capture.redact import MASK, RedactionSpec, Redactor, parse_redaction
from ayla_monitor.dss.events import Datapoint, DatapointAck, Location, MalformedFrame
from ayla_monitor.dss.frames import encode_frame, parse_frame
from tests.conftest import DATA

SALT = b"s" * 32


def sample(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return obj


def redact(obj: dict[str, Any] | str, spec: str, salt: bytes = SALT) -> str:
    return Redactor(parse_redaction(spec), salt).frame(encode_frame(obj) if isinstance(obj, dict) else obj)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dsn", RedactionSpec(dsn=True)),
        ("dsn,uuid,location", RedactionSpec(dsn=True, uuid=True, location=True)),
        ("location:remove", RedactionSpec(location=True, decimals=None)),
        ("location:4,ip", RedactionSpec(location=True, decimals=4, ip=True)),
        ("values:Blue_LED,temp", RedactionSpec(values=frozenset({"Blue_LED", "temp"}))),
        ("dsn,values:Blue_LED,temp,ip", RedactionSpec(dsn=True, ip=True, values=frozenset({"Blue_LED", "temp"}))),
    ],
)
def test_parse_redaction(text: str, expected: RedactionSpec) -> None:
    assert parse_redaction(text) == expected
    assert parse_redaction(expected.as_option()) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [("dns", "'dns' is not a redaction"), ("values:", "needs the property names"), ("location:9", "0 to 6"), ("", "nothing")],
)
def test_parse_redaction_refuses(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_redaction(text)


def test_dsn_pseudonym_keeps_shape_and_is_stable_per_file() -> None:
    one = Redactor(RedactionSpec(dsn=True), SALT)
    other = Redactor(RedactionSpec(dsn=True), b"t" * 32)
    dsn = "AC000W000340779"
    first = one.pseudonym(dsn)
    assert first != dsn and len(first) == len(dsn)
    assert all((a.isdigit() and b.isdigit()) or (a.isupper() and b.isupper()) for a, b in zip(dsn, first, strict=True))
    assert one.pseudonym(dsn) == first
    assert other.pseudonym(dsn) != first  # another file, another salt
    uuid = "40e45b84-690c-11e8-acf3-12f911dcfe40"
    fake = one.pseudonym(uuid)
    assert [c == "-" for c in fake] == [c == "-" for c in uuid]
    assert all(c in "0123456789abcdef-" for c in fake) and fake != uuid


def test_location_redacted_everywhere_and_still_parses() -> None:
    obj = sample("location")
    text = redact(obj, "dsn,uuid,location,ip")
    for secret in ("AC000W000340779", "40e45b84-690c-11e8-acf3-12f911dcfe40", "67.255.234.73", "44.7695", "69.4283"):
        assert secret not in text
    event = parse_frame(text, 0.0)
    assert isinstance(event, Location)
    assert event.seq == 1 and event.dsn and event.dsn != "AC000W000340779"
    assert event.lat == pytest.approx(44.77) and event.long == pytest.approx(-69.43)
    assert event.ip is None and event.note is None


def test_location_removed() -> None:
    event = parse_frame(redact(sample("location"), "location:remove"), 0.0)
    assert isinstance(event, Location) and event.lat is None and event.long is None


def test_ack_ids_and_values_masked() -> None:
    obj = sample("datapointack")
    text = redact(obj, "uuid,values:Blue_LED")
    assert "160c8c90-bfe4-11e8-87f4-8d732085e587" not in text
    event = parse_frame(text, 0.0)
    assert isinstance(event, DatapointAck)
    assert event.ack_id and event.ack_id != "160c8c90-bfe4-11e8-87f4-8d732085e587"
    assert event.raw_value == 0 and event.property_name == "Blue_LED"


@pytest.mark.parametrize("value", ["secret text", 42.5, {"nested": "secret"}, ["secret"], True, None])
def test_any_value_is_masked(value: Any) -> None:
    obj = sample("datapoint")
    obj["datapoint"]["value"] = value
    event = parse_frame(redact(obj, "values:" + obj["metadata"]["property_name"]), 0.0)
    assert isinstance(event, Datapoint)
    assert event.raw_value in (0, MASK)
    assert "secret" not in event.raw


def test_other_properties_untouched_byte_for_byte() -> None:
    frame = encode_frame(json.dumps(sample("datapoint"), indent=1))
    assert Redactor(parse_redaction("values:Not_this_one,location"), SALT).frame(frame) == frame


def test_bad_frames_lose_known_identifiers_and_ips() -> None:
    redactor = Redactor(parse_redaction("dsn,ip"), SALT)
    redactor.frame(encode_frame(sample("location")))
    out = redactor.frame("garbage about AC000W000340779 from 10.1.2.3")
    assert "AC000W000340779" not in out and "10.1.2.3" not in out
    assert isinstance(parse_frame(out, 0.0), MalformedFrame)


@given(st.text(max_size=300))
def test_any_text_in_never_a_crash(text: str) -> None:
    redactor = Redactor(parse_redaction("dsn,uuid,location,ip,values:x"), SALT)
    assert isinstance(redactor.frame(text), str)
    assert isinstance(redactor.frame("12|" + text), str)


def test_compact_and_spaced_json_get_the_same_pseudonyms() -> None:
    """Compact JSON takes a path without decoding; spaced JSON is decoded: the same result."""
    redactor = Redactor(parse_redaction("dsn,uuid"), SALT)
    obj = sample("datapointack")
    compact = parse_frame(redactor.frame(encode_frame(obj)), 0.0)
    spaced = parse_frame(redactor.frame(encode_frame(json.dumps(obj, indent=2))), 0.0)
    assert isinstance(compact, DatapointAck) and isinstance(spaced, DatapointAck)
    assert (compact.dsn, compact.user_uuid, compact.ack_id) == (spaced.dsn, spaced.user_uuid, spaced.ack_id)
    assert compact.dsn != obj["metadata"]["dsn"] and compact.ack_id != obj["datapoint"]["ack_id"]


def test_a_dsn_under_two_keys_gets_one_pseudonym() -> None:
    """A location names its DSN in metadata and in its body: both get the same
    pseudonym, the one the device has in every other frame (not a pseudonym
    of the pseudonym)."""
    redactor = Redactor(parse_redaction("dsn"), SALT)
    obj = sample("location")
    event = parse_frame(redactor.frame(encode_frame(obj)), 0.0)
    expected = redactor.pseudonym("AC000W000340779")
    assert isinstance(event, Location) and event.dsn == expected
    assert json.loads(event.raw)["location_event"]["dsn"] == expected
