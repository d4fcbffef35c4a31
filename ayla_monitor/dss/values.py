"""Property values typed by their Ayla base type.

A value that does not fit its base type is kept as sent, with a note saying
so: a monitor shows what the device sent, it does not guess.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["typed_value", "parse_coordinate", "as_number"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def typed_value(base_type: str | None, value: Any) -> tuple[Any, str | None]:
    """``(typed value, note)``: booleans as ``bool``, integers as ``int``,
    decimals and floats as ``float`` (also when sent as a string); text types
    as they came. The note is ``None`` when the value fit its type."""
    if value is None or base_type is None:
        return value, None
    if base_type == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value), None
        if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
            return value.strip().lower() in ("1", "true"), None
    elif base_type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str):
            try:
                return int(value.strip()), None
            except ValueError:
                pass
    elif base_type in ("decimal", "float"):
        number = _number(value) if not isinstance(value, bool) else None
        if number is not None:
            return number, None
    elif base_type in ("string", "message", "file"):
        if isinstance(value, str):
            return value, None
    else:
        return value, f"base type {base_type!r} is unknown"
    return value, f"value {str(value)[:40]!r} is not a {base_type}"


def parse_coordinate(value: Any) -> float | None:
    """A latitude or longitude (sent as text, maybe padded with spaces)."""
    number = _number(value) if not isinstance(value, bool) else None
    return number


def as_number(value: Any) -> float | None:
    """A value as a number for charts and sparklines, or ``None`` if it is not one."""
    return _number(value)
