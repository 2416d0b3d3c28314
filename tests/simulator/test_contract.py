"""Contract tests against the official specs in specs/azure-specs/.

1. Every operation the simulator implements, in every version, is called (successes and errors), and every
   response is validated against the operation's response schema by the spec audit in conftest.py.
2. Every official example request of an implemented operation is sent as it is, and answered with the
   example's status, headers and body shape.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator import stt, voice
from azure_speech_operator.simulator.seed import (
    Seed,
    SeedBaseModel,
    SeedCustomModel,
    SeedProject,
    SeedSpeechEndpoint,
    SeedVoiceEndpoint,
    default_seed,
)

from .conftest import Harness, HarnessFactory
from .swagger import FAMILIES, SPECS, load_spec, operations

STT_FOLDER = {"v3.2": "stt-v3.2", "2024-11-15": "stt-2024-11-15", "2025-10-15": "stt-2025-10-15"}
VOICE_FOLDERS = ("cv-2024-02-01-preview", "cv-2026-01-01")


def implemented() -> set[tuple[str, str]]:
    ops = set()
    for _, _, op in stt.routes():
        for version in op.versions:
            ops.add((STT_FOLDER[version], op.name))
    for _, _, op in voice.routes():
        if op.family == "voice":
            for folder in VOICE_FOLDERS:
                ops.add((folder, op.name))
    return ops


def test_implemented_operations_exist_in_the_specs() -> None:
    for folder, name in implemented():
        assert name in {op.operation_id for op in operations(folder)}, (folder, name)


# ---------------------------------------------------------------------------------------------------------
# 1. Every implemented operation, every version


def _prefix(folder: str) -> tuple[str, dict[str, str]]:
    prefix, version = FAMILIES[folder]
    return prefix, ({"api-version": version} if version else {})


async def _stt_scenario(h: Harness, folder: str) -> None:
    prefix, q = _prefix(folder)
    c = h.client
    versioned = folder.removeprefix("stt-")
    has_projects = versioned in ("v3.2", "2025-10-15")
    body: dict[str, Any] = {
        "displayName": "contract",
        "locale": "en-US",
        "model": {"self": f"https://x{prefix}/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
        "properties": {"loggingEnabled": True},
        "customProperties": {"team": "a"},
    }
    if has_projects:
        body["project"] = {"self": f"https://x{prefix}/projects/{ids.PROJECT_EN_US}"}
    created = await c.post(f"{prefix}/endpoints", params=q, json=body)
    assert created.status_code == 201
    eid = created.json()["self"].split("?")[0].rsplit("/", 1)[1]
    assert (await c.post(f"{prefix}/endpoints", params=q, json={"locale": "en-US"})).status_code == 400
    assert (await c.get(f"{prefix}/endpoints/{eid}", params=q)).status_code == 200  # NotStarted
    h.advance(3600)
    assert (await c.get(f"{prefix}/endpoints/{eid}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/endpoints", params={**q, "top": 1})).status_code == 200
    assert (await c.get(f"{prefix}/endpoints/locales", params=q)).status_code == 200
    unknown = str(uuid.uuid4())
    assert (await c.get(f"{prefix}/endpoints/{unknown}", params=q)).status_code == 404
    patch = {"model": {"self": f"https://x{prefix}/models/{ids.CUSTOM_EN_US_DEPLOYABLE_2}"}}
    assert (await c.patch(f"{prefix}/endpoints/{eid}", params=q, json=patch)).status_code == 200
    assert (
        await c.patch(f"{prefix}/endpoints/{eid}", params=q, json={"displayName": "x"})
    ).status_code == 409
    h.advance(3600)
    for path in ("/models/base", "/models", "/models/locales"):
        assert (await c.get(f"{prefix}{path}", params={**q, "top": 2})).status_code == 200
    assert (await c.get(f"{prefix}/models/base/{ids.BASE_EN_US_CURRENT}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/models/base/{unknown}", params=q)).status_code == 404
    assert (await c.get(f"{prefix}/models/{ids.CUSTOM_EN_US_TRAINING}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/models/{ids.CUSTOM_EN_US_FAILED}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/models/{unknown}", params=q)).status_code == 404
    manifest = f"{prefix}/models/base/{ids.BASE_EN_US_CURRENT}/manifest"
    assert (await c.get(manifest, params=q)).status_code == 200
    assert (await c.get(f"{prefix}/models/base/{unknown}/manifest", params=q)).status_code == 404
    assert (
        await c.get(f"{prefix}/models/{ids.CUSTOM_EN_US_DEPLOYABLE}/manifest", params=q)
    ).status_code == 200
    assert (await c.get(f"{prefix}/models/{ids.CUSTOM_EN_US_TRAINING}/manifest", params=q)).status_code == 400
    model_body: dict[str, Any] = {
        "displayName": "trained",
        "locale": "en-US",
        "baseModel": {"self": f"https://x{prefix}/models/base/{ids.BASE_EN_US_CURRENT}"},
        "datasets": [{"self": f"https://x{prefix}/datasets/{uuid.uuid4()}"}],
        "customProperties": {"k": "v"},
    }
    r = await c.post(f"{prefix}/models", params=q, json=model_body)
    assert r.status_code == 201
    model_url = r.json()["self"]
    assert (await c.post(f"{prefix}/models", params=q, json={"locale": "en-US"})).status_code == 400
    assert (await c.patch(model_url, json={"description": "d", "customProperties": {}})).status_code == 200
    assert (await c.patch(f"{prefix}/models/{unknown}", params=q, json={})).status_code == 404
    assert (await c.delete(model_url)).status_code == 204
    assert (await c.delete(model_url)).status_code == 204
    if has_projects:
        r = await c.post(f"{prefix}/projects", params=q, json={"displayName": "p", "locale": "en-US"})
        assert r.status_code == 201
        assert (await c.post(f"{prefix}/projects", params=q, json={"displayName": "p"})).status_code == 400
        assert (await c.patch(r.json()["self"], json={"displayName": "q"})).status_code == 200
        assert (await c.patch(f"{prefix}/projects/{unknown}", params=q, json={})).status_code == 404
        assert (await c.delete(r.json()["self"])).status_code == 204
        assert (await c.get(f"{prefix}/projects/locales", params=q)).status_code == 200
        assert (await c.get(f"{prefix}/projects/{ids.PROJECT_EN_US}/models", params=q)).status_code == 200
        assert (await c.get(f"{prefix}/projects/{unknown}/models", params=q)).status_code == 404
        assert (await c.get(f"{prefix}/projects", params=q)).status_code == 200
        assert (await c.get(f"{prefix}/projects/{ids.PROJECT_EN_US}", params=q)).status_code == 200
        assert (await c.get(f"{prefix}/projects/{unknown}", params=q)).status_code == 404
        assert (await c.get(f"{prefix}/projects/{ids.PROJECT_EN_US}/endpoints", params=q)).status_code == 200
    if versioned == "v3.2":
        logs = await c.get(f"{prefix}/endpoints/{eid}/files/logs", params={"top": 2})
        assert logs.status_code == 200
        name = logs.json()["values"][0]["name"]
        assert (await c.get(f"{prefix}/endpoints/{eid}/files/logs/{name}")).status_code == 200
        assert (await c.get(f"{prefix}/endpoints/{eid}/files/logs/nope.wav")).status_code == 404
        assert (await c.delete(f"{prefix}/endpoints/{eid}/files/logs/{name}")).status_code == 204
        assert (
            await c.delete(f"{prefix}/endpoints/{eid}/files/logs", params={"endDate": "x"})
        ).status_code == 400
        assert (await c.delete(f"{prefix}/endpoints/{eid}/files/logs")).status_code == 202
        assert (await c.get(f"{prefix}/endpoints/base/en-US/files/logs")).status_code == 200
        assert (await c.get(f"{prefix}/endpoints/base/en-US/files/logs/x.wav")).status_code == 404
        assert (await c.delete(f"{prefix}/endpoints/base/en-US/files/logs/x.wav")).status_code == 404
        assert (await c.delete(f"{prefix}/endpoints/base/en-US/files/logs")).status_code == 202
    assert (await c.delete(f"{prefix}/endpoints/{eid}", params=q)).status_code == 204
    assert (await c.delete(f"{prefix}/endpoints/{eid}", params=q)).status_code == 404


async def _voice_scenario(h: Harness, folder: str) -> None:
    prefix, q = _prefix(folder)
    c = h.client
    eid = str(uuid.uuid4())
    body = {
        "displayName": "v",
        "description": "d",
        "projectId": ids.VOICE_PROJECT,
        "modelId": ids.VOICE_MODEL,
    }
    r = await c.put(f"{prefix}/endpoints/{eid}", params=q, json=body, headers={"Operation-Id": f"op-{eid}"})
    assert r.status_code == 201
    assert (await c.put(f"{prefix}/endpoints/{eid}", params=q, json={"projectId": "x"})).status_code == 400
    assert (await c.get(f"{prefix}/operations/op-{eid}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/operations/nope", params=q)).status_code == 404
    assert (await c.post(f"{prefix}/endpoints/{eid}:suspend", params=q)).status_code == 400
    h.advance(3600)
    assert (await c.get(f"{prefix}/endpoints/{eid}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/endpoints/{uuid.uuid4()}", params=q)).status_code == 404
    assert (await c.get(f"{prefix}/endpoints", params={**q, "maxpagesize": 1})).status_code == 200
    assert (await c.post(f"{prefix}/endpoints/{eid}:suspend", params=q)).status_code == 202
    assert (await c.post(f"{prefix}/endpoints/{eid}:resume", params=q)).status_code == 400
    h.advance(60)
    assert (await c.post(f"{prefix}/endpoints/{eid}:resume", params=q)).status_code == 202
    for path in ("/models", f"/models/{ids.VOICE_MODEL}", f"/models/{ids.VOICE_MODEL_FAILED}", "/projects"):
        assert (await c.get(f"{prefix}{path}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/projects/{ids.VOICE_PROJECT}", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/projects/Nope", params=q)).status_code == 404
    assert (await c.get(f"{prefix}/models/Nope", params=q)).status_code == 404
    assert (await c.get(f"{prefix}/basemodels", params=q)).status_code == 200
    assert (await c.get(f"{prefix}/modelrecipes", params=q)).status_code == 200
    project = {"kind": "ProfessionalVoice", "description": "p"}
    assert (await c.put(f"{prefix}/projects/Proj1", params=q, json=project)).status_code == 201
    assert (await c.put(f"{prefix}/projects/Proj1", params=q, json={"kind": "Other"})).status_code == 400
    model = {
        "recipe": {"kind": "Default"},
        "projectId": "Proj1",
        "consentId": "con1",
        "trainingSetId": "set1",
    }
    r = await c.put(f"{prefix}/models/Model1", params=q, json=model, headers={"Operation-Id": "train-Model1"})
    assert r.status_code == 201
    assert (await c.get(r.headers["Operation-Location"])).status_code == 200
    assert (await c.put(f"{prefix}/models/Model2", params=q, json={"projectId": "Proj1"})).status_code == 400
    assert (await c.delete(f"{prefix}/projects/Proj1", params=q)).status_code == 400
    assert (await c.delete(f"{prefix}/models/Model1", params=q)).status_code == 204
    assert (await c.delete(f"{prefix}/models/Model1", params=q)).status_code == 404
    assert (await c.delete(f"{prefix}/projects/Proj1", params=q)).status_code == 204
    assert (await c.delete(f"{prefix}/projects/Proj1", params=q)).status_code == 404
    assert (await c.delete(f"{prefix}/endpoints/{eid}", params=q)).status_code == 204
    assert (await c.delete(f"{prefix}/endpoints/{eid}", params=q)).status_code == 404


@pytest.mark.parametrize("folder", sorted(FAMILIES))
async def test_every_operation_answers_in_its_schema(make_harness: HarnessFactory, folder: str) -> None:
    async with make_harness() as h:
        if folder.startswith("stt"):
            await _stt_scenario(h, folder)
        else:
            await _voice_scenario(h, folder)
        # An unauthenticated call and a throttled one answer in the error schema too.
        prefix, q = _prefix(folder)
        r = await h.client.get(f"{prefix}/endpoints", params=q, headers={"Ocp-Apim-Subscription-Key": "bad"})
        assert r.status_code == 401
        expected = {name for f, name in implemented() if f == folder}
        seen = {name for f, name in h.audit.seen if f == folder}
        assert expected <= seen, f"not exercised in {folder}: {sorted(expected - seen)}"
        # the audit (conftest) fails the test if any response did not match its schema
        assert h.audit.seen


# ---------------------------------------------------------------------------------------------------------
# 2. The official examples

EXAMPLE_ENDPOINT = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
EXAMPLE_MODEL = "827712a5-f942-4997-91c3-7c6cde35600b"
EXAMPLE_BASE_MODEL = "8a043172-65b7-4cf3-a8b5-4449efa5a0f1"
EXAMPLE_PROJECT = "abc46f33-90b8-443d-adad-4870517356e0"
EXAMPLE_VOICE_ENDPOINT = "9f50c644-2121-40e9-9ea7-544e48bfe3cb"

# Keys the examples show that depend on data the simulator does not keep, or that the schema does not have.
# Each is a documented decision (docs/simulator.md, "Official examples").
TOLERATED = {
    "@nextLink",  # whether there is a next page depends on how many entities exist
    "nextLink",
    "text",  # v3.2 example endpoints carry adaptation text; only kept when sent on create
    "timeToLive",  # only kept when sent on create
    "logs",  # 2024-11-15 example shows links.logs, which its Endpoint schema does not have
    "customProperties",  # only when set
    "description",  # only when set
    "email",
    "error",
    "project",  # the example project is not the seeded one for every entity
    "properties",  # 2025-10-15 project example has none; v3.2 has counts
    "foundryProjectName",
    "failureReason",
    "expirationDateTime",
    "voiceStyles",
    "presetStyles",
    "styleTrainingSetIds",
    "secondaryLocales",
    "failedTrainingsets",
    "adaptationDateTime",
    # The 2025-10-15 get_project_endpoints example shows the v3.2 links its own EndpointLinks schema lacks.
    "restInteractive",
    "restConversation",
    "restDictation",
    "webSocketInteractive",
    "webSocketConversation",
    "webSocketDictation",
    "displayName",  # voice endpoints and projects: optional, the examples are inconsistent
    "capabilities",
    "minUtteranceCount",
    "minStyleUtteranceCount",
    "maxCustomStyleNum",
    "datasetLocales",
    "modelLocales",
    "supportsAdaptationsWith",
}


# Examples whose inputs select nothing in any consistent world: an empty page is their right answer.
EMPTY_IS_RIGHT = {
    "get_base_model_logs.json": "asks for the logs of locale 'Acoustic', which is not a locale",
}


def example_seed() -> Seed:
    base = default_seed()
    return base.model_copy(
        update={
            "base_models": [
                *base.base_models,
                SeedBaseModel(id=EXAMPLE_MODEL, locale="en-US", display_name="en-US Base model"),
                SeedBaseModel(id=EXAMPLE_BASE_MODEL, locale="en-US", display_name="en-US Base model 2"),
            ],
            "custom_models": [
                *base.custom_models,
                SeedCustomModel(
                    id=EXAMPLE_MODEL,
                    locale="en-US",
                    display_name="Language model",
                    project=EXAMPLE_PROJECT,
                    base_model=EXAMPLE_BASE_MODEL,
                ),
                SeedCustomModel(
                    id="00000000-0000-4000-8000-0000000000bb",
                    locale="en-US",
                    display_name="Training",
                    status="Running",
                    project=EXAMPLE_PROJECT,
                    base_model=EXAMPLE_BASE_MODEL,
                ),
            ],
            "projects": [
                *base.projects,
                SeedProject(
                    id=EXAMPLE_PROJECT,
                    locale="en-US",
                    display_name="My speech project with AI Foundry",
                    foundry_project_name="my-ai-foundry-project",
                    created_days_ago=2800,  # 2018/2019 on the test clock, as the filter examples expect
                ),
            ],
            "speech_endpoints": [
                SeedSpeechEndpoint(
                    id=EXAMPLE_ENDPOINT,
                    display_name="Speech endpoint",
                    description="Example for speech endpoint",
                    locale="en-US",
                    model=EXAMPLE_MODEL,
                    logging_enabled=True,
                    project=EXAMPLE_PROJECT,
                    created_days_ago=2,
                ),
                SeedSpeechEndpoint(
                    id="00000000-0000-4000-8000-0000000000aa",
                    display_name="Not started yet",
                    locale="en-US",
                    model=EXAMPLE_MODEL,
                    status="NotStarted",
                    project=EXAMPLE_PROJECT,
                    created_days_ago=1,
                ),
            ],
        }
    )


def _examples() -> list[tuple[str, str, Path]]:
    out = []
    for folder in sorted(FAMILIES):
        wanted = {name for f, name in implemented() if f == folder}
        for op in operations(folder):
            if op.operation_id not in wanted:
                continue
            for ref in op.spec.get("x-ms-examples", {}).values():
                path = SPECS / folder / ref["$ref"].removeprefix("./")
                if path.exists():
                    out.append((folder, op.operation_id, path))
    return out


EXAMPLES = _examples()
EXAMPLE_BODIES = {path: json.loads(path.read_text()) for _, _, path in EXAMPLES}


# Official examples of operations outside endpoint management, which the simulator does not implement
# (listed in docs/simulator.md). Any other vendored example must be run by test_official_example.
NOT_SIMULATED = {
    "copy_model_with_authorization.json",  # Models_Copy
    "create_copy_model_authorization.json",  # Models_AuthorizeCopy
    "get_operation_copy_model.json",  # Operations_GetModelCopy
    "get_operation_copy_model_pending.json",
    "get_model_file.json",  # Models_GetFile
    "get_model_files.json",  # Models_ListFiles
    "get_project_datasets.json",  # Projects_ListDatasets
    "get_project_evaluations.json",  # Projects_ListEvaluations
    "get_project_transcriptions.json",  # Projects_ListTranscriptions
    "transcribe_enhanced_model_options.json",  # Transcriptions_Transcribe (fast transcription)
}


def test_every_vendored_example_is_run_or_listed() -> None:
    run = {p.resolve() for _, _, p in EXAMPLES}
    vendored = {p.resolve() for p in SPECS.glob("*/examples/*.json")}
    assert {p.name for p in vendored - run} == NOT_SIMULATED
    assert len(run) >= 90


def _param(spec: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in p:
        resolved: dict[str, Any] = spec["parameters"][p["$ref"].split("/")[-1]]
        return resolved
    return p


def _build_request(
    folder: str, operation_id: str, example: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    spec = load_spec(folder)
    op = next(o for o in operations(folder) if o.operation_id == operation_id)
    prefix, _ = FAMILIES[folder]
    values = example["parameters"]
    path = op.template
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: Any = None
    for raw in [*spec["paths"][op.template].get("parameters", []), *op.spec.get("parameters", [])]:
        p = _param(spec, raw)
        if p["name"] not in values:
            continue
        value = values[p["name"]]
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(value))
        elif p["in"] == "query":
            params[p["name"]] = unquote(str(value))
        elif p["in"] == "header":
            headers[p["name"]] = str(value)
        elif p["in"] == "body":
            body = value
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    return op.method, prefix + path, kwargs


def _shape_errors(expected: Any, actual: Any, where: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type(actual).__name__}"]
        errors = []
        for key, value in expected.items():
            if key not in actual:
                if key not in TOLERATED:
                    errors.append(f"{where}.{key}: missing")
                continue
            errors.extend(_shape_errors(value, actual[key], f"{where}.{key}"))
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {type(actual).__name__}"]
        if expected and not actual:
            return [f"{where}: expected items, got an empty list"]
        return _shape_errors(expected[0], actual[0], f"{where}[0]") if expected else []
    numbers = isinstance(expected, int | float) and isinstance(actual, int | float)
    same_kind = isinstance(expected, bool) == isinstance(actual, bool) and (
        type(expected) is type(actual) or numbers
    )
    if not same_kind:
        return [f"{where}: expected {type(expected).__name__}, got {type(actual).__name__}"]
    return []


def _voice_example_seed(seed: Seed, operation_id: str) -> Seed:
    """The voice examples create and delete the seeded `Jessica` project and model: make room for them."""
    update: dict[str, Any] = {}
    if operation_id == "Projects_Create":
        update = {
            "voice_projects": [p for p in seed.voice_projects if p.id != ids.VOICE_PROJECT],
            "voice_models": [m for m in seed.voice_models if m.project_id != ids.VOICE_PROJECT],
            "voice_endpoints": [],
        }
    elif operation_id == "Projects_Delete":
        update = {"voice_models": [m for m in seed.voice_models if m.project_id != ids.VOICE_PROJECT]}
        update["voice_endpoints"] = []
    elif operation_id == "Models_Create":
        update = {
            "voice_models": [m for m in seed.voice_models if m.id != ids.VOICE_MODEL],
            "voice_endpoints": [],
        }
    elif operation_id == "Models_Delete":
        update = {"voice_endpoints": []}
    return seed.model_copy(update=update)


async def _prepare(h: Harness, folder: str, operation_id: str, example: dict[str, Any]) -> None:
    """Bring the simulator into the state the example assumes."""
    if folder.startswith("cv") and operation_id == "Operations_Get":
        r = await h.client.put(
            f"/customvoice/endpoints/{uuid.uuid4()}",
            params={"api-version": example["parameters"]["api-version"]},
            json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
            headers={"Operation-Id": example["parameters"]["id"]},
        )
        assert r.status_code == 201


@pytest.mark.parametrize(
    ("folder", "operation_id", "path"), EXAMPLES, ids=[f"{f}:{p.name}" for f, _, p in EXAMPLES]
)
async def test_official_example(
    make_harness: HarnessFactory, folder: str, operation_id: str, path: Path
) -> None:
    example = EXAMPLE_BODIES[path]
    seed = example_seed()
    if folder.startswith("cv") and operation_id != "Endpoints_Create":
        status = "Disabled" if operation_id == "Endpoints_Resume" else "Succeeded"
        seed = seed.model_copy(
            update={
                "voice_endpoints": [
                    SeedVoiceEndpoint(
                        id=EXAMPLE_VOICE_ENDPOINT,
                        description="Endpoint for Jessica voice",
                        project_id=ids.VOICE_PROJECT,
                        model_id=ids.VOICE_MODEL,
                        status=status,
                    )
                ]
            }
        )
    if folder.startswith("cv"):
        seed = _voice_example_seed(seed, operation_id)
    async with make_harness(seed=seed) as h:
        await _prepare(h, folder, operation_id, example)
        method, url, kwargs = _build_request(folder, operation_id, example)
        r: httpx.Response = await h.client.request(method, url, **kwargs)
        (status_text, expected), *_ = example["responses"].items()
        assert r.status_code == int(status_text), r.text
        for name, value in (expected.get("headers") or {}).items():
            assert name in r.headers, f"header {name} missing"
            ours = httpx.URL(r.headers[name]) if str(value).startswith("http") else None
            if ours is not None:
                theirs = httpx.URL(value)
                assert ours.params.get("api-version") == theirs.params.get("api-version")
                if folder.startswith("cv"):
                    assert ours.path == theirs.path
        if expected.get("body") is not None:
            errors = _shape_errors(expected["body"], r.json(), "$")
            if path.name in EMPTY_IS_RIGHT:
                assert r.json()["values"] == []
                errors = [e for e in errors if "got an empty list" not in e]
            assert not errors, errors
        else:
            assert r.content == b""


NEXT_LINK_EXAMPLES = [
    (f, p)
    for f, o, p in EXAMPLES
    if o == "Endpoints_List" and "@nextLink" in EXAMPLE_BODIES[p]["responses"]["200"]["body"]
]


@pytest.mark.parametrize(
    ("folder", "path"), NEXT_LINK_EXAMPLES, ids=[f"{f}:{p.name}" for f, p in NEXT_LINK_EXAMPLES]
)
async def test_a_next_link_is_written_as_the_examples_write_it(
    make_harness: HarnessFactory, folder: str, path: Path
) -> None:
    """With more endpoints than the example's `top`, the `@nextLink` of the example request is the
    example's, character for character after the host (percent-encoded spaces, parameter order)."""
    example = EXAMPLE_BODIES[path]
    seed = example_seed()
    extra = [
        SeedSpeechEndpoint(
            id=str(uuid.UUID(int=i, version=4)),
            display_name=f"more {i}",
            locale="en-US",
            model=EXAMPLE_MODEL,
            created_days_ago=3 + i,
        )
        for i in range(2)
    ]
    seed = seed.model_copy(update={"speech_endpoints": [*seed.speech_endpoints, *extra]})
    async with make_harness(seed=seed) as h:
        method, url, kwargs = _build_request(folder, "Endpoints_List", example)
        r = await h.client.request(method, url, **kwargs)
        assert r.status_code == 200, r.text
        (_, expected), *_ = example["responses"].items()
        theirs = expected["body"]["@nextLink"].split(".com", 1)[1]
        ours = r.json()["@nextLink"].removeprefix(h.url)
        assert ours == theirs
