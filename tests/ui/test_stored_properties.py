"""The window on a recorded database: tiles and log first (every device
without its properties), the properties next, in chunks, on real parts (the
writer's process, SQLite in tmp_path, the whole window offscreen)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ayla_monitor.dss.keys import key_fingerprint
from ayla_monitor.fleet.device import NUMERIC_TYPES
from ayla_monitor.store.database import Store
from ayla_monitor.ui import stored_properties
from ayla_monitor.ui.alerts.window import default_rules_path
from ayla_monitor.ui.app import Session
from ayla_monitor.ui.settings import AppSettings
from tests.store.test_latest import fleet_frames, write

from .conftest import wait_until
from .test_app import drive

KEY = "0123456789abcdef0123456789abcdef"


def test_tiles_show_first_and_their_properties_follow(tmp_path: Path, private_config_folder: Path,
                                                      settings: AppSettings, keystore: Any,
                                                      run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'recorded.sqlite'}"
    with Store.open(url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    write(url, stream_id, fleet_frames(600, devices=40))
    with Store.open(url) as store:
        expected = store.device_states()
    assert len(expected) == 40
    somebody_has = sorted({name for state in expected for name, prop in state.properties.items()
                           if prop.base_type in NUMERIC_TYPES})[0]
    # a rule on a property only the stored properties tell: no "cannot match" before they are in
    private_config_folder.mkdir(parents=True)
    default_rules_path().write_text(f'[[rule]]\nname = "hot"\nwhen = "value"\nproperty = "{somebody_has}"\n'
                                    'above = 1000000\n')
    monkeypatch.setattr(stored_properties, "CHUNK", 7)  # 6 reads
    seen: dict[str, Any] = {}

    def at_ready(session: Session) -> None:  # before the loop turns again
        window = session.window
        tiles = window.tiles.model.tiles()
        # ready: every device's tile, without its properties yet
        assert [tile.dsn for tile in tiles] == [state.dsn for state in expected]
        assert [tile.last_received_at for tile in tiles] == [state.last_received_at for state in expected]
        assert [tile.online for tile in tiles] == [state.online for state in expected]
        assert not any(tile.properties for tile in tiles)
        assert window.stored_properties.loading
        window.alerts.tick()
        assert "cannot match" not in window.alerts.panel.notice.text()
        seen["checked at ready"] = True

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: not window.stored_properties.loading, what="the stored properties")
        seen["tiles"] = list(window.tiles.model.tiles())
        window.alerts.tick()
        seen["notice"] = window.alerts.panel.notice.text()

    assert run(drive(user, database=url, demo=False, settings=settings, keystore=keystore, at_ready=at_ready)) == 0
    assert seen["checked at ready"]
    assert seen["tiles"] == expected  # what the one-pass read says, to the trends
    assert seen["notice"] == ""  # the rule was checked against the whole fleet, and can match


def test_a_property_rule_nobody_can_match_is_said_once_the_properties_are_in(
        tmp_path: Path, private_config_folder: Path, settings: AppSettings, keystore: Any,
        run: Callable[..., Any]) -> None:
    url = f"sqlite:///{tmp_path / 'recorded.sqlite'}"
    with Store.open(url) as store:
        stream_id = store.ensure_stream("fleet", "ws://127.0.0.1:9/stream", key_fingerprint(KEY), None).id
    write(url, stream_id, fleet_frames(200, devices=10))
    private_config_folder.mkdir(parents=True)
    default_rules_path().write_text('[[rule]]\nname = "ghost"\nwhen = "value"\nproperty = "no_such_property"\n'
                                    'above = 1\n')
    seen: dict[str, Any] = {}

    async def user(session: Session) -> None:
        window = session.window
        await wait_until(lambda: not window.stored_properties.loading, what="the stored properties")
        window.alerts.tick()
        seen["notice"] = window.alerts.panel.notice.text()

    assert run(drive(user, database=url, demo=False, settings=settings, keystore=keystore)) == 0
    assert "cannot match the fleet" in seen["notice"] and "no_such_property" in seen["notice"]
