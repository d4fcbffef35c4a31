"""The device view: properties, charts from a real SQLite file, live appends,
empty states and the PNG export (offscreen)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from ayla_monitor.dss.filter import EventFilter, iso_of
from ayla_monitor.store.database import Store
from ayla_monitor.ui.device_view import CUSTOM, DeviceView
from tests.store.test_history import DSN, T0, Story, device_story, write_story
from tests.ui.conftest import wait_until
from tests.ui.test_charts import inside, wheel

NOW = T0 + 800


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    write_story(url, device_story())
    with Store.open(url) as opened:
        yield opened


@pytest.fixture
def view(qtbot: Any, store: Store, run: Callable[..., Any], no_throttle: None) -> DeviceView:
    widget = DeviceView(DSN, store, model="thermostat", clock=lambda: NOW)
    qtbot.addWidget(widget)
    reloaded(widget, run, widget.load)
    return widget


def reloaded(view: DeviceView, run: Callable[..., Any], action: Callable[[], object]) -> None:
    """Do ``action`` (which reloads the view) and wait for the load to finish."""
    before = view.loads
    action()
    run(wait_until(lambda: view.loads > before, what="the device view to load"))


def _tree_rows(view: DeviceView) -> dict[str, Any]:
    tree = view.property_tree
    return {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}


def test_properties_with_current_values_and_every_number_charted(view: DeviceView) -> None:
    rows = _tree_rows(view)
    assert set(rows) == {"power", "temperature"}
    assert rows["power"].text(2) == "off"
    assert rows["temperature"].text(2) == "23.0"
    assert all(item.checkState(0) == Qt.CheckState.Checked for item in rows.values())
    assert view.empty_text is None
    assert len(view.charts.plots) == 2  # one chart per property by default
    xs, ys = view.charts.curve_data("temperature")
    assert xs == [T0 + 60, T0 + 120, T0 + 300, T0 + 660]  # a break where it was offline
    assert ys[:2] == [21.5, 22.0] and math.isnan(ys[2]) and ys[3] == 23.0
    xs, ys = view.charts.curve_data("power")
    assert ys[:2] == [1.0, 1.0] and xs[:2] == [T0 + 240, T0 + 300]  # a step, held until offline
    assert "temperature: 3" in view.note_label.text() and view.note_label.isVisibleTo(view)
    assert [s.online for s in view.spans] == [None, True, False, True]
    assert view.status_label.text() == "Online"


def test_two_properties_on_one_chart_get_their_own_axes(view: DeviceView) -> None:
    view.combined_box.setChecked(True)
    assert len(view.charts.plots) == 1
    assert view.charts.axis_count() == 2
    assert {s.property_name for s, _ in view.charts.plots[0].curves} == {"power", "temperature"}


def test_unchecking_a_property_removes_its_chart(view: DeviceView, run: Callable[..., Any]) -> None:
    item = _tree_rows(view)["power"]
    reloaded(view, run, lambda: item.setCheckState(0, Qt.CheckState.Unchecked))
    assert [s.property_name for p in view.charts.plots for s, _ in p.curves] == ["temperature"]


def test_live_values_and_states_append(view: DeviceView) -> None:
    story = Story()
    story.seq = 100
    story.value(NOW - 10, "temperature", "decimal", 24.5).status(NOW - 5, "Offline")
    story.value(NOW - 5, "temperature", "decimal", 21.0, dsn="AC000W000000002")
    view.add_frames(1, story.events)
    xs, ys = view.charts.curve_data("temperature")
    assert xs[-1] == NOW - 10 and ys[-1] == 24.5
    assert 21.0 not in ys  # another device's value
    assert view.status_label.text() == "Offline"
    assert view.spans[-1].online is False and view.spans[-1].start == NOW - 5
    assert _tree_rows(view)["temperature"].text(2) == "24.5"
    # the one device model (fleet.device.DeviceState), as the tiles fold it
    assert view.state.properties["temperature"].value == 24.5 and view.state.online is False
    assert view.state.properties["temperature"].time == iso_of(NOW - 10)


def test_a_user_zoom_stops_following_the_live_edge_until_reset(view: DeviceView, qtbot: Any) -> None:
    view.resize(1200, 700)
    view.show()
    view.charts.grab()
    assert view._follow
    with qtbot.waitSignal(view.charts.user_ranged, timeout=20000):
        wheel(view.charts, inside(view.charts), 1)
    assert not view._follow
    zoomed = view.charts.x_range()
    view._redraw()  # a live refresh leaves the user's range alone
    assert view.charts.x_range() == zoomed
    view.reset_button.click()
    assert view._follow and view.charts.x_range() == pytest.approx(view.view_range())


def test_hover_readout_names_time_state_and_values(view: DeviceView) -> None:
    text = view.charts.readout_at(T0 + 125)
    assert "online" in text and "temperature 22" in text and "power on" in text


def test_empty_range_and_unknown_device_say_so(view: DeviceView, store: Store, qtbot: Any,
                                               run: Callable[..., Any]) -> None:
    reloaded(view, run, lambda: view.set_range(CUSTOM, T0 + 10_000, T0 + 20_000))
    assert view.empty_text is not None and view.empty_text.startswith("No values between")
    nobody = DeviceView("NOBODY", store, clock=lambda: NOW)
    qtbot.addWidget(nobody)
    reloaded(nobody, run, nobody.load)
    assert nobody.empty_text == "No data for NOBODY has been stored yet."


def test_locations_link_to_openstreetmap(view: DeviceView) -> None:
    item = view.location_tree.topLevelItem(0)
    assert item.text(1) == "44.76950, -69.42830"
    assert item.text(3) == "Open map"
    assert item.data(3, Qt.ItemDataRole.UserRole).startswith("https://www.openstreetmap.org/?mlat=44.769500")


def test_chart_saves_as_png(view: DeviceView, tmp_path: Path) -> None:
    view.resize(1200, 700)
    view.show()
    path = tmp_path / "chart.png"
    assert view.charts.save_png(str(path))
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 300
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 5  # something was drawn, not a blank canvas


def test_export_asks_for_this_device_in_this_range(view: DeviceView, qtbot: Any) -> None:
    with qtbot.waitSignal(view.export_requested) as signal:
        view.export_button.click()
    query = signal.args[0]
    assert isinstance(query, EventFilter)
    assert query.dsn == DSN and query.since == NOW - 3600 and query.until == NOW + 1


# -- sparklines on tiles ---------------------------------------------------------


def test_tiles_keep_a_short_trend_of_numbers_only(samples: Callable[..., Any]) -> None:
    from ayla_monitor.ui.sparkline import POINTS, pick_trend
    from ayla_monitor.ui.tiles import DeviceTilesModel

    model = DeviceTilesModel()
    events = [samples("datapoint", property_name="temp", base_type="decimal", value=str(20 + i / 10))
              for i in range(POINTS + 30)]
    events += [samples("datapoint", property_name="rpm", base_type="integer", value=i) for i in range(3)]
    events += [samples("datapoint", property_name="name", base_type="string", value="7")]
    events += [samples("datapoint", property_name="temp", base_type="decimal", value="n/a")]
    model.apply(events)
    (tile,) = model.tiles()
    assert set(tile.trends) == {"temp", "rpm"}
    assert list(tile.trends["temp"])[-POINTS:][-1] == pytest.approx(20 + (POINTS + 29) / 10)
    assert len(tile.trends["temp"]) <= 2 * POINTS
    assert pick_trend(tile.trends, None) == "temp"  # the busiest
    assert pick_trend(tile.trends, "rpm") == "rpm"  # the user's choice
    assert pick_trend(tile.trends, "absent") == "temp"
    assert pick_trend({"a": [1.0]}, None) is None  # one value is not a trend


def test_sparkline_scales_into_its_rect() -> None:
    from PySide6.QtCore import QRectF

    from ayla_monitor.ui.sparkline import sparkline_polygon

    polygon = sparkline_polygon([1.0, 3.0, 2.0], QRectF(10, 0, 100, 20))
    points = [(polygon.at(i).x(), polygon.at(i).y()) for i in range(polygon.size())]
    assert points == [(10, 20), (60, 0), (110, 10)]
    flat = sparkline_polygon([5.0, 5.0], QRectF(0, 0, 10, 10))
    assert [flat.at(i).y() for i in range(2)] == [5, 5]
    assert sparkline_polygon([1.0], QRectF(0, 0, 10, 10)).isEmpty()


def test_tiles_paint_their_sparkline(qtbot: Any, samples: Callable[..., Any]) -> None:
    from PySide6.QtGui import QColor, QImage, QPainter, QPalette
    from PySide6.QtWidgets import QStyleOptionViewItem

    from ayla_monitor.ui.tiles import TILE_HEIGHT, TILE_WIDTH, TilesView

    view = TilesView()
    qtbot.addWidget(view)

    def render() -> QImage:
        image = QImage(TILE_WIDTH, TILE_HEIGHT, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        option = QStyleOptionViewItem()
        option.rect = image.rect()
        option.palette = view.palette()
        option.palette.setColor(QPalette.ColorRole.Highlight, QColor(255, 0, 0))
        view.delegate.paint(painter, option, view.proxy.index(0, 0))
        painter.end()
        return image

    def red(image: QImage) -> int:
        return sum(1 for x in range(image.width()) for y in range(image.height())
                   if QColor(image.pixel(x, y)).red() > 200 and QColor(image.pixel(x, y)).green() < 80)

    view.apply([samples("datapoint", property_name="temp", base_type="decimal", value=1)])
    view.model.tiles()[0].changed_at = -100.0  # no highlight flash
    before = red(render())
    view.apply([samples("datapoint", property_name="temp", base_type="decimal", value=v) for v in (3, 2, 5)])
    view.model.tiles()[0].changed_at = -100.0
    assert red(render()) > before + 20
