"""Frames to row tuples: the writer's hot path.

One tuple per frame, in :data:`EVENT_COLUMNS` / :data:`MALFORMED_COLUMNS`
order (and one per :class:`~ayla_monitor.dss.events.SeqGap`, in
:data:`GAP_COLUMNS` order), built with no per-row dicts or function calls beyond what the value
needs. Text longer than its column is cut here (``raw`` keeps the whole
event); a ``seq`` outside BIGINT becomes ``NULL``. Lone surrogates (from
``\\ud800`` escapes) are only looked for when the driver refuses a batch
(:func:`clean_rows`), so the common case pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ayla_monitor.dss.events import (
    Connectivity,
    Datapoint,
    DatapointAck,
    LeanEvent,
    Location,
    MalformedFrame,
    Registration,
    SeqGap,
    value_text,
)

__all__ = [
    "EVENT_COLUMNS",
    "MALFORMED_COLUMNS",
    "GAP_COLUMNS",
    "LATEST_COLUMNS",
    "LATEST_RAW_TYPES",
    "latest_rows",
    "SEQ",
    "RAW",
    "NOTE",
    "CONFLICT_SEQ",
    "build_rows",
    "clean_rows",
    "Row",
]

Row = tuple[Any, ...]

EVENT_COLUMNS = (
    "stream_id",
    "seq",
    "event_type",
    "oem_id",
    "oem_model",
    "dsn",
    "time",
    "user_uuid",
    "property_name",
    "base_type",
    "display_name",
    "value",
    "raw",
    "received_at",
    "note",
    "epoch",
    "conflict_seq",
)
#: positions in an event row that the writer reads back
SEQ, RAW, NOTE, CONFLICT_SEQ = (EVENT_COLUMNS.index(c) for c in ("seq", "raw", "note", "conflict_seq"))
MALFORMED_COLUMNS = ("stream_id", "received_at", "reason", "raw")
GAP_COLUMNS = ("stream_id", "epoch", "first_seq", "last_seq", "seen_at", "state", "detail")

#: ``device_latest``'s columns: the key (device, type, property) first
LATEST_COLUMNS = (
    "dsn",
    "event_type",
    "property_name",
    "oem_id",
    "oem_model",
    "time",
    "received_at",
    "base_type",
    "display_name",
    "value",
    "raw",
    "stream_id",
    "seq",
)
#: event types whose latest row keeps its raw JSON (the device state reads
#: their bodies; a datapoint's or a connectivity's ``value`` column says enough)
LATEST_RAW_TYPES = ("location", "registration")
_LATEST_RAW = frozenset(LATEST_RAW_TYPES)

_SEQ_MIN = -(2**63)
_SEQ_MAX = 2**63 - 1


def build_rows(
    stream_id: int,
    epoch: int,
    frames: Iterable[Any],
    events: list[Row],
    malformed: list[Row],
    gaps: list[Row],
) -> int | None:
    """Append one row per frame to ``events``, ``malformed`` or ``gaps``;
    return the highest seq among the events (``None`` if none has one).
    Heartbeats and anything else that is not an event, a malformed frame or
    a gap are skipped."""
    top: int | None = None
    add_event = events.append
    add_malformed = malformed.append
    for f in frames:
        cls = f.__class__
        if cls is MalformedFrame:
            add_malformed((stream_id, f.received_at, f.reason, f.raw))
            continue
        if cls is SeqGap:
            gaps.append((stream_id, f.epoch, f.first, f.last, f.seen_at, f.state, f.detail))
            continue
        try:
            seq = f.seq
        except AttributeError:  # a heartbeat: nothing to store
            continue
        if seq is not None:
            if _SEQ_MIN <= seq <= _SEQ_MAX:
                if top is None or seq > top:
                    top = seq
            else:
                seq = None
        if cls is LeanEvent:  # the recorder's: its columns read from the JSON once
            et, oi, om, dsn, tm, uu, pn, bt, dn, v = f.columns
        else:
            if cls is Datapoint or cls is DatapointAck or isinstance(f, Datapoint):
                v = f.raw_value
                t = v.__class__
                if t is not str:
                    v = str(v) if t is int else value_text(v)
                pn = f.property_name
                bt = f.base_type
                dn = f.display_name
            else:
                pn = bt = dn = None
                if cls is Connectivity:
                    v = f.status
                elif cls is Registration:
                    r = f.registered
                    v = None if r is None else ("registered" if r else "unregistered")
                elif cls is Location:
                    lat = f.lat
                    lng = f.long
                    v = None if lat is None or lng is None else f"{lat!r}, {lng!r}"
                else:
                    v = None
            et = f.event_type
            oi = f.oem_id
            om = f.oem_model
            dsn = f.dsn
            tm = f.time
            uu = f.user_uuid
        if pn is not None and len(pn) > 255:
            pn = pn[:255]
        if bt is not None and len(bt) > 32:
            bt = bt[:32]
        if dn is not None and len(dn) > 255:
            dn = dn[:255]
        add_event(
            (
                stream_id,
                seq,
                et if et is None or len(et) <= 32 else et[:32],
                oi if oi is None or len(oi) <= 32 else oi[:32],
                om if om is None or len(om) <= 32 else om[:32],
                dsn if dsn is None or len(dsn) <= 32 else dsn[:32],
                tm if tm is None or len(tm) <= 32 else tm[:32],
                uu if uu is None or len(uu) <= 64 else uu[:64],
                pn,
                bt,
                dn,
                v,
                f.raw,
                f.received_at,
                f.note,
                epoch,
                None,
            )
        )
    return top


def latest_rows(events: Sequence[Row]) -> list[Row]:
    """One ``device_latest`` row per (device, type, property) among the
    event rows ``events`` (in the order stored: the last one wins), sorted by
    key so that two writers lock the same rows in the same order."""
    latest: dict[tuple[str, str, str], Row] = {}
    for row in events:
        dsn = row[5]
        if dsn is not None:
            latest[(dsn, row[2] or "", row[8] or "")] = row
    return [
        (*key, r[3], r[4], r[6], r[13], r[9], r[10], r[11], r[12] if key[1] in _LATEST_RAW else None, r[0], r[1])
        for key, r in sorted(latest.items())
    ]


def _clean_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates become their JSON escape (``\\ud800``), which keeps
        # ``raw`` valid JSON that decodes to what was sent.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def clean_rows(rows: Sequence[Row]) -> list[Row]:
    """``rows`` with every text UTF-8 encodable (slow path, after a refusal)."""
    return [tuple(_clean_text(x) if isinstance(x, str) else x for x in row) for row in rows]
