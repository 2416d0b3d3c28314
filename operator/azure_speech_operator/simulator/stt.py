"""Speech to text: endpoints, content logs, base and custom models, projects (v3.2, 2024-11-15, 2025-10-15).

Each version has its own paths and payload shapes: v3.2 carries the version in the path, the dated versions in
the `api-version` query, which every `self`, `Location` and `@nextLink` URL repeats.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlparse

from aiohttp import web

from .filters import FilterError, compile_filter
from .http import (
    JSON,
    JSON_OR_MERGE_PATCH,
    STT_VERSIONS,
    UUID_TEXT,
    ApiError,
    Ctx,
    Op,
    canonical_uuid,
    found,
    json_response,
    query_int,
    query_string,
    read_json_object,
)
from .logfiles import iso_duration, log_size
from .seed import DEFAULT_MODEL_WEIGHT_PERCENT, SeedBaseModel, SeedCustomModel, SeedProject
from .state import (
    MAX_TIME_TO_LIVE,
    Action,
    EntityError,
    LogFile,
    ModelRef,
    SpeechEndpoint,
    iso,
    retry_after_seconds,
    time_to_live_seconds,
)

V32 = "v3.2"
ALL = STT_VERSIONS
WITH_PROJECTS = ("v3.2", "2025-10-15")
ONLY_V32 = ("v3.2",)
DEFAULT_TOP = 100
_MODEL_PATH = re.compile(rf"/models/(base/)?({UUID_TEXT})/?$")
_PROJECT_PATH = re.compile(rf"/projects/({UUID_TEXT})/?$")


def _models(ctx: Ctx) -> dict[str, SeedCustomModel]:
    return ctx.world.custom_models_of(ctx.resource, ctx.now)


def _projects(ctx: Ctx) -> dict[str, SeedProject]:
    return ctx.world.projects_of(ctx.resource)


# ---------------------------------------------------------------------------------------------------------
# URLs


def _api_base(ctx: Ctx) -> str:
    return f"{ctx.host}/speechtotext/v3.2" if ctx.version == V32 else f"{ctx.host}/speechtotext"


def _url(ctx: Ctx, path: str, query: Mapping[str, str | int] | None = None) -> str:
    params: dict[str, str | int] = dict(query or {})
    if ctx.version != V32:
        params["api-version"] = ctx.version
    return f"{_api_base(ctx)}{path}" + (f"?{query_string(params)}" if params else "")


def _region(ctx: Ctx) -> str:
    host = urlparse(ctx.host).hostname or ""
    first = host.split(".")[0]
    return first if host.endswith(".api.cognitive.microsoft.com") else ctx.world.config.region


def _model_url(ctx: Ctx, ref: ModelRef) -> str:
    return _url(ctx, f"/models/base/{ref.id}" if ref.base else f"/models/{ref.id}")


# ---------------------------------------------------------------------------------------------------------
# Rendering


def _features(ctx: Ctx, supports_endpoints: bool, base: bool) -> dict[str, Any]:
    features: dict[str, Any] = {}
    if base:
        features["supportsAdaptationsWith"] = ["Language", "Acoustic"]
    if ctx.version == V32:
        features["supportsTranscriptions"] = True
    else:
        features["supportsTranscriptionsSubmit"] = True
        features["supportsTranscriptionsTranscribe"] = base
    features["supportsEndpoints"] = supports_endpoints
    features["supportsTranscriptionsOnSpeechContainers"] = False
    features["supportedOutputFormats"] = ["Display", "Lexical"]
    return features


def render_endpoint(ctx: Ctx, ep: SpeechEndpoint) -> tuple[dict[str, Any], int | None]:
    status, entered, left = ep.action.status_at(ctx.now)
    body: dict[str, Any] = {
        "self": _url(ctx, f"/endpoints/{ep.id}"),
        "model": {"self": _model_url(ctx, ep.model)},
    }
    if ep.project and ctx.version in WITH_PROJECTS:
        body["project"] = {"self": _url(ctx, f"/projects/{ep.project}")}
    region = _region(ctx)
    if ctx.version == V32:
        links = {"logs": _url(ctx, f"/endpoints/{ep.id}/files/logs")}
        for mode in ("interactive", "conversation", "dictation"):
            host = f"{region}.stt.speech.microsoft.com"
            path = f"{host}/speech/recognition/{mode}/cognitiveservices/v1?cid={ep.id}"
            links[f"rest{mode.capitalize()}"] = f"https://{path}"
            links[f"webSocket{mode.capitalize()}"] = f"wss://{path}"
    else:
        links = {"webSocket": f"wss://{region}.stt.speech.microsoft.com/stt/speech/universal/v2?cid={ep.id}"}
    body["links"] = links
    properties: dict[str, Any] = {"loggingEnabled": ep.logging_enabled}
    if ctx.version == V32 and ep.time_to_live:
        properties["timeToLive"] = ep.time_to_live
    if status == "Failed" and ep.action.error is not None:
        properties["error"] = ep.action.error.model_dump()
    body["properties"] = properties
    body["displayName"] = ep.display_name
    if ep.description is not None:
        body["description"] = ep.description
    if ctx.version == V32 and ep.text is not None:
        body["text"] = ep.text
    body["locale"] = ep.locale
    if ep.custom_properties:
        body["customProperties"] = dict(ep.custom_properties)
    body["createdDateTime"] = iso(ep.created)
    body["lastActionDateTime"] = iso(max(entered, ep.created))
    body["status"] = status
    return body, retry_after_seconds(left)


def _base_model_body(ctx: Ctx, m: SeedBaseModel) -> dict[str, Any]:
    world = ctx.world
    created = world.days_from_start(-m.created_days_ago)
    body: dict[str, Any] = {
        "self": _url(ctx, f"/models/base/{m.id}"),
        "links": {"manifest": _url(ctx, f"/models/base/{m.id}/manifest")},
        "properties": {
            "deprecationDates": {
                "adaptationDateTime": iso(world.days_from_start(m.adaptation_in_days)),
                "transcriptionDateTime": iso(world.days_from_start(m.transcription_in_days)),
            },
            "features": _features(ctx, m.supports_endpoints, base=True),
            "chargeForAdaptation": False,
        },
        "displayName": m.display_name,
        "locale": m.locale,
        "createdDateTime": iso(created),
        "lastActionDateTime": iso(created),
        "status": "Succeeded",
    }
    if m.description:
        body["description"] = m.description
    return body


def _custom_model_body(ctx: Ctx, m: SeedCustomModel) -> dict[str, Any]:
    world = ctx.world
    created = world.days_from_start(-m.created_days_ago)
    links = {
        "manifest": _url(ctx, f"/models/{m.id}/manifest"),
        "copy": _url(ctx, f"/models/{m.id}:copy"),
        "files": _url(ctx, f"/models/{m.id}/files"),
    }
    if ctx.version == V32:
        links["copyTo"] = _url(ctx, f"/models/{m.id}:copyto")
    properties: dict[str, Any] = {
        "deprecationDates": {"transcriptionDateTime": iso(world.days_from_start(m.transcription_in_days))},
        "customModelWeightPercent": m.custom_model_weight_percent,
        # whatever its status: the specs' examples show a Running (training) model as deployable
        "features": _features(ctx, m.supports_endpoints, base=False),
    }
    if m.status == "Failed":
        properties["error"] = {
            "code": "InvalidDataset",
            "message": "The training data could not be processed.",
        }
    body: dict[str, Any] = {"self": _url(ctx, f"/models/{m.id}")}
    if m.base_model:
        body["baseModel"] = {"self": _url(ctx, f"/models/base/{m.base_model}")}
    dataset_ids = m.datasets or [str(uuid.uuid5(uuid.NAMESPACE_URL, m.id))]
    body["datasets"] = [{"self": _url(ctx, f"/datasets/{d}")} for d in dataset_ids]
    body["links"] = links
    if m.project and ctx.version in WITH_PROJECTS:
        body["project"] = {"self": _url(ctx, f"/projects/{m.project}")}
    body["properties"] = properties
    body["displayName"] = m.display_name
    if m.description:
        body["description"] = m.description
    body["locale"] = m.locale
    if m.custom_properties:
        body["customProperties"] = dict(m.custom_properties)
    body["createdDateTime"] = iso(created)
    body["lastActionDateTime"] = iso(_model_last_action(ctx, m))
    body["status"] = m.status
    return body


def _model_last_action(ctx: Ctx, m: SeedCustomModel) -> float:
    """When the model's status last changed: its training's phase if this resource trains it; a seeded model
    finished training an hour after it was created."""
    training = ctx.resource.model_training.get(m.id)
    if training is not None:
        return training.status_at(ctx.now)[1]
    created = ctx.world.days_from_start(-m.created_days_ago)
    return created + 3600 if m.status in ("Succeeded", "Failed") else created


def _model_fields(ctx: Ctx, m: SeedCustomModel) -> dict[str, Any]:
    """A custom model's filterable fields, with the dates its body shows."""
    return {
        "status": m.status,
        "locale": m.locale,
        "displayName": m.display_name,
        "description": m.description or None,
        "createdDateTime": ctx.world.days_from_start(-m.created_days_ago),
        "lastActionDateTime": _model_last_action(ctx, m),
    }


def _project_body(ctx: Ctx, p: SeedProject) -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": _url(ctx, f"/projects/{p.id}"),
        "displayName": p.display_name,
        "locale": p.locale,
        "createdDateTime": iso(ctx.world.days_from_start(-p.created_days_ago)),
        "links": {
            kind: _url(ctx, f"/projects/{p.id}/{kind}")
            for kind in ("evaluations", "datasets", "models", "endpoints", "transcriptions")
        },
    }
    if p.description:
        body["description"] = p.description
    if ctx.version == "2025-10-15" and p.foundry_project_name:
        body["foundryProjectName"] = p.foundry_project_name
    if p.custom_properties:
        body["customProperties"] = dict(p.custom_properties)
    if ctx.version == V32:
        models = sum(1 for m in _models(ctx).values() if m.project == p.id)
        endpoints = sum(1 for e in ctx.resource.speech_endpoints.values() if e.project == p.id)
        body["properties"] = {
            "datasetCount": 0,
            "evaluationCount": 0,
            "modelCount": models,
            "transcriptionCount": 0,
            "endpointCount": endpoints,
        }
    return body


# ---------------------------------------------------------------------------------------------------------
# Paging


def _page(
    request: web.Request,
    ctx: Ctx,
    path: str,
    items: Sequence[Any],
    render: Callable[[Any], dict[str, Any]] = lambda item: dict(item),
) -> dict[str, Any]:
    """One page of `items` (only that page is rendered), with `@nextLink` unless it is the last."""
    skip = query_int(request, "skip", 0, "stt")
    top = query_int(request, "top", DEFAULT_TOP, "stt", minimum=1)
    body: dict[str, Any] = {"values": [render(item) for item in items[skip : skip + top]]}
    if skip + top < len(items):
        query: dict[str, str | int] = {"skip": skip + top, "top": top}
        if request.query.get("filter"):
            query["filter"] = request.query["filter"]
        body["@nextLink"] = _url(ctx, path, query)
    return body


def _filtered(request: web.Request, fields: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    try:
        return compile_filter(request.query.get("filter"), fields)
    except FilterError as exc:
        raise ApiError(400, "InvalidRequest", f"Invalid filter: {exc}.", detail="UnsupportedFilter") from None


_ENTITY_FILTER_FIELDS = {
    "status": "str",
    "locale": "str",
    "displayName": "str",
    "description": "str",
    "createdDateTime": "time",
    "lastActionDateTime": "time",
}


def _endpoint_fields(ctx: Ctx, ep: SpeechEndpoint) -> dict[str, Any]:
    status, entered, _ = ep.action.status_at(ctx.now)
    return {
        "status": status,
        "locale": ep.locale,
        "displayName": ep.display_name,
        "description": ep.description,
        "createdDateTime": ep.created,
        "lastActionDateTime": max(entered, ep.created),
    }


def _list_endpoints(request: web.Request, ctx: Ctx, path: str, project: str | None) -> web.Response:
    keep = _filtered(request, _ENTITY_FILTER_FIELDS)
    endpoints = sorted(ctx.resource.speech_endpoints.values(), key=lambda e: (-e.created, e.id))
    selected = [
        e for e in endpoints if (project is None or e.project == project) and keep(_endpoint_fields(ctx, e))
    ]
    waits: list[int] = []

    def render(ep: SpeechEndpoint) -> dict[str, Any]:
        body, retry = render_endpoint(ctx, ep)
        if retry is not None:
            waits.append(retry)
        return body

    page = _page(request, ctx, path, selected, render)
    return json_response(page, headers={"Retry-After": str(min(waits))} if waits else None)


# ---------------------------------------------------------------------------------------------------------
# Validation


def _invalid(message: str, detail: str, target: str | None = None) -> ApiError:
    return ApiError(400, "InvalidRequest", message, detail=detail, target=target)


def _check_path_id(raw: str) -> None:
    """Every STT path id is `format: uuid` in the specs: anything else is a bad parameter value."""
    if canonical_uuid(raw) is None:
        raise _invalid(f"The id '{raw}' is not a valid UUID.", "InvalidParameterValue", "id")


def _parse_ref(value: Any, field: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("self"), str):
        raise _invalid(f"'{field}' must be an object with a 'self' URL.", "InvalidPayload", field)
    return str(value["self"])


def _model_ref(value: Any) -> ModelRef:
    url = _parse_ref(value, "model")
    match = _MODEL_PATH.search(urlparse(url).path)
    if not match:
        raise _invalid(f"The model URI '{url}' is not valid.", "InvalidModelUri", "model")
    return ModelRef(id=match.group(2).lower(), base=bool(match.group(1)))


def _project_id(ctx: Ctx, value: Any) -> str:
    url = _parse_ref(value, "project")
    match = _PROJECT_PATH.search(urlparse(url).path)
    project_id = match.group(1).lower() if match else None
    if project_id is None or project_id not in _projects(ctx):
        raise _invalid(f"The project '{url}' does not exist.", "InvalidProject", "project")
    return project_id


def _check_model(ctx: Ctx, ref: ModelRef, locale: str) -> bool:
    """Validate a model for deployment; returns whether the seed forces its deployments to fail."""
    world = ctx.world
    if ref.base:
        base = world.base_models.get(ref.id)
        if base is None:
            raise _invalid(f"The base model {ref.id} does not exist.", "InvalidBaseModel", "model")
        model_locale, status, deployable = base.locale, "Succeeded", base.supports_endpoints
        expires, forced = base.transcription_in_days, base.deploy_fails
    else:
        custom = _models(ctx).get(ref.id)
        if custom is None:
            raise _invalid(f"The model {ref.id} does not exist.", "InvalidModel", "model")
        model_locale, status, deployable = custom.locale, custom.status, custom.supports_endpoints
        expires, forced = custom.transcription_in_days, custom.deploy_fails
    if model_locale != locale:
        raise _invalid(
            f"The locale of the model ({model_locale}) does not match the locale of the endpoint ({locale}).",
            "ModelMismatch",
            "model",
        )
    if status == "Failed":
        raise _invalid(f"The model {ref.id} failed and cannot be deployed.", "DeployingFailedModel", "model")
    if status != "Succeeded":
        raise _invalid(
            f"The model {ref.id} is in state {status}; only Succeeded models can be deployed.",
            "ModelDeploymentNotCompleteState",
            "model",
        )
    if not deployable:
        raise _invalid(f"The model {ref.id} does not support endpoints.", "ModelNotDeployable", "model")
    if world.days_from_start(expires) <= ctx.now:
        raise _invalid(f"The model {ref.id} is deprecated for transcription.", "ModelDeprecated", "model")
    return forced


def _custom_properties(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(
            "$.customProperties: must be an object of strings.", "InvalidPayload", "customProperties"
        )
    if len(value) > 10:
        raise _invalid(
            f"$.customProperties: at most 10 entries are allowed, got {len(value)}.",
            "InvalidPayload",
            "customProperties",
        )
    for key, item in value.items():
        if not isinstance(item, str):
            raise _invalid(
                f"$.customProperties.{key}: The supplied value is invalid.",
                "InvalidPayload",
                "customProperties",
            )
        if len(key) > 64 or len(item) > 256:
            raise _invalid(
                f"$.customProperties.{key}: keys are limited to 64 and values to 256 characters.",
                "InvalidPayload",
                "customProperties",
            )
    return dict(value)


def _optional_string(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"$.{field}: must be a string.", "InvalidPayload", field)
    return value


def _metadata_changes(body: Mapping[str, Any], *, no_description: str | None) -> dict[str, Any]:
    """What a PATCH of an endpoint, model or project changes in displayName, description and
    customProperties; `no_description` is what a null description becomes."""
    changes: dict[str, Any] = {}
    if "displayName" in body:
        changes["display_name"] = _display_name(body)
    if "description" in body:
        description = _optional_string(body, "description")
        changes["description"] = no_description if description is None else description
    if "customProperties" in body:
        # A PATCH replaces the whole map (documented decision): keys left out are removed.
        changes["custom_properties"] = _custom_properties(body["customProperties"])
    return changes


def _display_name(body: Mapping[str, Any]) -> str:
    value = body.get("displayName")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(
            "$.displayName: a non-empty display name is required.", "InvalidPayload", "displayName"
        )
    return value


def _supported_locales(ctx: Ctx) -> list[str]:
    return sorted({m.locale for m in ctx.world.base_models.values() if m.supports_endpoints})


def _deploy_action(ctx: Ctx, kind: str, fails: bool) -> Action:
    durations, config = ctx.world.config.durations, ctx.world.config
    running = durations.speech_deploy if kind == "deploy" else durations.speech_redeploy
    return Action(
        kind=kind,
        started=ctx.now,
        phases=[("NotStarted", config.scaled(durations.speech_queue)), ("Running", config.scaled(running))],
        outcome="Failed" if fails else "Succeeded",
        error=EntityError(code="DeploymentFailed", message="The endpoint deployment failed.")
        if fails
        else None,
    )


def _get_endpoint(ctx: Ctx, request: web.Request) -> SpeechEndpoint:
    return found(ctx.resource.speech_endpoints, request, "endpoint", lower=True)


# ---------------------------------------------------------------------------------------------------------
# Endpoint handlers


async def endpoints_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return _list_endpoints(request, ctx, "/endpoints", None)


async def endpoints_locales(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(_supported_locales(ctx))


async def endpoints_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    body = await read_json_object(request, "stt")
    display_name = _display_name(body)
    locale = body.get("locale")
    if not isinstance(locale, str) or not locale:
        raise _invalid("$.locale: a locale is required.", "InvalidPayload", "locale")
    if locale not in _supported_locales(ctx):
        raise _invalid(f"The locale '{locale}' is not supported for endpoints.", "InvalidLocale", "locale")
    if body.get("model") is None:
        raise _invalid("$.model: a model is required to deploy an endpoint.", "InvalidModel", "model")
    ref = _model_ref(body["model"])
    forced = _check_model(ctx, ref, locale)
    description = _optional_string(body, "description")
    text = _optional_string(body, "text") if ctx.version == V32 else None
    custom = _custom_properties(body.get("customProperties"))
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise _invalid("$.properties: must be an object.", "InvalidPayload", "properties")
    logging = properties.get("loggingEnabled", False)
    if not isinstance(logging, bool):
        raise _invalid("$.properties.loggingEnabled: must be a boolean.", "InvalidPayload", "properties")
    ttl = None
    if ctx.version == V32 and properties.get("timeToLive") is not None:
        ttl = properties["timeToLive"]
        seconds = time_to_live_seconds(ttl) if isinstance(ttl, str) else None
        if seconds is None:
            raise _invalid(
                "$.properties.timeToLive: not an ISO 8601 duration.", "InvalidTimeToLive", "properties"
            )
        if seconds > MAX_TIME_TO_LIVE:
            raise _invalid(
                "$.properties.timeToLive: the longest supported duration is 31 days.",
                "InvalidTimeToLive",
                "properties",
            )
    project = None
    if ctx.version in WITH_PROJECTS and body.get("project") is not None:
        project = _project_id(ctx, body["project"])
    quota = ctx.world.resource_configs[ctx.resource.name].deployment_quota
    if len(ctx.resource.speech_endpoints) >= quota:
        raise _invalid(
            f"The Speech resource has reached its quota of {quota} custom endpoint deployments.",
            "QuotaViolation",
        )
    endpoint_id = ctx.world.new_endpoint_id(ctx.resource)
    ep = SpeechEndpoint(
        id=endpoint_id,
        display_name=display_name,
        description=description,
        text=text,
        locale=locale,
        model=ref,
        project=project,
        custom_properties=custom,
        logging_enabled=logging,
        time_to_live=ttl,
        created=ctx.now,
        action=_deploy_action(ctx, "deploy", ctx.world.deploy_fails(ctx.resource, ref.id, forced)),
    )
    ctx.resource.speech_endpoints[ep.id] = ep
    rendered, _ = render_endpoint(ctx, ep)
    return json_response(rendered, status=201, headers={"Location": rendered["self"]})


async def endpoints_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    body, retry = render_endpoint(ctx, _get_endpoint(ctx, request))
    return json_response(body, headers={"Retry-After": str(retry)} if retry else None)


async def endpoints_update(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    body = await read_json_object(request, "stt")
    status, _, left = ep.action.status_at(ctx.now)
    if left is not None:
        raise ApiError(
            409,
            "Conflict",
            f"The endpoint is in state {status} and cannot be updated until its deployment completes.",
            detail="EndpointNotUpdatable",
        )
    changes = _metadata_changes(body, no_description=None)
    properties = body.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise _invalid("$.properties: must be an object.", "InvalidPayload", "properties")
        if "contentLoggingEnabled" in properties:
            flag = properties["contentLoggingEnabled"]
            if not isinstance(flag, bool):
                raise _invalid(
                    "$.properties.contentLoggingEnabled: must be a boolean.", "InvalidPayload", "properties"
                )
            changes["logging_enabled"] = flag
    if ctx.version in WITH_PROJECTS and "project" in body:
        changes["project"] = None if body["project"] is None else _project_id(ctx, body["project"])
    new_model: ModelRef | None = None
    forced = False
    if body.get("model") is not None:
        ref = _model_ref(body["model"])
        if ref != ep.model:
            forced = _check_model(ctx, ref, ep.locale)
            new_model = ref
    for field, value in changes.items():
        setattr(ep, field, value)
    if new_model is not None:
        # The old model keeps serving while the new one deploys.
        ep.serving_model = ep.model if status == "Succeeded" else ep.serving_model
        ep.model = new_model
        ep.action = _deploy_action(
            ctx, "redeploy", ctx.world.deploy_fails(ctx.resource, new_model.id, forced)
        )
    rendered, retry = render_endpoint(ctx, ep)
    return json_response(rendered, headers={"Retry-After": str(retry)} if retry else None)


async def endpoints_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    del ctx.resource.speech_endpoints[ep.id]
    return web.Response(status=204)


# ---------------------------------------------------------------------------------------------------------
# Content logs (v3.x only)


def _ensure_logs(ctx: Ctx, ep: SpeechEndpoint) -> list[LogFile]:
    """An endpoint with logging on that has served traffic has a few log pairs (deterministic names)."""
    if ep.logs is None:
        status, entered, _ = ep.action.status_at(ctx.now)
        if not (ep.logging_enabled and status == "Succeeded"):
            return []
        ep.logs = []
        for i, created in enumerate(_log_times(max(entered, ep.created), ctx.now, 3)):
            stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d_%H%M%S")
            name = f"{stamp}_{uuid.uuid5(uuid.NAMESPACE_URL, f'{ep.id}/{i}')}"
            ep.logs.append(LogFile(name=f"{name}.wav", kind="Audio", created=created, seconds=2 + i))
            ep.logs.append(LogFile(name=f"{name}.json", kind="Transcription", created=created, seconds=2 + i))
    return ep.logs


def _log_times(up: float, now: float, count: int) -> list[float]:
    """When `count` logged requests came in to an endpoint serving since `up`: ten minutes apart, or, when it
    has not served that long, spread evenly over the time it has: never before the endpoint was up (so never
    before it was created), never in the future."""
    if up + 600 * count <= now:
        return [up + 600 * (i + 1) for i in range(count)]
    step = (now - up) / (count + 1)
    return [up + step * (i + 1) for i in range(count)]


def _file_body(ctx: Ctx, path: str, blob_path: str, log: LogFile, sas_seconds: int) -> dict[str, Any]:
    expiry = iso(ctx.now + sas_seconds)
    content_url = f"{ctx.request_host}/_sim/blobs/{blob_path}/{log.name}?" + urlencode(
        {"se": expiry, "sp": "r", "sv": "2021-08-06", "sr": "b", "sig": "simulated"}
    )
    properties: dict[str, Any] = {"size": log_size(log)}
    if log.kind == "Audio":
        properties["duration"] = iso_duration(log.seconds)
    return {
        "self": _url(ctx, f"{path}/{log.name}"),
        "name": log.name,
        "kind": log.kind,
        "properties": properties,
        "createdDateTime": iso(log.created),
        "links": {"contentUrl": content_url},
    }


def _sas_seconds(request: web.Request) -> int:
    return query_int(request, "sasValidityInSeconds", 12 * 3600, "stt", detail="InvalidSasValidityDuration")


def _log_page(request: web.Request, ctx: Ctx, path: str, blob_path: str, logs: list[LogFile]) -> web.Response:
    top = query_int(request, "top", DEFAULT_TOP, "stt", minimum=1, detail="InvalidTopForLogs")
    token = request.query.get("skipToken")
    offset = 0
    if token:
        # Tokens the simulator did not issue (like the opaque ones in the official examples) start from the
        # beginning instead of failing: a documented leniency.
        try:
            offset = max(0, int(base64.urlsafe_b64decode(token.encode()).decode()))
        except ValueError:
            offset = 0
    sas = _sas_seconds(request)
    body: dict[str, Any] = {
        "values": [_file_body(ctx, path, blob_path, log, sas) for log in logs[offset : offset + top]]
    }
    if offset + top < len(logs):
        next_token = base64.urlsafe_b64encode(str(offset + top).encode()).decode()
        body["@nextLink"] = _url(ctx, path, {"top": top, "skipToken": next_token})
    return json_response(body)


def _log_date(request: web.Request) -> float | None:
    raw = request.query.get("endDate")
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise _invalid(f"endDate '{raw}' must be yyyy-mm-dd.", "InvalidLogDate", "endDate") from None
    return day.timestamp() + 86400  # the whole day, inclusive


async def logs_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    if not ep.logging_enabled and not ep.logs:
        raise _invalid("Content logging is not enabled for this endpoint.", "EndpointWithoutLogging")
    logs = _ensure_logs(ctx, ep)
    response = _log_page(request, ctx, f"/endpoints/{ep.id}/files/logs", f"{ctx.resource.name}/{ep.id}", logs)
    _, _, left = ep.action.status_at(ctx.now)
    retry = retry_after_seconds(left)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


async def logs_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    name = request.match_info["logId"]
    for log in _ensure_logs(ctx, ep):
        if log.name == name:
            path = f"/endpoints/{ep.id}/files/logs"
            return json_response(
                _file_body(ctx, path, f"{ctx.resource.name}/{ep.id}", log, _sas_seconds(request))
            )
    raise ApiError(404, "NotFound", f"The log {name} does not exist.", detail="InvalidLogId")


async def logs_delete_one(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    name = request.match_info["logId"]
    logs = _ensure_logs(ctx, ep)
    kept = [log for log in logs if log.name != name]
    if len(kept) == len(logs):
        raise ApiError(404, "NotFound", f"The log {name} does not exist.", detail="InvalidLogId")
    ep.logs = kept
    return web.Response(status=204)


async def logs_delete_all(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get_endpoint(ctx, request)
    until = _log_date(request)
    logs = _ensure_logs(ctx, ep)
    ep.logs = [log for log in logs if until is not None and log.created >= until]
    return web.Response(status=202)


def _log_locale(ctx: Ctx, request: web.Request) -> str | None:
    """The supported locale the path names, matched regardless of case (the spec's own example link asks for
    `en-us`), in its catalogue spelling, which keys the logs; None for a locale without base models."""
    asked = request.match_info["locale"].lower()
    return next((locale for locale in _supported_locales(ctx) if locale.lower() == asked), None)


def _base_logs(ctx: Ctx, locale: str | None) -> list[LogFile]:
    """Base model endpoints of a supported locale have one logged request (deterministic) until deleted."""
    if locale is None:
        return []
    logs = ctx.resource.base_model_logs.get(locale)
    if logs is None:
        created = ctx.world.started_at - 3600
        stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d_%H%M%S")
        name = f"{stamp}_{uuid.uuid5(uuid.NAMESPACE_URL, f'{ctx.resource.name}/base/{locale}')}"
        logs = [
            LogFile(name=f"{name}.wav", kind="Audio", created=created, seconds=2),
            LogFile(name=f"{name}.json", kind="Transcription", created=created, seconds=2),
        ]
        ctx.resource.base_model_logs[locale] = logs
    return logs


def _base_blob(ctx: Ctx, locale: str | None) -> str:
    return f"{ctx.resource.name}/base-{locale}"


def _base_logs_path(request: web.Request) -> str:
    """The listing's path as the request spelled the locale (so `self` and `@nextLink` repeat it)."""
    return f"/endpoints/base/{request.match_info['locale']}/files/logs"


async def base_logs_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    locale = _log_locale(ctx, request)
    blob = _base_blob(ctx, locale)
    return _log_page(request, ctx, _base_logs_path(request), blob, _base_logs(ctx, locale))


async def base_logs_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    locale, name = _log_locale(ctx, request), request.match_info["logId"]
    log = find_log(_base_logs(ctx, locale), name)
    if log is None:
        raise ApiError(404, "NotFound", f"The log {name} does not exist.", detail="InvalidLogId")
    blob = _base_blob(ctx, locale)
    return json_response(_file_body(ctx, _base_logs_path(request), blob, log, _sas_seconds(request)))


async def base_logs_delete_one(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    locale, name = _log_locale(ctx, request), request.match_info["logId"]
    logs = _base_logs(ctx, locale)
    kept = [log for log in logs if log.name != name]
    if locale is None or len(kept) == len(logs):
        raise ApiError(404, "NotFound", f"The log {name} does not exist.", detail="InvalidLogId")
    ctx.resource.base_model_logs[locale] = kept
    return web.Response(status=204)


async def base_logs_delete_all(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    locale = _log_locale(ctx, request)
    until = _log_date(request)
    logs = _base_logs(ctx, locale)
    if locale is not None:
        kept = [log for log in logs if until is not None and log.created >= until]
        ctx.resource.base_model_logs[locale] = kept
    return web.Response(status=202)


def find_log(logs: list[LogFile] | None, name: str) -> LogFile | None:
    return next((log for log in logs or [] if log.name == name), None)


# ---------------------------------------------------------------------------------------------------------
# Models and projects


async def models_locales(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(sorted({m.locale for m in ctx.world.base_models.values()}))


async def base_models_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    keep = _filtered(request, _ENTITY_FILTER_FIELDS)
    world = ctx.world
    models = sorted(world.base_models.values(), key=lambda m: (m.created_days_ago, m.id))
    selected = [
        m
        for m in models
        if keep(
            {
                "status": "Succeeded",
                "locale": m.locale,
                "displayName": m.display_name,
                "createdDateTime": world.days_from_start(-m.created_days_ago),
                "lastActionDateTime": world.days_from_start(-m.created_days_ago),
            }
        )
    ]
    return json_response(_page(request, ctx, "/models/base", [_base_model_body(ctx, m) for m in selected]))


async def base_model_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = found(ctx.world.base_models, request, "base model", lower=True)
    return json_response(_base_model_body(ctx, model))


async def custom_models_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    keep = _filtered(request, _ENTITY_FILTER_FIELDS)
    models = sorted(_models(ctx).values(), key=lambda m: (m.created_days_ago, m.id))
    selected = [_custom_model_body(ctx, m) for m in models if keep(_model_fields(ctx, m))]
    body = _page(request, ctx, "/models", selected)
    busy = any(b["status"] in ("NotStarted", "Running") for b in body["values"])
    return json_response(body, headers={"Retry-After": "60"} if busy else None)


async def custom_model_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = found(_models(ctx), request, "model", lower=True)
    busy = model.status in ("NotStarted", "Running")
    return json_response(_custom_model_body(ctx, model), headers={"Retry-After": "60"} if busy else None)


async def projects_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    fields = {"locale": "str", "displayName": "str", "description": "str", "createdDateTime": "time"}
    if ctx.version == "2025-10-15":
        fields["foundryProjectName"] = "str"
    keep = _filtered(request, fields)
    world = ctx.world
    projects = sorted(_projects(ctx).values(), key=lambda p: (p.created_days_ago, p.id))
    selected = [
        p
        for p in projects
        if keep(
            {
                "locale": p.locale,
                "displayName": p.display_name,
                "description": p.description,
                "createdDateTime": world.days_from_start(-p.created_days_ago),
                "foundryProjectName": p.foundry_project_name,
            }
        )
    ]
    return json_response(_page(request, ctx, "/projects", [_project_body(ctx, p) for p in selected]))


def _get_project(ctx: Ctx, request: web.Request) -> SeedProject:
    return found(_projects(ctx), request, "project", lower=True)


async def project_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(_project_body(ctx, _get_project(ctx, request)))


async def project_endpoints(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project = _get_project(ctx, request)
    return _list_endpoints(request, ctx, f"/projects/{project.id}/endpoints", project.id)


def _manifest(ctx: Ctx, request: web.Request, model_url: str, model_id: str, locale: str) -> web.Response:
    if ctx.version == V32:
        lifetime = _sas_seconds(request)
    else:
        lifetime = 60 * query_int(request, "sasLifetimeMinutes", 12 * 60, "stt")
    query = urlencode(
        {"se": iso(ctx.now + lifetime), "sp": "rl", "sv": "2021-08-06", "sr": "b", "sig": "simulated"}
    )
    files = [
        f"{locale}/adaptedPrepAM/model.fe",
        f"{locale}/graphV2/base.lms",
        f"{model_id}/graphV2/custom.lms",
    ]
    return json_response(
        {
            "model": {"self": model_url},
            "modelFiles": [
                {"name": name, "contentUrl": f"https://simulator.blob.core.windows.net/models/{name}?{query}"}
                for name in files
            ],
            "properties": {
                "IN_FESpec": f"audio(%MODELSPATH%{files[0]},8kHz16kHzLFB80EnergyMLPVADRuntime)",
                "IN_DNNSpec": f"dnn_spec(%MODELSPATH%{locale}/adaptedPrepAM/model.dbn.am,40,20)",
                "IN_HCLGSpecBase": f"interpolated_lm_base(%MODELSPATH%{files[1]})",
                "IN_HCLGSpec": f"interpolated_lm_custom(0.9,%MODELSPATH%{files[2]})",
                "IN_BeamSize": 5000,
                "IN_BeamThreshold": 190,
                "IN_NBestBeamSize": 1,
            },
        }
    )


async def base_model_manifest(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = found(ctx.world.base_models, request, "base model", lower=True)
    return _manifest(ctx, request, _url(ctx, f"/models/base/{model.id}"), model.id, model.locale)


async def custom_model_manifest(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = found(_models(ctx), request, "model", lower=True)
    if model.status != "Succeeded":
        raise _invalid(f"The model {model.id} is {model.status}; it has no manifest.", "InvalidModel", "id")
    return _manifest(ctx, request, _url(ctx, f"/models/{model.id}"), model.id, model.locale)


async def projects_locales(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(sorted({m.locale for m in ctx.world.base_models.values()}))


async def project_models(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project = _get_project(ctx, request)
    keep = _filtered(request, _ENTITY_FILTER_FIELDS)
    models = sorted(
        (m for m in _models(ctx).values() if m.project == project.id),
        key=lambda m: (m.created_days_ago, m.id),
    )
    selected = [_custom_model_body(ctx, m) for m in models if keep(_model_fields(ctx, m))]
    body = _page(request, ctx, f"/projects/{project.id}/models", selected)
    busy = any(b["status"] in ("NotStarted", "Running") for b in body["values"])
    return json_response(body, headers={"Retry-After": "60"} if busy else None)


# ---------------------------------------------------------------------------------------------------------
# Writing the catalogue: custom models (training) and projects


_DATASET_PATH = re.compile(rf"/datasets/({UUID_TEXT})/?$")


def _base_model_id(ctx: Ctx, value: Any, locale: str) -> str:
    ref = _model_ref(value)
    base = ctx.world.base_models.get(ref.id)
    if not ref.base or base is None:
        raise _invalid(f"The base model {ref.id} does not exist.", "InvalidBaseModel", "baseModel")
    if base.locale != locale:
        raise _invalid(
            f"The locale of the base model ({base.locale}) does not match the model's ({locale}).",
            "ModelMismatch",
            "baseModel",
        )
    return ref.id


def _datasets(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid("$.datasets: must be a list of references.", "InvalidPayload", "datasets")
    ids = []
    for item in value:
        url = _parse_ref(item, "datasets")
        match = _DATASET_PATH.search(urlparse(url).path)
        if not match:
            raise _invalid(f"The dataset URI '{url}' is not valid.", "InvalidDataset", "datasets")
        ids.append(match.group(1).lower())
    return ids


def _weight_percent(properties: Any) -> int:
    """`properties.customModelWeightPercent` of a new model: an integer from 1 to 100 (the spec's bounds);
    left out or null, the service chooses."""
    if properties is None:
        return DEFAULT_MODEL_WEIGHT_PERCENT
    if not isinstance(properties, dict):
        raise _invalid("$.properties: must be an object.", "InvalidPayload", "properties")
    weight = properties.get("customModelWeightPercent")
    if weight is None:
        return DEFAULT_MODEL_WEIGHT_PERCENT
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
        raise _invalid(
            f"$.properties.customModelWeightPercent: must be an integer from 1 to 100, got {weight!r}.",
            "InvalidPayload",
            "properties.customModelWeightPercent",
        )
    return weight


async def custom_model_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    body = await read_json_object(request, "stt")
    display_name = _display_name(body)
    locale = body.get("locale")
    if not isinstance(locale, str) or locale not in _supported_locales(ctx):
        raise _invalid(f"The locale '{locale}' is not supported.", "InvalidLocale", "locale")
    base_models = sorted(
        (m for m in ctx.world.base_models.values() if m.locale == locale),
        key=lambda m: m.created_days_ago,
    )
    base = (
        _base_model_id(ctx, body["baseModel"], locale)
        if body.get("baseModel") is not None
        else base_models[0].id
    )
    project = (
        _project_id(ctx, body["project"]) if ctx.version in WITH_PROJECTS and body.get("project") else None
    )
    model_id = ctx.world.new_endpoint_id(ctx.resource)
    model = SeedCustomModel(
        id=model_id,
        locale=locale,
        display_name=display_name,
        description=_optional_string(body, "description") or "",
        status="NotStarted",
        base_model=base,
        project=project,
        transcription_in_days=ctx.world.days_ago(ctx.now) * -1 + 730,
        created_days_ago=ctx.world.days_ago(ctx.now),
        custom_properties=_custom_properties(body.get("customProperties")),
        datasets=_datasets(body.get("datasets")),
        custom_model_weight_percent=_weight_percent(body.get("properties")),
    )
    config = ctx.world.config
    ctx.resource.custom_models[model_id] = model
    ctx.resource.model_training[model_id] = Action.training(
        ctx.now, config.scaled(config.durations.speech_queue), config.scaled(config.durations.speech_training)
    )
    rendered = _custom_model_body(ctx, _models(ctx)[model_id])
    return json_response(rendered, status=201, headers={"Location": rendered["self"]})


def _stored_model(ctx: Ctx, request: web.Request) -> SeedCustomModel:
    model = found(_models(ctx), request, "model", lower=True)
    return ctx.resource.custom_models.get(model.id) or model


async def custom_model_update(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = _stored_model(ctx, request)
    body = await read_json_object(request, "stt")
    changes = _metadata_changes(body, no_description="")
    if ctx.version in WITH_PROJECTS and "project" in body:
        changes["project"] = None if body["project"] is None else _project_id(ctx, body["project"])
    ctx.resource.custom_models[model.id] = model.model_copy(update=changes)
    current = _models(ctx)[model.id]
    busy = current.status in ("NotStarted", "Running")
    return json_response(_custom_model_body(ctx, current), headers={"Retry-After": "60"} if busy else None)


async def custom_model_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model_id = request.match_info["id"].lower()
    if model_id in _models(ctx):
        # An endpoint redeploying to another model still serves this one until the redeploy succeeds.
        ref = ModelRef(id=model_id, base=False)
        users = [e.id for e in ctx.resource.speech_endpoints.values() if e.in_use(ref, ctx.now)]
        if users:
            raise _invalid(
                f"The model is deployed on, or still serves, endpoint(s) {', '.join(users)}.",
                "InUseViolation",
                "id",
            )
        ctx.resource.custom_models.pop(model_id, None)
        ctx.resource.model_training.pop(model_id, None)
        if model_id in ctx.world.custom_models:
            ctx.resource.deleted_models.add(model_id)
    return web.Response(status=204)  # "deleted or did not exist"


async def project_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    body = await read_json_object(request, "stt")
    display_name = _display_name(body)
    locale = body.get("locale")
    if not isinstance(locale, str) or not locale:
        raise _invalid("$.locale: a locale is required.", "InvalidPayload", "locale")
    if locale not in sorted({m.locale for m in ctx.world.base_models.values()}):
        raise _invalid(f"The locale '{locale}' is not supported.", "InvalidLocale", "locale")
    foundry = _optional_string(body, "foundryProjectName") if ctx.version == "2025-10-15" else None
    project = SeedProject(
        id=ctx.world.new_endpoint_id(ctx.resource),
        locale=locale,
        display_name=display_name,
        description=_optional_string(body, "description") or "",
        foundry_project_name=foundry,
        custom_properties=_custom_properties(body.get("customProperties")),
        created_days_ago=ctx.world.days_ago(ctx.now),
    )
    ctx.resource.projects[project.id] = project
    rendered = _project_body(ctx, project)
    return json_response(rendered, status=201, headers={"Location": rendered["self"]})


async def project_update(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project = _get_project(ctx, request)
    body = await read_json_object(request, "stt")
    changes = _metadata_changes(body, no_description="")
    if ctx.version == "2025-10-15" and "foundryProjectName" in body:
        changes["foundry_project_name"] = _optional_string(body, "foundryProjectName")
    updated = project.model_copy(update=changes)
    ctx.resource.projects[project.id] = updated
    return json_response(_project_body(ctx, updated))


async def project_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project_id = request.match_info["id"].lower()
    if project_id in _projects(ctx):
        ctx.resource.projects.pop(project_id, None)
        if project_id in ctx.world.projects:
            ctx.resource.deleted_projects.add(project_id)
    return web.Response(status=204)  # "deleted or did not exist"


# ---------------------------------------------------------------------------------------------------------
# Routes


def routes() -> list[tuple[str, str, Op]]:
    """(method, path relative to the version's base, operation). Order matters: literals before {id}."""

    def op(name: str, fn: Any, versions: tuple[str, ...] = ALL, consumes: tuple[str, ...] = ()) -> Op:
        return Op("stt", name, fn, versions, consumes, check_id=_check_path_id)

    uuid_re = "{id}"  # any segment: _check_path_id refuses a malformed one with the operation's 400
    return [
        ("GET", "/endpoints/locales", op("Endpoints_ListSupportedLocales", endpoints_locales)),
        ("GET", "/endpoints", op("Endpoints_List", endpoints_list)),
        ("POST", "/endpoints", op("Endpoints_Create", endpoints_create, consumes=JSON)),
        (
            "GET",
            "/endpoints/base/{locale}/files/logs",
            op("Endpoints_ListBaseModelLogs", base_logs_list, ONLY_V32),
        ),
        (
            "DELETE",
            "/endpoints/base/{locale}/files/logs",
            op("Endpoints_DeleteBaseModelLogs", base_logs_delete_all, ONLY_V32),
        ),
        (
            "GET",
            "/endpoints/base/{locale}/files/logs/{logId}",
            op("Endpoints_GetBaseModelLog", base_logs_get, ONLY_V32),
        ),
        (
            "DELETE",
            "/endpoints/base/{locale}/files/logs/{logId}",
            op("Endpoints_DeleteBaseModelLog", base_logs_delete_one, ONLY_V32),
        ),
        ("GET", f"/endpoints/{uuid_re}", op("Endpoints_Get", endpoints_get)),
        (
            "PATCH",
            f"/endpoints/{uuid_re}",
            op("Endpoints_Update", endpoints_update, consumes=JSON_OR_MERGE_PATCH),
        ),
        ("DELETE", f"/endpoints/{uuid_re}", op("Endpoints_Delete", endpoints_delete)),
        ("GET", f"/endpoints/{uuid_re}/files/logs", op("Endpoints_ListLogs", logs_list, ONLY_V32)),
        ("DELETE", f"/endpoints/{uuid_re}/files/logs", op("Endpoints_DeleteLogs", logs_delete_all, ONLY_V32)),
        ("GET", f"/endpoints/{uuid_re}/files/logs/{{logId}}", op("Endpoints_GetLog", logs_get, ONLY_V32)),
        (
            "DELETE",
            f"/endpoints/{uuid_re}/files/logs/{{logId}}",
            op("Endpoints_DeleteLog", logs_delete_one, ONLY_V32),
        ),
        ("GET", "/models/locales", op("Models_ListSupportedLocales", models_locales)),
        ("GET", "/models/base", op("Models_ListBaseModels", base_models_list)),
        ("GET", f"/models/base/{uuid_re}", op("Models_GetBaseModel", base_model_get)),
        ("GET", f"/models/base/{uuid_re}/manifest", op("Models_GetBaseModelManifest", base_model_manifest)),
        ("GET", f"/models/{uuid_re}/manifest", op("Models_GetCustomModelManifest", custom_model_manifest)),
        ("GET", "/models", op("Models_ListCustomModels", custom_models_list)),
        ("POST", "/models", op("Models_Create", custom_model_create, consumes=JSON)),
        ("GET", f"/models/{uuid_re}", op("Models_GetCustomModel", custom_model_get)),
        (
            "PATCH",
            f"/models/{uuid_re}",
            op("Models_Update", custom_model_update, consumes=JSON_OR_MERGE_PATCH),
        ),
        ("DELETE", f"/models/{uuid_re}", op("Models_Delete", custom_model_delete)),
        ("GET", "/projects/locales", op("Projects_ListSupportedLocales", projects_locales, WITH_PROJECTS)),
        ("GET", "/projects", op("Projects_List", projects_list, WITH_PROJECTS)),
        ("POST", "/projects", op("Projects_Create", project_create, WITH_PROJECTS, JSON)),
        (
            "PATCH",
            f"/projects/{uuid_re}",
            op("Projects_Update", project_update, WITH_PROJECTS, JSON_OR_MERGE_PATCH),
        ),
        ("DELETE", f"/projects/{uuid_re}", op("Projects_Delete", project_delete, WITH_PROJECTS)),
        ("GET", f"/projects/{uuid_re}/models", op("Projects_ListModels", project_models, WITH_PROJECTS)),
        ("GET", f"/projects/{uuid_re}", op("Projects_Get", project_get, WITH_PROJECTS)),
        (
            "GET",
            f"/projects/{uuid_re}/endpoints",
            op("Projects_ListEndpoints", project_endpoints, WITH_PROJECTS),
        ),
    ]
