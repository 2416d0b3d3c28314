"""`azure-speech-operator run`: settings, kopf configuration, login, the handler modules, metrics, and kopf.

Startup order: settings are parsed (a bad value exits 2 naming the flag or variable; one accepted but
changed, such as a drift interval below the minimum, is a WARNING), the Kubernetes configuration is loaded
(`--kubeconfig`, `$KUBECONFIG`, in-cluster, `~/.kube/config`; failure exits 1), with `--peering` the
peering objects are created (transient API failures retried like kopf's own requests), the handler modules are
imported, the metrics/health server binds its port (failure exits 1), then kopf starts: the startup handler
builds the `OperatorContext` (`memo.ctx`), kopf logs in with the same configuration (an API server refusing
it exits 1) and discovers the served resources. Once kopf has listed namespaces and resources the line
`operator started: ...` is logged and /readyz answers 200. SIGTERM or SIGINT stops kopf gracefully (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import fnmatch
import importlib
import importlib.util
import logging
import os
import random
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import kopf
import kubernetes.client
from aiohttp import web
from kopf._cogs.structs.references import Insights  # kopf's discovery state: the only way to know it watches
from kopf._core.reactor import running as kopf_running  # its logger reports a failed root task

from azure_speech_operator import settings as settings_module
from azure_speech_operator.kube import (
    SPEECH_GROUP,
    KubeApi,
    KubeApiError,
    KubeConfigError,
    load_connection,
)
from azure_speech_operator.reconcile import CREDENTIALS_LABEL, FINALIZER
from azure_speech_operator.runtime import credentials, handlers, oplog, peering, wakeup
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.metrics import CONTENT_TYPE, Metrics
from azure_speech_operator.runtime.peering import GLOB_CHARACTERS, PeeringMissing
from azure_speech_operator.settings import PEERING_PRIORITY_MAX, OperatorSettings, SettingsError

logger = logging.getLogger("azure_speech_operator")


@dataclass(frozen=True)
class ServedKind:
    kind: str
    plural: str
    module: str


KINDS: Final = (
    ServedKind("SpeechEndpoint", "speechendpoints", "azure_speech_operator.speechendpoint.handlers"),
    ServedKind("VoiceEndpoint", "voiceendpoints", "azure_speech_operator.voiceendpoint.handlers"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (default: $KUBECONFIG, else the pod's service account, else ~/.kube/config)",
    )
    parser.add_argument("--context", default=None, help="kubeconfig context (default: the current one)")
    settings_module.add_arguments(parser)


def main(args: argparse.Namespace) -> int:
    try:
        settings = settings_module.load_settings(args, os.environ)
    except SettingsError as exc:
        report_usage_error(str(exc), requested_log_format(getattr(args, "log_format", None), os.environ))
        return 2
    oplog.configure(settings.log_level, settings.log_format)
    for warning in settings_module.adjustment_warnings(settings, args, os.environ):
        logger.warning("%s", warning)
    settings = with_peering_priority(settings, random.SystemRandom())
    try:
        configuration, source = load_connection(args.kubeconfig, args.context)
    except KubeConfigError as exc:
        logger.error("%s", exc)
        return 1
    if settings.peering is not None:
        try:
            _run_keeping_sigterm_handler(_ensure_peering(settings, configuration))
        except asyncio.CancelledError:
            logger.info("stopped by a signal during startup")
            return 0
        except PeeringMissing as exc:
            logger.error("%s", exc)
            return 1
        except KubeApiError as exc:
            if exc.status == 401:  # said as when kopf's login meets it (without peering)
                logger.error("%s", KubeLoginRefused(401).describe(configuration.host, source))
            else:
                logger.error("%s", exc)
            return 1
    served = import_handler_modules()
    registry = kopf.get_default_registry()
    metrics = Metrics()  # one set: the handlers count into it, the metrics server serves it
    register_runtime_handlers(registry, settings, configuration, served, metrics=metrics)
    try:
        asyncio.run(run_operator(settings, registry=registry, served=served, metrics=metrics))
    except MetricsServerError as exc:
        logger.error("%s", exc.describe(*(_source(f, args) for f in ("metrics_address", "metrics_port"))))
        return 1
    except KubeLoginRefused as exc:
        logger.error("%s", exc.describe(configuration.host, source))
        return 1
    return 0


def _source(field: str, args: argparse.Namespace) -> str:
    return settings_module.setting_source(field, args, os.environ)


def requested_log_format(flag: str | None, environ: Mapping[str, str]) -> oplog.LogFormat:
    """The log format asked for, read before the settings are known to be usable: json when the flag (else
    the variable) says json, text otherwise (a format that is itself invalid included)."""
    value = flag if flag is not None else environ.get(settings_module.OPTIONS_BY_FIELD["log_format"].env)
    return "json" if (value or "").strip().lower() == "json" else "text"


def report_usage_error(message: str, log_format: oplog.LogFormat) -> None:
    """A settings or command-line error of `run` (exit 2). With JSON logs it is a JSON log line like every
    other: a log pipeline that parses each line as JSON would drop or garble plain text."""
    if log_format == "json":
        oplog.configure("info", "json")
        logger.error("%s", message)
    else:
        print(f"azure-speech-operator run: {message}", file=sys.stderr)


def argument_error_reporter(argv: Sequence[str]) -> Callable[[str], None] | None:
    """For cli: how argparse's errors of `run` are reported when JSON logs are asked for (None: argparse's
    usage and message)."""
    if requested_log_format(_log_format_flag(argv), os.environ) != "json":
        return None
    return lambda message: report_usage_error(message, "json")


def _log_format_flag(argv: Sequence[str]) -> str | None:
    """`--log-format`'s value in a command line that may not parse."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--log-format")
    try:
        value: str | None = parser.parse_known_args(list(argv))[0].log_format
    except argparse.ArgumentError:
        return None  # `--log-format` without a value
    return value


def _run_keeping_sigterm_handler(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, then SIGTERM's handler from before it: closing the loop resets it to the default, and
    a SIGTERM while the handler modules are imported would kill the process without a word."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        asyncio.run(main)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


async def _ensure_peering(settings: OperatorSettings, configuration: kubernetes.client.Configuration) -> None:
    _stop_on_signals_until_kopf_takes_over()  # the retries may take minutes
    kube = KubeApi(configuration)
    try:
        await create_peering_objects(kube, settings)
    finally:
        await kube.aclose()


async def create_peering_objects(
    kube: peering.Requester,
    settings: OperatorSettings,
    *,
    backoffs: Sequence[float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """The peering objects, created before kopf starts: a failure kopf would retry (no answer, 429, 5xx) is
    retried with kopf's pauses (KUBE_API_BACKOFFS), so an API server restarting meanwhile is no exit."""
    assert settings.peering is not None
    for delay in (*(KUBE_API_BACKOFFS if backoffs is None else backoffs), None):
        try:
            await peering.ensure_peering_objects(kube, settings.peering, settings.namespaces)
            return
        except KubeApiError as exc:
            if delay is None or not _retried(exc):
                raise
            logger.info("creating the peering objects failed, retrying in %gs: %s", delay, exc)
        await sleep(delay)


def _retried(exc: KubeApiError) -> bool:
    return exc.status == 0 or exc.status == 429 or exc.status >= 500


def import_handler_modules() -> list[ServedKind]:
    """Import the handler modules that exist in this build; their decorators register the handlers."""
    served = []
    for kind in KINDS:
        if importlib.util.find_spec(kind.module) is None:
            continue
        importlib.import_module(kind.module)
        served.append(kind)
    return served


def with_peering_priority(settings: OperatorSettings, rng: random.Random) -> OperatorSettings:
    """The settings with a peering priority: the one given, else a random one drawn once per process, so
    that the replicas of one Deployment (same flags) never tie; kopf pauses every operator of a tie."""
    if settings.peering is None or settings.peering_priority is not None:
        return settings
    return settings.model_copy(update={"peering_priority": rng.randint(1, PEERING_PRIORITY_MAX)})


# kopf's pauses between attempts of a failed Kubernetes API request (connection refused, 429, 5xx): its own
# (1 ... 21 s, 54 s in all), then 30 s more at a time, about 5 minutes in all. An API server restart or a
# control-plane upgrade takes a minute or two; kopf logs each retry (INFO here, runtime.oplog) and an ERROR
# only when it gives up, which with its default came after 54 s, for an outage nobody needs to act on
# (tests/reliability/test_kube_faults.py, KUBE_FAULTS_OUTAGE=75).
KUBE_API_BACKOFFS = (1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0) + (30.0,) * 8


def kopf_namespace_patterns(namespaces: Sequence[str]) -> list[str]:
    """`--namespace` values as kopf's patterns. A namespace is served when it matches one inclusive glob (any
    namespace, when there is none) and no `!` glob. kopf serves a namespace that matches any one of its
    patterns, and `!team-b` alone is every namespace but team-b: so each exclusion goes into every pattern."""
    excluded = [pattern for pattern in namespaces if pattern.startswith("!")]
    included = [pattern for pattern in namespaces if not pattern.startswith("!")]
    if not excluded:
        return included
    if not included:
        return [",".join(excluded)]
    # An exact name no exclusion matches stays one: kopf serves exact names even where it may not list
    # namespaces. Every other pattern carries the exclusions (an excluded exact name then matches nothing).
    return [
        pattern
        if not GLOB_CHARACTERS & set(pattern)
        and not any(fnmatch.fnmatchcase(pattern, exclusion[1:]) for exclusion in excluded)
        else ",".join([pattern, *excluded])
        for pattern in included
    ]


def build_kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    """kopf's settings for this operator (see docs/operations.md for the reasons)."""
    kopf_settings = kopf.OperatorSettings()
    kopf_settings.persistence.finalizer = FINALIZER
    kopf_settings.persistence.progress_storage = wakeup.PROGRESS_STORAGE  # the wake-up reads them too
    kopf_settings.persistence.diffbase_storage = wakeup.DIFFBASE_STORAGE
    # Events are posted explicitly (kopf.event / kopf.warn); a log line per retry must not become an event.
    kopf_settings.posting.loggers = False
    kopf_settings.posting.reporting_component = "azure-speech-operator"
    kopf_settings.posting.reporting_instance = socket.gethostname()
    kopf_settings.posting.event_name_prefix = "azure-speech-operator-"
    if settings.peering is None:
        kopf_settings.peering.standalone = True
    else:
        kopf_settings.peering.standalone = False
        kopf_settings.peering.mandatory = True
        kopf_settings.peering.name = settings.peering
        kopf_settings.peering.priority = settings.peering_priority or 0
        kopf_settings.peering.lifetime = int(settings.peering_lifetime.total_seconds())
        kopf_settings.peering.stealth = True  # no DEBUG line per keep-alive
    # Watch streams end server-side every few minutes and are re-opened, so a silently dead connection
    # (a dropped NAT entry, an API server restart) cannot freeze the operator.
    kopf_settings.watching.server_timeout = 300
    kopf_settings.watching.client_timeout = 330
    kopf_settings.watching.connect_timeout = 10
    # Only labelled credentials Secrets are listed and watched, filtered by the API server: the operator
    # never receives the other Secrets of the cluster.
    kopf_settings.watching.label_selectors["v1", "secrets"] = f"{CREDENTIALS_LABEL}=true"
    if settings.label_selector is not None:
        # Sharding: the API server sends this operator only its shard's resources, so its handlers, drift
        # loops and wake-ups never see the others.
        for kind in KINDS:
            kopf_settings.watching.label_selectors[SPEECH_GROUP, kind.plural] = settings.label_selector
    kopf_settings.networking.request_timeout = 60
    kopf_settings.networking.connect_timeout = 10
    kopf_settings.networking.error_backoffs = KUBE_API_BACKOFFS
    # After SIGTERM, give handlers time to finish but end before Kubernetes' 30 s grace period.
    kopf_settings.process.ultimate_exiting_timeout = 25
    return kopf_settings


def connection_info(configuration: kubernetes.client.Configuration) -> kopf.ConnectionInfo:
    """kopf's credentials from a kubernetes-client configuration (as kopf.login_via_client does)."""
    header = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    parts = header.split(" ", 1) if header else []
    scheme, token = (
        (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    )
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


ContextFactory = Callable[[OperatorSettings, KubeApi, Metrics], OperatorContext]


def default_context_factory(settings: OperatorSettings, kube: KubeApi, metrics: Metrics) -> OperatorContext:
    from azure_speech_operator.azure.client import AzureClient

    azure = AzureClient(settings.client_settings(), observer=metrics)
    return OperatorContext(settings=settings, kube=kube, azure=azure, metrics=metrics)


def register_runtime_handlers(
    registry: kopf.OperatorRegistry,
    settings: OperatorSettings,
    configuration: kubernetes.client.Configuration,
    served: Sequence[ServedKind],
    *,
    metrics: Metrics,
    context_factory: ContextFactory = default_context_factory,
) -> None:
    """Startup (builds memo.ctx), cleanup (closes it), login, the credentials-Secret watch, and with peering
    the kinds' per-object daemons. (Each kind's own handlers are registered by its module:
    runtime/handlers.py.)"""
    if settings.peering is not None:
        handlers.register_served_daemons(registry)

    @kopf.on.startup(id="operator-context", registry=registry)
    async def build_context(memo: kopf.Memo, **_: Any) -> None:
        kube = KubeApi(configuration)
        memo.ctx = context_factory(settings, kube, metrics)

    @kopf.on.cleanup(id="operator-context-close", registry=registry)
    async def close_context(memo: kopf.Memo, **_: Any) -> None:
        ctx = getattr(memo, "ctx", None)
        if isinstance(ctx, OperatorContext):
            await ctx.aclose()

    @kopf.on.login(id="kubeconfig-login", registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(configuration)

    if settings.watch_credential_secrets and served:
        credentials.register_secret_watch(
            registry, [kind.plural for kind in served], label_selector=settings.label_selector
        )


class KubeLoginRefused(RuntimeError):
    """kopf stopped because the API server refused every credential its login handler gave (HTTP 401)."""

    def __init__(self, status: int | None) -> None:
        super().__init__(f"the Kubernetes API server refused the login (HTTP {status or 'status unknown'})")
        self.status = status

    @classmethod
    def from_login_error(cls, exc: BaseException) -> KubeLoginRefused:
        """The API server's status from the chain under kopf's LoginError (its APIError carries `status`)."""
        seen: set[int] = set()
        cause: BaseException | None = exc
        while cause is not None and id(cause) not in seen:
            status = getattr(cause, "status", None)
            if isinstance(status, int):
                return cls(status)
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        return cls(None)

    def describe(self, host: str, source: str) -> str:
        # kopf's own text advises installing a client library or adding a login handler: both exist here,
        # what fails is the credential.
        if self.status == 401:
            return (
                f"the Kubernetes API server {host} refused the credentials of {source} (HTTP 401 "
                "Unauthorized): its token or client certificate is wrong or has expired"
            )
        return f"cannot log in to the Kubernetes API server {host} with the credentials of {source}"


class _DropLoginTraceback(logging.Filter):
    """kopf logs the traceback of the task that met the refusal before it stops; `main` says it in a line.
    That task's error is the one that carries the API server's status: the LoginError kopf stops with may
    be another task's, which only found the credentials used up (`status` keeps the first seen)."""

    status: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and isinstance(record.exc_info[1], kopf.LoginError)):
            return True
        self.status = self.status or KubeLoginRefused.from_login_error(record.exc_info[1]).status
        return False


def _ignore_unretrieved_login_errors(loop: asyncio.AbstractEventLoop) -> None:
    """kopf leaves the sibling tasks of the one that met the refusal unawaited, and asyncio would log each
    one's traceback ("Task exception was never retrieved") when it is collected, after `main`'s line."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), kopf.LoginError):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _reason(exc: OSError) -> str:
    """The system's own words for a failed bind (`Address already in use`): asyncio puts its own sentence,
    with the address again, in `strerror`; a name that does not resolve has its resolver's words there."""
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    return os.strerror(exc.errno) if exc.errno else str(exc)


class MetricsServerError(RuntimeError):
    """The metrics server cannot listen; `describe` names the flags or variables the values came from."""

    def __init__(self, address: str, port: int, exc: OSError) -> None:
        super().__init__(listen_failure(address, port, exc))
        self.address, self.port, self.exc = address, port, exc

    def describe(self, address_source: str, port_source: str) -> str:
        return listen_failure(
            self.address, self.port, self.exc, address_source=address_source, port_source=port_source
        )


_PORT_ERRORS: Final = (errno.EADDRINUSE, errno.EACCES)  # the port is taken or privileged
_ADDRESS_ERRORS: Final = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)  # not an address of this host


def listen_failure(
    address: str,
    port: int,
    exc: OSError,
    *,
    address_source: str = "--metrics-address",
    port_source: str = "--metrics-port",
) -> str:
    """Why the metrics server cannot listen, naming the flag (or variable) to change."""
    where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    reason = _reason(exc)
    if isinstance(exc, socket.gaierror) or exc.errno in _ADDRESS_ERRORS:
        return (
            f"{address_source} {address}: cannot listen on {where}: {reason} (choose an address of this "
            "host, e.g. 127.0.0.1, or 0.0.0.0 for all of them)"
        )
    if exc.errno in _PORT_ERRORS:
        return (
            f"{port_source} {port}: cannot listen on {where}: {reason} (choose another port, or 0 to turn "
            "the server off)"
        )
    return f"{address_source} {address} {port_source} {port}: cannot listen on {where}: {reason}"


class HealthServer:
    """/metrics (Prometheus), /healthz (the event loop answers) and /readyz (kopf is watching)."""

    def __init__(self, metrics: Metrics, address: str, port: int) -> None:
        self.metrics = metrics
        self.address = address
        self.port = port
        self.ready = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.address, self.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            raise MetricsServerError(self.address, self.port, exc) from None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.ready.is_set():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="starting\n")


async def run_operator(
    settings: OperatorSettings,
    *,
    registry: kopf.OperatorRegistry,
    served: Sequence[ServedKind],
    metrics: Metrics,
    stop_flag: asyncio.Event | None = None,
) -> None:
    """Run kopf until SIGTERM/SIGINT (or `stop_flag`, for tests), with the metrics server if a port is set."""
    early_signal = _stop_on_signals_until_kopf_takes_over()
    login_filter = _DropLoginTraceback()
    kopf_running.logger.addFilter(login_filter)
    server = None
    insights = Insights()
    ready_flag = asyncio.Event()
    announcer: asyncio.Task[None] | None = None
    try:
        if settings.metrics_port:
            server = HealthServer(metrics, settings.metrics_address, settings.metrics_port)
            await server.start()
        announcer = asyncio.create_task(
            _announce_when_watching(settings, served, ready_flag, insights, server)
        )
        # kopf installs its own SIGTERM/SIGINT handlers (graceful stop) as it starts. A stop_flag is only
        # for callers outside the main thread: kopf leaves a waiter on it pending for 5 s after a signal.
        peering_on = settings.peering is not None
        with peering.missing_object_warnings() if peering_on else contextlib.nullcontext():
            await kopf.operator(
                registry=registry,
                settings=build_kopf_settings(settings),
                clusterwide=not settings.namespaces,
                namespaces=kopf_namespace_patterns(settings.namespaces),
                memo=kopf.Memo(),
                insights=insights,
                ready_flag=ready_flag,
                stop_flag=stop_flag,
            )
    except kopf.LoginError as exc:
        # kopf raises it from its root tasks once the login handler's credentials were refused again
        _ignore_unretrieved_login_errors(asyncio.get_running_loop())
        refused = KubeLoginRefused.from_login_error(exc)
        raise (refused if refused.status else KubeLoginRefused(login_filter.status)) from None
    except asyncio.CancelledError:
        if not early_signal.is_set():
            raise
        logger.info("stopped by a signal during startup")
    finally:
        kopf_running.logger.removeFilter(login_filter)
        # a start that failed (the login refused, an error) says why in its own line instead; a stop by a
        # signal, before or after "operator started", says it stopped
        started = announcer is not None and announcer.done() and not announcer.cancelled()
        failed = sys.exc_info()[0] is not None and not isinstance(sys.exc_info()[1], asyncio.CancelledError)
        if announcer is not None:
            announcer.cancel()
        if server is not None:
            await server.stop()
        if started or not failed:
            logger.info("operator stopped")


def _stop_on_signals_until_kopf_takes_over() -> asyncio.Event:
    """A SIGTERM during startup, before kopf installs its own handlers, cancels the start cleanly."""
    received = asyncio.Event()
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        received.set()
        if task is not None:
            task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            break  # not the main thread (tests): the caller stops us with stop_flag
    return received


async def _announce_when_watching(
    settings: OperatorSettings,
    served: Sequence[ServedKind],
    ready_flag: asyncio.Event,
    insights: Insights,
    server: HealthServer | None,
) -> None:
    await ready_flag.wait()
    await insights.ready_namespaces.wait()
    await insights.ready_resources.wait()
    watched = {resource.plural for resource in insights.watched_resources}
    kinds = ", ".join(kind.kind for kind in served if kind.plural in watched) or "no kinds"
    missing = [kind.kind for kind in served if kind.plural not in watched]
    where = "all namespaces" if not settings.namespaces else "namespaces " + ",".join(settings.namespaces)
    if settings.label_selector is not None:
        where += f", labels {settings.label_selector}"
    if missing:
        logger.warning("not serving %s: its CustomResourceDefinition is not installed", ", ".join(missing))
    if server is not None:
        server.ready.set()
    logger.info("operator started: serving %s in %s", kinds, where)
    if settings.peering is not None:
        # a paused replica is started too: kopf logs its pauses and resumptions
        logger.info(
            "peering %s: priority %s, lifetime %ds",
            settings.peering,
            settings.peering_priority,
            settings.peering_lifetime.total_seconds(),
        )
