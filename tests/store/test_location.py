"""--db values: paths, URLs, the default file, and what the user is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayla_monitor.store.errors import BadDatabaseUrl
from ayla_monitor.store.location import default_database_path, describe_database, resolve_database_url


def test_the_default_is_a_file_in_the_user_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database_path() == tmp_path / "ayla-monitor" / "events.sqlite"
    assert resolve_database_url(None) == f"sqlite:///{tmp_path}/ayla-monitor/events.sqlite"


def test_paths_become_absolute_sqlite_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_database_url("rec.sqlite") == f"sqlite:///{tmp_path}/rec.sqlite"
    assert resolve_database_url(" /data/x.db ") == "sqlite:////data/x.db"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/a.sqlite",
        "mysql://root@127.0.0.1:3306/test",
        "mysql://u:p%40ss@db.example:3307/ayla",
    ],
)
def test_supported_urls_pass_through(url: str) -> None:
    assert resolve_database_url(url) == url


@pytest.mark.parametrize(
    ("arg", "why"),
    [
        ("", "is empty"),
        ("postgres://u:pw@h/db", "uses 'postgres', which is not supported"),
        ("mysql://u:pw@h:3306", "names no database"),
        ("mysql://u:pw@h:port/db", "has a port that is not a number"),
        ("sqlite:///:memory:", "is not a file"),
    ],
)
def test_unusable_values_say_what_is_accepted(arg: str, why: str) -> None:
    with pytest.raises(BadDatabaseUrl) as caught:
        resolve_database_url(arg)
    message = str(caught.value)
    assert why in message and "mysql://USER:PASSWORD@HOST:PORT/DATABASE" in message
    assert "pw" not in message.replace("PASSWORD", "")


def test_descriptions_mask_the_password() -> None:
    assert (
        describe_database("mysql://root:s3cret@127.0.0.1:3307/test") == "mysql://root:***@127.0.0.1:3307/test"
    )
    assert describe_database("mysql://root@db/test") == "mysql://root@db/test"
    assert describe_database("sqlite:////tmp/a.sqlite") == "/tmp/a.sqlite"
