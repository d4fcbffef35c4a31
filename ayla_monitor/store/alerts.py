"""Alerts in the database: raised, cleared, acknowledged (issue 13).

Each function takes a connected peewee database and is run by
:class:`~ayla_monitor.store.database.Store` under its lock
(``Store.record_change``, ``Store.list_alerts``, ``Store.acknowledge``);
callers get :class:`AlertRecord` values, never the model.

Several recorders writing into one database evaluate the same rules on the
same events and raise the same alerts: :func:`record_change` records each
raise once (the ``open_key`` of an open alert is unique; the second insert
is ignored) and each clear once (the update that still finds the alert open
wins), and says ``None`` to the others, which therefore do not notify.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import fn

from ayla_monitor.alerts.evaluate import RAISED, AlertChange
from ayla_monitor.dss.keys import redact
from ayla_monitor.store.models import Alert

__all__ = ["AlertRecord", "record_change", "record_changes", "list_alerts", "acknowledge", "open_key",
           "DEFAULT_LIMIT"]

#: alerts a listing returns unless told otherwise (open ones come first)
DEFAULT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One stored alert; ``cleared_at`` is ``None`` while it is open."""

    id: int
    rule: str
    condition: str
    subject: str
    dsn: str | None
    stream: str | None
    raised_at: float
    cleared_at: float | None
    detail: str
    acknowledged_by: str | None
    acknowledged_at: float | None
    severity: str = "alert"
    #: what the clear said ("online again (raised 5 min ago)")
    clear_detail: str | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__} | {"open": self.open}


_FIELDS = (
    Alert.id, Alert.rule, Alert.condition, Alert.subject, Alert.dsn, Alert.stream, Alert.raised_at,
    Alert.cleared_at, Alert.detail, Alert.acknowledged_by, Alert.acknowledged_at, Alert.severity,
    Alert.clear_detail,
)


def open_key(rule: str, subject: str) -> str:
    """The key an open alert of ``rule`` on ``subject`` holds (fixed length,
    whatever the names)."""
    return hashlib.sha256(f"{rule}\0{subject}".encode("utf-8", "surrogatepass")).hexdigest()[:64]


def _select(db: peewee.Database) -> Any:
    return Alert.select(*_FIELDS).tuples().bind(db)


def _by_key(db: peewee.Database, key: str) -> AlertRecord | None:
    row = _select(db).where(Alert.open_key == key).first()
    return AlertRecord(*row) if row is not None else None


def record_change(db: peewee.Database, change: AlertChange) -> AlertRecord | None:
    """Store a raise (a new open alert) or a clear (its alert closed). The
    record, or ``None`` when another recorder already recorded this change
    (or a clear finds no open alert: raised before this database was used)."""
    key = open_key(change.rule, change.subject)
    if change.kind == RAISED:
        record = AlertRecord(
            0, redact(change.rule)[:255], change.condition[:32], redact(change.subject)[:255],
            None if change.dsn is None else change.dsn[:32],
            None if change.stream is None else redact(change.stream)[:255],
            change.at, None, redact(change.detail), None, None, change.severity[:16],
        )
        query = Alert.insert(
            rule=record.rule, condition=record.condition, severity=record.severity, subject=record.subject,
            dsn=record.dsn, stream=record.stream, raised_at=record.raised_at, detail=record.detail, open_key=key,
        ).on_conflict_ignore()
        cursor = db.execute(query)
        if cursor.rowcount != 1:
            return None
        return dataclasses.replace(record, id=cursor.lastrowid)
    with _writing(db) if not db.in_transaction() else db.atomic():
        found = _by_key(db, key)
        if found is None:
            return None
        updated = (
            Alert.update(cleared_at=change.at, clear_detail=redact(change.detail), open_key=None)
            .where((Alert.id == found.id) & (Alert.open_key == key))
            .execute(db)
        )
    if updated != 1:
        return None
    return AlertRecord(
        found.id, found.rule, found.condition, found.subject, found.dsn, found.stream, found.raised_at, change.at,
        found.detail, found.acknowledged_by, found.acknowledged_at, found.severity, redact(change.detail),
    )


def _writing(db: peewee.Database) -> Any:
    """A transaction that writes: on SQLite it takes the write lock first
    (``IMMEDIATE``), so that a clear's read and write are not refused when
    the event writer commits in between (WAL's "busy snapshot")."""
    return db.atomic() if isinstance(db, peewee.MySQLDatabase) else db.atomic(lock_type="IMMEDIATE")


def record_changes(db: peewee.Database, changes: Sequence[AlertChange]) -> list[AlertRecord | None]:
    """:func:`record_change` for each, in one transaction (a storm of a
    thousand alerts is one commit, not a thousand)."""
    with _writing(db):
        return [record_change(db, change) for change in changes]


def list_alerts(db: peewee.Database, *, open_only: bool = False, limit: int = DEFAULT_LIMIT,
                search: str | None = None) -> list[AlertRecord]:
    """Open alerts first (newest first), then the cleared ones, newest
    first; ``search``: a case-insensitive substring of the rule, subject or
    detail. A database without the alerts table (read-only, older) has none."""
    if Alert._meta.table_name not in db.get_tables():
        return []
    query = _select(db)
    if open_only:
        query = query.where(Alert.cleared_at.is_null())
    if search:
        needle = search.lower()
        query = query.where(
            fn.LOWER(Alert.rule).contains(needle)
            | fn.LOWER(Alert.subject).contains(needle)
            | fn.LOWER(Alert.detail).contains(needle)
        )
    query = query.order_by(Alert.cleared_at.is_null(False), Alert.raised_at.desc(), Alert.id.desc())
    return [AlertRecord(*row) for row in query.limit(max(0, limit))]


def acknowledge(db: peewee.Database, alert_id: int, by: str, at: float) -> bool:
    """Mark the alert seen by ``by`` at ``at`` (again, if it was). Whether it exists."""
    updated = Alert.update(acknowledged_by=by[:255], acknowledged_at=at).where(Alert.id == alert_id).execute(db)
    return bool(updated)
