"""How values, times and durations read in the window (no Qt here).

Everything a stream sends is turned into plain text by these functions; the
widgets show it with ``Qt.PlainText`` and tooltips go through
:func:`tooltip_text`, so markup in a value shows as the characters it is.
"""

from __future__ import annotations

import html
import json
import math
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ONE_LINE_LIMIT",
    "one_line",
    "elide_middle",
    "format_value",
    "format_received",
    "format_event_time",
    "format_ago",
    "format_duration",
    "format_count",
    "format_bytes",
    "tooltip_text",
    "file_name",
    "is_openable_url",
]

#: Longest text a table cell or tile line keeps; the rest is on demand.
ONE_LINE_LIMIT = 300


def one_line(text: str, limit: int = ONE_LINE_LIMIT) -> str:
    """``text`` on one line (line breaks and tabs shown as spaces), cut to ``limit``
    characters with an ellipsis. Keeps cells and tiles one line high."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ").replace("\r", " ").replace("\t", " ")
    return text


def elide_middle(text: str, limit: int) -> str:
    """``abcdef…uvwxyz``: long identifiers keep both ends."""
    if len(text) <= limit:
        return text
    half = max(1, (limit - 1) // 2)
    return f"{text[:half]}…{text[-half:]}"


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def format_value(base_type: str | None, value: Any) -> str:
    """A property value for a tile or a log cell: booleans as on/off, numbers
    with the precision they came with, text as it is (one line, elided)."""
    if value is None:
        return "—"
    if base_type == "boolean":
        if value in (True, 1, "1", "true", "True"):
            return "on"
        if value in (False, 0, "0", "false", "False"):
            return "off"
    if base_type in ("decimal", "float"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _number_text(float(value))
        if isinstance(value, str):
            return one_line(value.strip())
    if base_type == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if base_type == "file" and isinstance(value, str):
        return file_name(value)
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, int):
        return str(value)
    return one_line(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def file_name(url: str) -> str:
    """The last path part of a file property's URL (what a link shows)."""
    path = url.split("?", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1] if "/" in path else path
    return one_line(name or url, 80)


def is_openable_url(url: str) -> bool:
    """Only http(s) links are opened from the window; anything else is text."""
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://"))


def format_received(epoch: float) -> str:
    """Local wall time with milliseconds: ``14:03:07.125``."""
    try:
        moment = datetime.fromtimestamp(epoch)
    except (OverflowError, OSError, ValueError):
        return "?"
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_event_time(text: str | None) -> str:
    """The event's own time (UTC as sent), shortened to ``2018-09-24 10:26:37``."""
    if not text:
        return ""
    short = text.replace("T", " ").removesuffix("Z")
    if len(short) > 19 and short[19] == ".":
        short = short[:19]
    return one_line(short, 40)


def parse_iso(text: str | None) -> float | None:
    """ISO 8601 (``...Z``) as epoch seconds, or ``None``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_duration(seconds: float) -> str:
    """``12 s``, ``3 min``, ``2 h 5 min``, ``4 d``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


def format_ago(then: float | None, now: float) -> str:
    """``just now``, ``12 s ago``, ``never``."""
    if then is None:
        return "never"
    delta = now - then
    if delta < 1:
        return "just now"
    return f"{format_duration(delta)} ago"


def format_count(n: int) -> str:
    return f"{n:,}"


def format_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def tooltip_text(text: str, limit: int = 4000) -> str:
    """A tooltip that shows ``text`` as the characters it is (Qt renders
    tooltips as rich text when they look like HTML): escaped, line breaks kept,
    cut at ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    body = html.escape(text).replace("\n", "<br>")
    return f"<p style='white-space:pre-wrap'>{body}</p>"
