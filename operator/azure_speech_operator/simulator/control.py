"""The control API under /_sim/ (a path Azure never uses): no auth, not rate-limited, not counted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from .config import Durations, RateLimit
from .http import json_response
from .state import EntityError, SpeechEndpoint, VoiceEndpoint, iso
from .traffic import FaultRule

if TYPE_CHECKING:
    from .app import Simulator


def _sim(request: web.Request) -> Simulator:
    from .app import SIM

    return request.app[SIM]


def _bad(message: str) -> web.Response:
    return json_response({"error": message}, status=400)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body is not JSON"}', content_type="application/json"
        ) from None


async def health(request: web.Request) -> web.StreamResponse:
    return json_response({"ok": True})


async def requests_get(request: web.Request) -> web.StreamResponse:
    return json_response(_sim(request).requests.snapshot())


async def requests_reset(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    sim.requests.reset()
    return json_response(sim.requests.snapshot())


async def faults_add(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    data = await _json(request)
    items = data if isinstance(data, list) else [data]
    try:
        rules = [FaultRule.model_validate(item) for item in items]
    except ValidationError as exc:
        return _bad(f"invalid fault rule: {exc}")
    for rule in rules:
        sim.faults.add(rule)
    return json_response(_rules(sim), status=201)


def _rules(sim: Simulator) -> dict[str, Any]:
    return {"faults": [r.model_dump(by_alias=True, exclude_none=True) for r in sim.faults.rules]}


async def faults_get(request: web.Request) -> web.StreamResponse:
    return json_response(_rules(_sim(request)))


async def faults_clear(request: web.Request) -> web.StreamResponse:
    _sim(request).faults.clear()
    return web.Response(status=204)


def config_view(sim: Simulator) -> dict[str, Any]:
    c = sim.config
    return {
        "timeScale": c.time_scale,
        "durations": c.durations.model_dump(),
        "rateLimit": str(c.rate_limit),
        "faultRate": c.fault_rate,
        "faultKinds": list(c.fault_kinds),
        "slowSeconds": c.slow_seconds,
        "timeoutSeconds": c.timeout_seconds,
        "deployFailureProbability": c.deploy_failure_probability,
        "seed": c.seed,
        "regionalHost": c.regional_host,
        "region": c.region,
        "resources": [
            {
                "name": r.name,
                "keys": len(r.keys),
                "deploymentQuota": r.deployment_quota,
                "voiceEndpointQuota": r.voice_endpoint_quota,
                "rateLimit": str(r.rate_limit) if r.rate_limit else None,
            }
            for r in c.resources
        ],
    }


_PATCHABLE = {
    "timeScale": "time_scale",
    "faultRate": "fault_rate",
    "faultKinds": "fault_kinds",
    "slowSeconds": "slow_seconds",
    "timeoutSeconds": "timeout_seconds",
    "deployFailureProbability": "deploy_failure_probability",
    "seed": "seed",
    "regionalHost": "regional_host",
    "region": "region",
}


# snake_case (Python keyword arguments) and the CLI flag names are accepted as well.
_ALIASES = {
    **{v: k for k, v in _PATCHABLE.items()},
    "deploy_failure_rate": "deployFailureProbability",
    "rate_limit": "rateLimit",
}


async def config_get(request: web.Request) -> web.StreamResponse:
    return json_response(config_view(_sim(request)))


async def config_patch(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    data = await _json(request)
    if not isinstance(data, dict):
        return _bad("the body must be a JSON object")
    data = {_ALIASES.get(k, k): v for k, v in data.items()}
    unknown = set(data) - set(_PATCHABLE) - {"durations", "rateLimit"}
    if unknown:
        return _bad(
            f"unknown config fields: {sorted(unknown)}; "
            f"patchable: {sorted([*_PATCHABLE, 'durations', 'rateLimit'])}"
        )
    config = sim.config
    try:
        updates: dict[str, Any] = {_PATCHABLE[k]: v for k, v in data.items() if k in _PATCHABLE}
        if "durations" in data:
            updates["durations"] = Durations.model_validate(
                config.durations.model_dump() | dict(data["durations"])
            )
        if "rateLimit" in data:
            raw = data["rateLimit"]
            updates["rate_limit"] = (
                RateLimit.parse(str(raw)) if not isinstance(raw, dict) else RateLimit(**raw)
            )
        candidate = config.model_validate(config.model_dump() | updates)
    except (ValidationError, ValueError, TypeError) as exc:
        return _bad(f"invalid config: {exc}")
    for name in updates:
        setattr(config, name, getattr(candidate, name))
    if "rate_limit" in updates:
        sim.limiter.reset()
    return json_response(config_view(sim))


def _endpoint_view(sim: Simulator, resource: str, ep: SpeechEndpoint | VoiceEndpoint) -> dict[str, Any]:
    now = sim.clock()
    status, entered, left = ep.action.status_at(now)
    view: dict[str, Any] = {
        "id": ep.id,
        "resource": resource,
        "family": "speech" if isinstance(ep, SpeechEndpoint) else "voice",
        "status": status,
        "statusSince": iso(entered),
        "secondsLeftInStatus": left,
        "action": ep.action.kind,
        "actionOutcome": ep.action.outcome,
    }
    if isinstance(ep, SpeechEndpoint):
        serving = ep.serving(now)
        view["model"] = ep.model.id
        view["servingModel"] = serving.id if serving else None
    else:
        view["model"] = ep.model_id
    return view


async def endpoints_list(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    items = []
    for name, resource in sim.world.resources.items():
        sim.world.expire_endpoints(resource, sim.clock())
        for sep in resource.speech_endpoints.values():
            items.append(_endpoint_view(sim, name, sep))
        for vep in resource.voice_endpoints.values():
            items.append(_endpoint_view(sim, name, vep))
    return json_response({"endpoints": items})


async def endpoint_fail(request: web.Request) -> web.StreamResponse:
    """Force the endpoint's current action to fail (at its planned end), or fail it now if it is idle."""
    sim = _sim(request)
    endpoint_id = request.match_info["id"].lower()
    data = await _json(request)
    error = EntityError(
        code=str(data.get("code", "DeploymentFailed")),
        message=str(data.get("message", "The deployment failed (forced by the simulator control API).")),
    )
    for resource, ep in sim.world.find_endpoint(endpoint_id):
        ep.action.force_failure(sim.clock(), error)
        sim.save_state()
        return json_response(_endpoint_view(sim, resource.name, ep))
    return json_response({"error": f"no endpoint {endpoint_id}"}, status=404)


async def clock_get(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    return json_response(
        {"now": iso(sim.clock()), "epoch": sim.clock(), "advanceable": sim.sim_clock is not None}
    )


async def clock_advance(request: web.Request) -> web.StreamResponse:
    """Move the simulator's clock forward: every status moves as if that much time had passed."""
    sim = _sim(request)
    data = await _json(request)
    seconds = data.get("advance") if isinstance(data, dict) else None
    if not isinstance(seconds, int | float) or seconds < 0:
        return _bad('body must be {"advance": SECONDS} with SECONDS >= 0')
    if sim.sim_clock is None:
        return _bad("this simulator runs on an injected clock; advance that clock instead")
    sim.sim_clock.advance(float(seconds))
    return await clock_get(request)


async def seed_get(request: web.Request) -> web.StreamResponse:
    return json_response(_sim(request).world.seed.dump())


async def blob_get(request: web.Request) -> web.StreamResponse:
    """The simulated blob store behind content-log `contentUrl`s (a SAS URL needs no key)."""
    from .logfiles import log_content
    from .stt import find_log

    sim = _sim(request)
    resource = sim.world.resources.get(request.match_info["resource"])
    container = request.match_info["endpoint"]
    logs = None
    if resource is not None:
        # Base model logs live under `base-{locale}` (see stt._base_blob); endpoint ids are UUIDs, no clash.
        if container.startswith("base-"):
            logs = resource.base_model_logs.get(container.removeprefix("base-"))
        elif (ep := resource.speech_endpoints.get(container)) is not None:
            logs = ep.logs
    log = find_log(logs, request.match_info["name"])
    if log is None:
        return web.Response(status=404, text="BlobNotFound")
    kind = "audio/wav" if log.kind == "Audio" else "application/json"
    return web.Response(body=log_content(log), content_type=kind)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/requests", requests_get)
    r.add_post("/_sim/requests/reset", requests_reset)
    r.add_get("/_sim/faults", faults_get)
    r.add_post("/_sim/faults", faults_add)
    r.add_delete("/_sim/faults", faults_clear)
    r.add_get("/_sim/config", config_get)
    r.add_patch("/_sim/config", config_patch)
    r.add_get("/_sim/endpoints", endpoints_list)
    r.add_post("/_sim/endpoints/{id}/fail", endpoint_fail)
    r.add_get("/_sim/clock", clock_get)
    r.add_post("/_sim/clock", clock_advance)
    r.add_get("/_sim/seed", seed_get)
    r.add_get("/_sim/blobs/{resource}/{endpoint}/{name}", blob_get)
