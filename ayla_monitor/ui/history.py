"""The history browser: stored events by time range, stream, type, device,
property and text, a page at a time.

:class:`HistoryModel` is a thin table model over the pages loaded so far
(at most :data:`MAX_LOADED` rows); scrolling to the end asks for the next
page (``canFetchMore``/``fetchMore``), which :class:`HistoryWindow` reads off
the loop with keyset paging, so the first page of a million-row database
comes back as fast as any other and the table is never read whole. Clicking
the time column sorts newest or oldest first (a new query, in the database).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.dss.events import EVENT_TYPES
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.history import Cursor, HistoryPage, count_history, history_page
from ayla_monitor.store.records import COLUMNS
from ayla_monitor.ui.event_details import EventDetails, whole_event_reader
from ayla_monitor.ui.event_log import RAW_PREVIEW, LogRow, cell_text, row_from_stored
from ayla_monitor.ui.formatting import (
    format_count,
    one_line,
    tooltip_text,
)
from ayla_monitor.ui.queries import QueryRunner

__all__ = [
    "HistoryModel",
    "HistoryColumn",
    "HistoryWindow",
    "PAGE_SIZE",
    "FIRST_PAGE_SIZE",
    "MAX_LOADED",
    "RANGE_CHOICES",
]

log = logging.getLogger(__name__)

_ROOT = QModelIndex()
#: Rows per page read from the database.
PAGE_SIZE = 500
#: The first page only has to fill the window (about two screens): a filter
#: the index cannot serve (text, property) then scans a fifth of the rows.
FIRST_PAGE_SIZE = 100
#: Most rows the table holds; narrow the query to see further.
MAX_LOADED = 100_000
#: A search counts its matches up to this many; past it the window says
#: "more than" and counts exactly only when asked (ten million rows take
#: seconds to count, and the database is busy meanwhile).
COUNT_AT_MOST = 100_000
#: Range choices: label -> seconds back from now (``None``: all time, ``-1``: custom).
RANGE_CHOICES: dict[str, float | None] = {
    "Last hour": 3600.0,
    "Last day": 86_400.0,
    "Last week": 7 * 86_400.0,
    "All time": None,
    "Custom range": -1.0,
}


def _rows(page: HistoryPage) -> list[LogRow]:
    lengths: list[int | None] = list(page.raw_lengths) or [None] * len(page.events)
    return [row_from_stored(e, n) for e, n in zip(page.events, lengths, strict=True)]


class HistoryColumn(enum.IntEnum):
    TIME = 0
    RECEIVED = 1
    STREAM = 2
    TYPE = 3
    DSN = 4
    PROPERTY = 5
    VALUE = 6


#: The stored event's column each of History's columns shows (names and
#: headers: ``ayla_monitor.store.records``, as the log's and the export's).
COLUMN_NAMES = {
    HistoryColumn.TIME: "time",
    HistoryColumn.RECEIVED: "received_at",
    HistoryColumn.STREAM: "stream",
    HistoryColumn.TYPE: "event_type",
    HistoryColumn.DSN: "dsn",
    HistoryColumn.PROPERTY: "property_name",
    HistoryColumn.VALUE: "value",
}
_HEADERS = {column: COLUMNS[name].header for column, name in COLUMN_NAMES.items()}


class HistoryModel(QAbstractTableModel):
    """The loaded pages of one query; asks for more when the view reaches the end."""

    #: the view wants the next page.
    more_wanted = Signal()
    #: the user clicked the time column: ``True`` for newest first.
    sort_wanted = Signal(bool)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[LogRow] = []
        self._streams: dict[int, str] = {}
        self._more = False
        self._waiting = False
        self.descending = True

    def rows(self) -> Sequence[LogRow]:
        return self._rows

    def reset(self, rows: Sequence[LogRow], more: bool, streams: dict[int, str]) -> None:
        self.beginResetModel()
        self._rows = list(rows)[:MAX_LOADED]
        self._streams = dict(streams)
        self._more = more and len(self._rows) < MAX_LOADED
        self._waiting = False
        self.endResetModel()

    def append(self, rows: Sequence[LogRow], more: bool) -> None:
        room = MAX_LOADED - len(self._rows)
        rows = list(rows)[: max(0, room)]
        self._waiting = False
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self._more = more and len(self._rows) < MAX_LOADED

    @property
    def capped(self) -> bool:
        return len(self._rows) >= MAX_LOADED

    def set_more(self, more: bool) -> None:
        self._more = more
        self._waiting = False

    # -- Qt API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(HistoryColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == HistoryColumn.TIME:
                # In words: styles draw Qt's sort arrow up or down for the same order.
                order = "↓ newest first" if self.descending else "↑ oldest first"
                return f"{_HEADERS[HistoryColumn.TIME]}  {order}"
            if 0 <= section < len(HistoryColumn):
                return _HEADERS[HistoryColumn(section)]
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole
                and section == HistoryColumn.TIME):
            return "Click to sort oldest first" if self.descending else "Click to sort newest first"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(HistoryColumn):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, HistoryColumn(index.column()))
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == HistoryColumn.VALUE:
            return tooltip_text(row.summary) if row.summary else None
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def _display(self, row: LogRow, column: HistoryColumn) -> str:
        return cell_text(row, COLUMN_NAMES[column], lambda stream: self._streams.get(stream or -1, ""))

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        return not parent.isValid() and self._more and not self._waiting

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        if self.canFetchMore(parent):
            self._waiting = True
            self.more_wanted.emit()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column == HistoryColumn.TIME:
            descending = order == Qt.SortOrder.DescendingOrder
            if descending != self.descending:
                self.descending = descending
                self.headerDataChanged.emit(Qt.Orientation.Horizontal, HistoryColumn.TIME, HistoryColumn.TIME)
                self.sort_wanted.emit(descending)

    def toggle_order(self) -> None:
        """The time column's header was clicked: the other order."""
        self.sort(HistoryColumn.TIME,
                  Qt.SortOrder.AscendingOrder if self.descending else Qt.SortOrder.DescendingOrder)


class HistoryWindow(QWidget):
    """Query the stored events; export what the query finds."""

    #: export the current query (an :class:`~ayla_monitor.dss.filter.EventFilter`).
    export_requested = Signal(object)
    #: open a device (double-clicked row's DSN).
    device_requested = Signal(str)

    def __init__(self, store: Store, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time, runner: QueryRunner | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.store = store
        self.clock = clock
        #: runs the queries off the UI thread; answers only while this window is open.
        self.runner = runner if runner is not None else QueryRunner(self)
        #: open gaps of the searched streams: (how many, seqs missing)
        self.open_gaps: tuple[int, int] = (0, 0)
        self.setObjectName("history-window")
        self.setWindowTitle("History — Ayla Monitor")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.query = EventFilter(descending=True)
        self.total: int | None = None
        #: whether :attr:`total` stopped at COUNT_AT_MOST ("more than")
        self.total_capped = False
        self.first_page_seconds: float | None = None
        self.error: str | None = None
        self.searches = 0
        self._cursor: Cursor | None = None
        self._generation = 0
        self._streams: dict[int, str] = {}

        self.range_box = QComboBox(self)
        self.range_box.setObjectName("history-range")
        self.range_box.addItems(list(RANGE_CHOICES))
        self.range_box.setCurrentText("Last day")
        self.from_edit = QDateTimeEdit(self)
        self.to_edit = QDateTimeEdit(self)
        now = int(clock())
        for edit, at in ((self.from_edit, now - 86_400), (self.to_edit, now)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(at))
            edit.setVisible(False)
        self.stream_box = QComboBox(self)
        self.stream_box.setObjectName("history-stream")
        self.stream_box.addItem("All streams", None)
        self.type_box = QComboBox(self)
        self.type_box.setObjectName("history-type")
        self.type_box.addItem("All types", None)
        for kind in EVENT_TYPES:
            self.type_box.addItem(kind, kind)
        self.dsn_edit = self._edit("history-dsn", "DSN (exact)", 150)
        self.property_edit = self._edit("history-property", "Property", 120)
        self.text_edit = self._edit("history-text", "Text in value, DSN or property", 200)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Everything this query finds, as CSV or JSON Lines")

        bar = QHBoxLayout()
        for widget in (self.range_box, self.from_edit, self.to_edit, self.stream_box, self.type_box,
                       self.dsn_edit, self.property_edit, self.text_edit):
            bar.addWidget(widget)
        bar.addWidget(self.search_button)
        bar.addStretch(1)
        bar.addWidget(self.export_button)

        self.model = HistoryModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("history-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)  # the order is said in the time column's title
        header.sectionClicked.connect(
            lambda section: self.model.toggle_order() if section == HistoryColumn.TIME else None)
        for column, width in ((HistoryColumn.TIME, 230), (HistoryColumn.RECEIVED, 96),
                              (HistoryColumn.STREAM, 120), (HistoryColumn.TYPE, 96),
                              (HistoryColumn.DSN, 140), (HistoryColumn.PROPERTY, 120)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        self.details_pane = EventDetails("history-details", self,
                                         placeholder="Select an event to see it as received.")
        self.details_pane.set_source(self.runner, whole_event_reader(store))
        self.details = self.details_pane.view
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("history-empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setVisible(False)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("history-status")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_button = QPushButton("Count exactly", self)
        self.count_button.setObjectName("history-count")
        self.count_button.setToolTip("Count every matching event (on a big database this takes a while)")
        self.count_button.setVisible(False)
        self.count_button.clicked.connect(self.count_exactly)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.empty_label, 1)
        splitter.addWidget(top)
        splitter.addWidget(self.details_pane)
        splitter.setSizes([560, 180])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        status = QHBoxLayout()
        status.addWidget(self.status_label, 1)
        status.addWidget(self.count_button)
        layout.addLayout(status)
        self.resize(1280, 800)

        self.range_box.currentTextChanged.connect(self._range_changed)
        self.search_button.clicked.connect(lambda: self.search())
        for line in (self.dsn_edit, self.property_edit, self.text_edit):
            line.returnPressed.connect(lambda: self.search())
        self.stream_box.currentIndexChanged.connect(lambda _: self.search())
        self.type_box.currentIndexChanged.connect(lambda _: self.search())
        self.model.more_wanted.connect(lambda: self.fetch_more())
        self.model.sort_wanted.connect(lambda _: self.search())
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.doubleClicked.connect(self._double_clicked)
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self.query))
        for keys in (QKeySequence(Qt.Key.Key_Escape), QKeySequence(QKeySequence.StandardKey.Close)):
            QShortcut(keys, self, self.close, context=Qt.ShortcutContext.WindowShortcut)

    def _edit(self, name: str, placeholder: str, width: int) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.setMinimumWidth(width)
        return edit

    def set_streams(self, streams: dict[int, str]) -> None:
        self._streams = dict(streams)
        for stream_id, name in sorted(streams.items()):
            if self.stream_box.findData(stream_id) < 0:
                self.stream_box.addItem(one_line(name, 40), stream_id)

    def _range_changed(self, label: str) -> None:
        custom = RANGE_CHOICES.get(label) == -1.0
        self.from_edit.setVisible(custom)
        self.to_edit.setVisible(custom)
        self.search()

    def build_query(self) -> EventFilter:
        """The query the filter bar describes."""
        back = RANGE_CHOICES.get(self.range_box.currentText())
        since = until = None
        if back == -1.0:
            since = float(self.from_edit.dateTime().toSecsSinceEpoch())
            until = float(self.to_edit.dateTime().toSecsSinceEpoch())
        elif back is not None:
            since = self.clock() - back
        stream = self.stream_box.currentData()
        kind = self.type_box.currentData()
        dsn = self.dsn_edit.text().strip()
        return EventFilter(
            since=since,
            until=until,
            stream_ids=(stream,) if stream is not None else None,
            event_types=(kind,) if kind else None,
            dsns=(dsn,) if dsn else None,
            property_like=self.property_edit.text().strip() or None,
            text=self.text_edit.text().strip() or None,
            descending=self.model.descending,
        )

    # -- reading ----------------------------------------------------------------

    def search(self) -> None:
        """Run the filter bar's query: first page, then the count (both on
        the runner's threads; the answers come back only while this is open)."""
        self._generation += 1
        generation = self._generation
        query = self.build_query()
        self.query = query
        self.total = None
        self.total_capped = False
        self.count_button.setVisible(False)
        self.status_label.setText("Searching…")
        store = self.store

        def first() -> tuple[HistoryPage, float, dict[int, str], tuple[int, int]]:
            started = time.perf_counter()
            page = history_page(store, query, None, FIRST_PAGE_SIZE, preview=RAW_PREVIEW)
            elapsed = time.perf_counter() - started
            gaps = [g for g in store.gaps(open_only=True) if not query.stream_ids or g.stream_id in query.stream_ids]
            return page, elapsed, {s.id: s.name for s in store.streams()}, (len(gaps), sum(g.size for g in gaps))

        self.runner.call(self, first, lambda answer: self._first_page(generation, query, *answer),
                         lambda exc: self._read_failed(generation, exc))

    def _first_page(self, generation: int, query: EventFilter, page: HistoryPage, elapsed: float,
                    streams: dict[int, str], gaps: tuple[int, int] = (0, 0)) -> None:
        if generation != self._generation:
            return
        self.error = None
        self.open_gaps = gaps
        self.first_page_seconds = elapsed
        self.set_streams(streams)
        self._cursor = page.next
        self.model.reset(_rows(page), page.next is not None, streams)
        self.details_pane.show_row(None)
        empty = not page.events
        self.table.setVisible(not empty)
        self.empty_label.setVisible(empty)
        if empty:
            self.empty_label.setText(self._empty_text(query))
        self._show_status()
        store = self.store
        self.runner.call(self, lambda: count_history(store, query, COUNT_AT_MOST),
                         lambda total: self._counted(generation, total),
                         lambda exc: self._count_failed(generation, exc))

    def count_exactly(self) -> None:
        """Count every match of the current search (the user asked)."""
        generation, query, store = self._generation, self.query, self.store
        self.count_button.setEnabled(False)
        self.count_button.setText("Counting…")
        self.runner.call(self, lambda: count_history(store, query),
                         lambda total: self._counted(generation, total, exact=True),
                         lambda exc: self._count_failed(generation, exc))

    def _counted(self, generation: int, total: int | None, *, exact: bool = False) -> None:
        if generation == self._generation:
            self.total = total
            self.total_capped = not exact and total is not None and total > COUNT_AT_MOST
            self.count_button.setVisible(self.total_capped)
            self.count_button.setEnabled(True)
            self.count_button.setText("Count exactly")
            self._show_status()
            self.searches += 1

    def _count_failed(self, generation: int, exc: BaseException) -> None:
        if not isinstance(exc, StoreError):
            log.error("Counting the history failed", exc_info=exc)
        else:
            log.warning("Counting the history failed: %s", exc)
        self._counted(generation, None)

    def _read_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if not isinstance(exc, StoreError):
            log.error("Reading the history failed", exc_info=exc)
        self._failed(exc)

    def fetch_more(self) -> None:
        """The next page, after the last one loaded (off the UI thread)."""
        cursor, query, generation = self._cursor, self.query, self._generation
        if cursor is None:
            self.model.set_more(False)
            return
        store = self.store
        self.runner.call(self, lambda: history_page(store, query, cursor, PAGE_SIZE, preview=RAW_PREVIEW),
                         lambda page: self._next_page(generation, page),
                         lambda exc: self._read_failed(generation, exc))

    def _next_page(self, generation: int, page: HistoryPage) -> None:
        if generation != self._generation:
            return
        self._cursor = page.next
        self.model.append(_rows(page), page.next is not None)
        self._show_status()

    def _failed(self, exc: BaseException) -> None:
        self.error = str(exc)
        self.model.reset([], False, self._streams)
        self.table.setVisible(False)
        self.empty_label.setVisible(True)
        self.empty_label.setText(f"The history cannot be read: {exc}")
        self.status_label.setText("")
        self.searches += 1

    def _empty_text(self, query: EventFilter) -> str:
        if query.dsn and not any((query.text, query.property_like, query.event_types)):
            return f"No events of device {one_line(query.dsn, 60)} in this range."
        if query.since is not None or query.until is not None:
            return "No events match this search in this range. Try a longer range or fewer filters."
        return "No events match this search."

    def _show_status(self) -> None:
        shown = self.model.rowCount()
        if shown == 0:
            self.status_label.setText("No matching events")
            return
        text = f"{format_count(shown)} shown"
        if self.total is not None and self.total_capped:
            text += f" of more than {format_count(COUNT_AT_MOST)} matching events"
        elif self.total is not None:
            text += f" of {format_count(self.total)} matching events"
        elif self._cursor is not None:
            text += " (counting…)"
        if self.model.capped:
            text += f"; the first {format_count(MAX_LOADED)} only: narrow the search to see further"
        elif self._cursor is not None:
            text += "; scroll down for more"
        order = "newest" if self.query.descending else "oldest"
        text = f"{text} · {order} first"
        count, missing = self.open_gaps
        if count:  # what History cannot show: seqs that never arrived
            text += (
                f" · {format_count(count)} open gap{'s' if count != 1 else ''} in the recorded seqs "
                f"({format_count(missing)} missing: Fill gaps in the streams panel, or `ayla-monitor gaps`)"
            )
        self.status_label.setText(text)

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        row = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        self.details_pane.show_row(row if isinstance(row, LogRow) else None)

    def _double_clicked(self, index: QModelIndex) -> None:
        row = index.data(Qt.ItemDataRole.UserRole)
        if isinstance(row, LogRow) and row.dsn:
            self.device_requested.emit(row.dsn)
