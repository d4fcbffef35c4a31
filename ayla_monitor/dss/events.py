"""What one DSS text frame turns into.

Every frame becomes exactly one of: :class:`Heartbeat`, one event class per
documented event type, :class:`UnknownEvent` (a JSON object of a type we do
not know, kept whole) or :class:`MalformedFrame` (not a DSS frame at all, kept
with its reason and raw text). Consumers ``match`` on these classes.

Every event keeps ``raw``, the JSON text exactly as received, so that nothing
the server sent is lost and the store never re-serialises.

Events are slotted dataclasses and are treated as immutable once built, but
they are not ``frozen``: a frozen dataclass sets each field through
``object.__setattr__``, which measured 3.1 µs per datapoint here against
0.3 µs, a third of the whole parse, on the path every event takes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "EVENT_TYPES",
    "BASE_TYPES",
    "Heartbeat",
    "HEARTBEAT",
    "DssEvent",
    "Connectivity",
    "Datapoint",
    "DatapointAck",
    "Location",
    "Registration",
    "UnknownEvent",
    "MalformedFrame",
    "LeanEvent",
    "SeqGap",
    "Frame",
    "Event",
    "value_text",
]

#: The five documented ``metadata.event_type`` values, in the order users see them.
EVENT_TYPES = ("connectivity", "datapoint", "datapointack", "location", "registration")

#: Documented property base types (``float`` appears in older templates).
BASE_TYPES = ("boolean", "integer", "decimal", "float", "string", "message", "file")

#: A JSON value after typing by base type.
Value: TypeAlias = bool | int | float | str | None | list[Any] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server's ``1|Z``; the client answers ``Z``."""


HEARTBEAT = Heartbeat()


@dataclass(slots=True)
class DssEvent:
    """Fields every event has (any may be ``None`` when the server left it out).

    ``seq`` is the subscription's sequence number (``None`` if missing or not
    an integer); ``time`` is the instant the event describes (ISO 8601 UTC as
    sent); ``received_at`` is when this client read the frame (epoch seconds);
    ``note`` says what was odd about an event that was still understood
    (a length prefix that disagrees, a missing body, an untyped value).
    """

    seq: int | None
    event_type: str
    oem_id: str | None
    oem_model: str | None
    dsn: str | None
    resource_tags: tuple[str, ...]
    user_uuid: str | None
    time: str | None
    received_at: float
    raw: str
    note: str | None

    @property
    def pretty_json(self) -> str:
        """The event as indented JSON (the raw text when it is not JSON)."""
        try:
            return json.dumps(json.loads(self.raw), indent=2, ensure_ascii=False)
        except ValueError:
            return self.raw


@dataclass(slots=True)
class Connectivity(DssEvent):
    status: str | None

    @property
    def online(self) -> bool | None:
        if self.status is None:
            return None
        return self.status.lower() == "online"


@dataclass(slots=True)
class Datapoint(DssEvent):
    """A property value. ``value`` is typed by ``base_type`` where it fits,
    else kept as sent; ``raw_value`` is always as sent."""

    property_name: str | None
    display_name: str | None
    base_type: str | None
    value: Value
    raw_value: Value
    datapoint_id: str | None
    echo: bool | None
    created_at: str | None
    created_at_from_device: str | None
    updated_at: str | None


@dataclass(slots=True)
class DatapointAck(Datapoint):
    ack_status: int | None
    ack_message: Value
    ack_id: str | None
    acked_at: str | None


@dataclass(slots=True)
class Location(DssEvent):
    """``lat``/``long`` as numbers when they parse (the wire sends padded strings)."""

    ip: str | None
    lat: float | None
    long: float | None
    provider: str | None


@dataclass(slots=True)
class Registration(DssEvent):
    registered: bool | None
    registration_type: str | None


@dataclass(slots=True)
class UnknownEvent(DssEvent):
    """A JSON object whose event type is not one of :data:`EVENT_TYPES`."""


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame that is not a DSS heartbeat or event; kept, never dropped."""

    raw: str
    reason: str
    received_at: float


@dataclass(slots=True)
class LeanEvent:
    """An event a recorder only stores: checked like any event (a metadata
    block, a valid seq), decoded once, and read straight into the columns the
    store keeps (:func:`~ayla_monitor.dss.frames.lean_columns`, the same
    rules as the typed events), without the typed event in between: building
    it and reading it again was 40% of the recorder's parsing and row
    building (issue 11). ``columns``: event type, OEM id, OEM model, DSN,
    time, user UUID, property name, base type, display name, value text."""

    seq: int
    received_at: float
    raw: str
    note: str | None
    columns: tuple[Any, ...]

    @property
    def event_type(self) -> str:
        return str(self.columns[0])

    @property
    def dsn(self) -> str | None:
        dsn: str | None = self.columns[3]
        return dsn

    @property
    def time(self) -> str | None:
        """The event's own time, as the typed event has it."""
        time: str | None = self.columns[4]
        return time


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Seqs ``first``..``last`` of the stream's ``epoch`` did not arrive.

    Not a frame: the client notes it in the batch where the jump was seen,
    so that the store records it in order with the events. ``state`` is
    ``open`` (the server may still hold them), ``filled``, ``lost`` (the
    server no longer has them) or ``oversized`` (refused for its size);
    a gap recorded again with another state updates the first record.
    """

    epoch: int
    first: int
    last: int
    seen_at: float
    state: str = "open"
    detail: str = ""

    @property
    def size(self) -> int:
        return self.last - self.first + 1


Event: TypeAlias = Connectivity | Datapoint | DatapointAck | Location | Registration | UnknownEvent
Frame: TypeAlias = Heartbeat | Event | MalformedFrame


def value_text(value: Value) -> str | None:
    """A datapoint value as the text stored and shown: strings as they are,
    anything else as compact JSON (``0``, ``1.5``, ``true``)."""
    if value is None:
        return None
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return repr(value)  # what json.dumps writes for a finite float, without its machinery
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
