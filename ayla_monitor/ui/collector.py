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
GUI thread, a few times a second, never in the wrong thread.

What it collects (issue 12: 10,000 devices at 5,000 events/s, a full log):
the window keeps ~350,000 objects that live for seconds to hours (log rows,
the devices' states and figures) and makes almost no reference cycles
(none in 150,000 events), so a collection is nearly all cost. The young
objects are collected at every check, a tenth of a second's worth at a
time: a pause of a few milliseconds (it reads every object they point
to: 40 ns a reference, 12,000 young objects with 190,000 references took
7 ms; collected once a second they took 10-25 ms). When the live
objects grew by a quarter (:data:`GROWTH`: the log filling, devices
arriving) everything not frozen is collected and what survives is frozen
(``gc.freeze``): the long-lived state is not read again by any collection,
each object of it once as it grows. Every :data:`FULL_SECONDS` everything
is unfrozen, collected and frozen again, so that a cycle that lived a
while and then was dropped (a closed dialog, a finished query, even one
frozen in a growth's pass) is freed. A window whose heap
stays the same size pays nothing else; Python's own generations (and
``tune_garbage_collector``'s thresholds) went over every survivor every 50
young collections: 234 ms of CPU each minute or so at that load, and the
whole heap (280 ms) rarely.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["MainThreadCollector", "INTERVAL_MS", "GROWTH", "FULL_SECONDS"]

#: How often the young objects are collected (milliseconds). Not by their
#: count: that is allocations minus frees, near zero while the log's oldest
#: rows are freed as fast as new ones come, however many young objects wait.
INTERVAL_MS = 100
#: Everything not frozen is collected, and the survivors frozen, once the
#: allocated blocks grew by this fraction since the last such pass
#: (CPython's own rule for its oldest generation is a quarter more objects).
GROWTH = 0.25
#: Everything, frozen or not, is collected this often (seconds).
FULL_SECONDS = 600.0


class MainThreadCollector(QObject):
    """Switches automatic garbage collection off and collects on a GUI-thread timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("main-thread-collector")
        #: collections made: of the young objects, of the whole heap
        self.collections = 0
        self.full_collections = 0
        self._clock = clock
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._full_at = clock()
        self._blocks = sys.getallocatedblocks()
        self.timer = QTimer(self)
        self.timer.setObjectName("gc-timer")
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        """Collect the young objects; the whole heap when it grew by
        :data:`GROWTH` or :data:`FULL_SECONDS` went by."""
        if sys.getallocatedblocks() > self._blocks * (1 + GROWTH):
            self.collect_all(freeze=True)
            return
        if self._clock() - self._full_at >= FULL_SECONDS:
            gc.unfreeze()
            self.collect_all(freeze=True)
            return
        gc.collect(0)
        self.collections += 1

    def collect_all(self, *, freeze: bool = False) -> None:
        """Every generation now (what is frozen excepted); ``freeze``: what
        survives is frozen (until the next pass every :data:`FULL_SECONDS`)."""
        gc.collect()
        if freeze:
            gc.freeze()
        self.collections += 1
        self.full_collections += 1
        self._full_at = self._clock()
        self._blocks = sys.getallocatedblocks()

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
