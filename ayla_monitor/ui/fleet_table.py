"""The fleet table: one row per device with the insight's figures.

:class:`FleetTableModel` is a thin table over a list of
:class:`~ayla_monitor.fleet.insight.DeviceSummary` (the insight's devices,
plus the devices the tiles know from the database and the insight has not
heard from in its hour). It sorts, groups and filters itself in Python with
one key per column (a QSortFilterProxyModel would call ``data()`` for every
comparison: seconds at 10,000 rows); grouping is a first sort key and a
Group column, which costs nothing more than a sort.

Refreshing (:meth:`FleetTableModel.set_rows`, every :data:`REFRESH_SECONDS`
from :class:`FleetTableView`): when the same devices are shown, the new
order is one layout change with the selection and current row kept (their
persistent indexes moved); new or vanished devices reset the model and the
view puts the selection back by DSN. While the pointer is over the table
the order is kept and only the values change (``dataChanged``): a row
never moves from under the cursor (the tiles' policy).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.fleet.insight import DeviceInsight, DeviceSummary, FleetInsight
from ayla_monitor.ui.alerts.model import AlertMark
from ayla_monitor.ui.formatting import format_ago, format_duration, one_line

__all__ = ["Column", "Grouping", "FleetTableModel", "FleetTableView", "RowCollector", "merge_rows",
           "REFRESH_SECONDS", "SLICE"]

#: how often the table takes new figures (and re-sorts), seconds
REFRESH_SECONDS = 2.5
_ROOT = QModelIndex()
_MISSING = float("inf")


class Column(enum.IntEnum):
    GROUP = 0
    DSN = 1
    MODEL = 2
    OEM = 3
    TAGS = 4
    STATE = 5
    SINCE = 6
    LAST_HEARD = 7
    RATE = 8
    FLAPS = 9
    QUIET = 10
    ACK_P95 = 11
    FAILED = 12
    MISSING = 13
    LATENCY = 14


HEADERS = {
    Column.GROUP: "Group", Column.DSN: "DSN", Column.MODEL: "Model", Column.OEM: "OEM", Column.TAGS: "Tags",
    Column.STATE: "State", Column.SINCE: "Since", Column.LAST_HEARD: "Last heard", Column.RATE: "Events/min",
    Column.FLAPS: "Flaps/24 h", Column.QUIET: "Quiet", Column.ACK_P95: "Ack p95", Column.FAILED: "Failed acks",
    Column.MISSING: "Missing acks", Column.LATENCY: "Latency p50",
}
TIPS = {
    Column.SINCE: "When the device last went online or offline",
    Column.LAST_HEARD: "The time of its latest event",
    Column.QUIET: "Silent for much longer than its own rhythm (its typical interval between events)",
    Column.ACK_P95: "95th percentile of acked_at − created_at of its latest acks",
    Column.FAILED: "Acks whose ack_status is not 2xx or whose ack_message is not 0",
    Column.MISSING: "Datapoints on acked properties with no ack within the timeout",
    Column.LATENCY: "Received time minus event time, median of its latest events",
}
_NUMERIC = {Column.RATE, Column.FLAPS, Column.ACK_P95, Column.FAILED, Column.MISSING, Column.LATENCY}


class Grouping(enum.Enum):
    NONE = "No grouping"
    MODEL = "Group by model"
    OEM = "Group by OEM"
    TAG = "Group by tag"


def _group_of(s: DeviceSummary, grouping: Grouping) -> str:
    if grouping is Grouping.MODEL:
        return s.oem_model or "(no model)"
    if grouping is Grouping.OEM:
        return s.oem_id or "(no OEM)"
    if grouping is Grouping.TAG:
        return s.tags[0] if s.tags else "(no tag)"
    return ""


def _state_rank(s: DeviceSummary) -> int:
    return 0 if s.online is False else (2 if s.online else 1)


def _num(value: float | None) -> float:
    return _MISSING if value is None else value


#: figures whose first click on the header sorts the largest first: the
#: worst devices on top (Qt's InitialSortOrderRole)
_WORST_FIRST = frozenset((Column.RATE, Column.FLAPS, Column.ACK_P95, Column.FAILED, Column.MISSING,
                          Column.LATENCY))

#: ascending sort keys; a missing figure sorts last ascending
_KEYS: dict[Column, Callable[[DeviceSummary], Any]] = {
    Column.DSN: lambda s: s.dsn,
    Column.MODEL: lambda s: (s.oem_model or "\uffff").casefold(),
    Column.OEM: lambda s: (s.oem_id or "\uffff").casefold(),
    Column.TAGS: lambda s: ", ".join(s.tags).casefold() or "\uffff",
    Column.STATE: _state_rank,
    Column.SINCE: lambda s: _num(s.online_since),
    Column.LAST_HEARD: lambda s: _num(s.last_heard),
    Column.RATE: lambda s: s.events_per_min,
    Column.FLAPS: lambda s: s.flaps_day,
    Column.QUIET: lambda s: not s.quiet,
    Column.ACK_P95: lambda s: _num(s.ack_p95_ms),
    Column.FAILED: lambda s: s.failed_acks,
    Column.MISSING: lambda s: s.missing_acks,
    Column.LATENCY: lambda s: _num(s.latency_p50_ms),
}


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def summary_of_state(state: DeviceState) -> DeviceSummary:
    """A row for a device known from the database only (nothing heard in the insight's hour)."""
    last = state.last_received_at
    return DeviceSummary(
        dsn=state.dsn, oem_id=state.oem_id, oem_model=state.oem_model, tags=(), online=state.online,
        online_since=state.online_since, last_heard=last, silent_s=None, events=0, events_per_min=0.0,
        flaps=0, flaps_hour=0, flaps_day=0, flapping=False, typical_interval_s=None, quiet=False,
        latency_p50_ms=None, latency_p95_ms=None, skew_s=None, acks=0, ack_p50_ms=None, ack_p95_ms=None,
        failed_acks=0, missing_acks=0, spike=False,
    )


def merge_rows(summaries: Sequence[DeviceSummary], states: Iterable[DeviceState]) -> list[DeviceSummary]:
    """The insight's summaries, plus a row for each device only the tiles know;
    a device whose connectivity the insight has not seen takes the tiles'."""
    rows = list(summaries)
    _merge(rows, {s.dsn: i for i, s in enumerate(rows)}, states)
    return rows


def _merge(rows: list[DeviceSummary], index: dict[str, int], states: Iterable[DeviceState]) -> None:
    """:func:`merge_rows` into ``rows`` in place (``index``: DSN -> its place in ``rows``)."""
    for state in states:
        i = index.get(state.dsn)
        if i is None:
            index[state.dsn] = len(rows)
            rows.append(summary_of_state(state))
        elif state.online is not None and rows[i].online is None:
            s = rows[i]
            rows[i] = DeviceSummary(
                s.dsn, s.oem_id or state.oem_id, s.oem_model or state.oem_model, s.tags, state.online,
                state.online_since, s.last_heard, s.silent_s, s.events, s.events_per_min, s.flaps, s.flaps_hour,
                s.flaps_day, s.flapping, s.typical_interval_s, s.quiet, s.latency_p50_ms, s.latency_p95_ms,
                s.skew_s, s.acks, s.ack_p50_ms, s.ack_p95_ms, s.failed_acks, s.missing_acks, s.spike)


#: devices summarised per turn of the event loop (a summary takes its
#: quantiles: 13-15 us of CPU a device, so 3 ms a turn; 500 took 7-26 ms)
SLICE = 200
#: the tiles' devices merged with the rows per turn (the 11,000 of them at
#: once took 11-19 ms; a device known only from the database gets a row of
#: its own, ~4 us, one already in the rows 0.5 us)
MERGE_SLICE = 500


class RowCollector(QObject):
    """Every :data:`REFRESH_SECONDS`, the fleet's rows, made a slice of
    devices per turn of the event loop (10,000 summaries at once held the
    loop for a third of a second) and merged with the tiles' devices a
    slice per turn; :attr:`ready` when a set is complete."""

    ready = Signal()

    def __init__(self, insight: Callable[[], FleetInsight], states: Callable[[], Iterable[DeviceState]],
                 parent: QObject | None = None, *, clock: Callable[[], float] = time.time,
                 wanted: Callable[[], bool] = lambda: True) -> None:
        """``insight()``: the insight now (the window's may be replaced);
        ``states()``: the tiles' devices; ``wanted()``: whether anybody shows rows now."""
        super().__init__(parent)
        self._insight = insight
        self._states = states
        self.clock = clock
        self._wanted = wanted
        #: the latest complete rows (by DSN order of the insight, then the tiles' own)
        self.rows: list[DeviceSummary] = []
        self._pending: list[DeviceInsight] | None = None
        self._made: list[DeviceSummary] = []
        #: DSN -> its place in ``_made``
        self._index: dict[str, int] = {}
        #: the tiles' devices being merged (``None``: not yet), merged up to ``_merge_at``
        self._states_left: list[DeviceState] | None = None
        self._merge_at = 0
        #: the set being made is merged with the tiles' devices (``ready`` is next)
        self._merged = False
        self._source: FleetInsight | None = None
        self._now = 0.0
        self.timer = QTimer(self)
        self.timer.setObjectName("fleet-rows")
        self.timer.setInterval(int(REFRESH_SECONDS * 1000))
        self.timer.timeout.connect(self.collect)
        self.timer.start()
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(self._step)

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def collect(self, *, force: bool = False) -> bool:
        """Start a new set of rows (unless one is being made, or nobody shows them)."""
        if self._pending is not None or not (force or self._wanted()):
            return False
        insight = self._insight()
        self._source = insight
        self._now = self.clock()
        self._pending = sorted(insight.devices(), key=lambda d: d.dsn)
        self._pending.reverse()  # popped from the end: DSN order
        self._made = []
        self._index = {}
        self._states_left = None
        self._merge_at = 0
        self._merged = False
        self._step_timer.start()
        return True

    def collect_now(self) -> list[DeviceSummary]:
        """The rows at once (tests, the first show)."""
        self._pending = None
        self.collect(force=True)
        while self._pending is not None:
            self._step()
        self._step_timer.stop()
        return self.rows

    def _step(self) -> None:
        pending, insight = self._pending, self._source
        if pending is None or insight is None:
            return
        if insight is not self._insight():  # replaced (another database): start again
            self._pending = None
            self.collect(force=True)
            return
        summary, now, made, index = insight.summary, self._now, self._made, self._index
        if pending:
            for _ in range(min(SLICE, len(pending))):
                row = summary(pending.pop(), now)
                index[row.dsn] = len(made)
                made.append(row)
        elif not self._merged:
            if self._states_left is None:
                self._states_left = list(self._states())
            start = self._merge_at
            _merge(made, index, self._states_left[start:start + MERGE_SLICE])
            self._merge_at = start + MERGE_SLICE
            if self._merge_at >= len(self._states_left):
                self.rows = made
                self._made, self._index, self._states_left = [], {}, None
                self._merged = True
        else:  # the readers' refresh gets a turn of its own
            self._pending = None
            self.ready.emit()
            return
        self._step_timer.start()


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_DSN = int(Qt.ItemDataRole.UserRole) + 1
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)  # the DSN's open-alert badge (issue 13)
_ROLES = frozenset({_DISPLAY, _DSN, _ALIGN, _FOREGROUND, int(Qt.ItemDataRole.ToolTipRole), _DECORATION})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_OFFLINE = QColor("#cf4848")
_ONLINE = QColor("#2f9e58")
_WARN = QColor("#d9822b")


class FleetTableModel(QAbstractTableModel):
    """Rows of :class:`DeviceSummary`, sorted, grouped and filtered here."""

    #: the DSN of a row (every column)
    DSN_ROLE = _DSN

    def __init__(self, parent: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.clock = clock
        self._all: list[DeviceSummary] = []
        self._rows: list[DeviceSummary] = []
        self._filter = ""
        #: lower-cased DSN, model, OEM and tags of a row (kept between refreshes)
        self._texts: dict[tuple[Any, ...], str] = {}
        self.sort_column = Column.DSN
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.grouping = Grouping.NONE
        self._now = clock()
        #: DSN -> its open-alert badge, shown in the DSN column (set by the window's alerts)
        self.alert_marks: dict[str, AlertMark] = {}

    # -- contents
    def rows(self) -> list[DeviceSummary]:
        return self._rows

    def row_of(self, dsn: str) -> int:
        for i, s in enumerate(self._rows):
            if s.dsn == dsn:
                return i
        return -1

    def set_rows(self, summaries: Sequence[DeviceSummary], *, reorder: bool = True) -> None:
        """New figures. ``reorder`` false: the rows keep their places (the
        pointer is over the table), only their values change."""
        self._now = self.clock()
        self._all = list(summaries)
        if not reorder and self._rows:
            by_dsn = {s.dsn: s for s in self._all}
            kept = [by_dsn.get(s.dsn) for s in self._rows]
            if all(s is not None for s in kept) and len(kept) == len(self._shown(self._all)):
                self._rows = kept  # type: ignore[assignment]  # checked: none is None
                if self._rows:
                    self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))
                return
        self._arrange()

    def _text(self, s: DeviceSummary) -> str:
        key = (s.dsn, s.oem_model, s.oem_id, s.tags)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = " ".join([s.dsn, s.oem_model or "", s.oem_id or "", *s.tags]).casefold()
        return text

    def _shown(self, rows: list[DeviceSummary]) -> list[DeviceSummary]:
        needle = self._filter
        if not needle:
            return rows
        text = self._text
        return [s for s in rows if needle in text(s)]

    def _order(self, rows: list[DeviceSummary]) -> list[DeviceSummary]:
        column = self.sort_column
        key = _KEYS.get(column, _KEYS[Column.DSN])
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        rows = sorted(rows, key=lambda s: s.dsn)  # ties by DSN, ascending whatever the order
        rows.sort(key=key, reverse=descending)
        if column in _NUMERIC or column in (Column.SINCE, Column.LAST_HEARD):
            # a missing figure last in both directions
            rows.sort(key=lambda s: key(s) == _MISSING)
        if self.grouping is not Grouping.NONE:
            grouping = self.grouping
            rows.sort(key=lambda s: _group_of(s, grouping).casefold())
        return rows

    def _arrange(self) -> None:
        new = self._order(self._shown(self._all))
        old = self._rows
        if len(new) == len(old) and {s.dsn for s in new} == {s.dsn for s in old}:
            self.layoutAboutToBeChanged.emit()
            place = {s.dsn: i for i, s in enumerate(new)}
            before = self.persistentIndexList()
            after = [self.index(place[old[p.row()].dsn], p.column()) if 0 <= p.row() < len(old) else QModelIndex()
                     for p in before]
            self._rows = new
            self.changePersistentIndexList(before, after)
            self.layoutChanged.emit()
            return
        self.beginResetModel()
        self._rows = new
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._filter:
            self._filter = needle
            self._arrange()

    def set_grouping(self, grouping: Grouping) -> None:
        if grouping is not self.grouping:
            self.grouping = grouping
            self._arrange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column == Column.GROUP:
            column = Column.DSN
        self.sort_column = Column(column)
        self.sort_order = order
        self._arrange()

    # -- the Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TIPS.get(Column(section))
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            order = Qt.SortOrder.DescendingOrder if section in _WORST_FIRST else Qt.SortOrder.AscendingOrder
            return order.value
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # a table repaint asks ~8 roles of every visible cell: the roles not
        # answered go first, compared as ints (enum comparisons cost microseconds)
        if role not in _ROLES:
            return None
        row = index.row()
        if row < 0 or row >= len(self._rows):
            return None
        s = self._rows[row]
        column = index.column()
        if role == _DISPLAY:
            return self._display(s, Column(column))
        if role == _DSN:
            return s.dsn
        if role == _ALIGN:
            return _RIGHT if column in _NUMERIC else None
        if role == _DECORATION:
            mark = self.alert_marks.get(s.dsn) if column == Column.DSN else None
            return mark.icon() if mark is not None else None
        if role == _FOREGROUND:
            if column == Column.STATE:
                if s.online is False:
                    return _OFFLINE
                if s.online:
                    return _ONLINE
            elif (column == Column.QUIET and s.quiet or column == Column.FLAPS and s.flapping
                  or column == Column.FAILED and s.failed_acks or column == Column.MISSING and s.missing_acks):
                return _WARN
            return None
        if column == Column.QUIET and s.typical_interval_s is not None:
            return f"Its rhythm: an event every {format_duration(s.typical_interval_s)} or so"
        if column == Column.FLAPS:
            return f"{s.flaps_hour} in the last hour, {s.flaps_day} in 24 h" + (" (flapping)" if s.flapping else "")
        if column == Column.DSN and s.dsn in self.alert_marks:
            return f"{one_line(s.dsn, 400)}\n{self.alert_marks[s.dsn].tooltip()}"
        if column in (Column.DSN, Column.MODEL, Column.OEM, Column.TAGS):
            return one_line(self._display(s, Column(column)), 400)
        return None

    def _display(self, s: DeviceSummary, column: Column) -> str:
        now = self._now
        if column == Column.GROUP:
            return _group_of(s, self.grouping) if self.grouping is not Grouping.NONE else ""
        if column == Column.DSN:
            return one_line(s.dsn, 80)
        if column == Column.MODEL:
            return one_line(s.oem_model or "", 80)
        if column == Column.OEM:
            return one_line(s.oem_id or "", 80)
        if column == Column.TAGS:
            return one_line(", ".join(s.tags), 120)
        if column == Column.STATE:
            return "offline" if s.online is False else ("online" if s.online else "unknown")
        if column == Column.SINCE:
            return "" if s.online_since is None else f"for {format_duration(now - s.online_since)}"
        if column == Column.LAST_HEARD:
            return format_ago(s.last_heard, now)
        if column == Column.RATE:
            return f"{s.events_per_min:.1f}" if s.events_per_min else ""
        if column == Column.FLAPS:
            return str(s.flaps_day) if s.flaps_day else ""
        if column == Column.QUIET:
            if s.quiet:
                return f"quiet {format_duration(s.silent_s or 0.0)}"
            return ""
        if column == Column.ACK_P95:
            return _ms(s.ack_p95_ms)
        if column == Column.FAILED:
            return str(s.failed_acks) if s.failed_acks else ""
        if column == Column.MISSING:
            return str(s.missing_acks) if s.missing_acks else ""
        if column == Column.LATENCY:
            return _ms(s.latency_p50_ms)
        return ""


class FleetTableView(QWidget):
    """The table with its filter box, grouping choice and count; refreshes itself."""

    #: a row was double-clicked (or Enter pressed): open that device.
    device_opened = Signal(str)
    #: a row was clicked: filter the log to this DSN.
    device_selected = Signal(str)

    def __init__(self, rows: Callable[[], Sequence[DeviceSummary]], parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True) -> None:
        """``rows()`` gives the current summaries (called at each refresh, only while shown);
        ``auto_refresh`` false: the owner calls :meth:`refresh` when it has new rows."""
        super().__init__(parent)
        self._source = rows
        self.model = FleetTableModel(self, clock=clock)
        title = QLabel("Fleet", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("fleet-count")
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("fleet-filter")
        self.filter_edit.setPlaceholderText("Filter devices (DSN, model, OEM, tag)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(320)
        self.group_box = QComboBox(self)
        self.group_box.setObjectName("fleet-grouping")
        for grouping in Grouping:
            self.group_box.addItem(grouping.value, grouping)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(title)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.group_box)

        self.table = QTableView(self)
        self.table.setObjectName("fleet-table")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(Column.DSN, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setMouseTracking(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        widths = {Column.GROUP: 120, Column.DSN: 150, Column.MODEL: 110, Column.OEM: 80, Column.TAGS: 110,
                  Column.STATE: 70, Column.SINCE: 95, Column.LAST_HEARD: 100}
        for column in Column:
            self.table.setColumnWidth(column, widths.get(column, 90))
        self.table.setColumnHidden(Column.GROUP, True)
        self.table.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setObjectName("fleet-refresh")
        self.refresh_timer.setInterval(int(REFRESH_SECONDS * 1000))
        self.refresh_timer.timeout.connect(self.refresh)
        if auto_refresh:
            self.refresh_timer.start()

        self.filter_edit.textChanged.connect(self._filter_changed)
        self.group_box.currentIndexChanged.connect(lambda _: self._grouping_changed())
        self.table.doubleClicked.connect(self._open)
        self.table.clicked.connect(self._clicked)
        self.model.modelReset.connect(self._update_count)
        self.model.layoutChanged.connect(self._update_count)
        self._selected: str | None = None
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)

    # -- refreshing
    def refresh(self) -> bool:
        """New figures; re-sorted unless the pointer is over the table.
        Skipped while hidden (nothing is computed for a table nobody sees)."""
        if not self.isVisible():
            return False
        self.model.set_rows(self._source(), reorder=not self.table.underMouse())
        self._update_count()
        return True

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.refresh)

    def _update_count(self, *_: Any) -> None:
        total = len(self.model._all)
        shown = self.model.rowCount()
        text = f"{total:,} devices"
        if shown != total:
            text += f" ({shown:,} shown)"
        self.count_label.setText(text)

    def _remember_selection(self) -> None:
        index = self.table.currentIndex()
        self._selected = index.data(FleetTableModel.DSN_ROLE) if index.isValid() else None
        self._scroll = self.table.verticalScrollBar().value()

    def _restore_selection(self) -> None:
        dsn = self._selected
        if dsn is None:
            return
        row = self.model.row_of(dsn)
        if row >= 0:
            index = self.model.index(row, max(0, self.table.currentIndex().column()))
            self.table.selectionModel().setCurrentIndex(
                index, self.table.selectionModel().SelectionFlag.ClearAndSelect
                | self.table.selectionModel().SelectionFlag.Rows)
        self.table.verticalScrollBar().setValue(self._scroll)

    def _filter_changed(self, text: str) -> None:
        self.model.set_filter(text)
        self._update_count()

    def _grouping_changed(self) -> None:
        grouping = self.group_box.currentData()
        if isinstance(grouping, Grouping):
            self.model.set_grouping(grouping)
            self.table.setColumnHidden(Column.GROUP, grouping is Grouping.NONE)

    def select_dsn(self, dsn: str | None) -> None:
        row = self.model.row_of(dsn) if dsn else -1
        if row < 0:
            self.table.clearSelection()
            return
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, Column.DSN))

    # -- opening
    def _open(self, index: QModelIndex) -> None:
        dsn = index.data(FleetTableModel.DSN_ROLE)
        if isinstance(dsn, str):
            self.device_opened.emit(dsn)

    def _clicked(self, index: QModelIndex) -> None:
        dsn = index.data(FleetTableModel.DSN_ROLE)
        if isinstance(dsn, str):
            self.device_selected.emit(dsn)

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.currentIndex().isValid()):
            self._open(self.table.currentIndex())
            return True
        return super().eventFilter(watched, event)
