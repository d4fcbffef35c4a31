"""The states a stream's link goes through, as the client reports them."""

from __future__ import annotations

import enum

__all__ = ["StreamState"]


class StreamState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
