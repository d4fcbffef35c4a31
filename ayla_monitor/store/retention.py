"""Retention: deleting what is older than the user wants to keep, one small
batch per call, so that a caller can pause between batches and nothing
(the writer, the window's queries) waits long for the database.

A batch is found on the ``(time)`` index (the ids ride along in it, so the
table itself is not read), then deleted **by primary key ranges** under the
same time bound: ``DELETE … WHERE id BETWEEN a AND b AND time < X``. On
MySQL/MariaDB the batch runs at ``READ COMMITTED``, so InnoDB locks only the
rows it deletes (no gap or next-key locks): the writer, which appends new ids
at the end of the table, never waits on it. Malformed frames go by their
``received_at`` (they have no event time), oldest ids first.

Several processes on one MySQL server prune one at a time: :func:`prune`
holds the named advisory lock ``ayla_monitor.retention`` (``GET_LOCK``,
without waiting) while it runs, and a process that does not get it skips
that round. On SQLite the database file's own write lock already serialises
the writers; two prunes there simply take turns, batch by batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from ayla_monitor.store.database import Store
from ayla_monitor.store.history import iso_of

__all__ = [
    "RetentionBatch",
    "PruneResult",
    "cutoff_for",
    "delete_batch",
    "id_ranges",
    "prune",
    "try_lock",
    "unlock",
    "BATCH",
    "LOCK_NAME",
]

#: Rows per transaction: a few tens of milliseconds on either backend.
BATCH = 1000
#: The MySQL advisory lock that lets one process prune at a time.
LOCK_NAME = "ayla_monitor.retention"


@dataclass(frozen=True, slots=True)
class RetentionBatch:
    events: int
    malformed: int

    @property
    def total(self) -> int:
        return self.events + self.malformed


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one :func:`prune` did. ``skipped``: another process held the lock."""

    events: int = 0
    malformed: int = 0
    batches: int = 0
    skipped: bool = False

    @property
    def total(self) -> int:
        return self.events + self.malformed


def cutoff_for(now: float, days: float) -> float:
    """The instant before which events are deleted when keeping ``days`` days."""
    return now - days * 86_400.0


def id_ranges(ids: list[int], span: int) -> list[tuple[int, int]]:
    """Sorted ``ids`` as ``(first, last)`` ranges; a new range starts where
    the next id is more than ``span`` past the previous one, so that no range
    covers much more of the table than the ids it holds."""
    ranges: list[tuple[int, int]] = []
    for i in sorted(ids):
        if ranges and i - ranges[-1][1] <= span:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    return ranges


def _is_mysql(store: Store) -> bool:
    return isinstance(store._db, peewee.MySQLDatabase)


def delete_batch(store: Store, before: float, batch: int = BATCH) -> RetentionBatch:
    """Delete at most ``batch`` events whose time is before ``before`` (epoch
    seconds) and at most ``batch`` malformed frames received before it.
    Call again while it returns a full batch."""
    before_iso = iso_of(before)
    mysql = _is_mysql(store)
    mark = "%s" if mysql else "?"
    q = "`" if mysql else '"'

    def one(db: peewee.Database, table: str, column: str, bound: object, order: str) -> int:
        rows = db.execute_sql(
            f"SELECT {q}id{q} FROM {q}{table}{q} WHERE {q}{column}{q} < {mark} "
            f"ORDER BY {q}{order}{q} LIMIT {int(batch)}",
            (bound,),
        ).fetchall()
        if not rows:
            return 0
        if mysql:  # rows only, no gap locks: the writer's inserts never wait on this
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        deleted = 0
        with db.atomic():
            for first, last in id_ranges([int(r[0]) for r in rows], batch):
                deleted += db.execute_sql(
                    f"DELETE FROM {q}{table}{q} WHERE {q}id{q} BETWEEN {mark} AND {mark} "
                    f"AND {q}{column}{q} < {mark}",
                    (first, last, bound),
                ).rowcount
        return int(deleted)

    def work(db: peewee.Database) -> RetentionBatch:
        events = one(db, "events", "time", before_iso, "time")
        malformed = one(db, "malformed_frames", "received_at", before, "id")
        if events < batch:
            # The pass's last batch: a latest-state row older than the bound
            # stands for events that are all gone now (one row per device,
            # type and property: a small table, deleted once per pass).
            with db.atomic():
                db.execute_sql(f"DELETE FROM {q}device_latest{q} WHERE {q}time{q} < {mark}", (before_iso,))
        return RetentionBatch(events, malformed)

    return store._call(work)


def try_lock(store: Store) -> bool:
    """Take the retention lock without waiting (MySQL); always ``True`` on
    SQLite, where the file lock serialises writers."""
    if not _is_mysql(store):
        return True

    def work(db: peewee.Database) -> bool:
        row = db.execute_sql("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,)).fetchone()
        return bool(row and row[0] == 1)

    return store._call(work)


def unlock(store: Store) -> None:
    if _is_mysql(store):
        store._call(lambda db: db.execute_sql("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,)))


def prune(
    store: Store,
    before: float,
    *,
    batch: int = BATCH,
    pause: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
) -> PruneResult:
    """Delete everything older than ``before`` in batches of ``batch``,
    ``pause`` seconds apart, under the retention lock; stops early when
    ``stop()`` says so. Blocking: call it off the event loop. On MySQL, use a
    store of its own (the lock belongs to the connection)."""
    if not try_lock(store):
        return PruneResult(skipped=True)
    events = malformed = batches = 0
    try:
        while not stop():
            done = delete_batch(store, before, batch)
            events += done.events
            malformed += done.malformed
            batches += 1
            if done.events < batch and done.malformed < batch:
                break
            if pause:
                sleep(pause)
    finally:
        unlock(store)
    return PruneResult(events, malformed, batches)
