"""Every exception from building, sending, reading and decoding a request ends as one classified AzureError
with a clean message: no other exception type escapes the client, and none is reachable from the error
(`__cause__` or `__context__`), because httpx's exceptions hold the request with its key header or SAS URL.
"""

from __future__ import annotations

import gzip
import logging
import traceback
from pathlib import Path

import httpx
import pytest
from azure_speech_operator.azure import ApiKey, AzureError, AzureTarget, ErrorClass
from azure_speech_operator.azure.types import LogFile, ModelRef, SpeechEndpointCreate
from hypothesis import HealthCheck, given, settings
from hypothesis import example as case
from hypothesis import strategies as st
from pydantic import SecretStr

from .helpers import CANARY, StaticTokens, always, entra_get_error, example, json_response, mock_client

KEY = ApiKey(key=CANARY)
ENDPOINT_ID = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
CREATE = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
GZIP = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


def not_gzip(status: int, text: str) -> httpx.Response:
    """An answer claiming gzip, not decoded until read (a `content=` answer would be decoded at once)."""
    return httpx.Response(status, headers=GZIP, stream=httpx.ByteStream(text.encode()))


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request may be sent")


def assert_clean(error: BaseException, *secrets: str) -> None:
    """Nothing of a secret in the error's text, repr or traceback, and no exception behind it."""
    assert error.__cause__ is None and error.__context__ is None
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize(
    "base_url",
    [
        "https://xn--a.cognitiveservices.azure.com",  # passes the CRD pattern and the allow-list
        "https://xn--.cognitiveservices.azure.com",
    ],
)
async def test_a_host_idna_refuses_is_an_invalid_endpoint_before_any_request(base_url: str) -> None:
    async with mock_client(_never) as client:
        with pytest.raises(AzureError) as info:
            adapter = client.speech(AzureTarget(base_url=base_url, api_version="2025-10-15"), KEY)
            await adapter.get(ENDPOINT_ID)
    assert info.value.reason == "InvalidEndpointUrl" and info.value.error_class is ErrorClass.FATAL
    assert "not a valid host name" in info.value.message
    assert_clean(info.value, CANARY)


@pytest.mark.parametrize("base_url", ["https://[abc", "https://[::1", "https://h:99999", "https://h:port"])
async def test_an_endpoint_url_urlsplit_refuses_is_an_invalid_endpoint(base_url: str) -> None:
    async with mock_client(_never) as client:
        with pytest.raises(AzureError) as info:
            client.speech(AzureTarget(base_url=base_url, api_version="2025-10-15"), KEY)
    assert info.value.reason == "InvalidEndpointUrl" and info.value.error_class is ErrorClass.FATAL
    assert_clean(info.value, CANARY)


@pytest.mark.parametrize(
    "key",
    [
        f"clé-{CANARY}",  # not ASCII: httpx raised UnicodeEncodeError naming the character and its position
        f"{CANARY}\u200b",
        f"{CANARY}\nInjected: header",
        f"{CANARY[:10]} {CANARY[10:]}",
        f"{CANARY}\x00",
    ],
)
async def test_a_key_that_cannot_be_a_header_is_invalid_credentials(key: str) -> None:
    async with mock_client(_never) as client:
        with pytest.raises(AzureError) as info:
            adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), ApiKey(key=key))
            await adapter.get(ENDPOINT_ID)
    assert info.value.reason == "CredentialsInvalid" and info.value.error_class is ErrorClass.BLOCKED
    assert "position" not in info.value.message
    for character in key:
        if character != " " and not "!" <= character <= "~":
            assert character not in info.value.message
    assert_clean(info.value, CANARY, key, "é")


@pytest.mark.parametrize(
    "answer",
    [
        (f"tök-{CANARY}", 4_000_000_000.0),  # cannot be a header value
        (12, "soon"),  # not a (str, number) pair
        None,
    ],
)
async def test_an_entra_token_that_cannot_be_sent_is_token_unavailable(answer: object) -> None:
    error = await entra_get_error(StaticTokens(answer), _never)
    assert error.reason == "TokenUnavailable" and error.error_class is ErrorClass.BLOCKED
    assert_clean(error, CANARY, "tök")


@pytest.mark.parametrize("status", [200, 201, 400, 503])
@pytest.mark.parametrize("method", ["create", "get"])
async def test_a_body_that_is_not_the_gzip_it_claims_is_an_invalid_response(
    status: int, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = not_gzip(status, f"not gzip {CANARY}")
    async with mock_client(always(answer)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        with pytest.raises(AzureError) as info:
            await (adapter.create(CREATE) if method == "create" else adapter.get(ENDPOINT_ID))
    assert info.value.reason == "InvalidResponse" and info.value.error_class is ErrorClass.TRANSIENT
    assert info.value.outcome_unknown is (method == "create")
    assert_clean(info.value, CANARY)
    assert CANARY not in caplog.text


async def test_a_real_gzip_body_is_read() -> None:
    body = gzip.compress(httpx.Response(200, json=example("stt-v3.2", "get_endpoint")).content)
    answer = httpx.Response(200, headers=GZIP, stream=httpx.ByteStream(body))
    async with mock_client(always(answer)) as client:
        endpoint = await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).get(ENDPOINT_ID)
    assert endpoint.id


@pytest.mark.parametrize(
    "raised",
    [
        RuntimeError(f"unexpected {CANARY}"),
        httpx.StreamClosed(),
        httpx.TooManyRedirects(f"loop {CANARY}"),
        UnicodeDecodeError("utf-8", CANARY.encode(), 0, 1, "bad"),
    ],
)
async def test_anything_else_from_the_http_stack_is_a_transient_failure(raised: Exception) -> None:
    async with mock_client(always(raised)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.create(CREATE)
    assert info.value.error_class is ErrorClass.TRANSIENT and info.value.outcome_unknown
    assert type(raised).__name__ in info.value.message
    assert_clean(info.value, CANARY)


# --- log downloads ------------------------------------------------------------------------------------------

SAS = f"https://acct.blob.core.windows.net/logs/a.wav?sv=2024&sig={CANARY}"


def log_file(url: str = SAS) -> LogFile:
    return LogFile(id="a", name="a.wav", content_url=SecretStr(url))


@pytest.mark.parametrize(
    "answer",
    [
        not_gzip(200, "not gzip at all"),
        not_gzip(404, "not gzip at all"),
        RuntimeError(f"odd {SAS}"),
        httpx.ReadError(f"reset {SAS}"),
    ],
)
async def test_a_failed_download_is_an_azure_error_naming_no_sas_url(answer: object, tmp_path: Path) -> None:
    async with mock_client(always(answer)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.download_log(log_file(), tmp_path / "a.wav")
    assert_clean(info.value, CANARY, SAS)
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "a.wav.part").exists()


async def test_a_content_url_httpx_cannot_build_is_an_invalid_response(tmp_path: Path) -> None:
    url = f"https://xn--a.blob.core.windows.net/logs/a.wav?sig={CANARY}"
    async with mock_client(_never) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.download_log(log_file(url), tmp_path / "a.wav")
    assert info.value.reason == "InvalidResponse"
    assert_clean(info.value, CANARY, url)


async def test_a_next_link_httpx_cannot_build_is_an_invalid_response() -> None:
    page = {
        "values": [],
        "@nextLink": "https://westus.api.cognitive.microsoft.com/speechtotext/v3.2/endpoints?x="
        + "y" * 70_000,
    }
    async with mock_client(always(json_response(200, page))) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            [e async for e in adapter.list()]
    assert info.value.reason == "InvalidResponse"
    assert_clean(info.value, CANARY)


# --- whatever Azure answers ---------------------------------------------------------------------------------

_text = st.text(max_size=30) | st.sampled_from(
    ["https://[", "http://[::1", "https://h/speechtotext/x?y", "", "%"]
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=12,
)
_endpointish = st.fixed_dictionaries(
    {},
    optional={
        "self": _text,
        "model": st.fixed_dictionaries({}, optional={"self": _text}) | _json,
        "project": st.fixed_dictionaries({}, optional={"self": _text}) | _json,
        "links": st.dictionaries(_text, _text, max_size=3) | _json,
        "properties": st.fixed_dictionaries({}, optional={"error": _json, "loggingEnabled": _json}) | _json,
        "customProperties": _json,
        "status": _json,
        "createdDateTime": _json,
        "@nextLink": _text,
        "values": st.lists(_json, max_size=3),
        "value": st.lists(_json, max_size=3),
        "nextLink": _text,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@case(status=200, body={"self": "https://[/speechtotext/v3.2/endpoints/x"}, operation="get")
@case(
    status=200,
    body={"self": "https://h/speechtotext/v3.2/endpoints/x", "model": {"self": "http://[::1"}},
    operation="get",
)
@case(status=200, body={"values": [{"self": "https://[", "name": "a"}]}, operation="logs")
@case(status=200, body={"values": [], "@nextLink": "https://[/speechtotext/v3.2/endpoints"}, operation="list")
@case(status=202, body={"id": "x"}, operation="voice-suspend")
@given(
    status=st.sampled_from([200, 201, 202, 204, 301, 400, 404, 429, 500]),
    body=_endpointish | _json,
    operation=st.sampled_from(["get", "create", "list", "model", "logs", "voice-get", "voice-suspend"]),
)
async def test_whatever_azure_answers_only_an_azure_error_leaves_the_client(
    status: int, body: object, operation: str
) -> None:
    async with mock_client(always(httpx.Response(status, json=body))) as client:
        speech = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        voice = client.voice(AzureTarget.for_region("westus", "2026-01-01"), KEY)
        v3 = client.voice(AzureTarget.for_voice_v3("westus"), KEY)
        try:
            if operation == "get":
                await speech.get(ENDPOINT_ID)
            elif operation == "create":
                await speech.create(CREATE)
            elif operation == "list":
                [e async for e in speech.list()]
            elif operation == "model":
                await speech.get_model(ModelRef(id="m", kind="base"))
            elif operation == "logs":
                [f async for f in speech.list_logs(ENDPOINT_ID)]
            elif operation == "voice-get":
                await voice.get(ENDPOINT_ID)
            else:
                await v3.suspend(ENDPOINT_ID, "op-1")
        except AzureError as exc:
            assert_clean(exc, CANARY)
