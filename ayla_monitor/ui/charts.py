"""Charts of property values over time, with pyqtgraph.

pyqtgraph is made for live plots in Qt: it draws with QPainter on a
QGraphicsScene (no OpenGL, no QtCharts add-on), redraws ten thousands of
points in milliseconds, downsamples and clips to the view by itself, and
ships pan, zoom and a date axis. QtCharts would need the larger
PySide6-Addons wheel, and matplotlib is slow to redraw live.

:class:`ChartsView` shows a connectivity timeline (online and offline spans)
above one chart per property, or all properties on one chart with an axis
each (booleans share an on/off axis). All x axes are linked: zooming or
panning one moves all. The data comes ready-shaped from
:mod:`ayla_monitor.store.history` (NaN breaks where the device was offline,
booleans as steps), so nothing here decides what a value means.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from datetime import datetime

os.environ.setdefault("QT_API", "pyside6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QPointF, Signal  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

from ayla_monitor.store.history import Series, Span, value_at  # noqa: E402
from ayla_monitor.ui.formatting import one_line  # noqa: E402

__all__ = ["ChartsView", "COLORS", "MAX_AXES", "format_moment"]

log = logging.getLogger(__name__)

#: Series colours (readable on light and dark backgrounds).
COLORS = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#d9822b", "#17becf", "#bcbd22", "#e377c2")
ONLINE = QColor(46, 160, 67)
OFFLINE = QColor(207, 72, 72)
UNKNOWN = QColor(150, 150, 150, 90)
#: Separate y axes on one combined chart; more series share the last one.
MAX_AXES = 4
TIMELINE_HEIGHT = 34


def format_moment(epoch: float) -> str:
    """A chart time for the readout: local time with the date."""
    return datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


class _Plot:
    """One PlotItem and the series drawn in it (each on a view box of its own axis)."""

    def __init__(self, item: pg.PlotItem) -> None:
        self.item = item
        self.curves: list[tuple[Series, pg.PlotDataItem]] = []
        self.extra_boxes: list[pg.ViewBox] = []
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128), width=1))
        self.cursor.setVisible(False)
        item.addItem(self.cursor, ignoreBounds=True)

    def sync_boxes(self) -> None:
        rect = self.item.vb.sceneBoundingRect()
        for box in self.extra_boxes:
            box.setGeometry(rect)
            box.linkedViewChanged(self.item.vb, box.XAxis)


class ChartsView(QWidget):
    """The timeline and the charts of one device."""

    #: the hover readout changed (plain text; empty when the pointer left).
    readout_changed = Signal(str)
    #: the user zoomed or panned (the view stops following the live edge).
    user_ranged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("charts")
        pg.setConfigOptions(antialias=True)
        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setObjectName("charts-canvas")
        pal = self.palette()
        self._fg = pal.color(QPalette.ColorRole.Text)
        self.canvas.setBackground(pal.color(QPalette.ColorRole.Base))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.series: list[Series] = []
        self.spans: list[Span] = []
        self.combined = False
        self.plots: list[_Plot] = []
        self.timeline: pg.PlotItem | None = None
        self._bars: pg.BarGraphItem | None = None
        self._until: float | None = None
        self._setting_range = False
        self.canvas.scene().sigMouseMoved.connect(self._mouse_moved)

    # -- building ---------------------------------------------------------------

    def _axis_pen(self) -> QColor:
        color = QColor(self._fg)
        color.setAlphaF(0.7)
        return color

    def _date_axis(self, show_values: bool) -> pg.DateAxisItem:
        axis = pg.DateAxisItem(orientation="bottom")
        axis.setPen(self._axis_pen())
        axis.setTextPen(self._axis_pen())
        axis.setStyle(showValues=show_values)
        return axis

    def set_series(self, series: Sequence[Series], spans: Sequence[Span], start: float, end: float,
                   *, combined: bool = False) -> None:
        """Rebuild the charts for ``series`` over ``[start, end)``."""
        self.series = list(series)
        self.spans = list(spans)
        self.combined = combined
        self._until = end
        self.canvas.clear()
        self.plots = []
        self.timeline = self.canvas.addPlot(row=0, col=0, axisItems={"bottom": self._date_axis(False)})
        self.timeline.setObjectName("timeline")
        self.timeline.setMaximumHeight(TIMELINE_HEIGHT + 18)
        self.timeline.hideAxis("left")
        self.timeline.showAxis("left")  # keeps the left edge aligned with the charts below
        left = self.timeline.getAxis("left")
        left.setStyle(showValues=False)
        left.setPen(pg.mkPen(None))
        left.setLabel("online", color=self._axis_pen().name())
        self.timeline.setMouseEnabled(x=True, y=False)
        self.timeline.setYRange(0, 1, padding=0)
        self.timeline.setMenuEnabled(False)
        self.timeline.hideButtons()
        self._bars = None
        self._draw_spans()
        groups: list[list[Series]] = [self.series] if combined else [[s] for s in self.series]
        last = len(groups) - 1
        for row, group in enumerate(groups, start=1):
            item = self.canvas.addPlot(row=row, col=0, axisItems={"bottom": self._date_axis(row - 1 == last)})
            item.setXLink(self.timeline)
            item.setMouseEnabled(x=True, y=False)
            item.setClipToView(True)
            item.setDownsampling(auto=True, mode="peak")
            item.showGrid(x=True, y=True, alpha=0.15)
            item.getAxis("left").setPen(self._axis_pen())
            item.getAxis("left").setTextPen(self._axis_pen())
            item.getAxis("left").setWidth(58)
            item.hideButtons()
            plot = _Plot(item)
            self.plots.append(plot)
            self._fill(plot, group)
            item.vb.sigRangeChangedManually.connect(self._manual)
        self.timeline.vb.sigRangeChangedManually.connect(self._manual)
        self._align_timeline()
        self.set_x_range(start, end)

    def _align_timeline(self) -> None:
        """Give the timeline a right margin as wide as the charts' right axis, so
        that linked x axes line up (pyqtgraph links views by screen position)."""
        if self.timeline is None:
            return
        right = any(p.item.getAxis("right").isVisible() for p in self.plots)
        if right:
            self.timeline.showAxis("right")
            axis = self.timeline.getAxis("right")
            axis.setStyle(showValues=False)
            axis.setPen(pg.mkPen(None))
            axis.setWidth(58)
        else:
            self.timeline.hideAxis("right")

    def _fill(self, plot: _Plot, group: list[Series]) -> None:
        item = plot.item
        legend = item.addLegend(offset=(8, 4), labelTextColor=self._axis_pen(), brush=None)
        boxes: dict[str, pg.ViewBox] = {}
        for index, series in enumerate(group):
            color = COLORS[self.series.index(series) % len(COLORS)]
            pen = pg.mkPen(color, width=2)
            curve = pg.PlotDataItem(connect="finite", pen=pen, name=self._legend_name(series))
            curve.setObjectName(f"curve:{series.property_name}")
            key = "boolean" if series.boolean else series.property_name
            if index == 0 or not self.combined:
                box = item.vb
                boxes.setdefault(key, box)
                axis = item.getAxis("left")
                axis.setLabel(self._axis_label(series), color=color)
            elif key in boxes:
                box = boxes[key]
            elif len(boxes) >= MAX_AXES:
                box = list(boxes.values())[-1]
            else:
                box = self._add_axis(plot, len(boxes), series, color)
                boxes[key] = box
            if box is item.vb:
                item.addItem(curve)
            else:
                box.addItem(curve)
                legend.addItem(curve, curve.name())
            if series.boolean:
                box.setYRange(-0.1, 1.1, padding=0)
                box.enableAutoRange(y=False)
            plot.curves.append((series, curve))
        self._draw_plot(plot)

    def _add_axis(self, plot: _Plot, position: int, series: Series, color: str) -> pg.ViewBox:
        item = plot.item
        box = pg.ViewBox()
        box.setMouseEnabled(x=True, y=False)
        if position == 1:
            item.showAxis("right")
            axis = item.getAxis("right")
        else:
            axis = pg.AxisItem("right")
            row = self.canvas.ci.items[item][0][0] if item in self.canvas.ci.items else len(self.plots)
            self.canvas.addItem(axis, row=row, col=position)
        axis.setPen(self._axis_pen())
        axis.setTextPen(self._axis_pen())
        axis.setWidth(58)
        axis.setLabel(self._axis_label(series), color=color)
        item.scene().addItem(box)
        axis.linkToView(box)
        box.setXLink(item)
        plot.extra_boxes.append(box)
        item.vb.sigResized.connect(plot.sync_boxes)
        plot.sync_boxes()
        return box

    @staticmethod
    def _axis_label(series: Series) -> str:
        return "on / off" if series.boolean else one_line(series.property_name, 40)

    @staticmethod
    def _legend_name(series: Series) -> str:
        name = one_line(series.label, 60)
        if series.skipped:
            name += f" ({series.skipped:,} not numbers, skipped)"
        return name

    # -- data -------------------------------------------------------------------

    def _draw_spans(self) -> None:
        if self.timeline is None:
            return
        if self._bars is not None:
            self.timeline.removeItem(self._bars)
            self._bars = None
        if not self.spans:
            return
        x0 = [s.start for s in self.spans]
        widths = [max(0.0, s.end - s.start) for s in self.spans]
        brushes = [pg.mkBrush({True: ONLINE, False: OFFLINE}.get(s.online, UNKNOWN))  # type: ignore[arg-type]
                   for s in self.spans]
        self._bars = pg.BarGraphItem(x0=x0, width=widths, y0=0.15, height=0.7, brushes=brushes,
                                     pen=pg.mkPen(None))
        self.timeline.addItem(self._bars)

    def _draw_plot(self, plot: _Plot) -> None:
        for series, curve in plot.curves:
            xs, ys = series.drawn(self.spans, until=self._until)
            if xs:
                curve.setData(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), connect="finite")
            else:
                curve.setData([], [])
            curve.opts["name"] = self._legend_name(series)
        legend = plot.item.legend
        if legend is not None:
            for sample, label in legend.items:
                item = sample.item
                for series, curve in plot.curves:
                    if curve is item:
                        label.setText(self._legend_name(series))

    def refresh(self, spans: Sequence[Span] | None = None, until: float | None = None) -> None:
        """Redraw after the series grew (live) or the spans changed."""
        if spans is not None:
            self.spans = list(spans)
            self._draw_spans()
        if until is not None:
            self._until = until
        for plot in self.plots:
            self._draw_plot(plot)

    def set_x_range(self, start: float, end: float) -> None:
        if self.timeline is None:
            return
        self._setting_range = True
        try:
            self.timeline.setXRange(start, end, padding=0)
        finally:
            self._setting_range = False

    def x_range(self) -> tuple[float, float]:
        if self.timeline is None:
            return (0.0, 0.0)
        low, high = self.timeline.vb.viewRange()[0]
        return float(low), float(high)

    def _manual(self, *args: object) -> None:
        if not self._setting_range:
            self.user_ranged.emit()

    def curve_data(self, property_name: str) -> tuple[list[float], list[float]]:
        """What is drawn for a property (for tests and the PNG check)."""
        for plot in self.plots:
            for series, curve in plot.curves:
                if series.property_name == property_name:
                    xs, ys = curve.xData, curve.yData  # as given, before clipping to the view
                    return ([] if xs is None else list(xs)), ([] if ys is None else list(ys))
        raise KeyError(property_name)

    def axis_count(self) -> int:
        """Y axes of the first chart (1 + one per extra view box)."""
        return 1 + len(self.plots[0].extra_boxes) if self.plots else 0

    # -- hover ------------------------------------------------------------------

    def readout_at(self, when: float) -> str:
        """``time · prop value · …`` for the points nearest ``when``, and the connectivity there."""
        parts = [format_moment(when)]
        for span in self.spans:
            if span.start <= when < span.end:
                parts.append({True: "online", False: "offline"}.get(span.online, "state unknown"))  # type: ignore[arg-type]
                break
        for series in self.series:
            found = value_at(series.times, series.values, when)
            if found is None:
                continue
            at, value = found
            text = ("on" if value else "off") if series.boolean else _number(value)
            parts.append(f"{one_line(series.property_name, 40)} {text} (at {format_moment(at)[11:19]})")
        return "  ·  ".join(parts)

    def _mouse_moved(self, pos: QPointF) -> None:
        targets = [p.item for p in self.plots]
        if self.timeline is not None:
            targets.append(self.timeline)
        for item in targets:
            if item.vb.sceneBoundingRect().contains(pos):
                when = item.vb.mapSceneToView(pos).x()
                if not math.isfinite(when) or when <= 0 or when > time.time() * 2:
                    continue
                for plot in self.plots:
                    plot.cursor.setPos(when)
                    plot.cursor.setVisible(True)
                self.readout_changed.emit(self.readout_at(when))
                return
        for plot in self.plots:
            plot.cursor.setVisible(False)
        self.readout_changed.emit("")

    def leaveEvent(self, event: object) -> None:  # noqa: N802 (Qt name)
        for plot in self.plots:
            plot.cursor.setVisible(False)
        super().leaveEvent(event)  # type: ignore[arg-type]

    # -- export -----------------------------------------------------------------

    def save_png(self, path: str) -> bool:
        """The timeline and charts as a PNG image, as shown."""
        return bool(self.canvas.grab().save(path, "PNG"))

