"""Coalesce many calls into a few: the refresh timer of the tiles and the log.

Modelled on qutebrowser's ``misc/throttle.py``: the first call runs at once,
calls within ``delay_ms`` after it are folded into one call at the end of the
window. Tests switch throttling off with :attr:`Throttle.enabled` (then every
call runs immediately) so that they need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["Throttle"]


class Throttle(QObject):
    """Call ``func`` at most once per ``delay_ms`` milliseconds."""

    #: Class-wide switch for tests: ``False`` makes every call immediate.
    enabled = True

    def __init__(self, func: Callable[[], object], delay_ms: int, parent: QObject | None = None,
                 *, name: str = "throttle") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._func = func
        self._delay_ms = delay_ms
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setObjectName(f"{name}-timer")
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    @property
    def delay_ms(self) -> int:
        return self._delay_ms

    def pending(self) -> bool:
        """True while a call is waiting for the end of the window."""
        return self._timer.isActive()

    def __call__(self) -> None:
        if not type(self).enabled or self._delay_ms <= 0:
            self._fire()
            return
        if self._timer.isActive():
            return
        since = (time.monotonic() - self._last) * 1000
        if since >= self._delay_ms:
            self._fire()
        else:
            self._timer.start(max(1, int(self._delay_ms - since)))

    def flush(self) -> None:
        """Run a waiting call now (before closing, or in a test)."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def again(self) -> bool:
        """Ask for one more call on the next turn of the event loop, for work
        done in chunks so that the loop is never held long. ``False`` when
        throttling is off (tests): the caller carries on at once instead."""
        if not type(self).enabled:
            return False
        self._timer.start(0)
        return True

    def cancel(self) -> None:
        self._timer.stop()

    def _fire(self) -> None:
        self._timer.stop()
        self._last = time.monotonic()
        self._func()
