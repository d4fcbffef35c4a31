"""The spill file: frames the database could not take, kept as JSON Lines.

When the writer stops with frames it could not store, it writes them here
rather than lose them; ``ayla-monitor import FILE`` puts them back. A spill
file holds customer data, so it is created readable by its owner only
(mode 0600, whatever the umask), and never replaces an existing file.

One line per frame::

    {"stream_id": 3, "epoch": 0, "seq": 41, "received_at": 1700000000.5,
     "raw": "{...the event as received...}"}
    {"stream_id": 3, "epoch": 0, "seq": null, "received_at": 1700000001.0,
     "raw": "not json", "reason": "payload is not JSON"}

``reason`` marks a malformed frame. Lines written before epochs existed have
no ``epoch``: they read as epoch 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SpillLine", "Unreadable", "spill_line", "write_spill", "read_spill", "SPILL_MODE"]

#: Owner read/write only: the frames are customer data.
SPILL_MODE = 0o600


@dataclass(frozen=True, slots=True)
class SpillLine:
    """One frame from a spill file; ``reason`` is set for a malformed frame."""

    stream_id: int
    epoch: int
    seq: int | None
    received_at: float | None
    raw: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line of a spill file that is not a spilled frame (cut short, edited)."""

    number: int
    why: str


def spill_line(stream_id: int, frame: Any) -> dict[str, Any]:
    """The JSON object of one frame (an event or a ``MalformedFrame``)."""
    line: dict[str, Any] = {
        "stream_id": stream_id,
        "epoch": getattr(frame, "epoch", None) or 0,
        "seq": getattr(frame, "seq", None),
        "received_at": getattr(frame, "received_at", None),
        "raw": getattr(frame, "raw", None),
    }
    reason = getattr(frame, "reason", None)
    if reason is not None:
        line["reason"] = reason
    return line


def write_spill(path: Path, lines: Iterable[dict[str, Any]]) -> int:
    """Create ``path`` (mode 0600; ``FileExistsError`` if it exists) and write
    ``lines`` to it, synced to disk; returns how many. A partly written file
    is removed, so that a failure leaves nothing half-saved behind."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SPILL_MODE)
    count = 0
    try:
        os.fchmod(fd, SPILL_MODE)  # the umask may have taken bits away, never adds them: be exact
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False))
                out.write("\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return count


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse(number: int, text: str) -> SpillLine | Unreadable:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Unreadable(number, f"not JSON ({exc.msg})")
    if not isinstance(obj, dict):
        return Unreadable(number, "not a JSON object")
    stream_id = _int(obj.get("stream_id"))
    if stream_id is None:
        return Unreadable(number, "no stream_id")
    raw = obj.get("raw")
    if not isinstance(raw, str):
        return Unreadable(number, "no raw frame text")
    received = obj.get("received_at")
    reason = obj.get("reason")
    return SpillLine(
        stream_id=stream_id,
        epoch=_int(obj.get("epoch")) or 0,
        seq=_int(obj.get("seq")),
        received_at=float(received) if isinstance(received, (int, float)) else None,
        raw=raw,
        reason=str(reason) if reason is not None else None,
    )


def read_spill(path: Path) -> Iterator[SpillLine | Unreadable]:
    """The frames of a spill file, in order; a line that cannot be read is
    reported as :class:`Unreadable` with its number, never skipped silently.
    Raises ``OSError`` if the file cannot be opened."""
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, 1):
            text = text.strip()
            if text:
                yield _parse(number, text)
