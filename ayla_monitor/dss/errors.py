"""Errors of the DSS layer, by whose fault they are::

    DssError
    ├── ConfigError          the user asked for something that cannot work
    │                        (unknown region, bad key shape, bad subscription JSON)
    └── StreamError          the stream could not be (or stay) connected
        ├── KeyRejected      the server refused the key at the handshake (401/403/404):
        │   │                final, never retried
        │   └── SettingsRejected  our own settings cannot work (an unsupported proxy
        │                    scheme, a redirect to a URL that is not ws:// or wss://):
        │                    final, never retried; the message starts with
        │                    SETTINGS_REJECTED
        └── LinkError        network, TLS, proxy, server or dead link: retried with backoff
            └── FrameTooLarge  the server sent a frame over our size limit: the
                             client records it and goes on after it

Malformed frames are *not* errors: they are data (:class:`~ayla_monitor.dss.events.MalformedFrame`).
Every message is one sentence a support engineer can act on, and never holds
a stream key unmasked.
"""

from __future__ import annotations

__all__ = [
    "DssError",
    "ConfigError",
    "StreamError",
    "KeyRejected",
    "SettingsRejected",
    "SETTINGS_REJECTED",
    "LinkError",
    "FrameTooLarge",
]

#: How every :class:`SettingsRejected` message starts: a stream's status only
#: keeps the sentence, and the recorder tells this failure (exit 2) from a
#: rejected key (exit 3) by it.
SETTINGS_REJECTED = "cannot work as set up: "


class DssError(Exception):
    """Base of this layer's errors."""


class ConfigError(DssError, ValueError):
    """The user's settings cannot work; nothing was sent."""


class StreamError(DssError):
    """The stream could not be connected or was lost."""


class KeyRejected(StreamError):
    """The server refused the stream key: retrying will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SettingsRejected(KeyRejected):
    """Our connection settings cannot work; retrying will not help. A kind
    of :class:`KeyRejected` so that the client stops on it as on a key."""

    def __init__(self, message: str) -> None:
        super().__init__(SETTINGS_REJECTED + message)


class LinkError(StreamError):
    """Network, TLS, server or dead-link trouble: worth retrying."""


class FrameTooLarge(LinkError):
    """The server sent a frame larger than the client takes (``--max-frame-mb``)."""
