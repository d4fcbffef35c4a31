"""Connection failures named plainly, against real loopback servers: a plain
TCP server behind wss://, a redirect to http://, proxies that refuse, a proxy
scheme that cannot work. No mocks: each fault is a real socket."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, ParamSpec

import pytest

from ayla_monitor.dss.backoff import Backoff
from ayla_monitor.dss.client import ClientOptions, StreamClient, describe_failure, probe
from ayla_monitor.dss.errors import SETTINGS_REJECTED, KeyRejected, LinkError, SettingsRejected
from ayla_monitor.dss.link import StreamState
from ayla_monitor.dss.subscription import StreamDefinition

KEY = "0123456789abcdef0123456789abcdef"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
P = ParamSpec("P")


def sync(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async test on a fresh event loop."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    """A loopback TCP server on a free port; yields the port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads what comes and answers in plain text, as a ws:// server or anything else would."""
    await reader.read(100)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


async def closes_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def greets_in_plain_text(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Speaks first, in plain text (an SSH or SMTP server would)."""
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    await writer.drain()
    await reader.read(100)
    writer.close()


async def redirects_to_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/login?stream_key="
        + KEY.encode()
        + b"\r\nContent-Length: 0\r\n\r\n"
    )
    await writer.drain()
    writer.close()


def proxy_refusing(seen: list[bytes]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")[0])
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    return handler


def definition(url: str) -> StreamDefinition:
    return StreamDefinition.create(KEY, url=url)


async def closed_port() -> int:
    async with tcp_server(closes_at_once) as port:
        pass
    return port  # nothing listens there any more


def no_proxy(**kwargs: Any) -> ClientOptions:
    return ClientOptions(proxy="", open_timeout=20, **kwargs)


@pytest.mark.parametrize("server", [not_tls, greets_in_plain_text])
@sync
async def test_wss_to_a_server_without_tls_says_tls(server: Handler) -> None:
    async with tcp_server(server) as port:
        result = await probe(definition(f"wss://127.0.0.1:{port}/stream"), no_proxy(), timeout=20)
    assert not result.ok
    assert result.message.startswith("TLS failure"), result.message
    assert f"127.0.0.1:{port}" in result.message and "()" not in result.message
    assert KEY not in result.message


@sync
async def test_a_redirect_to_http_stops_the_stream_for_good() -> None:
    async with tcp_server(redirects_to_http) as port:
        d = definition(f"ws://127.0.0.1:{port}/stream")
        result = await probe(d, no_proxy(), timeout=20)
        assert not result.ok
        assert "redirected the stream to http://127.0.0.1:1/login" in result.message
        assert KEY not in result.message and "0123" not in result.message  # the query is not shown

        sink = Sink()
        client = StreamClient(d, sink, options=no_proxy(), backoff=Backoff(initial=0, cap=0))
        reason = await asyncio.wait_for(client.run(), 30)
    assert reason.startswith(SETTINGS_REJECTED)
    assert sink.states[-1][0] is StreamState.STOPPED
    assert [s for s, _ in sink.states].count(StreamState.CONNECTING) == 1  # not retried


@sync
async def test_a_proxy_that_refuses_is_named_not_the_dss_host() -> None:
    seen: list[bytes] = []
    async with tcp_server(not_tls) as dss_port, tcp_server(proxy_refusing(seen)) as proxy_port:
        d = definition(f"ws://127.0.0.1:{dss_port}/stream")
        options = ClientOptions(proxy=f"http://user:pw@127.0.0.1:{proxy_port}", open_timeout=20)
        result = await probe(d, options, timeout=20)
    assert seen == [f"CONNECT 127.0.0.1:{dss_port} HTTP/1.1".encode()]
    assert not result.ok
    assert f"proxy http://127.0.0.1:{proxy_port} refused to connect to 127.0.0.1 (HTTP 403)" in result.message
    assert "pw" not in result.message


@sync
async def test_a_proxy_that_is_not_there_is_named() -> None:
    port = await closed_port()
    async with tcp_server(not_tls) as dss_port:
        d = definition(f"ws://127.0.0.1:{dss_port}/stream")
        result = await probe(d, ClientOptions(proxy=f"http://127.0.0.1:{port}", open_timeout=20), timeout=20)
    assert f"proxy http://127.0.0.1:{port} refused the connection" in result.message.lower()
    assert str(dss_port) not in result.message


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        ("socks5://127.0.0.1:1080", "needs the python-socks package"),
        ("ftp://127.0.0.1:21", "uses ftp scheme"),
    ],
)
@sync
async def test_a_proxy_that_cannot_work_stops_the_stream_instead_of_retrying(
    proxy: str, expected: str
) -> None:
    import importlib.util

    if proxy.startswith("socks") and importlib.util.find_spec("python_socks") is not None:
        pytest.skip("python-socks is installed here: SOCKS proxies can work")
    sink = Sink()
    client = StreamClient(
        definition("ws://127.0.0.1:9/stream"),
        sink,
        options=ClientOptions(proxy=proxy),
        backoff=Backoff(initial=0, cap=0),
    )
    reason = await asyncio.wait_for(client.run(), 30)
    assert reason.startswith(SETTINGS_REJECTED) and expected in reason
    assert sink.states[-1] == (StreamState.STOPPED, reason)
    assert [s for s, _ in sink.states].count(StreamState.CONNECTING) == 1


def test_settings_rejected_is_final_like_a_rejected_key() -> None:
    failure = SettingsRejected("the proxy x cannot be used")
    assert isinstance(failure, KeyRejected) and not isinstance(failure, LinkError)
    assert str(failure) == SETTINGS_REJECTED + "the proxy x cannot be used"
    # a port out of range does not turn the description of a failure into a crash
    d = StreamDefinition.create(KEY, url="ws://127.0.0.1:99999/stream")
    assert "refused" in str(describe_failure(ConnectionRefusedError(111, "refused"), d))


class Sink:
    """Keeps the link states; the frames are not looked at here."""

    def __init__(self) -> None:
        self.states: list[tuple[StreamState, str]] = []

    def link_state(self, state: StreamState, detail: str = "", retry_at: float | None = None) -> None:
        self.states.append((state, detail))

    def heartbeat(self) -> None:
        pass

    def notice(self, text: str) -> None:
        pass

    async def frames(self, batch: Any, epoch: int = 0) -> None:
        pass
