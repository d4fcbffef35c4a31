"""``ayla-monitor export``'s own parts: the time bounds a user types, and a
progress line on a terminal. The writing is ``ayla_monitor.store.export``'s,
which the window's export uses too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

__all__ = ["parse_time_bound", "Progress"]


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


class Progress:
    """``12,345,000 events, 131,000/s`` on one line of a terminal: drawn at
    the first count, then at most every ``every`` seconds, and cleared by
    :meth:`done`. On anything that
    is not a terminal (a pipe, a file, a service's log) it writes nothing, so
    scripts see only what they asked for; nor when the export itself goes to
    the terminal (``output``), where the line would land among its rows."""

    def __init__(self, err: TextIO, what: str = "events", *, output: TextIO | None = None,
                 every: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = _terminal(err) and (output is None or not _terminal(output))
        self._err = err
        self._what = what
        self._every = every
        self._clock = clock
        self._started = clock()
        self._shown = -math.inf
        self._width = 0

    def line(self, count: int) -> str:
        """The line shown for ``count`` so far."""
        elapsed = max(self._clock() - self._started, 1e-9)
        return f"{count:,} {self._what}, {count / elapsed:,.0f}/s"

    def __call__(self, count: int) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if now - self._shown >= self._every:
            self._shown = now
            self._draw(self.line(count))

    def _draw(self, text: str) -> None:
        self._err.write("\r" + text.ljust(self._width))
        self._err.flush()
        self._width = len(text)

    def done(self) -> None:
        """Clear the line (the command's summary follows it)."""
        if self.enabled and self._width:
            self._err.write("\r" + " " * self._width + "\r")
            self._err.flush()
            self._width = 0


def _terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
