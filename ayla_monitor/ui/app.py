"""The application shell: one qasync loop for Qt and the streams.

:func:`run_gui` is what ``ayla-monitor`` (no subcommand) calls. It builds the
window, opens the engine, restores the saved streams (or starts the demo)
and waits until the window closes; quitting sets an :class:`asyncio.Event`
that the main coroutine awaits, and everything long-lived runs in one
:class:`asyncio.TaskGroup`.

:class:`Session` is the controller between the passive window and the
engine: it opens the dialogs, turns the user's actions into engine calls
(``@asyncSlot``) and feeds the window through the :class:`EngineBridge`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

import qasync  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402  (PySide6 before qasync)
from PySide6.QtWidgets import QApplication, QDialog, QWidget  # noqa: E402

from ayla_monitor import APP_NAME, __version__  # noqa: E402
from ayla_monitor.core.engine import Engine  # noqa: E402
from ayla_monitor.core.gc_tuning import tune_garbage_collector  # noqa: E402
from ayla_monitor.dss.client import ClientOptions, probe  # noqa: E402
from ayla_monitor.dss.endpoints import ReplayWindow  # noqa: E402
from ayla_monitor.dss.errors import ConfigError  # noqa: E402
from ayla_monitor.dss.keys import key_fingerprint  # noqa: E402
from ayla_monitor.dss.subscription import StreamDefinition  # noqa: E402
from ayla_monitor.store.errors import StoreError  # noqa: E402
from ayla_monitor.store.location import (  # noqa: E402
    default_database_path,
    describe_database,
    resolve_database_url,
)
from ayla_monitor.ui.about import AboutDialog  # noqa: E402
from ayla_monitor.ui.bridge import EngineBridge  # noqa: E402
from ayla_monitor.ui.capture_dialogs import CaptureActions  # noqa: E402
from ayla_monitor.ui.crash import install as install_crash_reporter  # noqa: E402
from ayla_monitor.ui.event_log import row_from_stored  # noqa: E402
from ayla_monitor.ui.formatting import format_bytes  # noqa: E402
from ayla_monitor.ui.main_window import MainWindow  # noqa: E402
from ayla_monitor.ui.resources import app_icon  # noqa: E402
from ayla_monitor.ui.settings import AppSettings, SavedStream, apply_color_scheme  # noqa: E402
from ayla_monitor.ui.slots import async_slot  # noqa: E402
from ayla_monitor.ui.streams_panel import StreamsPanel  # noqa: E402
from ayla_monitor.ui.tiles import DeviceTile  # noqa: E402

__all__ = ["run_gui", "run_app", "Session", "DemoOptions", "prepare_application"]

log = logging.getLogger(__name__)

#: How many stored events fill the log at start (the rest stay in the database).
HISTORY_EVENTS = 2_000
DEMO_NAME = "Demo (simulator)"
#: Events the database writer may hold before the streams wait (bounds memory under a burst).
WRITER_QUEUE = 20_000
#: While events are being written, the database's size is measured this often
#: (seconds); the status bar and the settings show that one figure.
SIZE_INTERVAL = 3.0


@dataclass(frozen=True)
class DemoOptions:
    """The demo's simulated fleet."""

    devices: int = 24
    rate: float = 30.0


class Session:
    """Connects a :class:`MainWindow` to an :class:`Engine` (and the demo simulator).

    Nothing here starts in the constructor; :meth:`start` does, inside the
    caller's task group, and :meth:`close` stops everything.
    """

    def __init__(self, window: MainWindow, settings: AppSettings, *, keystore: Any,
                 database: str | None = None, demo: DemoOptions = DemoOptions(),
                 demo_database: str | None = None) -> None:
        self.window = window
        self.settings = settings
        self.keystore = keystore
        self.demo_options = demo
        try:  # a password an older version wrote into the settings file goes to the keystore
            settings.secure_database_password(keystore)
        except Exception as exc:  # keyring failures are environmental
            log.warning("Could not move the database password to the keystore: %s", exc)
        self._database_arg = database if database is not None else settings.database_target(keystore)
        self.engine: Engine | None = None
        self.database_url: str | None = None
        self.bridge = EngineBridge(window)
        self.simulator: Any = None
        self.demo_stream_id: int | None = None
        #: the demo runs on its own database file, never the user's (issue 10).
        self.demo_mode = False
        self._demo_database_arg = demo_database
        self.stream_ids: set[int] = set()
        self._tasks: asyncio.TaskGroup | None = None
        self._bridge_task: asyncio.Task[None] | None = None
        self._dialogs: list[QDialog] = []
        #: device views and history windows (closed with the database they read).
        self._windows: list[QWidget] = []
        self._size_task: asyncio.Task[None] | None = None
        #: the database's size on disk as last measured (the one figure shown everywhere).
        self.database_size: int | None = None
        #: events deleted by retention since start (the engine prunes: core/retention.py).
        self.retention_deleted = 0
        from ayla_monitor.ui.watch_mode import WatchMode  # File -> Watch a database…, --watch

        self.watching = WatchMode(self)

        self.bridge.frames_received.connect(window.add_frames)
        self.bridge.status_changed.connect(window.update_status)
        self.bridge.writer_health.connect(window.set_writer_health)
        window.add_stream_action.triggered.connect(lambda: self.open_stream_dialog())
        window.demo_action.triggered.connect(lambda: self.start_demo())
        window.settings_action.triggered.connect(lambda: self.open_settings())
        window.about_action.triggered.connect(self.show_about)
        window.history_action.triggered.connect(lambda: self.open_history())
        window.export_action.triggered.connect(lambda: self.open_export())
        window.report_action.triggered.connect(lambda: self.open_report())
        window.tiles.device_opened.connect(lambda dsn: self.open_device(dsn))
        window.fleet_table.device_opened.connect(lambda dsn: self.open_device(dsn))
        window.problems.device_opened.connect(lambda dsn: self.open_device(dsn))
        window.alerts.panel.device_opened.connect(lambda dsn: self.open_device(dsn))
        window.alerts.store_source = self._alert_store  # alerts are recorded in the database open now
        window.log_view.device_requested.connect(lambda dsn: self.open_device(dsn))
        panel = window.streams_panel
        if isinstance(panel, StreamsPanel):
            panel.add_requested.connect(lambda: self.open_stream_dialog())
            panel.connect_requested.connect(lambda sid: self.connect_stream(sid))
            panel.disconnect_requested.connect(lambda sid: self.disconnect_stream(sid))
            panel.edit_requested.connect(lambda sid: self.edit_stream(sid))
            panel.remove_requested.connect(lambda sid: self.remove_stream(sid))
            panel.replay_requested.connect(lambda sid, first, last: self.replay_stream(sid, first, last))
            panel.retry_requested.connect(lambda sid: self.retry_stream(sid))
            panel.fill_gaps_requested.connect(lambda sid: self.fill_gaps(sid))
        self.captures = CaptureActions(self)

    # -- lifetime
    async def start(self, tasks: asyncio.TaskGroup, *, demo: bool = False, watch: bool = False) -> bool:
        """Open the database, restore the saved streams, start the demo if asked
        (``watch``: follow the database that recorders elsewhere write, no streams).
        Returns whether the database could be opened."""
        self._tasks = tasks
        if watch:
            return await self.watching.open(self._database_arg)
        if demo:
            self.demo_mode = True
            ok = await self.open_database(self.demo_database())
            if ok:
                await self._start_demo()
            return ok
        ok = await self.open_database(self._database_arg)
        if ok:
            await self.restore_streams()
        return ok

    def demo_database(self) -> str:
        """The demo's own database file (``demo.sqlite`` beside the default file)."""
        if self._demo_database_arg is not None:
            return self._demo_database_arg
        return str(default_database_path().with_name("demo.sqlite"))

    async def open_database(self, arg: str | None) -> bool:
        """Open the engine on ``arg`` (a path or URL; ``None`` for the default file).
        On failure the window says so in one sentence and offers another choice."""
        window = self.window
        try:
            url = resolve_database_url(arg)
        except StoreError as exc:
            self._database_failed(str(exc), arg or "")
            return False
        self.database_url = url
        engine = Engine(url, options=self._options(), max_pending=WRITER_QUEUE,
                        retention_days=self.settings.retention_days)
        engine.retention.on_pruned = lambda result: self._pruned(engine, result)
        try:
            await engine.__aenter__()
        except StoreError as exc:
            self._database_failed(str(exc), describe_database(url))
            return False
        self.engine = engine
        assert self._tasks is not None, "start() first"
        self._bridge_task = self._tasks.create_task(self.bridge.run(engine.subscribe()), name="bridge")
        self._size_task = self._tasks.create_task(self._size_loop(engine), name="database-size")
        window.banner.hide()
        window.set_engine_ready(True)
        from ayla_monitor.ui.event_details import whole_event_reader  # the log's "Show all" reads this store

        window.log_view.details_pane.set_source(window.queries, whole_event_reader(engine.store))
        await self.load_history()
        return True

    def _database_failed(self, message: str, shown: str) -> None:
        log.warning("%s", message)
        self.window.set_engine_ready(False)
        self.window.set_database(f"{shown} (not open)" if shown else "not open")
        self.window.show_error(message, "Choose another database…", self.open_settings)

    async def load_history(self) -> None:
        """Tiles' last known state and the latest events, read off the loop
        (the devices' properties follow: ``MainWindow.add_history``)."""
        store = self.engine.store if self.engine is not None else self.watching.store
        if store is None:
            return
        limit = min(HISTORY_EVENTS, self.settings.log_window)

        def read() -> tuple[Any, Any, Any, int | None]:
            # tiles built here, off the GUI thread, ready to insert
            return store.device_overview(DeviceTile), store.recent_events(limit), store.streams(), store.size_bytes()

        try:
            states, events, streams, size = await self.window.queries.ask(self.window, read)
        except StoreError as exc:
            self.window.show_error(f"The stored history cannot be read: {exc}")
            return
        for record in streams:
            self.window.set_stream_name(record.id, record.name)
        self.window.add_history(states, [row_from_stored(e) for e in events], store)
        self.window.load_insight_history(store)  # the fleet table's and Problems' last hour
        self.window.alerts.reload()
        self.database_size = size
        self.window.set_database(describe_database(store.url), size)

    async def close(self) -> None:
        """Stop the streams, flush the writer, stop the demo, stop watching."""
        await self.watching.close()
        await self._close_engine()
        await self._stop_simulator()

    async def _close_engine(self) -> None:
        for widget in list(self._windows):
            if shiboken6.isValid(widget):
                widget.close()
        self._windows.clear()
        background, self._size_task = self._size_task, None
        if background is not None:
            background.cancel()
            await asyncio.wait([background])
        task, self._bridge_task = self._bridge_task, None
        engine, self.engine = self.engine, None
        if engine is not None:
            try:
                await engine.__aexit__(None, None, None)
            except Exception:
                log.exception("Closing the engine failed")
            if engine.spill_path is not None:
                log.warning("Events that could not be written were saved to %s", engine.spill_path)
            self.window.set_writer_health(engine.health)
            self.window.refresh.flush()
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self.stream_ids.clear()
        self.demo_stream_id = None

    async def _stop_simulator(self) -> None:
        simulator, self.simulator = self.simulator, None
        if simulator is not None:
            await simulator.stop()
        self.window.set_demo(False)

    def _options(self) -> ClientOptions:
        return ClientOptions(
            dead_after=self.settings.dead_after,
            pause_between_batches=0.001,
            max_frame_bytes=self.settings.max_frame_mb * 2**20,
        )

    # -- streams
    async def add_definition(self, definition: StreamDefinition, *, name: str | None = None,
                             start: bool = True) -> int | None:
        engine = self.engine
        if engine is None:
            self.window.show_error("No database is open, so streams cannot be recorded; choose a database first.",
                                   "Choose another database…", self.open_settings)
            return None
        stream_id = await engine.add_stream(definition, start=start)
        if not start:  # disconnected by the user last time: shown so, not as a failure
            await engine.stop_stream(stream_id, by_user=True)
        self.stream_ids.add(stream_id)
        self.window.set_stream_name(stream_id, name or definition.name)
        self.window.set_stream_count(len(self.stream_ids))
        return stream_id

    async def restore_streams(self) -> None:
        """Reopen the saved streams; each resumes after its last stored seq."""
        missing: list[SavedStream] = []
        for saved, definition in self.settings.restore_streams(self.keystore):
            if definition is None:
                missing.append(saved)
                continue
            try:
                await self.add_definition(definition.with_replay(ReplayWindow()), start=not saved.disconnected)
            except (ConfigError, StoreError) as exc:
                self.window.show_error(f"Stream {saved.name!r} cannot be opened: {exc}")
        if missing:
            names = ", ".join(repr(s.name) for s in missing)
            first = missing[0]
            self.window.show_error(
                f"The key of saved stream {names} is no longer remembered; enter it again to reconnect.",
                "Enter key…", lambda: self.open_stream_dialog(definition=first))
        self.window.set_stream_count(len(self.stream_ids))

    @async_slot()
    async def start_demo(self) -> None:
        """Ctrl+D: the window switches to the demo on its own database file (the
        user's streams stop meanwhile; their database is not touched)."""
        if self.demo_mode or self.simulator is not None:
            return
        await self._switch(demo=True)

    @async_slot()
    async def stop_demo(self) -> None:
        """Back from the demo to the user's database and streams."""
        if self.demo_mode:
            await self._switch(demo=False)

    async def _switch(self, *, demo: bool) -> None:
        await self.close()
        self.window.tiles.model.clear()
        self.window.log_view.model.clear()
        self.demo_mode = demo
        if await self.open_database(self.demo_database() if demo else self._database_arg):
            if demo:
                await self._start_demo()
            else:
                await self.restore_streams()

    async def _start_demo(self) -> None:
        """The built-in simulator on a free loopback port, watched like any stream.

        The demo key is fixed; a demo restarted on the same database continues
        the stored sequence (the simulator starts at the last stored seq + 1),
        so its events are neither repeated nor taken for duplicates."""
        if self.simulator is not None or self.engine is None:
            return
        from ayla_monitor.simulator.server import DEMO_KEY, Simulator, SimulatorConfig

        store = self.engine.store
        fingerprint = key_fingerprint(DEMO_KEY)
        known = [s for s in await self.window.queries.ask(self.window, store.streams) if s.fingerprint == fingerprint]
        last = await self.window.queries.ask(self.window, lambda: store.last_seq(known[0].id)) if known else None
        simulator = Simulator(
            SimulatorConfig(
                devices=self.demo_options.devices,
                rate=self.demo_options.rate,
                keys={DEMO_KEY: None},
                first_seq=(last or 0) + 1,
                # five devices flap, go quiet, ack badly, run late and spike: every insight has a case
                scenarios=True,
            )
        )
        await simulator.start("127.0.0.1", 0)
        self.simulator = simulator
        self.window.set_demo(True)
        definition = StreamDefinition(name=DEMO_NAME, base_url=simulator.url, key=DEMO_KEY)
        self.demo_stream_id = await self.add_definition(definition)
        self.window.show_info(
            f"The demo records into its own file, {describe_database(self.database_url or self.demo_database())}, "
            "never into your database.", "Back to my database", self.stop_demo)

    @async_slot(int)
    async def connect_stream(self, stream_id: int) -> None:
        if self.engine is not None:
            self._remember_disconnected(stream_id, False)
            await self.engine.start_stream(stream_id)

    @async_slot(int)
    async def disconnect_stream(self, stream_id: int) -> None:
        """The user's Disconnect, in any state (connecting, live, waiting to
        reconnect); remembered, so the stream comes back disconnected."""
        if self.engine is not None:
            self._remember_disconnected(stream_id, True)
            await self.engine.stop_stream(stream_id, by_user=True)

    def _remember_disconnected(self, stream_id: int, disconnected: bool) -> None:
        engine = self.engine
        if engine is not None and stream_id in self.stream_ids:
            self.settings.set_disconnected(engine.definition(stream_id).fingerprint, disconnected)

    def retry_stream(self, stream_id: int) -> None:
        """"Retry now": a stream waiting to reconnect tries at once."""
        if self.engine is not None and stream_id in self.stream_ids:
            self.engine.retry_now(stream_id)

    @async_slot(int)
    async def fill_gaps(self, stream_id: int) -> None:
        """Ask the server for the open gaps' seqs; the outcome in the status bar."""
        engine = self.engine
        if engine is None or stream_id not in self.stream_ids:
            return
        self.window.statusBar().showMessage("Asking the server for the missing seqs…", 5000)
        try:
            outcome = await engine.fill_gaps(stream_id)
        except Exception as exc:  # environmental (server gone) or a bug: one sentence, logged
            log.exception("Filling the gaps of stream %d failed", stream_id)
            outcome = f"Filling the gaps failed: {exc or type(exc).__name__}"
        if shiboken6.isValid(self.window):
            self.window.statusBar().showMessage(outcome[:1].upper() + outcome[1:], 15000)

    @async_slot(int, int, int)
    async def replay_stream(self, stream_id: int, seq_start: int, seq_end: int) -> None:
        if self.engine is None:
            return
        try:
            window = ReplayWindow(seq_start, None if seq_end < 0 else seq_end)
        except ConfigError as exc:
            self.window.show_error(str(exc))
            return
        await self.engine.start_stream(stream_id, window)

    @async_slot(int)
    async def remove_stream(self, stream_id: int) -> None:
        engine = self.engine
        if engine is None or stream_id not in self.stream_ids:
            return
        definition = engine.definition(stream_id)
        await engine.remove_stream(stream_id)
        self.stream_ids.discard(stream_id)
        self.window.remove_stream(stream_id)
        if stream_id == self.demo_stream_id:
            self.demo_stream_id = None
            await self._stop_simulator()
            if self.demo_mode:
                await self._switch(demo=False)
                return
        elif self.settings.saved_stream(definition.fingerprint) is not None:
            self.settings.forget_stream(definition.fingerprint, self.keystore)
        self.window.set_stream_count(len(self.stream_ids))

    def edit_stream(self, stream_id: int) -> None:
        if self.engine is None or stream_id not in self.stream_ids:
            return
        self.open_stream_dialog(definition=self.engine.definition(stream_id), stream_id=stream_id)

    # -- dialogs (opened with open(), never exec(): the loop keeps running)
    def open_stream_dialog(self, *, definition: StreamDefinition | SavedStream | None = None,
                           stream_id: int | None = None) -> QDialog:
        from ayla_monitor.ui.stream_dialog import StreamDialog

        dialog = StreamDialog(self.window, definition=definition,
                              probe=functools.partial(probe, options=self._options()),
                              keystore=self.keystore)
        old = definition.fingerprint if definition is not None else None

        def finished(result: int) -> None:
            self._forget_dialog(dialog)
            if result == QDialog.DialogCode.Accepted:
                self._stream_accepted(dialog.definition(), dialog.remember(), stream_id, old)

        dialog.finished.connect(finished)
        self._dialogs.append(dialog)
        dialog.open()
        return dialog

    @async_slot()
    async def _stream_accepted(self, definition: StreamDefinition, remember: bool,
                               stream_id: int | None, old_fingerprint: str | None) -> None:
        engine = self.engine
        if engine is None:
            return
        if stream_id is not None and stream_id in self.stream_ids and old_fingerprint != definition.fingerprint:
            await engine.remove_stream(stream_id)
            self.stream_ids.discard(stream_id)
            self.window.remove_stream(stream_id)
        new_id = await self.add_definition(definition)
        if new_id is None:
            return
        if remember and new_id != self.demo_stream_id:
            try:
                self.settings.remember_stream(definition, self.keystore, replacing=old_fingerprint)
            except Exception as exc:  # keyring failures are environmental
                log.warning("Could not remember the stream: %s", exc)
                self.window.show_error(f"The stream works but could not be remembered for next time: {exc}")

    def open_settings(self) -> QDialog:
        from ayla_monitor.ui.settings_dialog import SettingsDialog

        before = (self.settings.database_target(self.keystore), self.settings.log_window, self.settings.theme,
                  self.settings.dead_after, self.settings.retention_days)
        dialog = SettingsDialog(self.settings, self.window, database_size=self.database_size,
                                keystore=self.keystore)
        if self.engine is not None and self._tasks is not None:
            self._tasks.create_task(self._show_database_size(dialog), name="database-size")

        def finished(result: int) -> None:
            self._forget_dialog(dialog)
            if result == QDialog.DialogCode.Accepted:
                self._settings_changed(before)

        dialog.finished.connect(finished)
        self._dialogs.append(dialog)
        dialog.open()
        return dialog

    async def _show_database_size(self, dialog: QDialog) -> None:
        """The database's size in the settings: measured now, and the status bar
        shows the same figure."""
        await self.measure_database_size()

    def _settings_changed(self, before: tuple[Any, ...]) -> None:
        url, log_window, theme, dead_after, retention_days = before
        settings = self.settings
        if settings.retention_days != retention_days and self.engine is not None:
            self.engine.retention.set_days(settings.retention_days)
        if settings.log_window != log_window:
            self.window.log_view.set_capacity(settings.log_window)
        if settings.theme != theme:
            apply_color_scheme(settings.theme)
        if settings.dead_after != dead_after:
            self.window.statusBar().showMessage("The new connection timeout applies to the next connection.", 8000)
        target = settings.database_target(self.keystore)
        if target != url or self.engine is None:
            self._database_arg = target
            self.reopen_database()

    @async_slot()
    async def reopen_database(self) -> None:
        """Switch to the database now in the settings, with the saved streams
        (leaving the demo, which has a database of its own)."""
        await self._switch(demo=False)

    # -- the database's size
    async def measure_database_size(self, engine: Engine | None = None) -> int | None:
        """Measure the database's size off the loop and show it in the status bar;
        the settings dialog reads the same figure (:attr:`database_size`)."""
        engine = engine or self.engine
        if engine is None:
            return None
        try:
            size = await self.window.queries.ask(self.window, engine.store.size_bytes)
        except StoreError as exc:
            log.info("The database size is not known: %s", exc)
            return self.database_size
        if engine is self.engine:
            self.database_size = size
            self.window.set_database(describe_database(engine.database_url), size)
            for dialog in self._dialogs:  # an open Settings shows the same figure
                label = getattr(dialog, "size_label", None)
                if size is not None and label is not None and shiboken6.isValid(label):
                    label.setText(f"The database in use holds {format_bytes(size)}.")
                    label.setVisible(True)
        return size

    async def _size_loop(self, engine: Engine) -> None:
        """Keep the size current while events are written (issue 10: the status
        bar said 176.5 KB after 5,000 events)."""
        measured_at: int | None = None
        while True:
            await asyncio.sleep(SIZE_INTERVAL)
            stored = engine.health.stored
            if stored != measured_at:
                measured_at = stored
                await self.measure_database_size(engine)

    # -- retention
    def _pruned(self, engine: Engine, result: Any) -> None:
        """The engine's retention deleted rows: count them, show the new size."""
        if result.total:
            self.retention_deleted += result.total
            if self._tasks is not None:
                self._tasks.create_task(self.measure_database_size(engine), name="database-size")

    # -- device views, history, export
    def _store(self) -> Any:
        if self.engine is None and self.watching.store is not None:
            return self.watching.store
        if self.engine is None:
            self.window.show_error("No database is open; choose a database first.",
                                   "Choose another database…", self.open_settings)
            return None
        return self.engine.store

    def _alert_store(self) -> Any:
        return self.engine.store if self.engine is not None else self.watching.store

    def _keep(self, widget: QWidget) -> None:
        self._windows.append(widget)
        widget.destroyed.connect(lambda *_: self._windows.remove(widget) if widget in self._windows else None)

    def open_device(self, dsn: str) -> Any:
        """The device view of ``dsn`` (raised if it is open already)."""
        from ayla_monitor.ui.device_view import DeviceView

        for widget in self._windows:
            if isinstance(widget, DeviceView) and widget.dsn == dsn and shiboken6.isValid(widget):
                widget.raise_()
                widget.activateWindow()
                return widget
        store = self._store()
        if store is None:
            return None
        tile = self.window.tiles.model.tile(dsn)
        view = DeviceView(dsn, store, self.window, model=tile.oem_model if tile else None,
                          online=tile.online if tile else None, runner=self.window.queries,
                          insight=lambda: self.window.insight_feed.insight)
        self.bridge.frames_received.connect(view.add_frames)
        view.export_requested.connect(lambda query: self.open_export(query))
        self._keep(view)
        view.show()
        view.reload()
        return view

    def open_history(self) -> Any:
        from ayla_monitor.ui.history import HistoryWindow

        for widget in self._windows:
            if isinstance(widget, HistoryWindow) and shiboken6.isValid(widget):
                widget.raise_()
                widget.activateWindow()
                return widget
        store = self._store()
        if store is None:
            return None
        window = HistoryWindow(store, self.window, runner=self.window.queries)
        window.device_requested.connect(lambda dsn: self.open_device(dsn))
        window.export_requested.connect(lambda query: self.open_export(query))
        self._keep(window)
        window.show()
        window.search()
        return window

    def open_report(self) -> QDialog | None:
        """File -> Fleet report…: the ``report`` command's page, made off the UI thread."""
        from ayla_monitor.ui.report_dialog import ReportDialog

        store = self._store()
        if store is None:
            return None
        dialog = ReportDialog(store, self.window, runner=self.window.queries)
        dialog.finished.connect(lambda _: self._forget_dialog(dialog))
        self._dialogs.append(dialog)
        dialog.open()
        return dialog

    def open_export(self, query: Any = None) -> QDialog | None:
        """Export ``query`` (an EventFilter), or what the live log's filter matches."""
        from ayla_monitor.ui.export_dialog import ExportDialog, query_from_criteria

        store = self._store()
        if store is None:
            return None
        if query is None:
            query = query_from_criteria(self.window.log_view.criteria())
        dialog = ExportDialog(store, query, self.window, runner=self.window.queries)
        dialog.finished.connect(lambda _: self._forget_dialog(dialog))
        self._dialogs.append(dialog)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        dialog = AboutDialog(self.window, database=describe_database(self.database_url) if self.database_url else None,
                             keystore=self.keystore)
        dialog.finished.connect(lambda _: self._forget_dialog(dialog))
        self._dialogs.append(dialog)
        dialog.open()

    def _forget_dialog(self, dialog: QDialog) -> None:
        if dialog in self._dialogs:
            self._dialogs.remove(dialog)
        dialog.deleteLater()


# -- the application ------------------------------------------------------------

def prepare_application() -> QApplication:
    """The QApplication with name, version and icon (created once)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "ayla-monitor"])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("ayla-monitor")
    app.setDesktopFileName("ayla-monitor")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the main coroutine decides when to stop
    return app




async def run_app(*, database: str | None, demo: bool, exit_after: float | None,
                  settings: AppSettings | None = None, keystore: Any = None,
                  demo_options: DemoOptions = DemoOptions(), demo_database: str | None = None,
                  on_ready: Callable[[Session], object] | None = None, watch: bool = False) -> int:
    """The main coroutine: window up, engine open (``watch``: the database
    followed instead, :mod:`ayla_monitor.ui.watch_mode`), wait for the window to close."""
    settings = settings if settings is not None else AppSettings.load()
    if keystore is None:
        from ayla_monitor.keystore import Keystore

        keystore = Keystore()
    apply_color_scheme(settings.theme)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setQuitOnLastWindowClosed(False)  # this coroutine decides when to stop
    quit_event = asyncio.Event()
    window = MainWindow(settings, streams_panel=StreamsPanel())
    window.closed.connect(quit_event.set)
    window.restore_layout()
    if demo and database is not None and demo_database is None:
        demo_database, database = database, None  # --demo --db FILE: the demo's file for this run
    session = Session(window, settings, keystore=keystore, database=database, demo=demo_options,
                      demo_database=demo_database)
    crash_reporter = install_crash_reporter(window)
    window.log_folder = crash_reporter.log_file.parent  # Help → Open the log folder
    window.show()
    timer: QTimer | None = None
    if exit_after is not None:
        timer = QTimer(window)
        timer.setObjectName("exit-after")
        timer.setSingleShot(True)
        timer.timeout.connect(window.quit)
        timer.start(max(0, int(exit_after * 1000)))
    try:
        async with asyncio.TaskGroup() as tasks:
            try:
                await session.start(tasks, demo=demo, watch=watch)
                if on_ready is not None:
                    on_ready(session)
                await quit_event.wait()
            finally:
                await session.close()
    finally:
        crash_reporter.uninstall()
        if shiboken6.isValid(window) and timer is not None:
            timer.stop()
        # The window is freed with its Python wrapper; a deleteLater() here would
        # run in whatever loop comes next (tests run several apps in one process).
    return 0


def run_gui(*, database: str | None, demo: bool, exit_after: float | None,
            qsettings: QSettings | None = None, watch: bool = False) -> int:
    """Open the main window and run until it closes; the exit code (0: clean quit)."""
    app = prepare_application()
    tune_garbage_collector()
    from ayla_monitor.ui.collector import install as collect_on_gui_thread

    collect_on_gui_thread(app)  # never free Qt objects on a worker thread (ui/collector.py: issue 10)
    settings = AppSettings.load(qsettings)
    code: int = qasync.run(run_app(database=database, demo=demo, exit_after=exit_after, settings=settings,
                                   watch=watch))
    return code
