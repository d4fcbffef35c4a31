"""A device with an open alert carries a badge on its tile and its fleet-table row."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.ui.alerts.model import AlertMark
from ayla_monitor.ui.alerts.tray import SEVERITY_COLOURS, Severity
from ayla_monitor.ui.fleet_table import Column, FleetTableModel, summary_of_state
from ayla_monitor.ui.tiles import DeviceTile, Role, TilesView

MARK = AlertMark(Severity.ALERT, ("offline 10 s",))


def test_tile_badge_is_painted_and_named_in_the_tooltip(qtbot: Any) -> None:
    view = TilesView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.load_states([DeviceTile("AC1"), DeviceTile("AC2")])
    view.show()
    qtbot.waitExposed(view)
    model = view.model
    before = view.list.viewport().grab().toImage()
    changed: list[Any] = []
    model.dataChanged.connect(lambda first, last, roles: changed.append((first.row(), list(roles))))
    model.set_alert_marks({"AC2": MARK})
    assert changed == [(model.row_of("AC2"), [Role.ALERT])]
    index = model.index(model.row_of("AC2"))
    assert index.data(Role.ALERT) == MARK
    assert "Open alert: offline 10 s<br>AC2<br>" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(model.row_of("AC1")).data(Role.ALERT) is None
    view.list.viewport().repaint()
    after = view.list.viewport().grab().toImage()
    red = SEVERITY_COLOURS[Severity.ALERT].name()
    found = {QColor(after.pixel(x, y)).name() for x in range(after.width()) for y in range(0, 40)}
    assert red in found
    assert red not in {QColor(before.pixel(x, y)).name() for x in range(before.width()) for y in range(0, 40)}


def test_fleet_table_row_badge(qtmodeltester: Any) -> None:
    model = FleetTableModel()
    model.set_rows([summary_of_state(DeviceState("AC1")), summary_of_state(DeviceState("AC2"))])
    model.alert_marks = {"AC2": AlertMark(Severity.WARNING, ("hot",))}
    qtmodeltester.check(model)
    row = model.row_of("AC2")
    assert not model.index(row, Column.DSN).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert model.index(row, Column.DSN).data(Qt.ItemDataRole.ToolTipRole).endswith("Open alert: hot")
    assert model.index(row, Column.MODEL).data(Qt.ItemDataRole.DecorationRole) is None
    assert model.index(model.row_of("AC1"), Column.DSN).data(Qt.ItemDataRole.DecorationRole) is None
