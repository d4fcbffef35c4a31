"""The streams panel: the model (qtmodeltester first), the countdown, the actions."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialogButtonBox, QMenu

from ayla_monitor.core.status import StreamState, StreamStatus
from ayla_monitor.ui.streams_panel import Column, Role, StreamsModel, StreamsPanel, details_lines


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def status(stream_id: int, **changes: object) -> StreamStatus:
    base = StreamStatus(
        stream_id=stream_id,
        name=f"stream {stream_id}",
        display_url="wss://stream-field.aylanetworks.com/stream?stream_key=2f62…4567",
        subscription_type="datapoint",
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def cell(model: StreamsModel, row: int, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    return model.data(model.index(row, column), role)


def test_model_passes_the_model_tester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = StreamsModel(clock=Clock())
    qtmodeltester.check(model)
    model.update_status(status(1))
    model.update_status(status(2, state=StreamState.LIVE, events=5))
    model.update_status(status(1, state=StreamState.STOPPED, detail="stopped by you"))
    model.remove(2)
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.columnCount() == len(Column)


def test_rows_show_each_column(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = StreamsModel(clock=Clock())
    qtmodeltester.check(model)
    model.update_status(
        status(
            7, name="<b>Floor 2</b>", state=StreamState.LIVE, events=12_345, heartbeats=3,
            last_seq=4_000_000_000, last_event_time="2018-09-24T10:26:37.123Z", malformed=2,
        )
    )
    model.update_status(status(8, subscription_type=None))
    row = [cell(model, 0, c) for c in Column]
    assert row == ["<b>Floor 2</b>", "datapoint", "live", "12,345", "3", "4000000000", "2018-09-24 10:26:37", "2"]
    assert cell(model, 1, Column.TYPE) == "any"
    assert cell(model, 1, Column.LAST_SEQ) == ""
    assert cell(model, 1, Column.LAST_EVENT) == ""
    assert cell(model, 1, Column.STATE) == "connecting"
    # the name's tooltip escapes what the user typed and names the (masked) URL
    tip = cell(model, 0, Column.NAME, Qt.ItemDataRole.ToolTipRole)
    assert isinstance(tip, str)
    assert "&lt;b&gt;Floor 2&lt;/b&gt;" in tip and "stream_key=2f62…4567" in tip
    assert cell(model, 0, Column.EVENTS, Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )
    assert cell(model, 0, Column.NAME, Qt.ItemDataRole.TextAlignmentRole) is None
    assert cell(model, 0, Column.BAD_FRAMES, Qt.ItemDataRole.ForegroundRole) == QColor("#e53935")
    assert cell(model, 1, Column.BAD_FRAMES, Qt.ItemDataRole.ForegroundRole) is None
    assert cell(model, 0, Column.NAME, Role.STREAM_ID) == 7
    assert cell(model, 0, Column.NAME, Role.STATE) is StreamState.LIVE
    assert isinstance(cell(model, 0, Column.NAME, Role.STATUS), StreamStatus)
    assert cell(model, 0, Column.NAME, Qt.ItemDataRole.UserRole + 99) is None
    assert model.data(QModelIndex()) is None
    assert model.headerData(Column.LAST_SEQ, Qt.Orientation.Horizontal) == "Last seq"
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_states_in_words_with_a_live_countdown(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(1_000.0)
    model = StreamsModel(clock=clock)
    qtmodeltester.check(model)
    model.update_status(
        status(1, state=StreamState.RECONNECTING, retry_at=1_004.0, detail="connection refused")
    )
    model.update_status(
        status(2, state=StreamState.STOPPED, detail="stream.aylanetworks.com rejected stream key 2f62…4567 (HTTP 401)")
    )
    model.update_status(status(3, state=StreamState.STOPPED))
    assert cell(model, 0, Column.STATE) == "reconnecting in 4 s (connection refused)"
    assert cell(model, 1, Column.STATE) == (
        "stopped: stream.aylanetworks.com rejected stream key 2f62…4567 (HTTP 401)"
    )
    assert cell(model, 2, Column.STATE) == "stopped"
    # a failed stop is red, a plain stop grey
    assert cell(model, 1, Column.STATE, Qt.ItemDataRole.DecorationRole) == QColor("#e53935")
    assert cell(model, 2, Column.STATE, Qt.ItemDataRole.DecorationRole) == QColor("#9e9e9e")

    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda tl, br, roles=(): changed.append((tl.row(), tl.column())))
    clock.now = 1_001.0
    model.tick()
    assert changed == [(0, Column.STATE)]  # only the countdown repaints
    assert cell(model, 0, Column.STATE) == "reconnecting in 3 s (connection refused)"


def test_panel_timer_keeps_the_countdown_current(qtbot) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(1_000.0)
    panel = StreamsPanel(clock=clock, refresh_ms=20)
    qtbot.addWidget(panel)
    panel.model.update_status(status(1, state=StreamState.RECONNECTING, retry_at=1_004.0))
    changed: list[int] = []
    panel.model.dataChanged.connect(lambda tl, br, roles=(): changed.append(tl.column()))
    clock.now = 1_002.0
    qtbot.waitUntil(lambda: Column.STATE in changed, timeout=2_000)
    assert cell(panel.model, 0, Column.STATE) == "reconnecting in 2 s"


def test_actions_follow_the_selection_and_state(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(refresh_ms=0)
    qtbot.addWidget(panel)
    assert panel.selected_stream_id() is None
    assert not any(a.isEnabled() for a in panel.stream_actions())
    assert panel.add_action.isEnabled()

    panel.model.update_status(status(1, state=StreamState.LIVE))
    panel.model.update_status(status(2, state=StreamState.STOPPED, detail="key rejected"))
    assert panel.selected_stream_id() == 1  # the first row is selected for you
    assert panel.disconnect_action.isEnabled() and not panel.connect_action.isEnabled()

    panel.select_stream(2)
    assert panel.connect_action.isEnabled() and not panel.disconnect_action.isEnabled()
    # the state changes under the selection: the actions follow
    panel.model.update_status(status(2, state=StreamState.CONNECTING))
    assert panel.disconnect_action.isEnabled() and not panel.connect_action.isEnabled()

    emitted: list[tuple[str, int]] = []
    for name in ("connect", "disconnect", "edit", "remove"):
        getattr(panel, f"{name}_requested").connect(lambda sid, n=name: emitted.append((n, sid)))
    panel.disconnect_action.trigger()
    panel.edit_action.trigger()
    panel.remove_action.trigger()
    panel.select_stream(1)
    panel.model.update_status(status(1, state=StreamState.STOPPED))
    panel.connect_action.trigger()
    assert emitted == [("disconnect", 2), ("edit", 2), ("remove", 2), ("connect", 1)]

    added: list[bool] = []
    panel.add_requested.connect(lambda: added.append(True))
    panel.add_action.trigger()
    assert added == [True]

    panel.model.remove(1)
    panel.model.remove(2)
    assert panel.selected_stream_id() is None
    assert not panel.edit_action.isEnabled()


def test_double_click_edits(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(refresh_ms=0)
    qtbot.addWidget(panel)
    panel.model.update_status(status(4))
    edits: list[int] = []
    panel.edit_requested.connect(edits.append)
    panel.view.doubleClicked.emit(panel.model.index(0, 0))
    assert edits == [4]


def test_replay_from_seq_asks_for_the_window(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(refresh_ms=0)
    qtbot.addWidget(panel)
    panel.model.update_status(status(3, state=StreamState.LIVE, last_seq=4_000_000_000))
    replays: list[tuple[int, int, int]] = []
    panel.replay_requested.connect(lambda *args: replays.append(args))

    panel.replay_action.trigger()
    dialog = panel.replay_dialog
    assert dialog is not None
    assert dialog.first_edit.text() == "4000000000"
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.first_edit.setText("")
    assert not ok.isEnabled()
    assert dialog.problem_label.text() == "Enter the first seq to replay from."
    dialog.first_edit.setText("4000000100")
    dialog.last_edit.setText("4000000050")
    assert not ok.isEnabled()
    assert dialog.problem_label.text() == "The last seq 4000000050 comes before the first seq 4000000100."
    dialog.last_edit.setText("4000000200")
    assert ok.isEnabled()
    dialog.accept()
    assert replays == [(3, 4_000_000_100, 4_000_000_200)]
    assert panel.replay_dialog is None

    panel.replay_action.trigger()
    assert panel.replay_dialog is not None
    panel.replay_dialog.first_edit.setText("10")
    panel.replay_dialog.accept()
    panel.replay_action.trigger()
    assert panel.replay_dialog is not None
    panel.replay_dialog.reject()
    assert replays[1:] == [(3, 10, -1)]


def test_context_menu_selects_the_row_under_the_mouse(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(refresh_ms=0)
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    for sid in (1, 2):
        panel.model.update_status(status(sid, state=StreamState.STOPPED))
    assert panel.selected_stream_id() == 1
    pos = panel.view.visualRect(panel.model.index(1, Column.NAME)).center()
    panel.view.customContextMenuRequested.emit(pos)
    assert panel.selected_stream_id() == 2
    menu = panel.context_menu
    assert menu is not None
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "Connect", "Disconnect", "Retry now", "Fill gaps", "Edit…", "Replay from seq…", "Remove",
        "Add stream…",
    ]
    menu.close()


def test_narrow_dock_shows_few_columns_and_the_name_tells_all(qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(clock=Clock())
    qtbot.addWidget(panel)
    qtmodeltester.check(panel.model)
    panel.model.update_status(status(3, state=StreamState.LIVE, heartbeats=9, malformed=4, last_seq=77))
    shown = [c for c in Column if not panel.view.isColumnHidden(c)]
    assert shown == [Column.NAME, Column.STATE, Column.EVENTS]
    tip = str(cell(panel.model, 0, Column.NAME, Qt.ItemDataRole.ToolTipRole))
    assert "heartbeats: 9" in tip and "bad frames: 4" in tip and "last seq: 77" in tip and "subscription: datapoint" in tip
    panel._header_menu(panel.view.horizontalHeader().rect().center())
    menu = panel.findChildren(QMenu)[-1]
    beats = next(a for a in menu.actions() if a.text() == "Heartbeats")
    assert not beats.isChecked()
    beats.setChecked(True)
    assert not panel.view.isColumnHidden(Column.HEARTBEATS)
    menu.close()


def test_hand_disconnect_is_neutral_and_failure_red(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = StreamsModel(clock=Clock())
    qtmodeltester.check(model)
    model.update_status(status(1, state=StreamState.STOPPED, by_user=True, detail="disconnected"))
    model.update_status(status(2, state=StreamState.STOPPED, detail="key rejected (HTTP 401)"))
    assert cell(model, 0, Column.STATE) == "disconnected by you"
    assert cell(model, 0, Column.STATE, Qt.ItemDataRole.DecorationRole) == QColor("#9e9e9e")
    assert cell(model, 1, Column.STATE) == "stopped: key rejected (HTTP 401)"
    assert cell(model, 1, Column.STATE, Qt.ItemDataRole.DecorationRole) == QColor("#e53935")


def test_waiting_for_seq_gaps_counts_and_notice_are_told(qtbot) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(1_000.0)
    panel = StreamsPanel(clock=clock, refresh_ms=0)
    qtbot.addWidget(panel)
    panel.resize(300, 600)
    panel.show()
    panel.model.update_status(status(
        5, state=StreamState.LIVE, last_seq=4_210, waiting_for=4_211, heartbeats=3, malformed=1,
        last_frame_at=988.0, open_gaps=2, missing=37, last_event_time="1970-01-01T00:16:10Z", events=100, stored=90, duplicates=4, conflicts=1,
        notice="stream restarted its sequence at 1; previous last seq 4,210",
    ))
    assert cell(panel.model, 0, Column.STATE) == "live · waiting for seq 4211"
    text = panel.details.state_label.text() + "\n" + panel.details.body.text()
    for part in ("waiting for seq 4211", "Last heard 12 s ago", "newest event 1970-01-01 00:16:10 UTC (30 s ago)", "Last seq 4210", "3 heartbeats", "1 bad frame",
                 "2 gaps, 37 seqs missing", "4 duplicates", "1 conflict",
                 "Latest notice: stream restarted its sequence at 1; previous last seq 4,210"):
        assert part in text, part
    # the state and the reason wrap in the dock: the row grows rather than cutting "reconnec…"
    panel.model.update_status(status(5, state=StreamState.RECONNECTING, retry_at=1_030.0,
                                     detail="connection refused by 127.0.0.1:1 (is the server running?)"))
    row_height = panel.view.rowHeight(0)
    assert row_height > panel.view.fontMetrics().height() * 2
    assert "connection refused by 127.0.0.1:1 (is the server running?)" in panel.details.state_label.text()
    assert panel.details.state_label.wordWrap()


def test_retry_now_and_fill_gaps_follow_the_state(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(clock=Clock(), refresh_ms=0)
    qtbot.addWidget(panel)
    panel.show()
    asked: list[tuple[str, int]] = []
    panel.retry_requested.connect(lambda sid: asked.append(("retry", sid)))
    panel.fill_gaps_requested.connect(lambda sid: asked.append(("fill", sid)))
    panel.model.update_status(status(9, state=StreamState.LIVE))
    assert not panel.retry_action.isEnabled() and not panel.fill_gaps_action.isEnabled()
    assert panel.details.retry_button.isHidden() and panel.details.fill_button.isHidden()
    panel.model.update_status(status(9, state=StreamState.RECONNECTING, retry_at=1_060.0, open_gaps=1, missing=3))
    assert panel.retry_action.isEnabled() and panel.fill_gaps_action.isEnabled()
    assert panel.disconnect_action.isEnabled()  # Disconnect while waiting to reconnect
    panel.details.retry_button.click()
    panel.details.fill_button.click()
    assert asked == [("retry", 9), ("fill", 9)]


def test_status_bar_summary_counts_each_kind(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = StreamsPanel(clock=Clock(), refresh_ms=0)
    qtbot.addWidget(panel)
    assert panel.summary.text() == "No streams"
    panel.model.update_status(status(1, state=StreamState.LIVE))
    panel.model.update_status(status(2, state=StreamState.LIVE))
    panel.model.update_status(status(3, state=StreamState.RECONNECTING, retry_at=1_010.0))
    panel.model.update_status(status(4, state=StreamState.STOPPED, detail="key rejected"))
    panel.model.update_status(status(5, state=StreamState.STOPPED, by_user=True))
    assert panel.summary.counts == {"live": 2, "connecting": 0, "retrying": 1, "failed": 1, "disconnected": 1}
    assert panel.summary.text() == "Streams: 2 live, 1 retrying, 1 failed, 1 disconnected"
    assert panel.summary.labels["live"].text() == "● 2 live"
    assert "#43a047" in panel.summary.labels["live"].styleSheet()
    assert "#e53935" in panel.summary.labels["failed"].styleSheet()
    assert "#9e9e9e" in panel.summary.labels["disconnected"].styleSheet()
    assert panel.summary.labels["connecting"].isHidden()
    panel.model.update_status(status(3, state=StreamState.LIVE))
    assert panel.summary.counts["live"] == 3 and panel.summary.counts["retrying"] == 0


def test_details_lines_for_a_quiet_new_stream() -> None:
    lines = details_lines(status(1), 1_000.0)
    assert lines[0] == "State: connecting"
    assert "Last heard never" in lines
    assert not any("gap" in line or "notice" in line for line in lines)
