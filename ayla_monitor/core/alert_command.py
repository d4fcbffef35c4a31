"""The ``exec`` notifier: a shell command run for each recorded raise and
clear, with the alert as one JSON object (and a newline) on its standard
input (:meth:`~ayla_monitor.alerts.evaluate.AlertChange.to_json`, plus the
stored alert's ``id``).

Bounded on every side, so that a slow or broken command never stops
recording: at most ``max_running`` commands at once, at most ``max_queued``
waiting beyond them (further alerts are dropped, and the drop is logged),
each one killed after ``timeout`` seconds. A command that fails (exit code,
timeout, cannot start) is logged with what it wrote on standard error.
Its standard output goes where the recorder's goes.

The command also gets ``AYLA_ALERT_KIND``, ``AYLA_ALERT_RULE``,
``AYLA_ALERT_SUBJECT`` and ``AYLA_ALERT_DETAIL`` in its environment, for
one-liners that do not read JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import dataclass

from ayla_monitor.alerts.evaluate import AlertChange
from ayla_monitor.dss.keys import redact
from ayla_monitor.store.alerts import AlertRecord

__all__ = ["AlertCommand", "command_input"]

log = logging.getLogger(__name__)

#: characters of a failing command's standard error kept for the log
STDERR_KEPT = 2000


def command_input(change: AlertChange, record: AlertRecord) -> bytes:
    """What the command reads: the change's JSON with the stored alert's
    ``id`` (its texts masked: a stream named after its URL keeps no key)."""
    data = {"id": record.id} | {k: redact(v) if isinstance(v, str) else v for k, v in change.as_dict().items()}
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "surrogatepass")


@dataclass(slots=True)
class _Job:
    change: AlertChange
    stdin: bytes


class AlertCommand:
    """Runs ``command`` per alert change; call it as a notifier, and run
    :meth:`run` in a task for as long as it should work."""

    def __init__(self, command: str, *, max_running: int = 4, max_queued: int = 200, timeout: float = 30.0) -> None:
        if max_running < 1 or max_queued < 0 or timeout <= 0:
            raise ValueError("max_running must be 1 or more, max_queued 0 or more, timeout above 0")
        self.command = command
        self.max_running = max_running
        self.timeout = timeout
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(max_queued or 1)
        self._busy = 0
        #: commands run, failed (exit code, timeout, not started), dropped (queue full)
        self.ran = 0
        self.failed = 0
        self.dropped = 0

    def __call__(self, change: AlertChange, record: AlertRecord) -> None:
        try:
            self._queue.put_nowait(_Job(change, command_input(change, record)))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("--on-alert: %d commands are waiting already; not run for %s %s on %s",
                        self._queue.qsize(), change.rule, change.kind, redact(change.subject))

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return self._queue.empty() and self._busy == 0

    async def run(self) -> None:
        """Run queued commands until cancelled (then the running ones are killed)."""
        async with asyncio.TaskGroup() as workers:
            for _ in range(self.max_running):
                workers.create_task(self._work())

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queued and running commands
        (the recorder's end); whether they all finished."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self.idle:
                    await asyncio.sleep(0.05)
        return self.idle

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._busy += 1
            try:
                await self._run_one(job)
            finally:
                self._busy -= 1
                self._queue.task_done()

    async def _run_one(self, job: _Job) -> None:
        change = job.change
        what = f"{change.rule!r} {change.kind} on {redact(change.subject)}"
        env = os.environ | {
            "AYLA_ALERT_KIND": change.kind,
            "AYLA_ALERT_RULE": change.rule,
            "AYLA_ALERT_SUBJECT": redact(change.subject),
            "AYLA_ALERT_DETAIL": redact(change.detail),
        }
        self.ran += 1
        try:
            process = await asyncio.create_subprocess_shell(
                self.command, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self.failed += 1
            log.error("--on-alert: the command could not start for %s: %s", what, exc.strerror or exc)
            return
        try:
            async with asyncio.timeout(self.timeout):
                _out, err = await process.communicate(job.stdin)
        except TimeoutError:
            self.failed += 1
            _kill(process)
            await process.wait()
            log.error("--on-alert: the command took longer than %g s for %s and was stopped", self.timeout, what)
            return
        except asyncio.CancelledError:
            _kill(process)
            with contextlib.suppress(ProcessLookupError):
                await asyncio.shield(process.wait())
            raise
        if process.returncode != 0:
            self.failed += 1
            text = err.decode("utf-8", "replace").strip()[-STDERR_KEPT:]
            log.error("--on-alert: the command failed (exit code %s) for %s%s", process.returncode, what,
                      f": {redact(text)}" if text else "")


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the command and what it started (its own process group, where
    the system has them)."""
    killpg = getattr(os, "killpg", None)
    if killpg is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            killpg(process.pid, 9)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
