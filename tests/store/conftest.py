"""The storage suite runs on SQLite (a file in tmp_path) and on MySQL/MariaDB
(``AYLA_TEST_MYSQL_URL``), like peewee's own tests pick their backend."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.frames import encode_frame, parse_frame
from ayla_monitor.store.connection import make_database

DATA = Path(__file__).resolve().parent.parent / "data"
PROJECT_TABLES = ("gaps", "events", "malformed_frames", "device_latest", "schema_version", "streams", "recorders",
                  "alerts")
SAMPLE_TYPES = ("connectivity", "datapoint", "datapointack", "location", "registration")


def mysql_url() -> str:
    url = os.environ.get("AYLA_TEST_MYSQL_URL")
    if not url:
        pytest.skip("AYLA_TEST_MYSQL_URL is not set: MySQL/MariaDB tests need a server")
    return url


def drop_project_tables(url: str) -> None:
    database = make_database(url)
    database.connect()
    try:
        for table in PROJECT_TABLES:
            database.execute_sql(f"DROP TABLE IF EXISTS {table}")
    finally:
        database.close()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.sqlite'}"
        return
    url = mysql_url()
    drop_project_tables(url)
    yield url
    drop_project_tables(url)


def sample(kind: str) -> dict[str, Any]:
    """A fresh copy of one sample event object (tests/data/KIND.json)."""
    return copy.deepcopy(json.loads((DATA / f"{kind}.json").read_text()))


def event_from(obj: dict[str, Any] | str, received_at: float = 1_700_000_000.0) -> Event:
    frame = parse_frame(encode_frame(obj), received_at)
    assert not isinstance(frame, MalformedFrame), frame
    return frame  # type: ignore[return-value]


@pytest.fixture
def make_event() -> Callable[..., Event]:
    """``make_event(kind, seq=..., dsn=..., value=..., time=..., prop=...)``:
    a sample event with those fields changed, through encode/parse."""

    def make(
        kind: str,
        *,
        seq: int | str | None = None,
        dsn: str | None = None,
        value: Any = ...,
        time: str | None = None,
        prop: str | None = None,
        status: str | None = None,
        received_at: float = 1_700_000_000.0,
    ) -> Event:
        obj = sample(kind)
        if seq is not None:
            obj["seq"] = str(seq)
        if dsn is not None:
            obj["metadata"]["dsn"] = dsn
        body_key = {
            "connectivity": "connection",
            "datapoint": "datapoint",
            "datapointack": "datapoint",
            "location": "location_event",
            "registration": "registration_event",
        }[kind]
        body = obj[body_key]
        if value is not ...:
            body["value"] = value
        if prop is not None:
            obj["metadata"]["property_name"] = prop
            obj["metadata"]["display_name"] = prop
        if status is not None:
            body["status"] = status
        if time is not None:
            for key in ("event_time", "created_at", "registered_at", "unregistered_at"):
                if key in body:
                    body[key] = time
        return event_from(obj, received_at)

    return make
