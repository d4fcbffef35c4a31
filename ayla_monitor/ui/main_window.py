"""The main window: device tiles above the event log, the streams panel in a
dock, a menu bar with the common actions and a status bar with the writer's
health and the database.

The window is a passive view: it shows what it is given and exposes its
actions; :class:`~ayla_monitor.ui.app.Session` connects those actions to the
engine. Updates arrive in batches through :meth:`MainWindow.add_frames` and
the like; each batch is taken in as it arrives (its log rows made, the tiles
updated), and tiles, log and status show what arrived a few times per second
(``refresh`` throttle), so that no single turn of the event loop does it all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor import APP_NAME, __version__
from ayla_monitor.core.status import StreamStatus, WriterHealth
from ayla_monitor.dss.events import MalformedFrame
from ayla_monitor.fleet.insight import DeviceSummary
from ayla_monitor.ui.alerts.window import WindowAlerts
from ayla_monitor.ui.event_log import EventLogView, LogRow, row_from_frame
from ayla_monitor.ui.fleet_table import FleetTableView, RowCollector
from ayla_monitor.ui.formatting import format_bytes, format_count, one_line
from ayla_monitor.ui.insight_feed import InsightFeed, read_history
from ayla_monitor.ui.problems import ProblemsPanel
from ayla_monitor.ui.queries import QueryRunner
from ayla_monitor.ui.resources import app_icon
from ayla_monitor.ui.settings import AppSettings
from ayla_monitor.ui.stored_properties import StoredProperties
from ayla_monitor.ui.throttle import Throttle
from ayla_monitor.ui.tiles import TilesView

__all__ = ["MainWindow", "EmptyState", "Banner", "REFRESH_MS"]

log = logging.getLogger(__name__)

#: How often tiles, log and status catch up with what arrived (milliseconds).
REFRESH_MS = 100

_DEMO_STYLE = (
    "QLabel#demo-badge { background: #d9822b; color: white; border-radius: 9px;"
    " padding: 1px 10px; font-weight: bold; }"
)
_BANNER_STYLE = (
    "QFrame#banner { background: rgba(207, 72, 72, 0.12); border: 1px solid rgba(207, 72, 72, 0.55);"
    " border-radius: 6px; }"
)
#: a message that is not a problem (the demo's own database): neutral blue, readable light and dark.
_INFO_STYLE = (
    "QFrame#banner { background: rgba(66, 133, 244, 0.12); border: 1px solid rgba(66, 133, 244, 0.55);"
    " border-radius: 6px; }"
)


class EmptyState(QWidget):
    """What a first start shows: two ways in."""

    def __init__(self, add_action: QAction, demo_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("empty-state")
        title = QLabel("No streams yet", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setPointSizeF((font.pointSizeF() if font.pointSizeF() > 0 else 10) * 1.8)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Add a stream with a DSS stream key to watch your devices,\n"
            "or try the demo: a simulated fleet on this computer, no Ayla account needed.",
            self,
        )
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setEnabled(False)
        self.add_button = QPushButton("Add stream…", self)
        self.add_button.setObjectName("empty-add")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(add_action.trigger)
        self.demo_button = QPushButton("Try the demo", self)
        self.demo_button.setObjectName("empty-demo")
        self.demo_button.clicked.connect(demo_action.trigger)
        for button in (self.add_button, self.demo_button):
            button.setMinimumSize(160, 36)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(icon)
        layout.addSpacing(8)
        layout.addWidget(title)
        layout.addSpacing(4)
        layout.addWidget(text)
        layout.addSpacing(20)
        layout.addLayout(buttons)
        layout.addStretch(3)


class Banner(QFrame):
    """A one-sentence message above the content, with an optional action."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(_BANNER_STYLE)
        self.label = QLabel(self)
        self.label.setObjectName("banner-text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.action_button = QPushButton(self)
        self.action_button.setObjectName("banner-action")
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.setFlat(True)
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.close_button)
        self._callback: Callable[[], object] | None = None
        self.action_button.clicked.connect(self._run)
        self.hide()

    def show_message(self, text: str, action: str | None = None,
                     callback: Callable[[], object] | None = None, *, info: bool = False) -> None:
        self.setStyleSheet(_INFO_STYLE if info else _BANNER_STYLE)
        self.label.setText(one_line(text, 600))
        self._callback = callback
        self.action_button.setVisible(bool(action and callback))
        self.action_button.setText(action or "")
        self.show()

    def _run(self) -> None:
        if self._callback is not None:
            self._callback()


class MainWindow(QMainWindow):
    """Tiles, log, streams panel, menus and status bar."""

    #: the window was closed (the app's main coroutine is waiting for this).
    closed = Signal()

    def __init__(self, settings: AppSettings, *, streams_panel: QWidget | None = None,
                 clock: Callable[[], float] = time.time, parent: QWidget | None = None,
                 alerts_path: Path | None = None, tray: bool | None = None) -> None:
        """``alerts_path``: the alert rules file (default: ``alerts.toml`` in the
        config folder); ``tray``: whether to use the system tray (default: if there is one)."""
        super().__init__(parent)
        self.settings = settings
        self.clock = clock
        self.setObjectName("main-window")
        self.setWindowIcon(app_icon())
        self._demo = False
        self._database_text = ""
        self._stream_count = 0
        #: log rows of the batches received since the last refresh (the tiles
        #: have taken those batches in already and show them at the refresh).
        self._pending_rows: list[LogRow] = []
        self._pending_status: dict[int, StreamStatus] = {}
        self._health: WriterHealth | None = None
        self._health_shown: WriterHealth | None = None
        self._received = 0
        self._rate_mark = (time.monotonic(), 0)
        self.setStyleSheet(_DEMO_STYLE)
        #: runs every query of the window's widgets; closing the window cancels them all.
        self.queries = QueryRunner(self)

        self._build_actions()
        self._build_menus()

        # content
        #: the fleet's insight, fed with every batch (the fleet table and Problems read it)
        self.insight_feed = InsightFeed(clock)
        self._history_generation = 0
        self.tiles = TilesView(self, clock=clock)
        self.fleet_table = FleetTableView(self.fleet_rows, self, clock=clock, auto_refresh=False)
        self.devices_stack = QStackedWidget(self)
        self.devices_stack.setObjectName("devices-stack")
        self.devices_stack.addWidget(self.tiles)
        self.devices_stack.addWidget(self.fleet_table)
        self.log_view = EventLogView(settings.log_window, self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.devices_stack)
        self.splitter.addWidget(self.log_view)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([430, 470])
        self.splitter.setChildrenCollapsible(False)
        self.empty = EmptyState(self.add_stream_action, self.demo_action, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)
        self.banner = Banner(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # streams panel
        self.streams_dock = QDockWidget("Streams", self)
        self.streams_dock.setObjectName("streams-dock")
        self.streams_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.streams_panel = streams_panel
        if streams_panel is not None:
            self.streams_dock.setWidget(streams_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.streams_dock)
        self.view_menu.insertAction(self.view_menu.actions()[0], self.streams_dock.toggleViewAction())
        self.resizeDocks([self.streams_dock], [300], Qt.Orientation.Horizontal)

        # problems
        self.problems = ProblemsPanel(self._problem_source, self, clock=clock,
                                      offline_after_s=settings.offline_problem_min * 60.0, auto_refresh=False)
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems-dock")
        self.problems_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                       | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.problems_dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.problems_dock)
        self.view_menu.insertAction(self.view_menu.actions()[1], self.problems_dock.toggleViewAction())
        self.problems.title_changed.connect(self.problems_dock.setWindowTitle)
        self.problems.stream_opened.connect(self.show_stream)
        #: the table's and Problems' rows, made a slice per turn every 2.5 s while either is shown
        self.fleet_rows_collector = RowCollector(
            lambda: self.insight_feed.insight, self.tiles.model.tiles, self, clock=clock,
            wanted=lambda: self.fleet_table.isVisible() or self.problems.isVisible())
        self.fleet_rows_collector.ready.connect(self.fleet_table.refresh)
        self.fleet_rows_collector.ready.connect(self.problems.refresh)
        self.problems_dock.visibilityChanged.connect(lambda shown: shown and self.fleet_rows_collector.collect())

        # alerts (issue 13): the dock beside Problems, the Alerts menu, the tray, the badges
        self.alerts = WindowAlerts(self, insight=lambda: self.insight_feed.insight, states=self.tiles.model.tiles,
                                   statuses=lambda: self._problem_source()[1], runner=self.queries,
                                   settings=settings, rules_path=alerts_path, clock=clock, tray_available=tray)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.alerts.dock)
        #: the stored devices' properties, read after their tiles show (see add_history)
        self.stored_properties = StoredProperties(self.queries, self.tiles, self)
        self.alerts.fleet_complete = lambda: not self.stored_properties.loading
        self.tabifyDockWidget(self.problems_dock, self.alerts.dock)
        self.problems_dock.raise_()
        self.view_menu.insertAction(self.view_menu.actions()[2], self.alerts.dock.toggleViewAction())
        self.menuBar().insertMenu(self.menuBar().actions()[-1], self.alerts.menu)  # before Help
        self.alerts.tray.quit_requested.connect(self.quit)

        self._build_status_bar()

        # wiring
        self.tiles.device_selected.connect(self._device_selected)
        self.fleet_table.device_selected.connect(self._device_selected)
        self.tiles_view_action.triggered.connect(lambda: self.set_devices_view("tiles"))
        self.table_view_action.triggered.connect(lambda: self.set_devices_view("table"))
        self.set_devices_view(settings.devices_view)
        self.compact_tiles_action.setChecked(settings.tile_density == "compact")
        self.tiles.set_compact(settings.tile_density == "compact")
        self.compact_tiles_action.toggled.connect(self.set_compact_tiles)
        self.log_view.dsn_filter_changed.connect(self.tiles.select_dsn)
        self.log_view.paused_changed.connect(self.pause_action.setChecked)
        self.refresh = Throttle(self._flush, REFRESH_MS, self, name="main-refresh")
        self.status_timer = QTimer(self)
        self.status_timer.setObjectName("status-clock")
        self.status_timer.setInterval(1000)
        self.status_timer.timeout.connect(self._update_rate)
        self.status_timer.timeout.connect(self.insight_feed.advance)
        self.status_timer.timeout.connect(self.alerts.panel.tick)
        self.status_timer.start()

        self._update_title()
        self.resize(1400, 900)
        self._update_page()

    # -- actions and menus
    def _action(self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, *,
                name: str, tip: str | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        return action

    def _build_actions(self) -> None:
        self.add_stream_action = self._action("&Add stream…", QKeySequence.StandardKey.New,
                                              name="add-stream", tip="Watch a DSS stream with its key")
        self.demo_action = self._action("Try the &demo", "Ctrl+D", name="demo",
                                        tip="Start a simulated fleet on this computer and watch it")
        self.settings_action = self._action("&Settings…", QKeySequence.StandardKey.Preferences,
                                            name="settings", tip="Database, timeouts, log size")
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, name="quit")
        if self.quit_action.shortcut().isEmpty():
            self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(lambda: self.quit())
        self.focus_filter_action = self._action("&Find in events", QKeySequence.StandardKey.Find,
                                                name="focus-filter", tip="Type to filter the event log")
        self.clear_filter_action = self._action("&Clear filters", "Ctrl+Shift+L", name="clear-filter",
                                                tip="Show every event and every device")
        self.pause_action = self._action("&Pause log", "Ctrl+P", name="pause", checkable=True,
                                         tip="Hold new events back (they keep being collected)")
        self.follow_action = self._action("&Follow newest", "Ctrl+End", name="follow", checkable=True)
        self.follow_action.setChecked(True)
        self.focus_tiles_action = self._action("Filter &devices", "Ctrl+Shift+F", name="focus-tiles")
        self.about_action = self._action(f"&About {APP_NAME}", None, name="about")
        self.shortcuts_action = self._action("&Keyboard shortcuts", "F1", name="shortcuts",
                                             tip="Every key the window answers to")
        self.log_folder_action = self._action("Open the &log folder", None, name="log-folder",
                                              tip="The folder with the app's log files (for a bug report)")
        #: the folder the log file is in (the app sets it to where the crash reporter writes).
        self.log_folder: Path | None = None
        self.history_action = self._action("&History…", "Ctrl+H", name="history",
                                           tip="Search the stored events by time, device, property and text")
        self.export_action = self._action("&Export events…", "Ctrl+E", name="export",
                                          tip="The stored events the log's filter matches, as CSV or JSON Lines")
        self.report_action = self._action("Fleet &report…", None, name="fleet-report",
                                          tip="What is wrong with the fleet, from the database: flaps, quiet devices, "
                                              "failed and missing acks, latency; a page to send")
        self.save_capture_action = self._action("Save &capture…", None, name="save-capture",
                                                tip="Stored frames of a time range and devices as a capture file, "
                                                    "redacted as you choose")
        self.tiles_view_action = self._action("Devices as &tiles", "Ctrl+1", name="devices-tiles", checkable=True,
                                              tip="One card per device")
        self.table_view_action = self._action("Devices as a t&able", "Ctrl+2", name="devices-table",
                                              checkable=True, tip="The fleet table: one row per device with its "
                                                                  "flaps, rhythm, acks and latency")
        self.compact_tiles_action = self._action("&Compact tiles", "Ctrl+3", name="compact-tiles", checkable=True,
                                                 tip="Smaller cards, more devices per screen")
        self._devices_group = QActionGroup(self)
        self._devices_group.addAction(self.tiles_view_action)
        self._devices_group.addAction(self.table_view_action)
        self.open_capture_action = self._action("&Open capture…", None, name="open-capture",
                                                tip="Play a capture file as a stream, into a scratch database")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.add_stream_action)
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.history_action)
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.report_action)
        file_menu.addAction(self.save_capture_action)
        file_menu.addAction(self.open_capture_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.tiles_view_action)
        self.view_menu.addAction(self.table_view_action)
        self.view_menu.addAction(self.compact_tiles_action)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.focus_filter_action)
        self.view_menu.addAction(self.focus_tiles_action)
        self.view_menu.addAction(self.clear_filter_action)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.pause_action)
        self.view_menu.addAction(self.follow_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.log_folder_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.log_folder_action.triggered.connect(self.open_log_folder)

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.add_stream_action)
        toolbar.addAction(self.demo_action)
        toolbar.addSeparator()
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.clear_filter_action)
        toolbar.addSeparator()
        toolbar.addAction(self.history_action)
        toolbar.addSeparator()
        toolbar.addAction(self.tiles_view_action)
        toolbar.addAction(self.table_view_action)
        self.tiles_view_action.setIconText("Tiles")
        self.table_view_action.setIconText("Table")
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        self.demo_badge = QLabel("DEMO · simulated devices", toolbar)
        self.demo_badge.setObjectName("demo-badge")
        self.demo_badge.setTextFormat(Qt.TextFormat.PlainText)
        self.demo_badge.setToolTip("These devices and events come from the built-in simulator")
        self._demo_badge_action = toolbar.addWidget(self.demo_badge)
        self._demo_badge_action.setVisible(False)
        toolbar.addAction(self.settings_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

        self.focus_filter_action.triggered.connect(lambda: self.log_view.focus_filter())
        self.focus_tiles_action.triggered.connect(lambda: self.tiles.filter_edit.setFocus())
        self.clear_filter_action.triggered.connect(self.clear_filters)
        self.pause_action.toggled.connect(lambda on: self.log_view.set_paused(on))
        self.follow_action.toggled.connect(lambda on: self.log_view.follow_box.setChecked(on))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.writer_label = QLabel(self)
        self.writer_label.setObjectName("writer-health")
        self.writer_label.setTextFormat(Qt.TextFormat.PlainText)
        self.rate_label = QLabel(self)
        self.rate_label.setObjectName("event-rate")
        self.rate_label.setTextFormat(Qt.TextFormat.PlainText)
        self.database_label = QLabel(self)
        self.database_label.setObjectName("database")
        self.database_label.setTextFormat(Qt.TextFormat.PlainText)
        summary = getattr(self.streams_panel, "summary", None)  # streams live/retrying/stopped, in colour
        if isinstance(summary, QWidget):
            bar.addWidget(summary)
        bar.addWidget(self.writer_label)
        bar.addWidget(self.rate_label)
        bar.addPermanentWidget(self.database_label)
        self.writer_label.setText("Database writer idle")
        self.log_view.follow_box.toggled.connect(self.follow_action.setChecked)

    # -- state shown
    def _update_title(self) -> None:
        title = f"{APP_NAME} {__version__}"
        if self._demo:
            title += " — Demo"
        self.setWindowTitle(title)

    def set_demo(self, running: bool) -> None:
        """Show (or hide) that the demo simulator is what is being watched."""
        self._demo = running
        self._demo_badge_action.setVisible(running)
        self.demo_action.setEnabled(not running)
        self.empty.demo_button.setEnabled(not running)
        self._update_title()

    @property
    def demo(self) -> bool:
        return self._demo

    def set_database(self, description: str, size: int | None = None) -> None:
        self._database_text = description
        text = f"Database: {one_line(description, 120)}"
        if size is not None:
            text += f" ({format_bytes(size)})"
        self.database_label.setText(text)
        self.database_label.setToolTip("")

    def set_stream_count(self, count: int) -> None:
        self._stream_count = count
        self._update_page()

    def set_engine_ready(self, ready: bool) -> None:
        """Without a database the window can show but not record: say so in the actions."""
        for action in (self.add_stream_action, self.demo_action):
            action.setEnabled(ready and not (action is self.demo_action and self._demo))
        self.history_action.setEnabled(ready)
        self.export_action.setEnabled(ready)
        self.report_action.setEnabled(ready)
        self.empty.add_button.setEnabled(ready)
        self.empty.demo_button.setEnabled(ready and not self._demo)

    def show_info(self, text: str, action: str | None = None,
                  callback: Callable[[], object] | None = None) -> None:
        """One sentence above the content that is news, not a problem."""
        self.banner.show_message(text, action, callback, info=True)

    def show_error(self, text: str, action: str | None = None,
                   callback: Callable[[], object] | None = None) -> None:
        """One clear sentence above the content."""
        self.banner.show_message(text, action, callback)

    def _update_page(self) -> None:
        has_content = self._stream_count > 0 or self.tiles.model.rowCount() > 0
        self.stack.setCurrentWidget(self.splitter if has_content else self.empty)

    # -- updates in (cheap: buffered until the next refresh)
    def add_frames(self, stream_id: int, frames: Sequence[Any]) -> None:
        """A batch from one stream; shown at the next refresh.

        Its log rows are made and the tiles take it in now, batch by batch,
        so that the refresh itself only announces (the loop's longest turns
        were refreshes doing all of it for a tenth of a second of events)."""
        if not frames:
            return
        rows = self._pending_rows
        rows.extend([row_from_frame(stream_id, f) for f in frames])
        if len(rows) > 2 * self.log_view.model.capacity:  # the log keeps the newest rows only
            del rows[: len(rows) - self.log_view.model.capacity]
        events = [f for f in frames if f.__class__ is not MalformedFrame]
        self.tiles.fold(events)
        self.insight_feed.add(stream_id, events)
        self.alerts.add(events)
        self._received += len(frames)
        self.refresh()

    def update_status(self, status: StreamStatus) -> None:
        self._pending_status[status.stream_id] = status
        self.refresh()

    def set_writer_health(self, health: WriterHealth) -> None:
        self._health = health
        self.refresh()

    def add_history(self, states: Sequence[Any], rows: Sequence[LogRow], store: Any = None) -> None:
        """What the database remembers: tiles' last known state and recent
        events; with ``store``, ``states`` are an overview (no properties: see
        :class:`~ayla_monitor.ui.stored_properties.StoredProperties`), whose
        properties are read from ``store`` next."""
        self.tiles.load_states(states)
        self.log_view.add_rows(rows)
        self._update_page()
        if store is not None:  # in the tiles' order: the first shown are the first filled
            self.stored_properties.load(store, [tile.dsn for tile in self.tiles.model.tiles()])

    def set_stream_name(self, stream_id: int, name: str) -> None:
        self.log_view.set_stream(stream_id, name)
        self.insight_feed.set_stream_name(stream_id, name)

    # -- the fleet's insight: the table and Problems
    def load_insight_history(self, store: Any) -> None:
        """Start the insight afresh from ``store``'s events of the last hour
        (read off the GUI thread; live batches meanwhile wait and follow)."""
        feed = self.insight_feed
        feed.reset()
        feed.begin_history()
        now = self.clock()
        self._history_generation += 1
        generation = self._history_generation
        tickets: list[Any] = []

        def work() -> Any:
            return read_history(store, now, feed.settings,
                                cancelled=lambda: bool(tickets) and tickets[0].cancelled.is_set())

        def done(history: Any) -> None:
            if generation == self._history_generation:  # not a read an earlier database asked for
                feed.finish_history(history)

        def failed(exc: BaseException) -> None:
            log.warning("The insight could not read the stored events: %s", exc)
            done(None)

        tickets.append(self.queries.call(self, work, done, failed))

    def fleet_rows(self) -> list[DeviceSummary]:
        """Every device's summary as last collected (the insight's, and the
        tiles' devices it has not heard from)."""
        return self.fleet_rows_collector.rows

    def _problem_source(self) -> tuple[list[DeviceSummary], list[StreamStatus]]:
        model = getattr(self.streams_panel, "model", None)
        statuses = model.statuses() if model is not None else []
        return self.fleet_rows(), statuses

    def set_devices_view(self, view: str) -> None:
        """"tiles" or "table" (remembered)."""
        table = view == "table"
        self.devices_stack.setCurrentWidget(self.fleet_table if table else self.tiles)
        if table:
            self.fleet_rows_collector.collect(force=True)
        (self.table_view_action if table else self.tiles_view_action).setChecked(True)
        if self.settings.devices_view != view:
            self.settings.devices_view = "table" if table else "tiles"
            self.settings.save()

    def set_compact_tiles(self, compact: bool) -> None:
        """Compact or full tile cards (remembered)."""
        self.tiles.set_compact(compact)
        density = "compact" if compact else "normal"
        if self.settings.tile_density != density:
            self.settings.tile_density = density
            self.settings.save()

    def show_stream(self, stream_id: int) -> None:
        """The streams panel, with ``stream_id`` selected."""
        self.streams_dock.show()
        self.streams_dock.raise_()
        select = getattr(self.streams_panel, "select_stream", None)
        if select is not None:
            select(stream_id)

    def remove_stream(self, stream_id: int) -> None:
        self.log_view.remove_stream(stream_id)
        model = getattr(self.streams_panel, "model", None)
        if model is not None:
            model.remove(stream_id)

    def _flush(self) -> None:
        if self._pending_rows:
            rows, self._pending_rows = self._pending_rows, []
            self.log_view.add_rows(rows)
            self.tiles.announce()
            if self.stack.currentWidget() is not self.splitter:
                self._update_page()
        if self._pending_status:
            statuses, self._pending_status = self._pending_status, {}
            model = getattr(self.streams_panel, "model", None)
            for status in statuses.values():
                if model is not None:
                    model.update_status(status)
        if self._health is not None and self._health is not self._health_shown:
            self._show_health(self._health)

    def _show_health(self, health: WriterHealth) -> None:
        self._health_shown = health
        if health.error:
            self.writer_label.setText(f"Database writer: {one_line(health.error, 200)}")
            self.writer_label.setStyleSheet("color: #cf4848;")
        else:
            text = f"Stored {format_count(health.stored)} events"
            if health.pending:
                text += f" · {format_count(health.pending)} waiting to be written"
            self.writer_label.setText(text)
            self.writer_label.setStyleSheet("")

    def _update_rate(self) -> None:
        now = time.monotonic()
        then, count = self._rate_mark
        if now - then >= 0.5:
            rate = (self._received - count) / (now - then)
            self._rate_mark = (now, self._received)
            self.rate_label.setText(f"{rate:,.0f} events/s" if self._received else "")

    # -- user actions handled here
    def show_shortcuts(self) -> QDialog:
        """Help → Keyboard shortcuts (every action with a key, and the keys without one)."""
        from ayla_monitor.ui.about import ShortcutsDialog

        dialog = ShortcutsDialog(self.findChildren(QAction), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_log_folder(self) -> QUrl:
        """Help → Open the log folder, in the desktop's file manager."""
        from ayla_monitor.ui.crash import default_log_dir

        folder = self.log_folder or default_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        url = QUrl.fromLocalFile(str(folder))
        QDesktopServices.openUrl(url)
        return url

    def _device_selected(self, dsn: str) -> None:
        current = self.log_view.criteria().dsn
        self.log_view.set_dsn_filter(None if dsn == current else dsn)

    def clear_filters(self) -> None:
        self.log_view.clear_filters()
        self.tiles.filter_edit.clear()
        self.tiles.select_dsn(None)

    # -- saved layout
    _STATES = ("geometry", "window", "main-splitter", "log-splitter", "log-header")

    def restore_layout(self) -> None:
        """Geometry, dock, splitters and log columns as they were last time."""
        def get(name: str) -> QByteArray | None:
            data = self.settings.state(name)
            return QByteArray(data) if data else None

        if (data := get("geometry")) is not None:
            self.restoreGeometry(data)
        if (data := get("window")) is not None:
            self.restoreState(data)
        if (data := get("main-splitter")) is not None:
            self.splitter.restoreState(data)
        if (data := get("log-splitter")) is not None:
            self.log_view.splitter.restoreState(data)
        if (data := get("log-header")) is not None:
            self.log_view.table.horizontalHeader().restoreState(data)

    def save_layout(self) -> None:
        self.settings.save_state("geometry", self.saveGeometry().data())
        self.settings.save_state("window", self.saveState().data())
        self.settings.save_state("main-splitter", self.splitter.saveState().data())
        self.settings.save_state("log-splitter", self.log_view.splitter.saveState().data())
        self.settings.save_state("log-header", self.log_view.table.horizontalHeader().saveState().data())
        self.settings.qsettings.sync()

    def quit(self) -> None:
        """Quit for real, even when closing would keep watching in the tray."""
        self.alerts.quitting = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.alerts.hide_to_tray():  # the user chose to keep watching: streams and alerts go on
            event.ignore()
            return
        self.alerts.close()
        self.refresh.cancel()
        self.queries.close()
        try:
            self.save_layout()
        except Exception:  # never keep the user from closing
            log.exception("Could not save the window layout")
        event.accept()
        self.closed.emit()
