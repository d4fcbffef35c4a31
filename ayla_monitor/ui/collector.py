"""Garbage collection on the GUI thread only: :class:`MainThreadCollector`.

Why (issue 10, the test suite's SIGSEGVs): Python's cyclic collector runs in
whichever thread happens to allocate when a threshold is crossed, so a
worker thread (a query, the store's writer feeder, qasync's executor) could
free a cycle holding Qt objects. A ``QObject`` destroyed off its own thread
cannot unregister its timers ("Timers cannot be stopped from another
thread"); the GUI thread's dispatcher then fires a timer at freed memory:
``QTimerInfoList::activateTimers`` -> ``QCoreApplication::notifyInternal2``
-> SIGSEGV, the native backtrace of every crash (gdb, 2 of 2 runs; the
Python trace only showed pytest-qt or qasync processing events). The
objects were qasync loops of earlier tests: ``QEventLoop.close()`` stops its
``_SimpleTimer`` without killing the timers still registered (a
``wait_for`` timeout of 30 s, for instance).

So the automatic collector is switched off and this object collects on the
GUI thread, by the same thresholds, a few times a second: the same amount of
collecting, never in the wrong thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["MainThreadCollector", "INTERVAL_MS"]

#: How often the thresholds are checked: a gen-0 collection of 20,000 young
#: objects takes about a millisecond, so checking often costs nothing.
INTERVAL_MS = 100
#: The young generation is collected at least this often (in checks) even
#: below its threshold: the count is allocations minus frees, so a burst
#: that made cycles and freed the rest would otherwise wait for the next one.
FORCE_EVERY = 10


class MainThreadCollector(QObject):
    """Switches automatic garbage collection off and collects on a GUI-thread timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("main-thread-collector")
        self.collections = 0
        self._idle_checks = 0
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setObjectName("gc-timer")
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        """Collect the generation whose threshold is crossed (as the automatic collector would)."""
        t0, t1, t2 = gc.get_threshold()
        c0, c1, c2 = gc.get_count()
        self._idle_checks += 1
        if c0 <= t0 and (c0 <= 0 or self._idle_checks < FORCE_EVERY):
            return
        self._idle_checks = 0
        generation = 0
        if c1 > t1:
            generation = 1
            if c2 > t2:
                generation = 2
        gc.collect(generation)
        self.collections += 1

    def stop(self) -> None:
        """Give collection back to Python."""
        self.timer.stop()
        if self._was_enabled:
            gc.enable()


def install(app: QObject) -> MainThreadCollector:
    """One collector for ``app`` (the QApplication): installed once, kept with it."""
    existing = app.findChild(MainThreadCollector, "main-thread-collector")
    if isinstance(existing, MainThreadCollector):
        return existing
    return MainThreadCollector(app)
