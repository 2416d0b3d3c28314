"""Hardening of the client's edges: an overall deadline per request and per download, one connection pool
per origin, default host patterns on the https port only, plain http per host pattern and never to Azure, and
a bounded `host` label for the observer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from azure_speech_operator.azure import (
    DEFAULT_ALLOWED_HOSTS,
    ApiKey,
    AzureClient,
    AzureError,
    AzureTarget,
    ClientSettings,
    ErrorClass,
    host_allowed,
)
from azure_speech_operator.azure.types import LogFile
from pydantic import SecretStr, ValidationError

from .helpers import CANARY, always, example, json_response, mock_client

KEY = ApiKey(key=CANARY)
ENDPOINT_ID = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
ENDPOINT = example("stt-v3.2", "get_endpoint")
GUARD_S = 10.0  # a test whose deadline does not work fails here instead of hanging

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def tcp_server(serve: Serve) -> AsyncIterator[str]:
    """A raw HTTP/1.1 server on 127.0.0.1 (httpx's timeouts only apply to a real socket)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await reader.readuntil(b"\r\n\r\n")
            await serve(reader, writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in list(getattr(server, "_writers", ())):  # pragma: no cover - stdlib detail
            writer.close()


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then a byte every 50 ms, forever: each byte resets httpx's read timeout."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
    await writer.drain()
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.Event().wait()


async def answer_endpoint(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = httpx.Response(200, json=ENDPOINT).content
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()


def local(**fields: object) -> ClientSettings:
    return ClientSettings(allowed_hosts=("127.0.0.1",), allow_http=True, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["get", "delete"])
async def test_a_host_dripping_bytes_is_cut_off_at_the_request_deadline(method: str) -> None:
    settings = local(read_timeout_s=5.0, request_deadline_s=0.5)
    async with tcp_server(drip) as url, AzureClient(settings) as client:
        adapter = client.speech(AzureTarget(base_url=url, api_version="v3.2"), KEY)
        started = time.monotonic()
        with pytest.raises(AzureError) as info:
            call = adapter.get(ENDPOINT_ID) if method == "get" else adapter.delete(ENDPOINT_ID)
            await asyncio.wait_for(call, GUARD_S)
        elapsed = time.monotonic() - started
    assert info.value.reason == "Timeout" and info.value.error_class is ErrorClass.TRANSIENT
    assert "deadline" in info.value.message and 0.4 < elapsed < 3
    assert info.value.outcome_unknown is (method == "delete")
    assert info.value.__context__ is None and info.value.__cause__ is None


async def test_a_download_dripping_bytes_is_cut_off_at_the_download_deadline(tmp_path: Path) -> None:
    settings = local(read_timeout_s=5.0, download_deadline_s=0.5)
    async with tcp_server(drip) as url, AzureClient(settings) as client:
        adapter = client.speech(AzureTarget(base_url=url, api_version="v3.2"), KEY)
        file = LogFile(id="a", name="a.wav", content_url=SecretStr(f"{url}/logs/a.wav?sig={CANARY}"))
        with pytest.raises(AzureError) as info:
            await asyncio.wait_for(adapter.download_log(file, tmp_path / "a.wav"), GUARD_S)
    assert info.value.reason == "Timeout" and "deadline" in info.value.message
    assert CANARY not in str(info.value)
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "a.wav.part").exists()


async def test_a_stalling_host_does_not_starve_another_hosts_requests() -> None:
    # One credential per request, so the per-(host, credential) concurrency cap does not hold them back:
    # only the connection pool could. A shared pool (10 connections) would be full of the stalled ones.
    settings = local(max_concurrency=1, read_timeout_s=3.0, request_deadline_s=30.0)
    async with (
        tcp_server(stall) as stalling,
        tcp_server(answer_endpoint) as healthy,
        AzureClient(settings) as client,
    ):
        stuck = [
            asyncio.create_task(
                client.speech(
                    AzureTarget(base_url=stalling, api_version="v3.2"), ApiKey(key=f"k-{n:04d}")
                ).get(ENDPOINT_ID)
            )
            for n in range(12)
        ]
        await asyncio.sleep(0.3)  # the stalled requests take their connections
        started = time.monotonic()
        endpoint = await asyncio.wait_for(
            client.speech(AzureTarget(base_url=healthy, api_version="v3.2"), KEY).get(ENDPOINT_ID), GUARD_S
        )
        elapsed = time.monotonic() - started
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    assert endpoint.id and elapsed < 1.5


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("westus.api.cognitive.microsoft.com", 443, True),
        ("westus.api.cognitive.microsoft.com", 8443, False),
        ("my.cognitiveservices.azure.com", 444, False),
        ("eastus.customvoice.api.speech.microsoft.com", 80, False),
    ],
)
def test_default_patterns_match_only_the_https_port(host: str, port: int, allowed: bool) -> None:
    assert host_allowed(DEFAULT_ALLOWED_HOSTS, host, port) is allowed
    assert host_allowed(ClientSettings().log_download_hosts, "acct.blob.core.windows.net", port) is (
        port == 443
    )


async def test_a_default_azure_host_on_another_port_is_refused() -> None:
    async with mock_client(always(json_response(200, ENDPOINT))) as client:
        with pytest.raises(AzureError) as info:
            client.speech(
                AzureTarget(base_url="https://my.cognitiveservices.azure.com:8443", api_version="v3.2"), KEY
            )
    assert info.value.reason == "HostNotAllowed"


@pytest.mark.parametrize(
    ("patterns", "allow_http", "url", "allowed"),
    [
        # --allow-http: every listed host that is not Azure's
        (("127.0.0.1", "*.cognitiveservices.azure.com"), True, "http://127.0.0.1:8080", True),
        (
            ("127.0.0.1", "*.cognitiveservices.azure.com"),
            True,
            "http://my.cognitiveservices.azure.com",
            False,
        ),
        (("*",), True, "http://westus.api.cognitive.microsoft.com", False),
        (("*",), True, "http://acct.blob.core.windows.net", False),
        # per pattern: http://PATTERN allows plain http to it alone
        (("http://127.0.0.1:*", "localhost"), False, "http://127.0.0.1:8080", True),
        (("http://127.0.0.1:*", "localhost"), False, "https://127.0.0.1:8080", True),
        (("http://127.0.0.1:*", "localhost"), False, "http://localhost:8080", False),
        (("http://sim.test:8080",), False, "http://sim.test:8081", False),
        (("https://sim.test",), False, "http://sim.test", False),
        (("127.0.0.1",), False, "http://127.0.0.1:8080", False),
        # Azure's hosts are https only, whatever the settings say
        (("http://*",), False, "http://my.cognitiveservices.azure.com", False),
        (("http://*",), False, "http://sim.test", True),
    ],
)
async def test_plain_http_is_allowed_per_host_pattern_and_never_to_azure(
    patterns: tuple[str, ...], allow_http: bool, url: str, allowed: bool
) -> None:
    settings = ClientSettings(allowed_hosts=patterns, allow_http=allow_http)
    async with mock_client(always(json_response(200, ENDPOINT)), settings) as client:
        if allowed:
            client.speech(AzureTarget(base_url=url, api_version="v3.2"), KEY)
            return
        with pytest.raises(AzureError) as info:
            client.speech(AzureTarget(base_url=url, api_version="v3.2"), KEY)
    assert info.value.reason == "HostNotAllowed"


@pytest.mark.parametrize(
    "pattern", ["http://*.cognitiveservices.azure.com", "HTTP://westus.api.cognitive.microsoft.com:80"]
)
def test_an_http_pattern_for_an_azure_host_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError, match="https only"):
        ClientSettings(allowed_hosts=(pattern,))


@pytest.mark.parametrize("bad", ["https://x.com/path", "ftp://x.com", "http://", "a b", "user@host"])
def test_bad_patterns_are_named(bad: str) -> None:
    with pytest.raises(ValidationError, match="host pattern"):
        ClientSettings(allowed_hosts=(bad,))


class Recorder:
    def __init__(self) -> None:
        self.hosts: list[str] = []

    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None:
        self.hosts.append(host)

    def budget_waited(self, operation: str, seconds: float) -> None:
        pass


async def test_the_host_label_is_the_pattern_that_admitted_the_host(tmp_path: Path) -> None:
    recorder = Recorder()
    settings = ClientSettings(allowed_hosts=(*DEFAULT_ALLOWED_HOSTS, "http://127.0.0.1:*"))
    async with mock_client(always(json_response(200, ENDPOINT)), settings, observer=recorder) as client:
        for tenant in ("team-a-speech", "team-b-speech", "x" * 50):
            target = AzureTarget(base_url=f"https://{tenant}.cognitiveservices.azure.com", api_version="v3.2")
            await client.speech(target, KEY).get(ENDPOINT_ID)
        await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).get(ENDPOINT_ID)
        await client.speech(AzureTarget(base_url="http://127.0.0.1:8080", api_version="v3.2"), KEY).get(
            ENDPOINT_ID
        )
        file = LogFile(
            id="a", name="a.wav", content_url=SecretStr("https://acct.blob.core.windows.net/a?sig=x")
        )
        await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).download_log(file, tmp_path / "a")
    assert recorder.hosts == [
        "*.cognitiveservices.azure.com:443",
        "*.cognitiveservices.azure.com:443",
        "*.cognitiveservices.azure.com:443",
        "*.api.cognitive.microsoft.com:443",
        "http://127.0.0.1:*",
        "*.blob.core.windows.net:443",
    ]
