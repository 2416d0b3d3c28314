"""Custom voice endpoints: the 2026-01-01 / 2024-02-01-preview API and the retiring v3.0 text to speech API.

Both APIs see the same endpoints of a Speech resource. Status walks
NotStarted -> Running -> Succeeded|Failed (deploy), Succeeded -> Disabling -> Disabled (suspend) and
Disabled -> Running -> Succeeded, or back to Disabled when the resume fails.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .filters import FilterError, compile_filter
from .http import (
    JSON,
    VOICE_VERSIONS,
    ApiError,
    Ctx,
    Op,
    canonical_uuid,
    json_response,
    query_int,
    query_string,
    read_json_object,
)
from .seed import RECIPE_KINDS, VOICE_RECIPES, SeedVoiceModel, SeedVoiceProject, VoiceRecipe
from .state import Action, EntityError, VoiceEndpoint, VoiceOperation, iso, retry_after_seconds

RESOURCE_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,62}[a-zA-Z0-9]$")
KINDS = ("HighPerformance", "FastResume")
DEFAULT_PAGE = 100
_Item = TypeVar("_Item")


def _vmodels(ctx: Ctx) -> dict[str, SeedVoiceModel]:
    return ctx.world.voice_models_of(ctx.resource, ctx.now)


def _vprojects(ctx: Ctx) -> dict[str, SeedVoiceProject]:
    return ctx.world.voice_projects_of(ctx.resource)


def _bad(
    message: str, detail: str | None = None, target: str | None = None, code: str = "BadRequest"
) -> ApiError:
    return ApiError(400, code, message, detail=detail, target=target)


def _url(ctx: Ctx, path: str, query: dict[str, str | int] | None = None) -> str:
    params = {**(query or {}), "api-version": ctx.version}
    return f"{ctx.host}/customvoice{path}?{query_string(params)}"


def _endpoint_id(request: web.Request) -> str:
    raw = request.match_info["id"]
    endpoint_id = canonical_uuid(raw)
    if endpoint_id is None:
        raise _bad(f"The endpoint id '{raw}' is not a UUID.", target="id", code="BadArgument")
    return endpoint_id


def _get(ctx: Ctx, request: web.Request) -> VoiceEndpoint:
    endpoint_id = _endpoint_id(request)
    ep = ctx.resource.voice_endpoints.get(endpoint_id)
    if ep is None:
        raise ApiError(404, "NotFound", f"The endpoint {endpoint_id} does not exist.")
    return ep


def render(ep: VoiceEndpoint, now: float) -> dict[str, Any]:
    status, entered, _ = ep.action.status_at(now)
    body: dict[str, Any] = {"id": ep.id}
    if ep.display_name:
        body["displayName"] = ep.display_name
    if ep.description is not None:
        body["description"] = ep.description
    body["projectId"] = ep.project_id
    body["modelId"] = ep.model_id
    body["properties"] = {"kind": ep.kind}
    body["status"] = status
    body["createdDateTime"] = iso(ep.created)
    body["lastActionDateTime"] = iso(max(entered, ep.created))
    return body


def _operation_id(request: web.Request, ctx: Ctx) -> str:
    """The request's Operation-Id header, else one derived from the seed (a run replays exactly)."""
    op_id = request.headers.get("Operation-Id")
    if op_id is None:
        return ctx.world.new_operation_id(ctx.resource)
    if not RESOURCE_ID.match(op_id):
        raise _bad(
            f"The Operation-Id header must match {RESOURCE_ID.pattern}.",
            target="Operation-Id",
            code="BadArgument",
        )
    return op_id


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _operation_headers(ctx: Ctx, op_id: str) -> dict[str, str]:
    return {"Operation-Id": op_id, "Operation-Location": _url(ctx, f"/operations/{op_id}")}


def _previous(ctx: Ctx, op_id: str, fingerprint: str) -> VoiceOperation | None:
    """The earlier operation with this id, if the request is identical; a 400 if it is not."""
    previous = ctx.resource.voice_operations.get(op_id)
    if previous is None:
        return None
    if previous.fingerprint != fingerprint:
        raise _bad(
            f"The Operation-Id '{op_id}' was already used for a different request.",
            detail="OperationIdConflict",
            target="Operation-Id",
        )
    return previous


def _fails(ctx: Ctx, model_id: str) -> bool:
    model = _vmodels(ctx).get(model_id)
    return ctx.world.deploy_fails(ctx.resource, model_id, model is not None and model.deploy_fails)


def _deploy_action(ctx: Ctx, model_id: str) -> Action:
    d, c = ctx.world.config.durations, ctx.world.config
    fails = _fails(ctx, model_id)
    return Action(
        kind="deploy",
        started=ctx.now,
        phases=[("NotStarted", c.scaled(d.voice_queue)), ("Running", c.scaled(d.voice_deploy))],
        outcome="Failed" if fails else "Succeeded",
        error=EntityError(code="DeploymentFailed", message="The voice deployment failed.") if fails else None,
    )


def _suspend_action(ctx: Ctx) -> Action:
    d, c = ctx.world.config.durations, ctx.world.config
    return Action(
        kind="suspend", started=ctx.now, phases=[("Disabling", c.scaled(d.voice_suspend))], outcome="Disabled"
    )


def _resume_action(ctx: Ctx, model_id: str) -> Action:
    d, c = ctx.world.config.durations, ctx.world.config
    fails = _fails(ctx, model_id)
    return Action(
        kind="resume",
        started=ctx.now,
        phases=[("Running", c.scaled(d.voice_resume))],
        outcome="Disabled" if fails else "Succeeded",
        failure_status="Disabled",
        error=EntityError(code="ResumeFailed", message="The endpoint could not be resumed.")
        if fails
        else None,
    )


def _check_model(ctx: Ctx, project_id: str, model_id: str) -> None:
    if project_id not in _vprojects(ctx):
        raise _bad(
            f"The project '{project_id}' does not exist.", detail="ProjectNotFound", target="projectId"
        )
    model = _vmodels(ctx).get(model_id)
    if model is None:
        raise _bad(f"The model '{model_id}' does not exist.", detail="ModelNotFound", target="modelId")
    if model.project_id != project_id:
        raise _bad(
            f"The model '{model_id}' belongs to project '{model.project_id}', not '{project_id}'.",
            detail="ModelNotInProject",
            target="modelId",
        )
    if model.status != "Succeeded":
        raise _bad(
            f"The model '{model_id}' is in state {model.status}; only Succeeded models can be deployed.",
            detail="ModelNotSucceeded",
            target="modelId",
        )


# ---------------------------------------------------------------------------------------------------------
# 2024-02-01-preview and 2026-01-01


async def endpoints_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    endpoint_id = _endpoint_id(request)
    op_id = _operation_id(request, ctx)
    body = await read_json_object(request, "voice")
    for field in ("projectId", "modelId"):
        value = body.get(field)
        if not isinstance(value, str) or not RESOURCE_ID.match(value):
            raise _bad(
                f"'{field}' is required and must match {RESOURCE_ID.pattern}.",
                target=field,
                code="BadArgument",
            )
    if body.get("id") is not None and str(body["id"]).lower() != endpoint_id:
        raise _bad("The id in the body does not match the id in the path.", target="id", code="BadArgument")
    display_name = body.get("displayName")
    if display_name is not None and (not isinstance(display_name, str) or not display_name):
        raise _bad("'displayName' must be a non-empty string.", target="displayName", code="BadArgument")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise _bad("'description' must be a string.", target="description", code="BadArgument")
    properties = body.get("properties") or {}
    kind = properties.get("kind", "HighPerformance") if isinstance(properties, dict) else None
    if kind not in KINDS:
        raise _bad(
            f"'properties.kind' must be one of {', '.join(KINDS)}.",
            target="properties.kind",
            code="BadArgument",
        )
    request_print = _fingerprint(
        "create", endpoint_id, body["projectId"], body["modelId"], display_name, description, kind
    )
    previous = _previous(ctx, op_id, request_print)
    existing = ctx.resource.voice_endpoints.get(endpoint_id)
    if previous is not None or existing is not None:
        # Documented decision: a PUT identical to the one that created the endpoint is answered again (201,
        # the endpoint as it is now, the original operation); a different PUT at an existing id is a 400.
        if existing is None or existing.request_fingerprint != request_print:
            if existing is None:
                raise ApiError(
                    404, "NotFound", f"The endpoint {endpoint_id} created by '{op_id}' was deleted."
                )
            raise _bad(
                f"The endpoint {endpoint_id} already exists with a different definition; endpoints cannot be "
                "changed, deploy a new endpoint instead.",
                detail="EndpointAlreadyExists",
                target="id",
            )
        original = existing.operation_id or op_id
        return json_response(render(existing, ctx.now), status=201, headers=_operation_headers(ctx, original))
    _check_model(ctx, body["projectId"], body["modelId"])
    quota = ctx.world.resource_configs[ctx.resource.name].voice_endpoint_quota
    if len(ctx.resource.voice_endpoints) >= quota:
        raise _bad(
            f"The Speech resource has reached its quota of {quota} custom voice endpoints.",
            detail="QuotaViolation",
        )
    action = _deploy_action(ctx, body["modelId"])
    ep = VoiceEndpoint(
        id=endpoint_id,
        display_name=display_name,
        description=description,
        project_id=body["projectId"],
        model_id=body["modelId"],
        kind=kind,
        created=ctx.now,
        action=action,
        request_fingerprint=request_print,
        operation_id=op_id,
    )
    ctx.resource.voice_endpoints[endpoint_id] = ep
    ctx.resource.voice_operations[op_id] = VoiceOperation(
        id=op_id, endpoint_id=endpoint_id, fingerprint=request_print, action=action
    )
    return json_response(render(ep, ctx.now), status=201, headers=_operation_headers(ctx, op_id))


async def _transition(request: web.Request, ctx: Ctx, verb: str) -> web.StreamResponse:
    ep = _get(ctx, request)
    op_id = _operation_id(request, ctx)
    request_print = _fingerprint(verb, ep.id)
    previous = _previous(ctx, op_id, request_print)
    if previous is not None:
        return json_response(render(ep, ctx.now), status=202, headers=_operation_headers(ctx, op_id))
    action = _begin(ctx, ep, verb)
    ctx.resource.voice_operations[op_id] = VoiceOperation(
        id=op_id, endpoint_id=ep.id, fingerprint=request_print, action=action
    )
    return json_response(render(ep, ctx.now), status=202, headers=_operation_headers(ctx, op_id))


def _begin(ctx: Ctx, ep: VoiceEndpoint, verb: str) -> Action:
    status, _, _ = ep.action.status_at(ctx.now)
    if verb == "suspend":
        if status != "Succeeded":
            raise _bad(
                f"The endpoint is {status}; only a Succeeded endpoint can be suspended.",
                detail="InvalidEndpointStatus",
            )
        ep.action = _suspend_action(ctx)
    else:
        if status != "Disabled":
            raise _bad(
                f"The endpoint is {status}; only a Disabled endpoint can be resumed.",
                detail="InvalidEndpointStatus",
            )
        ep.action = _resume_action(ctx, ep.model_id)
    return ep.action


async def endpoints_suspend(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return await _transition(request, ctx, "suspend")


async def endpoints_resume(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return await _transition(request, ctx, "resume")


async def endpoints_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(render(_get(ctx, request), ctx.now))


async def endpoints_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    ep = _get(ctx, request)
    del ctx.resource.voice_endpoints[ep.id]
    return web.Response(status=204)


def _paged(
    request: web.Request,
    ctx: Ctx,
    path: str,
    items: Sequence[_Item],
    render: Callable[[_Item], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `items` (only that page is rendered), with `nextLink` unless it is the last."""
    skip = query_int(request, "skip", 0, "voice")
    size = query_int(request, "maxpagesize", DEFAULT_PAGE, "voice", minimum=1)
    body: dict[str, Any] = {"value": [render(item) for item in items[skip : skip + size]]}
    if skip + size < len(items):
        query: dict[str, str | int] = {"skip": skip + size, "maxpagesize": size}
        if request.query.get("filter"):
            query["filter"] = request.query["filter"]
        body["nextLink"] = _url(ctx, path, query)
    return body


def _filter(request: web.Request, fields: dict[str, str]) -> Any:
    try:
        return compile_filter(request.query.get("filter"), fields)
    except FilterError as exc:
        raise _bad(f"Invalid filter: {exc}.", detail="InvalidFilter", target="filter") from None


async def endpoints_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    keep = _filter(
        request, {"projectId": "str", "modelId": "str", "status": "str", "createdDateTime": "time"}
    )
    endpoints = sorted(ctx.resource.voice_endpoints.values(), key=lambda e: (-e.created, e.id))
    selected = [
        e
        for e in endpoints
        if keep(
            {
                "projectId": e.project_id,
                "modelId": e.model_id,
                "status": e.action.status_at(ctx.now)[0],
                "createdDateTime": e.created,
            }
        )
    ]
    return json_response(_paged(request, ctx, "/endpoints", selected, lambda e: render(e, ctx.now)))


async def operations_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    op_id = _resource_id(request)
    op = ctx.resource.voice_operations.get(op_id)
    if op is None:
        raise ApiError(404, "NotFound", f"The operation {op_id} does not exist.")
    return json_response({"id": op.id, "status": op.action.operation_status(ctx.now)})


def _model_body(ctx: Ctx, m: SeedVoiceModel) -> dict[str, Any]:
    created = ctx.world.days_from_start(-m.created_days_ago)
    properties: dict[str, Any] = {}
    if m.preset_styles:
        properties["presetStyles"] = list(m.preset_styles)
    if m.style_training_set_ids:
        properties["styleTrainingSetIds"] = dict(m.style_training_set_ids)
    properties["voiceStyles"] = [*m.preset_styles, *m.style_training_set_ids]
    if m.status == "Failed":
        properties["failureReason"] = "Internal"
    body: dict[str, Any] = {
        "id": m.id,
        "voiceName": m.voice_name or f"{m.id}Neural",
        "recipe": {"kind": m.recipe_kind, "version": _RECIPE_VERSIONS[m.recipe_kind]},
        "locale": m.locale,
        "projectId": m.project_id,
        "consentId": m.consent_id or m.project_id,
        "trainingSetId": m.training_set_id or m.project_id,
        "engineVersion": "2023.06.01.0",
        "properties": properties,
        "status": m.status,
        "createdDateTime": iso(created),
        "lastActionDateTime": iso(created + 86400),
    }
    training = ctx.resource.voice_model_training.get(m.id)
    if training is not None:
        body["lastActionDateTime"] = iso(training.status_at(ctx.now)[1])
    if m.description:
        body["description"] = m.description
    return body


def _project_body(ctx: Ctx, p: SeedVoiceProject) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id,
        "kind": p.kind,
        "createdDateTime": iso(ctx.world.days_from_start(-p.created_days_ago)),
    }
    if p.display_name:
        body["displayName"] = p.display_name
    if p.description:
        body["description"] = p.description
    if ctx.version == "2026-01-01":
        body["locale"] = p.locale
    return body


async def models_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model = _found(_vmodels(ctx), request, "model")
    return json_response(_model_body(ctx, model))


async def models_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    keep = _filter(request, {"projectId": "str", "locale": "str", "status": "str", "createdDateTime": "time"})
    world = ctx.world
    models = [
        m
        for m in _vmodels(ctx).values()
        if keep(
            {
                "projectId": m.project_id,
                "locale": m.locale,
                "status": m.status,
                "createdDateTime": world.days_from_start(-m.created_days_ago),
            }
        )
    ]
    return json_response(_paged(request, ctx, "/models", models, lambda m: _model_body(ctx, m)))


async def projects_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project = _found(_vprojects(ctx), request, "project")
    return json_response(_project_body(ctx, project))


async def projects_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    keep = _filter(request, {"kind": "str", "locale": "str", "createdDateTime": "time"})
    world = ctx.world
    projects = [
        p
        for p in _vprojects(ctx).values()
        if keep(
            {
                "kind": p.kind,
                "locale": p.locale,
                "createdDateTime": world.days_from_start(-p.created_days_ago),
            }
        )
    ]
    return json_response(_paged(request, ctx, "/projects", projects, lambda p: _project_body(ctx, p)))


async def base_models_list(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    world = ctx.world
    items = []
    for m in world.seed.voice_base_models:
        item: dict[str, Any] = {"name": m.name}
        if m.description:
            item["description"] = m.description
        item["releaseDateTime"] = iso(world.days_from_start(-m.release_days_ago))
        if m.expiration_in_days is not None:
            item["expirationDateTime"] = iso(world.days_from_start(m.expiration_in_days))
        if m.capabilities:
            # 2024-02-01-preview calls the personal voice capability InstanceVoice.
            preview = ctx.version == "2024-02-01-preview"
            item["capabilities"] = [
                "InstanceVoice" if preview and c == "PersonalVoice" else c for c in m.capabilities
            ]
        items.append(item)
    return json_response(_listing(ctx, items))


def _listing(ctx: Ctx, items: list[dict[str, Any]]) -> Any:
    """A whole list (its operation takes no paging parameters): 2024-02-01-preview answers a bare array,
    2026-01-01 a page, the only one."""
    return items if ctx.version == "2024-02-01-preview" else {"value": items}


_RECIPE_VERSIONS = {recipe.kind: recipe.version for recipe in VOICE_RECIPES}


def _recipe_body(ctx: Ctx, recipe: VoiceRecipe) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": recipe.kind,
        "version": recipe.version,
        "description": recipe.description,
        "minUtteranceCount": recipe.min_utterance_count,
    }
    if ctx.version != "2024-02-01-preview":  # a 2026-01-01 field
        body["minDurationInSeconds"] = recipe.min_duration_seconds
    if recipe.min_style_utterance_count is not None:
        body["minStyleUtteranceCount"] = recipe.min_style_utterance_count
    if recipe.max_custom_style_num is not None:
        body["maxCustomStyleNum"] = recipe.max_custom_style_num
    body["datasetLocales"] = list(recipe.dataset_locales)
    if recipe.preset_styles:
        # The schema's PresetStyleItem keys are `male` and `female` (the example writes them capitalized).
        body["presetStyles"] = {
            locale: {"male": list(styles), "female": list(styles)} for locale, styles in recipe.preset_styles
        }
    return body


async def models_list_recipes(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(_listing(ctx, [_recipe_body(ctx, recipe) for recipe in VOICE_RECIPES]))


def _resource_id(request: web.Request) -> str:
    """The path's project, model or operation id (the spec's PathId pattern), else 400 BadArgument: an id
    that can never exist is a bad argument, not a missing entity."""
    raw = request.match_info["id"]
    if not RESOURCE_ID.match(raw):
        raise _bad(f"The id '{raw}' must match {RESOURCE_ID.pattern}.", target="id", code="BadArgument")
    return raw


def _found(table: Mapping[str, _Item], request: web.Request, what: str) -> _Item:
    """The project or model the path's id names: 400 for a malformed id, 404 for an unknown one."""
    entity_id = _resource_id(request)
    entity = table.get(entity_id)
    if entity is None:
        raise ApiError(404, "NotFound", f"The {what} {entity_id} does not exist.")
    return entity


async def projects_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project_id = _resource_id(request)
    body = await read_json_object(request, "voice")
    kind = body.get("kind")
    if kind not in ("ProfessionalVoice", "PersonalVoice"):
        raise _bad("'kind' must be ProfessionalVoice or PersonalVoice.", target="kind", code="BadArgument")
    for field in ("displayName", "description", "locale"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise _bad(f"'{field}' must be a string.", target=field, code="BadArgument")
    project = SeedVoiceProject(
        id=project_id,
        kind=kind,
        display_name=body.get("displayName") or "",
        description=body.get("description") or "",
        locale=body.get("locale") or "en-US",
        created_days_ago=ctx.world.days_ago(ctx.now),
    )
    existing = _vprojects(ctx).get(project_id)
    if existing is not None:
        same = existing.model_dump(exclude={"created_days_ago"}) == project.model_dump(
            exclude={"created_days_ago"}
        )
        if not same:
            raise _bad(
                f"The project '{project_id}' already exists.", detail="ProjectAlreadyExists", target="id"
            )
        return json_response(_project_body(ctx, existing), status=201)
    ctx.resource.voice_projects[project_id] = project
    return json_response(_project_body(ctx, project), status=201)


async def projects_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    project_id = _found(_vprojects(ctx), request, "project").id
    force = request.query.get("forceDelete", "false").lower() == "true"
    models = [m.id for m in _vmodels(ctx).values() if m.project_id == project_id]
    endpoints = [e.id for e in ctx.resource.voice_endpoints.values() if e.project_id == project_id]
    if (models or endpoints) and not force:
        raise _bad(
            f"The project '{project_id}' has {len(models)} model(s) and {len(endpoints)} endpoint(s); "
            "delete them first or use forceDelete=true.",
            detail="ProjectNotEmpty",
            target="forceDelete",
        )
    for endpoint_id in endpoints:
        del ctx.resource.voice_endpoints[endpoint_id]
    for model_id in models:
        _forget_model(ctx, model_id)
    ctx.resource.voice_projects.pop(project_id, None)
    if project_id in ctx.world.voice_projects:
        ctx.resource.deleted_voice_projects.add(project_id)
    return web.Response(status=204)


def _forget_model(ctx: Ctx, model_id: str) -> None:
    ctx.resource.voice_models.pop(model_id, None)
    ctx.resource.voice_model_training.pop(model_id, None)
    ctx.resource.voice_model_fingerprints.pop(model_id, None)
    ctx.resource.voice_model_operations.pop(model_id, None)
    if model_id in ctx.world.voice_models:
        ctx.resource.deleted_voice_models.add(model_id)


async def models_create(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model_id = _resource_id(request)
    op_id = _operation_id(request, ctx)
    body = await read_json_object(request, "voice")
    for field in ("projectId", "consentId", "trainingSetId"):
        value = body.get(field)
        if not isinstance(value, str) or not RESOURCE_ID.match(value):
            raise _bad(
                f"'{field}' is required and must match {RESOURCE_ID.pattern}.",
                target=field,
                code="BadArgument",
            )
    recipe = body.get("recipe")
    if not isinstance(recipe, dict) or not isinstance(recipe.get("kind"), str):
        raise _bad("'recipe.kind' is required.", target="recipe", code="BadArgument")
    if recipe["kind"] not in RECIPE_KINDS:
        raise _bad(
            f"'recipe.kind' must be one of {', '.join(RECIPE_KINDS)} (GET /customvoice/modelrecipes).",
            target="recipe.kind",
            code="BadArgument",
        )
    request_print = _fingerprint("model", model_id, {k: v for k, v in body.items() if k != "id"})
    previous = _previous(ctx, op_id, request_print)
    existing = _vmodels(ctx).get(model_id)
    if previous is not None or existing is not None:
        if existing is None or ctx.resource.voice_model_fingerprints.get(model_id) != request_print:
            if existing is None:
                raise ApiError(404, "NotFound", f"The model {model_id} created by '{op_id}' was deleted.")
            raise _bad(f"The model '{model_id}' already exists.", detail="ModelAlreadyExists", target="id")
        original = ctx.resource.voice_model_operations.get(model_id, op_id)
        return json_response(
            _model_body(ctx, existing), status=201, headers=_operation_headers(ctx, original)
        )
    project = _vprojects(ctx).get(body["projectId"])
    if project is None:
        raise _bad(
            f"The project '{body['projectId']}' does not exist.", detail="ProjectNotFound", target="projectId"
        )
    locale = body.get("locale") if isinstance(body.get("locale"), str) else project.locale
    properties = body.get("properties") or {}
    presets = properties.get("presetStyles") or [] if isinstance(properties, dict) else None
    styles = properties.get("styleTrainingSetIds") or {} if isinstance(properties, dict) else None
    if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
        raise _bad(
            "'properties.presetStyles' must be a list of strings.", target="properties", code="BadArgument"
        )
    if not isinstance(styles, dict) or not all(
        isinstance(v, str) and RESOURCE_ID.match(v) for v in styles.values()
    ):
        raise _bad(
            "'properties.styleTrainingSetIds' must map names to ids.", target="properties", code="BadArgument"
        )
    model = SeedVoiceModel(
        id=model_id,
        project_id=project.id,
        locale=locale,
        voice_name=body.get("voiceName") if isinstance(body.get("voiceName"), str) else "",
        description=body.get("description") if isinstance(body.get("description"), str) else "",
        status="NotStarted",
        created_days_ago=ctx.world.days_ago(ctx.now),
        consent_id=body["consentId"],
        training_set_id=body["trainingSetId"],
        recipe_kind=recipe["kind"],
        preset_styles=presets,
        style_training_set_ids=styles,
    )
    config = ctx.world.config
    training = Action.training(
        ctx.now, config.scaled(config.durations.voice_queue), config.scaled(config.durations.voice_training)
    )
    ctx.resource.voice_models[model_id] = model
    ctx.resource.voice_model_training[model_id] = training
    ctx.resource.voice_model_fingerprints[model_id] = request_print
    ctx.resource.voice_model_operations[model_id] = op_id
    ctx.resource.voice_operations[op_id] = VoiceOperation(
        id=op_id, endpoint_id=model_id, fingerprint=request_print, action=training
    )
    return json_response(
        _model_body(ctx, _vmodels(ctx)[model_id]), status=201, headers=_operation_headers(ctx, op_id)
    )


async def models_delete(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    model_id = _found(_vmodels(ctx), request, "model").id
    users = [e.id for e in ctx.resource.voice_endpoints.values() if e.model_id == model_id]
    if users:
        raise _bad(
            f"The model is deployed on endpoint(s) {', '.join(users)}.", detail="ModelInUse", target="id"
        )
    _forget_model(ctx, model_id)
    return web.Response(status=204)


# ---------------------------------------------------------------------------------------------------------
# v3.0 text to speech (retiring): get, suspend, resume


def render_v3(ctx: Ctx, ep: VoiceEndpoint) -> dict[str, Any]:
    status, entered, _ = ep.action.status_at(ctx.now)
    model = _vmodels(ctx).get(ep.model_id)
    properties: dict[str, Any] = {}
    if ep.action.error is not None and status in ("Failed", "Disabled"):
        properties["error"] = ep.action.error.model_dump()
    return {
        "id": ep.id,
        "name": ep.display_name or ep.id,
        "description": ep.description or "",
        "locale": model.locale if model else "en-US",
        "model": {"id": ep.model_id},
        "project": {"id": ep.project_id},
        "properties": properties,
        "status": status,
        "createdDateTime": iso(ep.created),
        "lastActionDateTime": iso(max(entered, ep.created)),
    }


async def v3_get(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return json_response(render_v3(ctx, _get(ctx, request)))


async def _v3_transition(request: web.Request, ctx: Ctx, verb: str) -> web.StreamResponse:
    ep = _get(ctx, request)
    action = _begin(ctx, ep, verb)
    _, _, left = action.status_at(ctx.now)
    retry = retry_after_seconds(left) or 1
    location = f"{ctx.host}/api/texttospeech/v3.0/endpoints/{ep.id}"
    return web.Response(status=202, headers={"Location": location, "Retry-After": str(retry)})


async def v3_suspend(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return await _v3_transition(request, ctx, "suspend")


async def v3_resume(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    return await _v3_transition(request, ctx, "resume")


# ---------------------------------------------------------------------------------------------------------
# Routes


def routes() -> list[tuple[str, str, Op]]:
    def op(name: str, fn: Any, consumes: tuple[str, ...] = ()) -> Op:
        return Op("voice", name, fn, VOICE_VERSIONS, consumes)

    def v3(name: str, fn: Any) -> Op:
        return Op("tts3", name, fn, ("v3.0",))

    eid = "{id:[^/]+}"  # any segment (`:suspend` is split off by backtracking): _endpoint_id checks it
    return [
        ("GET", "/customvoice/endpoints", op("Endpoints_List", endpoints_list)),
        ("POST", f"/customvoice/endpoints/{eid}:suspend", op("Endpoints_Suspend", endpoints_suspend)),
        ("POST", f"/customvoice/endpoints/{eid}:resume", op("Endpoints_Resume", endpoints_resume)),
        ("GET", f"/customvoice/endpoints/{eid}", op("Endpoints_Get", endpoints_get)),
        ("PUT", f"/customvoice/endpoints/{eid}", op("Endpoints_Create", endpoints_create, JSON)),
        ("DELETE", f"/customvoice/endpoints/{eid}", op("Endpoints_Delete", endpoints_delete)),
        ("GET", "/customvoice/operations/{id}", op("Operations_Get", operations_get)),
        ("GET", "/customvoice/models", op("Models_List", models_list)),
        ("GET", "/customvoice/models/{id}", op("Models_Get", models_get)),
        ("PUT", "/customvoice/models/{id}", op("Models_Create", models_create, JSON)),
        ("DELETE", "/customvoice/models/{id}", op("Models_Delete", models_delete)),
        ("GET", "/customvoice/projects", op("Projects_List", projects_list)),
        ("GET", "/customvoice/projects/{id}", op("Projects_Get", projects_get)),
        ("PUT", "/customvoice/projects/{id}", op("Projects_Create", projects_create, JSON)),
        ("DELETE", "/customvoice/projects/{id}", op("Projects_Delete", projects_delete)),
        ("GET", "/customvoice/basemodels", op("BaseModels_List", base_models_list)),
        ("GET", "/customvoice/modelrecipes", op("Models_ListRecipes", models_list_recipes)),
        ("GET", "/api/texttospeech/v3.0/endpoints/{id}", v3("Endpoints_Get", v3_get)),
        ("POST", "/api/texttospeech/v3.0/endpoints/{id}/suspend", v3("Endpoints_Suspend", v3_suspend)),
        ("POST", "/api/texttospeech/v3.0/endpoints/{id}/resume", v3("Endpoints_Resume", v3_resume)),
    ]
