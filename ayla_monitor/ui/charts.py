"""Charts of property values over time, drawn with QPainter.

:class:`ChartsView` shows a connectivity timeline (online and offline spans)
above one chart per property, or all properties on one chart with an axis
each (booleans share an on/off axis; extra axes go on the right). All charts
share one x range: the mouse wheel zooms around the pointer and a drag pans,
on any of them; the y axes follow the data in view. Hovering shows a cursor
line on every chart and a readout of the values there.

One widget paints it all, so the timeline and the charts line up to the
pixel and :meth:`ChartsView.save_png` saves exactly what is shown. What is
drawn is worked out when the data, the range or the size change (see
:mod:`~ayla_monitor.ui.chart_data`: only the points in view, at most about
four a pixel column) and kept as line segments in pixels, so a paint (the
hover cursor, an expose) only draws them. On the 2-core development machine,
a week of 100,000 points plus a 75,000-point on/off series re-lays out in
15-30 ms after a zoom or pan and paints in 12-20 ms. The data comes ready-shaped from
:mod:`ayla_monitor.store.history` (NaN breaks where the device was offline,
booleans as steps), so nothing here decides what a value means. Text comes
from the stream and is only ever drawn as plain text.

This replaces pyqtgraph and numpy (and their 52 MB in the desktop bundle);
QtCharts would need the PySide6-Addons wheel.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFontMetricsF,
    QGuiApplication,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from ayla_monitor.store.history import Series, Span, value_at
from ayla_monitor.ui.chart_axes import Tick, clamp_range, padded_range, time_ticks, value_ticks
from ayla_monitor.ui.chart_data import breaks_of, clip_ends, extent, finite_runs, peak_reduce
from ayla_monitor.ui.formatting import one_line

__all__ = ["ChartsView", "Chart", "Axis", "Curve", "COLORS", "MAX_AXES", "BOOLEAN_RANGE", "format_moment"]

log = logging.getLogger(__name__)

#: Series colours (readable on light and dark backgrounds; a little lighter on dark).
COLORS = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#d9822b", "#17becf", "#bcbd22", "#e377c2")
ONLINE = QColor(46, 160, 67)
OFFLINE = QColor(207, 72, 72)
UNKNOWN = QColor(150, 150, 150, 90)
#: Separate y axes on one combined chart; more series share the last one.
MAX_AXES = 4
TIMELINE_HEIGHT = 34
#: Boolean axes always show this range (off and on with a margin).
BOOLEAN_RANGE = (-0.1, 1.1)
#: One wheel notch zooms by this factor.
ZOOM_STEP = 0.8
LINE_WIDTH = 1.8
#: Curves with more segments than this in view are drawn with square caps (faster).
ROUND_CAPS_UP_TO = 1000

_PAD = 6  # around the whole drawing
_GAP = 8  # between charts
_TICK = 4  # tick mark length
_MIN_LEFT = 58  # left axis band, at least (steady while ranges change)
_MIN_RIGHT = 50


def format_moment(epoch: float) -> str:
    """A chart time for the readout: local time with the date."""
    return datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


@dataclass(eq=False)
class Axis:
    """A y axis of a chart and the series drawn against it."""

    key: str
    position: int  # 0: left of the chart; 1, 2, ...: bands to the right
    members: list[Series] = field(default_factory=list)
    low: float = 0.0
    high: float = 1.0
    ticks: list[Tick] = field(default_factory=list)

    @property
    def boolean(self) -> bool:
        """Only on/off series: a fixed range, ticks "off" and "on"."""
        return all(s.boolean for s in self.members)

    @property
    def label(self) -> str:
        if self.boolean:
            return "on / off"
        return ", ".join(one_line(s.property_name, 40) for s in self.members)


@dataclass(eq=False)
class Curve:
    """One series as drawn: its points as given, and the pixels of the last layout."""

    series: Series
    color: str
    axis: Axis
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    #: what is painted, in widget pixels: the segments of the unbroken pieces of
    #: the line, and lone points between two breaks (as dots)
    segments: list[QLineF] = field(default_factory=list)
    dots: list[QPointF] = field(default_factory=list)
    #: how many unbroken pieces of line the segments make
    pieces: int = 0

    def set_data(self, xs: list[float], ys: list[float]) -> None:
        self.xs, self.ys = xs, ys
        self.breaks = breaks_of(ys)


@dataclass(eq=False)
class Chart:
    """One chart: its curves (as ``(Series, Curve)`` pairs), its y axes and where it is."""

    curves: list[tuple[Series, Curve]] = field(default_factory=list)
    axes: list[Axis] = field(default_factory=list)
    #: the plot area and the legend row above it, in widget pixels
    rect: QRectF = field(default_factory=QRectF)
    legend_rect: QRectF = field(default_factory=QRectF)


class ChartsView(QWidget):
    """The timeline and the charts of one device."""

    #: the hover readout changed (plain text; empty when the pointer left).
    readout_changed = Signal(str)
    #: the user zoomed or panned (the view stops following the live edge).
    user_ranged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("charts")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.series: list[Series] = []
        self.spans: list[Span] = []
        self.combined = False
        self.plots: list[Chart] = []
        self._until: float | None = None
        self._range: tuple[float, float] | None = None
        #: bumped when the data or the look changes; with the range and size it keys the layout
        self._version = 0
        self._laid_out: tuple[Any, ...] | None = None
        self._cursor: float | None = None
        self._readout_shown = False
        self._drag: tuple[float, float, float] | None = None
        # layout results (widget pixels)
        self._timeline_rect = QRectF()
        self._plot_left = 0.0
        self._plot_right = 0.0
        self._right_bands: list[float] = []
        self._x_ticks: list[Tick] = []
        self._span_rects: list[tuple[QRectF, QColor]] = []
        self._span_ends: list[float] = []

    # -- building ---------------------------------------------------------------

    def set_series(self, series: Sequence[Series], spans: Sequence[Span], start: float, end: float,
                   *, combined: bool = False) -> None:
        """Rebuild the charts for ``series`` over ``[start, end)``."""
        self.series = list(series)
        self.spans = list(spans)
        self.combined = combined
        self._until = end
        groups: list[list[Series]] = [self.series] if combined else [[s] for s in self.series]
        self.plots = [self._chart(group) for group in groups if group]
        self._draw_data()
        self.set_x_range(start, end)

    def _chart(self, group: list[Series]) -> Chart:
        chart = Chart()
        axes: dict[str, Axis] = {}
        for series in group:
            key = "boolean" if series.boolean else series.property_name
            axis = axes.get(key)
            if axis is None:
                if len(axes) >= MAX_AXES:
                    axis = list(axes.values())[-1]
                else:
                    axis = axes[key] = Axis(key, len(axes))
            axis.members.append(series)
            color = COLORS[self.series.index(series) % len(COLORS)]
            chart.curves.append((series, Curve(series, color, axis)))
        chart.axes = list(axes.values())
        return chart

    @staticmethod
    def _legend_name(series: Series) -> str:
        name = one_line(series.label, 60)
        if series.skipped:
            name += f" ({series.skipped:,} not numbers, skipped)"
        return name

    # -- data -------------------------------------------------------------------

    def _draw_data(self) -> None:
        self._span_ends = [s.end for s in self.spans]
        for plot in self.plots:
            for series, curve in plot.curves:
                xs, ys = series.drawn(self.spans, until=self._until)
                curve.set_data(xs, ys)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.update()

    def refresh(self, spans: Sequence[Span] | None = None, until: float | None = None) -> None:
        """Redraw after the series grew (live) or the spans changed."""
        if spans is not None:
            self.spans = list(spans)
        if until is not None:
            self._until = until
        self._draw_data()

    def set_x_range(self, start: float, end: float) -> None:
        """Show ``[start, end]`` (from code: not a user zoom, nothing is emitted)."""
        self._range = clamp_range(start, end)
        self.update()

    def x_range(self) -> tuple[float, float]:
        return self._range if self._range is not None and self.plots else (0.0, 0.0)

    def _user_range(self, start: float, end: float) -> None:
        new = clamp_range(start, end)
        if new != self._range:
            self._range = new
            self.update()
            self.user_ranged.emit()

    def curve_data(self, property_name: str) -> tuple[list[float], list[float]]:
        """What is drawn for a property (for tests and the PNG check)."""
        for plot in self.plots:
            for series, curve in plot.curves:
                if series.property_name == property_name:
                    return list(curve.xs), list(curve.ys)  # as given, before reducing to the view
        raise KeyError(property_name)

    def axis_count(self) -> int:
        """Y axes of the first chart."""
        return len(self.plots[0].axes) if self.plots else 0

    def data_range(self) -> tuple[float, float] | None:
        """From the first point or known state to the last (for "Show all data")."""
        firsts = [c.xs[0] for p in self.plots for _, c in p.curves if c.xs]
        lasts = [c.xs[-1] for p in self.plots for _, c in p.curves if c.xs]
        known = [s for s in self.spans if s.online is not None]
        firsts += [s.start for s in known]
        lasts += [s.end for s in known]
        if not firsts:
            return None
        low, high = min(firsts), max(lasts)
        margin = 0.02 * max(high - low, 60.0)
        return low - margin, high + margin

    # -- layout -----------------------------------------------------------------

    def _colors(self) -> tuple[QColor, QColor, QColor, bool]:
        """Background, text, axis and grid colours from the palette, and whether it is dark."""
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        axis = QColor(text)
        axis.setAlphaF(0.7)
        dark = base.lightness() < 128
        grid = QColor(text)
        grid.setAlphaF(0.16 if dark else 0.12)
        return base, axis, grid, dark

    def _series_color(self, name: str, dark: bool) -> QColor:
        color = QColor(name)
        return color.lighter(135) if dark else color

    def _layout(self) -> None:
        """Place everything and work out what to draw for the current range and
        size; skipped when nothing that matters changed since the last time."""
        if self._range is None:
            return
        key = (self._version, self._range, self.width(), self.height())
        if key == self._laid_out:
            return
        self._laid_out = key
        x0, x1 = self._range
        fm = QFontMetricsF(self.font())
        line = fm.height()
        width, height = float(self.width()), float(self.height())
        # rows: timeline, then the charts (a legend row above each), then the time labels
        self._timeline_rect = QRectF(0, _PAD, 0, TIMELINE_HEIGHT)
        top = _PAD + TIMELINE_HEIGHT + _GAP
        bottom = height - _PAD - line - _TICK - 2
        count = max(1, len(self.plots))
        legend_h = line + 4
        each = max(legend_h + 20, (bottom - top - _GAP * (count - 1)) / count)
        for i, plot in enumerate(self.plots):
            y = top + i * (each + _GAP)
            plot.legend_rect = QRectF(0, y, 0, legend_h)
            plot.rect = QRectF(0, y + legend_h, 0, each - legend_h)
        # y ranges (what is in view) and their ticks
        bands: dict[int, float] = {}
        for plot in self.plots:
            most = max(3, int(plot.rect.height() / (line * 2.4)))
            for axis in plot.axes:
                if axis.boolean:
                    axis.low, axis.high = BOOLEAN_RANGE
                    axis.ticks = [Tick(0.0, "off"), Tick(1.0, "on")]
                else:
                    found = [extent(c.xs, c.ys, x0, x1, c.breaks) for _, c in plot.curves if c.axis is axis]
                    lows = [f[0] for f in found if f is not None]
                    highs = [f[1] for f in found if f is not None]
                    if lows:
                        axis.low, axis.high = padded_range(min(lows), max(highs))
                    else:
                        axis.low, axis.high = 0.0, 1.0
                    axis.ticks = value_ticks(axis.low, axis.high, most)
                widest = max((fm.horizontalAdvance(t.label) for t in axis.ticks), default=0.0)
                need = line + 2 + widest + _TICK + 6
                bands[axis.position] = max(bands.get(axis.position, 0.0), need)
        left = math.ceil(max(_MIN_LEFT, bands.get(0, 0.0)))
        self._right_bands = [math.ceil(max(_MIN_RIGHT, bands[p])) for p in sorted(bands) if p > 0]
        right = width - (sum(self._right_bands) if self._right_bands else 16)
        right = max(right, left + 10)
        self._plot_left, self._plot_right = float(left), float(right)
        for rect in [self._timeline_rect] + [r for p in self.plots for r in (p.rect, p.legend_rect)]:
            rect.setLeft(left)
            rect.setRight(right)
        plot_w = right - left
        self._x_ticks = time_ticks(x0, x1, plot_w, text_width=fm.horizontalAdvance)
        self._layout_spans()
        for plot in self.plots:
            for _, curve in plot.curves:
                self._layout_curve(curve, plot.rect)

    def _x_of(self, when: float) -> float:
        assert self._range is not None
        x0, x1 = self._range
        return self._plot_left + (when - x0) * (self._plot_right - self._plot_left) / (x1 - x0)

    def _when_at(self, x: float) -> float:
        assert self._range is not None
        x0, x1 = self._range
        return x0 + (x - self._plot_left) * (x1 - x0) / max(1.0, self._plot_right - self._plot_left)

    def _layout_curve(self, curve: Curve, rect: QRectF) -> None:
        assert self._range is not None
        x0, x1 = self._range
        columns = max(1, int(rect.width()))
        xs, ys = peak_reduce(curve.xs, curve.ys, x0, x1, columns, curve.breaks)
        clip_ends(xs, ys, x0, x1)
        left, bottom = rect.left(), rect.bottom()
        sx = rect.width() / (x1 - x0)
        low, high = curve.axis.low, curve.axis.high
        sy = rect.height() / (high - low)
        px = [left + (x - x0) * sx for x in xs]
        py = [bottom - (y - low) * sy for y in ys]
        segments: list[QLineF] = []
        dots: list[QPointF] = []
        pieces = 0
        for a, b in finite_runs(ys):
            if b - a == 1:
                dots.append(QPointF(px[a], py[a]))
            else:
                # Painted as separate segments, not a polyline: a wide pen on one long
                # zigzag polyline makes the raster engine fill one huge self-crossing
                # outline (0.3 s for 900 points); as segments it takes 3 ms.
                segments += map(QLineF, px[a:b - 1], py[a:b - 1], px[a + 1:b], py[a + 1:b])
                pieces += 1
        curve.segments, curve.dots, curve.pieces = segments, dots, pieces

    def _layout_spans(self) -> None:
        """The timeline's coloured bars in view, one pixel wide at least, and
        neighbours of one colour merged (a week of flapping is still a few rects)."""
        assert self._range is not None
        x0, x1 = self._range
        rect = self._timeline_rect
        bar_top = rect.top() + rect.height() * 0.15
        bar_h = rect.height() * 0.7
        rects: list[tuple[QRectF, QColor]] = []
        colors: dict[bool | None, QColor] = {True: ONLINE, False: OFFLINE, None: UNKNOWN}
        first = bisect_right(self._span_ends, x0)
        last_color: QColor | None = None
        last_right = -math.inf
        for span in self.spans[first:]:
            if span.start > x1:
                break
            if span.end <= x0:
                continue
            a = max(self._x_of(span.start), rect.left())
            b = min(self._x_of(span.end), rect.right())
            if b - a < 1:
                b = a + 1
            color = colors[span.online]
            if rects and last_color is color and a <= last_right + 0.5:
                previous = rects[-1][0]
                previous.setRight(max(previous.right(), b))
            elif rects and b <= last_right:
                continue  # inside a pixel already drawn
            else:
                rects.append((QRectF(a, bar_top, b - a, bar_h), color))
            last_color, last_right = color, max(last_right, b)
        self._span_rects = rects

    # -- painting ---------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        base, axis_color, grid, dark = self._colors()
        painter.fillRect(self.rect(), base)
        if not self.plots or self._range is None:
            painter.end()
            return
        self._layout()
        fm = QFontMetricsF(self.font())
        painter.setFont(self.font())
        for plot in self.plots:
            self._paint_chart(painter, plot, fm, axis_color, grid, dark)
        self._paint_timeline(painter, fm, axis_color)
        self._paint_time_labels(painter, fm, axis_color)
        painter.end()

    def _paint_chart(self, painter: QPainter, plot: Chart, fm: QFontMetricsF, axis_color: QColor,
                     grid: QColor, dark: bool) -> None:
        rect = plot.rect
        if rect.height() < 4:
            return
        left, right, top, bottom = rect.left(), rect.right(), rect.top(), rect.bottom()
        line = fm.height()
        # grid: the time ticks and the first axis' value ticks
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(grid, 1))
        for tick in self._x_ticks:
            x = round(self._x_of(tick.value)) + 0.5
            painter.drawLine(QPointF(x, top), QPointF(x, bottom))
        if plot.axes:
            primary = plot.axes[0]
            for tick in primary.ticks:
                y = round(self._y_of(primary, rect, tick.value)) + 0.5
                painter.drawLine(QPointF(left, y), QPointF(right, y))
        # axes, their ticks and names
        painter.setPen(QPen(axis_color, 1))
        painter.drawLine(QPointF(left, bottom + 0.5), QPointF(right, bottom + 0.5))
        for tick in self._x_ticks:
            x = round(self._x_of(tick.value)) + 0.5
            painter.drawLine(QPointF(x, bottom), QPointF(x, bottom + _TICK))
        for axis in plot.axes:
            self._paint_axis(painter, plot, axis, fm, axis_color, dark)
        # the curves, clipped to the plot area
        painter.save()
        painter.setClipRect(rect.adjusted(0, -LINE_WIDTH, 1, LINE_WIDTH))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for _, curve in plot.curves:
            color = self._series_color(curve.color, dark)
            pen = QPen(color, LINE_WIDTH)
            # Round caps join segments as a round join would; they cost four times
            # square ones, which look the same where the points are dense.
            dense = len(curve.segments) > ROUND_CAPS_UP_TO
            pen.setCapStyle(Qt.PenCapStyle.SquareCap if dense else Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawLines(curve.segments)
            if curve.dots:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                for dot in curve.dots:
                    painter.drawEllipse(dot, LINE_WIDTH * 1.2, LINE_WIDTH * 1.2)
                painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.restore()
        self._paint_cursor(painter, rect, axis_color)
        # legend, above the plot area (never over the data)
        legend = plot.legend_rect
        x = legend.left() + 4
        mid = legend.center().y()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for series, curve in plot.curves:
            room = legend.right() - x - 22
            if room < 30:
                break
            color = self._series_color(curve.color, dark)
            painter.setPen(QPen(color, LINE_WIDTH))
            painter.drawLine(QPointF(x, mid), QPointF(x + 16, mid))
            text = fm.elidedText(self._legend_name(series), Qt.TextElideMode.ElideRight, room)
            painter.setPen(axis_color)
            text_w = fm.horizontalAdvance(text)
            painter.drawText(QRectF(x + 21, legend.top(), text_w + 2, line + 4),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            x += 21 + text_w + 16

    def _y_of(self, axis: Axis, rect: QRectF, value: float) -> float:
        return rect.bottom() - (value - axis.low) * rect.height() / (axis.high - axis.low)

    def _paint_axis(self, painter: QPainter, plot: Chart, axis: Axis, fm: QFontMetricsF,
                    axis_color: QColor, dark: bool) -> None:
        rect = plot.rect
        line = fm.height()
        if axis.position == 0:
            at = rect.left() - 0.5
            band = (0.0, rect.left())
            sign = -1
        else:
            at = rect.right() + sum(self._right_bands[: axis.position - 1]) + 0.5
            band = (at, at + self._right_bands[axis.position - 1])
            sign = 1
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(axis_color, 1))
        painter.drawLine(QPointF(at, rect.top()), QPointF(at, rect.bottom()))
        align = Qt.AlignmentFlag.AlignVCenter | (
            Qt.AlignmentFlag.AlignRight if sign < 0 else Qt.AlignmentFlag.AlignLeft)
        for tick in axis.ticks:
            y = round(self._y_of(axis, rect, tick.value)) + 0.5
            if y < rect.top() - 1 or y > rect.bottom() + 1:
                continue
            painter.drawLine(QPointF(at, y), QPointF(at + sign * _TICK, y))
            w = fm.horizontalAdvance(tick.label) + 2
            x = at + sign * (_TICK + 3) - (w if sign < 0 else 0)
            # keep the top and bottom labels inside the chart's rows
            label_y = min(max(y - line / 2, plot.legend_rect.top()), rect.bottom() + _TICK - line / 2)
            painter.drawText(QRectF(x, label_y, w, line), int(align), tick.label)
        # the axis' name, turned to read upwards, at the outer edge of its band
        colors = {c.color for _, c in plot.curves if c.axis is axis}
        name_color = self._series_color(colors.pop(), dark) if len(colors) == 1 else axis_color
        outer = band[0] + 1 if sign < 0 else band[1] - line - 1
        text = fm.elidedText(axis.label, Qt.TextElideMode.ElideRight, rect.height())
        painter.save()
        painter.setPen(name_color)
        painter.translate(outer + line / 2, rect.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-rect.height() / 2, -line / 2, rect.height(), line),
                         int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def _paint_cursor(self, painter: QPainter, rect: QRectF, axis_color: QColor) -> None:
        if self._cursor is None:
            return
        x = self._x_of(self._cursor)
        if rect.left() <= x <= rect.right():
            color = QColor(axis_color)
            color.setAlphaF(0.55)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setPen(QPen(color, 1))
            painter.drawLine(QPointF(round(x) + 0.5, rect.top()), QPointF(round(x) + 0.5, rect.bottom()))

    def _paint_timeline(self, painter: QPainter, fm: QFontMetricsF, axis_color: QColor) -> None:
        rect = self._timeline_rect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for bar, color in self._span_rects:
            painter.fillRect(bar, color)
        painter.setPen(QPen(axis_color, 1))
        bottom = rect.bottom() + 0.5
        for tick in self._x_ticks:
            x = round(self._x_of(tick.value)) + 0.5
            painter.drawLine(QPointF(x, bottom - _TICK), QPointF(x, bottom))
        painter.drawText(QRectF(0, rect.top(), rect.left() - _TICK - 3, rect.height()),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), "online")
        self._paint_cursor(painter, rect, axis_color)

    def _paint_time_labels(self, painter: QPainter, fm: QFontMetricsF, axis_color: QColor) -> None:
        if not self.plots:
            return
        top = self.plots[-1].rect.bottom() + _TICK + 2
        painter.setPen(axis_color)
        right_edge = float(self.width()) - 2
        last = -math.inf
        for tick in self._x_ticks:
            w = fm.horizontalAdvance(tick.label) + 2
            x = self._x_of(tick.value) - w / 2
            x = min(max(x, 2.0), right_edge - w)
            if x < last + 4:
                continue
            painter.drawText(QRectF(x, top, w, fm.height()), int(Qt.AlignmentFlag.AlignCenter), tick.label)
            last = x + w

    # -- pointer ----------------------------------------------------------------

    def _over_chart(self, pos: QPointF) -> bool:
        if self._timeline_rect.contains(pos):
            return True
        return any(p.rect.contains(pos) for p in self.plots)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        pos = event.position()
        if self._drag is not None and self._range is not None:
            x, start, end = self._drag
            shift = (pos.x() - x) * (end - start) / max(1.0, self._plot_right - self._plot_left)
            self._user_range(start - shift, end - shift)
        self._hover(pos)

    def _hover(self, pos: QPointF) -> None:
        if self.plots and self._range is not None and self._over_chart(pos):
            self._move_cursor(self._when_at(pos.x()))
            self._readout_shown = True
            assert self._cursor is not None
            self.readout_changed.emit(self.readout_at(self._cursor))
        else:
            self._clear_hover()

    def _move_cursor(self, when: float | None) -> None:
        """Move the cursor line, repainting only the strips it leaves and enters."""
        for moment in (self._cursor, when):
            if moment is not None and self._range is not None:
                self.update(QRect(round(self._x_of(moment)) - 2, 0, 5, self.height()))
        self._cursor = when

    def _clear_hover(self) -> None:
        if self._cursor is not None:
            self._move_cursor(None)
        if self._readout_shown:
            self._readout_shown = False
            self.readout_changed.emit("")

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        self._clear_hover()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        if event.button() == Qt.MouseButton.LeftButton and self._range is not None and self.plots:
            self._drag = (event.position().x(), *self._range)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        if event.button() == Qt.MouseButton.LeftButton and self._drag is not None:
            self._drag = None
            self.unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt name)
        """The wheel zooms the time axis around the pointer; a sideways scroll pans."""
        if self._range is None or not self.plots:
            event.ignore()
            return
        start, end = self._range
        delta = event.angleDelta()
        if delta.y():
            pointer = min(max(event.position().x(), self._plot_left), self._plot_right)
            anchor = self._when_at(pointer)
            factor = ZOOM_STEP ** (delta.y() / 120)
            self._user_range(anchor - (anchor - start) * factor, anchor + (end - anchor) * factor)
        elif delta.x():
            shift = -delta.x() / 120 * 0.1 * (end - start)
            self._user_range(start + shift, end + shift)
        event.accept()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt name)
        if not self.plots:
            return
        menu = QMenu(self)
        show_all = menu.addAction("Show all data")
        show_all.setEnabled(self.data_range() is not None)
        copy = menu.addAction("Copy image")
        chosen = menu.exec(event.globalPos())
        if chosen is show_all:
            found = self.data_range()
            if found is not None:
                self._user_range(*found)
        elif chosen is copy:
            QGuiApplication.clipboard().setImage(self.grab().toImage())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._changed()
        super().changeEvent(event)

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

    # -- export -----------------------------------------------------------------

    def save_png(self, path: str) -> bool:
        """The timeline and charts as a PNG image, as shown."""
        return bool(self.grab().save(path, "PNG"))
