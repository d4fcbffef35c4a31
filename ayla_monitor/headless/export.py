"""Stored events out as CSV or JSON Lines, one event per row or line.

Rows stream from the database in chunks, so an export of millions of events
needs no more memory than one chunk. Stream keys are never stored, so they
cannot leak into an export.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from ayla_monitor.store.records import StoredEvent, StoredMalformed

__all__ = ["EVENT_FIELDS", "MALFORMED_FIELDS", "write_events", "write_malformed", "parse_time_bound"]

EVENT_FIELDS = (
    "id",
    "stream",
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
    "received_at",
    "note",
)
MALFORMED_FIELDS = ("id", "stream", "received_at", "reason", "raw")


def _iso(epoch: float | None) -> str | None:
    """Rows from the original table may have no received time."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time_bound(text: str, *, end: bool = False) -> str:
    """A user's ``--since``/``--until`` as the ISO text stored in ``time``
    (``2018-09-24`` or ``2018-09-24T10:26`` or with a zone). The store treats
    the upper bound as exclusive, so an ``--until`` is moved just past what the
    user named: a bare date to the next midnight, a time by one second (event
    times have whole seconds). Raises ValueError with the reason."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or time; use e.g. 2018-09-24 or 2018-09-24T10:26:37Z"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if end:
        moment += timedelta(days=1) if len(text.strip()) == 10 else timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_row(event: StoredEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "stream": event.stream_name,
        "seq": event.seq,
        "event_type": event.event_type,
        "oem_id": event.oem_id,
        "oem_model": event.oem_model,
        "dsn": event.dsn,
        "time": event.time,
        "user_uuid": event.user_uuid,
        "property_name": event.property_name,
        "base_type": event.base_type,
        "display_name": event.display_name,
        "value": event.value,
        "received_at": _iso(event.received_at),
        "note": event.note,
    }


def _raw_json(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def write_events(events: Iterable[StoredEvent], fmt: str, out: TextIO) -> int:
    """Write ``events`` as ``csv`` or ``jsonl``; returns how many. A JSON line
    also carries the whole event as received under ``event``."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, EVENT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow(_event_row(event))
            count += 1
    else:
        for event in events:
            row = _event_row(event)
            row["event"] = _raw_json(event.raw)
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def write_malformed(frames: Iterable[StoredMalformed], fmt: str, out: TextIO) -> int:
    """Write the kept bad frames: when, from which stream, why, and the raw text."""
    rows: Iterator[dict[str, Any]] = (
        {
            "id": f.id,
            "stream": f.stream_name,
            "received_at": _iso(f.received_at),
            "reason": f.reason,
            "raw": f.raw,
        }
        for f in frames
    )
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, MALFORMED_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
            count += 1
    return count
