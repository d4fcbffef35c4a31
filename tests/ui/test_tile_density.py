"""Tiles: the compact density and one row of tiles per wheel step, on a real view offscreen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from ayla_monitor.ui.main_window import MainWindow
from ayla_monitor.ui.settings import AppSettings
from ayla_monitor.ui.tiles import COMPACT_TILE_HEIGHT, TILE_HEIGHT, TilesView
from tests.fleet.support import T0, conn

NOW = T0 + 100


def wheel(view: TilesView, delta: int) -> None:
    viewport = view.list.viewport()
    at = QPointF(viewport.rect().center())
    event = QWheelEvent(at, QPointF(viewport.mapToGlobal(viewport.rect().center())), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def filled(qtbot: Any) -> TilesView:
    view = TilesView(clock=lambda: NOW)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.apply([conn(f"D{i:04d}", T0, True) for i in range(300)])
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.list.verticalScrollBar().maximum() > 0)
    return view


def test_one_wheel_notch_scrolls_one_row_of_tiles(qtbot: Any) -> None:
    view = filled(qtbot)
    bar = view.list.verticalScrollBar()
    row = TILE_HEIGHT + 2 * view.list.spacing()
    assert bar.singleStep() == row and bar.value() == 0
    wheel(view, -120)
    assert bar.value() == row
    wheel(view, -60)  # half a notch (a touchpad): nothing yet
    assert bar.value() == row
    wheel(view, -60)
    assert bar.value() == 2 * row
    wheel(view, 240)
    assert bar.value() == 0
    top = view.list.indexAt(QPoint(10, 10))
    assert top.row() == 0


def test_compact_tiles_are_smaller_and_scroll_by_their_own_row(qtbot: Any) -> None:
    view = filled(qtbot)
    full_rows = view.list.verticalScrollBar().maximum()
    view.set_compact(True)
    qtbot.waitUntil(lambda: view.list.verticalScrollBar().maximum() < full_rows / 2)
    assert view.delegate.sizeHint(None, view.proxy.index(0, 0)).height() == COMPACT_TILE_HEIGHT  # type: ignore[arg-type]
    bar = view.list.verticalScrollBar()
    wheel(view, -120)
    assert bar.value() == COMPACT_TILE_HEIGHT + 2 * view.list.spacing()
    image = view.list.viewport().grab().toImage()
    assert not image.isNull()
    view.set_compact(False)
    assert view.delegate.sizeHint(None, view.proxy.index(0, 0)).height() == TILE_HEIGHT  # type: ignore[arg-type]


def test_the_window_remembers_compact_tiles(qtbot: Any, settings: AppSettings) -> None:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    assert not window.tiles.delegate.compact
    window.compact_tiles_action.trigger()
    assert window.tiles.delegate.compact
    again = MainWindow(AppSettings.load(settings.qsettings))
    qtbot.addWidget(again)
    assert again.tiles.delegate.compact and again.compact_tiles_action.isChecked()
