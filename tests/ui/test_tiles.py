"""Device tiles: the model, sorting and filtering, painting and clicking."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from ayla_monitor.dss.events import MalformedFrame
from ayla_monitor.fleet.device import DeviceState, fold_latest
from ayla_monitor.ui import formatting
from ayla_monitor.ui.tiles import (
    VALUE_KEPT,
    DeviceTile,
    DeviceTilesModel,
    Role,
    SortMode,
    TileSortFilter,
    TilesView,
)

from .conftest import HOSTILE, sample

NOW = 1_700_000_100.0


def clock() -> float:
    return NOW


def test_model_builds_one_tile_per_device(qtmodeltester: Any) -> None:
    model = DeviceTilesModel(clock=clock)
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))
    model.apply([
        sample("connectivity", received_at=NOW - 40, event_time="2023-11-14T22:13:00Z"),
        sample("datapoint", received_at=NOW - 12),
        sample("datapointack", received_at=NOW - 11),
        sample("location", received_at=NOW - 10),
        sample("registration", received_at=NOW - 9),
        MalformedFrame("x", "no '|'", NOW),
    ])
    assert inserted == [(0, 2)]  # one insertion for the batch
    assert model.rowCount() == 3
    lamp = model.tile("AC000W000340649")
    assert lamp is not None and lamp.online is True and lamp.registered is not None
    board = model.tile("AC000W005606115")
    assert board is not None
    assert formatting.format_value(board.properties["Blue_LED"].base_type, board.properties["Blue_LED"].value) in ("on", "off")
    assert board.last_received_at == NOW - 11
    where = model.tile("AC000W000340779")
    assert where is not None and where.location_text() is not None
    assert model.summary() == (3, 1, 0)
    qtmodeltester.check(model)


def test_changes_announce_only_changed_rows(qtmodeltester: Any) -> None:
    model = DeviceTilesModel()
    qtmodeltester.check(model)
    model.apply([sample("connectivity", dsn=f"D{i}") for i in range(5)])
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles: changed.append((a.row(), b.row())))
    model.apply([sample("datapoint", dsn="D1"), sample("datapoint", dsn="D2"), sample("datapoint", dsn="D4")])
    assert changed == [(1, 2), (4, 4)]
    assert model.rowCount() == 5


def test_offline_badge_and_duration(qtmodeltester: Any) -> None:
    model = DeviceTilesModel(clock=clock)
    qtmodeltester.check(model)
    model.apply([sample("connectivity", status="Offline", received_at=NOW - 180, event_time="2023-11-14T22:10:00Z")])
    tile = model.tiles()[0]
    assert tile.online is False and tile.status_text() == "Offline"
    assert tile.online_since == formatting.parse_iso("2023-11-14T22:10:00Z")
    assert "Offline for" in tile.describe(NOW)


def test_sort_and_filter(qtmodeltester: Any) -> None:
    model = DeviceTilesModel()
    model.apply([
        sample("connectivity", dsn="B-online", status="Online", received_at=100.0),
        sample("connectivity", dsn="A-offline", status="Offline", received_at=50.0, ),
        sample("connectivity", dsn="C-offline", status="Offline", received_at=300.0, oem_model="smartplug"),
        sample("datapoint", dsn="D-unknown", received_at=200.0),
    ])
    proxy = TileSortFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)

    def order() -> list[str]:
        return [proxy.index(r, 0).data(Role.DSN) for r in range(proxy.rowCount())]

    assert order() == ["A-offline", "B-online", "C-offline", "D-unknown"]
    proxy.set_sort_mode(SortMode.ACTIVITY)
    assert order() == ["C-offline", "D-unknown", "B-online", "A-offline"]
    proxy.set_sort_mode(SortMode.OFFLINE_FIRST)
    assert order() == ["A-offline", "C-offline", "D-unknown", "B-online"]
    # a change does not move a tile at once (it would run away from the eye
    # and the pointer); the next re-sort puts it in its place: B goes offline
    model.apply([sample("connectivity", dsn="B-online", status="Offline", received_at=400.0)])
    assert order() == ["A-offline", "C-offline", "D-unknown", "B-online"]
    assert model.resort() and not model.resort()
    assert order()[:3] == ["A-offline", "B-online", "C-offline"]
    proxy.set_filter_text("SMARTPLUG")
    assert order() == ["C-offline"]


def test_restore_from_database_states(qtmodeltester: Any) -> None:
    model = DeviceTilesModel(clock=clock)
    qtmodeltester.check(model)
    # what the store folds from its latest rows (one per device, type and property)
    (state,) = fold_latest([
        ("connectivity", "AC1", "0dfc7900", "ledevb", "2023-11-14T22:00:00Z", NOW - 60, "", None, None, "Offline", None,
         7),
        ("datapoint", "AC1", "0dfc7900", "ledevb", "2023-11-14T22:13:00Z", NOW - 30, "temp", "decimal", "Temperature",
         "21.5", None, 4),
        ("datapoint", "AC1", None, None, None, NOW - 40, "Blue_LED", "boolean", None, "1", None, 1),
        ("datapoint", "AC1", None, None, None, NOW - 45, "log", "string", None, "x" * 2000, None, 1_000_000),
        ("location", "AC1", None, None, None, NOW - 50, "", None, None, None,
         '{"metadata":{"dsn":"AC1","event_type":"location"},"location_event":{"lat":"37.4","long":"-122.0",'
         '"provider":"wifi"},"seq":"9"}', None),
        ("registration", "AC1", None, None, None, NOW - 70, "", None, None, "registered",
         '{"metadata":{"event_type":"registration"},"registration_event":{"dsn":"AC1","registered":true,'
         '"registration_type":"Dsn"},"seq":"8"}', None),
    ])
    model.load_states([state])
    tile = model.tiles()[0]
    assert (tile.online, tile.oem_model, tile.provider, tile.registration_text()) == (False, "ledevb", "wifi", "Registered (Dsn)")
    assert (tile.lat, tile.long, tile.last_received_at) == (37.4, -122.0, NOW - 30)
    assert tile.online_since == formatting.parse_iso("2023-11-14T22:00:00Z")
    assert list(tile.trends["temp"]) == [21.5]  # a number: its trend starts there
    assert tile.properties["log"].length == 1_000_000  # read cut from the store, its length known
    assert formatting.format_value("boolean", tile.properties["Blue_LED"].value) == "on"
    assert tile.changed_at == 0.0  # restored tiles do not flash


def test_value_formatting_by_base_type() -> None:
    fv = formatting.format_value
    assert (fv("boolean", True), fv("boolean", 0), fv("boolean", "1")) == ("on", "off", "on")
    assert fv("decimal", 21.5) == "21.5" and fv("decimal", 3.0) == "3.0" and fv("decimal", " 7.25 ") == "7.25"
    assert fv("integer", 42) == "42"
    assert fv("file", "https://files.example.com/dir/report.csv?sig=1") == "report.csv"
    assert fv("string", None) == "—"
    assert len(fv("message", "x" * 100_000)) <= formatting.ONE_LINE_LIMIT + 1
    assert formatting.format_duration(185) == "3 min"
    assert formatting.format_ago(NOW - 12, NOW) == "12 s ago"
    assert formatting.is_openable_url("https://a/b") and not formatting.is_openable_url("javascript:alert(1)")


def paint_tile(view: TilesView, row: int, *, focused: bool = False) -> QImage:
    option = QStyleOptionViewItem()
    option.initFrom(view.list)
    if focused:
        option.state |= QStyle.StateFlag.State_HasFocus
    else:
        option.state &= ~QStyle.StateFlag.State_HasFocus
    option.rect = QRect(0, 0, view.delegate.tile_width, 168)
    image = QImage(option.rect.size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    view.delegate.paint(painter, option, view.proxy.index(row, 0))
    painter.end()
    return image


def test_hostile_and_huge_values_paint_and_tooltip_as_text(qtbot: Any) -> None:
    view = TilesView(clock=clock)
    qtbot.addWidget(view)
    view.apply([
        sample("datapoint", base_type="string", value=HOSTILE),
        sample("datapoint", dsn="X" * 5000, base_type="message", value="Z" * 1_000_000, property_name="P" * 3000),
    ])
    tip = view.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;x&lt;/b&gt;" in tip and "<img" not in tip
    for row in range(view.proxy.rowCount()):
        image = paint_tile(view, row)
        assert len({image.pixel(x, 30) for x in range(0, image.width(), 3)}) > 2
    big = view.proxy.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert len(big) < 10_000
    # a tile keeps a bounded part of a long value (200 devices x 1 MB took 200 MB)
    tile = view.model.tile("X" * 5000)
    assert tile is not None
    (prop,) = tile.properties.values()
    assert len(prop.value) == VALUE_KEPT and prop.length == 1_000_000


def test_tile_paints_something(qtbot: Any) -> None:
    view = TilesView(clock=clock)
    qtbot.addWidget(view)
    view.apply([sample("connectivity")])
    image = paint_tile(view, 0)
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 5  # a card with text and a badge, not a blank rectangle


def test_clicking_a_tile_selects_the_device(qtbot: Any) -> None:
    view = TilesView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.apply([sample("connectivity", dsn="ONE"), sample("connectivity", dsn="TWO")])
    qtbot.waitExposed(view)
    index = view.proxy.index(1, 0)
    rect = view.list.visualRect(index)
    with qtbot.waitSignal(view.device_selected) as blocker:
        qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["TWO"]
    view.select_dsn("ONE")
    assert view.list.selectionModel().selectedIndexes()[0].data(Role.DSN) == "ONE"
    assert view.summary_label.text() == "2 devices · 2 online · 0 offline"


def test_file_values_are_links(qtbot: Any) -> None:
    view = TilesView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.apply([sample("datapoint", base_type="file", property_name="log", value="https://f.example/a/log.txt"),
                sample("datapoint", dsn="EVIL", base_type="file", property_name="log", value="javascript:alert(1)")])
    qtbot.waitExposed(view)
    for row, expected in ((0, "https://f.example/a/log.txt"), (1, None)):
        index = view.proxy.index(row, 0)
        tile = index.data(Role.TILE)
        option = QStyleOptionViewItem()
        option.initFrom(view.list)
        option.rect = view.list.visualRect(index)
        value_rect = view.delegate._layout(option)["props"][0][1]
        assert view.delegate.file_url_at(option, tile, value_rect.center()) == expected
        assert view.delegate.file_url_at(option, tile, QPoint(option.rect.left() + 1, option.rect.top() + 1)) is None


def test_two_thousand_devices_scroll_through_in_order(qtbot: Any) -> None:
    """The grid holds a fleet and every part of it can be reached and drawn.
    (How fast: benchmarks/window_refresh.py --devices, not a timed test.)"""
    view = TilesView()
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    view.apply([sample("connectivity", dsn=f"AC{i:06d}", status="Online" if i % 3 else "Offline") for i in range(2000)])
    view.apply([sample("datapoint", dsn=f"AC{i:06d}", value=i % 2) for i in range(2000)])
    assert view.model.rowCount() == 2000
    assert view.summary_label.text().startswith("2,000 devices · 1,333 online · 667 offline")
    # The view lays tiles out in batches, one per turn of the event loop.
    qtbot.waitUntil(lambda: view.list.visualRect(view.proxy.index(1999, 0)).isValid(), timeout=30_000)
    bar = view.list.verticalScrollBar()
    assert bar.maximum() > 10 * view.list.viewport().height()
    seen = []
    for step in range(20):
        bar.setValue(bar.maximum() * step // 19)
        view.list.viewport().repaint()
        top = view.list.indexAt(QPoint(10, 10))
        assert top.isValid()
        seen.append(top.data(Role.DSN))
    assert seen == sorted(seen) and seen[0] == "AC000000"  # DSN order, top to bottom
    last = view.list.indexAt(QPoint(10, view.list.viewport().height() - 10))
    assert not last.isValid() or last.data(Role.DSN) >= "AC001900"  # the end of the fleet is reachable


def test_describe_lists_everything_untruncated_enough() -> None:
    tile = DeviceTile("D")
    for i in range(10):
        tile.apply(sample("datapoint", dsn="D", property_name=f"p{i}", display_name=f"p{i}",
                          base_type="integer", value=i * 1000))
    text = tile.describe(NOW)
    assert all(f"p{i} [integer]: {i * 1000}" in text for i in range(10))


def test_fold_takes_events_in_and_announce_shows_them(qtmodeltester: Any) -> None:
    model = DeviceTilesModel(clock=clock)
    qtmodeltester.check(model)
    model.apply([sample("connectivity", dsn="OLD")])
    signals: list[str] = []
    model.dataChanged.connect(lambda a, b, roles: signals.append(f"changed {a.row()}-{b.row()}"))
    model.rowsInserted.connect(lambda _p, a, b: signals.append(f"inserted {a}-{b}"))
    model.tile("OLD").changed_at = 0.0  # type: ignore[union-attr]
    model.fold([sample("datapoint", dsn="OLD", value=1), sample("connectivity", dsn="NEW")])
    model.fold([sample("datapoint", dsn="OLD", value=0), sample("datapoint", dsn="NEW", value=1)])
    assert signals == [] and model.rowCount() == 1  # nothing shown before the refresh...
    assert model.tile("NEW") is not None  # ...but what arrived is known
    assert model.tile("OLD").changed_at == 0.0  # type: ignore[union-attr]
    before = time.monotonic()
    assert model.announce() == 2
    assert signals == ["changed 0-0", "inserted 0-0"]  # one announcement per refresh...
    assert model.rowCount() == 2 and model.row_of("NEW") == 0  # ...the new tile in its DSN place
    old, new = model.tile("OLD"), model.tile("NEW")
    assert old is not None and new is not None
    assert old.changed_at >= before and new.changed_at >= before  # highlighted from the refresh on
    assert formatting.format_value("boolean", old.properties["Blue_LED"].value) == "off"  # the newest value
    assert new.online is True
    assert model.announce() == 0 and len(signals) == 2
    qtmodeltester.check(model)


def test_folding_in_batches_is_the_same_as_applying_at_once() -> None:
    events = [sample("connectivity", dsn=f"D{i % 7}", status="Online" if i % 3 else "Offline",
                     received_at=NOW - 100 + i, event_time=f"2023-11-14T22:{i % 60:02d}:00Z") for i in range(40)]
    events += [sample("datapoint", dsn=f"D{i % 7}", base_type="integer", value=i, property_name=f"p{i % 3}",
                      received_at=NOW - 50 + i) for i in range(60)]
    events += [sample("location", dsn="D1"), sample("registration", dsn="D2"), MalformedFrame("x", "bad", NOW)]
    at_once = DeviceTilesModel(clock=clock)
    at_once.apply(events)
    folded = DeviceTilesModel(clock=clock)
    for start in range(0, len(events), 9):
        folded.fold(events[start:start + 9])
    folded.announce()
    assert [t.dsn for t in folded.tiles()] == [t.dsn for t in at_once.tiles()]
    for a, b in zip(folded.tiles(), at_once.tiles(), strict=True):
        assert a.describe(NOW) == b.describe(NOW)
        assert {k: list(v) for k, v in a.trends.items()} == {k: list(v) for k, v in b.trends.items()}


def test_restoring_states_shows_what_was_folded_first() -> None:
    model = DeviceTilesModel(clock=clock)
    model.fold([sample("connectivity", dsn="AC1", status="Online")])
    stored = DeviceState("AC1")
    stored.oem_model, stored.online, stored.lat = "m", False, 1.5
    model.load_states([stored])
    assert model.rowCount() == 1  # one tile, not one folded and one restored
    tile = model.tiles()[0]
    assert tile.online is True  # the live event is newer than what was stored...
    assert (tile.oem_model, tile.lat) == ("ledevb", 1.5)  # ...the store fills in the rest


def test_stored_properties_merge_under_what_live_events_told() -> None:
    """The start reads properties after the tiles show: a value a live event
    brought meanwhile stays, the stored ones fill in, a trend keeps the
    stored points before the live ones."""
    model = DeviceTilesModel(clock=clock)
    model.load_states([DeviceState("AC1")])
    model.fold([sample("datapoint", dsn="AC1", base_type="integer", value=v, property_name="t") for v in (7, 8)])
    stored = DeviceState("AC1")
    for name, value in (("t", "5"), ("u", "6")):
        stored.load_latest(("datapoint", "AC1", None, None, "2023-11-14T22:00:00Z", None, name, "integer", None,
                            value, None, 1))
    model.load_states([stored])
    (tile,) = model.tiles()
    assert tile.properties["t"].value == 8 and tile.properties["u"].value == "6"
    assert list(tile.trends["t"]) == [5.0, 7.0, 8.0] and list(tile.trends["u"]) == [6.0]
    assert tile.property_names() == ["t", "u"]


def test_the_model_keeps_the_order_and_the_proxy_only_filters(qtmodeltester: Any) -> None:
    model = DeviceTilesModel()
    proxy = TileSortFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)

    def order() -> list[str]:
        return [proxy.index(r, 0).data(Role.DSN) for r in range(proxy.rowCount())]

    model.apply([sample("connectivity", dsn=d) for d in ("M", "C", "X")])
    model.apply([sample("connectivity", dsn=d) for d in ("A", "Z", "D")])
    assert order() == ["A", "C", "D", "M", "X", "Z"]
    assert not proxy.dynamicSortFilter() and proxy.sortColumn() == -1  # the proxy never sorts
    proxy.set_sort_mode(SortMode.ACTIVITY)
    assert not proxy.dynamicSortFilter() and model.sort_mode is SortMode.ACTIVITY
    model.apply([sample("connectivity", dsn="D", received_at=NOW + 5)])
    assert model.resort() and order()[0] == "D"
    proxy.set_sort_mode(SortMode.DSN)
    proxy.set_filter_text("z")
    assert proxy.dynamicSortFilter() and order() == ["Z"]
    proxy.set_filter_text("")
    model.apply([sample("connectivity", dsn="B")])
    assert order() == ["A", "B", "C", "D", "M", "X", "Z"]
    assert [model.row_of(d) for d in ("A", "B", "Z")] == [0, 1, 6]
    assert model.summary() == (7, 7, 0)
    model.apply([sample("connectivity", dsn=d, status="Offline") for d in ("B", "X")])
    assert model.summary() == (7, 5, 2)  # counted as tiles change


def test_rows_are_found_in_every_order_as_devices_arrive(qtmodeltester: Any) -> None:
    model = DeviceTilesModel()
    qtmodeltester.check(model)
    model.apply([sample("connectivity", dsn=d, received_at=NOW + i) for i, d in enumerate("MCXAZ")])

    def rows() -> dict[str, int]:
        return {d: model.row_of(d) for d in "ABCDMXZ"}

    assert rows() == {"A": 0, "B": -1, "C": 1, "D": -1, "M": 2, "X": 3, "Z": 4}
    model.apply([sample("connectivity", dsn=d) for d in "DB"])  # between the others, in DSN order
    assert rows() == {"A": 0, "B": 1, "C": 2, "D": 3, "M": 4, "X": 5, "Z": 6}
    model.set_sort_mode(SortMode.ACTIVITY)  # newest first: Z A X C M, then B and D (no time)
    assert [t.dsn for t in model.tiles()] == list("ZAXCMBD")
    assert rows() == {d: i for i, d in enumerate("ZAXCMBD")}
    model.apply([sample("connectivity", dsn="E", received_at=NOW + 99)])  # at the end until the next resort
    assert model.row_of("E") == 7 and model.tile("E") is model.tiles()[7]
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles: changed.append((a.row(), b.row())))
    model.apply([sample("datapoint", dsn="E")])
    assert changed == [(7, 7)]
    assert model.resort() and model.row_of("E") == 0
    model.set_sort_mode(SortMode.DSN)
    assert rows() == {"A": 0, "B": 1, "C": 2, "D": 3, "M": 5, "X": 6, "Z": 7} and model.row_of("E") == 4
    qtmodeltester.check(model)


def test_hundreds_of_changed_tiles_are_one_range_over_all() -> None:
    model = DeviceTilesModel()
    model.apply([sample("connectivity", dsn=f"D{i:04d}") for i in range(1000)])
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, roles: changed.append((a.row(), b.row())))
    model.apply([sample("datapoint", dsn=f"D{i:04d}") for i in range(10, 900, 3)])  # 297 tiles
    assert changed == [(0, 999)]
    model.apply([sample("datapoint", dsn=f"D{i:04d}") for i in range(10, 900, 30)])  # 30 tiles: one run each
    assert changed[1:] == [(i, i) for i in range(10, 900, 30)]


def test_keyboard_focus_shows_on_a_tile_and_enter_opens_the_device(qtbot: Any) -> None:
    """Issue 10: Enter on a tile did nothing, and the focused tile looked like any other."""
    view = TilesView(clock=clock)
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.apply([sample("connectivity", dsn="ONE"), sample("connectivity", dsn="TWO")])
    qtbot.waitExposed(view)
    view.list.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: view.list.currentIndex().isValid(), timeout=5_000)  # focus lands on a tile
    assert view.list.currentIndex().data(Role.DSN) == "ONE"
    # the focused tile is painted differently (a ring), whatever is selected
    plain, ring = paint_tile(view, 0), paint_tile(view, 0, focused=True)
    assert plain != ring
    qtbot.keyClick(view.list, Qt.Key.Key_Right)
    assert view.list.currentIndex().data(Role.DSN) == "TWO"
    with qtbot.waitSignal(view.device_opened, timeout=5_000) as opened:
        qtbot.keyClick(view.list, Qt.Key.Key_Return)
    assert opened.args == ["TWO"]
    with qtbot.waitSignal(view.device_opened, timeout=5_000) as opened:
        qtbot.keyClick(view.list, Qt.Key.Key_Enter)
    assert opened.args == ["TWO"]


def test_a_live_order_is_redone_off_the_pointer_and_keeps_the_current_tile(qtbot: Any) -> None:
    """Issue 12: the "last activity" order reshuffled the grid at every event,
    so that tiles could not be read or clicked. Now it is redone every few
    seconds, never while the pointer is over the tiles, and the current
    tile stays current wherever it goes."""
    view = TilesView(clock=clock)
    qtbot.addWidget(view)
    view.model.apply([sample("connectivity", dsn=f"D{i:04}", received_at=NOW - i) for i in range(300)])
    view.set_sort_mode(SortMode.ACTIVITY)
    assert view.proxy.index(0, 0).data(Role.DSN) == "D0000"  # chosen: sorted at once
    view.list.setCurrentIndex(view.proxy.index(5, 0))
    assert view.list.currentIndex().data(Role.DSN) == "D0005"
    view.model.apply([sample("connectivity", dsn="D0200", received_at=NOW + 10)])
    assert view.proxy.index(0, 0).data(Role.DSN) == "D0000"  # not at once
    view.list.setAttribute(Qt.WidgetAttribute.WA_UnderMouse, True)
    assert not view.resort_live()  # the pointer is over the tiles: nothing moves
    view.list.setAttribute(Qt.WidgetAttribute.WA_UnderMouse, False)
    assert view.resort_live()
    assert view.proxy.index(0, 0).data(Role.DSN) == "D0200"
    assert view.list.currentIndex().data(Role.DSN) == "D0005"  # the same tile, one row down
    assert view.list.currentIndex().row() == 6
    view.set_sort_mode(SortMode.DSN)
    assert not view.resort_live()  # DSN order never needs redoing
    assert [view.proxy.index(r, 0).data(Role.DSN) for r in range(3)] == ["D0000", "D0001", "D0002"]
