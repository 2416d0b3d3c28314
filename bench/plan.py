"""What a convergence run is, before anything starts: its options, the time scale that makes a deployment take
D seconds, the operator's settings scaled alike, the manifests, and the ideal time the run is measured
against. Pure: no processes, no I/O."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from azure_speech_operator.settings import OperatorSettings, format_duration
from azure_speech_operator.simulator.config import Durations, RateLimit
from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT, VOICE_MODEL, VOICE_PROJECT

KindName = Literal["speech", "voice"]
# Where the run's clock starts: at the apply (the operator already running), or with --apply-first at the
# operator's start (the N objects applied before it).
MeasuredFrom = Literal["apply", "operator start"]
GROUP = "speech.azure-operator.io"
VERSION = "v1alpha1"
KINDS: dict[KindName, tuple[str, str]] = {  # kind, plural
    "speech": ("SpeechEndpoint", "speechendpoints"),
    "voice": ("VoiceEndpoint", "voiceendpoints"),
}
# Azure allows 50 custom speech deployments (and 50 voice endpoints) per Speech resource.
PER_RESOURCE = 50
# The fewest Azure calls one endpoint needs: its create, and one read once it is deployed.
MIN_CALLS = 2
CREDENTIALS_SECRET = "speech-credentials"

# The operator's durations that stand for Azure's time and are scaled like a deployment. Network timeouts and
# the request budget are not: they are real seconds, like the simulator's rate limit.
SCALED_SETTINGS = (
    "deploy_poll_interval",
    "waiting_retry_min",
    "waiting_retry_max",
    "transient_backoff_cap",
    "blocked_retry_base",
    "blocked_retry_cap",
    "credentials_retry_interval",
    "deletion_credentials_wait",
    "drift_interval",
    "model_check_interval",
    "voice_swap_grace_period",
)


@dataclass(frozen=True)
class Budget:
    """`requests` per sliding window of `seconds`."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Budget:
        limit = RateLimit.parse(text)
        if limit.requests == 0:
            raise ValueError("a budget needs requests > 0")
        return cls(limit.requests, limit.seconds)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def __str__(self) -> str:
        return f"{self.requests}/{self.seconds:g}"


@dataclass(frozen=True)
class Options:
    kind: KindName
    n: int
    deploy_seconds: float
    resources: int
    rate_limit: Budget | None  # the simulator's, per Speech resource; None: off
    budget: Budget  # the operator's, per Speech resource (its --azure-budget-*)
    quiet_seconds: float
    drift_interval: timedelta | None  # None: the operator's default, scaled
    timeout: float
    json_only: bool
    workdir: str | None
    skip_restart: bool
    extra_operator_args: tuple[str, ...] = ()
    floor: bool = False  # kopf's floor (bench/floor_operator.py) instead of the operator, until handled
    apply_first: bool = False  # the N objects applied before the operator starts; measured from its start

    @property
    def until(self) -> str:
        """What the run waits for on every object."""
        return "handled" if self.floor else "Ready"

    @property
    def measured_from(self) -> MeasuredFrom:
        return "operator start" if self.apply_first else "apply"

    @property
    def time_scale(self) -> float:
        """The simulator's --time-scale: a deployment (queue + running) takes deploy_seconds."""
        return self.deploy_seconds / unscaled_deploy_seconds(self.kind)

    @property
    def effective_budget(self) -> Budget:
        """The tighter of the operator's budget and the simulator's limit: what paces the calls."""
        if self.rate_limit is None or self.budget.rate <= self.rate_limit.rate:
            return self.budget
        return self.rate_limit


def unscaled_deploy_seconds(kind: KindName) -> float:
    """A first deployment in the simulator before scaling: its queue plus its running time."""
    durations = Durations()
    if kind == "speech":
        return durations.speech_queue + durations.speech_deploy
    return durations.voice_queue + durations.voice_deploy


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.converge",
        description="N endpoints applied at once on the real control plane, the simulator and the operator: "
        "time to all Ready against the ideal, Azure calls, Kubernetes writes, the operator's CPU and memory, "
        "then a quiet interval and a restart. See bench/README.md.",
    )
    p.add_argument("--kind", choices=sorted(KINDS), required=True)
    p.add_argument("--n", type=_positive_int, required=True, help="resources applied at once")
    p.add_argument(
        "--deploy-seconds", type=_positive_float, required=True, help="how long one deployment takes (D)"
    )
    p.add_argument(
        "--resources",
        type=_positive_int,
        help=f"simulated Speech resources (default ceil(N/{PER_RESOURCE}), {PER_RESOURCE} deployments each)",
    )
    p.add_argument(
        "--rate-limit",
        type=_budget_or_off,
        default=None,
        help="the simulator's N/S per resource (default off)",
    )
    p.add_argument(
        "--budget",
        type=Budget.parse,
        default=None,
        help="the operator's Azure budget N/S per resource (default its own, 90/10)",
    )
    p.add_argument(
        "--quiet-seconds",
        type=_positive_float,
        default=60.0,
        help="length of the quiet interval and of the interval after the restart (default 60)",
    )
    p.add_argument(
        "--drift-interval",
        type=_duration,
        default=None,
        help="the operator's --drift-interval (default its 1h, scaled like the deployment)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        help="give up waiting for Ready after this (default 20 x D + 120 s)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON line only, no table")
    p.add_argument("--workdir", help="keep logs here (default: a temporary directory, removed)")
    p.add_argument("--skip-restart", action="store_true", help="no operator restart at the end")
    p.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for the operator (repeatable): --operator-arg=--log-level=debug",
    )
    p.add_argument(
        "--floor",
        action="store_true",
        help="kopf's floor: instead of the operator, a kopf operator whose only handler (on create) does "
        "nothing, measured until kopf has handled every object; no simulator, quiet interval or restart",
    )
    p.add_argument(
        "--apply-first",
        action="store_true",
        help="apply the N resources before the operator starts, and measure from its start (the operator's "
        "own convergence, without the apply competing with it for the machine)",
    )
    return p


def parse_options(argv: Sequence[str] | None = None) -> Options:
    p = parser()
    args = p.parse_args(argv)
    needed = math.ceil(args.n / PER_RESOURCE)
    resources = args.resources if args.resources is not None else needed
    if resources < needed:
        p.error(
            f"--resources: {resources} Speech resources hold at most {resources * PER_RESOURCE} "
            f"deployments; --n {args.n} needs at least {needed}"
        )
    if args.floor:
        for flag, given in (("--rate-limit", args.rate_limit), ("--operator-arg", args.operator_arg)):
            if given:
                p.error(f"{flag}: not with --floor (the floor runs neither the simulator nor the operator)")
    default_budget = OperatorSettings()
    budget = args.budget or Budget(
        default_budget.azure_budget_requests, default_budget.azure_budget_window.total_seconds()
    )
    return Options(
        kind=args.kind,
        n=args.n,
        deploy_seconds=args.deploy_seconds,
        resources=resources,
        rate_limit=args.rate_limit,
        budget=budget,
        quiet_seconds=args.quiet_seconds,
        drift_interval=args.drift_interval,
        timeout=args.timeout if args.timeout is not None else 20 * args.deploy_seconds + 120,
        json_only=args.json,
        workdir=args.workdir,
        skip_restart=args.skip_restart or args.floor,
        extra_operator_args=tuple(args.operator_arg),
        floor=args.floor,
        apply_first=args.apply_first,
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _budget_or_off(text: str) -> Budget | None:
    try:
        limit = RateLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return None if limit.requests == 0 else Budget(limit.requests, limit.seconds)


def _duration(text: str) -> timedelta:
    from azure_speech_operator.settings import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- the operator's settings ---------------------------------------------------------------------------


def scaled_settings(options: Options) -> dict[str, timedelta]:
    """Each of SCALED_SETTINGS at its default times the time scale (the drift interval as asked, if asked)."""
    defaults = OperatorSettings()
    scaled = {field: getattr(defaults, field) * options.time_scale for field in SCALED_SETTINGS}
    if options.drift_interval is not None:
        scaled["drift_interval"] = options.drift_interval
    return scaled


def operator_args(options: Options) -> list[str]:
    """The flags the bench adds to `azure-speech-operator run`."""
    args: list[str] = []
    for field, value in scaled_settings(options).items():
        args += ["--" + field.replace("_", "-"), f"{value.total_seconds():.3f}s"]
    return [
        *args,
        "--azure-budget-requests",
        str(options.budget.requests),
        "--azure-budget-window",
        f"{options.budget.seconds:g}s",
        *options.extra_operator_args,
    ]


def describe_scaling(options: Options) -> list[tuple[str, str]]:
    """(setting, "default -> scaled") for the report."""
    defaults = OperatorSettings()
    return [
        (
            field.replace("_", "-"),
            f"{format_duration(getattr(defaults, field))} -> {value.total_seconds():g}s",
        )
        for field, value in scaled_settings(options).items()
    ]


# --- the simulated Azure and the manifests ---------------------------------------------------------------


def resource_key(index: int) -> str:
    return f"bench-key-{index:04d}"


def resource_name(index: int) -> str:
    """The simulator's name of Speech resource `index` (the first is its `default` resource)."""
    return "default" if index == 0 else f"r{index:04d}"


def namespace(index: int) -> str:
    """One namespace per Speech resource, as one team per resource would have it."""
    return f"bench-{index:04d}"


def simulator_args(options: Options) -> list[str]:
    """The simulator's flags besides --keys (the first resource's key) and --time-scale."""
    args: list[str] = []
    for index in range(1, options.resources):
        args += ["--resource", f"{resource_name(index)}={resource_key(index)}"]
    return [*args, "--rate-limit", str(options.rate_limit) if options.rate_limit else "0"]


def placement(n: int, resources: int) -> list[int]:
    """The Speech resource of each of the n endpoints: contiguous, as even as can be."""
    return [i * resources // n for i in range(n)]


def setup_manifests(options: Options) -> list[dict[str, Any]]:
    """The namespaces and credentials Secrets, one of each per Speech resource."""
    docs: list[dict[str, Any]] = []
    for index in range(options.resources):
        ns = namespace(index)
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": CREDENTIALS_SECRET, "namespace": ns},
                "type": "Opaque",
                "stringData": {"key": resource_key(index)},
            }
        )
    return docs


def endpoint_manifests(options: Options, simulator_url: str) -> list[dict[str, Any]]:
    """The n custom resources, spread over the Speech resources' namespaces."""
    kind, _ = KINDS[options.kind]
    azure = {
        "endpoint": simulator_url,
        "credentials": {"secretRef": {"name": CREDENTIALS_SECRET, "key": "key"}},
    }
    if options.kind == "speech":
        body: dict[str, Any] = {"locale": "en-US", "model": {"baseModelId": BASE_EN_US_CURRENT}}
    else:
        body = {"projectId": VOICE_PROJECT, "modelId": VOICE_MODEL}
    return [
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": f"{options.kind}-{i:05d}", "namespace": namespace(index)},
            "spec": {"azure": azure, **body},
        }
        for i, index in enumerate(placement(options.n, options.resources))
    ]


# --- the ideal ------------------------------------------------------------------------------------------


def budget_bound(endpoints: int, deploy_seconds: float, budget: Budget, calls: int = MIN_CALLS) -> float:
    """The earliest time the last of `endpoints` endpoints of one Speech resource can be seen Ready when every
    call goes through `budget`: each endpoint needs its create, then (calls - 1) reads once its deployment
    (deploy_seconds) is done. Greedy schedule, creates first: a create never waits behind a read, and each
    read goes out as soon as both its endpoint and the sliding window allow. With a budget that does not
    bind, this is deploy_seconds."""
    sent: list[float] = []

    def send(at: float) -> float:
        if len(sent) >= budget.requests:
            at = max(at, sent[-budget.requests] + budget.seconds)
        sent.append(at)
        return at

    created = [send(0.0) for _ in range(endpoints)]
    last = 0.0
    for start in created:
        at = start + deploy_seconds
        for _ in range(calls - 1):
            at = send(at)
        last = max(last, at)
    return last


def ideal_seconds(options: Options) -> float:
    """D, or the bound the request budget sets on the fullest Speech resource when that is longer."""
    fullest = max(placement(options.n, options.resources).count(i) for i in range(options.resources))
    return max(
        options.deploy_seconds, budget_bound(fullest, options.deploy_seconds, options.effective_budget)
    )
