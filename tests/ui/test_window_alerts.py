"""Alerts in the whole window on real parts: the demo's simulator on
127.0.0.1, the engine, SQLite in tmp_path, the rules file in the config folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ayla_monitor.ui.alerts.tray import Severity
from ayla_monitor.ui.alerts.window import default_rules_path, who_am_i
from ayla_monitor.ui.app import DemoOptions, Session
from ayla_monitor.ui.main_window import MainWindow
from ayla_monitor.ui.settings import AppSettings

from .conftest import wait_until
from .test_app import drive

RULES = """\
[[rule]]
name = "offline 2 s"
when = "offline"
for = "2s"
"""


def test_flapping_device_raises_is_acknowledged_and_clears(tmp_path: Path, private_config_folder: Path,
                                                           settings: AppSettings, keystore: Any,
                                                           run: Callable[..., Any]) -> None:
    """The demo's flapping device goes offline: a notification, a row in the
    panel and a badge; acknowledged by this user; cleared when it is back."""
    assert default_rules_path() == private_config_folder / "alerts.toml"
    private_config_folder.mkdir(parents=True)
    # and a rule no device can match: said once the first devices are known
    default_rules_path().write_text(RULES + '\n[[rule]]\nname = "ghost"\nwhen = "value"\n'
                                    'property = "no_such_property"\nabove = 1\n')
    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        alerts = window.alerts
        assert [r.name for r in alerts.ruleset.rules] == ["offline 2 s", "ghost"]
        alerts.dock.show()
        panel = alerts.panel
        await wait_until(lambda: "cannot match the fleet" in panel.notice.text(), what="the ghost rule said")
        assert "'ghost'" in panel.notice.text() and "no_such_property" in panel.notice.text()
        await wait_until(lambda: bool(panel.model.open_records()), timeout=90, what="an alert raised")
        record = panel.model.open_records()[0]
        dsn = record.dsn
        assert dsn and record.rule == "offline 2 s" and record.condition == "offline"
        title, text = alerts.tray.shown[0]
        assert title == "Alert: offline 2 s" and dsn in text
        assert "Alert: offline 2 s" in window.statusBar().currentMessage() or record.cleared_at is None
        assert alerts.tray.severity is Severity.ALERT
        assert window.tiles.model.alert_marks[dsn].rules == ("offline 2 s",)
        # acknowledge it
        panel.table.selectRow(panel.model.row_of(record.id))
        assert panel.acknowledge_selected() == [record.id]
        await wait_until(lambda: any(r.id == record.id and r.acknowledged_by for r in panel.model.records()),
                         what="the acknowledgement stored and shown")
        # back online: cleared, in the history, no badge
        await wait_until(lambda: any(r.id == record.id and r.cleared_at is not None for r in panel.model.records()),
                         timeout=90, what="the alert cleared")
        assert ("Cleared: offline 2 s" in [t for t, _ in alerts.tray.shown])
        await wait_until(lambda: dsn not in window.tiles.model.alert_marks, what="the badge gone")
        stored = await window.queries.ask(window, lambda: session.engine.store.list_alerts())  # type: ignore[union-attr]
        seen["stored"] = [r for r in stored if r.id == record.id]

    code = run(drive(user, database=str(tmp_path / "demo.sqlite"), demo=True, settings=settings, keystore=keystore,
                     demo_options=DemoOptions(devices=6, rate=30)), timeout=240)
    assert code == 0
    [stored] = seen["stored"]
    assert stored.acknowledged_by == who_am_i() and stored.acknowledged_at is not None
    assert stored.cleared_at is not None and stored.cleared_at > stored.raised_at


def test_close_to_tray_keeps_the_window_running_and_quit_quits(qtbot: Any, settings: AppSettings) -> None:
    window = MainWindow(settings, tray=False)
    qtbot.addWidget(window)
    keep = window.alerts.keep_action
    assert not keep.isEnabled() and "unavailable: this desktop has no system tray" in keep.text()
    window.show()
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    # the setting is remembered...
    settings.keep_in_tray = True
    settings.save()
    assert AppSettings.load(settings.qsettings).keep_in_tray
    # ...but with no tray, closing the window closes it
    assert window.close() and closed == [True]


def test_close_to_tray_hides_when_the_desktop_has_a_tray(qtbot: Any, settings: AppSettings) -> None:
    window = MainWindow(settings, tray=True)  # as if a tray host were there (the icon is never shown offscreen)
    qtbot.addWidget(window)
    keep = window.alerts.keep_action
    assert keep.isEnabled() and not keep.isChecked()  # off by default
    keep.trigger()
    assert settings.keep_in_tray and AppSettings.load(settings.qsettings).keep_in_tray
    window.show()
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    assert not window.close()  # hidden, still running
    assert not window.isVisible() and closed == []
    assert window.alerts.tray.shown[-1][0] == "Still watching"
    window.alerts.tray.show_action.trigger()
    assert window.isVisible()
    window.alerts.tray.quit_action.trigger()
    assert closed == [True] and not window.isVisible()


def test_the_rules_file_reloads_when_it_changes_and_bad_rules_are_said(qtbot: Any, settings: AppSettings,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "rules" / "alerts.toml"
    path.parent.mkdir()
    window = MainWindow(settings, alerts_path=path, tray=False)
    qtbot.addWidget(window)
    alerts = window.alerts
    assert alerts.ruleset.rules == () and "No alert rules yet" in alerts.panel.notice.text()
    path.write_text(RULES)  # another editor, or the recorder's admin
    qtbot.waitUntil(lambda: [r.name for r in alerts.ruleset.rules] == ["offline 2 s"], timeout=10_000)
    path.write_text(RULES + '\n[[rule]]\nname = "typo"\nwhen = "ofline"\n')
    qtbot.waitUntil(lambda: bool(alerts.ruleset.problems), timeout=10_000)
    assert [r.name for r in alerts.ruleset.rules] == ["offline 2 s"]  # the good rule still runs
    assert f"{path}:8: rule 'typo': 'when' is one of" in alerts.panel.notice.text()
