"""Speech to text endpoints: state machine, validation, PATCH semantics, paging and filters, per version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.state import FakeClock

from .conftest import Harness, HarnessFactory, sim_config

V = "2025-10-15"
DATED = {"params": {"api-version": V}}


def model_ref(model_id: str, base: bool = False) -> dict[str, str]:
    kind = "models/base" if base else "models"
    return {
        "self": f"https://westus.api.cognitive.microsoft.com/speechtotext/{kind}/{model_id}?api-version={V}"
    }


def endpoint_body(model: str = ids.CUSTOM_EN_US_DEPLOYABLE, **extra: Any) -> dict[str, Any]:
    return {"displayName": "ep", "locale": "en-US", "model": model_ref(model)} | extra


async def create(h: Harness, body: dict[str, Any] | None = None, version: str = V) -> dict[str, Any]:
    if version == "v3.2":
        r = await h.client.post("/speechtotext/v3.2/endpoints", json=body or endpoint_body())
    else:
        r = await h.client.post(
            "/speechtotext/endpoints", params={"api-version": version}, json=body or endpoint_body()
        )
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == r.json()["self"]
    result: dict[str, Any] = r.json()
    return result


def ep_id(body: dict[str, Any]) -> str:
    return str(body["self"]).split("?")[0].rsplit("/", 1)[1]


async def get(h: Harness, endpoint_id: str) -> Any:
    return await h.client.get(f"/speechtotext/endpoints/{endpoint_id}", **DATED)


async def test_create_walks_not_started_running_succeeded(h: Harness) -> None:
    body = await create(h)
    assert body["status"] == "NotStarted"
    eid = ep_id(body)
    r = await get(h, eid)
    assert r.json()["status"] == "NotStarted"
    assert int(r.headers["Retry-After"]) >= 1
    h.advance(31)
    r = await get(h, eid)
    assert r.json()["status"] == "Running"
    assert "Retry-After" in r.headers
    h.advance(300)
    r = await get(h, eid)
    assert r.json()["status"] == "Succeeded"
    assert "Retry-After" not in r.headers
    assert r.json()["lastActionDateTime"] > r.json()["createdDateTime"]


async def test_time_scale_shortens_durations(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(time_scale=0.01)) as h:
        eid = ep_id(await create(h))
        h.advance(3.4)  # 330 s * 0.01 = 3.3 s
        assert (await get(h, eid)).json()["status"] == "Succeeded"


async def test_forced_failure_sets_properties_error(h: Harness) -> None:
    eid = ep_id(await create(h))
    r = await h.client.post(f"/_sim/endpoints/{eid}/fail", json={"code": "QuotaExceeded", "message": "boom"})
    assert r.status_code == 200
    h.advance(10)
    assert (await get(h, eid)).json()["status"] == "NotStarted"
    h.advance(400)
    body = (await get(h, eid)).json()
    assert body["status"] == "Failed"
    assert body["properties"]["error"] == {"code": "QuotaExceeded", "message": "boom"}


async def test_model_flagged_deploy_fails_fails(h: Harness) -> None:
    eid = ep_id(await create(h, endpoint_body(ids.CUSTOM_EN_US_DEPLOY_FAILS)))
    h.advance(1000)
    body = (await get(h, eid)).json()
    assert body["status"] == "Failed"
    assert body["properties"]["error"]["code"] == "DeploymentFailed"


async def test_failure_probability_is_deterministic(make_harness: HarnessFactory) -> None:
    outcomes = []
    for _ in range(2):
        async with make_harness(sim_config(deploy_failure_probability=0.5, seed=7)) as h:
            eids = [ep_id(await create(h)) for _ in range(8)]
            h.advance(1000)
            outcomes.append([(await get(h, e)).json()["status"] for e in eids])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"Succeeded", "Failed"}


async def test_patch_model_redeploys_while_old_model_serves(h: Harness) -> None:
    eid = ep_id(await create(h))
    h.advance(400)
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}",
        params={"api-version": V},
        json={"model": model_ref(ids.CUSTOM_EN_US_DEPLOYABLE_2)},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "NotStarted"
    assert ids.CUSTOM_EN_US_DEPLOYABLE_2 in r.json()["model"]["self"]
    assert "Retry-After" in r.headers
    state = (await h.client.get("/_sim/endpoints")).json()["endpoints"][0]
    assert state["servingModel"] == ids.CUSTOM_EN_US_DEPLOYABLE
    # A PATCH during the redeploy is refused as not updatable.
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}", params={"api-version": V}, json={"displayName": "x"}
    )
    assert r.status_code == 409
    assert r.json()["innerError"]["code"] == "EndpointNotUpdatable"
    h.advance(300)
    assert (await get(h, eid)).json()["status"] == "Succeeded"
    state = (await h.client.get("/_sim/endpoints")).json()["endpoints"][0]
    assert state["servingModel"] == ids.CUSTOM_EN_US_DEPLOYABLE_2


async def test_patch_metadata_keeps_status_and_replaces_custom_properties(h: Harness) -> None:
    eid = ep_id(await create(h, endpoint_body(customProperties={"a": "1", "b": "2"})))
    h.advance(400)
    before = (await get(h, eid)).json()
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}",
        params={"api-version": V},
        json={
            "displayName": "renamed",
            "customProperties": {"c": "3"},
            "properties": {"contentLoggingEnabled": True},
        },
    )
    assert r.status_code == 200
    after = r.json()
    assert after["status"] == "Succeeded"
    assert after["lastActionDateTime"] == before["lastActionDateTime"]
    assert after["displayName"] == "renamed"
    assert after["customProperties"] == {"c": "3"}
    assert after["properties"]["loggingEnabled"] is True
    # `loggingEnabled` in a PATCH is not the write name and is ignored.
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}",
        params={"api-version": V},
        json={"properties": {"loggingEnabled": False}},
    )
    assert r.json()["properties"]["loggingEnabled"] is True


async def test_patch_rejects_other_content_types(h: Harness) -> None:
    eid = ep_id(await create(h))
    h.advance(400)
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}",
        params={"api-version": V},
        content=b"{}",
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (endpoint_body(displayName=""), 400, "InvalidPayload"),
        ({"locale": "en-US", "model": model_ref(ids.CUSTOM_EN_US_DEPLOYABLE)}, 400, "InvalidPayload"),
        (endpoint_body(locale="de-DE"), 400, "ModelMismatch"),
        (endpoint_body(locale="xx-XX"), 400, "InvalidLocale"),
        (endpoint_body(ids.CUSTOM_EN_US_TRAINING), 400, "ModelDeploymentNotCompleteState"),
        (endpoint_body(ids.CUSTOM_EN_US_FAILED), 400, "DeployingFailedModel"),
        (endpoint_body(ids.CUSTOM_EN_US_NOT_DEPLOYABLE), 400, "ModelNotDeployable"),
        (endpoint_body("00000000-0000-4000-8000-000000000000"), 400, "InvalidModel"),
        (endpoint_body(model={"self": "https://x/not-a-model"}), 400, "InvalidModelUri"),
        (endpoint_body(model=model_ref(ids.BASE_EN_US_EXPIRED, base=True)), 400, "ModelDeprecated"),
        (
            endpoint_body(model=model_ref("00000000-0000-4000-8000-000000000000", base=True)),
            400,
            "InvalidBaseModel",
        ),
        (endpoint_body(customProperties={"n": 1}), 400, "InvalidPayload"),
        (endpoint_body(customProperties={f"k{i}": "v" for i in range(11)}), 400, "InvalidPayload"),
        (endpoint_body(customProperties={"k" * 65: "v"}), 400, "InvalidPayload"),
        (endpoint_body(customProperties={"k": "v" * 257}), 400, "InvalidPayload"),
        (endpoint_body(customProperties={"k": None}), 400, "InvalidPayload"),
        (endpoint_body(customProperties=["k", "v"]), 400, "InvalidPayload"),
        (
            endpoint_body(
                project={"self": "https://x/speechtotext/projects/00000000-0000-4000-8000-000000000000"}
            ),
            400,
            "InvalidProject",
        ),
        ({"displayName": "x", "locale": "en-US"}, 400, "InvalidModel"),
    ],
)
async def test_create_validation(h: Harness, body: dict[str, Any], status: int, detail: str) -> None:
    r = await h.client.post("/speechtotext/endpoints", params={"api-version": V}, json=body)
    assert r.status_code == status, r.text
    assert r.json()["code"] == "InvalidRequest"
    assert r.json()["innerError"]["code"] == detail


async def test_create_with_base_model_and_project(h: Harness) -> None:
    body = endpoint_body(
        model=model_ref(ids.BASE_EN_US_EXPIRING, base=True),
        project={"self": f"https://x/speechtotext/projects/{ids.PROJECT_EN_US}?api-version={V}"},
    )
    created = await create(h, body)
    assert "/models/base/" in created["model"]["self"]
    assert created["project"]["self"].endswith(f"/projects/{ids.PROJECT_EN_US}?api-version={V}")
    r = await h.client.get(f"/speechtotext/projects/{ids.PROJECT_EN_US}/endpoints", **DATED)
    assert [ep_id(e) for e in r.json()["values"]] == [ep_id(created)]


async def test_custom_properties_at_their_limits_are_accepted(h: Harness) -> None:
    at_limits = {"k" * 64: "v" * 256} | {f"k{i}": str(i) for i in range(9)}
    created = await create(h, endpoint_body(customProperties=at_limits))
    assert created["customProperties"] == at_limits
    h.advance(400)  # deployed: a PATCH is no longer refused as not updatable
    r = await h.client.patch(
        f"/speechtotext/endpoints/{ep_id(created)}",
        params={"api-version": V},
        json={"customProperties": {"a": 1}},
    )
    assert r.status_code == 400 and r.json()["innerError"]["code"] == "InvalidPayload"


async def test_default_quota_is_50_deployments(h: Harness) -> None:
    for _ in range(50):
        await create(h)
    r = await h.client.post("/speechtotext/endpoints", params={"api-version": V}, json=endpoint_body())
    assert r.status_code == 400 and r.json()["innerError"]["code"] == "QuotaViolation"


async def test_quota_per_resource(make_harness: HarnessFactory) -> None:
    from azure_speech_operator.simulator.config import ResourceConfig

    config = sim_config(
        resources=(
            ResourceConfig(name="a", keys=("ka",), deployment_quota=2),
            ResourceConfig(name="b", keys=("kb",), deployment_quota=2),
        )
    )
    async with make_harness(config, key="ka") as h:
        await create(h)
        await create(h)
        r = await h.client.post("/speechtotext/endpoints", params={"api-version": V}, json=endpoint_body())
        assert r.status_code == 400
        assert r.json()["innerError"]["code"] == "QuotaViolation"
        r = await h.client.post(
            "/speechtotext/endpoints",
            params={"api-version": V},
            json=endpoint_body(),
            headers={"Ocp-Apim-Subscription-Key": "kb"},
        )
        assert r.status_code == 201
        # Resources do not see each other's endpoints.
        r = await h.client.get(f"/speechtotext/endpoints/{ep_id(r.json())}", **DATED)
        assert r.status_code == 404


async def test_delete(h: Harness) -> None:
    eid = ep_id(await create(h))
    r = await h.client.delete(f"/speechtotext/endpoints/{eid}", **DATED)
    assert r.status_code == 204
    assert r.content == b""
    r = await h.client.delete(f"/speechtotext/endpoints/{eid}", **DATED)
    assert r.status_code == 404
    assert r.json()["code"] == "NotFound"
    assert (await get(h, eid)).status_code == 404


async def test_list_paging_and_filter(h: Harness) -> None:
    created = []
    for i in range(5):
        if i:
            h.advance(100)
        created.append(ep_id(await create(h, endpoint_body(displayName=f"ep{i}"))))
    # ep0 is Succeeded by now (330 s), ep1..ep3 Running, ep4 NotStarted
    r = await h.client.get("/speechtotext/endpoints", params={"api-version": V, "top": 2})
    page = r.json()
    assert len(page["values"]) == 2
    assert "Retry-After" in r.headers
    seen = [ep_id(e) for e in page["values"]]
    while "@nextLink" in page:
        assert f"api-version={V}" in page["@nextLink"]
        r = await h.client.get(page["@nextLink"])
        page = r.json()
        seen += [ep_id(e) for e in page["values"]]
    assert sorted(seen) == sorted(created)
    assert seen == list(reversed(created))  # newest first
    r = await h.client.get(
        "/speechtotext/endpoints", params={"api-version": V, "filter": "status eq 'NotStarted'"}
    )
    assert [ep_id(e) for e in r.json()["values"]] == [created[4]]
    r = await h.client.get(
        "/speechtotext/endpoints",
        params={"api-version": V, "filter": "displayName eq 'ep1' and locale eq 'en-US'"},
    )
    assert [ep_id(e) for e in r.json()["values"]] == [created[1]]
    first = (await get(h, created[2])).json()["createdDateTime"]
    r = await h.client.get(
        "/speechtotext/endpoints", params={"api-version": V, "filter": f"createdDateTime ge {first}"}
    )
    assert sorted(ep_id(e) for e in r.json()["values"]) == sorted(created[2:])
    busy = "status eq 'NotStarted' or status eq 'Running'"  # the spec's example
    r = await h.client.get("/speechtotext/endpoints", params={"api-version": V, "filter": busy})
    assert sorted(ep_id(e) for e in r.json()["values"]) == sorted(created[1:])
    r = await h.client.get(
        "/speechtotext/endpoints",
        params={"api-version": V, "filter": "not (displayName eq 'ep0' or description eq 'x')"},
    )
    assert sorted(ep_id(e) for e in r.json()["values"]) == sorted(created[1:])
    r = await h.client.get(
        "/speechtotext/endpoints", params={"api-version": V, "filter": "status eq 'X' or x"}
    )
    assert r.status_code == 400
    assert r.json()["innerError"]["code"] == "UnsupportedFilter"
    r = await h.client.get("/speechtotext/endpoints", params={"api-version": V, "skip": 4})
    assert [ep_id(e) for e in r.json()["values"]] == [created[0]]
    assert "@nextLink" not in r.json()


async def test_versions_have_their_own_shapes(h: Harness) -> None:
    created = await create(
        h, endpoint_body(project={"self": f"https://x/speechtotext/projects/{ids.PROJECT_EN_US}"})
    )
    eid = ep_id(created)
    v32 = (await h.client.get(f"/speechtotext/v3.2/endpoints/{eid}")).json()
    v24 = (await h.client.get(f"/speechtotext/endpoints/{eid}", params={"api-version": "2024-11-15"})).json()
    v25 = (await get(h, eid)).json()
    assert v32["self"].endswith(f"/speechtotext/v3.2/endpoints/{eid}")
    assert set(v32["links"]) == {
        "logs",
        "restInteractive",
        "restConversation",
        "restDictation",
        "webSocketInteractive",
        "webSocketConversation",
        "webSocketDictation",
    }
    assert set(v24["links"]) == {"webSocket"} == set(v25["links"])
    assert "project" not in v24 and "project" in v25 and "project" in v32
    assert v24["self"].endswith("?api-version=2024-11-15")


async def test_api_version_required_for_dated_paths(h: Harness) -> None:
    r = await h.client.get("/speechtotext/endpoints")
    assert r.status_code == 400
    r = await h.client.get("/speechtotext/endpoints", params={"api-version": "2099-01-01"})
    assert r.status_code == 400
    assert "2024-11-15" in r.json()["message"]
    r = await h.client.get(
        f"/speechtotext/projects/{ids.PROJECT_EN_US}", params={"api-version": "2024-11-15"}
    )
    assert r.status_code == 404  # 2024-11-15 has no projects


async def test_content_logs_v32(h: Harness) -> None:
    r = await h.client.post(
        "/speechtotext/v3.2/endpoints",
        json={
            "displayName": "logged",
            "locale": "en-US",
            "model": {"self": f"https://x/speechtotext/v3.2/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
            "properties": {"loggingEnabled": True},
        },
    )
    eid = ep_id(r.json())
    h.advance(3600)
    r = await h.client.get(f"/speechtotext/v3.2/endpoints/{eid}/files/logs", params={"top": 4})
    page = r.json()
    assert len(page["values"]) == 4
    assert {f["kind"] for f in page["values"]} == {"Audio", "Transcription"}
    r2 = await h.client.get(page["@nextLink"])
    names = [f["name"] for f in page["values"] + r2.json()["values"]]
    assert len(names) == 6
    one = (await h.client.get(f"/speechtotext/v3.2/endpoints/{eid}/files/logs/{names[0]}")).json()
    blob = await h.client.get(one["links"]["contentUrl"])
    assert blob.status_code == 200 and blob.content[:4] == b"RIFF"
    assert (
        await h.client.delete(f"/speechtotext/v3.2/endpoints/{eid}/files/logs/{names[0]}")
    ).status_code == 204
    assert (
        await h.client.delete(f"/speechtotext/v3.2/endpoints/{eid}/files/logs/{names[0]}")
    ).status_code == 404
    assert (await h.client.delete(f"/speechtotext/v3.2/endpoints/{eid}/files/logs")).status_code == 202
    r = await h.client.get(f"/speechtotext/v3.2/endpoints/{eid}/files/logs")
    assert r.json()["values"] == []
    # The dated versions have no log operations.
    r = await h.client.get(f"/speechtotext/endpoints/{eid}/files/logs", **DATED)
    assert r.status_code == 404
    r = await h.client.get("/speechtotext/v3.2/endpoints/base/en-US/files/logs")
    assert [f["kind"] for f in r.json()["values"]] == ["Audio", "Transcription"]
    assert (await h.client.delete("/speechtotext/v3.2/endpoints/base/en-US/files/logs")).status_code == 202
    r = await h.client.get("/speechtotext/v3.2/endpoints/base/en-US/files/logs")
    assert r.json() == {"values": []}


async def test_models_and_projects(h: Harness) -> None:
    r = await h.client.get(f"/speechtotext/models/base/{ids.BASE_EN_US_EXPIRING}", **DATED)
    dates = r.json()["properties"]["deprecationDates"]
    now = h.clock()
    from datetime import datetime

    left = datetime.fromisoformat(dates["transcriptionDateTime"].replace("Z", "+00:00")).timestamp() - now
    assert 19 * 86400 < left < 21 * 86400
    r = await h.client.get(f"/speechtotext/models/{ids.CUSTOM_EN_US_NOT_DEPLOYABLE}", **DATED)
    assert r.json()["properties"]["features"]["supportsEndpoints"] is False
    r = await h.client.get(f"/speechtotext/models/{ids.CUSTOM_EN_US_TRAINING}", **DATED)
    assert r.json()["status"] == "Running" and "Retry-After" in r.headers
    # a model still training can be deployed once trained: the specs' examples say so of a Running model
    assert r.json()["properties"]["features"]["supportsEndpoints"] is True
    r = await h.client.get(
        "/speechtotext/models/base", params={"api-version": V, "filter": "locale eq 'de-DE'"}
    )
    assert [m["displayName"] for m in r.json()["values"]] == ["20250115 (current)"]
    r = await h.client.get("/speechtotext/v3.2/models/base", params={"top": 1})
    assert len(r.json()["values"]) == 1 and "@nextLink" in r.json()
    r = await h.client.get("/speechtotext/models", **DATED)
    assert len(r.json()["values"]) == 8
    r = await h.client.get(f"/speechtotext/v3.2/projects/{ids.PROJECT_EN_US}")
    assert r.json()["properties"]["modelCount"] == 2
    assert (await h.client.get("/speechtotext/projects", **DATED)).status_code == 200
    assert (await h.client.get("/speechtotext/endpoints/locales", **DATED)).json() == ["de-DE", "en-US"]
    assert (await h.client.get("/speechtotext/models/locales", **DATED)).json() == ["de-DE", "en-US"]
    r = await h.client.get("/speechtotext/models/00000000-0000-4000-8000-000000000000", **DATED)
    assert r.status_code == 404


async def test_trained_model_becomes_deployable(h: Harness) -> None:
    r = await h.client.post(
        "/speechtotext/models",
        params={"api-version": V},
        json={
            "displayName": "fresh",
            "locale": "en-US",
            "baseModel": model_ref(ids.BASE_EN_US_CURRENT, base=True),
            "project": {"self": f"https://x/speechtotext/projects/{ids.PROJECT_EN_US}"},
        },
    )
    assert r.status_code == 201, r.text
    model = r.json()
    model_id = model["self"].split("?")[0].rsplit("/", 1)[1]
    assert model["status"] == "NotStarted"
    r = await h.client.post(
        "/speechtotext/endpoints", params={"api-version": V}, json=endpoint_body(model_id)
    )
    assert r.json()["innerError"]["code"] == "ModelDeploymentNotCompleteState"
    h.advance(31)
    r = await h.client.get(model["self"])
    assert r.json()["status"] == "Running" and "Retry-After" in r.headers
    h.advance(1800)
    assert (await h.client.get(model["self"])).json()["status"] == "Succeeded"
    eid = ep_id(await create(h, endpoint_body(model_id)))
    # A deployed model cannot be deleted.
    r = await h.client.delete(model["self"])
    assert r.status_code == 400 and r.json()["innerError"]["code"] == "InUseViolation"
    await h.client.delete(f"/speechtotext/endpoints/{eid}", **DATED)
    assert (await h.client.delete(model["self"])).status_code == 204
    assert (await h.client.get(model["self"])).status_code == 404
    # Seeded models can be updated and deleted too, per resource.
    r = await h.client.patch(
        f"/speechtotext/models/{ids.CUSTOM_EN_US_FAILED}",
        params={"api-version": V},
        json={"displayName": "x"},
    )
    assert r.json()["displayName"] == "x" and r.json()["status"] == "Failed"
    assert (
        await h.client.delete(f"/speechtotext/models/{ids.CUSTOM_EN_US_FAILED}", **DATED)
    ).status_code == 204
    assert (await h.client.get(f"/speechtotext/models/{ids.CUSTOM_EN_US_FAILED}", **DATED)).status_code == 404


async def test_project_create_update_delete(h: Harness) -> None:
    r = await h.client.post(
        "/speechtotext/projects",
        params={"api-version": V},
        json={
            "displayName": "mine",
            "locale": "de-DE",
            "foundryProjectName": "f",
            "customProperties": {"a": "b"},
        },
    )
    assert r.status_code == 201
    project = r.json()
    assert project["foundryProjectName"] == "f" and project["customProperties"] == {"a": "b"}
    r = await h.client.patch(project["self"], json={"displayName": "renamed", "customProperties": {}})
    assert r.json()["displayName"] == "renamed" and "customProperties" not in r.json()
    listed = (await h.client.get("/speechtotext/projects", **DATED)).json()["values"]
    assert "renamed" in [p["displayName"] for p in listed]
    assert (await h.client.delete(project["self"])).status_code == 204
    assert (await h.client.get(project["self"])).status_code == 404
    assert (await h.client.delete(project["self"])).status_code == 204  # "deleted or did not exist"


async def _download_every_file(h: Harness, listing: str) -> list[dict[str, Any]]:
    """Lists every page of a content-log listing, fetches each file by id and by `contentUrl`, and checks
    the listed size (and audio duration) against the bytes served."""
    files: list[dict[str, Any]] = []
    url: str | None = listing
    while url:
        page = (await h.client.get(url, params={"top": 2} if url == listing else None)).json()
        files += page["values"]
        url = page.get("@nextLink")
    for listed in files:
        one = (await h.client.get(f"{listing}/{listed['name']}")).json()
        assert one["properties"] == listed["properties"]
        blob = await h.client.get(one["links"]["contentUrl"])
        assert blob.status_code == 200, listed["name"]
        assert len(blob.content) == listed["properties"]["size"], listed["name"]
        if listed["kind"] == "Audio":
            data = blob.content
            assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
            assert int.from_bytes(data[4:8], "little") == len(data) - 8
            byte_rate = int.from_bytes(data[28:32], "little")
            data_bytes = int.from_bytes(data[40:44], "little")
            assert data[36:40] == b"data" and data_bytes == len(data) - 44
            assert listed["properties"]["duration"] == f"PT{data_bytes // byte_rate}S"
            assert data_bytes % byte_rate == 0
        else:
            assert "duration" not in listed["properties"]
            assert json.loads(blob.content)["combinedRecognizedPhrases"]
    return files


async def test_content_log_sizes_match_the_bytes_served(h: Harness) -> None:
    r = await h.client.post(
        "/speechtotext/v3.2/endpoints",
        json={
            "displayName": "logged",
            "locale": "en-US",
            "model": {"self": f"https://x/speechtotext/v3.2/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
            "properties": {"loggingEnabled": True},
        },
    )
    eid = ep_id(r.json())
    h.advance(3600)
    files = await _download_every_file(h, f"/speechtotext/v3.2/endpoints/{eid}/files/logs")
    assert sorted(f["kind"] for f in files) == ["Audio"] * 3 + ["Transcription"] * 3
    # A transcription covers as much audio as the file it was made from.
    by_stem = {f["name"].rsplit(".", 1)[0]: f for f in files if f["kind"] == "Audio"}
    for f in files:
        if f["kind"] == "Transcription":
            body = (await h.client.get(f["links"]["contentUrl"])).json()
            seconds = int(by_stem[f["name"].rsplit(".", 1)[0]]["properties"]["duration"][2:-1])
            assert body["durationInTicks"] == seconds * 10_000_000
    base = await _download_every_file(h, "/speechtotext/v3.2/endpoints/base/en-US/files/logs")
    assert [f["kind"] for f in base] == ["Audio", "Transcription"]


async def test_a_v32_endpoint_is_deleted_its_time_to_live_after_its_deployment_ended(h: Harness) -> None:
    body = endpoint_body(properties={"timeToLive": "PT30M"})
    eid = ep_id(await create(h, body, version="v3.2"))
    h.advance(400)  # deployed (330 s)
    r = await h.client.get(f"/speechtotext/v3.2/endpoints/{eid}")
    assert r.json()["status"] == "Succeeded"
    assert r.json()["properties"]["timeToLive"] == "PT30M"
    h.advance(30 * 60 - 100)  # 1,800 s after the deployment ended, not yet
    assert (await get(h, eid)).status_code == 200
    h.advance(60)
    assert (await get(h, eid)).status_code == 404
    listed = (await h.client.get("/speechtotext/endpoints", **DATED)).json()["values"]
    assert eid not in [ep_id(e) for e in listed]
    # none set, or zero: kept
    kept = [ep_id(await create(h, version="v3.2"))]
    kept.append(ep_id(await create(h, endpoint_body(properties={"timeToLive": "PT0S"}), version="v3.2")))
    h.advance(40 * 86400)
    assert [(await get(h, e)).status_code for e in kept] == [200, 200]


@pytest.mark.parametrize("ttl", ["P", "PT", "P1DT", "P32D", "PT745H", "P1W", "30M", 1800])
async def test_a_time_to_live_that_is_no_duration_or_over_31_days_is_refused(h: Harness, ttl: Any) -> None:
    r = await h.client.post(
        "/speechtotext/v3.2/endpoints", json=endpoint_body(properties={"timeToLive": ttl})
    )
    assert r.status_code == 400, r.text
    assert r.json()["innerError"]["code"] == "InvalidTimeToLive"
    assert "timeToLive" in r.json()["message"]


@pytest.mark.parametrize("ttl", ["PT30M", "P31D", "PT744H", "P1DT12H", "PT90S", "PT0S"])
async def test_a_time_to_live_of_at_most_31_days_is_taken(h: Harness, ttl: str) -> None:
    await create(h, endpoint_body(properties={"timeToLive": ttl}), version="v3.2")


# ---------------------------------------------------------------------------------------------------------
# Date filters, next links, model weights, versions, logs, model deletion, media types


def _seconds(rendered: str) -> float:
    return datetime.fromisoformat(rendered.replace("Z", "+00:00")).timestamp()


async def _listed(h: Harness, path: str, flt: str) -> list[str]:
    r = await h.client.get(path, params={"api-version": V, "filter": flt})
    assert r.status_code == 200, r.text
    return [ep_id(e) for e in r.json()["values"]]


async def test_date_filters_compare_at_the_precision_the_api_shows(make_harness: HarnessFactory) -> None:
    # A clock with fractions of a second: what is stored is finer than what the API renders.
    async with make_harness(clock=FakeClock(1_790_000_000.75)) as h:
        eid = ep_id(await create(h))
        h.advance(30.4)  # into Running: lastActionDateTime moves, again off the whole second
        shown = (await get(h, eid)).json()
        created, last = shown["createdDateTime"], shown["lastActionDateTime"]
        assert await _listed(h, "/speechtotext/endpoints", f"createdDateTime eq {created}") == [eid]
        assert await _listed(h, "/speechtotext/endpoints", f"createdDateTime gt {created}") == []
        assert await _listed(h, "/speechtotext/endpoints", f"createdDateTime le {created}") == [eid]
        assert await _listed(h, "/speechtotext/endpoints", f"lastActionDateTime eq {last}") == [eid]
        assert await _listed(h, "/speechtotext/endpoints", f"lastActionDateTime gt {last}") == []


async def test_model_filters_see_the_dates_the_models_show(make_harness: HarnessFactory) -> None:
    async with make_harness(clock=FakeClock(1_790_000_000.75)) as h:
        model = (await h.client.get(f"/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}", **DATED)).json()
        for field in ("createdDateTime", "lastActionDateTime"):
            for path in ("/speechtotext/models", f"/speechtotext/projects/{ids.PROJECT_EN_US}/models"):
                listed = await _listed(h, path, f"{field} eq {model[field]}")
                assert ids.CUSTOM_EN_US_DEPLOYABLE in listed, (field, path)


async def test_a_next_link_percent_encodes_its_filter_and_can_be_followed(h: Harness) -> None:
    for _ in range(3):
        await create(h)
        h.advance(1)
    flt = "createdDateTime ge 2018-01-24T09:54:39Z"
    page = (
        await h.client.get("/speechtotext/endpoints", params={"api-version": V, "top": 2, "filter": flt})
    ).json()
    link = page["@nextLink"]
    # as in every spec example: spaces as %20 (a + is a space only in form encoding)
    assert "filter=createdDateTime%20ge%202018-01-24T09:54:39Z" in link and "+" not in link
    r = await h.client.get(link)
    assert r.status_code == 200 and len(r.json()["values"]) == 1


@pytest.mark.parametrize("version", ["v3.2", "2024-11-15", V])
async def test_a_custom_model_weight_is_echoed_and_otherwise_chosen(h: Harness, version: str) -> None:
    base = "/speechtotext/v3.2/models" if version == "v3.2" else "/speechtotext/models"
    params = {} if version == "v3.2" else {"api-version": version}
    body = {"displayName": "weighted", "locale": "en-US", "properties": {"customModelWeightPercent": 42}}
    r = await h.client.post(base, params=params, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["customModelWeightPercent"] == 42
    again = (await h.client.get(r.json()["self"])).json()
    assert again["properties"]["customModelWeightPercent"] == 42
    # without one the service chooses a weight (the spec), 30 in every example
    r = await h.client.post(base, params=params, json={"displayName": "plain", "locale": "en-US"})
    assert r.json()["properties"]["customModelWeightPercent"] == 30


@pytest.mark.parametrize("weight", [0, 101, -5, "42", 4.2, True, [42]])
async def test_a_custom_model_weight_outside_1_to_100_is_refused(h: Harness, weight: Any) -> None:
    body = {"displayName": "weighted", "locale": "en-US", "properties": {"customModelWeightPercent": weight}}
    r = await h.client.post("/speechtotext/models", params={"api-version": V}, json=body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["code"] == "InvalidRequest" and error["innerError"]["code"] == "InvalidPayload"
    assert "customModelWeightPercent" in error["message"]
    assert error["target"] == "properties.customModelWeightPercent"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/speechtotext/v3.1/endpoints", {}),
        ("/speechtotext/v3.0/endpoints", {}),
        ("/speechtotext/endpoints", {"api-version": "2099-01-01"}),
        ("/speechtotext/endpoints", {"api-version": "v3.1"}),
    ],
)
async def test_an_unsupported_stt_version_is_a_400_naming_the_api_version(
    h: Harness, path: str, params: dict[str, str]
) -> None:
    r = await h.client.get(path, params=params)
    assert r.status_code == 400, r.text
    error = r.json()
    # the STT error shape: the detailed code is one of the spec's DetailedErrorCode values
    assert error["code"] == "InvalidRequest"
    assert error["innerError"]["code"] == "InvalidParameterValue"
    assert error["target"] == "api-version"
    assert "v3.2, 2024-11-15, 2025-10-15" in error["message"]


def _stamp(name: str) -> float:
    return datetime.strptime(name[:17], "%Y-%m-%d_%H%M%S").replace(tzinfo=UTC).timestamp()


async def test_content_logs_listed_right_after_deployment_are_not_older_than_the_endpoint(
    make_harness: HarnessFactory,
) -> None:
    async with make_harness(sim_config(time_scale=0.01)) as h:
        body = endpoint_body(properties={"loggingEnabled": True})
        endpoint = await create(h, body, version="v3.2")
        h.advance(4)  # deployed after 3.3 s
        r = await h.client.get(f"/speechtotext/v3.2/endpoints/{ep_id(endpoint)}/files/logs")
        files = r.json()["values"]
        assert len(files) == 6
        created, now = _seconds(endpoint["createdDateTime"]), h.clock()
        for f in files:
            assert created <= _seconds(f["createdDateTime"]) <= now, f
            assert created <= _stamp(f["name"]) <= now, f["name"]


async def test_base_model_log_locales_match_case_insensitively(h: Harness) -> None:
    upper = (await h.client.get("/speechtotext/v3.2/endpoints/base/en-US/files/logs")).json()["values"]
    lower = (await h.client.get("/speechtotext/v3.2/endpoints/base/en-us/files/logs")).json()["values"]
    assert [f["name"] for f in lower] == [f["name"] for f in upper] and len(upper) == 2
    one = await h.client.get(f"/speechtotext/v3.2/endpoints/base/en-us/files/logs/{upper[0]['name']}")
    assert one.status_code == 200
    assert (await h.client.get(one.json()["links"]["contentUrl"])).status_code == 200
    r = await h.client.delete(f"/speechtotext/v3.2/endpoints/base/EN-us/files/logs/{upper[0]['name']}")
    assert r.status_code == 204
    assert (await h.client.delete("/speechtotext/v3.2/endpoints/base/en-us/files/logs")).status_code == 202
    assert (await h.client.get("/speechtotext/v3.2/endpoints/base/en-US/files/logs")).json()["values"] == []


async def test_a_model_still_serving_a_redeploying_endpoint_cannot_be_deleted(h: Harness) -> None:
    eid = ep_id(await create(h))
    h.advance(400)
    r = await h.client.patch(
        f"/speechtotext/endpoints/{eid}", **DATED, json={"model": model_ref(ids.CUSTOM_EN_US_DEPLOYABLE_2)}
    )
    assert r.status_code == 200 and r.json()["status"] == "NotStarted"
    for model in (ids.CUSTOM_EN_US_DEPLOYABLE, ids.CUSTOM_EN_US_DEPLOYABLE_2):  # serving, deploying
        r = await h.client.delete(f"/speechtotext/models/{model}", **DATED)
        assert r.status_code == 400, model
        assert r.json()["innerError"]["code"] == "InUseViolation" and eid in r.json()["message"]
    h.advance(400)  # the redeploy is done: the old model no longer serves
    assert (
        await h.client.delete(f"/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}", **DATED)
    ).status_code == 204
    r = await h.client.delete(f"/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE_2}", **DATED)
    assert r.status_code == 400


_JSON_WRITES = [
    ("POST", "/speechtotext/endpoints", lambda: endpoint_body()),
    ("POST", "/speechtotext/models", lambda: {"displayName": "m", "locale": "en-US"}),
    ("POST", "/speechtotext/projects", lambda: {"displayName": "p", "locale": "en-US"}),
    ("PATCH", f"/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}", lambda: {"displayName": "m"}),
    ("PATCH", f"/speechtotext/projects/{ids.PROJECT_EN_US}", lambda: {"displayName": "p"}),
    ("PATCH", "/speechtotext/endpoints/{eid}", lambda: {"displayName": "e"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), _JSON_WRITES, ids=[f"{m} {p}" for m, p, _ in _JSON_WRITES]
)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
async def test_every_json_write_refuses_another_media_type(
    h: Harness, method: str, path: str, body: Any, content_type: str
) -> None:
    eid = ep_id(await create(h))
    h.advance(400)
    r = await h.client.request(
        method,
        path.format(eid=eid),
        **DATED,
        content=json.dumps(body()).encode(),
        headers={"Content-Type": content_type},
    )
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "UnsupportedMediaType" and content_type in r.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"), _JSON_WRITES, ids=[f"{m} {p}" for m, p, _ in _JSON_WRITES]
)
async def test_a_json_write_without_a_content_type_is_judged_by_its_body(
    h: Harness, method: str, path: str, body: Any
) -> None:
    eid = ep_id(await create(h))
    h.advance(400)
    r = await h.client.request(method, path.format(eid=eid), **DATED, content=json.dumps(body()).encode())
    assert "content-type" not in r.request.headers
    assert r.status_code in (200, 201), r.text


async def test_creates_take_only_the_media_type_the_spec_declares(h: Harness) -> None:
    # Only updates take merge patches (the specs' `consumes`); a create consumes application/json.
    r = await h.client.post(
        "/speechtotext/endpoints",
        **DATED,
        content=json.dumps(endpoint_body()).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 415
    r = await h.client.post(
        "/speechtotext/endpoints",
        **DATED,
        content=json.dumps(endpoint_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/speechtotext/endpoints", {"api-version": "2025-10-15", "top": "-1"}, "InvalidParameterValue"),
        ("/speechtotext/endpoints", {"api-version": "2025-10-15", "top": "abc"}, "InvalidParameterValue"),
        ("/speechtotext/endpoints", {"api-version": "2025-10-15", "top": "0"}, "InvalidParameterValue"),
        ("/speechtotext/endpoints", {"api-version": "2025-10-15", "skip": "-5"}, "InvalidParameterValue"),
        ("/speechtotext/v3.2/models/base", {"top": "99999999999"}, "InvalidParameterValue"),  # not an int32
        # Only ASCII digits with an optional minus: not Python's other integer spellings.
        *(
            ("/speechtotext/endpoints", {"api-version": "2025-10-15", "top": top}, "InvalidParameterValue")
            for top in ("1_0", "+5", " 5", "5 ", "\u0663", "0x10", "9" * 5000)
        ),
        ("/speechtotext/v3.2/endpoints/base/en-US/files/logs", {"top": "0"}, "InvalidTopForLogs"),
        (
            "/speechtotext/v3.2/endpoints/base/en-US/files/logs",
            {"sasValidityInSeconds": "99999999999999"},
            "InvalidSasValidityDuration",
        ),
    ],
)
async def test_paging_and_sas_errors_are_invalid_request_with_a_detailed_code(
    h: Harness, path: str, params: dict[str, str], detail: str
) -> None:
    # docs/simulator.md decision 3: STT validation errors are 400 InvalidRequest, the detail (a value of the
    # spec's DetailedErrorCode) in innerError.
    r = await h.client.get(path, params=params)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["code"] == "InvalidRequest"
    assert error["innerError"]["code"] == detail
    assert error["target"] == next(name for name in params if name != "api-version")


@pytest.mark.parametrize(
    "params",
    [
        {"maxpagesize": "-1"},
        {"skip": "x"},
        {"maxpagesize": "2147483648"},
        {"maxpagesize": "1_0"},
        {"skip": "+1"},
    ],
)
async def test_voice_paging_errors_are_bad_arguments(h: Harness, params: dict[str, str]) -> None:
    r = await h.client.get("/customvoice/endpoints", params={"api-version": "2026-01-01", **params})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "BadArgument"
    assert r.json()["error"]["target"] == next(iter(params))


_MALFORMED_IDS = [
    "not-a-uuid",
    "-" * 36,
    "c0570001000040008000000000000001",
    "c0570001-0000-4000-8000-00000000000g",
]
_BY_ID = [
    ("GET", "/endpoints/{}", "Endpoints_Get"),
    ("PATCH", "/endpoints/{}", "Endpoints_Update"),
    ("DELETE", "/endpoints/{}", "Endpoints_Delete"),
    ("GET", "/models/{}", "Models_GetCustomModel"),
    ("GET", "/models/base/{}/manifest", "Models_GetBaseModelManifest"),
    ("DELETE", "/projects/{}", "Projects_Delete"),
]


@pytest.mark.parametrize(("method", "path", "operation"), _BY_ID)
@pytest.mark.parametrize("bad", _MALFORMED_IDS)
async def test_a_malformed_path_id_is_the_operations_invalid_parameter_value(
    h: Harness, method: str, path: str, operation: str, bad: str
) -> None:
    # The specs declare every STT path id `format: uuid`: a malformed one is a validation error of the
    # operation (docs/simulator.md decision 3), counted under its name, not a path that matches nothing.
    body = {"json": {}} if method == "PATCH" else {}
    r = await h.client.request(method, "/speechtotext" + path.format(bad), **DATED, **body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["code"] == "InvalidRequest" and error["target"] == "id"
    assert error["innerError"]["code"] == "InvalidParameterValue"
    counts = (await h.client.get("/_sim/requests")).json()["operations"]
    assert counts == {operation: {"400": 1}}


async def test_fault_rules_of_an_operation_apply_to_its_malformed_ids(h: Harness) -> None:
    await h.client.post("/_sim/faults", json={"operation": "Endpoints_Get", "kind": "503"})
    r = await h.client.get("/speechtotext/v3.2/endpoints/not-a-uuid")
    assert r.status_code == 503


async def test_a_path_id_in_upper_case_names_the_same_entity(h: Harness) -> None:
    ep = await create(h)
    endpoint_id = ep["self"].split("?")[0].rsplit("/", 1)[1]
    r = await h.client.get(f"/speechtotext/endpoints/{endpoint_id.upper()}", **DATED)
    assert r.status_code == 200 and r.json()["self"] == ep["self"]
