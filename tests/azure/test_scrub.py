"""Azure's text is scrubbed wherever the client reads it, successful answers included: a key (any case,
URL-encoded), SAS signatures (`sig=` anywhere, raw or percent-encoded), credential query parameters, bearer
tokens and JWTs, and terminal control characters never reach the version-neutral types."""

from __future__ import annotations

import json
import string
from urllib.parse import quote, quote_plus

import httpx
import pytest
from azure_speech_operator.azure import ApiKey, AzureTarget, EntraIdentity
from azure_speech_operator.azure.scrub import redact, redact_json, scrub
from azure_speech_operator.azure.types import ModelRef, SpeechEndpointCreate
from hypothesis import assume, given
from hypothesis import strategies as st

from .helpers import CANARY, StaticTokens, always, example, json_response, mock_client

# A key with characters URL-encoding changes, so its encoded echo differs from the raw one.
KEY = "Canary/Key+0123456789=abcdefABCDEF"
SIG = "c2lnbmF0dXJlLXNlY3JldA%3D%3D"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUifQ.c2lnbmF0dXJlLXBhcnQ"
ENDPOINT_ID = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
CREATE = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))


def hostile_endpoint(base: dict[str, object]) -> dict[str, object]:
    """An endpoint answer whose every text echoes credentials in some form."""
    body = dict(base)
    body["properties"] = {
        "loggingEnabled": False,
        "error": {
            "code": "InvalidModel",
            "message": (
                f"Ocp-Apim-Subscription-Key: {KEY} refused; also {KEY.upper()} and {quote(KEY, safe='')} "
                f"and {quote_plus(KEY)}; Authorization: Bearer {JWT}; see https://aka.ms/x?sig={SIG}"
            ),
        },
    }
    body["links"] = {
        "restInteractive": f"https://westus.stt.speech.microsoft.com/a?cid=1&key={KEY}",
        "restConversation": f"https://westus.stt.speech.microsoft.com/a?cid=1&SIG={SIG}&se=2030",
        "webSocket": f"wss://westus.stt.speech.microsoft.com/b?token={JWT}",
        "encoded": "https://x.example/?u="
        + quote(f"https://a.blob.core.windows.net/x?sv=1&sig={SIG}", safe=""),
        f"name{KEY}": "value",
    }
    body["status"] = "Failed \x1b[31mred\x1b[0m \x9b2J"
    return body


def assert_clean(text: str) -> None:
    for secret in (KEY, KEY.upper(), quote(KEY, safe=""), quote_plus(KEY), SIG, JWT, "\x1b", "\x9b"):
        assert secret.lower() not in text.lower(), (secret, text)


@pytest.mark.parametrize("method", ["get", "create", "update", "list"])
async def test_successful_answers_are_scrubbed_before_the_types_see_them(method: str) -> None:
    body = hostile_endpoint(example("stt-2025-10-15", "get_endpoint"))
    answer = json_response(200, {"values": [body]} if method == "list" else body)
    if method == "create":
        answer = json_response(201, body)
    async with mock_client(always(answer)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), ApiKey(key=KEY))
        if method == "get":
            endpoint = await adapter.get(ENDPOINT_ID)
        elif method == "create":
            endpoint = await adapter.create(CREATE)
        elif method == "update":
            from azure_speech_operator.azure.types import SpeechEndpointUpdate

            endpoint = await adapter.update(ENDPOINT_ID, SpeechEndpointUpdate(description="x"))
        else:
            [endpoint] = [e async for e in adapter.list()]
    dumped = endpoint.model_dump_json()
    assert_clean(dumped)
    assert endpoint.error is not None and endpoint.error.code == "InvalidModel"
    assert "refused" in (endpoint.error.message or "")
    assert endpoint.links["restInteractive"].startswith(
        "https://westus.stt.speech.microsoft.com/a?cid=1&key="
    )


async def test_fields_written_from_the_spec_are_read_verbatim() -> None:
    """displayName, description and customProperties are compared with the spec for drift and never shown:
    masking a credential look-alike in them would make the operator "repair" them on every check."""
    body = example("stt-2025-10-15", "get_endpoint")
    body["displayName"] = "calls; code=7"
    body["description"] = "see https://x.example/?sig=public-sample"
    body["customProperties"] = {"callback": "https://x.example/hook?token=abc123", "key=": "bearer x"}

    def handler(request: httpx.Request) -> httpx.Response:
        listing = request.url.path.endswith("/endpoints")
        return json_response(200, {"values": [body]} if listing else body)

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), ApiKey(key=KEY))
        endpoint = await adapter.get(ENDPOINT_ID)
        [listed] = [e async for e in adapter.list()]
    assert endpoint.display_name == "calls; code=7"
    assert endpoint.description == "see https://x.example/?sig=public-sample"
    assert endpoint.custom_properties == body["customProperties"]
    assert listed == endpoint


async def test_an_echoed_entra_token_is_scrubbed() -> None:
    token = f"{JWT}-{CANARY}"
    body = example("stt-2025-10-15", "get_endpoint")
    body["properties"] = {"error": {"code": "X", "message": f"token {token} and {token.upper()}"}}
    tokens = StaticTokens((token, 4_000_000_000.0))
    async with mock_client(always(json_response(200, body)), token_provider=tokens) as client:
        adapter = client.speech(
            AzureTarget(base_url="https://my.cognitiveservices.azure.com", api_version="2025-10-15"),
            EntraIdentity(),
        )
        endpoint = await adapter.get(ENDPOINT_ID)
    assert CANARY not in endpoint.model_dump_json().lower()


async def test_log_file_names_and_kinds_are_scrubbed() -> None:
    page = {
        "values": [
            {
                "self": f"https://westus.api.cognitive.microsoft.com/speechtotext/v3.2/endpoints/{ENDPOINT_ID}/files/logs/1",
                "name": f"a\x1b]0;pwned\x07{KEY}.wav",
                "kind": "Audio\x1b[2J",
                "links": {"contentUrl": f"https://a.blob.core.windows.net/x?sig={SIG}"},
            }
        ]
    }
    async with mock_client(always(json_response(200, page))) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), ApiKey(key=KEY))
        [log] = [f async for f in adapter.list_logs(ENDPOINT_ID)]
    assert_clean(log.name + (log.kind or ""))
    # The SAS URL is the download's credential: kept whole, but only as a SecretStr.
    assert log.content_url is not None and SIG in log.content_url.get_secret_value()


async def test_voice_answers_are_scrubbed() -> None:
    body = {
        "id": ENDPOINT_ID,
        "modelId": f"?sig={SIG}",
        "status": f"Succeeded {KEY}",
        "properties": {"kind": f"Bearer {JWT}"},
    }
    async with mock_client(always(json_response(200, body))) as client:
        adapter = client.voice(AzureTarget.for_region("westus", "2026-01-01"), ApiKey(key=KEY))
        endpoint = await adapter.get(ENDPOINT_ID)
    assert_clean(endpoint.model_dump_json())


async def test_a_v3_voice_action_answer_is_scrubbed() -> None:
    body = {"id": ENDPOINT_ID, "status": "Disabling", "properties": {"error": {"message": f"bad {KEY}"}}}
    answer = httpx.Response(202, json=body)
    async with mock_client(always(answer)) as client:
        adapter = client.voice(AzureTarget.for_voice_v3("westus"), ApiKey(key=KEY))
        endpoint, _ = await adapter.suspend(ENDPOINT_ID, "op-1")
    assert_clean(endpoint.model_dump_json())


# --- the scrubber's properties ------------------------------------------------------------------------------

_KEY_CHARS = string.ascii_letters + string.digits + "+/=-_.~!$()"
_secrets = st.text(alphabet=_KEY_CHARS, min_size=8, max_size=64)
_any_text = st.text(max_size=40)


_FORMS = ["raw", "upper", "lower", "quote", "quote_path", "quote_plus"]


@given(_any_text, _secrets, _any_text, st.sampled_from(_FORMS))
def test_a_known_secret_never_survives_in_any_case_or_encoding(
    before: str, secret: str, after: str, form: str
) -> None:
    shown = {
        "raw": secret,
        "upper": secret.upper(),
        "lower": secret.lower(),
        "quote": quote(secret, safe=""),
        "quote_path": quote(secret),  # a URL path keeps its "/"
        "quote_plus": quote_plus(secret),
    }[form]
    cleaned = redact(before + shown + after, [secret]).lower()
    assert secret.lower() not in cleaned
    assert quote(secret, safe="").lower() not in cleaned
    assert quote(secret).lower() not in cleaned


def test_a_key_quoted_as_a_path_is_masked() -> None:
    assert redact("echo Ab3%2BxY/9zQ%3D%3D", ["Ab3+xY/9zQ=="]) == "echo ***"


_VALUE_CHARS = string.ascii_letters + string.digits + "%+/=-_."
_SEPARATORS = ["?", "&", ";", "%3F", "%26", "%253F", "%2526", " ", "/", '"']


@given(
    st.sampled_from(["sig", "SIG", "Sig"]),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(["=", "%3D", "%3d", "%253D"]),
    st.text(alphabet=_VALUE_CHARS, min_size=8, max_size=60),
    st.text(alphabet=string.ascii_letters + "/:.", max_size=30),
    st.text(alphabet=string.ascii_letters + " ,", max_size=30),
)
def test_a_sas_signature_never_survives_anywhere(
    name: str, separator: str, equals: str, value: str, before: str, after: str
) -> None:
    assume(value not in before + after)
    cleaned = redact(f"{before}{separator}{name}{equals}{value}&{after}")
    assert value not in cleaned


@given(
    st.sampled_from(["key", "subscription-key", "access_token", "token", "code", "api-key", "AccountKey"]),
    st.sampled_from(["?", "&", ";", "%3F", "%26", "%3f"]),
    st.text(alphabet=_VALUE_CHARS, min_size=8, max_size=60),
)
def test_credential_query_parameters_never_survive(name: str, separator: str, value: str) -> None:
    text = f"https://westus.stt.speech.microsoft.com/path{separator}{name}={value}"
    assert value not in redact(text)
    encoded = quote(text, safe="")
    assert quote(value, safe="") not in redact(encoded)


@given(
    st.text(alphabet=string.ascii_letters + string.digits + "-._~+/", min_size=12, max_size=80),
    st.lists(
        st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8), min_size=3, max_size=3
    ),
)
def test_bearer_tokens_and_jwts_never_survive(token: str, segments: list[str]) -> None:
    assume(not token.lower().startswith(("bearer", "-", ".", "~", "+", "/")))
    for text in (f"Authorization: Bearer {token}", f"bearer {token}", f'{{"authorization": "{token}"}}'):
        assert token not in redact(text), text
    header, claims, signature = segments
    jwt = f"eyJ{header}.eyJ{claims}.{signature}"
    cleaned = redact(f"x {jwt} y")
    assert header not in cleaned and claims not in cleaned and signature not in cleaned


@given(st.text(max_size=200), st.lists(_secrets, max_size=3))
def test_redaction_is_idempotent_and_removes_terminal_controls(text: str, secrets: list[str]) -> None:
    once = redact(text, secrets)
    assert redact(once, secrets) == once
    assert not any((0 <= ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F for c in once)


@given(st.text(alphabet=string.ascii_letters + string.digits + " .,:()-'\n", max_size=200))
def test_ordinary_text_is_left_alone(text: str) -> None:
    lowered = text.lower()
    assume(
        not any(word in lowered for word in ("bearer", "eyj", "authorization", "subscription-key", "api-key"))
    )
    assert redact(text) == text


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


@given(_json, _secrets)
def test_every_string_of_an_answer_is_redacted_keys_included(tree: object, secret: str) -> None:
    hostile = {"a": [tree, f"x{secret}y"], f"k{secret}": {"b": secret.upper()}, "c": tree}
    cleaned = json.dumps(redact_json(hostile, [secret]), ensure_ascii=False)
    assert secret.lower() not in cleaned.lower()


def test_scrub_also_shortens_for_messages() -> None:
    assert len(scrub("x" * 2000)) == 500 and len(redact("x" * 2000)) == 2000


def test_deeply_nested_answers_are_handled_without_recursion() -> None:
    tree: object = KEY
    for _ in range(5000):
        tree = [tree]
    cleaned = redact_json(tree, [KEY])
    for _ in range(5000):
        assert isinstance(cleaned, list)
        cleaned = cleaned[0]
    assert cleaned == "***"
