"""Watch mode: the window follows a shared database that recorders elsewhere
write (File → Watch a database…, ``ayla-monitor --watch --db mysql://…``).

No stream key and no DSS connection: a
:class:`~ayla_monitor.core.watch.DatabaseWatch` reads the rows stored since
the last one seen and the recorders' status rows, and hands them to the
session's :class:`~ayla_monitor.ui.bridge.EngineBridge` as the engine's own
updates, so the tiles, the log, the device views' charts and the streams
panel take them as they take a live stream. The streams panel lists each
recorded stream with its recorder (host and process id); a recorder that
stopped updating its status row shows its streams stopped and "stale". A
lost database connection shows a banner; reading resumes after the last row
seen, so no row is lost to the view.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from ayla_monitor.core.watch import DatabaseWatch
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.location import describe_database, resolve_database_url
from ayla_monitor.ui.slots import async_slot
from ayla_monitor.ui.streams_panel import StreamsPanel

if TYPE_CHECKING:
    from ayla_monitor.store.database import Store
    from ayla_monitor.ui.app import Session

__all__ = ["WatchMode"]

log = logging.getLogger(__name__)

#: Seconds between two looks for streams the log does not name yet.
NAMES_EVERY = 2.0


class WatchMode:
    """The session's watch mode: :meth:`open` starts it, :meth:`close` ends it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.watch: DatabaseWatch | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._named: set[int] = set()
        self.dialog: QInputDialog | None = None
        window = session.window
        self.action = QAction("&Watch a database…", window)
        self.action.setObjectName("watch-database")
        tip = "Follow a shared database that recorders on other machines write (no stream key needed)"
        self.action.setStatusTip(tip)
        self.action.setToolTip(tip)
        self.action.triggered.connect(lambda: self.ask())
        file_menu = window.menuBar().actions()[0].menu()
        if isinstance(file_menu, QMenu):  # File: after "Try the demo"
            actions = file_menu.actions()
            after = actions.index(window.demo_action) + 1 if window.demo_action in actions else len(actions)
            if after < len(actions):
                file_menu.insertAction(actions[after], self.action)
            else:
                file_menu.addAction(self.action)

    @property
    def active(self) -> bool:
        return self.watch is not None

    @property
    def store(self) -> Store | None:
        return self.watch.store if self.watch is not None else None

    def ask(self) -> QInputDialog:
        """Ask which database to watch (opened, never exec'd: the loop keeps running)."""
        dialog = QInputDialog(self.session.window)
        dialog.setObjectName("watch-dialog")
        dialog.setWindowTitle("Watch a database")
        dialog.setLabelText(
            "The shared database that recorders write, e.g. mysql://viewer@db.example.com:3306/ayla\n"
            "(a password goes in Settings or AYLA_DB_PASSWORD), or a SQLite file:"
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        url = self.session.database_url or ""
        dialog.setTextValue(describe_database(url).replace(":***@", "@", 1) if url else "")
        dialog.resize(620, dialog.sizeHint().height())
        dialog.textValueSelected.connect(lambda text: self.switch(text.strip()))
        self.dialog = dialog
        dialog.open()
        return dialog

    @async_slot(str)
    async def switch(self, arg: str) -> None:
        """Leave what the window shows now and watch ``arg``."""
        if not arg:
            return
        session = self.session
        await session.close()
        session.window.tiles.model.clear()
        session.window.log_view.model.clear()
        session.demo_mode = False
        await self.open(arg)

    async def open(self, arg: str | None) -> bool:
        session = self.session
        window = session.window
        try:
            url = resolve_database_url(arg)
        except StoreError as exc:
            session._database_failed(str(exc), arg or "")
            return False
        watch = DatabaseWatch(url, on_connection=self._connection)
        try:
            await watch.__aenter__()
        except StoreError as exc:
            session._database_failed(str(exc), describe_database(url))
            return False
        self.watch = watch
        self._named.clear()
        session.database_url = url
        tasks = session._tasks
        assert tasks is not None, "start() first"
        self._tasks = [tasks.create_task(session.bridge.run(watch.subscribe()), name="watch-bridge")]
        window.set_engine_ready(False)  # nothing to record here: no Add stream, no demo
        self._show_stream_actions(False)  # the recorders' streams are theirs to connect or stop
        window.history_action.setEnabled(True)
        window.export_action.setEnabled(True)
        window.banner.hide()
        from ayla_monitor.ui.event_details import whole_event_reader  # the log's "Show all" reads this store

        window.log_view.details_pane.set_source(window.queries, whole_event_reader(watch.store))
        await session.load_history()
        # Rows stored while the history was read came with it: not shown twice.
        watch.seen([r.event_id for r in window.log_view.model.rows() if r.event_id is not None])
        self._tasks += [
            tasks.create_task(watch.run(), name="watch"),
            tasks.create_task(self._name_streams(watch), name="watch-names"),
        ]
        window.set_database(f"{describe_database(url)} (watching)", session.database_size)
        window.set_stream_count(max(1, len(watch.statuses)))
        window.statusBar().showMessage(
            f"Watching {describe_database(url)}: what recorders store there appears here within 2 s", 10000
        )
        return True

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        watch, self.watch = self.watch, None
        if watch is not None:
            await watch.__aexit__(None, None, None)
            self._show_stream_actions(True)

    def _show_stream_actions(self, shown: bool) -> None:
        panel = self.session.window.streams_panel
        if isinstance(panel, StreamsPanel) and shiboken6.isValid(panel):
            for action in [panel.add_action, *panel.stream_actions()]:
                action.setVisible(shown)

    def _connection(self, ok: bool, message: str) -> None:
        window = self.session.window
        if not shiboken6.isValid(window):
            return
        if ok:
            window.banner.hide()
            window.statusBar().showMessage("The database connection is back; the view caught up.", 8000)
        else:
            window.show_error(
                f"The connection to the watched database was lost: {message} "
                "Trying again; nothing stored meanwhile will be missed."
            )

    async def _name_streams(self, watch: DatabaseWatch) -> None:
        """The log names streams first seen after the start; the page shows
        the tiles once a recorder has streams."""
        window = self.session.window
        while True:
            for stream_id, name in watch.stream_names().items():
                if stream_id not in self._named:
                    self._named.add(stream_id)
                    window.set_stream_name(stream_id, name)
            window.set_stream_count(max(1, len(watch.statuses)))
            await asyncio.sleep(NAMES_EVERY)
