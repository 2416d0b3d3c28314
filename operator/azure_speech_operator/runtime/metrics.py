"""Prometheus metrics of the operator, served on `--metrics-port` at /metrics.

Every metric lives in the `Metrics` object's own registry (not prometheus_client's global one), so tests
and several operators in one process never share counters. Label values are never secrets and their number
is bounded by the code and the settings, never by the cluster's or Azure's contents: operation names, the
allow-list pattern that admitted a host (not the host: every tenant's custom domain would be a series), HTTP
statuses, kinds, outcomes, conditions and buckets. No namespace, name or endpoint id: the events and log
lines name those.

The handlers report each resource's state after every pass (`set_resource_state`, with a `ResourceState`
read from the status the pass wrote: `state_of`); the gauges and the suspended-seconds counter are computed
from those states when Prometheus scrapes.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from azure_speech_operator.conditions import READY, RECONCILING, STALLED, SUSPENDED, is_true
from azure_speech_operator.reconcile import expiring_model, parse_time

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PREFIX = "azure_speech_operator"

CONDITIONS = (READY, STALLED, RECONCILING, SUSPENDED)
# Model expiry buckets, by the time left until the deployed model stops transcribing.
EXPIRY_BUCKETS = (("expired", timedelta(0)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
EXPIRY_LATER, EXPIRY_NO_DATE, EXPIRY_UNKNOWN = "later", "no-date", "unknown"
# Azure deploys in minutes; a VoiceEndpoint may take longer.
READY_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600)


@dataclass(frozen=True)
class ModelExpiry:
    """The deployed model's transcription end date as the status holds it (`status.model`)."""

    expires_at: datetime | None
    checked: bool  # the model was read: no `expires_at` then means Azure gives no end date

    def bucket(self, now: datetime) -> str:
        if self.expires_at is None:
            return EXPIRY_NO_DATE if self.checked else EXPIRY_UNKNOWN
        left = self.expires_at - now
        return next((name for name, limit in EXPIRY_BUCKETS if left <= limit), EXPIRY_LATER)


@dataclass(frozen=True)
class ResourceState:
    """What the metrics count for one resource after a pass."""

    ready: bool
    stalled: bool
    reconciling: bool = False
    suspended: bool | None = None  # None: the kind has no Suspended condition
    uid: str = ""
    created: datetime | None = None  # metadata.creationTimestamp
    turned_ready: bool = False  # the pass found it not Ready and left it Ready
    model: ModelExpiry | None = None  # None: no deployed model (or a kind without model expiry)

    def condition(self, type_: str) -> bool | None:
        """Whether the condition is True; None when the kind has no such condition."""
        if type_ == SUSPENDED:
            return self.suspended
        return {READY: self.ready, STALLED: self.stalled, RECONCILING: self.reconciling}[type_]


def state_of(
    metadata: Mapping[str, Any], previous: Mapping[str, Any], status: Mapping[str, Any]
) -> ResourceState:
    """The state of a resource from its metadata, the status a pass started from and the one it left."""
    conditions = status.get("conditions") or []
    has_suspended = any(condition.get("type") == SUSPENDED for condition in conditions)
    model = expiring_model(status)  # as the ModelExpiring / ModelExpired conditions say
    ready = is_true(conditions, READY)
    return ResourceState(
        ready=ready,
        stalled=is_true(conditions, STALLED),
        reconciling=is_true(conditions, RECONCILING),
        suspended=is_true(conditions, SUSPENDED) if has_suspended else None,
        uid=str(metadata.get("uid") or ""),
        created=parse_time(metadata.get("creationTimestamp")),
        turned_ready=ready and not is_true(previous.get("conditions"), READY),
        model=(
            ModelExpiry(parse_time(model.get("transcriptionExpiresAt")), bool(model.get("checkedAt")))
            if isinstance(model, Mapping) and model.get("id")
            else None
        ),
    )


@dataclass
class _Tracked:
    """What the metrics remember of one resource between passes."""

    state: ResourceState
    seen_ready: bool  # this process saw it Ready: a later Ready is not its first
    suspended_since: float | None  # the monotonic time of the pass that found it suspended


Key = tuple[str, str, str]  # kind, namespace, name: never a label, only the memory's key


class _Collector(Collector):
    """The gauges and the suspended-seconds counter, computed at scrape time from the reported states."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        tracked = self._metrics.tracked
        kinds = sorted({kind for kind, _, _ in tracked})
        yield self._resources(kinds)
        yield self._model_expiry()
        yield self._suspended_seconds(kinds)

    def _resources(self, kinds: list[str]) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            f"{_PREFIX}_resources",
            "Resources by kind and condition (Ready, Stalled, Reconciling; Suspended for kinds that have "
            "it), each True or False.",
            labels=["kind", "condition", "status"],
        )
        tally: Tally[tuple[str, str, bool]] = Tally()
        for (kind, _, _), entry in self._metrics.tracked.items():
            for type_ in CONDITIONS:
                value = entry.state.condition(type_)
                if value is not None:
                    tally[(kind, type_, value)] += 1
        for kind in kinds:
            for type_ in CONDITIONS:
                if type_ == SUSPENDED and not (tally[(kind, type_, True)] or tally[(kind, type_, False)]):
                    continue  # this kind has no Suspended condition
                for value in (True, False):
                    gauge.add_metric([kind, type_, str(value)], tally[(kind, type_, value)])
        return gauge

    def _model_expiry(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            f"{_PREFIX}_model_expiry",
            "Resources with a deployed model by kind and the time left until the model stops transcribing: "
            "expired, 7d (under 7 days), 30d (7 to 30 days), later, no-date (Azure gives none), unknown "
            "(not read yet).",
            labels=["kind", "bucket"],
        )
        now = self._metrics.wall_clock()
        tally: Tally[tuple[str, str]] = Tally()
        for (kind, _, _), entry in self._metrics.tracked.items():
            if entry.state.model is not None:
                tally[(kind, entry.state.model.bucket(now))] += 1
        buckets = [name for name, _ in EXPIRY_BUCKETS] + [EXPIRY_LATER, EXPIRY_NO_DATE, EXPIRY_UNKNOWN]
        for kind in sorted({kind for kind, _ in tally}):
            for bucket in buckets:
                gauge.add_metric([kind, bucket], tally[(kind, bucket)])
        return gauge

    def _suspended_seconds(self, kinds: list[str]) -> CounterMetricFamily:
        counter = CounterMetricFamily(
            f"{_PREFIX}_suspended_seconds",
            "Seconds resources were suspended (Suspended condition True: disabled in Azure, which bills "
            "nothing meanwhile), summed over the resources of a kind, from the pass that found each one "
            "suspended to the pass that found it otherwise (or now).",
            labels=["kind"],
        )
        now = self._metrics.clock()
        totals = dict(self._metrics.suspended_closed)
        for (kind, _, _), entry in self._metrics.tracked.items():
            if entry.suspended_since is not None:
                totals[kind] = totals.get(kind, 0.0) + max(now - entry.suspended_since, 0.0)
        for kind in sorted(totals):
            counter.add_metric([kind], totals[kind])
        return counter


class Metrics:
    """The operator's metrics. Also the Azure client's `RequestObserver`. `clock` (monotonic seconds) times
    suspensions; `wall_clock` (UTC) dates readiness and model expiry; tests inject both."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.clock = clock
        self.wall_clock = wall_clock
        self.azure_requests = Counter(
            f"{_PREFIX}_azure_requests",
            "Azure requests by operation, method, host (the allow-list pattern that admitted the host) and "
            "HTTP status (or timeout / connection-error / too-large / invalid-response / throttled). The "
            "client never retries on its own: status 429 counts every 429 Azure sent.",
            ["operation", "method", "host", "status"],
            registry=self.registry,
        )
        self.azure_request_seconds = Histogram(
            f"{_PREFIX}_azure_request_seconds",
            "Time on the wire of Azure requests (not the wait for the request budget).",
            ["operation"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.azure_budget_wait_seconds = Histogram(
            f"{_PREFIX}_azure_budget_wait_seconds",
            "Azure requests the client's request budget (per Speech resource and credential) held back, and "
            "for how long, by operation: a full window, a pause after a 429, or waiters ahead.",
            ["operation"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.reconciles = Counter(
            f"{_PREFIX}_reconciles",
            "Reconcile passes by kind and outcome: done, retry (comes back soon: a deployment in flight), "
            "released (deletion finished); errors: transient, waiting, blocked, fatal, not-found, policy "
            "(the pass left status.error of that class; policy: a reconcile-policy holds the writes), error "
            "(a class the operator does not know, from a status edited by hand), kubernetes-error (reading "
            "or writing the resource failed), exception (a bug: see the log).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.time_to_ready = Histogram(
            f"{_PREFIX}_time_to_ready_seconds",
            "From a resource's creation to its first Ready, by kind: observed once per resource when this "
            "process sees it turn Ready (not for resources already Ready when it started).",
            ["kind"],
            buckets=READY_BUCKETS,
            registry=self.registry,
        )
        self.orphaned_endpoints = Counter(
            f"{_PREFIX}_orphaned_endpoints",
            "Endpoints left in Azure that nobody chose to keep (alert on it): a deleted resource released "
            "without its credentials, or with an unreadable spec or reconcile-policy; not deletionPolicy "
            "Orphan, detach-on-delete or skip. The OrphanedEndpoint event and the log name the endpoint.",
            ["kind"],
            registry=self.registry,
        )
        self.credential_triggers = Counter(
            f"{_PREFIX}_credential_secret_triggers",
            "Resources given a new pass because a labelled credentials Secret changed, by resource plural.",
            ["resource"],
            registry=self.registry,
        )
        self.tracked: dict[Key, _Tracked] = {}
        self.suspended_closed: dict[str, float] = {}  # by kind: suspensions already ended or forgotten
        self.registry.register(_Collector(self))

    # The Azure client's RequestObserver protocol.
    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None:
        self.azure_requests.labels(operation, method, host, str(status)).inc()
        if status != "throttled":  # never sent (the budget is paused after a 429): no time on the wire
            self.azure_request_seconds.labels(operation).observe(max(seconds, 0.0))

    def budget_waited(self, operation: str, seconds: float) -> None:
        self.azure_budget_wait_seconds.labels(operation).observe(max(seconds, 0.0))

    def reconciled(self, kind: str, outcome: str) -> None:
        self.reconciles.labels(kind, outcome).inc()

    def set_resource_state(self, kind: str, namespace: str, name: str, state: ResourceState) -> None:
        key = (kind, namespace, name)
        now = self.clock()
        before = self.tracked.get(key)
        if before is not None and before.state.uid != state.uid:  # deleted and created again meanwhile
            self.forget_resource(kind, namespace, name)
            before = None
        self._close_suspension(kind, before, now)
        if state.turned_ready and not (before and before.seen_ready) and state.created is not None:
            age = (self.wall_clock() - state.created).total_seconds()
            self.time_to_ready.labels(kind).observe(max(age, 0.0))
        self.tracked[key] = _Tracked(
            state,
            seen_ready=state.ready or bool(before and before.seen_ready),
            suspended_since=now if state.suspended else None,
        )

    def forget_resource(self, kind: str, namespace: str, name: str) -> None:
        self._close_suspension(kind, self.tracked.pop((kind, namespace, name), None), self.clock())

    def _close_suspension(self, kind: str, entry: _Tracked | None, now: float) -> None:
        if entry is not None and entry.suspended_since is not None:
            seconds = max(now - entry.suspended_since, 0.0)
            self.suspended_closed[kind] = self.suspended_closed.get(kind, 0.0) + seconds
            entry.suspended_since = None

    @property
    def resource_states(self) -> dict[Key, ResourceState]:
        return {key: entry.state for key, entry in self.tracked.items()}

    def orphaned(self, kind: str, endpoints: int = 1) -> None:
        self.orphaned_endpoints.labels(kind).inc(endpoints)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
