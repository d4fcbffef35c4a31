"""The QPainter charts as a user meets them (offscreen): wheel zoom, drag pan,
hover readout, breaks, axes, the palette and the PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication

from ayla_monitor.store.history import Series, Span
from ayla_monitor.ui.charts import BOOLEAN_RANGE, COLORS, MAX_AXES, ChartsView

T0 = 1_764_000_000.0  # 2025-11-24
HOUR = 3600.0


def series(name: str, base_type: str, values: list[tuple[float, float]]) -> Series:
    found = Series("AC000W000000001", name, base_type)
    for when, value in values:
        found.add(when, value)
    return found


@pytest.fixture
def temperature() -> Series:
    # every minute, but none while the device was offline (SPANS)
    return series("temperature", "decimal",
                  [(T0 + i * 60, 20 + math.sin(i / 5)) for i in range(61) if not 30 <= i < 35])


@pytest.fixture
def power() -> Series:
    return series("power", "boolean", [(T0 + i * 600, float(i % 2)) for i in range(7)])


#: online for the first half hour, offline for five minutes, online again
SPANS = [Span(T0, T0 + 1800, True), Span(T0 + 1800, T0 + 2100, False), Span(T0 + 2100, T0 + HOUR, True)]


@pytest.fixture
def charts(qtbot: Any, temperature: Series, power: Series) -> ChartsView:
    view = ChartsView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.set_series([temperature, power], SPANS, T0, T0 + HOUR)
    view.show()
    view.grab()  # lays it out
    return view


def inside(view: ChartsView, fraction: float = 0.5, plot: int = 0) -> QPointF:
    """A point ``fraction`` of the way across a chart's plot area, half way down."""
    rect = view.plots[plot].rect
    return QPointF(rect.left() + fraction * rect.width(), rect.center().y())


def wheel(view: ChartsView, pos: QPointF, notches: float) -> None:
    event = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(0, 0), QPoint(0, int(120 * notches)),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view, event)


def mouse(view: ChartsView, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton = Qt.MouseButton.NoButton,
          buttons: Qt.MouseButton = Qt.MouseButton.NoButton) -> None:
    event = QMouseEvent(kind, pos, view.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, event)


def test_the_wheel_zooms_around_the_pointer(charts: ChartsView, qtbot: Any) -> None:
    before = charts.x_range()
    pos = inside(charts, 0.25)
    under = charts._when_at(pos.x())
    with qtbot.waitSignal(charts.user_ranged, timeout=20000):
        wheel(charts, pos, 1)
    start, end = charts.x_range()
    assert end - start == pytest.approx(0.8 * (before[1] - before[0]))
    assert charts._when_at(pos.x()) == pytest.approx(under)  # the time under the pointer stays put
    with qtbot.waitSignal(charts.user_ranged, timeout=20000):
        wheel(charts, pos, -2)
    assert charts.x_range()[1] - charts.x_range()[0] > before[1] - before[0]


def test_a_drag_pans_every_chart(charts: ChartsView, qtbot: Any) -> None:
    start, end = charts.x_range()
    plot = charts.plots[0].rect
    per_pixel = (end - start) / plot.width()
    a, b = inside(charts, 0.5), inside(charts, 0.5) + QPointF(100, 7)
    with qtbot.waitSignal(charts.user_ranged, timeout=20000):
        mouse(charts, QEvent.Type.MouseButtonPress, a, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        mouse(charts, QEvent.Type.MouseMove, b, Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
        mouse(charts, QEvent.Type.MouseButtonRelease, b, Qt.MouseButton.LeftButton)
    moved = charts.x_range()
    assert moved[0] == pytest.approx(start - 100 * per_pixel)
    assert moved[1] - moved[0] == pytest.approx(end - start)
    # one range for all: the second chart and the timeline follow
    charts.grab()
    assert charts.plots[1].rect.left() == plot.left() == charts._timeline_rect.left()
    assert charts._when_at(plot.left()) == pytest.approx(moved[0])


def test_setting_the_range_from_code_is_not_a_user_zoom(charts: ChartsView, qtbot: Any) -> None:
    with qtbot.assertNotEmitted(charts.user_ranged):
        charts.set_x_range(T0 + 600, T0 + 1200)
        charts.grab()
    assert charts.x_range() == (T0 + 600, T0 + 1200)


def test_hover_shows_a_cursor_and_a_readout_and_leaving_clears_it(charts: ChartsView, qtbot: Any) -> None:
    pos = inside(charts, 0.25, plot=1)
    with qtbot.waitSignal(charts.readout_changed, timeout=20000) as signal:
        mouse(charts, QEvent.Type.MouseMove, pos)
    text = signal.args[0]
    assert "temperature" in text and "power" in text and "online" in text
    assert charts._cursor == pytest.approx(charts._when_at(pos.x()))
    with qtbot.waitSignal(charts.readout_changed, timeout=20000) as signal:
        QApplication.sendEvent(charts, QEvent(QEvent.Type.Leave))
    assert signal.args == [""]
    assert charts._cursor is None


def test_pointer_off_the_charts_clears_the_readout(charts: ChartsView, qtbot: Any) -> None:
    mouse(charts, QEvent.Type.MouseMove, inside(charts))
    with qtbot.waitSignal(charts.readout_changed, timeout=20000) as signal:
        mouse(charts, QEvent.Type.MouseMove, QPointF(3, charts.height() - 3))  # the time labels' corner
    assert signal.args == [""]


def test_an_offline_break_splits_the_line(charts: ChartsView) -> None:
    xs, ys = charts.curve_data("temperature")
    assert sum(1 for y in ys if math.isnan(y)) == 1
    (_, curve), = charts.plots[0].curves
    assert curve.pieces == 2
    gap = (charts._x_of(T0 + 1740), charts._x_of(T0 + 2100))  # the last point before, the first after
    for line in curve.segments:  # no segment across the offline time
        assert not (line.x1() < gap[0] + 0.5 and line.x2() > gap[1] - 0.5)
    assert any(abs(line.x2() - gap[0]) < 0.01 for line in curve.segments)  # drawn up to the break
    assert any(abs(line.x1() - gap[1]) < 0.01 for line in curve.segments)  # and on after it


def test_y_axes_follow_the_data_in_view_and_booleans_stay_fixed(charts: ChartsView, temperature: Series) -> None:
    axis = charts.plots[0].axes[0]
    assert axis.low < min(temperature.values) and axis.high > max(temperature.values)
    assert axis.high - axis.low < 1.2 * (max(temperature.values) - min(temperature.values))
    charts.set_x_range(T0 + 5 * 60, T0 + 10 * 60)
    charts.grab()
    shown = [v for t, v in zip(temperature.times, temperature.values, strict=True) if T0 + 300 <= t <= T0 + 600]
    assert axis.low < min(shown) and axis.high > max(shown)
    assert axis.high - axis.low < 1.2 * (max(shown) - min(shown))
    boolean = charts.plots[1].axes[0]
    assert (boolean.low, boolean.high) == BOOLEAN_RANGE and boolean.label == "on / off"
    assert [t.label for t in boolean.ticks] == ["off", "on"]


def test_one_chart_gives_each_property_an_axis_up_to_four(qtbot: Any, temperature: Series, power: Series) -> None:
    view = ChartsView()
    qtbot.addWidget(view)
    view.resize(1000, 500)
    others = [series(f"p{i}", "integer", [(T0 + 60, i * 100.0), (T0 + 120, i * 100.0 + 5)]) for i in range(4)]
    lamp = series("lamp", "boolean", [(T0 + 60, 1.0)])
    view.set_series([temperature, power, *others, lamp], SPANS, T0, T0 + HOUR, combined=True)
    view.grab()
    assert len(view.plots) == 1
    assert view.axis_count() == MAX_AXES
    axes = view.plots[0].axes
    assert [a.position for a in axes] == [0, 1, 2, 3]
    curves = dict((s.property_name, c) for s, c in view.plots[0].curves)
    assert curves["power"].axis is curves["lamp"].axis  # booleans share one on/off axis
    assert curves["p3"].axis is axes[-1]  # more than four share the last
    assert len(view._right_bands) == 3  # the extra axes sit on the right
    assert view.plots[0].rect.right() < view.width() - sum(view._right_bands) + 1


def test_legend_says_how_many_values_were_skipped(temperature: Series) -> None:
    temperature.skipped = 3
    assert ChartsView._legend_name(temperature) == "temperature (3 not numbers, skipped)"


def test_a_hundred_thousand_points_draw_a_few_per_pixel_column(qtbot: Any) -> None:
    many = Series("AC000W000000001", "rpm", "integer")
    many.times = [T0 + i for i in range(100_000)]
    many.values = [float(i % 977) for i in range(100_000)]
    view = ChartsView()
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.set_series([many], [], T0, T0 + 100_000)
    view.grab()
    (_, curve), = view.plots[0].curves
    assert 0 < len(curve.segments) <= 4 * view.plots[0].rect.width() + 2
    view.set_x_range(T0 + 1000, T0 + 1100)  # zoomed in: every point in view
    view.grab()
    assert len(curve.segments) == 100 + 2


def test_colours_follow_the_palette(charts: ChartsView) -> None:
    dark = QPalette(charts.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor(20, 20, 20))
    dark.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))
    charts.setPalette(dark)
    image = charts.grab().toImage()
    assert QColor(image.pixel(2, 2)) == QColor(20, 20, 20)
    light = QPalette(charts.palette())
    light.setColor(QPalette.ColorRole.Base, QColor(255, 255, 255))
    charts.setPalette(light)
    assert QColor(charts.grab().toImage().pixel(2, 2)) == QColor(255, 255, 255)


def test_save_png_writes_what_is_shown(charts: ChartsView, tmp_path: Path) -> None:
    path = tmp_path / "charts.png"
    assert charts.save_png(str(path))
    assert path.stat().st_size > 1000
    image = QImage(str(path))
    assert (image.width(), image.height()) == (charts.width(), charts.height())
    blue = QColor(COLORS[0])
    assert any(QColor(image.pixel(x, y)) == blue for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2))  # the first series' line is in it
