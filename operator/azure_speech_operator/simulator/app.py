"""The aiohttp application: routes of every API family, auth, rate limit, faults, request log, control API."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import control, stt, voice
from .config import SimulatorConfig
from .http import (
    CTX,
    FAULT_MESSAGES,
    UNAUTHORIZED_MESSAGE,
    WORLD,
    ApiError,
    Ctx,
    Family,
    Op,
    default_code,
    error_response,
    family_of,
    json_response,
    url_host,
    version_of,
)
from .seed import Seed, default_seed, load_seed
from .state import Clock, ResourceState, SimClock, StateFileError, World
from .traffic import Fault, FaultPlan, RateLimiter, RequestLog, retry_after_header

log = logging.getLogger("azure_speech_operator.simulator")

FAULT_HEADER = "x-simulator-fault"
SAVE_DELAY = 0.5  # seconds between a change and the state file write; shutdown writes at once
_BAD_GATEWAY = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


@dataclass
class Simulator:
    """The mutable parts the middleware and the control API share."""

    world: World
    faults: FaultPlan
    limiter: RateLimiter
    requests: RequestLog
    clock: Clock
    sim_clock: SimClock | None = None
    _pending_save: asyncio.TimerHandle | None = None
    shutdown_error: StateFileError | None = None  # the save at shutdown failed (run_simulator raises it)

    @property
    def config(self) -> SimulatorConfig:
        return self.world.config

    def save_state(self) -> None:
        """Write the state file now (if there is one); a StateFileError when it cannot be written."""
        if self._pending_save is not None:
            self._pending_save.cancel()
            self._pending_save = None
        path = self.config.state_file
        if path is not None:
            self.world.save(path)

    def save_state_soon(self) -> None:
        """Save within SAVE_DELAY seconds: writing the whole state after every request would make each
        write cost as much as all state, and a burst of writes needs one save, not one each. Every change
        schedules it: Azure writes (the middleware) and control API changes (clock, config, faults, fail)."""
        if self.config.state_file is not None and self._pending_save is None:
            self._pending_save = asyncio.get_running_loop().call_later(SAVE_DELAY, self._scheduled_save)

    def _scheduled_save(self) -> None:
        self._pending_save = None
        try:
            self.save_state()
        except StateFileError as exc:  # keep serving; the next change (or the exit) tries again
            log.error("simulate-azure: --state-file: %s", exc)


SIM: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)


def create_app(
    config: SimulatorConfig | None = None,
    *,
    clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    seed: Seed | None = None,
) -> web.Application:
    """The simulator as an aiohttp application. `clock` (epoch seconds) drives every status transition;
    `monotonic` drives the rate limiter, which always runs in real seconds."""
    config = config or SimulatorConfig()
    if seed is None:
        seed = load_seed(config.seed_file) if config.seed_file else default_seed()
    sim_clock = None
    if clock is None:
        sim_clock = SimClock()
        clock = sim_clock
    world = World(config, seed, clock)
    if config.state_file is not None:
        world.load(config.state_file)
    operations = frozenset(op.log_name for _, _, op in (*stt.routes(), *voice.routes()))
    sim = Simulator(
        world=world,
        faults=FaultPlan(config, operations),
        limiter=RateLimiter(monotonic),
        requests=RequestLog(),
        clock=clock,
        sim_clock=sim_clock,
    )
    app = web.Application(middlewares=[_middleware])
    app[SIM] = sim
    app[WORLD] = world
    for method, path, op in stt.routes():
        app.router.add_route(method, f"/speechtotext/v3.2{path}", _handler(op))
        app.router.add_route(method, f"/speechtotext{path}", _handler(op))
    for method, path, op in voice.routes():
        app.router.add_route(method, path, _handler(op))
    control.add_routes(app)
    app.on_shutdown.append(_save_on_shutdown)
    return app


def _handler(op: Op) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await op(request)

    handle.sim_op = op  # type: ignore[attr-defined]  # the middleware reads the operation from here
    return handle


async def _save_on_shutdown(app: web.Application) -> None:
    sim = app[SIM]
    try:
        sim.save_state()
    except StateFileError as exc:  # raised after the server is down (run_simulator), not in the middle
        sim.shutdown_error = exc


def _authenticate(request: web.Request, world: World) -> ResourceState:
    key = request.headers.get("Ocp-Apim-Subscription-Key")
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    for name, rc in world.resource_configs.items():
        if key and any(hmac.compare_digest(key, k) for k in rc.keys):
            return world.resources[name]
        if token and any(hmac.compare_digest(token, t) for t in rc.bearer_tokens):
            return world.resources[name]
    if len(world.resource_configs) == 1:
        # Open mode: a credential kind nothing was configured for is accepted. A configured bearer token
        # closes tokens but not keys (`--keys` none still means any key); configured keys close both.
        rc = next(iter(world.resource_configs.values()))
        if not rc.keys and (key or (token and not rc.bearer_tokens)):
            return world.resources[rc.name]
    raise ApiError(401, "401", UNAUTHORIZED_MESSAGE)


def _base_url(request: web.Request, config: SimulatorConfig) -> str:
    if config.regional_host:
        host = config.regional_host
        return host if host.startswith(("http://", "https://")) else f"https://{url_host(host)}"
    return f"{request.scheme}://{request.host}"


@web.middleware
async def _middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith("/_sim/"):
        return await _control(request, handler)
    sim = request.app[SIM]
    op = getattr(request.match_info.handler, "sim_op", None)
    family: Family = op.family if op else (family_of(request.path) or "stt")
    operation = op.log_name if op else "Unknown"
    version: str | None = None
    resource: ResourceState | None = None
    fault: Fault | None = None
    try:
        version, version_error = _requested_version(request, family)
        # Azure's gateway checks the key before the service sees the request (and its api-version).
        resource = _authenticate(request, sim.world)
        if version_error is not None:
            raise version_error
        rc = sim.world.resource_configs[resource.name]
        wait = sim.limiter.check(resource.name, rc.rate_limit or sim.config.rate_limit)
        if wait is not None:
            raise ApiError(
                429, "TooManyRequests", FAULT_MESSAGES[429], headers={"Retry-After": retry_after_header(wait)}
            )
        if op is None:
            raise ApiError(404, "NotFound", f"No operation matches {request.method} {request.path}.")
        fault = sim.faults.draw(
            operation, resource.name, request.match_info.get("id"), write=request.method != "GET"
        )
        if fault is not None and fault.phase == "before":
            early = await _apply_fault(request, fault, None)
            if early is not None:
                return _record(sim, operation, resource, early, fault)
        now = sim.clock()
        sim.world.expire_endpoints(resource, now)
        request[CTX] = Ctx(
            world=sim.world,
            resource=resource,
            version=version or "",
            host=_base_url(request, sim.config),
            request_host=f"{request.scheme}://{request.host}",
            now=now,
        )
        try:
            response = await handler(request)
        except ApiError as err:
            response = error_response(family, version, err)
        if request.method != "GET":
            sim.save_state_soon()
        if fault is not None and fault.phase == "after":
            # The request took effect (or failed on its own); the answer is replaced all the same.
            late = await _apply_fault(request, fault, response)
            if late is not None:
                return _record(sim, operation, resource, late, fault)
        return _record(sim, operation, resource, response, fault)
    except ApiError as err:
        return _record(sim, operation, resource, error_response(family, version, err), fault)
    except web.HTTPException as exc:
        http_err = ApiError(exc.status, _code_for(family, exc.status), exc.reason)
        return _record(sim, operation, resource, error_response(family, version, http_err), fault)


def _requested_version(request: web.Request, family: Family) -> tuple[str | None, ApiError | None]:
    """The API version asked for, or the error refusing it: raised only once the key has been checked."""
    if family_of(request.path) is None:
        return None, None
    try:
        return version_of(request, family), None
    except ApiError as err:
        return None, err


async def _control(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A control API call: its changes are saved like Azure writes; its errors are JSON `{"error": ...}`,
    an unknown path or method included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json":
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        message = f"{exc.reason}: {request.method} {request.path} (see docs/simulator.md, Control API)"
        return json_response({"error": message}, status=exc.status, headers=allow)
    if request.method != "GET" and response.status < 400:
        request.app[SIM].save_state_soon()  # the clock, a forced failure ...: saved like Azure writes
    return response


def _code_for(family: Family, status: int) -> str:
    return default_code(family, status)


class _Dropped(web.Response):
    """Stands for an answer that never came (reset or timeout)."""

    def __init__(self, outcome: str) -> None:
        super().__init__(status=599)
        self.outcome = outcome


def _record(
    sim: Simulator,
    operation: str,
    resource: ResourceState | None,
    response: web.StreamResponse,
    fault: Fault | None,
) -> web.StreamResponse:
    outcome = response.outcome if isinstance(response, _Dropped) else str(response.status)
    if fault is not None and not isinstance(response, _Dropped):
        # Every injected answer carries the marker, `slow` ones (the real answer, late) included.
        response.headers.setdefault(FAULT_HEADER, fault.kind)
    sim.requests.record(operation, resource.name if resource else None, outcome, fault)
    if log.isEnabledFor(logging.INFO):
        injected = f" (injected {fault.kind}, {fault.phase})" if fault is not None else ""
        log.info("%s [%s] -> %s%s", operation, resource.name if resource else "-", outcome, injected)
    if isinstance(response, _Dropped):
        raise asyncio.CancelledError  # aiohttp then closes the (already reset) connection without answering
    return response


def _reset_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0: close() sends a TCP RST, which is what a client sees from a reset connection.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _apply_fault(
    request: web.Request, fault: Fault, response: web.StreamResponse | None
) -> web.StreamResponse | None:
    """The response that replaces the real one, or None to go on (slow before)."""
    sim = request.app[SIM]
    family = family_of(request.path) or "stt"
    version = request.query.get("api-version")
    kind = fault.kind
    if kind == "slow":
        await asyncio.sleep(sim.config.slow_seconds)
        return response
    if kind == "timeout":
        await asyncio.sleep(sim.config.timeout_seconds)
        _reset_connection(request)
        return _Dropped("timeout")
    if kind == "reset":
        _reset_connection(request)
        return _Dropped("reset")
    marker = {FAULT_HEADER: kind}  # lets tests tell injected answers from simulated ones
    if kind == "malformed":
        status = response.status if response is not None else 200
        return web.Response(
            status=status,
            body=b'{"self": "https://',
            content_type="application/json",
            charset="utf-8",
            headers=marker,
        )
    status = int(kind)
    if status == 502:
        # A 502 comes from a gateway in front of the service, not from the service: HTML, not the API's JSON.
        return web.Response(status=502, text=_BAD_GATEWAY, content_type="text/html", headers=marker)
    headers = {"Retry-After": "1"} if status in (429, 503) else {}
    code = "TooManyRequests" if status == 429 else _code_for(family, status)
    return error_response(
        family, version, ApiError(status, code, FAULT_MESSAGES[status], headers=headers | marker)
    )


@dataclass
class RunningSimulator:
    url: str
    app: web.Application
    runner: web.AppRunner

    @property
    def sim(self) -> Simulator:
        return self.app[SIM]

    @property
    def world(self) -> World:
        return self.app[SIM].world


@contextlib.asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None,
    *,
    clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    seed: Seed | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    access_log: bool = False,
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator on host:port (0 = a free port) for the duration of the block: `sim.url`."""
    app = create_app(config, clock=clock, monotonic=monotonic, seed=seed)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound_port = sockets[0].getsockname()[1] if sockets else port
    try:
        yield RunningSimulator(url=f"http://{url_host(host)}:{bound_port}", app=app, runner=runner)
    finally:
        await runner.cleanup()
    failed = app[SIM].shutdown_error
    if failed is not None:
        raise failed
