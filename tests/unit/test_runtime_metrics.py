import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure_speech_operator.azure.types import ErrorClass
from azure_speech_operator.reconcile import POLICY_CLASS, Outcome, Retry
from azure_speech_operator.runner import HealthServer
from azure_speech_operator.runtime.handlers import pass_outcome
from azure_speech_operator.runtime.metrics import Metrics, ModelExpiry, ResourceState, state_of
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.runtime_fakes import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
# Every label the operator's metrics may carry: none of them can hold a namespace, a name or an id.
BOUNDED_LABELS = {
    "operation",
    "method",
    "host",
    "status",
    "kind",
    "outcome",
    "condition",
    "bucket",
    "resource",
}


class Clocks:
    """The monotonic and the wall clock of a `Metrics`, moved together by the test."""

    def __init__(self) -> None:
        self.seconds = 5000.0

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return NOW + timedelta(seconds=self.seconds - 5000.0)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def samples(metrics: Metrics) -> Samples:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((f"azure_speech_operator_{name}", tuple(sorted(labels.items()))), 0.0)


def test_observer_counts_and_times_azure_requests() -> None:
    metrics = Metrics()
    metrics.observe("Endpoints_Get", "GET", "westeurope.api.cognitive.microsoft.com", 200, 0.2)
    metrics.observe("Endpoints_Get", "GET", "westeurope.api.cognitive.microsoft.com", 200, 0.3)
    metrics.observe("Endpoints_Create", "POST", "westeurope.api.cognitive.microsoft.com", "timeout", 30.0)
    got = samples(metrics)
    host = ("host", "westeurope.api.cognitive.microsoft.com")
    get = (host, ("method", "GET"), ("operation", "Endpoints_Get"), ("status", "200"))
    assert got[("azure_speech_operator_azure_requests_total", get)] == 2
    timeout = (host, ("method", "POST"), ("operation", "Endpoints_Create"), ("status", "timeout"))
    assert got[("azure_speech_operator_azure_requests_total", timeout)] == 1
    assert got[("azure_speech_operator_azure_request_seconds_count", (("operation", "Endpoints_Get"),))] == 2
    assert got[("azure_speech_operator_azure_request_seconds_sum", (("operation", "Endpoints_Get"),))] == 0.5


def test_a_request_never_sent_is_counted_but_not_timed() -> None:
    # held back while the budget is paused after a 429: no time on the wire to pull the latency down
    metrics = Metrics()
    metrics.observe("Endpoints_Get", "GET", "westeurope.api.cognitive.microsoft.com", "throttled", 0.0)
    assert (
        value(
            metrics,
            "azure_requests_total",
            host="westeurope.api.cognitive.microsoft.com",
            method="GET",
            operation="Endpoints_Get",
            status="throttled",
        )
        == 1
    )
    assert value(metrics, "azure_request_seconds_count", operation="Endpoints_Get") == 0


def test_budget_waits_are_counted_and_summed_by_operation() -> None:
    metrics = Metrics()
    metrics.budget_waited("Endpoints_Get", 1.5)
    metrics.budget_waited("Endpoints_Get", 0.5)
    metrics.budget_waited("Endpoints_Create", 4.0)
    assert value(metrics, "azure_budget_wait_seconds_count", operation="Endpoints_Get") == 2
    assert value(metrics, "azure_budget_wait_seconds_sum", operation="Endpoints_Get") == 2.0
    assert value(metrics, "azure_budget_wait_seconds_sum", operation="Endpoints_Create") == 4.0


def test_resource_gauges_follow_reported_states() -> None:
    metrics = Metrics()
    metrics.set_resource_state("SpeechEndpoint", "a", "x", ResourceState(ready=True, stalled=False))
    metrics.set_resource_state("SpeechEndpoint", "a", "y", ResourceState(ready=False, stalled=True))
    metrics.set_resource_state(
        "SpeechEndpoint", "b", "z", ResourceState(ready=False, stalled=False, reconciling=True)
    )
    metrics.set_resource_state("SpeechEndpoint", "a", "y", ResourceState(ready=True, stalled=False))  # fixed
    metrics.forget_resource("SpeechEndpoint", "b", "z")
    metrics.set_resource_state("VoiceEndpoint", "a", "v", ResourceState(True, False, suspended=True))
    metrics.set_resource_state("VoiceEndpoint", "a", "w", ResourceState(True, False, suspended=False))

    def gauge(kind: str, condition: str, status: str) -> float:
        return value(metrics, "resources", kind=kind, condition=condition, status=status)

    speech = "SpeechEndpoint"
    assert (gauge(speech, "Ready", "True"), gauge(speech, "Ready", "False")) == (2, 0)
    assert (gauge(speech, "Stalled", "True"), gauge(speech, "Reconciling", "True")) == (0, 0)
    assert (gauge("VoiceEndpoint", "Suspended", "True"), gauge("VoiceEndpoint", "Suspended", "False")) == (
        1,
        1,
    )
    # SpeechEndpoint has no Suspended condition: no series claims its resources are running
    assert not any(
        dict(labels).get("kind") == speech and dict(labels).get("condition") == "Suspended"
        for _, labels in samples(metrics)
    )


def test_label_values_are_bounded_whatever_the_resources_are_called() -> None:
    metrics = Metrics()
    for n in range(50):
        state = state_of(
            {"uid": f"uid-{n}", "creationTimestamp": "2026-11-21T06:00:00Z"},
            {},
            {"conditions": [{"type": "Ready", "status": "True"}], "model": {"id": f"model-{n}"}},
        )
        metrics.set_resource_state("SpeechEndpoint", f"team-{n}", f"endpoint-{n}", state)
    metrics.orphaned("SpeechEndpoint")
    metrics.reconciled("SpeechEndpoint", "fatal")
    got = samples(metrics)
    label_names = {name for _, labels in got for name, _ in labels}
    assert label_names <= BOUNDED_LABELS | {"le"}
    values = {v for _, labels in got for _, v in labels}
    assert not any(part in v for v in values for part in ("team-", "endpoint-", "uid-", "model-"))
    assert len(got) < 100  # 50 resources do not make 50 series of anything


def test_time_to_ready_is_observed_once_per_resource_on_a_transition_this_process_saw() -> None:
    clocks = Clocks()
    metrics = Metrics(clock=clocks.monotonic, wall_clock=clocks.wall)
    created = NOW - timedelta(seconds=100)

    def report(name: str, ready: bool, *, turned: bool = False, uid: str = "u1") -> None:
        state = ResourceState(ready, False, uid=uid, created=created, turned_ready=turned)
        metrics.set_resource_state("SpeechEndpoint", "a", name, state)

    def observed() -> tuple[float, float]:
        count = value(metrics, "time_to_ready_seconds_count", kind="SpeechEndpoint")
        return count, value(metrics, "time_to_ready_seconds_sum", kind="SpeechEndpoint")

    report("old", True)  # already Ready when this process started: not a transition
    report("old", False)  # redeploying ...
    report("old", True, turned=True)  # ... and Ready again: not its first Ready
    assert observed() == (0, 0)

    report("new", False)
    clocks.advance(20)
    report("new", True, turned=True)
    assert observed() == (1, 120)
    report("new", True)
    report("new", False)
    report("new", True, turned=True)
    assert observed() == (1, 120)

    # Deleted and created again under the same name: a new resource, a new first Ready
    report("new", True, turned=True, uid="u2")
    assert observed() == (2, 240)


def test_suspended_seconds_accumulate_between_passes_and_up_to_the_scrape() -> None:
    clocks = Clocks()
    metrics = Metrics(clock=clocks.monotonic, wall_clock=clocks.wall)

    def report(name: str, suspended: bool) -> None:
        metrics.set_resource_state(
            "VoiceEndpoint", "a", name, ResourceState(True, False, suspended=suspended)
        )

    def suspended_seconds() -> float:
        return value(metrics, "suspended_seconds_total", kind="VoiceEndpoint")

    report("night", True)
    report("day", False)
    clocks.advance(100)
    assert suspended_seconds() == 100  # still suspended: counted up to now
    report("night", True)  # a drift check: still suspended
    clocks.advance(50)
    report("night", False)  # resumed
    clocks.advance(1000)
    assert suspended_seconds() == 150
    report("day", True)
    clocks.advance(30)
    metrics.forget_resource("VoiceEndpoint", "a", "day")  # deleted while suspended
    clocks.advance(1000)
    assert suspended_seconds() == 180


@pytest.mark.parametrize(
    ("model", "bucket"),
    [
        (ModelExpiry(NOW - timedelta(days=1), checked=True), "expired"),
        (ModelExpiry(NOW + timedelta(days=3), checked=True), "7d"),
        (ModelExpiry(NOW + timedelta(days=7), checked=True), "7d"),
        (ModelExpiry(NOW + timedelta(days=20), checked=True), "30d"),
        (ModelExpiry(NOW + timedelta(days=200), checked=True), "later"),
        (ModelExpiry(None, checked=True), "no-date"),
        (ModelExpiry(None, checked=False), "unknown"),
    ],
)
def test_model_expiry_buckets(model: ModelExpiry, bucket: str) -> None:
    assert model.bucket(NOW) == bucket


def test_model_expiry_gauge_counts_resources_by_bucket_at_scrape_time() -> None:
    clocks = Clocks()
    metrics = Metrics(clock=clocks.monotonic, wall_clock=clocks.wall)
    soon = ModelExpiry(NOW + timedelta(days=10), checked=True)
    metrics.set_resource_state("SpeechEndpoint", "a", "x", ResourceState(True, False, model=soon))
    metrics.set_resource_state("SpeechEndpoint", "a", "y", ResourceState(True, False, model=soon))
    metrics.set_resource_state("SpeechEndpoint", "a", "z", ResourceState(False, False))  # no model yet
    assert value(metrics, "model_expiry", kind="SpeechEndpoint", bucket="30d") == 2
    clocks.advance(timedelta(days=5).total_seconds())  # no pass meanwhile: the bucket moves with time
    got = {b: value(metrics, "model_expiry", kind="SpeechEndpoint", bucket=b) for b in ("7d", "30d", "later")}
    assert got == {"7d": 2, "30d": 0, "later": 0}


def conditions(**statuses: str) -> list[dict[str, Any]]:
    return [{"type": type_, "status": status} for type_, status in statuses.items()]


def test_state_of_reads_the_status_a_pass_wrote() -> None:
    metadata = {"uid": "u1", "creationTimestamp": "2026-11-21T06:58:00Z"}
    speech = {
        "conditions": conditions(Ready="True", Reconciling="False", Stalled="False"),
        "model": {
            "id": "m",
            "transcriptionExpiresAt": "2027-01-15T00:00:00Z",
            "checkedAt": "2026-11-21T07:00:00Z",
        },
    }
    state = state_of(metadata, {"conditions": conditions(Ready="False")}, speech)
    assert state == ResourceState(
        ready=True,
        stalled=False,
        reconciling=False,
        suspended=None,
        uid="u1",
        created=datetime(2026, 11, 21, 6, 58, tzinfo=UTC),
        turned_ready=True,
        model=ModelExpiry(datetime(2027, 1, 15, tzinfo=UTC), checked=True),
    )
    assert not state_of(metadata, speech, speech).turned_ready  # Ready before the pass too

    voice = {"conditions": conditions(Ready="True", Stalled="False", Suspended="True")}
    state = state_of(metadata, voice, voice)
    assert state.suspended is True and state.model is None


def test_the_model_expiry_is_the_serving_models_during_a_redeploy() -> None:
    # as ModelExpiring / ModelExpired say: an alert on the 7d bucket must not miss the model still answering
    metadata = {"uid": "u1", "creationTimestamp": "2026-11-21T06:58:00Z"}
    redeploying = {
        "conditions": conditions(Ready="False", Reconciling="True", Stalled="False"),
        "model": {
            "id": "new",
            "transcriptionExpiresAt": "2027-12-26T00:00:00Z",
            "checkedAt": "2026-11-21T07:00:00Z",
        },
        "servingModel": {
            "id": "old",
            "transcriptionExpiresAt": "2026-12-01T00:00:00Z",
            "checkedAt": "2026-11-20T07:00:00Z",
        },
    }
    state = state_of(metadata, redeploying, redeploying)
    assert state.model == ModelExpiry(datetime(2026, 12, 1, tzinfo=UTC), checked=True)


def test_a_pass_outcome_names_the_error_class_it_left() -> None:
    def outcome(error: Any = None, retry: bool = False) -> Outcome:
        status = {"error": error} if error is not None else {}
        return Outcome(status=status, retry=Retry(5, "why") if retry else None)

    assert pass_outcome(outcome()) == "done"
    assert pass_outcome(outcome(retry=True)) == "retry"
    assert pass_outcome(outcome({"code": "TooManyRequests", "class": "transient"}, retry=True)) == "transient"
    assert pass_outcome(outcome({"code": "InvalidModel", "class": "fatal"})) == "fatal"
    assert pass_outcome(outcome({"code": "ReconcileSkipped", "class": "policy"})) == "policy"
    assert pass_outcome(outcome({"code": "X", "class": "made up by someone"})) == "error"


# The outcomes a pass can count (runtime/handlers.py): the error classes, the policy's, and these.
PASS_OUTCOMES = {"done", "retry", "released", "error", "kubernetes-error", "exception", POLICY_CLASS} | {
    error_class.value for error_class in ErrorClass
}


@pytest.mark.parametrize("outcome", sorted(PASS_OUTCOMES))
def test_the_reconciles_help_names_every_outcome(outcome: str) -> None:
    family = next(
        f
        for f in text_string_to_metric_families(Metrics().exposition().decode())
        if f.name.endswith("_reconciles")
    )
    # an item of the list (after a separator), not a word of an explanation
    assert re.search(rf"[:;,] {re.escape(outcome)}[ ,;.]", family.documentation), family.documentation


def test_orphans_are_counted_per_kind_only() -> None:
    metrics = Metrics()
    metrics.orphaned("SpeechEndpoint")
    metrics.orphaned("SpeechEndpoint")
    metrics.orphaned("VoiceEndpoint", 2)  # a swap's two endpoints left by one deletion
    assert value(metrics, "orphaned_endpoints_total", kind="SpeechEndpoint") == 2
    assert value(metrics, "orphaned_endpoints_total", kind="VoiceEndpoint") == 2


def test_separate_metrics_objects_do_not_share_counters() -> None:
    first, second = Metrics(), Metrics()
    first.reconciled("SpeechEndpoint", "ok")
    assert not any(name == "azure_speech_operator_reconciles_total" for name, _ in samples(second))


async def test_health_server_readiness() -> None:
    metrics = Metrics()
    port = free_port()
    server = HealthServer(metrics, "127.0.0.1", port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 503
            server.ready.set()
            assert (await http.get("/readyz")).status_code == 200
            scraped = await http.get("/metrics")
            assert scraped.headers["content-type"].startswith("text/plain")
            assert "azure_speech_operator_resources" in scraped.text
    finally:
        await server.stop()
