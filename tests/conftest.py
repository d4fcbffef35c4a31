"""Shared test setup: Qt runs offscreen; sample files live in tests/data."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@contextmanager
def sqlite_file(path: Path | str, *, uri: bool = False) -> Iterator[sqlite3.Connection]:
    """A plain ``sqlite3`` connection to a test's database file, as another
    tool would open it: committed (or rolled back) at the end, then closed.
    ``with sqlite3.connect(...)`` alone commits but never closes; Python 3.13
    reports such a connection as a ResourceWarning, an error in this suite."""
    connection = sqlite3.connect(path, uri=uri)
    try:
        with connection:
            yield connection
    finally:
        connection.close()
