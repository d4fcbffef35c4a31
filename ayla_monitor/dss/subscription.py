"""Stream definitions, and reading the subscription JSON users paste.

A :class:`StreamDefinition` is everything needed to open one stream. Its
``repr`` masks the key, so it can be logged; :attr:`StreamDefinition.key` is
the only way to the key itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ayla_monitor.dss.endpoints import (
    CLIENT_TYPES,
    ReplayWindow,
    base_url_for,
    display_url,
    stream_url,
)
from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.events import EVENT_TYPES
from ayla_monitor.dss.keys import is_valid_key, key_fingerprint, mask_key, normalize_key

__all__ = ["StreamDefinition", "parse_subscription", "SUBSCRIPTION_TYPES"]

SUBSCRIPTION_TYPES = EVENT_TYPES


@dataclass(frozen=True, slots=True)
class StreamDefinition:
    """One stream: where (``base_url``, without the key), with which key, and
    which replay window to ask for on the first connection."""

    name: str
    base_url: str
    key: str = field(repr=False)
    subscription_type: str | None = None
    replay: ReplayWindow = ReplayWindow()

    def __post_init__(self) -> None:
        if not is_valid_key(self.key):
            raise ConfigError(
                f"a stream key is 32 hexadecimal characters; {mask_key(self.key)!r} "
                f"({len(self.key)} characters) is not one"
            )
        stream_url(self.base_url, self.key)  # validates the URL

    @classmethod
    def create(
        cls,
        key: str,
        *,
        name: str | None = None,
        url: str | None = None,
        client_type: str = "cloud",
        region: str = "us",
        deployment: str = "field",
        subscription_type: str | None = None,
        replay: ReplayWindow | None = None,
    ) -> StreamDefinition:
        """Build from what a user types: a key and either a URL or a host choice."""
        key = normalize_key(key)
        base = url if url else base_url_for(client_type, region, deployment)
        return cls(
            name=name or f"{subscription_type or 'stream'} {mask_key(key)}",
            base_url=base,
            key=key,
            subscription_type=subscription_type,
            replay=replay or ReplayWindow(),
        )

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)

    @property
    def masked_key(self) -> str:
        return mask_key(self.key)

    def url(self, replay: ReplayWindow | None = None) -> str:
        """The URL to connect to (holds the key: never show or log it)."""
        return stream_url(self.base_url, self.key, self.replay if replay is None else replay)

    @property
    def display_url(self) -> str:
        return display_url(self.url())

    def with_replay(self, replay: ReplayWindow) -> StreamDefinition:
        return replace(self, replay=replay)


def parse_subscription(text: str) -> dict[str, Any]:
    """The fields of a pasted subscription (``{"subscription": {...}}`` or the
    inner object), checked: ``stream_key``, ``client_type``,
    ``subscription_type``, ``name`` and the labels, as a dict ready for
    :meth:`StreamDefinition.create`. Raises :class:`ConfigError` saying what is
    wrong with the paste."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the pasted text is not JSON ({exc.args[0]})") from None
    if isinstance(obj, dict) and isinstance(obj.get("subscription"), dict):
        obj = obj["subscription"]
    if not isinstance(obj, dict):
        raise ConfigError("the pasted JSON is not a subscription object")
    key = obj.get("stream_key")
    if not isinstance(key, str):
        raise ConfigError("the pasted subscription has no stream_key")
    key = normalize_key(key)
    if not is_valid_key(key):
        raise ConfigError(f"the pasted stream_key {mask_key(key)!r} is not 32 hexadecimal characters")
    client_type = obj.get("client_type") or "cloud"
    if client_type not in CLIENT_TYPES:
        raise ConfigError(f"the pasted client_type {client_type!r} is not cloud or mobile")
    sub_type = obj.get("subscription_type")
    if sub_type is not None and sub_type not in SUBSCRIPTION_TYPES:
        raise ConfigError(f"the pasted subscription_type {sub_type!r} is unknown")
    name = obj.get("name") or obj.get("description")
    if not name:
        ident = obj.get("id")
        name = f"{sub_type or 'stream'} #{ident}" if ident is not None else None
    return {
        "key": key,
        "client_type": client_type,
        "subscription_type": sub_type,
        "name": str(name) if name else None,
        "oem": obj.get("oem"),
        "dsn": obj.get("dsn"),
    }
