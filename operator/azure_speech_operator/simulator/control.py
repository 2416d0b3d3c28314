"""The control API under /_sim/ (a path Azure never uses): no auth, not rate-limited, not counted.

Bodies are JSON objects (a list of them for `POST /_sim/faults`); anything else, an unknown key or a value of
the wrong type or range is a 400 `{"error": ...}` naming the key. Changes schedule a state file save, as
Azure writes do (app middleware).
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

from aiohttp import web
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from .config import Durations, RateLimit, SimulatorConfig, json_kind, problems
from .http import json_response
from .state import MAX_CLOCK_OFFSET, EntityError, SpeechEndpoint, VoiceEndpoint, iso
from .traffic import FaultRule

if TYPE_CHECKING:
    from .app import Simulator


def _sim(request: web.Request) -> Simulator:
    from .app import SIM

    return request.app[SIM]


def _bad(message: str) -> web.Response:
    return json_response({"error": message}, status=400)


class _BadBody(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:  # also a UnicodeDecodeError
        raise _BadBody(f"the body is not JSON: {exc}") from None


async def _json_object(request: web.Request, *known: str) -> dict[str, Any]:
    """The body as a JSON object (an empty body is `{}`) whose keys are all among `known`, else a 400."""
    data = await _json(request)
    if not isinstance(data, dict):
        raise _BadBody(f"the body must be a JSON object, not {json_kind(data)}")
    unknown = [key for key in data if key not in known]
    if unknown:
        raise _BadBody(f"unknown key {unknown[0]!r}; known: {', '.join(known)}")
    return data


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def health(request: web.Request) -> web.StreamResponse:
    return json_response({"ok": True})


async def requests_get(request: web.Request) -> web.StreamResponse:
    return json_response(_sim(request).requests.snapshot())


async def requests_reset(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    sim.requests.reset()
    return json_response(sim.requests.snapshot())


async def faults_add(request: web.Request) -> web.StreamResponse:
    """One rule or a list of rules, all checked before any is added."""
    sim = _sim(request)
    data = await _json(request)
    items = data if isinstance(data, list) else [data]
    rules = []
    for n, item in enumerate(items, 1):
        which = f"rule {n}: " if isinstance(data, list) else ""
        if not isinstance(item, dict):
            return _bad(f"invalid fault rule: {which}a rule is a JSON object, not {json_kind(item)}")
        try:
            rule = FaultRule.model_validate(item)
            sim.faults.check(rule)
        except ValidationError as exc:
            return _bad(f"invalid fault rule: {which}{problems(exc)}")
        except ValueError as exc:
            return _bad(f"invalid fault rule: {which}{exc}")
        rules.append(rule)
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


# PATCH /_sim/config: the snake_case fields, each also spelled camelCase or as its flag (with or without the
# leading dashes): `timeScale`, `time_scale`, `time-scale`, `--time-scale`.
_FLAGS: dict[str, str | None] = {
    "time_scale": "time-scale",
    "fault_rate": "fault-rate",
    "fault_kinds": "fault-kinds",
    "slow_seconds": "slow-seconds",
    "timeout_seconds": "timeout-seconds",
    "deploy_failure_probability": "deploy-failure-rate",
    "seed": "seed",
    "regional_host": "regional-host",
    "region": "region",
    "rate_limit": "rate-limit",
    "durations": None,
}


def _spellings(name: str, flag: str | None) -> list[str]:
    return [name, to_camel(name)] + ([flag, f"--{flag}"] if flag else [])


def _key_tables() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Every accepted top-level key -> its field path (`("time_scale",)`, `("durations", "speech_deploy")`
    for the duration flags), and every accepted key inside `durations` -> its field."""
    top: dict[str, tuple[str, ...]] = {}
    inside: dict[str, str] = {}
    for name, flag in _FLAGS.items():
        top |= dict.fromkeys(_spellings(name, flag), (name,))
    top |= dict.fromkeys(_spellings("deploy_failure_rate", None), ("deploy_failure_probability",))
    for name in Durations.model_fields:
        as_flag = f"{name}-seconds".replace("_", "-")
        top |= dict.fromkeys(_spellings(f"{name}_seconds", as_flag), ("durations", name))
        spelled = _spellings(name, name.replace("_", "-")) + _spellings(f"{name}_seconds", as_flag)
        inside |= dict.fromkeys(spelled, name)
    return top, inside


_TOP, _DURATION_KEYS = _key_tables()


class _Type(NamedTuple):
    expected: str
    ok: Callable[[Any], bool]
    # JSON kinds of which the field takes some values only (see _must_be)
    judged_by_value: tuple[str, ...] = ()


_TYPES: dict[str, _Type] = {
    "time_scale": _Type("a number", _is_number),
    "fault_rate": _Type("a number", _is_number),
    "slow_seconds": _Type("a number", _is_number),
    "timeout_seconds": _Type("a number", _is_number),
    "deploy_failure_probability": _Type("a number", _is_number),
    "durations": _Type("a number of seconds", _is_number),
    "seed": _Type("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool), ("a number",)),
    "region": _Type("a string", lambda v: isinstance(v, str)),
    "regional_host": _Type("a string or null", lambda v: v is None or isinstance(v, str)),
    "fault_kinds": _Type("a list of fault kinds", lambda v: isinstance(v, list)),
    "rate_limit": _Type(
        '"N/S", "0" or {"requests": N, "seconds": S}',
        lambda v: isinstance(v, str | dict) or v == 0,
        ("a number",),
    ),
}


def _must_be(key: str, expected: str, value: Any, judged_by_value: tuple[str, ...] = ()) -> str:
    """`KEY: must be EXPECTED, not KIND`, KIND the value's JSON kind. A value of a kind in `judged_by_value`
    is refused for itself, not for its kind (an empty code, a seed of 1.5, a rate limit of 5): naming the kind
    would contradict the expectation (`must be a non-empty string, not a string`), so the value is named
    instead, or nothing when it is empty."""
    kind = json_kind(value)
    if kind not in judged_by_value:
        return f"{key}: must be {expected}, not {kind}"
    return f"{key}: must be {expected}" + (f", not {reprlib.repr(value)}" if value != "" else "")


async def config_get(request: web.Request) -> web.StreamResponse:
    return json_response(config_view(_sim(request)))


async def config_patch(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    config = sim.config
    data = await _json(request)
    if not isinstance(data, dict):
        return _bad(f"the body must be a JSON object, not {json_kind(data)}")
    try:
        values, given = _config_values(data)
        candidate = _patched(config, values, given)
    except ValueError as exc:
        return _bad(f"invalid config: {exc}")
    fields = {path[0] for path in values}
    for name in fields:
        setattr(config, name, getattr(candidate, name))
    if "rate_limit" in fields:
        sim.limiter.reset()
    return json_response(config_view(sim))


def _config_values(data: dict[str, Any]) -> tuple[dict[tuple[str, ...], Any], dict[tuple[str, ...], str]]:
    """The body's values by field path, and each path's key as the body wrote it (for messages)."""
    values: dict[tuple[str, ...], Any] = {}
    given: dict[tuple[str, ...], str] = {}

    def put(path: tuple[str, ...], key: str, value: Any) -> None:
        if path in given:
            raise ValueError(f"{key!r} and {given[path]!r} set the same field")
        field = _TYPES[path[0]]
        if not field.ok(value):
            raise ValueError(_must_be(key, field.expected, value, field.judged_by_value))
        values[path], given[path] = value, key

    for key, value in data.items():
        path = _TOP.get(key)
        if path is None:
            known = ", ".join(to_camel(name) for name in _FLAGS)
            raise ValueError(
                f"unknown key {key!r}; patchable: {known}, deployFailureRate and the duration flags "
                "(camelCase, snake_case or the flag names)"
            )
        if path != ("durations",):
            put(path, key, value)
            continue
        if not isinstance(value, dict):
            raise ValueError(f'{key}: must be an object like {{"speechDeploy": 100}}, not {json_kind(value)}')
        for inner, seconds in value.items():
            name = _DURATION_KEYS.get(inner)
            if name is None:
                known = ", ".join(to_camel(name) for name in Durations.model_fields)
                raise ValueError(
                    f"unknown duration {key}.{inner}; known: {known} (or snake_case, flag names)"
                )
            put(("durations", name), f"{key}.{inner}", seconds)
    return values, given


def _patched(
    config: SimulatorConfig, values: dict[tuple[str, ...], Any], given: dict[tuple[str, ...], str]
) -> SimulatorConfig:
    """The config with the values in, validated as a whole; a ValueError naming the key as given."""
    updates: dict[str, Any] = {}
    durations = {path[1]: v for path, v in values.items() if path[0] == "durations"}
    if durations:
        updates["durations"] = config.durations.model_dump() | durations
    for path, value in values.items():
        if path[0] == "rate_limit" and not isinstance(value, dict):
            try:
                updates["rate_limit"] = RateLimit.parse(str(value))
            except ValueError as exc:
                raise ValueError(f"{given[path]}: {exc}") from None
        elif path[0] != "durations":
            updates[path[0]] = value

    def where(loc: tuple[int | str, ...]) -> str:
        parts = [str(part) for part in loc]
        if parts[:1] == ["durations"] and len(parts) > 1:
            return given.get(("durations", parts[1]), ".".join(parts))
        key = given.get(tuple(parts[:1]))
        return ".".join([key, *parts[1:]]) if key else ".".join(parts)

    try:
        return SimulatorConfig.model_validate(config.model_dump() | updates)
    except ValidationError as exc:
        raise ValueError(problems(exc, where)) from None


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
    data = await _json_object(request, "code", "message")
    for key, value in data.items():
        if not isinstance(value, str) or not value:
            return _bad(_must_be(key, "a non-empty string", value, ("a string",)))
    error = EntityError(
        code=data.get("code", "DeploymentFailed"),
        message=data.get("message", "The deployment failed (forced by the simulator control API)."),
    )
    for resource, ep in sim.world.find_endpoint(endpoint_id):
        ep.action.force_failure(sim.clock(), error)
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
    data = await _json_object(request, "advance")
    seconds = data.get("advance")
    if not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
        return _bad(
            f'advance: the body must be {{"advance": SECONDS}}, SECONDS a finite number >= 0, got {seconds!r}'
        )
    if sim.sim_clock is None:
        return _bad("this simulator runs on an injected clock; advance that clock instead")
    room = MAX_CLOCK_OFFSET - sim.sim_clock.offset
    if seconds > room:
        return _bad(
            f"advance: at most {math.floor(room)} more seconds: the clock can run at most "
            f"{MAX_CLOCK_OFFSET:.0f} seconds (100 years) ahead; got {seconds!r}"
        )
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
