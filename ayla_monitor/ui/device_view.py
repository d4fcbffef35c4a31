"""One device in depth: its properties, charts of their values over time,
its online/offline timeline and where it has been.

:class:`DeviceView` is a window of its own (several can be open). It reads
the stored history on a worker thread (through a
:class:`~ayla_monitor.ui.queries.QueryRunner`, which answers only while the
view is open) and then
follows the live stream: :meth:`DeviceView.add_frames` takes the bridge's
batches, the series grow and the charts redraw at most twice a second. A
preset range (last hour, day, week) follows the live edge until the user
zooms or pans; a custom range stays where it was put.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.dss.events import Connectivity, Datapoint, DatapointAck, Location, value_text
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.fleet.device import DeviceState, PropertyState
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.history import (
    PLOTTABLE_TYPES,
    LocationPoint,
    Series,
    Span,
    connectivity_spans,
    epoch_of,
    location_history,
    property_series,
    spans_from_changes,
)
from ayla_monitor.ui.charts import ChartsView
from ayla_monitor.ui.device_insight import DeviceInsightStrip, device_figures
from ayla_monitor.ui.formatting import format_event_time, format_value, one_line
from ayla_monitor.ui.queries import QueryRunner
from ayla_monitor.ui.throttle import Throttle

__all__ = ["DeviceView", "RANGES", "CUSTOM"]

log = logging.getLogger(__name__)

#: Range presets: label -> seconds back from now.
RANGES: dict[str, float] = {"Last hour": 3600.0, "Last day": 86_400.0, "Last week": 7 * 86_400.0}
CUSTOM = "Custom range"
#: How often live values reach the charts (milliseconds).
REDRAW_MS = 500

_PLAIN = Qt.TextFormat.PlainText


class DeviceView(QWidget):
    """Properties, charts, connectivity timeline and locations of one DSN."""

    #: export the events this view shows (an :class:`~ayla_monitor.dss.filter.EventFilter`).
    export_requested = Signal(object)
    #: the view finished loading (tests wait for it).
    loaded = Signal()

    def __init__(self, dsn: str, store: Store, parent: QWidget | None = None, *,
                 model: str | None = None, online: bool | None = None,
                 clock: Callable[[], float] = time.time, runner: QueryRunner | None = None,
                 insight: Callable[[], Any] | None = None) -> None:
        """``insight()``: the window's FleetInsight (its rhythm, flaps and acks
        line and ack latency chart are shown when given)."""
        super().__init__(parent, Qt.WindowType.Window)
        self.dsn = dsn
        self.store = store
        self.clock = clock
        #: runs the loads off the UI thread; answers only while this view is open.
        self.runner = runner if runner is not None else QueryRunner(self)
        self.setObjectName("device-view")
        self.setWindowTitle(f"{one_line(dsn, 60)} — Ayla Monitor")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.series: dict[str, Series] = {}
        #: the device as the tiles and the fleet table know it (its latest
        #: stored values, then the live events folded in)
        self.state = DeviceState(dsn)
        self.spans: list[Span] = []
        self._before: bool | None = None
        self._changes: list[tuple[float, bool | None]] = []
        self._range = (0.0, 0.0)
        self._follow = True
        self._generation = 0
        self._online = online
        self._custom_set = False
        #: properties the user unchecked (every other number is charted, new ones too).
        self._unchecked: set[str] = set()
        self.loading = False
        self.error: str | None = None
        #: loads finished (tests wait for it to grow).
        self.loads = 0

        # header
        title = QLabel(dsn, self)
        title.setObjectName("device-title")
        title.setTextFormat(_PLAIN)
        font = title.font()
        font.setBold(True)
        font.setPointSizeF((font.pointSizeF() if font.pointSizeF() > 0 else 10) * 1.35)
        title.setFont(font)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_label = QLabel(one_line(model or "", 60), self)
        self.model_label.setTextFormat(_PLAIN)
        self.model_label.setEnabled(False)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("device-status")
        self.status_label.setTextFormat(_PLAIN)
        self._show_status()

        self.range_box = QComboBox(self)
        self.range_box.setObjectName("range")
        for label in (*RANGES, CUSTOM):
            self.range_box.addItem(label)
        self.from_edit = QDateTimeEdit(self)
        self.to_edit = QDateTimeEdit(self)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setVisible(False)
        self.apply_button = QPushButton("Show", self)
        self.apply_button.setVisible(False)
        self.combined_box = QCheckBox("One chart", self)
        self.combined_box.setObjectName("combined")
        self.combined_box.setToolTip("Plot the checked properties together, each on its own axis")
        self.reset_button = QPushButton("Reset zoom", self)
        self.png_button = QPushButton("Save chart…", self)
        self.png_button.setToolTip("Save the timeline and charts as a PNG image")
        self.export_button = QPushButton("Export events…", self)
        self.export_button.setToolTip("This device's events in the chosen range, as CSV or JSON Lines")

        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.model_label)
        top.addWidget(self.status_label)
        top.addStretch(1)
        top.addWidget(self.range_box)
        top.addWidget(self.from_edit)
        self._dash = QLabel("–", self)
        top.addWidget(self._dash)
        top.addWidget(self.to_edit)
        top.addWidget(self.apply_button)
        top.addSpacing(8)
        top.addWidget(self.combined_box)
        top.addWidget(self.reset_button)
        top.addWidget(self.png_button)
        top.addWidget(self.export_button)
        self._dash.setVisible(False)

        # left: properties and locations
        self.property_tree = QTreeWidget(self)
        self.property_tree.setObjectName("properties")
        self.property_tree.setHeaderLabels(["Property", "Type", "Value", "Event time (UTC)"])
        self.property_tree.setRootIsDecorated(False)
        self.property_tree.setUniformRowHeights(True)
        for column in range(3):
            self.property_tree.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.property_tree.header().setStretchLastSection(True)
        self.property_tree.setToolTip("Check numeric and on/off properties to chart them")
        self.location_tree = QTreeWidget(self)
        self.location_tree.setObjectName("locations")
        self.location_tree.setHeaderLabels(["Event time (UTC)", "Position", "Provider", ""])
        self.location_tree.setRootIsDecorated(False)
        self.location_tree.setUniformRowHeights(True)
        self.location_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.location_tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.location_tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.location_tree.itemClicked.connect(self._location_clicked)
        self.location_tree.itemActivated.connect(lambda item, _col: self._open_map(item))
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._heading("Properties"))
        left_layout.addWidget(self.property_tree, 3)
        left_layout.addWidget(self._heading("Locations"))
        left_layout.addWidget(self.location_tree, 1)

        # right: charts or an empty state, and the hover readout
        self.charts = ChartsView(self)
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("device-empty")
        self.empty_label.setTextFormat(_PLAIN)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.charts)
        self.readout = QLabel(self)
        self.readout.setObjectName("readout")
        self.readout.setTextFormat(_PLAIN)
        self.readout.setText("Hover over a chart for times and values; drag to pan, wheel to zoom, "
                             "right-click to show all data or copy the image.")
        self.note_label = QLabel(self)
        self.note_label.setObjectName("skipped-note")
        self.note_label.setTextFormat(_PLAIN)
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(False)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.stack, 1)
        right_layout.addWidget(self.readout)
        right_layout.addWidget(self.note_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([470, 850])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        self.insight_strip: DeviceInsightStrip | None = None
        if insight is not None:
            self.insight_strip = DeviceInsightStrip(lambda: device_figures(insight, dsn, clock), self)
            layout.addWidget(self.insight_strip)
        layout.addWidget(self.splitter, 1)
        self.resize(1320, 820)

        self.redraw = Throttle(self._redraw, REDRAW_MS, self, name="device-redraw")
        self.range_box.currentTextChanged.connect(self._range_chosen)
        self.apply_button.clicked.connect(lambda: self.reload())
        self.combined_box.toggled.connect(lambda _: self._rebuild())
        self.reset_button.clicked.connect(self._reset_zoom)
        self.png_button.clicked.connect(self._save_png_clicked)
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self.history_query()))
        self.property_tree.itemChanged.connect(self._property_toggled)
        self.charts.readout_changed.connect(self._show_readout)
        self.charts.user_ranged.connect(self._stop_following)
        for keys in (QKeySequence(Qt.Key.Key_Escape), QKeySequence(QKeySequence.StandardKey.Close)):
            QShortcut(keys, self, self.close, context=Qt.ShortcutContext.WindowShortcut)
        self._show_empty("Loading…")

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextFormat(_PLAIN)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    # -- range ------------------------------------------------------------------

    def current_range(self) -> tuple[float, float]:
        """``[start, end)`` in epoch seconds for the chosen preset or custom range."""
        label = self.range_box.currentText()
        if label == CUSTOM:
            start = self.from_edit.dateTime().toSecsSinceEpoch()
            end = self.to_edit.dateTime().toSecsSinceEpoch()
            return float(start), float(max(end, start + 60))
        now = self.clock()
        return now - RANGES[label], now + 1.0

    def set_range(self, label: str, start: float | None = None, end: float | None = None) -> None:
        """Choose a preset, or :data:`CUSTOM` with ``start``/``end`` (epoch seconds)."""
        if label == CUSTOM and start is not None and end is not None:
            self.from_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(start)))
            self.to_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(end)))
            self._custom_set = True
        if self.range_box.currentText() == label:
            self.reload()
        else:
            self.range_box.setCurrentText(label)

    def _range_chosen(self, label: str) -> None:
        custom = label == CUSTOM
        for widget in (self.from_edit, self.to_edit, self.apply_button, self._dash):
            widget.setVisible(custom)
        if custom:
            if not self._custom_set:
                # Start from what was shown, so that the user adjusts rather than types.
                start, end = self._range if self._range[1] > 0 else (self.clock() - 86_400, self.clock())
                self.from_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(start)))
                self.to_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(min(end, self.clock()))))
            self._custom_set = False
        self.reload()

    def _stop_following(self) -> None:
        self._follow = False

    def view_range(self) -> tuple[float, float]:
        """The x range shown: the chosen range, or from where this device's known
        history starts when that is later (a device watched for ten minutes shows
        ten minutes of "Last week", not a thin line at the right edge)."""
        start, end = self._range
        now = self.clock()
        end = min(end, now + 1.0) if self.range_box.currentText() != CUSTOM else end
        firsts = [s.times[0] for s in self._plotted() if s.times]
        firsts += [span.start for span in self.spans if span.online is not None]
        if firsts:
            first = min(firsts)
            if first > start:
                start = max(start, first - 0.05 * max(60.0, end - first))
        return start, end

    def _reset_zoom(self) -> None:
        self._follow = self.range_box.currentText() != CUSTOM
        if self._follow:
            self._range = self.current_range()
        self.charts.set_x_range(*self.view_range())

    def history_query(self) -> EventFilter:
        """This device's events in the range shown (for an export)."""
        start, end = self._range if self._range[1] > 0 else self.current_range()
        return EventFilter(since=start, until=end, dsns=(self.dsn,), descending=False)

    # -- loading ----------------------------------------------------------------

    def checked_properties(self) -> list[str]:
        names = []
        for i in range(self.property_tree.topLevelItemCount()):
            item = self.property_tree.topLevelItem(i)
            if item is None:
                continue
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable and item.checkState(0) == Qt.CheckState.Checked:
                names.append(item.data(0, Qt.ItemDataRole.UserRole))
        return names

    def reload(self) -> None:
        """Read the range from the database (on a worker thread) and redraw."""
        self.load()

    def load(self) -> None:
        self._generation += 1
        generation = self._generation
        start, end = self.current_range()
        self._range = (start, end)
        self._follow = self.range_box.currentText() != CUSTOM
        self.loading = True
        store, dsn = self.store, self.dsn
        unchecked = set(self._unchecked)

        def read() -> tuple[Any, ...]:
            states = store.device_states(dsn=dsn)
            state = states[0] if states else DeviceState(dsn)
            names = [name for name in state.property_names()
                     if state.properties[name].base_type in PLOTTABLE_TYPES and name not in unchecked]
            spans = connectivity_spans(store, dsn, start, end)
            series = property_series(store, dsn, names, start, end)
            locations = location_history(store, dsn)
            return state, spans, series, locations

        self.runner.call(self, read, lambda answer: self._loaded(generation, *answer),
                         lambda exc: self._load_failed(generation, exc))

    def _load_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if not isinstance(exc, StoreError):
            log.error("Loading the device view failed", exc_info=exc)
        self.loading = False
        self.error = str(exc)
        self._show_empty(f"The history cannot be read: {exc}")
        self.loads += 1
        self.loaded.emit()

    def _loaded(self, generation: int, state: DeviceState, spans: list[Span],
                series: dict[str, Series], locations: Sequence[LocationPoint]) -> None:
        if generation != self._generation:
            return  # a newer load is on its way
        self.loading = False
        self.error = None
        self._set_properties(state)
        self._set_locations(locations)
        self.spans = spans
        self._before = spans[0].online if spans else None
        self._changes = [(s.start, s.online) for s in spans[1:]]
        if spans and spans[-1].online is not None:
            self._online = spans[-1].online
            self._show_status()
        self.series = series
        self._rebuild()
        self.loads += 1
        self.loaded.emit()

    def _set_properties(self, state: DeviceState) -> None:
        tree = self.property_tree
        tree.blockSignals(True)
        tree.clear()
        self.state = state
        for name in state.property_names():
            tree.addTopLevelItem(self._property_item(name, state.properties[name]))
        tree.blockSignals(False)

    def _property_item(self, name: str, prop: PropertyState) -> QTreeWidgetItem:
        item = QTreeWidgetItem([one_line(name, 80), prop.base_type or "?", "", ""])
        item.setData(0, Qt.ItemDataRole.UserRole, name)
        self._show_value(item, prop)
        if prop.base_type in PLOTTABLE_TYPES:
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = name not in self._unchecked
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        else:
            item.setToolTip(0, "Text values are not charted")
        return item

    @staticmethod
    def _show_value(item: QTreeWidgetItem, prop: PropertyState) -> None:
        value = prop.value
        item.setText(2, one_line(format_value(prop.base_type, value), 24))
        item.setText(3, format_event_time(prop.time))
        text = value if value is None or value.__class__ is str else value_text(value)
        item.setToolTip(2, html.escape(one_line(text or "", 2000)))

    def _set_locations(self, points: Sequence[LocationPoint]) -> None:
        self.location_tree.clear()
        link = self.palette().color(QPalette.ColorRole.Link)
        for point in points:
            self._add_location(point, link, at_top=False)
        if not points:
            empty = QTreeWidgetItem(["No location events", "", "", ""])
            empty.setDisabled(True)
            self.location_tree.addTopLevelItem(empty)

    def _add_location(self, point: LocationPoint, link: Any, *, at_top: bool) -> None:
        where = ("?" if point.lat is None else f"{point.lat:.5f}") + ", " + (
            "?" if point.long is None else f"{point.long:.5f}")
        url = point.map_url()
        item = QTreeWidgetItem([format_event_time(point.time), where, one_line(point.provider or "", 30),
                                "Open map" if url else ""])
        if url:
            item.setData(3, Qt.ItemDataRole.UserRole, url)
            item.setForeground(3, link)
            font = QFont(item.font(3))
            font.setUnderline(True)
            item.setFont(3, font)
            item.setToolTip(3, html.escape(url))
        if at_top:
            first = self.location_tree.topLevelItem(0)
            if first is not None and first.isDisabled():
                self.location_tree.takeTopLevelItem(0)
            self.location_tree.insertTopLevelItem(0, item)
        else:
            self.location_tree.addTopLevelItem(item)

    def _location_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 3:
            self._open_map(item)

    def _open_map(self, item: QTreeWidgetItem) -> None:
        url = item.data(3, Qt.ItemDataRole.UserRole)
        if url:
            QDesktopServices.openUrl(QUrl(url))

    def _property_toggled(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if column != 0 or not name or not item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            return
        if item.checkState(0) == Qt.CheckState.Checked:
            self._unchecked.discard(name)
        else:
            self._unchecked.add(name)
        self.reload()

    # -- drawing ----------------------------------------------------------------

    def _plotted(self) -> list[Series]:
        names = self.checked_properties()
        return [self.series[n] for n in names if n in self.series]

    def _rebuild(self) -> None:
        plotted = self._plotted()
        start, end = self._range
        has_points = any(s.times for s in plotted)
        skipped = [s for s in plotted if s.skipped]
        if skipped:
            parts = [f"{one_line(s.property_name, 40)}: {s.skipped:,}" for s in skipped]
            self.note_label.setText("Values that are not numbers were skipped (" + ", ".join(parts) + ").")
        self.note_label.setVisible(bool(skipped))
        if not self.state.properties and not any(s.online is not None for s in self.spans):
            self._show_empty(f"No data for {self.dsn} has been stored yet.")
            return
        if not plotted:
            numeric = [p for p in self.state.properties.values() if p.base_type in PLOTTABLE_TYPES]
            self._show_empty("Check a property on the left to chart it." if numeric else
                             "This device has no numeric or on/off properties to chart.")
            return
        if not has_points:
            self._show_empty(f"No values between {_local(start)} and {_local(min(end, self.clock()))} "
                             "for the checked properties. Choose a longer range.")
            return
        self.charts.set_series(plotted, self.spans, start, end, combined=self.combined_box.isChecked())
        self.charts.set_x_range(*self.view_range())
        self.stack.setCurrentWidget(self.charts)

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.empty_label)

    @property
    def empty_text(self) -> str | None:
        """The empty state's message, ``None`` while charts are shown."""
        return self.empty_label.text() if self.stack.currentWidget() is self.empty_label else None

    def _redraw(self) -> None:
        now = self.clock()
        if self.range_box.currentText() != CUSTOM:
            start = now - RANGES[self.range_box.currentText()]
            self._range = (start, now + 1.0)
        self.spans = spans_from_changes(self._before, self._changes, self._range[0], self._range[1])
        if self.stack.currentWidget() is not self.charts or not self.charts.plots:
            self._rebuild()
            return
        self.charts.refresh(self.spans, until=min(self._range[1], now))
        if self._follow:
            self.charts.set_x_range(*self.view_range())

    def _show_readout(self, text: str) -> None:
        if text:
            self.readout.setText(text)

    def _show_status(self) -> None:
        text = {True: "Online", False: "Offline"}.get(self._online, "Unknown")  # type: ignore[arg-type]
        colour = {True: "#2ea043", False: "#cf4848"}.get(self._online, "#808080")  # type: ignore[arg-type]
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def _save_png_clicked(self) -> None:
        name = f"{self.dsn}-{datetime.now().strftime('%Y%m%d-%H%M')}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save chart", name, "PNG image (*.png)")
        if path:
            if not self.charts.save_png(path):
                self.readout.setText(f"Could not write {path}.")

    # -- live -------------------------------------------------------------------

    def add_frames(self, stream_id: int, frames: Sequence[Any]) -> None:
        """A live batch (from the bridge): this device's values, states and places."""
        changed = False
        dsn = self.dsn
        end = self._range[1]
        for frame in frames:
            if getattr(frame, "dsn", None) != dsn:
                continue
            self.state.apply(frame)
            when = epoch_of(frame.time)
            if isinstance(frame, Datapoint):  # an ack too: it carries the acked value
                name = frame.property_name
                if name is None:
                    continue
                self._update_property(name)
                if isinstance(frame, DatapointAck):
                    continue  # charted: the values the device sent
                series = self.series.get(name)
                if (series is None and frame.base_type in PLOTTABLE_TYPES and name not in self._unchecked
                        and not self.loading):
                    # A property first seen live (or not yet written when the view loaded).
                    series = self.series[name] = Series(dsn, name, frame.base_type, frame.display_name)
                if series is not None and (when is None or when < end or self._follow):
                    series.add(when, frame.raw_value)
                    changed = True
            elif isinstance(frame, Connectivity) and when is not None:
                online = frame.online
                self._changes.append((when, online))
                self._changes.sort(key=lambda c: c[0])
                if online is not None:
                    self._online = online
                    self._show_status()
                changed = True
            elif isinstance(frame, Location):
                self._add_location(LocationPoint(frame.time, frame.lat, frame.long, frame.provider, frame.ip),
                                   self.palette().color(QPalette.ColorRole.Link), at_top=True)
        if changed and not self.loading:
            self.redraw()

    def _update_property(self, name: str) -> None:
        prop = self.state.properties[name]
        tree = self.property_tree
        tree.blockSignals(True)
        try:
            for i in range(tree.topLevelItemCount()):
                item = tree.topLevelItem(i)
                if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == name:
                    self._show_value(item, prop)
                    return
            tree.addTopLevelItem(self._property_item(name, prop))  # a property first seen live
            tree.sortItems(0, Qt.SortOrder.AscendingOrder)
        finally:
            tree.blockSignals(False)

    def closeEvent(self, event: Any) -> None:
        self.redraw.cancel()
        self._generation += 1
        super().closeEvent(event)


def _local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
