"""Fixtures for the window's tests: sample events, a qasync loop, settings
and a keystore in tmp_path (never the user's real QSettings or keyring)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.keystore import Keystore
from ayla_monitor.ui.settings import AppSettings
from ayla_monitor.ui.throttle import Throttle

DATA = Path(__file__).parent.parent / "data"
HOSTILE = "<b>x</b><img src=http://example.invalid/p.png>"


def sample(name: str, received_at: float = 1_700_000_000.0, **changes: Any) -> Any:
    """The event in tests/data/NAME.json, parsed like a live frame; ``changes``
    patch the JSON first (``value=...`` the body value, ``dsn=...``, ``seq=...``,
    ``status=...``, ``property_name=...``)."""
    obj = json.loads((DATA / f"{name}.json").read_text())
    meta = obj["metadata"]
    for key, value in changes.items():
        if key in ("dsn", "property_name", "display_name", "base_type", "oem_model"):
            meta[key] = value
        elif key == "seq":
            obj["seq"] = str(value)
        elif key == "value":
            obj["datapoint"]["value"] = value
        elif key == "status":
            obj["connection"]["status"] = value
        elif key == "event_time":
            obj["connection"]["event_time"] = value
        else:
            raise KeyError(key)
    return parse_frame(encode_frame(obj), received_at)


@pytest.fixture
def samples() -> Callable[..., Any]:
    return sample


@pytest.fixture(autouse=True)
def private_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's config folder (where the window reads alerts.toml) in tmp_path,
    never the user's (platformdirs follows XDG_CONFIG_HOME)."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder / "ayla-monitor"


@pytest.fixture
def qsettings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def settings(qsettings: QSettings) -> AppSettings:
    return AppSettings.load(qsettings)


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    """The real keystore, on its private file in tmp_path (no system keyring)."""
    return Keystore(fallback_path=tmp_path / "keys.json", use_keyring=False)


@pytest.fixture
def no_throttle() -> Iterator[None]:
    """Every refresh runs at once (tests need not wait for the timer)."""
    Throttle.enabled = False
    try:
        yield
    finally:
        Throttle.enabled = True


@pytest.fixture(autouse=True, scope="session")
def collect_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """As the app does (ui/collector.py): garbage is collected on the GUI
    thread only. Without it, a test's worker thread could free an earlier
    test's qasync loop, whose timer object still had Qt timers registered:
    a SIGSEGV in QTimerInfoList::activateTimers some tests later (issue 10)."""
    from ayla_monitor.ui.collector import install

    collector = install(qapp)
    yield
    collector.stop()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the test's QApplication, closed afterwards."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def run(qloop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[Any]], Any]:
    """Run a coroutine to completion on the qasync loop (with a safety timeout)."""

    def runner(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
        return qloop.run_until_complete(asyncio.wait_for(coro, timeout))

    return runner


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` on the loop until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
