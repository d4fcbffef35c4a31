"""The history browser over a real SQLite file: model, paging, sorting,
filters, empty states; and the Session's menu entries and retention."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from ayla_monitor.store.database import Store
from ayla_monitor.ui import history as history_ui
from ayla_monitor.ui.event_log import row_from_stored
from ayla_monitor.ui.history import HistoryColumn, HistoryModel, HistoryWindow
from tests.store.test_history import DSN, OTHER, T0, Story, device_story, write_story
from tests.ui.conftest import HOSTILE, wait_until

NOW = T0 + 800


def big_story(count: int) -> Story:
    story = Story()
    for i in range(count):
        story.value(T0 + i, "temperature", "decimal", 20 + (i % 10) / 10, dsn=DSN if i % 2 else OTHER)
    return story


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    write_story(url, device_story())
    with Store.open(url) as opened:
        yield opened


def searched(window: HistoryWindow, run: Callable[..., Any], action: Callable[[], object]) -> None:
    before = window.searches
    action()
    run(wait_until(lambda: window.searches > before, what="the search"))


@pytest.fixture
def window(qtbot: Any, store: Store, run: Callable[..., Any]) -> HistoryWindow:
    widget = HistoryWindow(store, clock=lambda: NOW)
    qtbot.addWidget(widget)
    searched(widget, run, widget.search)
    return widget


def test_model_is_a_sound_table(qtmodeltester: Any, store: Store) -> None:
    model = HistoryModel()
    events = list(store.iter_events())
    model.reset([row_from_stored(e) for e in events[:5]], True, {1: "history test"})
    qtmodeltester.check(model)
    model.append([row_from_stored(e) for e in events[5:]], False)
    qtmodeltester.check(model)
    assert model.rowCount() == len(events)
    assert not model.canFetchMore(QModelIndex())


def test_values_are_plain_text(qtmodeltester: Any, store: Store, samples: Callable[..., Any]) -> None:
    model = HistoryModel()
    row = row_from_stored(store.iter_events().__next__())
    row.summary = HOSTILE
    row.value = HOSTILE
    row.base_type = "string"
    model.reset([row], False, {})
    qtmodeltester.check(model)
    tip = model.data(model.index(0, HistoryColumn.VALUE), Qt.ItemDataRole.ToolTipRole)
    assert "<b>" not in tip and "&lt;b&gt;" in tip


def test_first_page_newest_first_and_counted(window: HistoryWindow) -> None:
    rows = window.model.rows()
    assert len(rows) == 13
    times = [r.time for r in rows]
    assert times == sorted(times, reverse=True)
    assert window.total == 13
    assert "13 shown of 13 matching events" in window.status_label.text()
    assert window.model.data(window.model.index(0, HistoryColumn.STREAM)) == "history test"


def test_clicking_the_time_column_sorts_oldest_first(window: HistoryWindow, run: Callable[..., Any]) -> None:
    searched(window, run, lambda: window.table.sortByColumn(HistoryColumn.TIME, Qt.SortOrder.AscendingOrder))
    times = [r.time for r in window.model.rows()]
    assert times == sorted(times) and window.query.descending is False


def test_filters_and_empty_state(window: HistoryWindow, run: Callable[..., Any]) -> None:
    window.dsn_edit.setText(OTHER)
    searched(window, run, window.search)
    assert [r.dsn for r in window.model.rows()] == [OTHER]
    window.dsn_edit.clear()
    searched(window, run, lambda: window.type_box.setCurrentIndex(window.type_box.findData("connectivity")))
    assert {r.event_type for r in window.model.rows()} == {"connectivity"}
    window.text_edit.setText("no such text anywhere")
    searched(window, run, window.search)
    assert window.model.rowCount() == 0
    assert window.empty_label.isVisibleTo(window) and not window.table.isVisibleTo(window)
    assert window.empty_label.text().startswith("No events match this search")


def test_an_empty_range_says_so(window: HistoryWindow, run: Callable[..., Any]) -> None:
    window.from_edit.setDateTime(window.from_edit.dateTime().fromSecsSinceEpoch(int(T0 + 50_000)))
    window.to_edit.setDateTime(window.to_edit.dateTime().fromSecsSinceEpoch(int(T0 + 60_000)))
    searched(window, run, lambda: window.range_box.setCurrentText("Custom range"))
    assert window.model.rowCount() == 0
    assert "in this range" in window.empty_label.text()


def test_scrolling_loads_further_pages(qtbot: Any, tmp_path: Path, run: Callable[..., Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_ui, "PAGE_SIZE", 40)
    monkeypatch.setattr(history_ui, "FIRST_PAGE_SIZE", 25)
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    write_story(url, big_story(130))
    with Store.open(url) as store:
        window = HistoryWindow(store, clock=lambda: NOW)
        qtbot.addWidget(window)
        window.range_box.setCurrentText("All time")  # searches
        run(wait_until(lambda: window.total == 130, what="the count"))
        assert window.model.rowCount() == 25  # the first page fills the window; then pages of 40
        while window.model.canFetchMore(QModelIndex()):
            before = window.model.rowCount()
            window.model.fetchMore(QModelIndex())
            run(wait_until(lambda b=before: window.model.rowCount() > b, what="the next page"))
        ids = [r.seq for r in window.model.rows()]
        assert len(ids) == 130 and len(set(ids)) == 130
        assert ids == sorted(ids, reverse=True)
        window.close()


def test_double_click_opens_the_device(window: HistoryWindow, qtbot: Any) -> None:
    index = window.model.index(0, HistoryColumn.DSN)
    with qtbot.waitSignal(window.device_requested) as signal:
        window.table.doubleClicked.emit(index)
    assert signal.args == [window.model.rows()[0].dsn]


# -- from the main window, on the real demo ----------------------------------------


def test_window_opens_device_history_and_export_and_keeps_retention(
        tmp_path: Path, settings: Any, keystore: Any, run: Callable[..., Any]) -> None:
    from ayla_monitor.ui.app import DemoOptions, Session
    from ayla_monitor.ui.device_view import DeviceView
    from ayla_monitor.ui.export_dialog import ExportDialog
    from tests.ui.test_app import drive

    old = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    write_story(old, device_story(), name="an old stream")  # events from 2024
    settings.retention_days = 30
    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: session.retention_deleted == 13, what="retention to delete the old events")
        # The old devices' tiles were loaded before retention ran; the demo adds four.
        await wait_until(lambda: window.tiles.model.rowCount() == 6, what="the demo's tiles")
        proxy = window.tiles.proxy
        index = next(proxy.index(r, 0) for r in range(6) if proxy.index(r, 0).data() not in (DSN, OTHER))
        dsn = index.data()
        window.tiles.list.doubleClicked.emit(index)
        view = next(w for w in session._windows if isinstance(w, DeviceView))
        assert view.dsn == dsn
        await wait_until(lambda: view.loads >= 1, what="the device view")
        assert session.open_device(dsn) is view  # raised, not opened twice
        await wait_until(lambda: bool(view.series) and any(s.times for s in view.series.values()),
                         what="chart values")
        counts = {n: len(s.times) for n, s in view.series.items()}
        # (a property first seen live gets a new series: it counts from 0)
        await wait_until(lambda: any(len(s.times) > counts.get(n, 0) for n, s in view.series.items()),
                         what="live values to reach the chart")
        # (the chart fills from the live feed; the history reads what the writer stored)
        engine = session.engine
        assert engine is not None
        await wait_until(lambda: any(s.stored > 0 for s in engine.statuses()), what="demo events stored")
        history = session.open_history()
        await wait_until(lambda: history.searches >= 1, what="the history search")
        assert history.error is None
        assert history.model.rowCount() > 0
        assert {r.dsn for r in history.model.rows()} - {None} and DSN not in {r.dsn for r in history.model.rows()}
        dialog = session.open_export()
        assert isinstance(dialog, ExportDialog)
        seen["query"] = dialog.query
        dialog.reject()
        seen["windows"] = len(session._windows)

    code = run(drive(user, database=old, demo=True, settings=settings, keystore=keystore,
                     demo_options=DemoOptions(devices=4, rate=200)), timeout=90)
    assert code == 0
    assert seen["windows"] == 2
    assert seen["query"].descending is False


# -- the window closes while its query runs (issue 10's crashes) ------------------------


def test_closing_while_the_query_runs_drops_the_answer(qtbot: Any, store: Store) -> None:
    """The query is held on the store's own lock (a real one, not a mock) while
    the window closes and is deleted; the answer must not reach it."""
    from PySide6.QtWidgets import QWidget

    from ayla_monitor.ui.queries import QueryRunner

    owner = QWidget()  # the main window's part: it owns the runner
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    window = HistoryWindow(store, clock=lambda: NOW, runner=runner)
    window.show()
    gone: list[bool] = []
    window.destroyed.connect(lambda *_: gone.append(True))
    with store._lock:  # the worker blocks inside the query
        window.search()
        qtbot.waitUntil(lambda: runner.pending(window) == 1, timeout=20000)
        window.close()  # WA_DeleteOnClose
        qtbot.waitUntil(lambda: bool(gone), timeout=20000)
        assert runner.pending() == 0  # cancelled with the window
    qtbot.waitUntil(lambda: runner.dropped >= 1, timeout=20000)  # answered, and dropped
    assert runner.pending() == 0


def test_a_closed_main_window_receives_nothing(qtbot: Any, store: Store) -> None:
    from PySide6.QtWidgets import QApplication, QWidget

    from ayla_monitor.ui.queries import QueryRunner

    owner = QWidget()
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    window = HistoryWindow(store, clock=lambda: NOW, runner=runner)
    qtbot.addWidget(window)
    with store._lock:
        window.search()
        runner.close()  # the main window closed
    qtbot.waitUntil(lambda: runner.pending() == 0, timeout=20000)
    before = window.searches
    window.search()  # asked after the close: cancelled at once
    QApplication.processEvents()
    assert window.searches == before and window.model.rowCount() == 0


def test_a_hostile_value_is_previewed_and_read_whole_on_demand(qtbot: Any, tmp_path: Path,
                                                              run: Callable[..., Any]) -> None:
    from ayla_monitor.ui.event_details import LINE_CHARS
    from ayla_monitor.ui.event_log import RAW_PREVIEW

    big = "<b>" + "x" * 1_000_000
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    write_story(url, Story().value(T0, "blob", "string", big).value(T0 + 1, "t", "integer", 7))
    with Store.open(url) as store:
        window = HistoryWindow(store, clock=lambda: NOW)
        qtbot.addWidget(window)
        window.range_box.setCurrentText("All time")
        run(wait_until(lambda: window.total == 2, what="the count"))
        row = next(r for r in window.model.rows() if r.property_name == "blob")
        assert row.truncated and len(row.raw) <= RAW_PREVIEW and row.raw_length and row.raw_length > 1_000_000
        pane = window.details_pane
        window.table.selectRow(window.model.rows().index(row))
        text = pane.view.toPlainText()
        assert len(text) < 3 * RAW_PREVIEW and max(len(line) for line in text.splitlines()) <= LINE_CHARS
        assert "Preview" in pane.state_label.text() and pane.show_all_button.isEnabled()
        with qtbot.waitSignal(pane.finished, timeout=30000):
            pane.show_all_button.click()
        assert pane.showing_all and big in pane.text
        shown = pane.view.toPlainText()
        assert max(len(line) for line in shown.splitlines()) <= LINE_CHARS
        tip = window.model.data(window.model.index(window.model.rows().index(row), HistoryColumn.VALUE),
                                Qt.ItemDataRole.ToolTipRole)
        assert len(tip) < 5000 and "<b>" not in tip
        saved = tmp_path / "event.json"
        with qtbot.waitSignal(pane.finished, timeout=30000):
            pane.save_to(saved)
        assert big in saved.read_text(encoding="utf-8")
        window.close()


@pytest.mark.parametrize("keys", [Qt.Key.Key_Escape, "ctrl+w"])
def test_esc_and_ctrl_w_close_history_and_the_device_view(qtbot: Any, store: Store, keys: Any) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QApplication

    from ayla_monitor.ui.device_view import DeviceView

    for widget in (HistoryWindow(store, clock=lambda: NOW), DeviceView(DSN, store, clock=lambda: NOW)):
        gone: list[bool] = []
        widget.destroyed.connect(lambda *_, g=gone: g.append(True))  # closing deletes it (WA_DeleteOnClose)
        widget.show()
        widget.activateWindow()
        qtbot.waitExposed(widget, timeout=20000)
        qtbot.waitUntil(lambda w=widget: QApplication.activeWindow() is w, timeout=20000)
        if keys == "ctrl+w":
            qtbot.keySequence(widget, QKeySequence(QKeySequence.StandardKey.Close))
        else:
            qtbot.keyClick(widget, keys)
        qtbot.waitUntil(lambda g=gone: bool(g), timeout=20000)


def test_the_time_column_says_the_order(window: HistoryWindow, run: Callable[..., Any]) -> None:
    header = window.model.headerData(HistoryColumn.TIME, Qt.Orientation.Horizontal)
    assert header.endswith("newest first") and "↓" in header
    searched(window, run, lambda: window.table.horizontalHeader().sectionClicked.emit(HistoryColumn.TIME))
    header = window.model.headerData(HistoryColumn.TIME, Qt.Orientation.Horizontal)
    assert header.endswith("oldest first") and window.query.descending is False


def test_open_gaps_are_named_beside_what_history_shows(
    qtbot: Any, store: Store, run: Callable[..., Any]
) -> None:
    """Seqs that never arrived cannot be listed as events: the status says
    how many are missing and where to fill them."""
    from ayla_monitor.dss.events import SeqGap
    from ayla_monitor.store.writer import EventWriter

    writer = EventWriter(store.url, commit_interval=0.01)
    writer.start()
    stream_id = store.streams()[0].id
    assert writer.submit(stream_id, [SeqGap(0, 40, 44, 1.0), SeqGap(0, 50, 50, 2.0)])
    assert writer.flush(timeout=60) and writer.close() is None
    widget = HistoryWindow(store, clock=lambda: NOW)
    qtbot.addWidget(widget)
    searched(widget, run, widget.search)
    assert widget.open_gaps == (2, 6)
    assert "2 open gaps in the recorded seqs (6 missing" in widget.status_label.text()


def test_a_big_result_says_more_than_and_counts_exactly_on_request(
        qtbot: Any, tmp_path: Path, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11: counting ten million rows after every search kept the
    database busy for seconds; the count now stops past COUNT_AT_MOST."""
    monkeypatch.setattr(history_ui, "COUNT_AT_MOST", 50)
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    write_story(url, big_story(130))
    with Store.open(url) as store:
        window = HistoryWindow(store, clock=lambda: NOW)
        qtbot.addWidget(window)
        window.range_box.setCurrentText("All time")  # searches
        run(wait_until(lambda: window.total is not None, what="the count"))
        assert window.total == 51 and window.total_capped
        assert "of more than 50 matching events" in window.status_label.text()
        assert window.count_button.isVisibleTo(window)
        window.count_button.click()
        run(wait_until(lambda: window.total == 130, what="the exact count"))
        assert not window.total_capped and not window.count_button.isVisibleTo(window)
        assert "of 130 matching events" in window.status_label.text()
        window.close()
