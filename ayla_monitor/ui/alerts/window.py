"""Alerts in the window: the rules evaluated over what the window receives,
recorded through the store off the GUI thread, and shown in the Alerts dock,
the tray, the status bar and the badges.

:class:`WindowAlerts` is built by the main window. It holds the evaluator
(fed every live batch by :meth:`add`, ticked every :data:`TICK_MS` with the window's :class:`~ayla_monitor.fleet.insight.FleetInsight`
and the streams' states), hands each tick's raises and clears to the store on
a worker thread (:class:`~ayla_monitor.ui.queries.QueryRunner`), and shows the
ones the store recorded: a row in the panel, a desktop notification for the
rules that ask for it (a raise loud, a clear quiet), a line in the status
bar, the tray icon's state and the badges. The rules are
``alerts.toml`` in the user's config folder, reloaded when the file changes.
"""

from __future__ import annotations

import getpass
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QMainWindow, QMenu

from ayla_monitor.alerts.evaluate import AlertChange
from ayla_monitor.alerts.rules import RuleSet, facts_of, load_rules
from ayla_monitor.core.alerting import Alerting, RecordedChange, stream_facts
from ayla_monitor.paths import config_dir
from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.ui.alerts.model import AlertMark, marks_of, severity_of
from ayla_monitor.ui.alerts.panel import AlertsPanel
from ayla_monitor.ui.alerts.tray import NO_TRAY_REASON, AlertTray
from ayla_monitor.ui.formatting import one_line

__all__ = ["WindowAlerts", "default_rules_path", "RULES_FILE", "who_am_i"]

log = logging.getLogger(__name__)

RULES_FILE = "alerts.toml"
#: how often the panel rereads the stored alerts while shown (seconds)
RELOAD_SECONDS = 15.0
#: how often the rules are evaluated (ms): a tick costs a look at the subjects
#: whose condition changed (the insight's pass is once a second at most), and
#: the time from a condition met (plus its hold) to the notification is at
#: most this plus the store's write
TICK_MS = 250


def default_rules_path() -> Path:
    """``~/.config/ayla-monitor/alerts.toml`` on Linux (the recorder takes it with ``--alerts``)."""
    return config_dir() / RULES_FILE


def _title(change: AlertChange) -> str:
    """``Alert: offline for 10 s``, ``Warning: …``, ``Cleared: …``."""
    kind = ("Alert" if change.severity == "alert" else "Warning") if change.kind == "raised" else "Cleared"
    return f"{kind}: {one_line(change.rule, 80)}"


def who_am_i() -> str:
    """The OS user name an acknowledgement is recorded with."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment nor the password database
        return "unknown user"


class WindowAlerts(QObject):
    """See the module doc."""

    #: alerts the store recorded (raises and clears), after they are shown
    recorded = Signal(list)
    #: the rules in use changed (a RuleSet)
    rules_changed = Signal(object)

    def __init__(self, window: QMainWindow, *, insight: Callable[[], Any],
                 states: Callable[[], Sequence[Any]], statuses: Callable[[], Sequence[Any]],
                 runner: Any, settings: Any, rules_path: Path | None = None,
                 clock: Callable[[], float] = time.time, tray_available: bool | None = None) -> None:
        super().__init__(window)
        self.setObjectName("window-alerts")
        self.window = window
        #: gives the store alerts are recorded in and read from (``None``: no database open); the app sets it
        self.store_source: Callable[[], Any] = lambda: None
        #: whether the devices known are known whole (the window says no while
        #: their stored properties are still being read); the fleet check waits
        self.fleet_complete: Callable[[], bool] = lambda: True
        self._insight = insight
        self._states = states
        self._statuses = statuses
        self.runner = runner
        self.settings = settings
        self.clock = clock
        self.rules_path = rules_path or default_rules_path()
        self.ruleset = RuleSet(path=str(self.rules_path))
        #: the evaluation shared with the recorder; the window's insight is passed at each tick
        self.alerting = Alerting(self.ruleset, now=clock())
        #: changes handed to the store and not answered yet (ticks skip recording while one is out)
        self._recording = False
        self._queued: list[AlertChange] = []
        self._hid_once = False
        self.editor: QDialog | None = None
        self._local_ids = itertools.count(1)
        self._adopted: Any = None
        self._loaded = False
        #: the rules loaded were checked against the fleet (see _check_fleet)
        self._fleet_checked = True
        self._unrecorded_open: dict[tuple[str, str], AlertRecord] = {}
        #: the window is quitting for real (not hiding in the tray)
        self.quitting = False
        #: DSN -> badge of the devices with an open alert
        self.marks: dict[str, AlertMark] = {}

        self.panel = AlertsPanel(window, clock=clock)
        self.dock = QDockWidget("Alerts", window)
        self.dock.setObjectName("alerts-dock")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.dock.setWidget(self.panel)
        self.panel.title_changed.connect(self.dock.setWindowTitle)
        self.panel.acknowledge_requested.connect(self.acknowledge)
        self.panel.search_changed.connect(lambda _: self.reload())
        self.panel.stream_opened.connect(self._open_stream)
        self.tray = AlertTray(self, available=tray_available)
        self.alerting.add_notifier(self._desktop, ("desktop",))

        self.rules_action = QAction("Alert &rules…", window)
        self.rules_action.setObjectName("alert-rules")
        self.rules_action.setStatusTip(f"Edit the alert rules ({self.rules_path})")
        self.keep_action = QAction("&Keep watching in the tray when the window is closed", window)
        self.keep_action.setObjectName("keep-in-tray")
        self.keep_action.setCheckable(True)
        self.keep_action.setChecked(bool(settings.keep_in_tray) and self.tray.available)
        if not self.tray.available:
            self.keep_action.setEnabled(False)
            self.keep_action.setText(f"Keep watching in the tray when the window is closed (unavailable: "
                                     f"{NO_TRAY_REASON})")
            self.keep_action.setStatusTip(f"Unavailable: {NO_TRAY_REASON}; alerts appear in the Alerts panel and "
                                          "the status bar")
        else:
            self.keep_action.setStatusTip("Closing the window hides it; streams, recording and alerts go on. "
                                          "Quit from the tray menu.")
        self.keep_action.toggled.connect(self._keep_toggled)
        self.menu = QMenu("&Alerts", window)
        self.menu.setObjectName("alerts-menu")
        self.menu.addAction(self.dock.toggleViewAction())
        self.menu.addAction(self.rules_action)
        self.menu.addSeparator()
        self.menu.addAction(self.keep_action)
        self.panel.rules_requested.connect(self.rules_action.trigger)
        self.tray.show_requested.connect(self.show_window)
        self.tray.alerts_requested.connect(self.show_alerts)

        self._reload_timer = QTimer(self)
        self._reload_timer.setObjectName("alerts-rules-reload")
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(300)  # an editor's save is several writes
        self._reload_timer.timeout.connect(lambda: self.load_rules())
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(lambda _: self._reload_timer.start())
        self._watcher.directoryChanged.connect(lambda _: self._reload_timer.start())
        #: alerts other recorders into the same database record show within this (while the panel is shown)
        self.reload_timer = QTimer(self)
        self.reload_timer.setObjectName("alerts-reload")
        self.reload_timer.setInterval(int(RELOAD_SECONDS * 1000))
        self.reload_timer.timeout.connect(self._reload_shown)
        self.reload_timer.start()
        self.rules_action.triggered.connect(lambda: self.open_editor())
        self.tick_timer = QTimer(self)
        self.tick_timer.setObjectName("alerts-tick")
        self.tick_timer.setInterval(TICK_MS)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        self.load_rules()

    # -- rules
    def open_editor(self) -> QDialog:
        """The rule editor on the rules file, with the fleet as known now."""
        from ayla_monitor.ui.alerts.rule_editor import RuleEditor

        if self.editor is not None and shiboken6.isValid(self.editor):
            self.editor.raise_()
            self.editor.activateWindow()
            return self.editor
        editor = RuleEditor(self.rules_path, self.facts(), streams=self.stream_names(), parent=self.window)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self.load_rules)
        self.editor = editor
        editor.open()
        return editor

    def load_rules(self, ruleset: RuleSet | None = None) -> RuleSet:
        """Read the rules file (or take ``ruleset``, just written by the
        editor); alerts of unchanged rules stay open, the others clear."""
        if ruleset is None:
            ruleset = load_rules(self.rules_path)
        self._watch()
        if self._loaded and ruleset.rules == self.ruleset.rules and ruleset.problems == self.ruleset.problems:
            return self.ruleset
        self._loaded = True
        self.ruleset = ruleset
        self._fleet_checked = False  # these rules: checked against the fleet once devices are known
        cleared = self.alerting.set_rules(ruleset, self.clock())
        if cleared:
            self._record(cleared)
        if ruleset.problems:
            first = ruleset.problems[0]
            more = len(ruleset.problems) - 1
            text = f"{first}" + (f" (and {more} more problem{'s' * (more != 1)})" if more else "")
            self.panel.show_notice(f"Some alert rules are not used: {text}. Open Rules… to fix them.")
            for problem in ruleset.problems:
                log.warning("Alert rule not used: %s", problem)
        else:
            self.panel.show_notice("" if ruleset.rules else
                                   "No alert rules yet: open Rules… to add one.")
        self.rules_changed.emit(ruleset)
        return ruleset

    def _watch(self) -> None:
        paths = [str(self.rules_path.parent)] + ([str(self.rules_path)] if self.rules_path.exists() else [])
        missing = [p for p in paths if p not in self._watcher.files() + self._watcher.directories()]
        existing = [p for p in missing if Path(p).exists()]
        if existing:
            self._watcher.addPaths(existing)

    def facts(self) -> list[Any]:
        """What is known of the fleet now (the editor's preview and checks)."""
        return facts_of(self._states(), self._insight())

    def stream_names(self) -> list[str]:
        return sorted({s.name for s in self._statuses()})

    # -- evaluation
    def add(self, events: Sequence[Any], stream: str | None = None) -> None:
        """A live batch (cheap: a dictionary look-up per event unless a rule names its property)."""
        if self.alerting.evaluator.rules:
            self.alerting.add(events, stream)

    def tick(self) -> list[AlertChange]:
        """The raises and clears now (over the window's own insight); recorded off the GUI thread."""
        evaluator = self.alerting.evaluator
        if not evaluator.rules:
            return []
        insight = self._insight() if evaluator.needs_insight else None
        changes = evaluator.evaluate(insight, self.clock(), stream_facts(self._statuses()))
        if changes:
            self._record(changes)
        problems = self._check_fleet()
        if problems:
            for problem in problems:
                log.warning("Alert rule: %s", problem)
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.panel.show_notice(f"Rules that cannot match the fleet as known: {problems[0]}{more}. "
                                   "Open Rules… to see them.")
        return changes

    def _check_fleet(self) -> list[Any]:
        """The rules that cannot match the fleet: asked once per rules
        loaded, when the first devices are known."""
        if self._fleet_checked or not self.fleet_complete():
            return []
        facts = self.facts()
        if not facts:
            return []
        self._fleet_checked = True
        return self.alerting.problems(facts)

    def _record(self, changes: list[AlertChange]) -> None:
        store = self.store_source()
        if store is None:  # nothing to record into: shown all the same
            self._show([RecordedChange(c, self._unrecorded(c)) for c in changes])
            return
        self._queued.extend(changes)
        if self._recording:
            return  # in order: the next batch goes once this one is answered
        batch, self._queued = self._queued, []
        self._recording = True
        alerting = self.alerting
        alerting.store = store

        def done(recorded: list[RecordedChange]) -> None:
            self._recording = False
            self._show(recorded)
            if self._queued:
                self._record([])

        def failed(exc: BaseException) -> None:
            log.error("Alerts could not be recorded", exc_info=exc)
            done([])

        self.runner.call(self, lambda: alerting.record(batch), done, failed)

    def _show(self, recorded: list[RecordedChange]) -> None:
        """What was recorded here (another recorder into this database may
        have recorded a change first: it notifies it) in the status bar, the
        panel, the badges and, through the notifiers, the tray."""
        for item in recorded:
            change = item.change
            title, text = _title(change), one_line(change.detail, 300)
            self.window.statusBar().showMessage(f"{title} — {text}", 30_000 if change.kind == "raised" else 10_000)
            self.panel.show_notice(f"{title} — {text}")
        self.alerting.notify(recorded)
        if recorded:
            records = [item.record for item in recorded]
            self.panel.upsert(records)
            self._update_state()
            self.recorded.emit(records)

    def _desktop(self, change: AlertChange, record: AlertRecord) -> None:
        """The desktop notifier: a raise loud, a clear quiet."""
        self.tray.notify(_title(change), one_line(change.detail, 300), quiet=change.kind != "raised")

    def _unrecorded(self, change: AlertChange) -> AlertRecord:
        key = (change.rule, change.subject)
        if change.kind == "raised" or key not in self._unrecorded_open:
            alert = AlertRecord(-next(self._local_ids), change.rule, change.condition, change.subject, change.dsn,
                                change.stream, change.raised_at or change.at, None, change.detail, None, None,
                                change.severity)
        else:
            alert = self._unrecorded_open[key]
        if change.kind == "raised":
            self._unrecorded_open[key] = alert
            return alert
        self._unrecorded_open.pop(key, None)
        return replace(alert, cleared_at=change.at, clear_detail=change.detail)

    # -- the store
    def reload(self) -> None:
        """The panel's alerts from the store (open first, then the newest; the filter's search)."""
        store = self.store_source()
        if store is None:
            self.panel.set_records([])
            self._update_state()
            return
        search = self.panel.search_text() or None

        def done(records: list[AlertRecord]) -> None:
            if store is not self._adopted and not search:
                # alerts open in this database: kept open (not raised again), cleared when they stop
                self._adopted = store
                self.alerting.adopt(records)
            self.panel.set_records(records)
            self._update_state()

        self.runner.call(self, lambda: store.list_alerts(search=search), done,
                         lambda exc: log.warning("The alerts could not be read: %s", exc))

    def _reload_shown(self) -> None:
        if self.panel.isVisible():
            self.reload()

    def acknowledge(self, ids: list[int]) -> None:
        """Record who (the OS user) and when, off the GUI thread; then reload."""
        store = self.store_source()
        if store is None or not ids:
            return
        by = who_am_i()

        def work() -> int:
            return sum(1 for alert_id in ids if store.acknowledge(alert_id, by))

        def done(count: int) -> None:
            self.window.statusBar().showMessage(f"Acknowledged {count} alert{'s' * (count != 1)} as {by}.", 8000)
            self.reload()

        self.runner.call(self, work, done,
                         lambda exc: self.window.statusBar().showMessage(f"Could not acknowledge: {exc}", 15000))

    def _update_state(self) -> None:
        records = self.panel.model.records()
        self.tray.set_state(severity_of(records), len(self.panel.model.open_records()))
        self.marks = marks_of(records)
        self.marks_changed()

    def marks_changed(self) -> None:
        """The badges follow :attr:`marks` (the window connects its views)."""
        window = self.window
        tiles = getattr(window, "tiles", None)
        if tiles is not None:
            tiles.model.set_alert_marks(self.marks)
        table = getattr(window, "fleet_table", None)
        if table is not None:
            model = table.model
            model.alert_marks = self.marks
            if model.rowCount():
                model.dataChanged.emit(model.index(0, 1), model.index(model.rowCount() - 1, 1))

    # -- the window and the tray
    def _open_stream(self, name: str) -> None:
        show = getattr(self.window, "show_stream", None)
        for status in self._statuses():
            if status.name == name and show is not None:
                show(status.stream_id)
                return
        self.window.statusBar().showMessage(f"No stream named {one_line(name, 80)!r} is open now.", 8000)

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def show_alerts(self) -> None:
        self.show_window()
        self.dock.show()
        self.dock.raise_()

    def _keep_toggled(self, on: bool) -> None:
        if self.settings.keep_in_tray != on:
            self.settings.keep_in_tray = on
            self.settings.save()

    def hide_to_tray(self) -> bool:
        """Called by the window's close: hide instead when the user chose to
        keep watching in the tray (and there is a tray); whether it hid."""
        if self.quitting or not self.tray.available or not self.settings.keep_in_tray:
            return False
        self.window.hide()
        if not self._hid_once:
            self._hid_once = True
            self.tray.notify("Still watching", "Streams, recording and alerts go on. Quit from the tray icon's menu.",
                             quiet=True)
        return True

    def close(self) -> None:
        self.quitting = True
        self.tick_timer.stop()
        self.tray.close()
