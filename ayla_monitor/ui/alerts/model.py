"""The Alerts panel's model: a thin table over a bounded list of stored
alerts, open ones first (newest raised first), then the history.

:class:`AlertsModel` holds at most :data:`CAPACITY` records; the panel's
owner reloads it from the store (off the GUI thread) and folds each alert it
records in with :meth:`AlertsModel.upsert`, so a raise shows without waiting
for a reload. :func:`severity_of` and :func:`marks_of` say what the tray icon
and the badges show.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.ui.alerts.tray import SEVERITY_COLOURS, Severity
from ayla_monitor.ui.formatting import format_ago, format_duration, format_received, one_line

__all__ = ["AlertsModel", "AlertMark", "Column", "CAPACITY", "severity_of", "severity_of_record", "marks_of",
           "matches", "sort_key"]

#: the most alerts the panel holds (open ones first: a fleet with more open
#: alerts than this has a bigger problem than the panel can show)
CAPACITY = 1_000
_ROOT = QModelIndex()


class Column(enum.IntEnum):
    STATE = 0
    RULE = 1
    SUBJECT = 2
    RAISED = 3
    CLEARED = 4
    ACKNOWLEDGED = 5
    DETAIL = 6


HEADERS = {
    Column.STATE: "State",
    Column.RULE: "Rule",
    Column.SUBJECT: "Device or stream",
    Column.RAISED: "Raised",
    Column.CLEARED: "Cleared",
    Column.ACKNOWLEDGED: "Acknowledged",
    Column.DETAIL: "Details",
}


def sort_key(record: AlertRecord) -> tuple[bool, float, int]:
    """Open first, then the newest raised first (ties: the newest id)."""
    return (record.cleared_at is not None, -record.raised_at, -record.id)


def _condition_text(record: AlertRecord) -> str:
    value = getattr(record.condition, "value", record.condition)
    return str(value)


def matches(record: AlertRecord, needle: str) -> bool:
    """Whether the filter text ``needle`` (case-folded) is in the rule, the
    device or stream, the condition, the details or who acknowledged it."""
    if not needle:
        return True
    text = " ".join(p for p in (record.rule, record.subject, record.dsn or "", record.stream or "",
                                _condition_text(record), record.detail, record.acknowledged_by or "") if p)
    return needle in text.casefold()


def severity_of_record(record: AlertRecord) -> Severity:
    """An open alert's state: its rule's severity ("alert" or "warning"), at
    most WARNING once acknowledged (someone is on it); NONE once cleared."""
    if record.cleared_at is not None:
        return Severity.NONE
    if record.severity == "alert" and record.acknowledged_at is None:
        return Severity.ALERT
    return Severity.WARNING


def severity_of(records: Iterable[AlertRecord]) -> Severity:
    """The worst state of the open alerts (the tray icon's)."""
    return max((severity_of_record(r) for r in records), default=Severity.NONE)


@dataclass(frozen=True, slots=True)
class AlertMark:
    """A device's badge: how bad, and the open rules' names (the tooltip)."""

    severity: Severity
    rules: tuple[str, ...]

    @property
    def colour(self) -> QColor:
        return SEVERITY_COLOURS.get(self.severity, QColor("#d63b3b"))

    def icon(self) -> QIcon:
        """A dot in the mark's colour (the fleet table's DSN cell)."""
        return _dot_icon(self.severity)

    def tooltip(self) -> str:
        verb = "Open alert" if len(self.rules) == 1 else "Open alerts"
        return f"{verb}: " + ", ".join(self.rules)


@functools.cache
def _dot_icon(severity: Severity) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(SEVERITY_COLOURS.get(severity, QColor("#d63b3b")))
        painter.drawEllipse(1, 1, 10, 10)
    finally:
        painter.end()
    return QIcon(pixmap)


def marks_of(records: Iterable[AlertRecord]) -> dict[str, AlertMark]:
    """DSN -> its mark, for each device with an open alert."""
    by_dsn: dict[str, tuple[Severity, list[str]]] = {}
    for r in records:
        if r.cleared_at is not None or not r.dsn:
            continue
        severity = severity_of_record(r)
        worst, rules = by_dsn.setdefault(r.dsn, (severity, []))
        if r.rule not in rules:
            rules.append(r.rule)
        if severity > worst:
            by_dsn[r.dsn] = (severity, rules)
    return {dsn: AlertMark(sev, tuple(sorted(rules))) for dsn, (sev, rules) in by_dsn.items()}


class AlertsModel(QAbstractTableModel):
    """State, rule, device or stream, raised, cleared, acknowledged, details."""

    RECORD_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None, *, clock: Callable[[], float] = time.time,
                 capacity: int = CAPACITY) -> None:
        super().__init__(parent)
        self.clock = clock
        self.capacity = capacity
        self._rows: list[AlertRecord] = []
        self._now = clock()
        self._bold = QFont()
        self._bold.setBold(True)

    # -- contents
    def records(self) -> list[AlertRecord]:
        return self._rows

    def open_records(self) -> list[AlertRecord]:
        return [r for r in self._rows if r.cleared_at is None]

    def row_of(self, alert_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == alert_id), -1)

    def set_records(self, records: Sequence[AlertRecord]) -> None:
        """Show ``records`` (any order; the newest :attr:`capacity` are kept)."""
        self._now = self.clock()
        rows = sorted(records, key=sort_key)[: self.capacity]
        if [r.id for r in rows] == [r.id for r in self._rows]:
            self._rows = rows
            self._changed_all()
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def upsert(self, records: Iterable[AlertRecord]) -> None:
        """Fold new or changed records in (a raise, a clear, an acknowledgement)."""
        by_id = {r.id: r for r in self._rows}
        changed = False
        for r in records:
            by_id[r.id] = r
            changed = True
        if changed:
            self.set_records(list(by_id.values()))

    def tick(self) -> None:
        """The ages (``3 min ago``) move on."""
        self._now = self.clock()
        self._changed_all()

    def _changed_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))

    # -- the Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(Column):
            return HEADERS[Column(section)]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        r = self._rows[index.row()]
        column = Column(index.column())
        if role == self.RECORD_ROLE:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r)
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.STATE and r.cleared_at is None:
            return SEVERITY_COLOURS[severity_of_record(r)]
        if role == Qt.ItemDataRole.FontRole and r.cleared_at is None and r.acknowledged_at is None:
            return self._bold
        return None

    def _display(self, r: AlertRecord, column: Column) -> str:
        now = self._now
        if column == Column.STATE:
            if r.cleared_at is not None:
                return "cleared"
            return "open" if r.acknowledged_at is None else "open, acknowledged"
        if column == Column.RULE:
            return one_line(r.rule, 120)
        if column == Column.SUBJECT:
            return one_line(r.subject, 120)
        if column == Column.RAISED:
            return f"{format_received(r.raised_at)[:8]} ({format_ago(r.raised_at, now)})"
        if column == Column.CLEARED:
            if r.cleared_at is None:
                return f"open for {format_duration(max(0.0, now - r.raised_at))}"
            return f"after {format_duration(max(0.0, r.cleared_at - r.raised_at))}"
        if column == Column.ACKNOWLEDGED:
            if r.acknowledged_at is None:
                return ""
            return f"{one_line(r.acknowledged_by or '?', 40)}, {format_ago(r.acknowledged_at, now)}"
        return one_line(r.detail, 300)

    def _tooltip(self, r: AlertRecord) -> str:
        now = self._now
        lines = [f"{one_line(r.rule, 200)} ({_condition_text(r)}): {one_line(r.subject, 200)}",
                 one_line(r.detail, 600),
                 f"Raised {format_ago(r.raised_at, now)}"]
        if r.cleared_at is not None:
            lines.append(f"Cleared {format_ago(r.cleared_at, now)}"
                         + (f": {one_line(r.clear_detail, 300)}" if r.clear_detail else ""))
        if r.acknowledged_at is not None:
            lines.append(f"Acknowledged by {one_line(r.acknowledged_by or '?', 80)} {format_ago(r.acknowledged_at, now)}")
        lines.append("Double-click to open the device." if r.dsn else "Double-click to show the stream.")
        return "\n".join(lines)
