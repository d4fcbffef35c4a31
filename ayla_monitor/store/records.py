"""Plain data the store hands out and takes in.

Model classes never leave ``ayla_monitor.store``; callers (core, UI, CLI)
get these frozen dataclasses, which hold no connection and can cross threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "StreamRecord",
    "GapRecord",
    "StoredEvent",
    "StoredMalformed",
    "WriterReport",
    "EventColumn",
    "STORED_COLUMNS",
    "COLUMNS",
    "EXPORT_COLUMNS",
    "stored_raw",
]


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """A stream as stored: never its key, only a fingerprint of it."""

    id: int
    name: str
    display_url: str
    fingerprint: str
    subscription_type: str | None
    last_seq: int | None
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class GapRecord:
    """Seqs ``first_seq``..``last_seq`` of a stream's ``epoch`` that did not
    arrive, and what became of them (``state``: open, filled, partial, lost
    or oversized)."""

    id: int
    stream_id: int
    stream_name: str | None
    epoch: int
    first_seq: int
    last_seq: int
    seen_at: float
    state: str
    detail: str | None
    closed_at: float | None

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of ``events``; ``raw`` is the JSON as received.

    ``value`` is the text shown for the event: a datapoint's (or ack's) value
    as sent (JSON for non-strings), a connectivity status, ``registered`` /
    ``unregistered``, or a location's ``lat, long``. Text columns of the
    original schema are cut to their widths; ``raw`` never is.
    """

    id: int
    stream_id: int | None
    stream_name: str | None
    seq: int | None
    event_type: str | None
    oem_id: str | None
    oem_model: str | None
    dsn: str | None
    time: str | None
    user_uuid: str | None
    property_name: str | None
    base_type: str | None
    display_name: str | None
    value: str | None
    raw: str | None
    received_at: float | None
    note: str | None


@dataclass(frozen=True, slots=True)
class StoredMalformed:
    """A frame that was not a DSS event, kept with the reason."""

    id: int
    stream_id: int | None
    stream_name: str | None
    received_at: float
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class WriterReport:
    """The writer's health after a commit or a failure.

    ``stored``: frames the database wrote so far (events, conflicts and bad
    frames; never the duplicates it already had); ``pending``: accepted and
    not yet committed; ``error``: the last failure as one sentence, ``None``
    once writing works again.
    """

    stored: int
    pending: int
    error: str | None
    #: stream id -> (events stored, duplicates, conflicts, bad frames stored), since the writer started
    counts: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventColumn:
    """One column of a stored event, named once for every place that lists
    them: ``name`` is the :class:`StoredEvent` attribute and the export's
    field, ``header`` what a table shows above it, ``db`` the ``events``
    column it is read from; ``exported`` says whether CSV has it (``raw``
    goes whole into a JSON line as ``event`` instead)."""

    name: str
    header: str
    db: str
    exported: bool = True


#: A stored event's columns in :class:`StoredEvent` order (its ``stream_name``
#: aside, which comes from ``stream``): what the store selects, what an export
#: writes, and the headers of the log and History.
STORED_COLUMNS: tuple[EventColumn, ...] = (
    EventColumn("id", "Id", "id"),
    EventColumn("stream", "Stream", "stream_id"),
    EventColumn("seq", "Seq", "seq"),
    EventColumn("event_type", "Type", "event_type"),
    EventColumn("oem_id", "OEM", "oem_id"),
    EventColumn("oem_model", "Model", "oem_model"),
    EventColumn("dsn", "DSN", "dsn"),
    EventColumn("time", "Event time (UTC)", "time"),
    EventColumn("user_uuid", "User", "user_uuid"),
    EventColumn("property_name", "Property", "property_name"),
    EventColumn("base_type", "Base type", "base_type"),
    EventColumn("display_name", "Display name", "display_name"),
    EventColumn("value", "Value", "value"),
    EventColumn("raw", "As received", "raw", exported=False),
    EventColumn("received_at", "Received", "received_at"),
    EventColumn("note", "Note", "note"),
)
#: The same, by name.
COLUMNS: dict[str, EventColumn] = {c.name: c for c in STORED_COLUMNS}
#: The fields of an exported event, in order (a JSON line adds ``event``).
EXPORT_COLUMNS: tuple[str, ...] = tuple(c.name for c in STORED_COLUMNS if c.exported)


def stored_raw(value: Any) -> str | None:
    """The event as received, from what the ``raw`` column holds: every
    reader of the column goes through here, so a change in how it is
    stored (compressed, say) is one change."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
