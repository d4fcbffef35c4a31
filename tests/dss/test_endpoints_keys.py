"""Hosts, URLs, keys, subscriptions and the backoff policy: pure code, no I/O."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ayla_monitor.dss.backoff import Backoff
from ayla_monitor.dss.endpoints import HOSTS, ReplayWindow, base_url_for, display_url, host_for, stream_url
from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.keys import is_valid_key, key_fingerprint, mask_key, normalize_key, redact
from ayla_monitor.dss.subscription import StreamDefinition, parse_subscription

DATA = Path(__file__).parent.parent / "data"
KEY = "0123456789abcdef0123456789abcdef"


def test_documented_hosts() -> None:
    assert len(HOSTS) == 10
    assert host_for("cloud", "us", "field") == "stream-field.aylanetworks.com"
    assert host_for("mobile", "eu", "field") == "mstream-field-eu.aylanetworks.com"
    assert host_for("mobile", "cn", "dev") == "mstream-dev.ayla.com.cn"
    assert base_url_for("cloud", "cn", "field") == "wss://stream-field.ayla.com.cn/stream"


def test_unknown_host_says_what_exists() -> None:
    with pytest.raises(ConfigError, match="no cloud stream host for region 'eu', deployment 'dev'") as info:
        host_for("cloud", "eu", "dev")
    assert "eu/field" in str(info.value)
    with pytest.raises(ConfigError, match="client type 'web' is unknown"):
        host_for("web", "us", "field")


def test_stream_url_with_replay() -> None:
    url = stream_url("wss://h/stream", KEY, ReplayWindow(5, 9))
    query = parse_qs(urlsplit(url).query)
    assert query == {"stream_key": [KEY], "seq_start": ["5"], "seq_end": ["9"]}
    # a key or window already in the URL is replaced, not doubled
    again = stream_url(url, KEY, ReplayWindow(7))
    assert parse_qs(urlsplit(again).query) == {"stream_key": [KEY], "seq_start": ["7"]}
    assert stream_url("ws://127.0.0.1:8765", KEY).startswith("ws://127.0.0.1:8765/stream?")


@pytest.mark.parametrize("bad", ["http://h/stream", "h/stream", "wss:///stream"])
def test_stream_url_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        stream_url(bad, KEY)


def test_replay_window_validation() -> None:
    with pytest.raises(ConfigError, match="needs a first seq"):
        ReplayWindow(None, 5)
    with pytest.raises(ConfigError, match="comes before"):
        ReplayWindow(9, 5)
    with pytest.raises(ConfigError, match="0 or more"):
        ReplayWindow(-1)


def test_display_url_masks_the_key() -> None:
    shown = display_url(stream_url("wss://h/stream", KEY, ReplayWindow(1)))
    assert KEY not in shown
    assert "0123…cdef" in shown and "seq_start=1" in shown


def test_keys() -> None:
    assert is_valid_key(KEY)
    assert not is_valid_key(KEY.upper())
    assert not is_valid_key(KEY[:-1])
    assert normalize_key(f"  {KEY.upper()}\n") == KEY
    assert mask_key(KEY) == "0123…cdef"
    assert mask_key("") == ""
    assert mask_key("abc") == "…"
    assert len(key_fingerprint(KEY)) == 16 and KEY not in key_fingerprint(KEY)
    assert key_fingerprint(KEY) != key_fingerprint(KEY[::-1])
    assert redact(f"GET /stream?stream_key={KEY}&x=1") == "GET /stream?stream_key=0123…cdef&x=1"


def test_definition_hides_the_key() -> None:
    definition = StreamDefinition.create(KEY, region="eu", deployment="field")
    assert KEY not in repr(definition)
    assert KEY not in definition.display_url
    assert definition.base_url == "wss://stream-field-eu.aylanetworks.com/stream"
    assert KEY in definition.url()
    with pytest.raises(ConfigError, match="32 hexadecimal") as info:
        StreamDefinition.create("deadbeef" * 3)
    assert "deadbeef" * 3 not in str(info.value)


def test_parse_documented_subscription() -> None:
    fields = parse_subscription((DATA / "subscription.json").read_text())
    assert fields["key"] == "2f6273dcbb224c5bb303b2a7e1234567"
    assert fields["client_type"] == "mobile"
    assert fields["subscription_type"] == "connectivity"
    assert fields["name"] == "connectivity #141501"
    inner = json.loads((DATA / "subscription.json").read_text())["subscription"]
    assert parse_subscription(json.dumps(inner))["key"] == fields["key"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a subscription"),
        ('{"subscription": {}}', "no stream_key"),
        ('{"stream_key": "xyz"}', "not 32 hexadecimal"),
        (json.dumps({"stream_key": KEY, "client_type": "web"}), "not cloud or mobile"),
        (json.dumps({"stream_key": KEY, "subscription_type": "x"}), "unknown"),
    ],
)
def test_bad_subscription_paste(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_subscription(text)


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(initial=1, factor=2, cap=10, healthy_after=60, jitter=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    backoff.connected(100.0)
    backoff.disconnected(130.0)  # up for 30 s: not healthy yet
    assert backoff.next_delay() == 10
    backoff.connected(200.0)
    backoff.disconnected(300.0)  # up for 100 s: start over
    assert backoff.next_delay() == 1


def test_backoff_jitter_keeps_half() -> None:
    backoff = Backoff(initial=4, jitter=lambda: 0.0)
    assert backoff.next_delay() == 2.0
