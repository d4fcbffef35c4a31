"""``ayla-monitor doctor``: why a key does not connect, step by step.

Takes the same key options as ``record`` (plus ``--url``) and prints, for
each key, the report of :func:`ayla_monitor.core.doctor.diagnose`: plain
text to paste into a support ticket, keys masked. Exit code 0 only when
every step passed for every key.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ayla_monitor import __version__
from ayla_monitor.dss.diagnosis import Outcome, StepResult
from ayla_monitor.dss.endpoints import CLIENT_TYPES, DEPLOYMENTS, REGIONS
from ayla_monitor.dss.subscription import StreamDefinition

__all__ = ["add_parser", "doctor_command", "EXIT_FAILED"]

#: DSS sends a heartbeat about every 30 s: wait a little longer (as core.doctor does).
HEARTBEAT_WAIT = 35.0
#: the exit codes: 0 every step passed; 2 the command line; this one: a step failed
#: (``cli.ExitCode.CHECK_FAILED``; a test holds them equal)
EXIT_FAILED = 7
_USAGE = 2


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """The ``doctor`` command on the CLI's subparsers."""
    doc = commands.add_parser(
        "doctor",
        help="test a stream key's connection step by step (for a support ticket)",
        description="Check each step of connecting a stream key and time it: resolve the host, proxy, "
        "TCP, TLS (certificate), HTTP upgrade (is the key accepted?), the first heartbeat, the event "
        "types against the subscription's type, and the clock. A rejected key is tried on the other "
        "regions, deployments and client types. The report is plain text with keys masked.",
        epilog=f"exit codes: 0 every step passed, {_USAGE} bad command line, {EXIT_FAILED} a step failed",
    )
    keys = doc.add_argument_group("stream key (as for record)")
    keys.add_argument("--stream-key", action="append", default=[], metavar="KEY",
                      help="a 32-hex stream key (VISIBLE to other users of this machine)")
    keys.add_argument("--stream-key-file", action="append", default=[], metavar="FILE",
                      help="a file with one key per line")
    keys.add_argument("--subscription", action="append", default=[], metavar="FILE",
                      help="a subscription JSON (its type is compared with the events received)")
    where = doc.add_argument_group("where")
    where.add_argument("--url", metavar="WS_URL", help="a custom stream URL (e.g. ws://127.0.0.1:8765/stream)")
    where.add_argument("--region", choices=REGIONS, default="us")
    where.add_argument("--deployment", choices=DEPLOYMENTS, default="field")
    where.add_argument("--client-type", choices=CLIENT_TYPES)
    doc.add_argument("--ca-file", metavar="PEM", help="extra CA certificates to trust")
    doc.add_argument("--proxy", metavar="URL", help="proxy URL (default: the system's proxy settings)")
    doc.add_argument(
        "--wait",
        type=float,
        default=HEARTBEAT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the first heartbeat or event (default {HEARTBEAT_WAIT:g})",
    )
    doc.add_argument("--no-alternatives", action="store_true",
                     help="after a rejection, do not try the key on the other documented hosts")
    doc.set_defaults(seq_start=None, seq_end=None)
    return doc  # type: ignore[no-any-return]


def _live(out: TextIO) -> Callable[[StepResult], None]:
    def show(step: StepResult) -> None:
        if step.outcome is not Outcome.SKIPPED:
            took = f"{step.seconds * 1000:,.0f} ms" if step.seconds is not None else ""
            out.write(f"  {step.title}: {step.outcome.value} {took}\n")
            out.flush()

    return show


def doctor_command(
    args: argparse.Namespace,
    definitions: Callable[[], Sequence[StreamDefinition]],
    out: TextIO,
    err: TextIO,
) -> int:
    """Run the doctor for each key; the reports on ``out``, progress on ``err``."""
    from ayla_monitor.core.doctor import diagnose
    from ayla_monitor.dss.client import ClientOptions

    try:
        found = definitions()
    except Exception as exc:  # the cli's UsageError or a ConfigError: the user's command line
        err.write(f"ayla-monitor doctor: {exc}\n")
        return _USAGE
    if not args.wait > 0:
        err.write(f"ayla-monitor doctor: --wait must be more than 0, not {args.wait}\n")
        return _USAGE
    options = ClientOptions(ca_file=args.ca_file, proxy=args.proxy, open_timeout=10.0)
    passed = True
    for number, definition in enumerate(found):
        err.write(f"Testing {definition.name} ({definition.display_url})\n")
        diagnosis = asyncio.run(
            diagnose(
                definition,
                options,
                heartbeat_wait=args.wait,
                try_alternatives=not args.no_alternatives,
                report=_live(err),
            )
        )
        if number:
            out.write("\n")
        out.write(diagnosis.text(__version__) + "\n")
        out.flush()
        passed = passed and diagnosis.ok
    return 0 if passed else EXIT_FAILED
