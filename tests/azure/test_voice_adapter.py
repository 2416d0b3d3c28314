"""Custom voice adapters (2026-01-01, 2024-02-01-preview, v3.0) against httpx.MockTransport."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
from azure_speech_operator.azure import ApiKey, AzureError, AzureTarget, ClientSettings, ErrorClass
from azure_speech_operator.azure.types import VoiceEndpointCreate

from .helpers import CANARY, example, json_response, mock_client

KEY = ApiKey(key=CANARY)
CUSTOM = "https://my-speech.cognitiveservices.azure.com"
FOLDERS = {"2026-01-01": "cv-2026-01-01", "2024-02-01-preview": "cv-2024-02-01-preview"}
EP = "9f50c644-2121-40e9-9ea7-544e48bfe3cb"
OP = "2595b58d-40d6-4032-a618-482dcce1c130"
BODY = VoiceEndpointCreate(
    description="Endpoint for Jessica voice", project_id="Jessica", model_id="Jessica", kind="HighPerformance"
)


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_create_gets_first_then_puts_with_the_operation_id(version: str) -> None:
    requests: list[httpx.Request] = []
    created = example(FOLDERS[version], "create_endpoint", "201")

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "GET":
            return json_response(404, {"error": {"code": "NotFound", "message": "no"}})
        loc = f"https://eastus.api.cognitive.microsoft.com/customvoice/operations/{OP}?api-version={version}"
        return json_response(201, created, {"Operation-Id": OP, "Operation-Location": loc})

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version=version), KEY)
        endpoint, operation = await adapter.create(EP, BODY, OP)
    get, put = requests
    assert get.method == "GET" and put.method == "PUT"
    assert put.url.path == f"/customvoice/endpoints/{EP}" and put.url.params["api-version"] == version
    assert put.headers["Operation-Id"] == OP
    assert json.loads(put.content) == {
        "projectId": "Jessica",
        "modelId": "Jessica",
        "description": "Endpoint for Jessica voice",
        "properties": {"kind": "HighPerformance"},
    }
    assert endpoint.id == EP and endpoint.status == "NotStarted" and endpoint.kind == "HighPerformance"
    assert operation.id == OP
    assert operation.location == f"{CUSTOM}/customvoice/operations/{OP}?api-version={version}"


async def test_create_of_an_existing_endpoint_does_not_put() -> None:
    body = example("cv-2026-01-01", "get_endpoint")
    body["status"] = "Running"
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return json_response(200, body)

    async with mock_client(handler) as client:
        endpoint, operation = await client.voice(AzureTarget.for_region("eastus", "2026-01-01"), KEY).create(
            EP, BODY, OP
        )
    assert methods == ["GET"]
    assert (endpoint.status, operation.status, operation.id) == ("Running", "Running", OP)


async def test_create_surfaces_other_errors_of_the_get() -> None:
    async with mock_client(
        lambda r: json_response(403, {"error": {"code": "Forbidden", "message": "x"}})
    ) as client:
        with pytest.raises(AzureError) as info:
            await client.voice(AzureTarget.for_region("eastus", "2026-01-01"), KEY).create(EP, BODY, OP)
    assert info.value.error_class is ErrorClass.BLOCKED


@pytest.mark.parametrize("version", list(FOLDERS))
@pytest.mark.parametrize(("action", "status"), [("suspend", "Disabling"), ("resume", "Running")])
async def test_suspend_and_resume(version: str, action: str, status: str) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return json_response(
            202, example(FOLDERS[version], f"{action}_endpoint", "202"), {"Operation-Id": "op-2"}
        )

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget.for_region("eastus", version), KEY)
        endpoint, operation = await getattr(adapter, action)(EP, "op-2")
    assert requests[0].method == "POST" and requests[0].url.path == f"/customvoice/endpoints/{EP}:{action}"
    assert requests[0].headers["Operation-Id"] == "op-2"
    assert endpoint.status == status
    assert operation is not None and operation.id == "op-2"


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_get_operation_list_and_delete(version: str) -> None:
    pages = {
        None: example(FOLDERS[version], "get_endpoints") if version == "2026-01-01" else None,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/customvoice/operations/"):
            return json_response(200, example(FOLDERS[version], "get_operation"))
        if request.method == "DELETE":
            return httpx.Response(204)
        if path == "/customvoice/endpoints":
            if "skip" in request.url.params:
                return json_response(200, {"value": []})
            page = pages[None] or {"value": [example(FOLDERS[version], "get_endpoint")]}
            return json_response(200, page)
        raise AssertionError(path)

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version=version), KEY)
        operation = await adapter.get_operation(OP)
        listed = [e async for e in adapter.list()]
        deleted = await adapter.delete(EP)
    assert operation.status in ("Running", "Succeeded", "NotStarted")
    assert operation.location and operation.location.startswith(CUSTOM)
    assert listed and all(e.id for e in listed)
    assert deleted is True


def _v3_endpoint(status: str) -> dict[str, object]:
    return {
        "id": EP,
        "name": "Jessica",
        "description": "d",
        "locale": "en-US",
        "model": {"id": "m-1"},
        "project": {"id": "p-1"},
        "properties": {},
        "status": status,
        "createdDateTime": "2023-04-01T05:30:00Z",
        "lastActionDateTime": "2023-04-02T10:15:30Z",
    }


async def test_v3_get_suspend_resume() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return httpx.Response(202, headers={"Retry-After": "30", "Location": "x"})
        return json_response(200, _v3_endpoint("Disabling"))

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget.for_voice_v3("westus"), KEY)
        got = await adapter.get(EP)
        endpoint, operation = await adapter.suspend(EP, "ignored-op")
        await adapter.resume(EP, "ignored-op")
    assert got.model_id == "m-1" and got.project_id == "p-1" and got.display_name == "Jessica"
    assert requests[1].url.path == f"/api/texttospeech/v3.0/endpoints/{EP}/suspend"
    assert requests[1].headers["content-length"] == "0" and requests[1].content == b""
    assert requests[1].headers["content-type"] == "application/json"
    assert requests[3].url.path.endswith("/resume")
    assert operation is None and endpoint.retry_after == 30.0
    assert requests[0].url.host == "westus.customvoice.api.speech.microsoft.com"


async def test_v3_refuses_the_rest_clearly() -> None:
    async with mock_client(lambda r: httpx.Response(500)) as client:
        adapter = client.voice(AzureTarget.for_voice_v3("westus"), KEY)
        for call in (adapter.create(EP, BODY, OP), adapter.delete(EP), adapter.get_operation(OP)):
            with pytest.raises(AzureError) as info:
                await call
            assert info.value.reason == "NotSupportedByApiVersion" and "v3.0" in info.value.message
            assert info.value.error_class is ErrorClass.FATAL
        with pytest.raises(AzureError):
            [e async for e in adapter.list()]


async def test_bad_operation_id_is_named() -> None:
    async with mock_client(lambda r: httpx.Response(500)) as client:
        with pytest.raises(AzureError) as info:
            await client.voice(AzureTarget.for_region("eastus", "2026-01-01"), KEY).suspend(EP, "a")
    assert "operation id" in info.value.message


async def test_unsupported_voice_version_is_named() -> None:
    async with mock_client(lambda r: httpx.Response(500)) as client:
        with pytest.raises(AzureError) as info:
            client.voice(AzureTarget.for_region("eastus", "2023-12-01-preview"), KEY)
    assert "'2023-12-01-preview'" in info.value.message


def test_deterministic_ids() -> None:
    from azure_speech_operator.azure.voice import (
        _OPERATION_ID,
        deterministic_endpoint_id,
        deterministic_operation_id,
    )

    first = deterministic_endpoint_id("uid-1", 0)
    assert first == deterministic_endpoint_id("uid-1", 0)
    assert first != deterministic_endpoint_id("uid-1", 1) != deterministic_endpoint_id("uid-2", 1)
    op = deterministic_operation_id(first, "create")
    assert op == deterministic_operation_id(first, "create") != deterministic_operation_id(first, "suspend")
    assert _OPERATION_ID.match(op)


REGIONAL = "https://eastus.api.cognitive.microsoft.com"


@pytest.mark.parametrize("action", ["create", "suspend", "resume"])
async def test_operation_location_is_rebased_onto_the_configured_host(action: str) -> None:
    """Azure names its regional host in Operation-Location even when called on a custom domain."""
    op_id = "azure-chosen-op"
    location = f"{REGIONAL}/customvoice/operations/{op_id}?api-version=2026-01-01&extra=1"
    body = example("cv-2026-01-01", "get_endpoint")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return json_response(404, {"error": {"code": "NotFound", "message": "no"}})
        return json_response(201 if action == "create" else 202, body, {"Operation-Location": location})

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version="2026-01-01"), KEY)
        if action == "create":
            _, operation = await adapter.create(EP, BODY, OP)
        else:
            _, operation = await getattr(adapter, action)(EP, OP)
    assert operation is not None and operation.id == op_id  # no Operation-Id header: named by the location
    assert operation.location == f"{CUSTOM}/customvoice/operations/{op_id}?api-version=2026-01-01&extra=1"


async def test_an_operation_location_off_the_api_is_never_used() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Operation-Id": OP, "Operation-Location": "https://evil.example/steal?x=1"}
        return json_response(202, example("cv-2026-01-01", "get_endpoint"), headers)

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version="2026-01-01"), KEY)
        _, operation = await adapter.suspend(EP, OP)
    assert operation is not None
    assert operation.location == f"{CUSTOM}/customvoice/operations/{OP}?api-version=2026-01-01"


async def test_next_link_is_rebased_onto_the_configured_host() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "skip" in request.url.params:
            return json_response(200, {"value": [example("cv-2026-01-01", "get_endpoint")]})
        page = {
            "value": [example("cv-2026-01-01", "get_endpoint")],
            "nextLink": f"{REGIONAL}/customvoice/endpoints?api-version=2026-01-01&skip=1&maxpagesize=1",
        }
        return json_response(200, page)

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version="2026-01-01"), KEY)
        listed = [e async for e in adapter.list()]
    assert len(listed) == 2
    assert seen[1] == f"{CUSTOM}/customvoice/endpoints?api-version=2026-01-01&skip=1&maxpagesize=1"


async def test_v3_location_is_rebased_onto_the_configured_host() -> None:
    """The v3.0 202 has no body, a Location on the regional host and Retry-After as a string."""
    custom = "https://my-voice.cognitiveservices.azure.com"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            location = (
                f"https://westus.customvoice.api.speech.microsoft.com/api/texttospeech/v3.0/endpoints/{EP}"
            )
            return httpx.Response(202, headers={"Retry-After": "15", "Location": location})
        return json_response(200, _v3_endpoint("Disabling"))

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=custom, api_version="v3.0"), KEY)
        endpoint, _ = await adapter.suspend(EP, "unused")
    post, get = seen
    assert post.url.path == f"/api/texttospeech/v3.0/endpoints/{EP}/suspend"
    assert str(get.url) == f"{custom}/api/texttospeech/v3.0/endpoints/{EP}"
    assert endpoint.status == "Disabling" and endpoint.retry_after == 15.0


async def test_unknown_fields_and_enum_values_are_surfaced() -> None:
    endpoint_body = example("cv-2026-01-01", "get_endpoint")
    endpoint_body.update(status="Hibernating", properties={"kind": "UltraFast", "new": 1}, extra=[1])
    v3_body = {**_v3_endpoint("Archived"), "newField": {"x": 1}}

    def handler(request: httpx.Request) -> httpx.Response:
        if "/operations/" in request.url.path:
            return json_response(200, {"id": OP, "status": "Paused", "percentDone": 50})
        if "/texttospeech/" in request.url.path:
            return json_response(200, v3_body)
        return json_response(200, endpoint_body)

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version="2026-01-01"), KEY)
        endpoint = await adapter.get(EP)
        operation = await adapter.get_operation(OP)
        old = await client.voice(AzureTarget.for_voice_v3("westus"), KEY).get(EP)
    assert (endpoint.status, endpoint.kind) == ("Hibernating", "UltraFast")
    assert operation.status == "Paused"
    assert old.status == "Archived"


async def test_a_region_url_sends_regional_targets_elsewhere_but_never_custom_domains() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(f"{request.url.scheme}://{request.url.host}:{request.url.port}")
        return json_response(200, _v3_endpoint("Succeeded"))

    settings = ClientSettings(
        allowed_hosts=("sim.test:8080", "*.api.cognitive.azure.cn", "my.cognitiveservices.azure.com"),
        allow_http=True,
        region_url="https://{region}.api.cognitive.azure.cn",
        voice_v3_region_url="http://sim.test:8080",
    )
    async with mock_client(handler, settings) as client:
        await client.voice(AzureTarget.for_voice_v3("westus"), KEY).get(EP)
        # only the host matters here (the answer is a v3.0 body)
        with contextlib.suppress(AzureError):
            await client.voice(AzureTarget.for_region("chinaeast2", "2026-01-01"), KEY).get(EP)
        custom = AzureTarget(base_url="https://my.cognitiveservices.azure.com", api_version="2026-01-01")
        with contextlib.suppress(AzureError):
            await client.voice(custom, KEY).get(EP)
    assert hosts == [
        "http://sim.test:8080",
        "https://chinaeast2.api.cognitive.azure.cn:None",
        "https://my.cognitiveservices.azure.com:None",
    ]


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_answers_without_the_ids_the_spec_leaves_optional_name_what_was_asked(version: str) -> None:
    # the spec requires only projectId and modelId of an Endpoint, and nothing of an Operation
    endpoint = {"projectId": "Jessica", "modelId": "Jessica", "status": "Running"}
    other = "6f9d7e21-2121-40e9-9ea7-544e48bfe3cb"

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/customvoice/operations/"):
            return json_response(200, {"status": "Succeeded"})
        if path.endswith(":suspend"):
            return json_response(202, endpoint, {"Operation-Id": OP})
        if request.method == "GET" and path.endswith(f"/endpoints/{EP}"):
            return json_response(200, endpoint)
        if request.method == "GET" and path == "/customvoice/endpoints":
            items = [endpoint, {**endpoint, "id": other}]  # one without its id names nothing: left out
            return json_response(200, {"value": items})
        return json_response(404, {"error": {"code": "NotFound", "message": "no"}})

    async with mock_client(handler) as client:
        adapter = client.voice(AzureTarget(base_url=CUSTOM, api_version=version), KEY)
        assert (await adapter.get(EP)).id == EP
        suspended, operation = await adapter.suspend(EP, OP)
        assert suspended.id == EP and operation is not None and operation.id == OP
        polled = await adapter.get_operation(OP)
        assert (polled.id, polled.status) == (OP, "Succeeded")
        assert [e.id async for e in adapter.list()] == [other]
