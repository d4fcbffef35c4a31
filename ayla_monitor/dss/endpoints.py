"""Where DSS streams live: the host table and URL building.

The URL built here carries the key; :func:`display_url` is the one to show,
log or store.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.keys import mask_key

__all__ = [
    "CLIENT_TYPES",
    "REGIONS",
    "DEPLOYMENTS",
    "HOSTS",
    "host_for",
    "base_url_for",
    "stream_url",
    "display_url",
    "ReplayWindow",
]

CLIENT_TYPES = ("cloud", "mobile")
REGIONS = ("us", "eu", "cn")
DEPLOYMENTS = ("dev", "field")

#: (client_type, region, deployment) -> host, as documented by Ayla.
HOSTS: dict[tuple[str, str, str], str] = {
    ("cloud", "us", "dev"): "stream.aylanetworks.com",
    ("cloud", "us", "field"): "stream-field.aylanetworks.com",
    ("cloud", "eu", "field"): "stream-field-eu.aylanetworks.com",
    ("cloud", "cn", "dev"): "stream.ayla.com.cn",
    ("cloud", "cn", "field"): "stream-field.ayla.com.cn",
    ("mobile", "us", "dev"): "mstream-dev.aylanetworks.com",
    ("mobile", "us", "field"): "mstream-field.aylanetworks.com",
    ("mobile", "eu", "field"): "mstream-field-eu.aylanetworks.com",
    ("mobile", "cn", "dev"): "mstream-dev.ayla.com.cn",
    ("mobile", "cn", "field"): "mstream-field.ayla.com.cn",
}


def host_for(client_type: str, region: str, deployment: str) -> str:
    """The documented host, or a :class:`ConfigError` naming what does not exist."""
    try:
        return HOSTS[(client_type, region, deployment)]
    except KeyError:
        offered = sorted(f"{r}/{d}" for (c, r, d) in HOSTS if c == client_type)
        if not offered:
            raise ConfigError(
                f"client type {client_type!r} is unknown; use one of {', '.join(CLIENT_TYPES)}"
            ) from None
        raise ConfigError(
            f"Ayla has no {client_type} stream host for region {region!r}, deployment "
            f"{deployment!r}; {client_type} streams exist for {', '.join(offered)}"
        ) from None


@dataclass(frozen=True, slots=True)
class ReplayWindow:
    """An optional window of the subscription's replay buffer."""

    seq_start: int | None = None
    seq_end: int | None = None

    def __post_init__(self) -> None:
        if self.seq_end is not None and self.seq_start is None:
            raise ConfigError("a last seq needs a first seq (seq_end only works with seq_start)")
        if self.seq_start is not None and self.seq_start < 0:
            raise ConfigError(f"first seq must be 0 or more, not {self.seq_start}")
        if self.seq_start is not None and self.seq_end is not None and self.seq_end < self.seq_start:
            raise ConfigError(f"last seq {self.seq_end} comes before first seq {self.seq_start}")


def stream_url(base_url: str, key: str, replay: ReplayWindow | None = None) -> str:
    """``base_url`` (``wss://HOST/stream`` or any custom URL) with the key and
    the replay window added to its query."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("ws", "wss"):
        raise ConfigError(f"a stream URL starts with ws:// or wss://, not {base_url!r}")
    if not parts.hostname:
        raise ConfigError(f"the stream URL {base_url!r} has no host")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("stream_key", "seq_start", "seq_end")]
    query.append(("stream_key", key))
    if replay is not None and replay.seq_start is not None:
        query.append(("seq_start", str(replay.seq_start)))
        if replay.seq_end is not None:
            query.append(("seq_end", str(replay.seq_end)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/stream", urlencode(query), ""))


def display_url(url: str) -> str:
    """``url`` safe to show, log or store: the stream key masked."""
    parts = urlsplit(url)
    query = "&".join(
        f"{quote(k)}={mask_key(v) if k == 'stream_key' else quote(v)}" for k, v in parse_qsl(parts.query)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def base_url_for(client_type: str, region: str, deployment: str) -> str:
    """``wss://HOST/stream`` for a documented host."""
    return f"wss://{host_for(client_type, region, deployment)}/stream"
