"""The event log model, its filter proxy and the log widget."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication

from ayla_monitor.dss.events import MalformedFrame, value_text
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.store.records import StoredEvent
from ayla_monitor.ui import formatting
from ayla_monitor.ui.event_log import (
    APPEND_CHUNK,
    MALFORMED,
    Column,
    EventLogFilter,
    EventLogModel,
    EventLogView,
    LogRow,
    Role,
    row_from_frame,
    row_from_stored,
    row_matcher,
)

from .conftest import DATA, HOSTILE, sample

DISPLAY = Qt.ItemDataRole.DisplayRole


def all_sample_rows() -> list[LogRow]:
    frames = json.loads((DATA / "frames.json").read_text())
    rows = []
    for i, text in enumerate(frames):
        frame = parse_frame(text, 1_700_000_000.0 + i)
        if hasattr(frame, "raw"):
            rows.append(row_from_frame(1, frame))
    rows.append(row_from_frame(2, MalformedFrame("12|{not json", "payload is not valid JSON", 1_700_000_100.0)))
    return rows


def cell(model: Any, row: int, column: Column, role: int = DISPLAY) -> Any:
    return model.index(row, column).data(role)


def test_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = EventLogModel(capacity=50)
    model.append(all_sample_rows())
    qtmodeltester.check(model)
    proxy = EventLogFilter()
    proxy.setSourceModel(model)
    proxy.set_criteria(EventFilter(event_types=("datapoint",)))
    qtmodeltester.check(proxy)


def test_columns_show_the_event(qtmodeltester: Any) -> None:
    model = EventLogModel()
    qtmodeltester.check(model)
    model.set_stream_name(7, "Living room")
    model.append([row_from_frame(7, sample("datapoint", received_at=1_700_000_000.125))])
    assert cell(model, 0, Column.RECEIVED).endswith(".125")
    assert cell(model, 0, Column.TIME) == "2018-09-24 10:25:14"
    assert cell(model, 0, Column.STREAM) == "Living room"
    assert cell(model, 0, Column.SEQ) == "13"
    assert cell(model, 0, Column.TYPE) == "datapoint"
    assert cell(model, 0, Column.DSN) == "AC000W005606115"
    assert cell(model, 0, Column.PROPERTY) == "Blue_LED"
    assert cell(model, 0, Column.VALUE) == "off"  # boolean 0
    assert model.headerData(Column.RECEIVED, Qt.Orientation.Horizontal) == "Received"
    assert model.data(QModelIndex()) is None
    assert cell(model, 0, Column.VALUE, Qt.ItemDataRole.UserRole + 99) is None


def test_window_is_bounded_with_one_insert_and_one_remove_per_batch(qtmodeltester: Any) -> None:
    model = EventLogModel(capacity=5)
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    removed: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    rows = [row_from_frame(1, sample("datapoint", seq=i)) for i in range(1, 10)]
    model.append(rows[:3])
    model.append(rows[3:7])
    assert inserted == [(0, 2), (1, 4)]
    assert removed == [(0, 1)]
    assert [r.seq for r in model.rows()] == [3, 4, 5, 6, 7]
    model.set_capacity(2)
    assert [r.seq for r in model.rows()] == [6, 7]
    model.append(rows)  # a batch larger than the window keeps its newest rows
    assert [r.seq for r in model.rows()] == [8, 9]


def test_bad_frames_show_reason_and_raw_text(qtmodeltester: Any) -> None:
    model = EventLogModel()
    qtmodeltester.check(model)
    frame = parse_frame("5|{oops", 1_700_000_000.0)
    assert isinstance(frame, MalformedFrame)
    model.append([row_from_frame(3, frame)])
    assert cell(model, 0, Column.TYPE) == MALFORMED
    assert "not valid JSON" in cell(model, 0, Column.VALUE)
    assert "5|{oops" in cell(model, 0, Column.VALUE, Qt.ItemDataRole.ToolTipRole)
    row = cell(model, 0, Column.VALUE, Role.ROW)
    assert row.details().startswith("Bad frame: payload is not valid JSON")
    assert row.details().endswith("5|{oops")


def test_hostile_and_huge_values_stay_plain_and_short(qtmodeltester: Any) -> None:
    model = EventLogModel()
    qtmodeltester.check(model)
    huge = "A" * 1_000_000
    model.append([
        row_from_frame(1, sample("datapoint", base_type="string", value=HOSTILE)),
        row_from_frame(1, sample("datapoint", base_type="message", value=huge)),
        row_from_frame(1, sample("datapoint", base_type="string", value="line1\nline2")),
    ])
    assert cell(model, 0, Column.VALUE) == HOSTILE
    tip = cell(model, 0, Column.VALUE, Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;x&lt;/b&gt;&lt;img" in tip and "<img" not in tip
    assert len(cell(model, 1, Column.VALUE)) <= 301
    assert len(cell(model, 1, Column.VALUE, Qt.ItemDataRole.ToolTipRole)) < 5000
    assert "\n" not in cell(model, 2, Column.VALUE)


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (EventFilter(), 6),
        (EventFilter(event_types=("datapoint",)), 1),
        (EventFilter(malformed=True), 1),
        (EventFilter(stream_ids=(2,)), 1),
        (EventFilter(dsns=("AC000W000340649",)), 2),
        (EventFilter(property_like="blue_led"), 2),
        (EventFilter(text="Blue_LED"), 2),
        (EventFilter(text="Mountain View"), 0),
        (EventFilter(text="nonexistent-zzz"), 0),
    ],
)
def test_filters(qtmodeltester: Any, criteria: EventFilter, expected: int) -> None:
    model = EventLogModel()
    rows = all_sample_rows()
    model.append(rows)
    proxy = EventLogFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_criteria(criteria)
    assert proxy.rowCount() == expected
    assert proxy.rowCount() == sum(row_matcher(criteria)(r) for r in rows)


def test_filter_applies_to_rows_arriving_later(qtmodeltester: Any) -> None:
    model = EventLogModel()
    qtmodeltester.check(model)
    proxy = EventLogFilter()
    proxy.setSourceModel(model)
    proxy.set_criteria(EventFilter(dsns=("DEV2",)))
    model.append([row_from_frame(1, sample("datapoint", dsn="DEV1")), row_from_frame(1, sample("datapoint", dsn="DEV2"))])
    model.append([row_from_frame(1, sample("connectivity", dsn="DEV2")), row_from_frame(1, sample("location"))])
    assert proxy.rowCount() == 2
    assert {proxy.index(r, Column.DSN).data() for r in range(2)} == {"DEV2"}


def test_stored_events_become_rows(qtmodeltester: Any) -> None:
    raw = (DATA / "connectivity.json").read_text()
    stored = StoredEvent(id=1, stream_id=4, stream_name="s", seq=1, event_type="connectivity", oem_id="o",
                         oem_model="m", dsn="D1", time="2018-09-24T10:26:37Z", user_uuid=None,
                         property_name=None, base_type=None, display_name=None, value="Online", raw=raw,
                         received_at=1_700_000_000.0, note=None)
    point = StoredEvent(id=2, stream_id=4, stream_name="s", seq=2, event_type="datapoint", oem_id="o",
                        oem_model="m", dsn="D1", time=None, user_uuid=None, property_name="Blue_LED",
                        base_type="boolean", display_name="Blue_LED", value="1", raw="{}",
                        received_at=1_700_000_001.0, note=None)
    model = EventLogModel()
    qtmodeltester.check(model)
    model.append([row_from_stored(stored), row_from_stored(point)])
    assert cell(model, 0, Column.VALUE) == "Online"
    assert cell(model, 1, Column.VALUE) == "on"
    assert cell(model, 1, Column.PROPERTY) == "Blue_LED"


def test_view_pause_collects_and_counts(qtbot: Any) -> None:
    view = EventLogView(capacity=100)
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=1))])
    view.set_paused(True)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(2, 6)])
    assert view.model.rowCount() == 1
    assert view.waiting == 4
    assert "4 waiting" in view.count_label.text()
    assert view.pause_button.text() == "Resume"
    view.toggle_pause()
    assert view.model.rowCount() == 5
    assert view.waiting == 0
    assert "waiting" not in view.count_label.text()


def test_view_filter_widgets_details_and_copy(qtbot: Any) -> None:
    view = EventLogView()
    qtbot.addWidget(view)
    view.set_stream(1, "Kitchen")
    view.add_rows(all_sample_rows())
    qtbot.keyClicks(view.text_edit, "Blue_LED")
    assert view.proxy.rowCount() == 2
    assert "2 shown of 6" in view.count_label.text()
    view.set_dsn_filter("AC000W005606115")
    assert view.proxy.rowCount() == 2
    view.clear_filters()
    assert view.proxy.rowCount() == 6
    view.stream_box.setCurrentIndex(view.stream_box.findData(1))
    assert view.proxy.rowCount() == 5
    view.clear_filters()

    view.table.selectRow(1)
    row = view.selected_row()
    assert row is not None and row.event_type == "datapoint"
    assert view.details.toPlainText() == json.dumps(json.loads(row.raw), indent=2, ensure_ascii=False)
    assert view.copy_button.isEnabled()
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == view.details.toPlainText()


def test_details_pane_shows_markup_as_text(qtbot: Any) -> None:
    view = EventLogView()
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", base_type="string", value=HOSTILE))])
    view.table.selectRow(0)
    assert f'"value": "{HOSTILE}"' in view.details.toPlainText()


def test_filter_follows_rows_leaving_the_window(qtmodeltester: Any) -> None:
    model = EventLogModel(capacity=6)
    proxy = EventLogFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_criteria(EventFilter(dsns=("EVEN",)))
    removed: list[tuple[int, int]] = []
    proxy.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    for start in range(0, 20, 4):
        model.append([row_from_frame(1, sample("datapoint", seq=i, dsn="EVEN" if i % 2 == 0 else "ODD"))
                      for i in range(start, start + 4)])
        shown = [proxy.index(r, Column.SEQ).data() for r in range(proxy.rowCount())]
        assert shown == [str(r.seq) for r in model.rows() if r.dsn == "EVEN"]
    assert removed and all(first == 0 for first, _ in removed)  # only ever the oldest, in one go
    assert proxy.mapToSource(proxy.index(0, Column.DSN)).data() == "EVEN"
    assert not proxy.mapFromSource(model.index(1, 0)).isValid()  # an odd row is not shown
    model.set_capacity(2)
    assert [proxy.index(r, Column.SEQ).data() for r in range(proxy.rowCount())] == ["18"]
    model.clear()
    assert proxy.rowCount() == 0
    model.append([row_from_frame(1, sample("datapoint", seq=1, dsn="EVEN"))])
    assert proxy.rowCount() == 1


def test_changing_the_filter_keeps_the_selected_event(qtbot: Any) -> None:
    view = EventLogView()
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i, dsn=f"D{i % 3}")) for i in range(30)])
    view.table.selectRow(10)
    assert view.selected_row() is not None and view.selected_row().seq == 10  # type: ignore[union-attr]
    view.set_dsn_filter("D1")  # seq 10 is D1: still shown, still selected
    assert view.proxy.rowCount() == 10
    assert view.selected_row().seq == 10  # type: ignore[union-attr]
    assert json.loads(view.details.toPlainText())["seq"] in ("10", 10)
    view.clear_filters()
    assert view.selected_row().seq == 10  # type: ignore[union-attr]
    view.set_dsn_filter("D2")  # not shown: nothing selected, nothing detailed
    assert view.selected_row() is None and view.details.toPlainText() == ""


def test_a_large_batch_reaches_the_table_in_chunks_in_order(qtbot: Any) -> None:
    view = EventLogView(capacity=3 * APPEND_CHUNK)
    qtbot.addWidget(view)
    rows = [row_from_frame(1, sample("datapoint", seq=i)) for i in range(1, 2 * APPEND_CHUNK + 2)]
    view.add_rows(rows[:10])
    inserted: list[int] = []
    view.model.rowsInserted.connect(lambda _p, a, b: inserted.append(b - a + 1))
    view.add_rows(rows[10:])
    assert view.model.rowCount() == 10 + APPEND_CHUNK  # one chunk at once, the rest on later turns
    assert view.backlog == len(rows) - 10 - APPEND_CHUNK
    qtbot.waitUntil(lambda: view.backlog == 0, timeout=20000)
    assert inserted == [APPEND_CHUNK, len(rows) - 10 - APPEND_CHUNK]
    assert [r.seq for r in view.model.rows()] == list(range(1, len(rows) + 1))  # nothing lost, in order


def test_a_resume_after_a_long_pause_keeps_the_newest_rows(qtbot: Any, no_throttle: None) -> None:
    view = EventLogView(capacity=APPEND_CHUNK + 5)
    qtbot.addWidget(view)
    view.set_paused(True)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(3 * APPEND_CHUNK)])
    assert view.model.rowCount() == 0 and view.waiting == APPEND_CHUNK + 5
    view.set_paused(False)  # throttling off: everything at once
    assert view.backlog == 0
    assert [r.seq for r in view.model.rows()] == list(range(2 * APPEND_CHUNK - 5, 3 * APPEND_CHUNK))


def test_rows_from_frames_read_like_the_frames() -> None:
    frames = json.loads((DATA / "frames.json").read_text())
    for i, text in enumerate(frames):
        frame = parse_frame(text, 1_700_000_000.0 + i)
        if not hasattr(frame, "raw"):
            continue
        row = row_from_frame(1, frame)
        value = getattr(frame, "value", None)
        if type(frame).__name__ == "Datapoint":
            assert row.summary == (value_text(value) or "")  # made when first read
            assert row.value_display == formatting.format_value(frame.base_type, value)
        assert row.raw == frame.raw and row.seq == getattr(frame, "seq", None)
    row = row_from_frame(1, sample("datapoint", base_type="integer", value=12))
    assert row.summary == "12"
    row.summary = "changed"
    assert row.summary == "changed"


# -- keyboard, focus and follow (issue 10) ------------------------------------------


def test_enter_on_a_row_asks_for_its_device(qtbot: Any) -> None:
    view = EventLogView()
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=1, dsn="AC000W000000042"))])
    view.table.selectRow(0)
    with qtbot.waitSignal(view.device_requested, timeout=20000) as signal:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert signal.args == ["AC000W000000042"]


def test_a_selected_row_holds_follow_until_end(qtbot: Any) -> None:
    view = EventLogView(capacity=1000)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view, timeout=20000)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(1, 200)])
    assert view.following and not view.resume_button.isVisibleTo(view)
    view.table.selectRow(150)
    assert not view.following and view.resume_button.isVisibleTo(view)
    bar = view.table.verticalScrollBar()
    before = bar.value()
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(200, 240)])
    assert bar.value() == before  # the selected row stays put
    assert view.held_new == 40 and view.resume_button.text() == "following paused: 40 new"
    qtbot.keyClick(view.table, Qt.Key.Key_End)
    assert view.following and not view.resume_button.isVisibleTo(view)
    assert bar.value() == bar.maximum()


def test_rows_leaving_the_full_window_do_not_move_the_selected_row(qtbot: Any) -> None:
    view = EventLogView(capacity=300)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view, timeout=20000)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(1, 301)])
    view.table.selectRow(250)
    index = view.table.currentIndex()
    top = view.table.visualRect(index).top()
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(301, 321)])  # 20 leave
    assert view.selected_row() is not None and view.selected_row().seq == 251
    assert view.table.visualRect(view.table.currentIndex()).top() == top


def test_tab_into_the_log_keeps_the_rows_in_place(qtbot: Any) -> None:
    view = EventLogView(capacity=1000)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view, timeout=20000)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i)) for i in range(1, 200)])
    bar = view.table.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QFocusEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(view.table, QFocusEvent(QEvent.Type.FocusIn, Qt.FocusReason.TabFocusReason))
    assert bar.value() == bar.maximum()  # not row 0
    assert view.table.currentIndex().row() > 0
    assert not view.table.selectionModel().hasSelection() and view.following


def test_a_big_frame_is_a_bounded_preview(qtbot: Any) -> None:
    from ayla_monitor.ui.event_details import LINE_CHARS
    from ayla_monitor.ui.event_log import RAW_PREVIEW, VALUE_PREVIEW

    big = "<i>" + "y" * 1_000_000
    row = row_from_frame(1, sample("datapoint", base_type="string", value=big))
    assert row.truncated and len(row.raw) == RAW_PREVIEW and row.raw_length and row.raw_length > 1_000_000
    assert len(row.value) == VALUE_PREVIEW and len(row.summary) <= VALUE_PREVIEW
    model = EventLogModel()
    model.append([row])
    tip = cell(model, 0, Column.VALUE, Qt.ItemDataRole.ToolTipRole)
    assert len(tip) < 5000 and "<i>" not in tip
    assert len(cell(model, 0, Column.VALUE)) <= formatting.ONE_LINE_LIMIT + 1
    assert row_matcher(EventFilter(text="yyyy"))(row)
    view = EventLogView()
    qtbot.addWidget(view)
    view.add_rows([row])
    view.table.selectRow(0)
    text = view.details.toPlainText()
    assert len(text) <= RAW_PREVIEW + 100 and max(len(line) for line in text.splitlines()) <= LINE_CHARS
    assert "Preview: the first 2,000 of" in view.details_pane.state_label.text()
    assert not view.details_pane.show_all_button.isEnabled()  # no database to read it from here


def test_a_filter_over_a_large_log_is_found_a_chunk_per_turn(
        qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ayla_monitor.ui import event_log

    monkeypatch.setattr(event_log, "FILTER_CHUNK", 50)
    view = EventLogView(capacity=400)
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i, dsn=f"AC000W{i % 3:09d}")) for i in range(1, 351)])
    view.set_dsn_filter("AC000W000000001")
    assert view.proxy.filtering and view.proxy.rowCount() == 350  # still the old filter, whole
    # rows arrive and leave the window while the filter is being found
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i, dsn=f"AC000W{i % 3:09d}")) for i in range(351, 451)])
    qtbot.waitUntil(lambda: not view.proxy.filtering, timeout=20000)
    seqs = [view.proxy.index(r, 0).data(Role.ROW).seq for r in range(view.proxy.rowCount())]
    assert seqs == [i for i in range(51, 451) if i % 3 == 1]
    assert "shown of 400" in view.count_label.text()


def test_moving_the_mouse_over_rows_opens_nothing(qtbot: Any) -> None:
    """Hovering is not asking: a device view per row the mouse passed over
    covered the main window (QAbstractItemView.entered is the mouse's, sent
    as it moves over rows with tracking on; activated is Enter or a double click)."""
    view = EventLogView()
    qtbot.addWidget(view)
    view.add_rows([row_from_frame(1, sample("datapoint", seq=i, dsn=f"AC000W00000000{i}")) for i in range(1, 6)])
    model = view.table.model()
    with qtbot.assertNotEmitted(view.device_requested):
        for row in range(5):
            view.table.entered.emit(model.index(row, 3))
    with qtbot.waitSignal(view.device_requested, timeout=20000) as signal:
        view.table.activated.emit(model.index(2, 3))
    assert signal.args == ["AC000W000000003"]
