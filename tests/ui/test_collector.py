"""The GUI thread's garbage collector: young objects at every check, the
survivors of growth frozen, everything collected every FULL_SECONDS."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable
from typing import Any

from ayla_monitor.ui.collector import FULL_SECONDS, GROWTH, MainThreadCollector


class Node:
    me: Any = None


def cycle() -> tuple[Node, list[bool]]:
    """A node in a reference cycle (only a collection frees it) and what says it was freed."""
    node = Node()
    node.me = node
    freed: list[bool] = []
    weakref.finalize(node, freed.append, True)
    return node, freed


def grow() -> list[list[int]]:
    """Live objects enough for the heap to have grown by more than GROWTH."""
    return [[i] for i in range(int(sys.getallocatedblocks() * GROWTH) + 10_000)]


def test_young_cycles_go_at_every_check_and_frozen_ones_at_the_full_pass(qapp: Any) -> None:
    now = [0.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    collector = MainThreadCollector(qapp, interval_ms=3_600_000, clock=clock)  # checked by hand
    try:
        node, freed = cycle()
        del node
        collector.check()
        assert freed == [True] and collector.full_collections == 0  # a young cycle, at the next check

        old, old_freed = cycle()  # alive while the heap grows: frozen with it
        frozen = gc.get_freeze_count()
        kept = grow()
        collector.check()
        assert collector.full_collections == 1
        assert gc.get_freeze_count() >= frozen + len(kept)  # what survived growth is frozen
        collector.check()
        assert collector.full_collections == 1  # no growth since: young objects only

        del old
        collector.check()
        assert old_freed == []  # frozen: no check reads it...
        now[0] += FULL_SECONDS
        collector.check()
        assert old_freed == [True] and collector.full_collections == 2  # ...until the full pass
        del kept
    finally:
        collector.stop()
        collector.deleteLater()
        gc.unfreeze()
