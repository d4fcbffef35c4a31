"""The Alerts panel (a dock like Problems): open alerts first, the history
below, a filter box, Acknowledge, Rules…, and the latest notification as a
line of text (where the desktop has no tray, that line and the status bar
are where notifications appear).

The panel is passive: it asks its owner (:class:`~ayla_monitor.ui.alerts.window.WindowAlerts`)
through signals, and shows what it is given; no database call is made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.ui.alerts.model import AlertsModel, matches
from ayla_monitor.ui.formatting import one_line

__all__ = ["AlertsPanel", "SEARCH_DELAY_MS"]

#: the filter box searches the stored alerts this long after the last key
SEARCH_DELAY_MS = 300


class AlertsPanel(QWidget):
    """The list, its filter and its buttons; the title carries the open count."""

    #: a device alert was double-clicked (its DSN)
    device_opened = Signal(str)
    #: a stream alert was double-clicked (the stream's name)
    stream_opened = Signal(str)
    #: the user acknowledged these alert ids
    acknowledge_requested = Signal(list)
    #: the filter text changed (after :data:`SEARCH_DELAY_MS`)
    search_changed = Signal(str)
    rules_requested = Signal()
    #: "Alerts (2 open)"
    title_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("alerts-panel")
        self.model = AlertsModel(self, clock=clock)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("alerts-filter")
        self.filter_edit.setPlaceholderText("Filter alerts: rule, device, details…")
        self.filter_edit.setClearButtonEnabled(True)
        self.ack_button = QPushButton("&Acknowledge", self)
        self.ack_button.setObjectName("alerts-acknowledge")
        self.ack_button.setToolTip("Mark the selected alerts as seen, with your user name and the time")
        self.ack_button.setEnabled(False)
        self.rules_button = QPushButton("&Rules…", self)
        self.rules_button.setObjectName("alerts-rules")
        self.rules_button.setToolTip("Edit the alert rules (alerts.toml)")
        self.notice = QLabel(self)
        self.notice.setObjectName("alerts-notice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.table = QTableView(self)
        self.table.setObjectName("alerts-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((120, 130, 150, 150, 110, 130)):
            self.table.setColumnWidth(column, width)
        buttons = QHBoxLayout()  # below the filter: the dock is often narrow
        buttons.addWidget(self.ack_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rules_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addLayout(buttons)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        self._search = QTimer(self)
        self._search.setObjectName("alerts-search")
        self._search.setSingleShot(True)
        self._search.setInterval(SEARCH_DELAY_MS)
        self._search.timeout.connect(lambda: self.search_changed.emit(self.search_text()))
        self.filter_edit.textChanged.connect(lambda _: self._search.start())
        self.table.doubleClicked.connect(self._open)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_title)
        self.model.dataChanged.connect(self._update_buttons)
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.rules_button.clicked.connect(self.rules_requested)
        self._update_title()

    def tick(self) -> None:
        """The ages move on (the window's status clock, every second), while shown."""
        if self.isVisible():
            self.model.tick()

    def search_text(self) -> str:
        return self.filter_edit.text().strip()

    def set_records(self, records: list[AlertRecord]) -> None:
        self.model.set_records(records)
        self._update_title()

    def upsert(self, records: list[AlertRecord]) -> None:
        needle = self.search_text().casefold()
        self.model.upsert([r for r in records if matches(r, needle)])
        self._update_title()

    def show_notice(self, text: str) -> None:
        """The latest notification (or why there is none), above the list."""
        self.notice.setText(one_line(text, 400))
        self.notice.setVisible(bool(text))

    def selected(self) -> list[AlertRecord]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        records = self.model.records()
        return [records[row] for row in rows if row < len(records)]

    def acknowledge_selected(self) -> list[int]:
        """Ask to acknowledge the selected alerts nobody has acknowledged yet
        (cleared ones too: an alert of the night, seen in the morning); their ids."""
        ids = [r.id for r in self.selected() if r.acknowledged_at is None and r.id > 0]
        if ids:
            self.acknowledge_requested.emit(ids)
        return ids

    def _update_buttons(self, *_: object) -> None:
        self.ack_button.setEnabled(any(r.acknowledged_at is None and r.id > 0 for r in self.selected()))

    def _update_title(self, *_: object) -> None:
        count = len(self.model.open_records())
        self.title_changed.emit(f"Alerts ({count:,} open)" if count else "Alerts")

    def _open(self, index: QModelIndex) -> None:
        record = index.data(AlertsModel.RECORD_ROLE)
        if record is None:
            return
        if record.dsn:
            self.device_opened.emit(record.dsn)
        elif record.stream:
            self.stream_opened.emit(record.stream)
