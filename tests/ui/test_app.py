"""The whole window on real parts: simulator on 127.0.0.1:0, engine, SQLite in tmp_path."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel

from ayla_monitor import __version__
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.events import MalformedFrame
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.ui import main_window
from ayla_monitor.ui.about import AboutDialog
from ayla_monitor.ui.app import DemoOptions, Session, run_app
from ayla_monitor.ui.event_log import APPEND_CHUNK
from ayla_monitor.ui.main_window import MainWindow
from ayla_monitor.ui.settings import AppSettings
from tests.conftest import sqlite_file

from .conftest import sample, wait_until

KEY = "0123456789abcdef0123456789abcdef"


def count_events(path: Path) -> int:
    with sqlite_file(path) as db:
        return int(db.execute("select count(*) from events").fetchone()[0])


async def drive(driver: Callable[[Session], Coroutine[Any, Any, None]],
                at_ready: Callable[[Session], None] | None = None, **kwargs: Any) -> int:
    """Run the app's main coroutine with ``driver`` acting as the user; the
    driver closes the window when done (or the window is closed on failure).
    ``at_ready`` looks at the window when it is ready, before the loop turns again."""
    ready: asyncio.Future[Session] = asyncio.get_running_loop().create_future()

    def on_ready(session: Session) -> None:
        if at_ready is not None:
            at_ready(session)
        ready.set_result(session)

    app = asyncio.ensure_future(run_app(on_ready=on_ready, exit_after=None, **kwargs))
    done, _ = await asyncio.wait([app, ready], return_when=asyncio.FIRST_COMPLETED)
    if app in done:
        return app.result()
    session = ready.result()
    try:
        await driver(session)
    finally:
        session.window.close()
    return await app


def test_demo_end_to_end(tmp_path: Path, settings: AppSettings, keystore: Any, run: Callable[..., Any]) -> None:
    db = tmp_path / "demo.sqlite"
    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        assert window.demo and "Demo" in window.windowTitle()
        assert window._demo_badge_action.isVisible()
        await wait_until(lambda: window.tiles.model.rowCount() == 6, what="a tile per simulated device")
        await wait_until(lambda: window.log_view.model.rowCount() >= 50, what="log rows")
        assert window.stack.currentWidget() is window.splitter
        assert window.tiles.summary_label.text().startswith("6 devices")
        await wait_until(lambda: window.writer_label.text().startswith("Stored"), what="writer health")
        # click a tile: the log shows only that device
        dsn = window.tiles.proxy.index(0, 0).data()
        window.tiles.device_selected.emit(dsn)
        proxy = window.log_view.proxy
        assert 0 < proxy.rowCount() < window.log_view.model.rowCount()
        assert {proxy.index(r, 5).data() for r in range(proxy.rowCount())} == {dsn}
        window.clear_filter_action.trigger()
        assert proxy.rowCount() == window.log_view.model.rowCount()
        seen["rows"] = window.log_view.model.rowCount()
        seen["panel"] = window.streams_panel.model.rowCount()

    code = run(drive(user, database=str(db), demo=True, settings=settings, keystore=keystore,
                     demo_options=DemoOptions(devices=6, rate=400)))
    assert code == 0
    assert seen["panel"] == 1
    assert count_events(db) >= seen["rows"]
    assert settings.streams == []  # the demo is not remembered as a stream


def test_restart_restores_streams_tiles_and_layout(tmp_path: Path, qsettings: QSettings, keystore: Any,
                                                     run: Callable[..., Any]) -> None:
    db = tmp_path / "plant.sqlite"
    simulator = Simulator(SimulatorConfig(devices=5, rate=0, keys={KEY: None}, heartbeat=30))
    first = AppSettings.load(qsettings)
    facts: dict[str, Any] = {}

    async def day_one(session: Session) -> None:
        definition = StreamDefinition(name="Plant", base_url=simulator.url, key=KEY,
                                      replay=ReplayWindow(seq_start=1))
        await session.add_definition(definition)
        first.remember_stream(definition, keystore)
        await wait_until(lambda: session.window.log_view.model.rowCount() == 60, what="prefilled events")
        await wait_until(lambda: session.window.tiles.model.rowCount() == 5, what="tiles")
        session.window.resize(1010, 560)
        session.window.log_view.table.setColumnWidth(7, 333)
        session.window.splitter.setSizes([150, 300])
        facts["split"] = session.window.splitter.sizes()
        facts["tiles"] = {t.dsn: t.status_text() for t in session.window.tiles.model.tiles()}

    async def day_two(session: Session) -> None:
        window = session.window
        # before any new event: the tiles come from the database
        assert {t.dsn: t.status_text() for t in window.tiles.model.tiles()} == facts["tiles"]
        assert window.height() == 560  # (offscreen clamps the width to its screen)
        assert window.splitter.sizes() == facts["split"]
        assert window.log_view.table.columnWidth(7) == 333
        assert [s.name for s in session.engine.statuses()] == ["Plant"]
        assert session.engine.statuses()[0].last_seq == 60
        assert window.log_view.model.rowCount() == 60  # recent history
        simulator.prefill(7)
        await wait_until(lambda: window.log_view.model.rowCount() == 67, what="events after resuming")
        facts["seqs"] = [r.seq for r in window.log_view.model.rows()[-7:]]

    async def scenario() -> None:
        await simulator.start()
        simulator.prefill(60)
        try:
            assert await drive(day_one, database=str(db), demo=False, settings=first, keystore=keystore) == 0
            second = AppSettings.load(QSettings(qsettings.fileName(), QSettings.Format.IniFormat))
            assert [s.name for s in second.streams] == ["Plant"]
            assert await drive(day_two, database=str(db), demo=False, settings=second, keystore=keystore) == 0
        finally:
            await simulator.stop()

    run(scenario())
    assert facts["seqs"] == list(range(61, 68))  # resumed after the last stored seq, nothing twice
    assert count_events(db) == 67


def test_unusable_database_opens_the_window_and_offers_another(tmp_path: Path, settings: AppSettings,
                                                                keystore: Any, run: Callable[..., Any]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")

    async def user(session: Session) -> None:
        window = session.window
        assert session.engine is None
        assert window.banner.isVisible()
        assert "Choose another database" in window.banner.action_button.text()
        assert "(not open)" in window.database_label.text()
        assert not window.add_stream_action.isEnabled()
        settings.database_url = str(tmp_path / "good.sqlite")
        session._database_arg = settings.database_url
        await session.reopen_database()
        assert session.engine is not None
        assert not window.banner.isVisible()
        assert window.add_stream_action.isEnabled()
        assert "good.sqlite" in window.database_label.text()

    assert run(drive(user, database=str(blocker / "db.sqlite"), demo=False, settings=settings, keystore=keystore)) == 0


def test_hostile_fleet_is_shown_as_plain_text(tmp_path: Path, settings: AppSettings, keystore: Any,
                                              run: Callable[..., Any]) -> None:
    simulator = Simulator(SimulatorConfig(devices=8, rate=300, keys={KEY: None}, hostile=True))

    async def user(session: Session) -> None:
        window = session.window
        await session.add_definition(StreamDefinition(name="<i>Hostile</i>", base_url=simulator.url, key=KEY))
        await wait_until(lambda: window.log_view.model.rowCount() >= 200, what="hostile events")
        window.refresh.flush()
        for label in window.findChildren(QLabel):
            if label.text():
                assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName() or label.text()
        assert window.log_view.stream_box.findText("<i>Hostile</i>") > 0
        # every cell is one bounded line, whatever the fleet sent
        model = window.log_view.model
        for row in range(model.rowCount()):
            text = model.index(row, 7).data() or ""
            assert len(text) <= 400 and "\n" not in text

    async def scenario() -> int:
        await simulator.start()
        try:
            return await drive(user, database=str(tmp_path / "h.sqlite"), demo=False, settings=settings,
                               keystore=keystore)
        finally:
            await simulator.stop()

    assert run(scenario()) == 0


def test_menus_shortcuts_and_about(tmp_path: Path, settings: AppSettings, keystore: Any, qtbot: Any,
                                   run: Callable[..., Any]) -> None:
    async def user(session: Session) -> None:
        window = session.window
        assert window.stack.currentWidget() is window.empty  # first start: two ways in
        for action in (window.add_stream_action, window.focus_filter_action, window.pause_action,
                       window.clear_filter_action, window.quit_action):
            assert not action.shortcut().isEmpty(), action.objectName()
        window.pause_action.trigger()
        assert window.log_view.paused
        window.pause_action.trigger()
        assert not window.log_view.paused
        assert __version__ in window.windowTitle()
        # Help lists the shortcuts (menus' and the tiles') and opens the log folder
        help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
        assert [a.objectName() for a in help_menu.actions() if not a.isSeparator()] == [
            "shortcuts", "log-folder", "about"]
        dialog = window.show_shortcuts()
        table = dialog.table
        listed = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
        assert listed["History"] == "Ctrl+H" and listed["Keyboard shortcuts"] == "F1"
        assert listed["Device tiles: open the device view"] == "Enter"
        assert "Try the demo" in listed and "Pause log" in listed
        dialog.close()
        opened = window.open_log_folder()
        assert window.log_folder is not None and opened.toLocalFile() == str(window.log_folder)
        # About says where keys really are: here the 0600 file, with its path
        session.show_about()
        about_box = session._dialogs[-1]
        body = about_box.findChild(QLabel, "about-body").text()
        assert f"{keystore.fallback_path} (a file readable only by you, mode 0600)" in body
        assert "system keyring" not in body
        about_box.reject()

    assert run(drive(user, database=str(tmp_path / "m.sqlite"), demo=False, settings=settings, keystore=keystore)) == 0
    about = AboutDialog(database="/tmp/x.sqlite")
    qtbot.addWidget(about)
    assert any(__version__ in label.text() for label in about.findChildren(QLabel))


def test_command_line_demo_exits_cleanly_with_events_stored(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    result = subprocess.run([sys.executable, "-m", "ayla_monitor", "--demo", "--exit-after", "3", "--db", str(db)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert count_events(db) > 0
    assert (home / "config").exists()  # settings went to the fake home, not the user's


def test_window_shows_a_burst_completely_and_in_order(qtbot: Any, settings: AppSettings) -> None:
    settings.log_window = 3 * APPEND_CHUNK
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.set_stream_name(1, "burst")
    frames = [sample("datapoint", seq=i, dsn=f"D{i % 5}", value=i % 2) for i in range(1, 2 * APPEND_CHUNK + 700)]
    frames.insert(100, MalformedFrame("x|{", "bad", 1_700_000_000.0))
    for start in range(0, len(frames), 512):  # as the engine hands them over
        window.add_frames(1, frames[start:start + 512])
    qtbot.waitUntil(lambda: window.log_view.model.rowCount() == len(frames), timeout=10_000)
    rows = window.log_view.model.rows()
    assert [r.seq for r in rows if not r.malformed] == list(range(1, 2 * APPEND_CHUNK + 700))
    assert rows[100].malformed  # the bad frame kept its place
    assert window.tiles.model.rowCount() == 5
    assert window.tiles.summary_label.text().startswith("5 devices")
    assert window.stack.currentWidget() is window.splitter


def test_window_log_keeps_the_newest_rows_of_a_burst_larger_than_its_window(qtbot: Any, settings: AppSettings,
                                                                           monkeypatch: Any) -> None:
    monkeypatch.setattr(main_window, "REFRESH_MS", 60_000)  # the burst arrives within one refresh
    settings.log_window = 1_000
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.refresh()  # the first refresh (at once, or waiting): the next calls wait for it
    batches = [[sample("datapoint", seq=i, dsn=f"D{i % 3}") for i in range(start, start + 500)]
               for start in range(1, 5_000, 500)]
    for frames in batches:
        window.add_frames(1, frames)
    assert window.refresh.pending()
    window.refresh.flush()
    assert [r.seq for r in window.log_view.model.rows()] == list(range(4_001, 5_001))
    assert window.tiles.model.rowCount() == 3


def test_demo_records_into_its_own_file_never_the_users(tmp_path: Path, settings: AppSettings, keystore: Any,
                                                        run: Callable[..., Any]) -> None:
    """Issue 10: Ctrl+D while on the team's database wrote simulated events into it."""
    mine, demo_file = tmp_path / "mine.sqlite", tmp_path / "demo.sqlite"

    async def user(session: Session) -> None:
        window = session.window
        assert session.database_url is not None and "mine.sqlite" in session.database_url
        window.demo_action.trigger()  # Ctrl+D
        await wait_until(lambda: window.log_view.model.rowCount() >= 20, timeout=30, what="demo events")
        assert window.demo and session.demo_mode
        assert str(demo_file) in window.banner.label.text() and "never into your database" in window.banner.label.text()
        assert str(demo_file) in window.database_label.text()
        await wait_until(lambda: demo_file.exists() and count_events(demo_file) >= 20, timeout=30,
                         what="demo events stored in the demo's file")
        # back to my database: the demo stops, my file never saw a simulated event
        window.banner.action_button.click()
        await wait_until(lambda: not session.demo_mode and session.engine is not None and session.simulator is None
                         and str(mine) in window.database_label.text(), timeout=30, what="back on my database")
        assert not window.demo and window.demo_action.isEnabled()

    assert run(drive(user, database=str(mine), demo=False, settings=settings, keystore=keystore,
                     demo_database=str(demo_file), demo_options=DemoOptions(devices=4, rate=200)), timeout=90) == 0
    assert count_events(mine) == 0
    assert count_events(demo_file) >= 20


def test_database_size_is_current_and_the_same_everywhere(tmp_path: Path, settings: AppSettings, keystore: Any,
                                                          run: Callable[..., Any]) -> None:
    """Issue 10: the status bar said 176.5 KB after 5k events, Settings another figure."""
    from ayla_monitor.ui.formatting import format_bytes

    db = tmp_path / "size.sqlite"

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: session.database_size is not None, timeout=30, what="a first size")
        first = session.database_size
        assert first is not None
        await wait_until(lambda: count_events(db) >= 500, timeout=60, what="events written")
        # measured again while writing (every few seconds), without anyone asking
        await wait_until(lambda: (session.database_size or 0) > first, timeout=30, what="a newer size")
        assert format_bytes(session.database_size) in window.database_label.text()
        dialog = session.open_settings()
        await wait_until(lambda: dialog.size_label.isVisibleTo(dialog), timeout=30, what="the size in the settings")
        shown = dialog.size_label.text()
        assert shown == f"The database in use holds {format_bytes(session.database_size)}."
        assert format_bytes(session.database_size) in window.database_label.text()  # one figure
        dialog.reject()

    assert run(drive(user, database=str(db), demo=True, settings=settings, keystore=keystore,
                     demo_options=DemoOptions(devices=6, rate=400)), timeout=120) == 0


def test_disconnect_while_reconnecting_stops_and_is_remembered(tmp_path: Path, qsettings: QSettings, keystore: Any,
                                                               run: Callable[..., Any]) -> None:
    """Issue 10: Disconnect pressed while a stream waited to reconnect left it at
    "reconnecting in 0 s" with Connect greyed out, for good; a hand-disconnected
    stream came back connected after a restart."""
    from ayla_monitor.core.status import StreamState
    from ayla_monitor.ui.streams_panel import Column

    db = tmp_path / "d.sqlite"
    first = AppSettings.load(qsettings)
    closed_port = "ws://127.0.0.1:1/stream"  # nothing listens there: the stream keeps retrying

    async def day_one(session: Session) -> None:
        panel = session.window.streams_panel
        definition = StreamDefinition(name="Nowhere", base_url=closed_port, key=KEY)
        stream_id = await session.add_definition(definition)
        first.remember_stream(definition, keystore)
        await wait_until(lambda: (s := panel.model.status(stream_id)) is not None
                         and s.state is StreamState.RECONNECTING, timeout=30, what="waiting to reconnect")
        panel.select_stream(stream_id)
        assert panel.disconnect_action.isEnabled() and panel.retry_action.isEnabled()
        tried = session.engine.statuses()[0].reconnects
        panel.retry_action.trigger()  # "Retry now" reaches the engine: another attempt (and it fails again)
        await wait_until(lambda: session.engine.statuses()[0].reconnects > tried
                         and panel.model.status(stream_id).state is StreamState.RECONNECTING,
                         timeout=30, what="another attempt")
        panel.disconnect_action.trigger()
        await wait_until(lambda: panel.model.status(stream_id).state is StreamState.STOPPED, timeout=30,
                         what="stopped by the Disconnect")
        status = panel.model.status(stream_id)
        assert status.by_user
        row = panel.model.row_of(stream_id)
        assert panel.model.index(row, Column.STATE).data() == "disconnected by you"
        assert panel.connect_action.isEnabled() and not panel.disconnect_action.isEnabled()
        assert panel.summary.counts["disconnected"] == 1 and panel.summary.counts["failed"] == 0
        # it stays stopped (no late retry brings it back)
        await asyncio.sleep(0)  # let any pending callback run
        assert session.engine.statuses()[0].state is StreamState.STOPPED

    async def day_two(session: Session) -> None:
        panel = session.window.streams_panel
        await wait_until(lambda: panel.model.rowCount() == 1 and panel.model.statuses()[0].by_user, timeout=30,
                         what="the saved stream, disconnected by the user")
        status = panel.model.statuses()[0]
        assert status.state is StreamState.STOPPED  # came back disconnected, not connecting
        panel.select_stream(status.stream_id)
        assert panel.connect_action.isEnabled()
        panel.connect_action.trigger()  # and Connect brings it back (and is remembered)
        await wait_until(lambda: panel.model.statuses()[0].state is not StreamState.STOPPED, timeout=30,
                         what="connecting again")
        await wait_until(lambda: not session.settings.streams[0].disconnected, timeout=30, what="remembered")

    async def scenario() -> None:
        assert await drive(day_one, database=str(db), demo=False, settings=first, keystore=keystore) == 0
        second = AppSettings.load(QSettings(qsettings.fileName(), QSettings.Format.IniFormat))
        assert [s.disconnected for s in second.streams] == [True]
        assert await drive(day_two, database=str(db), demo=False, settings=second, keystore=keystore) == 0

    run(scenario(), timeout=120)


def test_dark_theme_at_run_time_reaches_the_widgets_of_issue_10(tmp_path: Path, settings: AppSettings, keystore: Any,
                                                               run: Callable[..., Any]) -> None:
    """Dock title, device summary, counts and status bar stayed dark-on-dark until a restart."""
    from PySide6.QtGui import QPalette

    from ayla_monitor.ui.settings import apply_color_scheme

    def text_lightness(widget: Any) -> int:
        return int(widget.palette().color(QPalette.ColorRole.WindowText).lightness())

    async def user(session: Session) -> None:
        window = session.window
        widgets = [window.streams_dock, window.tiles.summary_label, window.writer_label, window.database_label,
                   window.streams_panel.summary.title]
        try:
            apply_color_scheme("light")
            assert all(text_lightness(w) < 100 for w in widgets)
            apply_color_scheme("dark")
            assert [text_lightness(w) > 180 for w in widgets] == [True] * len(widgets)
            base = window.streams_panel.view.palette().color(QPalette.ColorRole.Base).lightness()
            assert base < 100
        finally:
            apply_color_scheme("system")

    assert run(drive(user, database=str(tmp_path / "t.sqlite"), demo=False, settings=settings, keystore=keystore)) == 0


def test_a_failed_database_switch_keeps_what_you_are_watching(tmp_path: Path, settings: AppSettings, keystore: Any,
                                                            run: Callable[..., Any]) -> None:
    """Issue 10: Settings → a MySQL URL whose test failed, then OK: every stream stopped,
    tiles and log emptied. Now OK tests first, and the current database stays."""
    from ayla_monitor.core.status import StreamState

    simulator = Simulator(SimulatorConfig(devices=3, rate=100, keys={KEY: None}))
    db = tmp_path / "keep.sqlite"

    async def user(session: Session) -> None:
        window = session.window
        stream_id = await session.add_definition(StreamDefinition(name="Watched", base_url=simulator.url, key=KEY))
        await wait_until(lambda: window.log_view.model.rowCount() >= 20, timeout=30, what="events")
        engine = session.engine
        dialog = session.open_settings()
        dialog.mysql_radio.setChecked(True)
        dialog.mysql_edit.setText("mysql://root@127.0.0.1:1/x")  # a closed loopback port
        dialog.accept()
        await wait_until(lambda: dialog.switch_button.isVisibleTo(dialog), timeout=30, what="the failed test")
        dialog.keep_button.click()
        rows = window.log_view.model.rowCount()
        await wait_until(lambda: window.log_view.model.rowCount() > rows, timeout=30, what="events still arriving")
        assert session.engine is engine and str(db) in (session.database_url or "")
        assert window.streams_panel.model.status(stream_id).state is StreamState.LIVE
        assert window.tiles.model.rowCount() == 3
        assert settings.database_url != "mysql://root@127.0.0.1:1/x"

    async def scenario() -> int:
        await simulator.start()
        try:
            return await drive(user, database=str(db), demo=False, settings=settings, keystore=keystore)
        finally:
            await simulator.stop()

    assert run(scenario(), timeout=90) == 0


def test_fill_gaps_asks_the_engine_and_says_what_came_of_it(tmp_path: Path, settings: AppSettings, keystore: Any,
                                                           run: Callable[..., Any]) -> None:
    """A stream whose server leaves seqs out: the panel counts open gaps and
    "Fill gaps" answers in one sentence in the status bar."""
    simulator = Simulator(SimulatorConfig(devices=3, rate=200, keys={KEY: None}, gap_every=4))

    async def user(session: Session) -> None:
        window = session.window
        panel = window.streams_panel
        stream_id = await session.add_definition(StreamDefinition(name="Holes", base_url=simulator.url, key=KEY))
        await wait_until(lambda: window.log_view.model.rowCount() >= 40, timeout=30, what="events with gaps")
        seen_gaps: list[int] = []
        panel.model.dataChanged.connect(lambda *_: seen_gaps.append(panel.model.status(stream_id).open_gaps))
        await wait_until(lambda: any(seen_gaps) or panel.model.status(stream_id).notice != "", timeout=30,
                         what="the gaps noticed")
        panel.select_stream(stream_id)
        session.fill_gaps(stream_id)
        bar = window.statusBar()
        await wait_until(lambda: bar.currentMessage() != "" and not bar.currentMessage().startswith("Asking"),
                         timeout=30, what="the outcome of filling the gaps")
        outcome = bar.currentMessage()
        assert outcome[:1].isupper() and "\n" not in outcome

    async def scenario() -> int:
        await simulator.start()
        try:
            return await drive(user, database=str(tmp_path / "g.sqlite"), demo=False, settings=settings,
                               keystore=keystore)
        finally:
            await simulator.stop()

    assert run(scenario(), timeout=90) == 0
