"""The connection doctor against real sockets: a closed port, a plain server
on a wss:// URL, the simulator with a wrong key and with the right one."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ayla_monitor.core.doctor import diagnose
from ayla_monitor.dss.diagnosis import (
    Diagnosis,
    Outcome,
    Step,
    alternatives_for,
    certificate_lines,
    clock_verdict,
    event_types_verdict,
    http_verdict,
)
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from tests.simulator.support import run

KEY = "0123456789abcdef0123456789abcdef"
WRONG = "fedcba9876543210fedcba9876543210"


def outcomes(diagnosis: Diagnosis) -> dict[Step, Outcome]:
    return {s.step: s.outcome for s in diagnosis.steps}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_closed_port_fails_at_tcp() -> None:
    definition = StreamDefinition.create(KEY, url=f"ws://127.0.0.1:{free_port()}/stream")
    diagnosis = run(diagnose(definition, heartbeat_wait=5))
    assert outcomes(diagnosis)[Step.DNS] is Outcome.PASSED
    failed = diagnosis.failed
    assert failed is not None and failed.step is Step.TCP and "refused" in failed.summary
    assert [s.outcome for s in diagnosis.steps[3:]] == [Outcome.SKIPPED] * 5
    assert not diagnosis.ok
    assert "FAILED at TCP connect" in diagnosis.text()
    assert KEY not in diagnosis.text()


def test_plain_server_on_a_wss_url_fails_at_tls() -> None:
    async def main() -> Diagnosis:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            definition = StreamDefinition.create(KEY, url=f"wss://127.0.0.1:{port}/stream")
            return await diagnose(definition, heartbeat_wait=5)

    diagnosis = run(main())
    failed = diagnosis.failed
    assert failed is not None and failed.step is Step.TLS
    assert "does not speak TLS" in failed.summary and "ws://" in failed.summary


def test_simulator_with_a_wrong_key_fails_at_the_upgrade() -> None:
    async def main() -> Diagnosis:
        async with Simulator(SimulatorConfig(devices=2, rate=0, keys={KEY: None})) as sim:
            return await diagnose(StreamDefinition.create(WRONG, url=sim.url), heartbeat_wait=5)

    diagnosis = run(main())
    failed = diagnosis.failed
    assert failed is not None and failed.step is Step.UPGRADE
    assert "HTTP 401" in failed.summary and "rejected the stream key" in failed.summary
    assert diagnosis.alternatives == ["this is a custom URL: there are no other documented hosts to try"]
    assert WRONG not in diagnosis.text() and "fedc…3210" in diagnosis.text()


def test_simulator_with_the_right_key_passes_every_step() -> None:
    seen = []

    async def main() -> Diagnosis:
        config = SimulatorConfig(devices=2, rate=0, keys={KEY: "connectivity"}, heartbeat=0.2)
        async with Simulator(config) as sim:
            definition = StreamDefinition.create(KEY, url=sim.url, subscription_type="connectivity")
            return await diagnose(definition, heartbeat_wait=30, report=seen.append)

    diagnosis = run(main())
    assert diagnosis.ok, diagnosis.text()
    assert [s.step for s in seen] == list(Step)
    assert outcomes(diagnosis)[Step.HEARTBEAT] is Outcome.PASSED
    assert outcomes(diagnosis)[Step.TLS] is Outcome.NOT_APPLICABLE
    assert diagnosis.text().endswith("Result: every step passed.")


def test_an_event_of_another_type_than_the_subscription_fails() -> None:
    async def main() -> Diagnosis:
        sim = Simulator(SimulatorConfig(devices=2, rate=0, keys={KEY: None}))
        async with sim:
            sim.publish({"metadata": {"event_type": "datapoint", "dsn": "AC1"}, "datapoint": {"value": 1}})
            definition = StreamDefinition.create(
                KEY, url=sim.url, subscription_type="location", replay=ReplayWindow(1)
            )
            return await diagnose(definition, heartbeat_wait=30)

    diagnosis = run(main())
    failed = diagnosis.failed
    assert failed is not None and failed.step is Step.EVENT_TYPES
    assert "subscription is of type location" in failed.summary


# -- the pure verdicts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "says"),
    [(401, "rejected the stream key"), (403, "rejected the stream key"), (404, "wrong host or path"), (503, "server error")],
)
def test_http_verdicts(status: int, says: str) -> None:
    assert says in http_verdict(status, "h")


def test_event_type_and_clock_verdicts() -> None:
    assert event_types_verdict("datapoint", ["datapoint"])[0] is Outcome.PASSED
    assert event_types_verdict("datapoint", ["location"])[0] is Outcome.FAILED
    assert event_types_verdict(None, ["location"])[0] is Outcome.NOT_APPLICABLE
    assert event_types_verdict("datapoint", [])[0] is Outcome.NOT_APPLICABLE
    assert clock_verdict("2026-11-30T08:00:00Z", 1796025602.0) == (
        Outcome.PASSED,
        "this machine's clock is 2.0 s ahead of the event's time (2026-11-30T08:00:00Z)",
    )
    outcome, sentence = clock_verdict("2026-11-30T08:00:00Z", 1796025600.0 - 3600)
    assert outcome is Outcome.FAILED and "behind" in sentence


def test_certificate_lines() -> None:
    cert = {
        "subject": ((("commonName", "stream.example.com"),),),
        "issuer": ((("organizationName", "Example CA"),), (("commonName", "R3"),)),
        "notAfter": "Jan 30 12:00:00 2027 GMT",
    }
    summary, details = certificate_lines(cert, 1796025600.0)
    assert summary == "certificate for stream.example.com, expires 2027-01-30 (in 61 days)"
    assert details == ["subject: CN=stream.example.com", "issuer: O=Example CA, CN=R3", "expires: 2027-01-30"]
    assert "EXPIRED" in certificate_lines(cert, 1900000000.0)[0]


def test_alternatives_only_for_documented_hosts() -> None:
    others = alternatives_for("wss://stream-field.aylanetworks.com/stream")
    assert len(others) == 9 and ("mobile", "eu", "field") in [w for w, _ in others]
    assert alternatives_for("ws://127.0.0.1:8765/stream") == []
