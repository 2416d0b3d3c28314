"""Prometheus metrics of the operator, served on `--metrics-port` at /metrics.

Every metric lives in the `Metrics` object's own registry (not prometheus_client's global one), so tests
and several operators in one process never share counters. Label values are never secrets and their number
is bounded by the cluster and the settings, never by what tenants or Azure choose: operation names, the
allow-list pattern that admitted a host (not the host: every tenant's custom domain would be a series), HTTP
statuses, kinds, namespaces, reasons and endpoint ids (which are not secrets).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PREFIX = "azure_speech_operator"


@dataclass(frozen=True)
class ResourceState:
    """What the gauges count for one resource."""

    ready: bool
    stalled: bool
    reconciling: bool = False


class _ResourceGauges(Collector):
    """Gauges computed at scrape time from the last state each handler reported."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            f"{_PREFIX}_resources",
            "Resources by kind and condition (Ready, Stalled, Reconciling are each True or False).",
            labels=["kind", "condition", "status"],
        )
        tally: Tally[tuple[str, str, str]] = Tally()
        kinds = {kind for kind, _, _ in self._metrics.resource_states}
        for (kind, _, _), state in self._metrics.resource_states.items():
            for condition, value in (
                ("Ready", state.ready),
                ("Stalled", state.stalled),
                ("Reconciling", state.reconciling),
            ):
                tally[(kind, condition, "True" if value else "False")] += 1
        for kind in sorted(kinds):
            for condition in ("Ready", "Stalled", "Reconciling"):
                for status in ("True", "False"):
                    gauge.add_metric([kind, condition, status], tally[(kind, condition, status)])
        yield gauge


class Metrics:
    """The operator's metrics. Also the Azure client's `RequestObserver`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.azure_requests = Counter(
            f"{_PREFIX}_azure_requests",
            "Azure requests by operation, method, host (the allow-list pattern that admitted the host) and "
            "HTTP status (or timeout / connection-error / too-large / invalid-response / throttled).",
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
        self.reconciles = Counter(
            f"{_PREFIX}_reconciles",
            "Reconcile passes by kind and outcome (ok, transient, waiting, blocked, fatal, not-found, error)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.orphaned_endpoints = Counter(
            f"{_PREFIX}_orphaned_endpoints",
            "Endpoints left in Azure that nobody chose to keep (alert on it): a deleted resource released "
            "without its credentials, or with an unreadable spec or reconcile-policy; not deletionPolicy "
            "Orphan, detach-on-delete or skip.",
            ["kind", "namespace", "endpoint_id"],
            registry=self.registry,
        )
        self.credential_triggers = Counter(
            f"{_PREFIX}_credential_secret_triggers",
            "Resources given a new pass because a labelled credentials Secret changed, by resource plural.",
            ["resource"],
            registry=self.registry,
        )
        self.resource_states: dict[tuple[str, str, str], ResourceState] = {}
        self.registry.register(_ResourceGauges(self))

    # The Azure client's RequestObserver protocol.
    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None:
        self.azure_requests.labels(operation, method, host, str(status)).inc()
        self.azure_request_seconds.labels(operation).observe(max(seconds, 0.0))

    def reconciled(self, kind: str, outcome: str) -> None:
        self.reconciles.labels(kind, outcome).inc()

    def set_resource_state(self, kind: str, namespace: str, name: str, state: ResourceState) -> None:
        self.resource_states[(kind, namespace, name)] = state

    def forget_resource(self, kind: str, namespace: str, name: str) -> None:
        self.resource_states.pop((kind, namespace, name), None)

    def orphaned(self, kind: str, namespace: str, endpoint_id: str) -> None:
        self.orphaned_endpoints.labels(kind, namespace, endpoint_id).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
