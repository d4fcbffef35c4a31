"""The fleet table, the Problems list and the window's insight, on real
widgets offscreen and hand-built events (no clock: the tests give ``now``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPersistentModelIndex, QPoint, Qt

import ayla_monitor.ui.fleet_table as fleet_table
from ayla_monitor.core.status import StreamStatus
from ayla_monitor.dss.link import StreamState
from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.fleet.insight import DeviceSummary, FleetInsight
from ayla_monitor.store.database import Store
from ayla_monitor.ui.fleet_table import (
    Column,
    FleetTableModel,
    FleetTableView,
    Grouping,
    RowCollector,
    merge_rows,
)
from ayla_monitor.ui.insight_feed import InsightFeed, read_history
from ayla_monitor.ui.main_window import MainWindow
from ayla_monitor.ui.problems import Kind, ProblemsPanel, ProblemTracker, find_problems
from ayla_monitor.ui.settings import AppSettings
from tests.fleet.support import T0, ack, conn, dp
from tests.store.test_history import DSN, OTHER, device_story, write_story

NOW = T0 + 3000


def fleet() -> FleetInsight:
    """F flaps (7 changes in 14 min), Q goes quiet, A fails and misses acks, S is steady."""
    insight = FleetInsight()
    for i in range(8):
        insight.add(conn("F", T0 + 2000 + i * 120, i % 2 == 0, model="plug", tags=("kitchen",)))
    for i in range(10):
        insight.add(dp("Q", T0 + i * 10, model="lamp"))
    for i in range(20):
        insight.add(dp("A", T0 + 2900 + i * 2, dp_id=f"d{i}", model="plug", tags=("garage",)))
    insight.add(ack("A", T0 + 2900, T0 + 2901.5, dp_id="d0", model="plug"))
    insight.add(ack("A", T0 + 2902, T0 + 2903, dp_id="d1", status=500, model="plug"))
    insight.add(ack("A", T0 + 2904, T0 + 2905, dp_id="d2", status=404, model="plug"))
    insight.add(conn("S", T0 + 10, True, model="lamp"))
    for i in range(60):
        insight.add(dp("S", T0 + 2940 + i, model="lamp"))
    insight.advance(NOW)
    return insight


def double_click(qtbot: Any, widget: Any, button: Any, pos: Any) -> None:
    """A press, then the double click (an item view opens only what was pressed)."""
    qtbot.mouseClick(widget, button, pos=pos)
    qtbot.mouseDClick(widget, button, pos=pos)


def clock() -> float:
    return NOW


def model_with(rows: list[DeviceSummary], qtmodeltester: Any) -> FleetTableModel:
    model = FleetTableModel(clock=clock)
    qtmodeltester.check(model)
    model.set_rows(rows)
    qtmodeltester.check(model)
    return model


def dsns(model: FleetTableModel) -> list[str]:
    return [s.dsn for s in model.rows()]


def test_rows_sort_by_any_column_in_python(qtmodeltester: Any) -> None:
    model = model_with(fleet().summaries(NOW), qtmodeltester)
    assert dsns(model) == ["A", "F", "Q", "S"]
    model.sort(Column.FLAPS, Qt.SortOrder.DescendingOrder)
    assert dsns(model)[0] == "F"
    model.sort(Column.FAILED, Qt.SortOrder.DescendingOrder)
    assert dsns(model)[0] == "A"
    assert model.data(model.index(0, Column.FAILED)) == "2"
    assert model.data(model.index(0, Column.MISSING)) == "17"  # d3..d19: the property was acked, no ack in 60 s
    model.sort(Column.QUIET, Qt.SortOrder.AscendingOrder)
    assert set(dsns(model)[:2]) == {"A", "Q"}  # A's 2 s rhythm, silent for a minute; Q's 10 s one, for 48 min
    assert str(model.data(model.index(0, Column.QUIET))).startswith("quiet")
    model.sort(Column.ACK_P95, Qt.SortOrder.DescendingOrder)
    assert dsns(model)[0] == "A"  # the others have no ack latency: last either way
    model.sort(Column.ACK_P95, Qt.SortOrder.AscendingOrder)
    assert dsns(model)[0] == "A"
    model.sort(Column.RATE, Qt.SortOrder.DescendingOrder)
    assert dsns(model)[0] == "S"
    model.sort(Column.STATE, Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, Column.STATE)) == "offline"  # F ended offline
    qtmodeltester.check(model)


def test_a_click_on_a_figure_header_puts_the_worst_devices_first(qtbot: Any) -> None:
    rows = fleet().summaries(NOW)
    view = FleetTableView(lambda: rows, clock=clock, auto_refresh=False)
    qtbot.addWidget(view)
    view.resize(1400, 400)
    view.show()
    view.refresh()
    assert dsns(view.model) == ["A", "F", "Q", "S"]
    header = view.table.horizontalHeader()

    def click(column: Column) -> None:
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))

    click(Column.FLAPS)  # the first click: the most flaps on top
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert dsns(view.model)[0] == "F"
    click(Column.FLAPS)  # the second turns it round
    assert dsns(view.model)[-1] == "F"
    click(Column.MODEL)  # a name sorts A to Z first
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert [view.model.rows()[i].oem_model for i in (0, -1)] == ["lamp", "plug"]
    click(Column.FAILED)
    assert dsns(view.model)[0] == "A"


def test_grouping_is_a_first_key_and_a_column(qtmodeltester: Any) -> None:
    model = model_with(fleet().summaries(NOW), qtmodeltester)
    model.set_grouping(Grouping.MODEL)
    assert [model.data(model.index(r, Column.GROUP)) for r in range(4)] == ["lamp", "lamp", "plug", "plug"]
    model.sort(Column.DSN, Qt.SortOrder.DescendingOrder)
    assert dsns(model) == ["S", "Q", "F", "A"]  # descending inside each group
    model.set_grouping(Grouping.TAG)
    assert dsns(model) == ["S", "Q", "A", "F"]  # (no tag), garage, kitchen
    assert [model.data(model.index(r, Column.GROUP)) for r in (0, 2, 3)] == ["(no tag)", "garage", "kitchen"]
    qtmodeltester.check(model)


def test_filter_matches_dsn_model_oem_and_tag(qtmodeltester: Any) -> None:
    model = model_with(fleet().summaries(NOW), qtmodeltester)
    model.set_filter("PLUG")
    assert dsns(model) == ["A", "F"]
    model.set_filter("kitchen")
    assert dsns(model) == ["F"]
    model.set_filter("")
    assert model.rowCount() == 4


def test_a_refresh_reorders_in_one_layout_change_keeping_the_selection(qtmodeltester: Any) -> None:
    insight = fleet()
    model = model_with(insight.summaries(NOW), qtmodeltester)
    model.sort(Column.RATE, Qt.SortOrder.DescendingOrder)
    held = QPersistentModelIndex(model.index(model.row_of("Q"), Column.DSN))
    events: list[str] = []
    model.layoutChanged.connect(lambda *_: events.append("layout"))
    model.modelReset.connect(lambda *_: events.append("reset"))
    for i in range(200):  # Q wakes up and becomes the busiest
        insight.add(dp("Q", NOW - 30 + i * 0.1, model="lamp"))
    model.set_rows(insight.summaries(NOW))
    assert events == ["layout"]
    assert dsns(model)[0] == "Q" and held.row() == 0 and held.data(FleetTableModel.DSN_ROLE) == "Q"
    qtmodeltester.check(model)


def test_under_the_pointer_rows_keep_their_places_and_values_change(qtmodeltester: Any) -> None:
    insight = fleet()
    model = model_with(insight.summaries(NOW), qtmodeltester)
    model.sort(Column.RATE, Qt.SortOrder.DescendingOrder)
    before = dsns(model)
    changed: list[int] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append(b.row() - a.row() + 1))
    for i in range(200):
        insight.add(dp("Q", NOW - 30 + i * 0.1, model="lamp"))
    model.set_rows(insight.summaries(NOW), reorder=False)
    assert dsns(model) == before and changed == [4]
    assert float(model.data(model.index(model.row_of("Q"), Column.RATE))) > 100


def test_devices_only_the_tiles_know_get_rows() -> None:
    old = DeviceState("OLD")
    old.online, old.online_since, old.oem_model = False, T0 - 86_400, "lamp"
    known = DeviceState("Q")
    known.online, known.online_since = True, T0 - 100
    rows = merge_rows(fleet().summaries(NOW), [old, known])
    by = {s.dsn: s for s in rows}
    assert by["OLD"].online is False and by["OLD"].events == 0 and by["OLD"].oem_model == "lamp"
    assert by["Q"].online is True and by["Q"].online_since == T0 - 100 and by["Q"].quiet  # the tiles' state
    assert by["F"].online is False  # the insight's own


def test_rows_are_made_a_slice_per_turn(qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(fleet_table, "SLICE", 1)
    insight = fleet()
    old = DeviceState("OLD")
    collector = RowCollector(lambda: insight, lambda: [old], clock=clock)
    steps: list[int] = []
    real = collector._step
    monkeypatch.setattr(collector, "_step", lambda: (steps.append(1), real()))
    collector._step_timer.timeout.disconnect()
    collector._step_timer.timeout.connect(collector._step)
    with qtbot.waitSignal(collector.ready):
        assert collector.collect()
        assert collector.busy and not collector.collect()  # one set at a time
    assert len(steps) == 6  # one device per turn, then the merge, then the readers (ready) in turns of their own
    assert [s.dsn for s in collector.rows] == ["A", "F", "Q", "S", "OLD"]
    assert not RowCollector(lambda: insight, list, wanted=lambda: False).collect()  # nobody looks


def test_the_tiles_devices_are_merged_a_slice_per_turn(qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(fleet_table, "SLICE", 10)
    monkeypatch.setattr(fleet_table, "MERGE_SLICE", 2)
    insight = fleet()
    known = DeviceState("Q")  # heard by the insight too: one row
    states = [DeviceState("OLD"), known, DeviceState("B"), DeviceState("Z"), DeviceState("OLD2")]
    collector = RowCollector(lambda: insight, lambda: states, clock=clock)
    steps: list[int] = []
    real = collector._step
    monkeypatch.setattr(collector, "_step", lambda: (steps.append(len(collector.rows)), real()))
    collector._step_timer.timeout.disconnect()
    collector._step_timer.timeout.connect(collector._step)
    with qtbot.waitSignal(collector.ready):
        assert collector.collect()
    assert steps == [0, 0, 0, 0, 8]  # the summaries, three merges of two states, the readers
    assert [s.dsn for s in collector.rows] == ["A", "F", "Q", "S", "OLD", "B", "Z", "OLD2"]
    assert collector.rows == merge_rows(insight.summaries(NOW), states)


def statuses() -> list[StreamStatus]:
    down = StreamStatus(1, "prod", "wss://x", None, state=StreamState.RECONNECTING, detail="server gone")
    gaps = StreamStatus(2, "lab", "wss://y", None, state=StreamState.LIVE, open_gaps=2, missing=40)
    mine = StreamStatus(3, "off", "wss://z", None, state=StreamState.STOPPED, by_user=True)
    return [down, gaps, mine]


def test_problems_name_what_and_since_when() -> None:
    old = DeviceState("OLD")
    old.online, old.online_since = False, NOW - 700
    brief = DeviceState("BRIEF")
    brief.online, brief.online_since = False, NOW - 100
    rows = merge_rows(fleet().summaries(NOW), [old, brief])
    problems = find_problems(rows, statuses(), NOW, offline_after_s=600)
    found = {(p.kind, p.dsn or p.subject) for p in problems}
    assert found == {
        (Kind.STREAM_DOWN, "prod"), (Kind.GAPS, "lab"), (Kind.OFFLINE, "OLD"), (Kind.FLAPPING, "F"),
        (Kind.QUIET, "Q"), (Kind.QUIET, "A"), (Kind.FAILED_ACKS, "A"), (Kind.MISSING_ACKS, "A"),
    }  # BRIEF is offline for less than 10 min; "off" was disconnected by its user; F went offline 1 min ago
    offline = next(p for p in problems if p.kind is Kind.OFFLINE)
    assert offline.since == NOW - 700 and "11 min" in offline.detail
    tracker = ProblemTracker()
    first = tracker.track(problems, NOW)
    assert next(p for p in first if p.kind is Kind.FAILED_ACKS).since == NOW  # first seen now
    assert next(p for p in first if p.kind is Kind.FAILED_ACKS).detail == "2 of 3 acks failed"
    one_in_ten = replace(rows[0], dsn="B", acks=30, failed_acks=3, missing_acks=0, quiet=False)
    restarted = replace(rows[0], dsn="C", acks=30, failed_acks=0, missing_acks=1, quiet=False)
    assert not find_problems([one_in_ten, restarted], [], NOW)  # the background of a fleet: not listed
    again = tracker.track(problems, NOW + 50)
    assert next(p for p in again if p.kind is Kind.FAILED_ACKS).since == NOW  # still since then
    assert next(p for p in again if p.kind is Kind.QUIET and p.dsn == "Q").since == T0 + 90  # its own: last heard


def test_problems_panel_counts_in_its_title_and_opens_on_double_click(qtbot: Any, qtmodeltester: Any) -> None:
    rows = fleet().summaries(NOW)
    panel = ProblemsPanel(lambda: (rows, statuses()), clock=clock)
    qtbot.addWidget(panel)
    qtmodeltester.check(panel.model)
    titles: list[str] = []
    panel.title_changed.connect(titles.append)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.refresh()
    assert titles == ["Problems (7)"]
    qtmodeltester.check(panel.model)
    row = next(i for i, p in enumerate(panel.model.problems()) if p.kind is Kind.FLAPPING)
    rect = panel.table.visualRect(panel.model.index(row, 1))
    with qtbot.waitSignal(panel.device_opened) as opened:
        double_click(qtbot, panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == ["F"]
    stream_row = next(i for i, p in enumerate(panel.model.problems()) if p.kind is Kind.STREAM_DOWN)
    rect = panel.table.visualRect(panel.model.index(stream_row, 1))
    with qtbot.waitSignal(panel.stream_opened) as streamed:
        double_click(qtbot, panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert streamed.args == [1]


def test_table_view_opens_a_device_on_double_click(qtbot: Any) -> None:
    rows = fleet().summaries(NOW)
    view = FleetTableView(lambda: rows, clock=clock)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert view.refresh()
    assert view.model.rowCount() == 4 and "4 devices" in view.count_label.text()
    view.table.horizontalHeader().setSortIndicator(Column.FLAPS, Qt.SortOrder.DescendingOrder)  # a header click
    assert dsns(view.model)[0] == "F"
    view.filter_edit.setText("lamp")
    assert view.model.rowCount() == 2 and "(2 shown)" in view.count_label.text()
    rect = view.table.visualRect(view.model.index(0, Column.DSN))
    with qtbot.waitSignal(view.device_opened) as opened:
        double_click(qtbot, view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [dsns(view.model)[0]]
    view.group_box.setCurrentIndex(view.group_box.findData(Grouping.OEM))
    assert not view.table.isColumnHidden(Column.GROUP)


def test_the_window_feeds_its_insight_and_remembers_table_or_tiles(qtbot: Any, settings: AppSettings) -> None:
    window = MainWindow(settings, clock=clock)
    qtbot.addWidget(window)
    assert window.devices_stack.currentWidget() is window.tiles
    window.set_stream_name(7, "demo")
    window.add_frames(7, [conn("F", T0 + 2000 + i * 120, i % 2 == 0) for i in range(8)])
    device = window.insight_feed.insight.device("F")
    assert device is not None and device.flaps == 7
    assert [s.name for s in window.insight_feed.insight.streams()] == ["demo"]
    window.table_view_action.trigger()
    assert window.devices_stack.currentWidget() is window.fleet_table
    assert AppSettings.load(settings.qsettings).devices_view == "table"
    window.refresh.flush()
    rows = window.fleet_rows_collector.collect_now()
    assert [s.dsn for s in rows] == ["F"] and rows[0].flapping and window.fleet_rows() is rows
    again = MainWindow(AppSettings.load(settings.qsettings), clock=clock)
    qtbot.addWidget(again)
    assert again.devices_stack.currentWidget() is again.fleet_table and again.table_view_action.isChecked()


def test_history_of_the_last_hour_is_read_and_live_batches_follow(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    story = device_story()
    stream_id = write_story(url, story)
    end = story.events[-1].received_at
    feed = InsightFeed(lambda: end)
    feed.set_stream_name(stream_id, "history test")
    feed.begin_history()
    live = story.events[-3:]  # already stored: must not count twice
    newer = conn(DSN, end + 5, False, model="thermostat")
    feed.add(stream_id, [*live, newer])
    with Store.open(url) as store:
        history = read_history(store, end + 10)
        assert history.events == len(story.events) and not history.truncated
        assert history.last_seqs == {stream_id: len(story.events)}
        feed.finish_history(history)
        assert not feed.loading
        device = feed.insight.device(DSN)
        assert device is not None and device.events == len(story.events) - 1 + 1  # OTHER's one apart, newer in
        assert device.flaps == 3 and device.online is False
        assert feed.insight.device(OTHER) is not None
        later = read_history(store, end + 10 + 7200)  # two hours on: nothing stored in the last hour
        assert later.events == 0 and later.last_seqs == {}
        small = read_history(store, end + 10, limit=5)
        assert small.truncated and small.events <= 5 or small.events == 6  # halved until it fits, or a minute


def test_the_device_view_shows_rhythm_flaps_and_ack_latency(qtbot: Any, tmp_path: Path) -> None:
    from ayla_monitor.ui.device_view import DeviceView

    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    write_story(url, device_story())
    insight = fleet()
    with Store.open(url) as store:
        view = DeviceView("F", store, clock=clock, insight=lambda: insight)
        qtbot.addWidget(view)
        strip = view.insight_strip
        assert strip is not None
        text = strip.label.text()
        assert "Flaps: 7 in the last hour, 7 in 24 h (flapping)" in text and "every 2 min" in text
        assert not strip.chart.values  # F has no acks
        acked = DeviceView("A", store, clock=clock, insight=lambda: insight)
        qtbot.addWidget(acked)
        chart = acked.insight_strip.chart  # type: ignore[union-attr]
        assert chart.values == [1000.0, 1000.0, 1000.0] and chart.p95 == 1000.0  # whole seconds in event times
        assert "Acks: 3, p50 1.0 s, p95 1.0 s, 2 failed, 17 missing" in acked.insight_strip.label.text()  # type: ignore[union-attr]
        chart.resize(chart.sizeHint())
        assert not chart.grab().toImage().isNull()
        nobody = DeviceView(DSN, store, clock=clock, insight=lambda: insight)
        qtbot.addWidget(nobody)
        assert "nothing heard" in nobody.insight_strip.label.text()  # type: ignore[union-attr]
        for v in (view, acked, nobody):
            v.close()
