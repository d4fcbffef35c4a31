"""Reading the recorded events: :class:`Store`.

A store holds one connection, shared by whichever threads call it and
serialised by a lock: the UI and the CLI call it from an executor or a
worker thread, never from the event loop. Writing the live stream is the
:class:`~ayla_monitor.store.writer.EventWriter`'s job, on its own thread and
connection; with SQLite in WAL mode the store's reads never block it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import peewee
from peewee import SQL, fn

from ayla_monitor.alerts.evaluate import AlertChange
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import loads_json
from ayla_monitor.dss.keys import redact
from ayla_monitor.fleet.device import VALUE_KEPT, DeviceState, fold_latest
from ayla_monitor.store import alerts
from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.store.connection import explain_failure, make_database, mysql_errno
from ayla_monitor.store.errors import DatabaseUnavailable
from ayla_monitor.store.location import describe_database, is_mysql_url, sqlite_path
from ayla_monitor.store.models import MODELS, SCHEMA_VERSION, DeviceLatest, Event, Gap, MalformedFrame, Stream
from ayla_monitor.store.records import (
    STORED_COLUMNS,
    GapRecord,
    StoredEvent,
    StoredMalformed,
    StreamRecord,
)
from ayla_monitor.store.schema import NewerSchema, ensure_schema
from ayla_monitor.store.selection import event_conditions

__all__ = ["Store", "open_connected"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A stored event's columns, in :class:`StoredEvent` order (``stream_name`` aside).
_EVENT_FIELDS = tuple(Event._meta.columns[c.db] for c in STORED_COLUMNS)
_STREAM_FIELDS = (
    Stream.id,
    Stream.name,
    Stream.display_url,
    Stream.fingerprint,
    Stream.subscription_type,
    Stream.last_seq,
    Stream.epoch,
)
#: MySQL errors after which one reconnect is worth trying.
_RECONNECT_ERRNOS = frozenset({2006, 2013, 2055})
#: The event types of a device's own state (the rest of ``device_latest`` is its properties).
_DEVICE_TYPES = ("connectivity", "location", "registration")
_PROPERTY_TYPES = ("datapoint", "datapointack")
#: DSNs a statement names at most (SQLite before 3.32 takes 999 parameters).
_DSNS_A_READ = 500


def open_connected(url: str, *, shared: bool = False, bulk: bool = False) -> peewee.Database:
    """Connect to ``url``'s database and make sure its schema is there.

    Raises :class:`DatabaseUnavailable` with one sentence naming the database
    (password masked) and the reason.
    """
    if not is_mysql_url(url):
        try:
            sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(explain_failure(exc, url) + ".") from exc
    database = make_database(url, shared=shared, bulk=bulk)
    try:
        database.connect()
        ensure_schema(database)
    except NewerSchema as exc:
        database.close()
        raise DatabaseUnavailable(
            f"The database {describe_database(url)} was written by a newer Ayla Monitor "
            f"(schema {exc.found}; this version knows up to {SCHEMA_VERSION}): upgrade to use it."
        ) from None
    except (peewee.DatabaseError, peewee.InterfaceError, OSError) as exc:
        if not database.is_closed():
            database.close()
        raise DatabaseUnavailable(explain_failure(exc, url) + ".") from exc
    return database


def _stream_record(row: Sequence[Any]) -> StreamRecord:
    return StreamRecord(*row)


class Store:
    """The recorded events, streams and malformed frames of one database.

    Open with :meth:`open` (or as a context manager); every method is a plain
    blocking call, safe from any thread. Environmental failures raise
    :class:`DatabaseUnavailable` with one sentence for the user.
    """

    def __init__(self, url: str, database: peewee.Database) -> None:
        self.url = url
        self._db = database
        self._mysql = is_mysql_url(url)
        self._lock = threading.RLock()
        self._closed = False

    # -- lifecycle -------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, create or complete the schema, check its version."""
        return cls(url, open_connected(url, shared=True))

    def close(self) -> None:
        """Close for good: a query asked afterwards (a window's worker thread
        finishing late) raises :class:`DatabaseUnavailable` instead of
        opening a connection that nobody would close."""
        with self._lock:
            self._closed = True
            if not self._db.is_closed():
                self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def description(self) -> str:
        """The database for messages and the UI (password masked)."""
        return describe_database(self.url)

    def _call(self, work: Callable[[peewee.Database], T]) -> T:
        """Run ``work`` under the lock; reconnect once if a MySQL server dropped
        the connection; turn environmental failures into DatabaseUnavailable."""
        with self._lock:
            if self._closed:
                raise DatabaseUnavailable(f"{self.description} was closed.")
            for attempt in (1, 2):
                try:
                    if self._db.is_closed():
                        self._db.connect()
                    return work(self._db)
                except (peewee.OperationalError, peewee.InterfaceError) as exc:
                    if (
                        attempt == 1
                        and self._mysql
                        and (mysql_errno(exc) in _RECONNECT_ERRNOS or isinstance(exc, peewee.InterfaceError))
                    ):
                        log.info("Reconnecting to %s: %s", self.description, exc)
                        try:
                            self._db.close()
                        except peewee.PeeweeException:
                            pass
                        continue
                    raise DatabaseUnavailable(explain_failure(exc, self.url) + ".") from exc
            raise AssertionError("unreachable")

    # -- streams ---------------------------------------------------------

    def ensure_stream(
        self, name: str, display_url: str, fingerprint: str, subscription_type: str | None
    ) -> StreamRecord:
        """The stream whose key has ``fingerprint``, created if new (safe when
        several machines do it at once); its name, URL and type are updated
        when they changed. ``display_url`` must not hold the key (it is
        redacted again here to make sure)."""
        name = redact(name)[:255]
        display_url = redact(display_url)

        def work(db: peewee.Database) -> StreamRecord:
            with db.atomic():
                Stream.insert(
                    name=name,
                    display_url=display_url,
                    fingerprint=fingerprint,
                    subscription_type=subscription_type,
                ).on_conflict_ignore().execute(db)
                row = (
                    Stream.select(*_STREAM_FIELDS)
                    .where(Stream.fingerprint == fingerprint)
                    .tuples()
                    .bind(db)
                    .get()
                )
                record = _stream_record(row)  # type: ignore[arg-type]
                if (record.name, record.display_url, record.subscription_type) != (
                    name,
                    display_url,
                    subscription_type,
                ):
                    Stream.update(
                        name=name, display_url=display_url, subscription_type=subscription_type
                    ).where(Stream.id == record.id).execute(db)
                    record = StreamRecord(
                        record.id, name, display_url, fingerprint, subscription_type, record.last_seq, record.epoch
                    )
            return record

        return self._call(work)

    def streams(self) -> list[StreamRecord]:
        def work(db: peewee.Database) -> list[StreamRecord]:
            query = Stream.select(*_STREAM_FIELDS).order_by(Stream.id).tuples().bind(db)
            return [_stream_record(row) for row in query]  # type: ignore[arg-type]

        return self._call(work)

    def _stream_names(self) -> dict[int, str]:
        return {s.id: s.name for s in self.streams()}

    def last_seq(self, stream_id: int) -> int | None:
        """The highest seq stored in the stream's current epoch (where a reconnect resumes)."""
        return self.position(stream_id)[1]

    def position(self, stream_id: int) -> tuple[int, int | None]:
        """The stream's current sequence epoch and the highest seq stored in it."""

        def work(db: peewee.Database) -> tuple[int, int | None]:
            epoch = Stream.select(Stream.epoch).where(Stream.id == stream_id).bind(db).scalar() or 0
            top = (
                Event.select(fn.MAX(Event.seq))
                .where((Event.stream == stream_id) & (Event.epoch == epoch))
                .bind(db)
                .scalar()
            )
            return epoch, top

        return self._call(work)

    # -- gaps --------------------------------------------------------------

    def gaps(self, stream_id: int | None = None, *, open_only: bool = False) -> list[GapRecord]:
        """Gaps in the seqs, oldest first (of one stream, or all; open ones only)."""
        names = self._stream_names()

        def work(db: peewee.Database) -> list[Any]:
            query = Gap.select(
                Gap.id,
                Gap.stream,
                Gap.epoch,
                Gap.first_seq,
                Gap.last_seq,
                Gap.seen_at,
                Gap.state,
                Gap.detail,
                Gap.closed_at,
            )
            if stream_id is not None:
                query = query.where(Gap.stream == stream_id)
            if open_only:
                query = query.where(Gap.state == "open")
            return list(query.order_by(Gap.stream, Gap.epoch, Gap.first_seq).tuples().bind(db))

        return [GapRecord(r[0], r[1], names.get(r[1]), *r[2:]) for r in self._call(work)]

    def stored_seqs(self, stream_id: int, epoch: int, first: int, last: int) -> list[int]:
        """The seqs of ``first``..``last`` that the stream's epoch holds."""
        def work(db: peewee.Database) -> list[int]:
            query = (
                Event.select(Event.seq)
                .where((Event.stream == stream_id) & (Event.epoch == epoch) & (Event.seq >= first) & (Event.seq <= last))
                .order_by(Event.seq)
                .tuples()
                .bind(db)
            )
            rows: list[tuple[int]] = list(query)  # type: ignore[arg-type]  # the stubs type rows as models
            return [seq for (seq,) in rows]

        return self._call(work)

    # -- events ----------------------------------------------------------

    def iter_events(self, query: EventFilter | None = None, chunk: int = 5000) -> Iterator[StoredEvent]:
        """Matching events in id order (newest first if ``descending``), read
        ``chunk`` rows at a time by keyset paging: never the whole table in
        memory, and the lock is free between chunks. ``None``: all events."""
        query = query or EventFilter()
        names = self._stream_names()
        where = event_conditions(query)
        remaining = query.limit
        last: int | None = None
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            conditions = list(where)
            if last is not None:
                conditions.append(Event.id < last if query.descending else Event.id > last)

            def work(
                db: peewee.Database, conditions: list[peewee.Expression] = conditions, size: int = size
            ) -> list[Any]:
                select = Event.select(*_EVENT_FIELDS)
                if conditions:
                    select = select.where(*conditions)
                order = Event.id.desc() if query.descending else Event.id
                return list(select.order_by(order).limit(size).tuples().bind(db))

            rows = self._call(work)
            for row in rows:
                yield StoredEvent(row[0], row[1], names.get(row[1]), *row[2:])
            if len(rows) < size:
                return
            last = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def count_events(self, query: EventFilter | None = None) -> int:
        query = query or EventFilter()
        where = event_conditions(query)

        def work(db: peewee.Database) -> int:
            select = Event.select(fn.COUNT(SQL("*")))
            if where:
                select = select.where(*where)
            count = select.bind(db).scalar()
            return int(count or 0)

        total = self._call(work)
        return min(total, query.limit) if query.limit is not None else total

    def recent_events(self, limit: int) -> list[StoredEvent]:
        """The latest ``limit`` events, oldest first (to fill a live view)."""
        events = list(self.iter_events(EventFilter(limit=limit, descending=True), chunk=max(1, limit)))
        events.reverse()
        return events

    def iter_malformed(
        self, stream_ids: Sequence[int] | None = None, chunk: int = 5000
    ) -> Iterator[StoredMalformed]:
        names = self._stream_names()
        last = 0
        while True:

            def work(db: peewee.Database, last: int = last) -> list[Any]:
                select = MalformedFrame.select(
                    MalformedFrame.id,
                    MalformedFrame.stream,
                    MalformedFrame.received_at,
                    MalformedFrame.reason,
                    MalformedFrame.raw,
                ).where(MalformedFrame.id > last)
                if stream_ids is not None:
                    select = select.where(MalformedFrame.stream.in_(list(stream_ids)))
                return list(select.order_by(MalformedFrame.id).limit(chunk).tuples().bind(db))

            rows = self._call(work)
            for row in rows:
                yield StoredMalformed(row[0], row[1], names.get(row[1]), row[2], row[3], row[4])
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    # -- device states ---------------------------------------------------

    def device_states(self, make: type[DeviceState] = DeviceState, *, dsn: str | None = None) -> list[DeviceState]:
        """The latest known state of every device (``make``: the class to
        build, a :class:`~ayla_monitor.fleet.device.DeviceState` or a subclass;
        ``dsn``: that device's alone, for its device view), from
        ``device_latest`` (one row per device, event type and property, kept
        by the writer): costs the number of devices, not of events."""
        return fold_latest(self._latest_rows(self._latest_fields(), DeviceLatest.select, dsn=dsn), make)

    def device_overview(self, make: type[DeviceState] = DeviceState) -> list[DeviceState]:
        """Every device as :meth:`device_states` has it but for its properties
        (and their trends): online or not, location, registration, OEM, last
        heard. What the window shows first: with 10,000 devices a quarter of
        the latest rows (the rest are properties, :meth:`device_properties`)."""
        fields = self._latest_fields()
        last = DeviceLatest.alias("last")
        heard = (DeviceLatest.select(DeviceLatest.dsn, fn.MAX(DeviceLatest.received_at).alias("received"),
                                     fn.MAX(DeviceLatest.time).alias("time"))
                 .group_by(DeviceLatest.dsn).alias("heard"))

        # One row per device: the OEM of its latest row, its latest event time
        # and when last heard (event type '': nothing else to fold).
        none = SQL("NULL")
        rows = self._latest_rows(
            (SQL("''"), heard.c.dsn, last.oem_id, last.oem_model, heard.c.time, heard.c.received,
             none, none, none, none, none, none),
            lambda *columns: heard.select_from(*columns).join(
                last, peewee.JOIN.LEFT_OUTER, on=(last.dsn == heard.c.dsn) & (last.received_at == heard.c.received)),
            group=heard.c.dsn)
        rows += self._latest_rows(fields, lambda *columns: DeviceLatest.select(*columns).where(
            DeviceLatest.event_type.in_(_DEVICE_TYPES)))
        return fold_latest(rows, make)

    def device_properties(self, dsns: Sequence[str], make: type[DeviceState] = DeviceState) -> list[DeviceState]:
        """The properties (with their trends) of devices ``dsns``, each in a
        state of its own that holds nothing else to trust: to merge into
        :meth:`device_overview`'s. (A list of DSNs, not a range: a range's
        ends in Python's order need not bound the same DSNs in the database's.)"""
        fields = list(self._latest_fields())
        for at in (2, 3, 5, 10):  # OEM, received at, raw: the overview has them
            fields[at] = SQL("NULL")
        rows: list[Any] = []
        for at in range(0, len(dsns), _DSNS_A_READ):
            some = list(dsns[at : at + _DSNS_A_READ])
            rows += self._latest_rows(fields, lambda *columns, some=some: DeviceLatest.select(*columns).where(
                DeviceLatest.dsn.in_(some) & DeviceLatest.event_type.in_(_PROPERTY_TYPES)))
        return fold_latest(rows, make)

    def _latest_fields(self) -> tuple[Any, ...]:
        """A :data:`~ayla_monitor.fleet.device.LatestRow`'s columns."""
        return (
            DeviceLatest.event_type,
            DeviceLatest.dsn,
            DeviceLatest.oem_id,
            DeviceLatest.oem_model,
            DeviceLatest.time,
            DeviceLatest.received_at,
            DeviceLatest.property_name,
            DeviceLatest.base_type,
            DeviceLatest.display_name,
            # A value is read cut, as a device keeps it: a fleet sending
            # megabytes must not make the start read gigabytes.
            fn.SUBSTR(DeviceLatest.value, 1, VALUE_KEPT),
            DeviceLatest.raw,
            (fn.CHAR_LENGTH if self._mysql else fn.LENGTH)(DeviceLatest.value),
        )

    def _latest_rows(self, fields: Sequence[Any], select: Callable[..., peewee.Select], *,
                     dsn: str | None = None, group: Any = DeviceLatest.dsn) -> list[Any]:
        """The rows of ``select(*columns)`` with a latest row's ``fields``
        (grouped on ``group``, the DSN, on MySQL), of device ``dsn`` alone
        if given, as the driver gives them."""

        def work(db: peewee.Database) -> list[Any]:
            # The driver's rows as they are: peewee's per-field conversion cost
            # 5x the query itself on 90k rows (10,000 devices). PyMySQL reads
            # each field in Python (10 s for 130k rows of 12 fields on a loaded
            # machine): on MySQL a device's rows come as one JSON array of
            # arrays, decoded by orjson (in key order, the table's own since
            # schema 4): reading 130k rows of 10,000 devices took 0.46-0.58 s
            # of CPU, against 0.79-0.99 s as a JSON array per row.
            if self._mysql:
                db.execute_sql("SET SESSION group_concat_max_len = 1073741824")  # MariaDB's cap on the array
                query = select(fn.JSON_ARRAYAGG(fn.JSON_ARRAY(*fields))).group_by(group)
            else:
                query = select(*fields)
            # (SQLite: in table order, no sort, no index walk)
            if dsn is not None:
                query = query.where(DeviceLatest.dsn == dsn)  # the key's first column
            rows = db.execute(query).fetchall()
            return [one for row in rows for one in loads_json(row[0])] if self._mysql else list(rows)

        return self._call(work)

    # -- maintenance -----------------------------------------------------

    def delete_events_before(self, time_iso: str, batch: int = 5000) -> int:
        """Delete events whose time is before ``time_iso`` (retention), in
        transactions of ``batch`` rows so that the writer is never held up
        for long. Returns how many were deleted."""
        total = 0
        while True:

            def work(db: peewee.Database) -> int:
                with db.atomic():
                    if self._mysql:
                        cursor = db.execute_sql(
                            "DELETE FROM `events` WHERE `time` < %s ORDER BY `id` LIMIT %s", (time_iso, batch)
                        )
                    else:
                        cursor = db.execute_sql(
                            'DELETE FROM "events" WHERE "id" IN '
                            '(SELECT "id" FROM "events" WHERE "time" < ? LIMIT ?)',
                            (time_iso, batch),
                        )
                    return int(cursor.rowcount)

            deleted = self._call(work)
            total += deleted
            if deleted < batch:
                return total

    # -- alerts (store/alerts.py) -------------------------------------------

    def record_change(self, change: AlertChange) -> AlertRecord | None:
        """Store an alert's raise or clear; ``None`` when another recorder
        into this database already did (then it, not this one, notifies)."""
        return self._call(lambda db: alerts.record_change(db, change))

    def record_changes(self, changes: Sequence[AlertChange]) -> list[AlertRecord | None]:
        """:meth:`record_change` for each, in one transaction."""
        return self._call(lambda db: alerts.record_changes(db, changes))

    def list_alerts(self, *, open_only: bool = False, limit: int = alerts.DEFAULT_LIMIT,
                    search: str | None = None) -> list[AlertRecord]:
        """Open alerts first, then the newest (see :func:`~ayla_monitor.store.alerts.list_alerts`)."""
        return self._call(lambda db: alerts.list_alerts(db, open_only=open_only, limit=limit, search=search))

    def acknowledge(self, alert_id: int, by: str, at: float | None = None) -> bool:
        """Mark an alert seen by ``by`` (now, unless ``at`` says when); whether it exists."""
        when = time.time() if at is None else at
        return self._call(lambda db: alerts.acknowledge(db, alert_id, by, when))

    def size_bytes(self) -> int | None:
        """The database's size on disk (data and indexes), ``None`` if unknown."""
        if not self._mysql:
            path = sqlite_path(self.url)
            sizes = [p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()]
            return sum(sizes) if sizes else None

        def work(db: peewee.Database) -> int | None:
            tables = [m._meta.table_name for m in MODELS]
            marks = ", ".join(["%s"] * len(tables))
            row = db.execute_sql(
                "SELECT SUM(data_length + index_length) FROM information_schema.tables "
                f"WHERE table_schema = DATABASE() AND table_name IN ({marks})",
                tables,
            ).fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return self._call(work)

