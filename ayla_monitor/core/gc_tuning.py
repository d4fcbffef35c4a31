"""Garbage collection for long runs with many live objects: :func:`tune_garbage_collector`."""

from __future__ import annotations

import gc

__all__ = ["tune_garbage_collector"]


def tune_garbage_collector() -> None:
    """Freeze what exists at start and make collections rarer.

    The window: with a 100,000-row log the heap holds millions of objects,
    and each automatic full (generation 2) collection measured up to 120 ms
    here, the event loop's p99 lag. The recorder: a burst allocates a few
    objects per event, and the default gen-0 threshold (700) scanned young
    objects thousands of times a second; with this, 5% less CPU per event
    (benchmarks/ingest.py). What exists at start (modules, Qt bindings) is
    frozen out of collections; the app creates few reference cycles, so
    memory stays bounded (benchmarks/gui_load.py, benchmarks/ingest.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)
