"""Builders for the documented DSS event objects, and their frames.

The inverse of :mod:`ayla_monitor.dss.frames`: keyword arguments in, the
JSON object DSS would send out, shaped like Ayla's samples (``seq`` first, a
decimal string; ``metadata``; one body object). The simulator and tests
build every event here, so what they serve is what the parser expects.

Pure code: no I/O and no clock (times are passed in, as epoch seconds or as
ISO text).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ayla_monitor.dss.frames import encode_frame

__all__ = [
    "iso_time",
    "format_coordinate",
    "event_metadata",
    "connectivity_event",
    "datapoint_event",
    "datapointack_event",
    "location_event",
    "registration_event",
    "unsequenced_text",
    "sequenced_frame",
    "MALFORMED_FRAMES",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def iso_time(epoch: float) -> str:
    """``2018-09-24T10:26:37Z``: an instant as DSS writes it (UTC, whole seconds)."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_coordinate(value: float) -> str:
    """A latitude or longitude as DSS sends it: six decimals, padded to the
    width of a negative number (``" 44.769500"``, ``"-69.428300"``)."""
    return f"{value:10.6f}" if abs(value) < 100 else f"{value:11.6f}"


def event_metadata(
    event_type: str,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    resource_tags: list[str] | None = None,
    property_name: str | None = None,
    display_name: str | None = None,
    base_type: str | None = None,
) -> dict[str, Any]:
    """The top-level ``metadata`` object (property fields only for datapoints)."""
    meta: dict[str, Any] = {"oem_id": oem_id, "oem_model": oem_model, "dsn": dsn}
    if property_name is not None:
        meta["property_name"] = property_name
        meta["display_name"] = display_name if display_name is not None else property_name
        meta["base_type"] = base_type
    meta["resource_tags"] = list(resource_tags or [])
    meta["event_type"] = event_type
    return meta


def _event(seq: int | None, metadata: dict[str, Any], body_key: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {} if seq is None else {"seq": str(seq)}
    event["metadata"] = metadata
    event[body_key] = body
    return event


def connectivity_event(
    seq: int | None,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    event_time: str,
    status: str,
    user_uuid: str | None,
    resource_tags: list[str] | None = None,
) -> dict[str, Any]:
    """A ``connectivity`` event (``status`` is ``Online`` or ``Offline``)."""
    meta = event_metadata(
        "connectivity", oem_id=oem_id, oem_model=oem_model, dsn=dsn, resource_tags=resource_tags
    )
    body = {"event_time": event_time, "user_uuid": user_uuid, "status": status}
    return _event(seq, meta, "connection", body)


def _datapoint_body(
    *,
    datapoint_id: str,
    created_at: str,
    value: Any,
    user_uuid: str | None,
    echo: bool,
    created_at_from_device: str | None,
    updated_at: str | None,
) -> dict[str, Any]:
    return {
        "id": datapoint_id,
        "created_at_from_device": created_at_from_device,
        "updated_at": updated_at if updated_at is not None else created_at,
        "created_at": created_at,
        "user_uuid": user_uuid,
        "echo": echo,
        "closed": False,
        "value": value,
    }


def datapoint_event(
    seq: int | None,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    property_name: str,
    base_type: str,
    value: Any,
    datapoint_id: str,
    created_at: str,
    user_uuid: str | None,
    display_name: str | None = None,
    echo: bool = False,
    created_at_from_device: str | None = None,
    updated_at: str | None = None,
    resource_tags: list[str] | None = None,
) -> dict[str, Any]:
    """A ``datapoint`` event: one property value."""
    meta = event_metadata(
        "datapoint",
        oem_id=oem_id,
        oem_model=oem_model,
        dsn=dsn,
        resource_tags=resource_tags,
        property_name=property_name,
        display_name=display_name,
        base_type=base_type,
    )
    body = _datapoint_body(
        datapoint_id=datapoint_id,
        created_at=created_at,
        value=value,
        user_uuid=user_uuid,
        echo=echo,
        created_at_from_device=created_at_from_device,
        updated_at=updated_at,
    )
    body["metadata"] = {}
    return _event(seq, meta, "datapoint", body)


def datapointack_event(
    seq: int | None,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    property_name: str,
    base_type: str,
    value: Any,
    datapoint_id: str,
    created_at: str,
    user_uuid: str | None,
    ack_status: int,
    ack_id: str,
    acked_at: str,
    ack_message: Any = 0,
    display_name: str | None = None,
    echo: bool = False,
    created_at_from_device: str | None = None,
    updated_at: str | None = None,
    resource_tags: list[str] | None = None,
) -> dict[str, Any]:
    """A ``datapointack`` event: the device's answer to a value sent to an
    input property (the body is under ``datapoint``, as in Ayla's sample)."""
    meta = event_metadata(
        "datapointack",
        oem_id=oem_id,
        oem_model=oem_model,
        dsn=dsn,
        resource_tags=resource_tags,
        property_name=property_name,
        display_name=display_name,
        base_type=base_type,
    )
    body = _datapoint_body(
        datapoint_id=datapoint_id,
        created_at=created_at,
        value=value,
        user_uuid=user_uuid,
        echo=echo,
        created_at_from_device=created_at_from_device,
        updated_at=updated_at,
    )
    body["ack_message"] = ack_message
    body["ack_status"] = ack_status
    body["ack_id"] = ack_id
    body["acked_at"] = acked_at
    body["metadata"] = {}
    return _event(seq, meta, "datapoint", body)


def location_event(
    seq: int | None,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    ip: str,
    lat: str,
    long: str,
    provider: str,
    created_at: str,
    user_uuid: str | None,
    resource_tags: list[str] | None = None,
) -> dict[str, Any]:
    """A ``location`` event (``lat``/``long`` as text: see :func:`format_coordinate`)."""
    meta = event_metadata(
        "location", oem_id=oem_id, oem_model=oem_model, dsn=dsn, resource_tags=resource_tags
    )
    body = {
        "dsn": dsn,
        "ip": ip,
        "lat": lat,
        "long": long,
        "provider": provider,
        "user_uuid": user_uuid,
        "created_at": created_at,
    }
    return _event(seq, meta, "location_event", body)


def registration_event(
    seq: int | None,
    *,
    oem_id: str,
    oem_model: str,
    dsn: str,
    registered: bool,
    registration_type: str,
    at: str,
    user_uuid: str | None,
    resource_tags: list[str] | None = None,
) -> dict[str, Any]:
    """A ``registration`` event; ``at`` goes to ``registered_at`` or
    ``unregistered_at`` as ``registered`` says."""
    meta = event_metadata(
        "registration", oem_id=oem_id, oem_model=oem_model, dsn=dsn, resource_tags=resource_tags
    )
    body: dict[str, Any] = {
        "dsn": dsn,
        "user_uuid": user_uuid,
        "registered": registered,
        "registration_type": registration_type,
    }
    body["registered_at" if registered else "unregistered_at"] = at
    return _event(seq, meta, "registration_event", body)


def unsequenced_text(event: dict[str, Any]) -> str:
    """The compact JSON text of an event without its ``seq``.

    One fleet event goes to several subscriptions, each with its own seq:
    serialise once here, then add each seq with :func:`sequenced_frame`.
    """
    if "seq" in event:
        event = {k: v for k, v in event.items() if k != "seq"}
    return _dumps(event)


def sequenced_frame(text: str, seq: int) -> str:
    """The DSS frame for :func:`unsequenced_text` output with ``seq`` put first."""
    if text == "{}":
        return encode_frame(f'{{"seq":"{seq}"}}')
    return encode_frame(f'{{"seq":"{seq}",{text[1:]}')


#: Frames that are not DSS frames, one per way of being wrong, for fault
#: injection: each parses to a :class:`~ayla_monitor.dss.events.MalformedFrame`.
MALFORMED_FRAMES: tuple[str, ...] = (
    'abc|{"seq":"0","metadata":{}}',  # length prefix is not a number
    "17|this is not JSON",  # payload is not JSON
    '9|["a","b"]',  # a JSON array, not an object
    "no separator at all",  # no '|'
    '12|{"seq": "1"',  # truncated JSON
    "",  # empty frame
    "|Z",  # heartbeat look-alikes: only '1|Z' is one
    "NaN|Z",
    '{"a":1|Z',
)
