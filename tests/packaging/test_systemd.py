"""The systemd unit and its environment file example (packaging/systemd/):
the command the unit runs is one the recorder accepts, with the example's
values, and neither file holds a secret."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ayla_monitor.cli import build_parser

SYSTEMD = Path(__file__).resolve().parent.parent.parent / "packaging" / "systemd"


def _env() -> dict[str, str]:
    values = {}
    for line in (SYSTEMD / "recorder.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def _exec_start() -> list[str]:
    text = (SYSTEMD / "ayla-monitor-recorder@.service").read_text()
    match = re.search(r"^ExecStart=(.*?)(?<!\\)$", text.replace("\\\n", " "), re.MULTILINE)
    assert match is not None
    env = _env()
    words: list[str] = []
    for word in shlex.split(match.group(1)):
        if word.startswith("${") and word.endswith("}"):  # systemd: one argument
            words.append(env[word[2:-1]])
        elif word.startswith("$"):  # systemd: split on white space
            words.extend(env[word[1:]].split())
        else:
            words.append(word.replace("%i", "first"))
    return words


def test_the_unit_runs_a_command_the_recorder_accepts() -> None:
    words = _exec_start()
    assert words[0] == "/opt/ayla-monitor/bin/ayla-monitor" and words[1] == "record"
    args = build_parser().parse_args(words[1:])
    assert args.command == "record" and args.stream_key == [] and args.stream_key_file == ["/etc/ayla-monitor/first.key"]
    assert args.retention_days == 90 and args.log_file == "/var/log/ayla-monitor/first.log"
    assert args.db.startswith("mysql://recorder@") and args.db_password_file


def test_no_secret_in_the_examples() -> None:
    for path in SYSTEMD.iterdir():
        text = path.read_text()
        assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", text, re.IGNORECASE), path
        assert "--stream-key " not in text and ":" not in _env()["AYLA_DB"].split("@")[0].removeprefix("mysql:")
