"""The connection doctor: run each step of a connection and time it.

Shared by ``ayla-monitor doctor`` and the stream dialog's "Test connection"
(the model and the report are :mod:`ayla_monitor.dss.diagnosis`). Nothing
is stored; the key travels only in the URL handed to ``websockets``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from websockets.exceptions import InvalidStatus

from ayla_monitor.dss.client import ClientOptions, _connect, _proxy_in_effect, _shown_url, describe_failure
from ayla_monitor.dss.diagnosis import (
    Diagnosis,
    Outcome,
    Step,
    StepResult,
    alternatives_for,
    certificate_lines,
    clock_verdict,
    event_types_verdict,
    http_verdict,
)
from ayla_monitor.dss.events import DssEvent, Heartbeat, MalformedFrame
from ayla_monitor.dss.frames import HEARTBEAT_REPLY, parse_frame
from ayla_monitor.dss.subscription import StreamDefinition

__all__ = ["diagnose", "HEARTBEAT_WAIT"]

#: DSS sends a heartbeat about every 30 s: wait a little longer for the first.
HEARTBEAT_WAIT = 35.0
#: Each network step's limit.
STEP_TIMEOUT = 10.0
#: Each other host tried after a rejection.
ALTERNATIVE_TIMEOUT = 8.0

_NOT_TLS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING", "RECORD_LAYER_FAILURE")


class _Run:
    """One diagnosis in progress: records each step and tells the listener."""

    def __init__(self, diagnosis: Diagnosis, report: Callable[[StepResult], object] | None) -> None:
        self.diagnosis = diagnosis
        self.report = report

    def add(self, result: StepResult) -> StepResult:
        self.diagnosis.steps.append(result)
        if self.report is not None:
            self.report(result)
        return result

    def skip_rest(self, after: Step) -> None:
        order = list(Step)
        for step in order[order.index(after) + 1 :]:
            self.add(StepResult(step, Outcome.SKIPPED, None, "not run: an earlier step failed"))


async def diagnose(
    definition: StreamDefinition,
    options: ClientOptions | None = None,
    *,
    heartbeat_wait: float = HEARTBEAT_WAIT,
    try_alternatives: bool = True,
    report: Callable[[StepResult], object] | None = None,
    clock: Callable[[], float] = time.time,
) -> Diagnosis:
    """Run every step against ``definition``; ``report(step)`` as each ends."""
    options = options or ClientOptions(open_timeout=STEP_TIMEOUT)
    run = _Run(Diagnosis(definition.name, definition.display_url, clock()), report)
    url = definition.url()
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    loop = asyncio.get_running_loop()

    # 1. DNS
    started = time.monotonic()
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, TimeoutError, OSError) as exc:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        run.add(
            StepResult(
                Step.DNS,
                Outcome.FAILED,
                time.monotonic() - started,
                f"cannot resolve {host} ({reason}): check the host name, the region and deployment, "
                "or this machine's DNS",
            )
        )
        run.skip_rest(Step.DNS)
        return run.diagnosis
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    run.add(StepResult(Step.DNS, Outcome.PASSED, time.monotonic() - started, f"{host} -> {', '.join(addresses[:6])}"))

    # 2. proxy
    try:
        proxy = _proxy_in_effect(url, options)
    except Exception:  # an unparsable proxy setting: named by the upgrade step
        proxy = None
    if proxy:
        run.add(StepResult(Step.PROXY, Outcome.PASSED, 0.0, f"through {_shown_url(proxy)}"))
        target = urlsplit(proxy)
        tcp_host = target.hostname or ""
        tcp_port = target.port or (443 if target.scheme == "https" else 1080 if target.scheme.startswith("socks") else 8080)
    else:
        run.add(StepResult(Step.PROXY, Outcome.NOT_APPLICABLE, 0.0, "none: a direct connection"))
        tcp_host, tcp_port = addresses[0], port

    # 3. TCP
    started = time.monotonic()
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            _reader, writer = await asyncio.open_connection(tcp_host, tcp_port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        what = f"the proxy {tcp_host}:{tcp_port}" if proxy else f"{host}:{port} ({tcp_host})"
        if isinstance(exc, ConnectionRefusedError):
            why = "refused the connection: nothing listens on that port"
        elif isinstance(exc, TimeoutError):
            why = f"did not answer within {STEP_TIMEOUT:g} s (a firewall may drop the packets)"
        else:
            why = f"cannot be reached ({exc.strerror or exc})"
        run.add(StepResult(Step.TCP, Outcome.FAILED, time.monotonic() - started, f"{what} {why}"))
        run.skip_rest(Step.TCP)
        return run.diagnosis
    run.add(StepResult(Step.TCP, Outcome.PASSED, time.monotonic() - started, f"connected to {tcp_host}:{tcp_port}"))

    # 4. TLS
    if not secure:
        run.add(StepResult(Step.TLS, Outcome.NOT_APPLICABLE, 0.0, "not used: the URL starts with ws://"))
    elif proxy:
        run.add(
            StepResult(Step.TLS, Outcome.NOT_APPLICABLE, 0.0, "through the proxy: checked by the HTTP upgrade")
        )
    else:
        result = await _tls(host, addresses[0], port, options, clock)
        run.add(result)
        if result.outcome is Outcome.FAILED:
            run.skip_rest(Step.TLS)
            return run.diagnosis

    # 5. the upgrade, 6. the first heartbeat, 7-8. what it says
    await _stream_steps(run, definition, url, options, heartbeat_wait, clock)
    failed = run.diagnosis.failed
    if try_alternatives and failed is not None and failed.step is Step.UPGRADE and "rejected" in failed.summary:
        run.diagnosis.alternatives = await _alternatives(definition, options)
    return run.diagnosis


async def _tls(
    host: str, address: str, port: int, options: ClientOptions, clock: Callable[[], float]
) -> StepResult:
    context = ssl.create_default_context()
    if options.ca_file:
        context.load_verify_locations(cafile=options.ca_file)
    started = time.monotonic()
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            _reader, writer = await asyncio.open_connection(address, port, ssl=context, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        return StepResult(
            Step.TLS,
            Outcome.FAILED,
            time.monotonic() - started,
            f"the certificate of {host} is not trusted ({exc.verify_message}); a proxy that inspects "
            "TLS needs its CA given with --ca-file",
        )
    except (ssl.SSLError, ConnectionResetError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        if reason in _NOT_TLS or isinstance(exc, (ssl.SSLEOFError, ConnectionResetError)):
            summary = (
                f"{host}:{port} does not speak TLS ({reason}): for a server without TLS the URL "
                "starts with ws://, not wss://"
            )
        else:
            summary = f"the TLS handshake with {host}:{port} failed ({reason})"
        return StepResult(Step.TLS, Outcome.FAILED, time.monotonic() - started, summary)
    except TimeoutError:
        return StepResult(
            Step.TLS,
            Outcome.FAILED,
            time.monotonic() - started,
            f"{host}:{port} accepted TCP but did not complete a TLS handshake within {STEP_TIMEOUT:g} s "
            "(it may not speak TLS: try ws://)",
        )
    except OSError as exc:
        return StepResult(
            Step.TLS, Outcome.FAILED, time.monotonic() - started, f"TLS to {host}:{port} failed ({exc.strerror or exc})"
        )
    seconds = time.monotonic() - started
    tls = writer.get_extra_info("ssl_object")
    version = tls.version() if tls is not None else "?"
    cert = tls.getpeercert() if tls is not None else None
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    summary, details = certificate_lines(cert or {}, clock())
    outcome = Outcome.FAILED if "EXPIRED" in summary else Outcome.PASSED
    return StepResult(Step.TLS, outcome, seconds, f"{version}, {summary}", tuple(details))


async def _stream_steps(
    run: _Run,
    definition: StreamDefinition,
    url: str,
    options: ClientOptions,
    heartbeat_wait: float,
    clock: Callable[[], float],
) -> None:
    host = urlsplit(url).hostname or ""
    started = time.monotonic()
    try:
        async with asyncio.timeout(options.open_timeout + 1):
            connection = _connect(definition, url, options)
            ws = await connection.__aenter__()
    except InvalidStatus as exc:
        status = exc.response.status_code
        run.add(StepResult(Step.UPGRADE, Outcome.FAILED, time.monotonic() - started, http_verdict(status, host)))
        run.skip_rest(Step.UPGRADE)
        return
    except TimeoutError:
        run.add(
            StepResult(
                Step.UPGRADE,
                Outcome.FAILED,
                time.monotonic() - started,
                f"{host} did not answer the WebSocket upgrade within {options.open_timeout:g} s",
            )
        )
        run.skip_rest(Step.UPGRADE)
        return
    except Exception as exc:  # whatever connecting raised: one sentence, whose fault
        failure = str(describe_failure(exc, definition))
        run.add(StepResult(Step.UPGRADE, Outcome.FAILED, time.monotonic() - started, failure))
        run.skip_rest(Step.UPGRADE)
        return
    try:
        run.add(
            StepResult(
                Step.UPGRADE, Outcome.PASSED, time.monotonic() - started, "HTTP 101: the key was accepted"
            )
        )
        started = time.monotonic()
        event: DssEvent | None = None
        bad = 0
        summary = ""
        try:
            async with asyncio.timeout(heartbeat_wait):
                while True:
                    message = await ws.recv()
                    if isinstance(message, bytes):
                        message = message.decode("utf-8", "replace")
                    frame = parse_frame(message, clock())
                    if isinstance(frame, Heartbeat):
                        await ws.send(HEARTBEAT_REPLY)
                        summary = f"heartbeat after {time.monotonic() - started:.1f} s (answered)"
                        break
                    if isinstance(frame, MalformedFrame):
                        bad += 1
                        continue
                    event = frame
                    summary = (
                        f"no heartbeat yet; the first event ({frame.event_type or 'unknown type'}, "
                        f"seq {frame.seq}) came after {time.monotonic() - started:.1f} s"
                    )
                    break
        except TimeoutError:
            run.add(
                StepResult(
                    Step.HEARTBEAT,
                    Outcome.FAILED,
                    time.monotonic() - started,
                    f"nothing arrived within {heartbeat_wait:g} s (DSS sends a heartbeat about every 30 s): "
                    "the connection is open but the stream is silent",
                )
            )
            run.skip_rest(Step.HEARTBEAT)
            return
        except Exception as exc:  # the connection dropped while waiting
            failure = str(describe_failure(exc, definition))
            run.add(StepResult(Step.HEARTBEAT, Outcome.FAILED, time.monotonic() - started, failure))
            run.skip_rest(Step.HEARTBEAT)
            return
        details = (f"{bad} frame(s) before it were not DSS frames",) if bad else ()
        run.add(StepResult(Step.HEARTBEAT, Outcome.PASSED, time.monotonic() - started, summary, details))
    finally:
        with contextlib.suppress(Exception):
            await connection.__aexit__(None, None, None)
    outcome, sentence = event_types_verdict(
        definition.subscription_type, [event.event_type] if event is not None else []
    )
    run.add(StepResult(Step.EVENT_TYPES, outcome, 0.0, sentence))
    outcome, sentence = clock_verdict(event.time if event is not None else None, event.received_at if event else clock())
    run.add(StepResult(Step.CLOCK, outcome, 0.0, sentence))


async def _alternatives(definition: StreamDefinition, options: ClientOptions) -> list[str]:
    """Try the key on every other documented host at once; one line each."""
    others = alternatives_for(definition.base_url)
    if not others:
        return ["this is a custom URL: there are no other documented hosts to try"]
    quick = ClientOptions(
        dead_after=options.dead_after,
        ca_file=options.ca_file,
        proxy=options.proxy,
        open_timeout=ALTERNATIVE_TIMEOUT,
    )

    async def attempt(where: tuple[str, str, str], url: str) -> str:
        other = StreamDefinition(definition.name, url, definition.key, definition.subscription_type)
        label = f"{'/'.join(where)} ({urlsplit(url).hostname})"
        try:
            async with asyncio.timeout(ALTERNATIVE_TIMEOUT + 1):
                async with _connect(other, other.url(), quick):
                    return f"{label}: THE KEY WORKS HERE"
        except InvalidStatus as exc:
            return f"{label}: rejected (HTTP {exc.response.status_code})"
        except TimeoutError:
            return f"{label}: no answer within {ALTERNATIVE_TIMEOUT:g} s"
        except Exception as exc:
            return f"{label}: {describe_failure(exc, other)}"

    lines = await asyncio.gather(*(attempt(where, url) for where, url in others))
    works = [line for line in lines if line.endswith("THE KEY WORKS HERE")]
    if works:
        lines.append(f"=> the key belongs to {works[0].split(' (')[0]}: choose that client type, region and deployment")
    else:
        lines.append("=> no documented host accepts this key: check the key itself")
    return list(lines)
