"""The Alerts panel's model and widget over stored alerts made here."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.ui.alerts.model import AlertsModel, Column, marks_of, severity_of
from ayla_monitor.ui.alerts.panel import AlertsPanel
from ayla_monitor.ui.alerts.tray import Severity

NOW = 1_700_000_000.0


def alert(id: int, *, rule: str = "offline 10 s", dsn: str | None = "AC000W000000001", raised: float = NOW - 60,
          cleared: float | None = None, by: str | None = None, severity: str = "alert", **kw: Any) -> AlertRecord:
    subject = dsn or kw.pop("stream", "Plant")
    return AlertRecord(id, rule, "offline", subject, dsn, None if dsn else subject, raised, cleared,
                       f"{subject}: offline for 1 min", by, (NOW - 5) if by else None, severity)


def test_model_shows_open_first_then_history_newest_first(qtmodeltester: Any) -> None:
    model = AlertsModel(clock=lambda: NOW)
    qtmodeltester.check(model)
    model.set_records([alert(1, raised=NOW - 500, cleared=NOW - 400), alert(2, raised=NOW - 300),
                       alert(3, raised=NOW - 100, cleared=NOW - 50), alert(4, raised=NOW - 30, by="ana")])
    qtmodeltester.check(model)
    assert [r.id for r in model.records()] == [4, 2, 3, 1]
    state = [model.index(row, Column.STATE).data() for row in range(4)]
    assert state == ["open, acknowledged", "open", "cleared", "cleared"]
    assert model.index(1, Column.CLEARED).data() == "open for 5 min"
    assert model.index(2, Column.CLEARED).data() == "after 50 s"
    assert model.index(0, Column.ACKNOWLEDGED).data() == "ana, 5 s ago"
    assert model.index(1, Column.STATE).data(Qt.ItemDataRole.FontRole).bold()  # open, nobody on it
    assert "Double-click to open the device" in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_model_upsert_moves_a_cleared_alert_into_the_history(qtmodeltester: Any) -> None:
    model = AlertsModel(clock=lambda: NOW, capacity=3)
    qtmodeltester.check(model)
    model.set_records([alert(1, raised=NOW - 10), alert(2, raised=NOW - 300, cleared=NOW - 200)])
    model.upsert([replace(alert(1, raised=NOW - 10), cleared_at=NOW - 1)])
    assert [(r.id, r.cleared_at is None) for r in model.records()] == [(1, False), (2, False)]
    model.upsert([alert(3, raised=NOW), alert(4, raised=NOW - 1), alert(5, raised=NOW - 2)])
    assert [r.id for r in model.records()] == [3, 4, 5]  # bounded: open ones first, the oldest history dropped


def test_severity_and_marks() -> None:
    assert severity_of([]) is Severity.NONE
    assert severity_of([alert(1, cleared=NOW)]) is Severity.NONE
    assert severity_of([alert(1, by="ana")]) is Severity.WARNING
    assert severity_of([alert(1, by="ana"), alert(2)]) is Severity.ALERT
    assert severity_of([alert(1, severity="warning")]) is Severity.WARNING
    marks = marks_of([alert(1, rule="hot", by="ana"), alert(2, rule="offline 10 s"),
                      alert(3, dsn="AC2", cleared=NOW), alert(4, dsn=None, stream="Plant")])
    assert set(marks) == {"AC000W000000001"}
    mark = marks["AC000W000000001"]
    assert mark.severity is Severity.ALERT and mark.rules == ("hot", "offline 10 s")
    assert mark.tooltip() == "Open alerts: hot, offline 10 s"


def test_panel_acknowledges_selected_alerts_and_opens_devices(qtbot: Any) -> None:
    panel = AlertsPanel(clock=lambda: NOW)
    qtbot.addWidget(panel)
    titles: list[str] = []
    panel.title_changed.connect(titles.append)
    panel.set_records([alert(1), alert(2, cleared=NOW - 1), alert(3, dsn=None, stream="Plant"), alert(4, by="ana")])
    assert titles[-1] == "Alerts (3 open)"
    assert not panel.ack_button.isEnabled()
    panel.table.selectAll()
    assert panel.ack_button.isEnabled()
    with qtbot.waitSignal(panel.acknowledge_requested) as ack:
        panel.ack_button.click()
    assert sorted(ack.args[0]) == [1, 2, 3]  # cleared ones too; not one acknowledged already
    with qtbot.waitSignal(panel.device_opened) as opened:
        panel.table.doubleClicked.emit(panel.model.index(panel.model.row_of(1), 0))
    assert opened.args == ["AC000W000000001"]
    with qtbot.waitSignal(panel.stream_opened) as stream:
        panel.table.doubleClicked.emit(panel.model.index(panel.model.row_of(3), 0))
    assert stream.args == ["Plant"]


def test_panel_filter_asks_for_a_search_and_keeps_live_rows_that_match(qtbot: Any) -> None:
    panel = AlertsPanel(clock=lambda: NOW)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.search_changed) as search:
        panel.filter_edit.setText("  Freezer ")
    assert search.args == ["Freezer"]
    panel.upsert([alert(1, rule="freezer too warm"), alert(2, rule="offline 10 s")])
    assert [r.rule for r in panel.model.records()] == ["freezer too warm"]
