"""Retention as the engine runs it: at start, then every ``interval``
seconds (or at once when the setting changes), everything older than
``days`` days is deleted in small batches with pauses between them, so the
writer and the readers never wait long (:mod:`ayla_monitor.store.retention`
says how a batch is chosen and locked).

The pruning uses a connection of its own: on MySQL the advisory lock that
keeps several recorders from pruning at once belongs to that connection,
and a long prune never holds up the engine's own reads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ayla_monitor.core.store_opening import open_store
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.retention import BATCH, PruneResult, cutoff_for, delete_batch, try_lock, unlock

__all__ = ["Retention", "INTERVAL", "PAUSE"]

log = logging.getLogger(__name__)

#: Seconds between rounds.
INTERVAL = 15 * 60
#: Seconds between two batches of one round.
PAUSE = 0.2


class Retention:
    """Keep ``days`` days of events in the database at ``url`` (``None``:
    keep everything). Run :meth:`run` as a task; :meth:`set_days` changes the
    setting and starts a round at once."""

    def __init__(
        self,
        url: str,
        days: float | None = None,
        *,
        interval: float = INTERVAL,
        pause: float = PAUSE,
        batch: int = BATCH,
        clock: Callable[[], float] = time.time,
        on_pruned: Callable[[PruneResult], object] | None = None,
    ) -> None:
        self.url = url
        self.days = days
        self.interval = interval
        self.pause = pause
        self.batch = batch
        self.clock = clock
        self.on_pruned = on_pruned
        #: events and malformed frames deleted since start.
        self.deleted = 0
        #: rounds run (including skipped ones), and the last round's outcome.
        self.rounds = 0
        self.last: PruneResult | None = None
        self._wake = asyncio.Event()
        self._store: Store | None = None

    def set_days(self, days: float | None) -> None:
        if days != self.days:
            self.days = days
            self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                if self.days:
                    await self.round()
                self._wake.clear()
                try:  # (not wait_for: on 3.11 it can swallow a cancel that comes with the wake-up)
                    async with asyncio.timeout(self.interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            store, self._store = self._store, None
            if store is not None:
                await asyncio.to_thread(store.close)

    async def round(self) -> PruneResult:
        """One pass over everything older than the setting; batches run off
        the loop, with :attr:`pause` between them."""
        days = self.days
        if not days:
            return PruneResult()
        before = cutoff_for(self.clock(), days)
        events = malformed = batches = 0
        locked = False
        try:
            if self._store is None:
                self._store = await open_store(self.url)
            store = self._store
            locked = await asyncio.to_thread(try_lock, store)
            if not locked:
                log.info("Retention: another process is pruning %s; skipped this round", store.description)
                result = PruneResult(skipped=True)
            else:
                while True:
                    done = await asyncio.to_thread(delete_batch, store, before, self.batch)
                    events += done.events
                    malformed += done.malformed
                    batches += 1
                    if done.events < self.batch and done.malformed < self.batch:
                        break
                    await asyncio.sleep(self.pause)
                result = PruneResult(events, malformed, batches)
        except StoreError as exc:
            log.warning("Deleting old events failed: %s", exc)
            result = PruneResult(events, malformed, batches)
        finally:
            if locked and self._store is not None:
                try:
                    await asyncio.to_thread(unlock, self._store)
                except StoreError as exc:  # the connection is gone, and its lock with it
                    log.info("Retention: releasing the lock failed: %s", exc)
        self.rounds += 1
        self.last = result
        self.deleted += result.total
        if result.total:
            log.info(
                "Retention: deleted %d events and %d malformed frames older than %g days",
                result.events,
                result.malformed,
                days,
            )
        if self.on_pruned is not None:
            self.on_pruned(result)
        return result
