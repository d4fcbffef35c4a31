"""DSS text frames: ``LENGTH|PAYLOAD`` in, typed frames out, and back.

Pure code: no sockets, no loop, no clock (``received_at`` is a parameter).
The simulator encodes with :func:`encode_frame`, so what it serves is what
:func:`parse_frame` reads.

Rules (from the DSS documentation, made robust):

- split on the *first* ``|`` only: values may contain ``|`` and even ``|Z``;
- ``1|Z`` is a heartbeat and nothing else is: ``|Z``, ``NaN|Z`` or a bare
  ``Z`` are bad frames;
- an event must have a ``metadata`` object and a ``seq`` that is a positive
  integer (as a number or a decimal string) that fits in 64 bits; anything
  else is kept as a :class:`MalformedFrame` with the reason, because the
  store tells events apart by their seq;
- ``LENGTH`` may count characters or UTF-8 bytes (servers differ once text is
  not ASCII); when it matches neither but the JSON is a valid event, the event
  is kept with a note;
- anything that is not an integer prefix followed by a JSON object is a
  :class:`MalformedFrame`, with the reason, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ayla_monitor.dss.events import (
    HEARTBEAT,
    Connectivity,
    Datapoint,
    DatapointAck,
    Event,
    Frame,
    LeanEvent,
    Location,
    MalformedFrame,
    Registration,
    UnknownEvent,
    value_text,
)
from ayla_monitor.dss.values import parse_coordinate, typed_value

__all__ = [
    "parse_frame",
    "parse_frame_lean",
    "parse_event",
    "lean_columns",
    "encode_frame",
    "loads_json",
    "json_integer",
    "HEARTBEAT_FRAME",
    "HEARTBEAT_REPLY",
    "SEQ_MAX",
]

HEARTBEAT_FRAME = "1|Z"
HEARTBEAT_REPLY = "Z"

_fast_loads: Callable[[str], Any]
try:  # orjson decodes DSS events about twice as fast; json stays the reference
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - orjson is a dependency, but keep working without it
    _fast_loads = json.loads
_loads = json.loads
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def loads_json(text: str) -> Any:
    """Decode JSON text: orjson, or Python's json where orjson refuses what
    json reads (lone surrogates, NaN, integers past 64 bits). Raises
    ``ValueError`` (or ``RecursionError``) as :func:`json.loads` does."""
    try:
        return _fast_loads(text)
    except Exception:
        return _loads(text)


def encode_frame(payload: dict[str, Any] | str) -> str:
    """One DSS text frame for an event object (or for JSON text as is).

    The length is that of the UTF-8 encoded payload.
    """
    text = payload if isinstance(payload, str) else _dumps(payload)
    return f"{len(text.encode('utf-8', 'surrogatepass'))}|{text}"


def _decode(text: str, received_at: float) -> tuple[dict[str, Any], str, str | None] | Frame:
    """A heartbeat, a malformed frame, or ``(object, payload, note)`` for an
    object that can be stored as an event."""
    if text == HEARTBEAT_FRAME:
        return HEARTBEAT
    bar = text.find("|")
    if bar < 0:
        return MalformedFrame(text, "no '|' separating length and payload", received_at)
    prefix = text[:bar]
    payload = text[bar + 1 :]
    if payload == "Z":
        return MalformedFrame(text, f"a heartbeat is '1|Z', not {text[:20]!r}", received_at)
    try:
        length = int(prefix)
    except ValueError:
        return MalformedFrame(text, f"length prefix {prefix[:20]!r} is not a number", received_at)
    try:
        obj = _fast_loads(payload)
    except Exception:
        # orjson refuses some JSON that Python's json reads (lone surrogates,
        # NaN, integers past 64 bits); json has the last word.
        try:
            obj = _loads(payload)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            return MalformedFrame(text, f"payload is not valid JSON ({exc})", received_at)
        except RecursionError:
            return MalformedFrame(text, "payload is JSON nested too deeply to read", received_at)
    if obj.__class__ is not dict:
        kind = type(obj).__name__
        return MalformedFrame(text, f"payload is a JSON {kind}, not an object", received_at)
    refusal = _not_an_event(obj)
    if refusal is not None:
        return MalformedFrame(text, refusal, received_at)
    note = None
    if length != len(payload) and length != len(payload.encode("utf-8", "surrogatepass")):
        note = f"length prefix {length} does not match the payload ({len(payload)} characters)"
    return obj, payload, note


def parse_frame(text: str, received_at: float) -> Frame:
    """Turn one text frame into a heartbeat, an event or a malformed frame."""
    decoded = _decode(text, received_at)
    if decoded.__class__ is not tuple:
        return decoded  # type: ignore[return-value]
    obj, payload, note = decoded
    seq = obj["seq"]  # checked by _decode: an int, or a string of digits
    return _typed(obj, payload, received_at, note, seq if seq.__class__ is int else int(seq))


def parse_frame_lean(text: str, received_at: float) -> Frame | LeanEvent:
    """:func:`parse_frame` for a recorder that only stores: an event comes
    back as a :class:`LeanEvent` (its columns read from the JSON once)."""
    decoded = _decode(text, received_at)
    if decoded.__class__ is not tuple:
        return decoded  # type: ignore[return-value]
    obj, payload, note = decoded
    seq = obj["seq"]
    columns, note = lean_columns(obj, note)
    return LeanEvent(seq if seq.__class__ is int else int(seq), received_at, payload, note, columns)


#: The largest seq a store can keep (a signed 64-bit column).
SEQ_MAX = 2**63 - 1


def _not_an_event(obj: dict[str, Any]) -> str | None:
    """Why a JSON object cannot be stored as an event, or ``None``."""
    if obj.get("metadata").__class__ is not dict:
        return "no metadata block" if "metadata" not in obj else "metadata is not a JSON object"
    if "seq" not in obj:
        return "no seq"
    raw = obj["seq"]
    seq = json_integer(raw)
    if seq is None:
        return f"seq {_shown(raw)} is not an integer"
    if seq < 1:
        return f"seq {_shown(raw)} is not a positive integer"
    if seq > SEQ_MAX:
        return f"seq {_shown(raw)} is too large"
    return None


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else _dumps(value)
    return repr(text[:40] + "…" if len(text) > 40 else text)


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return _dumps(value)
    return str(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return None


def json_integer(value: Any) -> int | None:
    """An integer field as sent, a seq or an ``ack_status`` (a JSON integer
    or an ASCII decimal string: no spaces, signs other than ``-``,
    underscores or fractions), or ``None``."""
    if value.__class__ is int:
        return int(value)
    if isinstance(value, str) and value.isascii():
        digits = value[1:] if value.startswith("-") else value
        if digits.isdigit() and len(digits) <= 4000:  # Python reads up to 4,300 digits
            return int(value)
    return None


def _join(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


_BODY_KEY = {
    "connectivity": "connection",
    "datapoint": "datapoint",
    "datapointack": "datapoint",
    "location": "location_event",
    "registration": "registration_event",
}


def parse_event(obj: dict[str, Any], raw: str, received_at: float, note: str | None = None) -> Event:
    """Build the typed event for one decoded JSON object (lenient: missing
    fields become ``None``, an unknown type becomes :class:`UnknownEvent`)."""
    seq = json_integer(obj.get("seq"))
    if seq is None:
        note = _join(note, f"seq {obj.get('seq')!r} is not an integer")
    return _typed(obj, raw, received_at, note, seq)


def _typed(obj: dict[str, Any], raw: str, received_at: float, note: str | None, seq: int | None) -> Event:
    """:func:`parse_event` with the seq read already (:func:`parse_frame`
    checked it).

    On the hot path: events are built positionally, in the field order of
    :mod:`ayla_monitor.dss.events`, and ``_str`` is called only for a field
    that is neither text nor missing (``x if x.__class__ is str or x is None
    else _str(x)``: a call for each of a datapoint's 14 fields was a fifth
    of its parse).
    """
    meta = obj.get("metadata")
    if meta.__class__ is not dict:
        meta = {}
    event_type = meta.get("event_type")
    if event_type.__class__ is not str:
        event_type = _str(event_type) or ""
    tags = meta.get("resource_tags")
    resource_tags = tuple(_str(t) or "" for t in tags) if tags and isinstance(tags, list) else ()
    oem_id = x if (x := meta.get("oem_id")).__class__ is str or x is None else _str(x)
    oem_model = x if (x := meta.get("oem_model")).__class__ is str or x is None else _str(x)
    dsn = x if (x := meta.get("dsn")).__class__ is str or x is None else _str(x)
    body_key = _BODY_KEY.get(event_type)
    if body_key is None:
        what = f"event type {event_type!r} is unknown" if event_type else "no metadata.event_type"
        return UnknownEvent(
            seq, event_type, oem_id, oem_model, dsn, resource_tags, None, None, received_at, raw, _join(note, what)
        )
    body = obj.get(body_key)
    if event_type == "datapointack" and body.__class__ is not dict:
        body = obj.get("datapointack")
    if body.__class__ is not dict:
        note = _join(note, f"body {body_key!r} is missing")
        body = {}
    user_uuid = x if (x := body.get("user_uuid")).__class__ is str or x is None else _str(x)
    # The fields every event starts with, up to (not including) its time.
    who = (seq, event_type, oem_id, oem_model, dsn, resource_tags, user_uuid)

    if event_type == "datapoint" or event_type == "datapointack":
        base_type = x if (x := meta.get("base_type")).__class__ is str or x is None else _str(x)
        raw_value = body.get("value")
        value, value_note = typed_value(base_type, raw_value)
        if value_note is not None:
            note = _join(note, value_note)
        from_device = x if (x := body.get("created_at_from_device")).__class__ is str or x is None else _str(x)
        created = x if (x := body.get("created_at")).__class__ is str or x is None else _str(x)
        echo = body.get("echo")
        fields = who + (
            from_device or created,
            received_at,
            raw,
            note,
            x if (x := meta.get("property_name")).__class__ is str or x is None else _str(x),
            x if (x := meta.get("display_name")).__class__ is str or x is None else _str(x),
            base_type,
            value,
            raw_value,
            x if (x := body.get("id")).__class__ is str or x is None else _str(x),
            echo if echo.__class__ is bool else _bool(echo),
            created,
            from_device,
            x if (x := body.get("updated_at")).__class__ is str or x is None else _str(x),
        )
        if event_type == "datapoint":
            return Datapoint(*fields)
        status = body.get("ack_status")
        return DatapointAck(
            *fields,
            status if status.__class__ is int else json_integer(status),
            body.get("ack_message"),
            x if (x := body.get("ack_id")).__class__ is str or x is None else _str(x),
            x if (x := body.get("acked_at")).__class__ is str or x is None else _str(x),
        )
    if event_type == "connectivity":
        status = _str(body.get("status"))
        return Connectivity(*who, _str(body.get("event_time")), received_at, raw, note, status)
    if event_type == "location":
        where = (
            _str(body.get("ip")),
            parse_coordinate(body.get("lat")),
            parse_coordinate(body.get("long")),
            _str(body.get("provider")),
        )
        return Location(*who, _str(body.get("created_at")), received_at, raw, note, *where)
    registered = _bool(body.get("registered"))
    when = body.get("registered_at") if registered else body.get("unregistered_at")
    return Registration(
        seq,
        event_type,
        oem_id,
        oem_model,
        dsn or _str(body.get("dsn")),
        resource_tags,
        user_uuid,
        _str(when or body.get("registered_at") or body.get("unregistered_at")),
        received_at,
        raw,
        note,
        registered,
        _str(body.get("registration_type")),
    )


def device_facts(obj: dict[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """What a location or a registration event says of its device, read
    straight from the JSON with :func:`parse_event`'s rules (a test holds them
    equal): ``("location", (ip, lat, long, provider))`` or ``("registration",
    (registered, registration_type))``; ``None`` for any other event. The
    window's start folds thousands of stored ones (:mod:`ayla_monitor.fleet.device`):
    a whole typed event each cost three times the JSON's decoding."""
    meta = obj.get("metadata")
    if meta.__class__ is not dict:
        return None
    event_type = meta.get("event_type")
    if event_type.__class__ is not str:
        event_type = _str(event_type) or ""
    if event_type != "location" and event_type != "registration":
        return None
    body = obj.get(_BODY_KEY[event_type])
    if body.__class__ is not dict:
        body = {}
    if event_type == "location":
        where = (_str(body.get("ip")), parse_coordinate(body.get("lat")), parse_coordinate(body.get("long")),
                 _str(body.get("provider")))
        return event_type, where
    return event_type, (_bool(body.get("registered")), _str(body.get("registration_type")))


def lean_columns(obj: dict[str, Any], note: str | None = None) -> tuple[tuple[Any, ...], str | None]:
    """The columns the store keeps for one event object, read straight from
    the JSON with :func:`parse_event`'s rules (a test holds them equal on the
    samples and on the simulator's hostile fleet): ``(event type, OEM id,
    OEM model, DSN, time, user UUID, property name, base type, display
    name, value text)``, and the note with what :func:`parse_event` adds."""
    meta = obj.get("metadata")
    if meta.__class__ is not dict:
        meta = {}
    event_type = meta.get("event_type")
    if event_type.__class__ is not str:
        event_type = _str(event_type) or ""
    oem_id = meta.get("oem_id")
    if oem_id is not None and oem_id.__class__ is not str:
        oem_id = _str(oem_id)
    oem_model = meta.get("oem_model")
    if oem_model is not None and oem_model.__class__ is not str:
        oem_model = _str(oem_model)
    dsn = meta.get("dsn")
    if dsn is not None and dsn.__class__ is not str:
        dsn = _str(dsn)
    body_key = _BODY_KEY.get(event_type)
    if body_key is None:
        what = f"event type {event_type!r} is unknown" if event_type else "no metadata.event_type"
        return (event_type, oem_id, oem_model, dsn, None, None, None, None, None, None), _join(note, what)
    body = obj.get(body_key)
    if event_type == "datapointack" and body.__class__ is not dict:
        body = obj.get("datapointack")
    if body.__class__ is not dict:
        note = _join(note, f"body {body_key!r} is missing")
        body = {}
    user_uuid = body.get("user_uuid")
    if user_uuid is not None and user_uuid.__class__ is not str:
        user_uuid = _str(user_uuid)
    prop = base_type = display = value = None
    if event_type == "datapoint" or event_type == "datapointack":
        # (``x if x.__class__ is str else _str(x)``: the common case without a call)
        base_type = meta.get("base_type")
        if base_type.__class__ is not str:
            base_type = _str(base_type)
        raw_value = body.get("value")
        value_note = typed_value(base_type, raw_value)[1]
        if value_note is not None:
            note = _join(note, value_note)
        time = body.get("created_at_from_device")
        if time.__class__ is not str:
            time = _str(time)
        if not time:
            time = body.get("created_at")
            if time.__class__ is not str:
                time = _str(time)
        prop = meta.get("property_name")
        if prop.__class__ is not str:
            prop = _str(prop)
        display = meta.get("display_name")
        if display.__class__ is not str:
            display = _str(display)
        kind = raw_value.__class__
        value = raw_value if kind is str else str(raw_value) if kind is int else value_text(raw_value)
    elif event_type == "connectivity":
        time = _str(body.get("event_time"))
        value = _str(body.get("status"))
    elif event_type == "location":
        time = _str(body.get("created_at"))
        lat, lng = parse_coordinate(body.get("lat")), parse_coordinate(body.get("long"))
        value = None if lat is None or lng is None else f"{lat!r}, {lng!r}"
    else:
        registered = _bool(body.get("registered"))
        when = body.get("registered_at") if registered else body.get("unregistered_at")
        time = _str(when or body.get("registered_at") or body.get("unregistered_at"))
        dsn = dsn or _str(body.get("dsn"))
        value = None if registered is None else ("registered" if registered else "unregistered")
    return (event_type, oem_id, oem_model, dsn, time, user_uuid, prop, base_type, display, value), note
