"""Recorder status rows: each recorder writing into a database tells, every
few seconds, who it is and how its streams are doing, in the ``recorders``
table (one row per running process; its primary key is an id the process
draws at start).

The table is not part of the versioned schema: it is created when first
needed (``create_tables(safe=True)``; InnoDB with a primary key on
MySQL/MariaDB, like every table of the schema, so a replicated or Galera
cluster takes it), and a database without it simply has no recorder to
show. Stream keys never reach it: a stream is its name, its display URL
(the key masked again here) and its masked key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import peewee
from peewee import BigIntegerField, CharField, DoubleField, IntegerField

from ayla_monitor.dss.keys import redact
from ayla_monitor.store.database import Store
from ayla_monitor.store.models import BaseModel, LongTextField
from ayla_monitor.store.schema import MYSQL_CHARSET

__all__ = [
    "Recorder",
    "RecorderRow",
    "RecorderStream",
    "ensure_recorders_table",
    "publish",
    "read_recorders",
    "forget",
    "STALE_FACTOR",
]

#: A recorder whose row was not updated for this many of its intervals is stale.
STALE_FACTOR = 3
#: Seconds a recorder's row stays after its last update.
KEEP_GONE = 7 * 86_400.0


class Recorder(BaseModel):
    """One running recorder (or window that records)."""

    id = CharField(max_length=64, primary_key=True)
    host = CharField(max_length=255)
    pid = IntegerField()
    version = CharField(max_length=64)
    role = CharField(max_length=32, default="recorder")
    state = CharField(max_length=32)
    #: JSON: a list of :class:`RecorderStream` objects
    streams = LongTextField()
    last_seq = BigIntegerField(null=True)
    rate = DoubleField(default=0.0)
    open_gaps = IntegerField(default=0)
    events = BigIntegerField(default=0)
    started_at = DoubleField()
    updated_at = DoubleField()
    #: seconds between two updates (stale after STALE_FACTOR of them)
    interval = DoubleField()

    class Meta:
        table_name = "recorders"


@dataclass(frozen=True, slots=True)
class RecorderStream:
    """One stream of a recorder, as shown to others: never its key."""

    stream_id: int
    name: str
    url: str
    key: str  # masked: ``2f62…4567``
    state: str
    detail: str = ""
    last_seq: int | None = None
    epoch: int = 0
    events: int = 0
    stored: int = 0
    rate: float = 0.0
    open_gaps: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class RecorderRow:
    id: str
    host: str
    pid: int
    version: str
    state: str
    started_at: float
    updated_at: float
    interval: float
    role: str = "recorder"
    last_seq: int | None = None
    rate: float = 0.0
    open_gaps: int = 0
    events: int = 0
    streams: tuple[RecorderStream, ...] = field(default_factory=tuple)

    def stale(self, now: float) -> bool:
        """Not updated for :data:`STALE_FACTOR` intervals (killed, hung or cut off)."""
        return self.state != "stopped" and now - self.updated_at > STALE_FACTOR * self.interval

    def shown_state(self, now: float) -> str:
        return "stale" if self.stale(now) else self.state

    def as_json(self, now: float) -> dict[str, Any]:
        data = asdict(self)
        data["streams"] = [asdict(s) for s in self.streams]
        data["stale"] = self.stale(now)
        return data


def _is_mysql(database: peewee.Database) -> bool:
    return isinstance(database, peewee.MySQLDatabase)


def ensure_recorders_table(database: peewee.Database) -> None:
    """Create the table if it is missing (safe when several processes do it at once)."""
    if Recorder._meta.table_name in database.get_tables():
        return
    with database.bind_ctx([Recorder], bind_refs=False, bind_backrefs=False):
        database.create_tables([Recorder], safe=True)
    if _is_mysql(database):
        table = Recorder._meta.table_name
        database.execute_sql(f"ALTER TABLE `{table}` ENGINE=InnoDB, CONVERT TO {MYSQL_CHARSET}")


def _clean(stream: RecorderStream) -> dict[str, Any]:
    data = asdict(stream)
    for key in ("name", "url", "key", "detail"):
        data[key] = redact(str(data[key]))
    return data


def publish(store: Store, row: RecorderRow) -> None:
    """Write (insert or replace) the recorder's row."""
    values = {
        "id": row.id,
        "host": row.host[:255],
        "pid": row.pid,
        "version": row.version[:64],
        "role": row.role[:32],
        "state": row.state[:32],
        "streams": json.dumps([_clean(s) for s in row.streams]),
        "last_seq": row.last_seq,
        "rate": row.rate,
        "open_gaps": row.open_gaps,
        "events": row.events,
        "started_at": row.started_at,
        "updated_at": row.updated_at,
        "interval": row.interval,
    }

    def work(db: peewee.Database) -> None:
        ensure_recorders_table(db)
        Recorder.replace(**values).execute(db)
        # Rows of recorders gone for a week are history: dropped.
        Recorder.delete().where(Recorder.updated_at < row.updated_at - KEEP_GONE).execute(db)

    store._call(work)


def forget(store: Store, recorder_id: str) -> None:
    def work(db: peewee.Database) -> None:
        if Recorder._meta.table_name in db.get_tables():
            Recorder.delete().where(Recorder.id == recorder_id).execute(db)

    store._call(work)


def _stream(data: Any) -> RecorderStream | None:
    if not isinstance(data, dict):
        return None
    known = {k: data[k] for k in RecorderStream.__slots__ if k in data}
    try:
        return RecorderStream(**known)
    except TypeError:
        return None


def read_recorders(store: Store) -> list[RecorderRow]:
    """Every recorder that reported to this database, most recent first
    (none when the table does not exist yet)."""

    def work(db: peewee.Database) -> list[Any]:
        if Recorder._meta.table_name not in db.get_tables():
            return []
        query = Recorder.select().order_by(Recorder.updated_at.desc()).dicts().bind(db)
        return list(query)

    rows = []
    for r in store._call(work):
        try:
            decoded = json.loads(r["streams"] or "[]")
        except ValueError:
            decoded = []
        streams = tuple(s for s in (_stream(d) for d in decoded if isinstance(decoded, list)) if s is not None)
        rows.append(
            RecorderRow(
                id=r["id"],
                host=r["host"],
                pid=r["pid"],
                version=r["version"],
                state=r["state"],
                started_at=r["started_at"],
                updated_at=r["updated_at"],
                interval=r["interval"],
                role=r["role"],
                last_seq=r["last_seq"],
                rate=r["rate"],
                open_gaps=r["open_gaps"],
                events=r["events"],
                streams=streams,
            )
        )
    return rows
