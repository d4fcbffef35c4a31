"""`ayla-monitor gaps` and `record --fill-gaps`, as a user runs them, against
`ayla-monitor simulate --gap-every` (real processes, a real SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import DEADLINE, KEY, cli, start


def test_gaps_are_listed_and_filled_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    proc = start(
        "simulate", "--port", "0", "--rate", "0", "--prefill", "50", "--keys", KEY, "--gap-every", "10"
    )
    assert proc.stderr is not None
    url = proc.stderr.readline().strip().split(" on ", 1)[1]
    try:
        # 50 events, every 10th skipped live: 45 arrive, 10, 20, 30 and 40 are gaps
        # (50 is the last: nothing after it tells it is missing)
        recorded = cli(
            "record", "--url", url, "--stream-key", KEY, "--db", str(db), "--seq-start", "1", "--count", "45"
        )
        assert recorded.returncode == 0, recorded.stderr
        assert "4 open gaps (4 seqs missing)" in recorded.stderr
        listed = cli("gaps", "--db", str(db))
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.count(", open, seen ") == 4
        assert "4 gaps, 4 open (4 seqs missing)" in listed.stdout
        filled = cli("record", "--url", url, "--stream-key", KEY, "--db", str(db), "--fill-gaps")
        assert filled.returncode == 0, filled.stderr
        assert "filled 4 gaps (4 events)" in filled.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=DEADLINE)
    gaps = json.loads(cli("gaps", "--db", str(db), "--format", "json").stdout)
    assert [(g["first_seq"], g["state"]) for g in gaps] == [
        (10, "filled"),
        (20, "filled"),
        (30, "filled"),
        (40, "filled"),
    ]
    assert KEY not in json.dumps(gaps)
    assert cli("gaps", "--db", str(db), "--open").stdout.startswith("No gaps")
    exported = cli("export", "--db", str(db))
    assert sorted(json.loads(line)["seq"] for line in exported.stdout.splitlines()) == list(range(1, 50))
