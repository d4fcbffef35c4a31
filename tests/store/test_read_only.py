"""Read-only connections (export, report, gaps...): only export maps the file."""

from __future__ import annotations

from pathlib import Path

from ayla_monitor.store.connection import open_read_only
from ayla_monitor.store.database import Store, open_connected


def test_only_a_mapped_reader_maps_the_file(tmp_path: Path) -> None:
    """A memory map makes every page of the file read count in the process's
    resident memory (a report over a 960 MB file: 966 MB instead of 117);
    export asks for it (10 % less CPU), the others do not."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    Store(url, open_connected(url)).close()  # the file and its tables
    for mapped, expected in ((False, 0), (True, None)):
        database = open_read_only(url, mapped=mapped)
        try:
            size = database.execute_sql("PRAGMA mmap_size").fetchone()[0]
            assert database.execute_sql("PRAGMA query_only").fetchone()[0] == 1
        finally:
            database.close()
        if expected is None:
            assert size > 0
        else:
            assert size == expected
