"""Stream keys: the only secret DSS needs. Validate, mask, fingerprint.

A key is shown masked (first and last four characters) and stored only as a
fingerprint; nothing else in the program should hold it as text for display.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

__all__ = ["is_valid_key", "normalize_key", "mask_key", "key_fingerprint", "redact", "RedactingLogger"]

_KEY = re.compile(r"[0-9a-f]{32}")
_KEY_ANYWHERE = re.compile(r"(?i)(?<![0-9a-f])([0-9a-f]{4})[0-9a-f]{24}([0-9a-f]{4})(?![0-9a-f])")


def normalize_key(text: str) -> str:
    """A pasted key without surrounding white space, in lower case."""
    return text.strip().lower()


def is_valid_key(key: str) -> bool:
    """True for 32 lowercase hex characters, the shape of every DSS key."""
    return _KEY.fullmatch(key) is not None


def mask_key(key: str) -> str:
    """``2f62…4567``: enough to tell keys apart, not enough to use one."""
    if len(key) <= 8:
        return "…" if key else ""
    return f"{key[:4]}…{key[-4:]}"


def key_fingerprint(key: str) -> str:
    """A stable, irreversible identifier of a key (16 hex characters of SHA-256)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def redact(text: str) -> str:
    """``text`` with anything shaped like a stream key masked (for log lines
    and messages that may quote a URL)."""
    return _KEY_ANYWHERE.sub(r"\1…\2", text)


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger for ``websockets`` that masks anything key-shaped: its DEBUG
    lines quote the request path, and the path holds the key."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            kwargs.pop("extra", None)
            self.logger.log(level, "%s", redact(text), **kwargs)
