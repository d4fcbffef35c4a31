"""Retention: deleting what is older than the user wants to keep, one small
batch per call, so that a caller can pause between batches and nothing
(the writer, the window's queries) waits long for the database.

The ``(time)`` index finds old events without reading the table; malformed
frames go by their ``received_at`` (they have no event time).
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee

from ayla_monitor.store.database import Store
from ayla_monitor.store.history import iso_of

__all__ = ["RetentionBatch", "cutoff_for", "delete_batch", "BATCH"]

#: Rows per transaction: a few tens of milliseconds on either backend.
BATCH = 1000


@dataclass(frozen=True, slots=True)
class RetentionBatch:
    events: int
    malformed: int

    @property
    def total(self) -> int:
        return self.events + self.malformed


def cutoff_for(now: float, days: int) -> float:
    """The instant before which events are deleted when keeping ``days`` days."""
    return now - days * 86_400.0


def delete_batch(store: Store, before: float, batch: int = BATCH) -> RetentionBatch:
    """Delete at most ``batch`` events whose time is before ``before`` (epoch
    seconds) and at most ``batch`` malformed frames received before it.
    Call again while it returns a full batch."""
    before_iso = iso_of(before)
    mysql = isinstance(store._db, peewee.MySQLDatabase)

    def work(db: peewee.Database) -> RetentionBatch:
        with db.atomic():
            if mysql:
                events = db.execute_sql(
                    "DELETE FROM `events` WHERE `time` < %s LIMIT %s", (before_iso, batch)
                ).rowcount
                malformed = db.execute_sql(
                    "DELETE FROM `malformed_frames` WHERE `received_at` < %s LIMIT %s", (before, batch)
                ).rowcount
            else:
                events = db.execute_sql(
                    'DELETE FROM "events" WHERE "id" IN (SELECT "id" FROM "events" WHERE "time" < ? LIMIT ?)',
                    (before_iso, batch),
                ).rowcount
                malformed = db.execute_sql(
                    'DELETE FROM "malformed_frames" WHERE "id" IN '
                    '(SELECT "id" FROM "malformed_frames" WHERE "received_at" < ? LIMIT ?)',
                    (before, batch),
                ).rowcount
        return RetentionBatch(int(events), int(malformed))

    return store._call(work)
