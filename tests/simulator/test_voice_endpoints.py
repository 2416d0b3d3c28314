"""Custom voice endpoints (2026-01-01, 2024-02-01-preview) and the retiring v3.0 get/suspend/resume."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.state import FakeClock

from .conftest import Harness, HarnessFactory, sim_config

V = "2026-01-01"
P = {"api-version": V}
BODY = {
    "description": "Endpoint for Jessica voice",
    "projectId": ids.VOICE_PROJECT,
    "modelId": ids.VOICE_MODEL,
}


async def put(
    h: Harness, body: dict[str, Any] | None = None, eid: str | None = None, op: str | None = None
) -> httpx.Response:
    eid = eid or str(uuid.uuid4())
    headers = {"Operation-Id": op} if op else {}
    return await h.client.put(f"/customvoice/endpoints/{eid}", params=P, json=body or BODY, headers=headers)


async def status(h: Harness, eid: str, version: str = V) -> str:
    r = await h.client.get(f"/customvoice/endpoints/{eid}", params={"api-version": version})
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


async def op_status(h: Harness, location: str) -> str:
    r = await h.client.get(location)
    assert r.status_code == 200
    return str(r.json()["status"])


async def test_create_suspend_resume_walk(h: Harness) -> None:
    eid = str(uuid.uuid4())
    r = await put(h, eid=eid, op="create-1")
    assert r.status_code == 201
    assert r.headers["Operation-Id"] == "create-1"
    assert r.headers["Operation-Location"] == f"{h.url}/customvoice/operations/create-1?api-version={V}"
    assert r.json()["status"] == "NotStarted" and r.json()["id"] == eid
    create_op = r.headers["Operation-Location"]
    assert await op_status(h, create_op) == "NotStarted"
    h.advance(11)
    assert await status(h, eid) == "Running"
    assert await op_status(h, create_op) == "Running"
    h.advance(300)
    assert await status(h, eid) == "Succeeded"
    assert await op_status(h, create_op) == "Succeeded"
    # resume is refused unless Disabled
    r = await h.client.post(f"/customvoice/endpoints/{eid}:resume", params=P)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BadRequest"
    assert r.headers["x-ms-error-code"] == "BadRequest"
    r = await h.client.post(f"/customvoice/endpoints/{eid}:suspend", params=P)
    assert r.status_code == 202
    assert r.json()["status"] == "Disabling"
    suspend_op = r.headers["Operation-Location"]
    # suspend is refused unless Succeeded
    r = await h.client.post(f"/customvoice/endpoints/{eid}:suspend", params=P)
    assert r.status_code == 400
    h.advance(5)
    assert await status(h, eid) == "Disabled"
    assert await op_status(h, suspend_op) == "Succeeded"
    r = await h.client.post(f"/customvoice/endpoints/{eid}:resume", params=P)
    assert r.status_code == 202 and r.json()["status"] == "Running"
    h.advance(300)
    assert await status(h, eid) == "Succeeded"
    # both versions see the same endpoint
    assert await status(h, eid, "2024-02-01-preview") == "Succeeded"


async def test_failed_resume_ends_disabled(h: Harness) -> None:
    eid = str(uuid.uuid4())
    await put(h, eid=eid)
    h.advance(400)
    await h.client.post(f"/customvoice/endpoints/{eid}:suspend", params=P)
    h.advance(10)
    r = await h.client.post(f"/customvoice/endpoints/{eid}:resume", params=P)
    location = r.headers["Operation-Location"]
    await h.client.post(f"/_sim/endpoints/{eid}/fail")
    h.advance(400)
    assert await status(h, eid) == "Disabled"
    assert await op_status(h, location) == "Failed"


async def test_deploy_failure_from_model_flag(h: Harness) -> None:
    eid = str(uuid.uuid4())
    r = await put(h, {"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL_DEPLOY_FAILS}, eid=eid)
    location = r.headers["Operation-Location"]
    h.advance(400)
    assert await status(h, eid) == "Failed"
    assert await op_status(h, location) == "Failed"


async def test_operation_id_reuse(h: Harness) -> None:
    eid = str(uuid.uuid4())
    first = await put(h, eid=eid, op="op-1")
    again = await put(h, eid=eid, op="op-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    r = await put(h, {**BODY, "description": "other"}, eid=eid, op="op-1")
    assert r.status_code == 400
    assert r.json()["error"]["innererror"]["code"] == "OperationIdConflict"
    r = await put(h, eid=str(uuid.uuid4()), op="op-1")
    assert r.status_code == 400


async def test_put_at_existing_id(h: Harness) -> None:
    eid = str(uuid.uuid4())
    first = await put(h, eid=eid, op="op-a")
    same = await put(h, eid=eid)
    assert same.status_code == 201
    assert same.headers["Operation-Id"] == "op-a"
    assert same.json()["createdDateTime"] == first.json()["createdDateTime"]
    r = await put(h, {**BODY, "modelId": ids.VOICE_MODEL_2}, eid=eid)
    assert r.status_code == 400
    assert r.json()["error"]["innererror"]["code"] == "EndpointAlreadyExists"
    # Deleted and created again: a repeat names the operation that created the endpoint now there.
    assert (await h.client.delete(f"/customvoice/endpoints/{eid}", params=P)).status_code == 204
    assert (await put(h, eid=eid, op="op-b")).status_code == 201
    assert (await put(h, eid=eid)).headers["Operation-Id"] == "op-b"


@pytest.mark.parametrize(
    ("body", "eid", "status", "target_or_inner"),
    [
        ({"projectId": ids.VOICE_PROJECT}, None, 400, "modelId"),
        ({"projectId": "Nope", "modelId": ids.VOICE_MODEL}, None, 400, "ProjectNotFound"),
        ({"projectId": ids.VOICE_PROJECT, "modelId": "Nope"}, None, 400, "ModelNotFound"),
        ({"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL_DE}, None, 400, "ModelNotInProject"),
        (
            {"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL_TRAINING},
            None,
            400,
            "ModelNotSucceeded",
        ),
        ({**BODY, "properties": {"kind": "Cheap"}}, None, 400, "properties.kind"),
        (BODY, "not-a-uuid", 400, "id"),
    ],
)
async def test_create_validation(
    h: Harness, body: dict[str, Any], eid: str | None, status: int, target_or_inner: str
) -> None:
    r = await put(h, body, eid=eid)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert target_or_inner in (error.get("target"), error.get("innererror", {}).get("code"))


async def test_a_next_link_is_a_valid_uri_that_keeps_the_filter(h: Harness) -> None:
    for _ in range(3):
        await put(h)
        h.advance(1)
    # a space, quotes and a + in the filter: each must be escaped in the link, or the next page reads
    # another filter (a raw + comes back as a space)
    query = {**P, "maxpagesize": 2, "filter": "createdDateTime gt 2020-12-30T23:59:59+01:00"}
    page = (await h.client.get("/customvoice/endpoints", params=query)).json()
    link = page["nextLink"]
    assert " " not in link and "'" not in link and "+01:00" not in link
    r = await h.client.get(link)
    assert r.status_code == 200, r.text
    assert len(r.json()["value"]) == 1
    quoted = {**P, "maxpagesize": 1, "filter": f"projectId eq '{ids.VOICE_PROJECT}'"}
    link = (await h.client.get("/customvoice/endpoints", params=quoted)).json()["nextLink"]
    assert " " not in link and "'" not in link
    assert (await h.client.get(link)).status_code == 200


async def test_bad_operation_id_header(h: Harness) -> None:
    r = await put(h, op="-bad")
    assert r.status_code == 400
    assert r.json()["error"]["target"] == "Operation-Id"


async def test_list_paging_get_delete(h: Harness) -> None:
    eids = []
    for _ in range(3):
        eid = str(uuid.uuid4())
        eids.append(eid)
        await put(h, eid=eid)
        h.advance(1)
    r = await h.client.get("/customvoice/endpoints", params={**P, "maxpagesize": 2})
    page = r.json()
    assert len(page["value"]) == 2
    r = await h.client.get(page["nextLink"])
    assert len(r.json()["value"]) == 1 and "nextLink" not in r.json()
    r = await h.client.get(
        "/customvoice/endpoints", params={**P, "filter": f"projectId eq '{ids.VOICE_PROJECT}'"}
    )
    assert len(r.json()["value"]) == 3
    assert (await h.client.delete(f"/customvoice/endpoints/{eids[0]}", params=P)).status_code == 204
    r = await h.client.delete(f"/customvoice/endpoints/{eids[0]}", params=P)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = await h.client.get("/customvoice/operations/unknown-op", params=P)
    assert r.status_code == 404
    for malformed in ("a", "-bad-", "x" * 65):  # the spec's pattern for the id: 400, as for the header
        r = await h.client.get(f"/customvoice/operations/{malformed}", params=P)
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadArgument", malformed


async def test_catalogue(h: Harness) -> None:
    r = await h.client.get("/customvoice/basemodels", params=P)
    assert {m["name"] for m in r.json()["value"]} >= {"PhoenixV2Neural"}
    r = await h.client.get("/customvoice/basemodels", params={"api-version": "2024-02-01-preview"})
    assert isinstance(r.json(), list)
    r = await h.client.get(f"/customvoice/models/{ids.VOICE_MODEL}", params=P)
    assert r.json()["status"] == "Succeeded"
    r = await h.client.get("/customvoice/models", params={**P, "filter": "locale eq 'de-DE'"})
    assert [m["id"] for m in r.json()["value"]] == [ids.VOICE_MODEL_DE]
    r = await h.client.get(f"/customvoice/projects/{ids.VOICE_PROJECT}", params=P)
    assert r.json()["kind"] == "ProfessionalVoice" and r.json()["locale"] == "en-US"
    r = await h.client.get(
        f"/customvoice/projects/{ids.VOICE_PROJECT}", params={"api-version": "2024-02-01-preview"}
    )
    assert "locale" not in r.json()
    assert len((await h.client.get("/customvoice/projects", params=P)).json()["value"]) == 2
    r = await h.client.get("/customvoice/models/Nope", params=P)
    assert r.status_code == 404


async def test_api_version_required(h: Harness) -> None:
    r = await h.client.get("/customvoice/endpoints")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BadRequest"


async def test_v3_get_suspend_resume(h: Harness) -> None:
    eid = str(uuid.uuid4())
    await put(h, eid=eid)
    h.advance(400)
    r = await h.client.get(f"/api/texttospeech/v3.0/endpoints/{eid}")
    body = r.json()
    assert body["status"] == "Succeeded"
    assert body["model"] == {"id": ids.VOICE_MODEL} and body["project"] == {"id": ids.VOICE_PROJECT}
    assert body["locale"] == "en-US"
    r = await h.client.post(f"/api/texttospeech/v3.0/endpoints/{eid}/suspend")
    assert r.status_code == 202
    assert r.headers["Location"] == f"{h.url}/api/texttospeech/v3.0/endpoints/{eid}"
    assert r.headers["Retry-After"].isdigit()
    assert r.content == b""
    assert (await h.client.get(f"/api/texttospeech/v3.0/endpoints/{eid}")).json()["status"] == "Disabling"
    r = await h.client.post(f"/api/texttospeech/v3.0/endpoints/{eid}/resume")
    assert r.status_code == 400
    assert r.json()["code"] == "InvalidRequest"
    h.advance(10)
    r = await h.client.post(f"/api/texttospeech/v3.0/endpoints/{eid}/resume")
    assert r.status_code == 202
    h.advance(300)
    assert (await h.client.get(f"/api/texttospeech/v3.0/endpoints/{eid}")).json()["status"] == "Succeeded"
    r = await h.client.get(f"/api/texttospeech/v3.0/endpoints/{uuid.uuid4()}")
    assert r.status_code == 404


async def test_regional_host_quirk(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(regional_host="eastus.api.cognitive.microsoft.com")) as h:
        r = await put(h, op="op-x")
        assert r.headers["Operation-Location"] == (
            f"https://eastus.api.cognitive.microsoft.com/customvoice/operations/op-x?api-version={V}"
        )
        r = await h.client.post(
            "/speechtotext/endpoints",
            params={"api-version": "2025-10-15"},
            json={
                "displayName": "x",
                "locale": "en-US",
                "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
            },
        )
        assert r.headers["Location"].startswith(
            "https://eastus.api.cognitive.microsoft.com/speechtotext/endpoints/"
        )
        assert r.json()["links"]["webSocket"].startswith("wss://eastus.stt.speech.microsoft.com/")


async def test_voice_quota(make_harness: HarnessFactory) -> None:
    from azure_speech_operator.simulator.config import ResourceConfig

    async with make_harness(
        sim_config(resources=(ResourceConfig(keys=("k",), voice_endpoint_quota=1),)), key="k"
    ) as h:
        assert (await put(h)).status_code == 201
        r = await put(h)
        assert r.status_code == 400
        assert r.json()["error"]["innererror"]["code"] == "QuotaViolation"


async def test_trained_voice_model_and_project_force_delete(h: Harness) -> None:
    r = await h.client.put(
        "/customvoice/projects/Anna", params=P, json={"kind": "ProfessionalVoice", "locale": "de-DE"}
    )
    assert r.status_code == 201
    model = {
        "recipe": {"kind": "MultiStyle"},
        "projectId": "Anna",
        "consentId": "AnnaConsent",
        "trainingSetId": "AnnaSet",
        "properties": {"presetStyles": ["cheerful"], "styleTrainingSetIds": {"calm": "AnnaCalm"}},
    }
    r = await h.client.put(
        "/customvoice/models/AnnaNeural", params=P, json=model, headers={"Operation-Id": "train-anna"}
    )
    assert r.status_code == 201
    assert r.json()["status"] == "NotStarted" and r.json()["locale"] == "de-DE"
    assert r.json()["properties"]["voiceStyles"] == ["cheerful", "calm"]
    again = await h.client.put("/customvoice/models/AnnaNeural", params=P, json=model)
    assert again.status_code == 201 and again.headers["Operation-Id"] == "train-anna"
    body = {"projectId": "Anna", "modelId": "AnnaNeural"}
    assert (await put(h, body)).json()["error"]["innererror"]["code"] == "ModelNotSucceeded"
    h.advance(3700)
    assert await op_status(h, r.headers["Operation-Location"]) == "Succeeded"
    eid = str(uuid.uuid4())
    assert (await put(h, body, eid=eid)).status_code == 201
    r = await h.client.delete("/customvoice/models/AnnaNeural", params=P)
    assert r.json()["error"]["innererror"]["code"] == "ModelInUse"
    r = await h.client.delete("/customvoice/projects/Anna", params=P)
    assert r.json()["error"]["innererror"]["code"] == "ProjectNotEmpty"
    r = await h.client.delete("/customvoice/projects/Anna", params={**P, "forceDelete": "true"})
    assert r.status_code == 204
    assert (await h.client.get(f"/customvoice/endpoints/{eid}", params=P)).status_code == 404
    assert (await h.client.get("/customvoice/models/AnnaNeural", params=P)).status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Date filters, next links, path ids, media types


async def test_date_filters_compare_at_the_precision_the_api_shows(make_harness: HarnessFactory) -> None:
    async with make_harness(clock=FakeClock(1_790_000_000.75)) as h:
        eid = str(uuid.uuid4())
        created = (await put(h, eid=eid)).json()["createdDateTime"]
        for flt, expected in (
            (f"createdDateTime eq {created}", [eid]),
            (f"createdDateTime gt {created}", []),
        ):
            r = await h.client.get("/customvoice/endpoints", params={**P, "filter": flt})
            assert [e["id"] for e in r.json()["value"]] == expected, flt
        for kind, entity in (("models", ids.VOICE_MODEL), ("projects", ids.VOICE_PROJECT)):
            shown = (await h.client.get(f"/customvoice/{kind}/{entity}", params=P)).json()
            flt = f"createdDateTime eq {shown['createdDateTime']}"
            r = await h.client.get(f"/customvoice/{kind}", params={**P, "filter": flt})
            assert entity in [m["id"] for m in r.json()["value"]], kind


async def test_a_next_link_percent_encodes_spaces(h: Harness) -> None:
    for _ in range(3):
        await put(h)
        h.advance(1)
    query = {**P, "maxpagesize": 2, "filter": "createdDateTime gt 2020-12-30T23:59:59Z"}
    link = (await h.client.get("/customvoice/endpoints", params=query)).json()["nextLink"]
    assert "filter=createdDateTime%20gt%202020-12-30T23:59:59Z" in link and "+" not in link
    r = await h.client.get(link)
    assert r.status_code == 200 and len(r.json()["value"]) == 1


_BAD_IDS = ["a", "ab", "-bad-", "bad.", "x" * 65, "a b c"]
_BY_ID = [
    ("GET", "models"),
    ("DELETE", "models"),
    ("GET", "projects"),
    ("DELETE", "projects"),
    ("GET", "endpoints"),
    ("DELETE", "endpoints"),
]


@pytest.mark.parametrize(("method", "kind"), _BY_ID)
@pytest.mark.parametrize("bad", _BAD_IDS)
async def test_every_path_id_breaking_its_pattern_is_a_bad_argument(
    h: Harness, method: str, kind: str, bad: str
) -> None:
    r = await h.client.request(method, f"/customvoice/{kind}/{bad}", params=P)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "BadArgument" and error["target"] == "id"
    assert r.headers["x-ms-error-code"] == "BadArgument"


_PUTS = [
    ("endpoints/" + "9f50c644-2121-40e9-9ea7-544e48bfe3cb", BODY),
    ("projects/Proj1", {"kind": "ProfessionalVoice"}),
    (
        "models/Model1",
        {
            "recipe": {"kind": "Default"},
            "projectId": ids.VOICE_PROJECT,
            "consentId": "con1",
            "trainingSetId": "set1",
        },
    ),
]


@pytest.mark.parametrize(("path", "body"), _PUTS, ids=[p.split("/")[0] for p, _ in _PUTS])
async def test_every_put_refuses_another_media_type(h: Harness, path: str, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    r = await h.client.put(
        f"/customvoice/{path}", params=P, content=content, headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "UnsupportedMediaType"
    assert r.headers["x-ms-error-code"] == "UnsupportedMediaType"
    # without a Content-Type the body is judged by itself
    r = await h.client.put(f"/customvoice/{path}", params=P, content=content)
    assert r.status_code == 201, r.text


async def test_an_unsupported_voice_version_is_a_400(h: Harness) -> None:
    r = await h.client.get("/customvoice/endpoints", params={"api-version": "2023-12-01-preview"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "BadRequest" and error["innererror"]["code"] == "UnsupportedApiVersionValue"
    assert error["target"] == "api-version"


async def _operation_ids(make_harness: HarnessFactory, seed: int) -> list[str]:
    """The Operation-Ids the simulator makes for a fixed run of requests that send none."""
    eid = "9f50c644-2121-40e9-9ea7-544e48bfe3cb"
    async with make_harness(sim_config(seed=seed)) as h:
        created = await put(h, eid=eid)
        h.advance(1000)
        suspended = await h.client.post(f"/customvoice/endpoints/{eid}:suspend", params=P)
        model = await h.client.put(
            "/customvoice/models/Replayed",
            params=P,
            json={
                "projectId": ids.VOICE_PROJECT,
                "consentId": "consent1",
                "trainingSetId": "trainingset1",
                "recipe": {"kind": "Default"},
            },
        )
        answers = [created, suspended, model]
        assert [r.status_code for r in answers] == [201, 202, 201], [r.text for r in answers]
        return [r.headers["Operation-Id"] for r in answers]


async def test_operation_ids_the_simulator_makes_replay_with_the_seed(make_harness: HarnessFactory) -> None:
    first = await _operation_ids(make_harness, seed=7)
    assert await _operation_ids(make_harness, seed=7) == first  # the same seed replays exactly
    assert len(set(first)) == 3 and all(str(uuid.UUID(op)) == op for op in first)
    assert set(await _operation_ids(make_harness, seed=8)).isdisjoint(first)


@pytest.mark.parametrize("form", ["{{{}}}", "urn:uuid:{}", "{}x", "hex"])
@pytest.mark.parametrize(
    ("method", "verb", "operation"),
    [
        ("GET", "", "Endpoints_Get"),
        ("PUT", "", "Endpoints_Create"),
        ("DELETE", "", "Endpoints_Delete"),
        ("POST", ":suspend", "Endpoints_Suspend"),
        ("POST", ":resume", "Endpoints_Resume"),
    ],
)
async def test_an_endpoint_id_is_a_uuid_only_in_its_8_4_4_4_12_form(
    h: Harness, method: str, verb: str, operation: str, form: str
) -> None:
    eid = str(uuid.uuid4())
    bad = eid.replace("-", "") if form == "hex" else form.format(eid)
    body = {"json": BODY} if method == "PUT" else {}
    r = await h.client.request(method, f"/customvoice/endpoints/{bad}{verb}", params=P, **body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "BadArgument" and r.json()["error"]["target"] == "id"
    counts = (await h.client.get("/_sim/requests")).json()["operations"]
    assert counts == {f"CustomVoice.{operation}": {"400": 1}}


async def test_an_upper_case_endpoint_id_names_the_same_endpoint(h: Harness) -> None:
    eid = str(uuid.uuid4())
    assert (await put(h, eid=eid.upper())).json()["id"] == eid
    assert (await h.client.get(f"/customvoice/endpoints/{eid.upper()}", params=P)).json()["id"] == eid


async def test_model_recipes_list_the_kinds_a_model_create_takes(h: Harness) -> None:
    preview = await h.client.get("/customvoice/modelrecipes", params={"api-version": "2024-02-01-preview"})
    page = await h.client.get("/customvoice/modelrecipes", params=P)
    assert preview.status_code == page.status_code == 200
    assert isinstance(preview.json(), list)  # the preview spec's bare array; 2026-01-01 a page
    assert set(page.json()) == {"value"}
    recipes = {r["kind"]: r for r in page.json()["value"]}
    assert set(recipes) == {r["kind"] for r in preview.json()} == {"Default", "MultiStyle"}
    model = {"projectId": ids.VOICE_PROJECT, "consentId": "con1", "trainingSetId": "set1"}
    for kind, recipe in recipes.items():
        r = await h.client.put(
            f"/customvoice/models/M{kind}", params=P, json={**model, "recipe": {"kind": kind}}
        )
        assert r.status_code == 201, r.text
        assert r.json()["recipe"] == {"kind": kind, "version": recipe["version"]}
    r = await h.client.put("/customvoice/models/MLite", params=P, json={**model, "recipe": {"kind": "Lite"}})
    assert r.status_code == 400 and r.json()["error"]["target"] == "recipe.kind"
    assert "Default, MultiStyle" in r.json()["error"]["message"]
