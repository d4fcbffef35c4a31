"""Watch mode: the window follows a database that a recorder (an engine on
the simulator, its own writer process) writes, with no stream key; its
streams panel lists the recorder; on MariaDB a connection cut by a proxy
shows a banner and the view resumes without losing a row."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import StreamState, WriterHealth
from ayla_monitor.core.watch import stream_statuses
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.recorders import RecorderRow, RecorderStream
from tests.ui.conftest import wait_until
from tests.ui.test_app import drive

KEY = "feedfacefeedfacefeedfacefeedface"


def seqs_in_log(window: Any, stream_id: int) -> list[int]:
    return [r.seq for r in window.log_view.model.rows() if r.stream_id == stream_id and r.seq is not None]


class CutProxy:
    """A TCP forwarder to the database that the test can cut and restore."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}


def test_a_stale_recorder_shows_its_streams_stopped() -> None:
    stream = RecorderStream(7, "s", "ws://h/stream", "feed…face", "live", last_seq=5)
    row = RecorderRow("a", "box", 42, "1", "live", 0.0, 100.0, 5.0, streams=(stream,))
    live = stream_statuses([row], {7: "first"}, now=110.0)[7]
    assert live.state is StreamState.LIVE and live.name == "first · box pid 42" and live.last_seq == 5
    stale = stream_statuses([row], {7: "first"}, now=116.0)[7]
    assert stale.state is StreamState.STOPPED and stale.detail == "stale: no status for 16 s"
    other = RecorderRow("b", "box2", 43, "1", "live", 0.0, 115.0, 5.0, streams=(stream,))
    both = stream_statuses([row, other], {7: "first"}, now=116.0)[7]
    assert both.state is StreamState.LIVE and both.name == "first · box2 pid 43"
    assert "recorded by recorder box pid 42 (stale), recorder box2 pid 43 (live)" in both.detail


def _watch_test(url: str, settings: Any, keystore: Any, run: Callable[..., Any], proxy_url: str | None,
                proxy: CutProxy | None) -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=100, devices=4)) as sim:
            async with Engine(url, status_interval=0.5) as recorder:
                updates = recorder.subscribe()
                stream_id = await recorder.add_stream(StreamDefinition.create(KEY, name="server", url=sim.url))
                async for update in updates:
                    if isinstance(update, WriterHealth) and update.stored >= 20:
                        break

                async def user(session: Any) -> None:
                    window = session.window
                    assert session.engine is None and session.watching.active
                    assert not window.add_stream_action.isEnabled() and window.history_action.isEnabled()
                    assert "(watching)" in window.database_label.text()
                    await wait_until(lambda: window.tiles.model.rowCount() == 4, what="a tile per device")
                    start = len(seqs_in_log(window, stream_id))
                    await wait_until(lambda: len(seqs_in_log(window, stream_id)) > start + 20, what="new rows")
                    panel = window.streams_panel.model
                    await wait_until(lambda: panel.rowCount() == 1, what="the recorder in the streams panel")
                    status = panel.status(stream_id)
                    assert status is not None and "pid" in status.name and status.state is StreamState.LIVE
                    assert KEY not in status.display_url and "feed…face" in status.display_url
                    if proxy is not None:
                        await proxy.cut()
                        await wait_until(lambda: window.banner.isVisible(), what="the banner")
                        assert "connection to the watched database was lost" in window.banner.label.text()
                        mark = recorder.statuses()[0].last_seq or 0
                        await wait_until(lambda: (recorder.statuses()[0].last_seq or 0) > mark + 20,
                                         what="rows stored while the window is cut off")  # not to be lost
                        await proxy.start()
                        await wait_until(lambda: not window.banner.isVisible(), what="the banner to go")
                    # every stored seq reaches the log once, in order
                    target = recorder.statuses()[0].last_seq or 0
                    await wait_until(lambda: max(seqs_in_log(window, stream_id), default=0) >= target,
                                     what="the log to catch up")
                    seqs = seqs_in_log(window, stream_id)
                    assert seqs == list(range(seqs[0], seqs[-1] + 1))
                    # the device view (from the watched store) opens
                    dsn = window.tiles.proxy.index(0, 0).data()
                    assert session.open_device(dsn) is not None

                code = await drive(user, database=proxy_url or url, demo=False, watch=True,
                                   settings=settings, keystore=keystore)
                assert code == 0

    run(main(), timeout=120)


def test_the_window_watches_a_recorder_on_sqlite(tmp_path: Path, settings: Any, keystore: Any,
                                                 run: Callable[..., Any]) -> None:
    _watch_test(f"sqlite:///{tmp_path / 'shared.sqlite'}", settings, keystore, run, None, None)


@pytest.mark.mysql
def test_the_window_watches_mariadb_through_a_cut(settings: Any, keystore: Any, run: Callable[..., Any]) -> None:
    from urllib.parse import urlsplit

    from tests.store.conftest import drop_project_tables, mysql_url

    url = mysql_url()
    drop_project_tables(url)
    parts = urlsplit(url)
    proxy = CutProxy(parts.hostname or "127.0.0.1", parts.port or 3306)
    run(proxy.start())
    proxied = parts._replace(netloc=parts.netloc.replace(f"{parts.hostname}:{parts.port}",
                                                         f"127.0.0.1:{proxy.port}")).geturl()
    os.environ.pop("AYLA_DB_PASSWORD", None)
    try:
        _watch_test(url, settings, keystore, run, proxied, proxy)
    finally:
        run(proxy.cut())
        drop_project_tables(url)


def test_file_watch_a_database_switches_the_window(tmp_path: Path, settings: Any, keystore: Any,
                                                   run: Callable[..., Any]) -> None:
    from tests.core.test_retention import write
    from tests.ui.conftest import sample

    shared = tmp_path / "shared.sqlite"
    write(f"sqlite:///{shared}", [sample("datapoint", seq=i, dsn=f"AC000W00000000{i % 2}") for i in range(1, 9)])

    async def user(session: Any) -> None:
        window = session.window
        assert session.engine is not None and not session.watching.active
        menu = window.menuBar().actions()[0].menu()
        assert session.watching.action in menu.actions() and session.watching.action.isEnabled()
        dialog = session.watching.ask()
        assert dialog.isVisible()
        dialog.setTextValue(str(shared))
        dialog.accept()
        await wait_until(lambda: session.watching.active and window.tiles.model.rowCount() == 2,
                         what="the watched database's devices")
        assert session.engine is None and "shared.sqlite (watching)" in window.database_label.text()
        assert len(window.log_view.model.rows()) == 8
        assert not window.streams_panel.add_action.isVisible()

    code = run(drive(user, database=str(tmp_path / "own.sqlite"), demo=False, settings=settings,
                     keystore=keystore), timeout=60)
    assert code == 0
