"""Reconnection policy, pure: how long to wait before the next attempt.

The client only applies it; tests drive it with their own random source.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped, reset after a healthy period.

    ``next_delay()`` gives the wait before the next attempt; ``connected(t)``
    and ``disconnected(t)`` tell it when a link came up and went down, so that
    a link that stayed up for ``healthy_after`` seconds resets the sequence.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    healthy_after: float = 60.0
    jitter: Callable[[], float] = random.random
    attempt: int = 0
    _up_since: float | None = None

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * self.factor**self.attempt)
        self.attempt += 1
        # Keep at least half the delay so that a fleet does not reconnect at once
        # yet never hammers the server.
        return ceiling * (0.5 + 0.5 * self.jitter())

    def connected(self, now: float) -> None:
        self._up_since = now

    def disconnected(self, now: float) -> None:
        if self._up_since is not None and now - self._up_since >= self.healthy_after:
            self.attempt = 0
        self._up_since = None

    def reset(self) -> None:
        self.attempt = 0
        self._up_since = None
