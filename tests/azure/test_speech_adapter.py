"""The speech to text adapters against httpx.MockTransport, fed with the official example responses."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure_speech_operator.azure import (
    MARKER_KEY,
    ApiKey,
    AzureError,
    AzureTarget,
    ClientSettings,
    ErrorClass,
)
from azure_speech_operator.azure.types import ModelRef, SpeechEndpointCreate, SpeechEndpointUpdate
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import CANARY, always, example, json_response, mock_client

KEY = ApiKey(key=CANARY)
CUSTOM = "https://my-speech.cognitiveservices.azure.com"
FOLDERS = {"v3.2": "stt-v3.2", "2024-11-15": "stt-2024-11-15", "2025-10-15": "stt-2025-10-15"}
ENDPOINT_ID = "afa0669c-a01e-4693-ae3a-93baf40f26d6"


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_get_builds_the_versions_url_and_rebases_self(version: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, example(FOLDERS[version], "get_endpoint"), {"Retry-After": "7"})

    async with mock_client(handler) as client:
        endpoint = await client.speech(AzureTarget(base_url=CUSTOM, api_version=version), KEY).get(
            ENDPOINT_ID
        )
    request = seen[0]
    assert request.url.host == "my-speech.cognitiveservices.azure.com"
    if version == "v3.2":
        assert request.url.path == f"/speechtotext/v3.2/endpoints/{ENDPOINT_ID}"
        assert "api-version" not in request.url.params
    else:
        assert request.url.path == f"/speechtotext/endpoints/{ENDPOINT_ID}"
        assert request.url.params["api-version"] == version
    assert request.headers["Ocp-Apim-Subscription-Key"] == CANARY
    assert endpoint.id == ENDPOINT_ID
    assert endpoint.self_url.startswith(CUSTOM + "/speechtotext/")  # Azure answered with westus
    assert endpoint.retry_after == 7
    assert endpoint.locale == "en-US"
    assert endpoint.model is not None and endpoint.model.kind in ("base", "custom")


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_create_sends_the_marker_and_model_reference(version: str) -> None:
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        sent.append(json.loads(request.content))
        body = example(FOLDERS[version], "create_endpoint", "201") if version != "v3.2" else None
        body = body or example("stt-v3.2", "get_endpoint")
        return json_response(201, body, {"Location": body["self"]})

    create = SpeechEndpointCreate(
        display_name="d",
        locale="en-US",
        model=ModelRef(id="ae8d1643-53e4-4554-be4c-221dcfb471c5", kind="base"),
        custom_properties={MARKER_KEY: "uid-1", "team": "a"},
        logging_enabled=True,
    )
    async with mock_client(handler) as client:
        endpoint = await client.speech(AzureTarget.for_region("westus", version), KEY).create(create)
    body = sent[0]
    assert body["customProperties"] == {MARKER_KEY: "uid-1", "team": "a"}
    assert body["properties"] == {"loggingEnabled": True}
    model_self = body["model"]["self"]  # type: ignore[index]
    assert "/models/base/ae8d1643-53e4-4554-be4c-221dcfb471c5" in model_self
    assert ("api-version=" in model_self) == (version != "v3.2")
    assert endpoint.id == ENDPOINT_ID


async def test_projects_are_refused_by_2024_11_15_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    create = SpeechEndpointCreate(
        display_name="d", locale="en-US", model=ModelRef(id="m1", kind="custom"), project_id="p1"
    )
    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2024-11-15"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.create(create)
        with pytest.raises(AzureError):
            await adapter.get_project("p1")
    assert info.value.reason == "NotSupportedByApiVersion"
    assert info.value.error_class is ErrorClass.FATAL
    assert "2024-11-15" in info.value.message


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_update_sends_only_changed_fields(version: str) -> None:
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "PATCH"
        sent.append(json.loads(request.content))
        return json_response(200, example(FOLDERS[version], "update_endpoint"))

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", version), KEY)
        await adapter.update(ENDPOINT_ID, SpeechEndpointUpdate(display_name="x", logging_enabled=False))
    assert sent == [{"displayName": "x", "properties": {"contentLoggingEnabled": False}}]


async def test_empty_update_is_a_get() -> None:
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return json_response(200, example("stt-v3.2", "get_endpoint"))

    async with mock_client(handler) as client:
        await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).update(
            ENDPOINT_ID, SpeechEndpointUpdate()
        )
    assert methods == ["GET"]


async def test_delete_reports_already_gone() -> None:
    answers = iter([httpx.Response(204), json_response(404, {"code": "NotFound", "message": "gone"})])

    async with mock_client(lambda request: next(answers)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        assert await adapter.delete(ENDPOINT_ID) is True
        assert await adapter.delete(ENDPOINT_ID) is False


async def test_list_follows_next_links_on_the_configured_host() -> None:
    first = example("stt-2024-11-15", "get_endpoints")
    assert first["@nextLink"].startswith("https://westus.")
    last = example("stt-2024-11-15", "get_not_started_endpoints")
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return json_response(200, first if len(seen) == 1 else last)

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget(base_url=CUSTOM, api_version="2024-11-15"), KEY)
        found = [e async for e in adapter.list()]
    assert len(found) == len(first["values"]) + len(last["values"])
    assert [u.host for u in seen] == ["my-speech.cognitiveservices.azure.com"] * 2
    assert seen[1].params["skip"] and seen[1].params["api-version"] == "2024-11-15"


async def test_list_stops_on_a_next_link_loop() -> None:
    page = {
        "values": [],
        "@nextLink": "https://westus.api.cognitive.microsoft.com/speechtotext/v3.2/endpoints?skip=1",
    }
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(200, page)

    async with mock_client(handler) as client:
        found = [e async for e in client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).list()]
    assert found == [] and len(calls) == 2


async def test_find_by_marker_pages_and_matches_only_the_marker() -> None:
    def endpoint(n: int, marker: str | None) -> dict[str, object]:
        body = example("stt-2025-10-15", "get_endpoint")
        body["self"] = body["self"].replace(ENDPOINT_ID, f"00000000-0000-0000-0000-00000000000{n}")
        body["customProperties"] = {MARKER_KEY: marker} if marker else {"other": "uid-7"}
        return body

    base = "https://westus.api.cognitive.microsoft.com/speechtotext/endpoints"
    pages = {
        None: {
            "values": [endpoint(1, "uid-1"), endpoint(2, None)],
            "@nextLink": f"{base}?skip=2&api-version=2025-10-15",
        },
        "2": {"values": [endpoint(3, "uid-7")]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, pages[request.url.params.get("skip")])

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        found = await adapter.find_by_marker(MARKER_KEY, "uid-7")
        missing = await adapter.find_by_marker(MARKER_KEY, "uid-9")
    assert found is not None and found.id.endswith("3")
    assert missing is None


async def test_an_entry_with_a_self_outside_the_api_does_not_hide_the_others() -> None:
    def endpoint(n: int, marker: str, version: str) -> dict[str, object]:
        body = example("stt-2025-10-15", "get_endpoint")
        body["self"] = f"https://westus.api.cognitive.microsoft.com/speechtotext/{version}/endpoints/" + (
            f"00000000-0000-0000-0000-00000000000{n}"
        )
        body["customProperties"] = {MARKER_KEY: marker}
        return body

    page = {"values": [endpoint(1, "other", "v3.1"), endpoint(2, "mine", "v3.2")]}
    async with mock_client(lambda request: json_response(200, page)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        listed = [e.id async for e in adapter.list()]
        found = await adapter.find_by_marker(MARKER_KEY, "mine")
    assert listed == ["00000000-0000-0000-0000-000000000002"]
    assert found is not None and found.id.endswith("2")


async def test_find_by_marker_falls_back_when_the_filter_is_refused() -> None:
    filters: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        filters.append(request.url.params.get("filter"))
        if "filter" in request.url.params:
            return json_response(400, {"code": "InvalidRequest", "innerError": {"code": "UnsupportedFilter"}})
        body = example("stt-2025-10-15", "get_endpoint")
        body["customProperties"] = {MARKER_KEY: "u"}
        return json_response(200, {"values": [body]})

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
        found = await adapter.find_by_marker(MARKER_KEY, "u", locale="en-US")
    assert found is not None
    assert filters == ["locale eq 'en-US'", None]


@pytest.mark.parametrize("version", list(FOLDERS))
@pytest.mark.parametrize(
    ("ref", "path"),
    [(ModelRef(id="b1", kind="base"), "/models/base/b1"), (ModelRef(id="c1", kind="custom"), "/models/c1")],
)
async def test_get_model_reads_deprecation_dates(version: str, ref: ModelRef, path: str) -> None:
    name = "get_base_model" if ref.kind == "base" else "get_model"
    prefix = "/speechtotext/v3.2" if version == "v3.2" else "/speechtotext"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == prefix + path
        return json_response(200, example(FOLDERS[version], name))

    async with mock_client(handler) as client:
        model = await client.speech(AzureTarget.for_region("westus", version), KEY).get_model(ref)
    assert model.transcription_deprecation is not None
    assert (model.adaptation_deprecation is not None) == (ref.kind == "base")
    assert model.supports_endpoints is True
    assert model.kind == ref.kind and model.locale == "en-US"


async def test_a_base_model_read_is_shared_by_the_endpoints_of_a_moment_a_custom_one_is_not() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        name = "get_base_model" if "/base/" in request.url.path else "get_model"
        return json_response(200, example(FOLDERS["2025-10-15"], name))

    target = AzureTarget.for_region("westus", "2025-10-15")
    base, custom = ModelRef(id="b1", kind="base"), ModelRef(id="c1", kind="custom")
    async with mock_client(handler) as client:
        # 50 endpoints' passes of one Speech resource at once, each with its own session
        models = await asyncio.gather(*(client.speech(target, KEY).get_model(base) for _ in range(50)))
        await client.speech(target, KEY).get_model(base)  # a moment later
        await client.speech(target, ApiKey(key="another-key-0000")).get_model(base)  # another resource
        for _ in range(2):
            await client.speech(target, KEY).get_model(custom)  # a custom model's status may change
    assert len({model.transcription_deprecation for model in models}) == 1
    assert paths == ["/speechtotext/models/base/b1"] * 2 + ["/speechtotext/models/c1"] * 2


@pytest.mark.parametrize("version", ["v3.2", "2025-10-15"])
async def test_get_project(version: str) -> None:
    body = example(FOLDERS[version], "get_project")

    async with mock_client(lambda r: json_response(200, body)) as client:
        project = await client.speech(AzureTarget.for_region("westus", version), KEY).get_project("p-1")
    assert project.id == body["self"].split("?")[0].rsplit("/", 1)[-1]
    assert project.locale == body["locale"] and project.display_name == body["displayName"]


@pytest.mark.parametrize(
    ("version", "name"),
    [(v, n) for v in FOLDERS for n in ("get_endpoints", "get_not_started_endpoints")],
)
async def test_every_example_endpoint_page_lists(version: str, name: str) -> None:
    page = example(FOLDERS[version], name)
    page.pop("@nextLink", None)

    async with mock_client(lambda r: json_response(200, page)) as client:
        found = [e async for e in client.speech(AzureTarget.for_region("westus", version), KEY).list()]
    assert [e.id for e in found] == [v["self"].split("?")[0].rsplit("/", 1)[-1] for v in page["values"]]
    assert all(e.status and e.locale for e in found)


async def test_logs_are_listed_paged_and_downloaded_without_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # whatever an earlier test's logging set-up left it at
    page1 = example("stt-v3.2", "get_endpoint_logs")
    page2 = {"values": []}
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.host.endswith(".blob.core.windows.net"):
            return httpx.Response(200, content=b"RIFF....")
        return json_response(200, page1 if "skipToken" not in request.url.params else page2)

    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget(base_url=CUSTOM, api_version="v3.2"), KEY)
        files = [f async for f in adapter.list_logs(ENDPOINT_ID)]
        size = await adapter.download_log(files[0], tmp_path / "a.wav")
    assert [f.kind for f in files] == ["Audio", "Transcription"]
    assert "sig=" not in repr(files[0]) and "sig=" not in str(files[0].model_dump())
    assert requests[1].url.host == "my-speech.cognitiveservices.azure.com"
    assert requests[1].url.params["skipToken"].startswith("2!188!")
    blob = requests[2]
    assert "Ocp-Apim-Subscription-Key" not in blob.headers
    assert size == 8 and (tmp_path / "a.wav").read_bytes() == b"RIFF...."
    assert "customspeech-usw.blob.core.windows.net" in caplog.text  # httpx logged the download ...
    assert "e05d8d56" not in caplog.text  # ... without its SAS signature
    assert CANARY not in caplog.text


async def test_download_refuses_a_host_off_both_lists(tmp_path: Path) -> None:
    from azure_speech_operator.azure.types import LogFile
    from pydantic import SecretStr

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    file = LogFile(id="x", name="x.wav", content_url=SecretStr("https://evil.example.com/x?sig=abc"))
    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.download_log(file, tmp_path / "x")
    assert info.value.reason == "HostNotAllowed"
    assert "sig=abc" not in str(info.value)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.ReadError("reset while reading https://a.blob.core.windows.net/x?sig=SECRETSIG"),
            "ConnectionFailed",
        ),
        (httpx.ReadTimeout("slow"), "Timeout"),
        (httpx.Response(403, text="<Error>sig=SECRETSIG</Error>"), "Forbidden"),
        (
            httpx.Response(302, headers={"Location": "https://elsewhere.example/?sig=SECRETSIG"}),
            "UnexpectedRedirect",
        ),
    ],
)
async def test_a_failed_download_names_no_sas_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, answer: object, reason: str
) -> None:
    from azure_speech_operator.azure.types import LogFile
    from pydantic import SecretStr

    caplog.set_level(logging.DEBUG)

    handler = always(answer)

    sas = "https://a.blob.core.windows.net/logs/x.wav?sv=2023&sig=SECRETSIG"
    file = LogFile(id="x", name="x.wav", content_url=SecretStr(sas))
    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget.for_region("westus", "v3.2"), KEY)
        with pytest.raises(AzureError) as info:
            await adapter.download_log(file, tmp_path / "x.wav")
    assert info.value.reason == reason
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "x.wav.part").exists()
    for text in (str(info.value), repr(info.value), info.value.message, caplog.text):
        assert "SECRETSIG" not in text


@pytest.mark.parametrize("version", ["2024-11-15", "2025-10-15"])
async def test_logs_need_v3(version: str) -> None:
    async with mock_client(lambda r: httpx.Response(500)) as client:
        adapter = client.speech(AzureTarget.for_region("westus", version), KEY)
        with pytest.raises(AzureError) as info:
            [f async for f in adapter.list_logs(ENDPOINT_ID)]
    assert info.value.reason == "NotSupportedByApiVersion" and version in info.value.message


async def test_unknown_fields_and_enum_values_are_tolerated() -> None:
    body = example("stt-2025-10-15", "get_endpoint")
    body["status"] = "Hibernating"
    body["brandNewField"] = {"nested": [1, 2]}
    body["createdDateTime"] = "not a date"
    body["customProperties"] = {"n": 5}

    async with mock_client(lambda r: json_response(200, body)) as client:
        endpoint = await client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY).get(ENDPOINT_ID)
    assert endpoint.status == "Hibernating"
    assert endpoint.created_at is None
    assert endpoint.custom_properties == {"n": "5"}


async def test_an_unreadable_201_leaves_the_outcome_unknown() -> None:
    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    async with mock_client(lambda r: httpx.Response(201, content=b"{not json")) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY).create(create)
    assert info.value.outcome_unknown is True
    assert info.value.error_class is ErrorClass.TRANSIENT
    assert info.value.reason == "InvalidResponse"


def _off_path_self() -> httpx.Response:
    body = dict(example("stt-v3.2", "get_endpoint"))
    body["self"] = str(body["self"]).replace("/v3.2/", "/v3.1/")
    return json_response(201, body)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(_off_path_self, id="201 whose self is off the version's path"),
        pytest.param(lambda: httpx.Response(202), id="202"),
        pytest.param(lambda: httpx.Response(204), id="204"),
    ],
)
async def test_a_2xx_create_the_client_cannot_use_leaves_the_outcome_unknown(answer: Any) -> None:
    # Azure said yes: the endpoint may exist, so the next pass looks it up by its tag before creating again
    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    async with mock_client(lambda r: answer()) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget(base_url=CUSTOM, api_version="v3.2"), KEY).create(create)
    assert info.value.outcome_unknown is True
    assert info.value.error_class is ErrorClass.TRANSIENT


@pytest.mark.parametrize(
    ("exc", "unknown", "reason"),
    [
        (httpx.ReadTimeout("slow"), True, "Timeout"),
        (httpx.RemoteProtocolError("reset"), True, "ConnectionFailed"),
        (httpx.ConnectError("refused"), False, "ConnectionFailed"),
        (httpx.ConnectTimeout("slow"), False, "Timeout"),
    ],
)
async def test_transport_failures_are_transient(exc: Exception, unknown: bool, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    async with mock_client(handler) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY).create(create)
    assert info.value.error_class is ErrorClass.TRANSIENT
    assert info.value.outcome_unknown is unknown
    assert info.value.reason == reason
    assert info.value.__cause__ is None and info.value.__context__ is None  # the httpx error is not kept


async def test_unsupported_version_is_named() -> None:
    async with mock_client(lambda r: httpx.Response(500)) as client:
        with pytest.raises(AzureError) as info:
            client.speech(AzureTarget.for_region("westus", "v3.1"), KEY)
    assert "'v3.1'" in info.value.message and info.value.reason == "UnsupportedApiVersion"


async def test_redirects_are_never_followed() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(302, headers={"Location": "https://evil.example.com/steal"})

    async with mock_client(handler, ClientSettings()) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget.for_region("westus", "v3.2"), KEY).get(ENDPOINT_ID)
    assert len(calls) == 1
    assert info.value.reason == "UnexpectedRedirect" and info.value.error_class is ErrorClass.FATAL


async def test_a_next_link_without_api_version_gets_it_back() -> None:
    body = example("stt-2025-10-15", "get_endpoint")
    pages = [
        {
            "values": [body],
            "@nextLink": "https://westus.api.cognitive.microsoft.com/speechtotext/endpoints?skip=1",
        }
    ]
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return json_response(200, pages[0] if len(seen) == 1 else {"values": []})

    async with mock_client(handler) as client:
        found = [e async for e in client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY).list()]
    assert len(found) == 1
    assert seen[1].params["skip"] == "1" and seen[1].params["api-version"] == "2025-10-15"


async def test_a_returned_url_outside_the_api_is_refused() -> None:
    body = example("stt-2025-10-15", "get_endpoint")
    body["self"] = "https://westus.api.cognitive.microsoft.com/elsewhere/x"

    async with mock_client(lambda r: json_response(200, body)) as client:
        with pytest.raises(AzureError) as info:
            await client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY).get(ENDPOINT_ID)
    assert info.value.reason == "InvalidResponse"


_statuses = st.integers(min_value=100, max_value=599)
_bodies = st.one_of(
    st.binary(max_size=100),
    st.builds(
        lambda extra, status: json.dumps(
            {**example("stt-2025-10-15", "get_endpoint"), **extra, "status": status}
        ),
        st.dictionaries(
            st.sampled_from(["self", "model", "customProperties", "properties", "links", "createdDateTime"]),
            st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=2),
            max_size=3,
        ),
        st.none() | st.text(max_size=10),
    ).map(str.encode),
)


@settings(max_examples=150, deadline=None)
@given(status=_statuses, body=_bodies)
def test_any_answer_gives_an_endpoint_or_an_azure_error(status: int, body: bytes) -> None:
    async def run() -> None:
        async with mock_client(lambda r: httpx.Response(status, content=body)) as client:
            adapter = client.speech(AzureTarget.for_region("westus", "2025-10-15"), KEY)
            try:
                endpoint = await adapter.get(ENDPOINT_ID)
            except AzureError as exc:
                assert exc.error_class in ErrorClass
                assert CANARY not in str(exc)
            else:
                assert status == 200 and endpoint.id

    asyncio.run(run())


@pytest.mark.parametrize("version", list(FOLDERS))
async def test_answers_without_self_name_what_was_asked_or_the_location(version: str) -> None:
    # the specs require only displayName and locale of an Endpoint, a model or a project
    without_self = {k: v for k, v in example(FOLDERS[version], "get_endpoint").items() if k != "self"}
    created_self = example(FOLDERS[version], "get_endpoint")["self"]
    location: dict[str, str] = {"Location": created_self}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, without_self, location)
        if request.url.path.rstrip("/").endswith("/endpoints"):
            return json_response(200, {"values": [without_self, example(FOLDERS[version], "get_endpoint")]})
        if "/models/" in request.url.path:
            return json_response(200, {"displayName": "m", "locale": "en-US"})
        return json_response(200, without_self)

    create = SpeechEndpointCreate(display_name="d", locale="en-US", model=ModelRef(id="m", kind="base"))
    model = ModelRef(id="ae8d1643-53e4-4554-be4c-221dcfb471c5", kind="base")
    async with mock_client(handler) as client:
        adapter = client.speech(AzureTarget(base_url=CUSTOM, api_version=version), KEY)
        got = await adapter.get(ENDPOINT_ID)
        assert got.id == ENDPOINT_ID and got.self_url.startswith(CUSTOM + "/speechtotext/")
        assert (await adapter.create(create)).id == ENDPOINT_ID  # from Location
        assert [e.id async for e in adapter.list()] == [ENDPOINT_ID]  # the one without self: left out
        assert (await adapter.get_model(model)).id == model.id
        location.clear()  # neither self nor Location: the create's outcome is unknown
        with pytest.raises(AzureError) as info:
            await adapter.create(create)
    assert info.value.reason == "InvalidResponse" and info.value.outcome_unknown is True
    assert "fields: self" in str(info.value)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2027-01-15T00:00:00Z", datetime(2027, 1, 15, tzinfo=UTC)),
        # without an offset: UTC, whatever the operator's local time zone
        ("2027-01-15T00:00:00", datetime(2027, 1, 15, tzinfo=UTC)),
        ("15/01/2027", None),
    ],
)
def test_an_azure_time_without_an_offset_is_utc(written: str, read: datetime | None) -> None:
    from azure_speech_operator.azure.models import DeprecationDates

    assert DeprecationDates.model_validate({"transcriptionDateTime": written}).transcription == read
