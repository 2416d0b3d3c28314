"""Safety and plumbing of every request: allow-list, https, Entra, size limits, 429 pauses, observation,
and a canary key that never shows up anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from datetime import UTC, datetime

import httpx
import pytest
from azure_speech_operator.azure import (
    ApiKey,
    AzureClient,
    AzureError,
    AzureTarget,
    ClientSettings,
    EntraIdentity,
    ErrorClass,
)
from azure_speech_operator.azure.transport import pool_size
from azure_speech_operator.azure.types import ModelRef, SpeechEndpointCreate

from .helpers import (
    CANARY,
    FakeClock,
    StaticTokens,
    always,
    entra_get_error,
    example,
    json_response,
    mock_client,
)

KEY = ApiKey(key=CANARY)
ENDPOINT_ID = "afa0669c-a01e-4693-ae3a-93baf40f26d6"


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request may be sent")


@pytest.mark.parametrize(
    ("base_url", "settings", "reason"),
    [
        ("https://evil.example.com", ClientSettings(), "HostNotAllowed"),
        ("http://westus.api.cognitive.microsoft.com", ClientSettings(), "HostNotAllowed"),
        ("http://127.0.0.1:8080", ClientSettings(allowed_hosts=("127.0.0.1",)), "HostNotAllowed"),
        ("https://westus.api.cognitive.microsoft.com/speechtotext", ClientSettings(), "InvalidEndpointUrl"),
        ("https://user:pw@westus.api.cognitive.microsoft.com", ClientSettings(), "InvalidEndpointUrl"),
        ("ftp://westus.api.cognitive.microsoft.com", ClientSettings(), "InvalidEndpointUrl"),
        ("https://westus.api.cognitive.microsoft.com:99999", ClientSettings(), "InvalidEndpointUrl"),
    ],
)
async def test_refused_before_any_request(base_url: str, settings: ClientSettings, reason: str) -> None:
    async with mock_client(_never, settings) as client:
        with pytest.raises(AzureError) as info:
            client.speech(AzureTarget(base_url=base_url, api_version="2025-10-15"), KEY)
    assert info.value.reason == reason
    assert info.value.error_class is ErrorClass.FATAL


async def test_http_is_allowed_only_when_asked() -> None:
    settings = ClientSettings(allowed_hosts=("127.0.0.1",), allow_http=True)

    async with mock_client(
        lambda r: json_response(200, example("stt-v3.2", "get_endpoint")), settings
    ) as client:
        endpoint = await client.speech(
            AzureTarget(base_url="http://127.0.0.1:8080", api_version="v3.2"), KEY
        ).get(ENDPOINT_ID)
    assert endpoint.self_url.startswith("http://127.0.0.1:8080/speechtotext/v3.2/endpoints/")


@pytest.mark.parametrize(
    "base_url",
    ["https://westus.api.cognitive.microsoft.com", "https://westus.customvoice.api.speech.microsoft.com"],
)
async def test_entra_needs_a_custom_domain(base_url: str) -> None:
    async with mock_client(_never) as client:
        with pytest.raises(AzureError) as info:
            client.speech(AzureTarget(base_url=base_url, api_version="2025-10-15"), EntraIdentity())
    assert info.value.reason == "EntraRequiresCustomDomain" and info.value.error_class is ErrorClass.FATAL


class FakeTokens:
    def __init__(self) -> None:
        self.calls = 0
        self.expires = 0.0

    async def get_token(self, scope: str) -> tuple[str, float]:
        self.calls += 1
        return f"token-{self.calls}-{CANARY}", self.expires

    async def close(self) -> None:
        pass


async def test_entra_tokens_are_cached_refreshed_and_forgotten_after_401() -> None:
    now = [1_000_000.0]
    tokens = FakeTokens()
    tokens.expires = now[0] + 3600
    seen: list[str] = []
    statuses = iter([200, 200, 401, 200, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        assert "Ocp-Apim-Subscription-Key" not in request.headers
        status = next(statuses)
        return json_response(
            status, example("stt-2025-10-15", "get_endpoint") if status == 200 else {"code": "Unauthorized"}
        )

    wall = lambda: datetime.fromtimestamp(now[0], UTC)  # noqa: E731
    async with mock_client(handler, token_provider=tokens, wall_clock=wall) as client:
        adapter = client.speech(
            AzureTarget(base_url="https://my.cognitiveservices.azure.com", api_version="2025-10-15"),
            EntraIdentity(),
        )
        await adapter.get(ENDPOINT_ID)
        await adapter.get(ENDPOINT_ID)
        assert tokens.calls == 1
        with pytest.raises(AzureError) as info:
            await adapter.get(ENDPOINT_ID)
        assert info.value.error_class is ErrorClass.BLOCKED
        await adapter.get(ENDPOINT_ID)  # a fresh token after the 401
        assert tokens.calls == 2
        now[0] = tokens.expires - 10  # close to expiry: refreshed
        tokens.expires = now[0] + 3600
        await adapter.get(ENDPOINT_ID)
        assert tokens.calls == 3
    assert seen[0] == f"Bearer token-1-{CANARY}" and seen[3].startswith("Bearer token-2-")
    assert CANARY not in str(info.value) and CANARY not in repr(info.value)


async def test_a_failing_token_provider_is_blocked_and_names_no_secret() -> None:
    # The provider's words are kept (tests/azure/test_auth.py), a credential they quote is not.
    failure = RuntimeError(f"AADSTS50027: invalid assertion, client_assertion={CANARY}")
    error = await entra_get_error(StaticTokens(failure), _never)
    assert error.reason == "TokenUnavailable" and error.error_class is ErrorClass.BLOCKED
    assert "RuntimeError: AADSTS50027: invalid assertion" in error.message
    assert CANARY not in "".join(traceback.format_exception(error))
    assert error.__context__ is None and error.__cause__ is None


async def test_a_429_pauses_the_shared_limiter_for_its_retry_after() -> None:
    clock = FakeClock()
    answers = iter(
        [json_response(429, {"code": "TooManyRequests"}, {"Retry-After": "12"})]
        + [json_response(200, example("stt-v3.2", "get_endpoint"))] * 3
    )
    async with mock_client(lambda r: next(answers), clock=clock, sleep=clock.sleep) as client:
        target = AzureTarget.for_region("westus", "v3.2")
        first = client.speech(target, KEY)
        other = client.speech(target, ApiKey(key=CANARY))  # same (host, credential): same limiter
        with pytest.raises(AzureError) as info:
            await first.get(ENDPOINT_ID)
        assert info.value.retry_after == 12 and info.value.error_class is ErrorClass.TRANSIENT
        start = clock.now
        await other.get(ENDPOINT_ID)
        assert clock.now - start == pytest.approx(12)
        another_key = client.speech(target, ApiKey(key="another-key-0000"))
        before = clock.now
        await another_key.get(ENDPOINT_ID)  # a different credential has its own budget
        assert clock.now == before


async def test_429_without_retry_after_pauses_the_configured_default() -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(429), json_response(200, example("stt-v3.2", "get_endpoint"))])
    settings = ClientSettings(throttle_pause_s=2.5)
    async with mock_client(lambda r: next(answers), settings, clock=clock, sleep=clock.sleep) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.get(ENDPOINT_ID)
        assert info.value.retry_after is None
        await adapter.get(ENDPOINT_ID)
    assert clock.slept == [2.5]


async def test_response_size_is_limited() -> None:
    big = b"{" + b" " * 5000 + b"}"
    settings = ClientSettings(max_response_bytes=1024)
    async with mock_client(lambda r: httpx.Response(200, content=big), settings) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).get(ENDPOINT_ID)
    assert info.value.reason == "ResponseTooLarge"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, int | str]] = []
        self.waits: list[tuple[str, float]] = []

    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None:
        assert seconds >= 0
        self.seen.append((operation, method, host, status))

    def budget_waited(self, operation: str, seconds: float) -> None:
        self.waits.append((operation, seconds))


async def test_every_request_is_observed_by_operation_and_status() -> None:
    answers = iter(
        [
            httpx.Response(204),
            json_response(503, {}),
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(200, content=b"x" * 5000),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    recorder = Recorder()
    async with mock_client(handler, ClientSettings(max_response_bytes=1024), observer=recorder) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        await adapter.delete(ENDPOINT_ID)
        for _ in range(4):
            with pytest.raises(AzureError):
                await adapter.get(ENDPOINT_ID)
    host = "*.api.cognitive.microsoft.com:443"  # the allow-list pattern: a bounded label
    assert recorder.seen == [
        ("Endpoints_Delete", "DELETE", host, 204),
        ("Endpoints_Get", "GET", host, 503),
        ("Endpoints_Get", "GET", host, "timeout"),
        ("Endpoints_Get", "GET", host, "connection-error"),
        ("Endpoints_Get", "GET", host, "too-large"),
    ]


async def test_requests_the_budget_holds_back_are_observed_with_their_wait() -> None:
    clock = FakeClock()
    recorder = Recorder()
    settings = ClientSettings(budget_requests=2, budget_window_s=10)
    async with mock_client(
        lambda r: httpx.Response(204), settings, clock=clock, sleep=clock.sleep, observer=recorder
    ) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        for _ in range(3):
            await adapter.delete(ENDPOINT_ID)
    assert recorder.waits == [("Endpoints_Delete", 10.0)]  # the third waited for the window, the others not


async def test_each_429_is_observed_once_and_its_pause_is_a_budget_wait() -> None:
    """The client never retries: a 429 is one observed request, whoever tries again later."""
    clock = FakeClock()
    answers = iter(
        [json_response(429, {"code": "TooManyRequests"}, {"Retry-After": "3"}), httpx.Response(204)]
    )
    recorder = Recorder()
    async with mock_client(
        lambda r: next(answers), clock=clock, sleep=clock.sleep, observer=recorder
    ) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError, match="TooManyRequests"):
            await adapter.delete(ENDPOINT_ID)
        assert await adapter.delete(ENDPOINT_ID)
    assert [status for *_, status in recorder.seen] == [429, 204]
    assert recorder.waits == [("Endpoints_Delete", 3.0)]


async def test_a_broken_observer_never_breaks_a_request(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def observe(self, *args: object) -> None:
            raise RuntimeError("boom")

        def budget_waited(self, *args: object) -> None:
            raise RuntimeError("boom")

    async with mock_client(lambda r: httpx.Response(204), observer=Broken()) as client:
        assert await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).delete(ENDPOINT_ID)


@pytest.mark.parametrize(
    "answer",
    [
        json_response(401, {"code": "Unauthorized", "message": f"bad key {CANARY}"}),
        httpx.Response(502, content=f"<html>{CANARY}</html>".encode()),
        httpx.Response(201, content=f'{{"self": 5, "k": "{CANARY}"'.encode()),
        httpx.ConnectError(f"refused {CANARY}"),
        httpx.ReadTimeout(f"slow {CANARY}"),
        httpx.RemoteProtocolError(f"broken {CANARY}"),
        httpx.Response(
            429, headers={"Retry-After": CANARY, "x-ms-error-code": CANARY, "apim-request-id": CANARY}
        ),
        httpx.Response(302, headers={"Location": f"https://evil.example/{CANARY}"}),
        json_response(201, {"self": f"https://westus.api.cognitive.microsoft.com/elsewhere/{CANARY}"}),
        json_response(400, {"error": {"code": "400", "message": CANARY, "innererror": {"code": CANARY}}}),
    ],
)
async def test_the_canary_key_never_leaks(answer: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    handler = always(answer)

    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.create(create)
        texts = [
            str(info.value),
            repr(info.value),
            "".join(traceback.format_exception(info.value)),
            repr(adapter),
            repr(client),
            repr(KEY),
            str(KEY),
            KEY.model_dump_json(),
            caplog.text,
        ]
    for text in texts:
        assert CANARY not in text
    # Not even reachable through the chain: the httpx exception's request holds the key header.
    assert info.value.__context__ is None and info.value.__cause__ is None


@pytest.mark.parametrize(("method", "unknown"), [("create", True), ("get", False)])
async def test_a_5xx_leaves_a_writes_outcome_unknown(method: str, unknown: bool) -> None:
    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    async with mock_client(lambda r: httpx.Response(504)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        with pytest.raises(AzureError) as info:
            await (adapter.create(create) if method == "create" else adapter.get(ENDPOINT_ID))
    assert info.value.outcome_unknown is unknown and info.value.error_class is ErrorClass.TRANSIENT
    assert info.value.reason == "GatewayTimeout"


class HeldRequests:
    """A MockTransport handler that holds every request until `release` is set, counting those in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.release = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        return httpx.Response(204)


async def test_concurrency_is_capped_per_host_and_credential() -> None:
    held = HeldRequests()
    settings = ClientSettings(max_concurrency=3)
    async with AzureClient(settings, transport=httpx.MockTransport(held)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        tasks = [asyncio.create_task(adapter.delete(ENDPOINT_ID)) for _ in range(10)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert held.peak == 3
        held.release.set()
        assert all(await asyncio.gather(*tasks))
    assert held.peak == 3


async def test_a_long_pause_fails_fast_instead_of_holding_the_caller() -> None:
    clock = FakeClock()
    answers = iter([json_response(429, {"code": "TooManyRequests"}, {"Retry-After": "120"})])
    recorder = Recorder()
    settings = ClientSettings(max_pause_wait_s=30)
    async with mock_client(
        lambda r: next(answers), settings, clock=clock, sleep=clock.sleep, observer=recorder
    ) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError):
            await adapter.get(ENDPOINT_ID)
        clock.now += 10
        with pytest.raises(AzureError) as info:
            await adapter.get(ENDPOINT_ID)
    assert info.value.reason == "TooManyRequests" and info.value.status is None
    assert info.value.retry_after == pytest.approx(110)
    assert clock.slept == []
    assert recorder.seen[-1][3] == "throttled"


async def test_a_caller_queued_for_the_budget_fails_fast_too_when_a_long_pause_begins() -> None:
    # one request in the budget at a time: the second waits for it, whose answer is a 429 for 600 s
    clock = FakeClock()
    answered = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await answered.wait()
        return json_response(429, {"code": "TooManyRequests"}, {"Retry-After": "600"})

    settings = ClientSettings(budget_requests=1, budget_window_s=1.0, max_pause_wait_s=30)
    async with mock_client(handler, settings, clock=clock, sleep=clock.sleep) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        first = asyncio.create_task(adapter.get(ENDPOINT_ID))
        await asyncio.sleep(0)
        queued = asyncio.create_task(adapter.get(ENDPOINT_ID))
        for _ in range(5):
            await asyncio.sleep(0)
        answered.set()
        results = await asyncio.gather(first, queued, return_exceptions=True)
    assert all(isinstance(r, AzureError) and r.reason == "TooManyRequests" for r in results)
    assert isinstance(results[1], AzureError) and results[1].status is None  # never sent
    assert results[1].retry_after == pytest.approx(600, abs=2)
    assert sum(clock.slept) < 30  # not held for the pause


async def test_the_azure_identity_provider_wraps_a_credential() -> None:
    from azure.core.credentials import AccessToken
    from azure_speech_operator.azure import AzureIdentityTokenProvider

    class FakeCredential:
        closed = False
        scopes: list[str] = []

        async def get_token(self, scope: str) -> AccessToken:
            self.scopes.append(scope)
            return AccessToken(f"tok-{CANARY}", 1_900_000_000)

        async def close(self) -> None:
            FakeCredential.closed = True

    provider = AzureIdentityTokenProvider(FakeCredential)
    token, expires = await provider.get_token("https://cognitiveservices.azure.com/.default")
    assert token == f"tok-{CANARY}" and expires == 1_900_000_000
    await provider.close()
    assert FakeCredential.closed and FakeCredential.scopes == ["https://cognitiveservices.azure.com/.default"]


async def test_each_speech_resource_has_a_small_pool_and_requests_past_it_wait_outside_httpx() -> None:
    # 3 Speech resources on one regional host, each with 8 requests at once (its gate lets 16 fly): each has
    # its own pool of 4 connections, and the other 4 requests wait for a slot, not in httpcore's queue
    settings = ClientSettings(max_concurrency=16)
    assert pool_size(settings) == 4
    held = HeldRequests()
    async with AzureClient(settings, transport=httpx.MockTransport(held)) as client:
        target = AzureTarget.for_region("westus", "2025-10-15")
        adapters = [client.speech(target, ApiKey(key=f"key-{n:04d}-0000")) for n in range(3)]
        deletes = [
            asyncio.ensure_future(adapter.delete(ENDPOINT_ID)) for adapter in adapters for _ in range(8)
        ]
        for _ in range(50):
            await asyncio.sleep(0)
        assert held.peak == 12
        held.release.set()
        await asyncio.gather(*deletes)
    assert held.peak == 12
    assert pool_size(ClientSettings(max_concurrency=2)) == 2  # never more than the gate lets fly


async def test_every_pool_shares_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each TLS context loads the CA store (about 20 ms of CPU and 0.8 MB): one for all, not one per pool
    made: list[object] = []
    create = httpx.create_ssl_context

    def counted(*args: object, **kwargs: object) -> object:
        made.append(create())
        return made[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    held = HeldRequests()
    held.release.set()
    async with AzureClient(ClientSettings(), transport=httpx.MockTransport(held)) as client:
        for region in ("westus", "eastus", "westeurope"):
            for key in ("key-0001-0000", "key-0002-0000"):
                await client.speech(AzureTarget.for_region(region, "2025-10-15"), ApiKey(key=key)).delete(
                    ENDPOINT_ID
                )
    assert len(made) == 1


async def test_a_write_that_timed_out_waiting_for_a_connection_never_reached_azure() -> None:
    # every connection of the Speech resource's pool taken (held here): a delete waits for one until the
    # deadline and never reaches Azure, so its outcome is known; one that was sent and got no answer is not
    settings = ClientSettings(max_concurrency=16, request_deadline_s=0.3)
    held = HeldRequests()
    async with AzureClient(settings, transport=httpx.MockTransport(held)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        session = adapter._session
        async with contextlib.AsyncExitStack() as taken:
            for _ in range(pool_size(settings)):
                await taken.enter_async_context(session.transport.slot(session.origin, session._pool))
            with pytest.raises(AzureError) as waited:
                await adapter.delete(ENDPOINT_ID)
        with pytest.raises(AzureError) as sent:
            await adapter.delete(ENDPOINT_ID)
    assert held.peak == 1  # only the second reached the transport
    assert (waited.value.reason, waited.value.outcome_unknown) == ("Timeout", False)
    assert "no connection free within the deadline" in str(waited.value)
    assert (sent.value.reason, sent.value.outcome_unknown) == ("Timeout", True)
