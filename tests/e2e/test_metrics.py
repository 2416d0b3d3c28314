"""/metrics scraped during a real run: both kinds on the real API server, the simulator as Azure, the operator
as a process with a tight request budget (so it waits), one scripted 429, and a VoiceEndpoint suspended.
Checks that the series docs/operations.md lists appear with sane values and no label names a resource."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure_speech_operator.simulator.seed import BASE_EN_US_EXPIRING, VOICE_MODEL, VOICE_PROJECT
from prometheus_client.parser import text_string_to_metric_families

from .harness import Kube, Operator, Simulator, wait_for

API = "speech.azure-operator.io/v1alpha1"
PREFIX = "azure_speech_operator_"
CREDENTIALS = {"secretRef": {"name": "speech-credentials"}}


class Scrape:
    """One scrape of /metrics: samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples = [
            (sample.name.removeprefix(PREFIX), sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def total(self, name: str, **labels: str) -> float:
        """The sum over the series of `name` whose labels include `labels`."""
        return sum(
            value
            for sample, got, value in self.samples
            if sample == name and all(got.get(k) == v for k, v in labels.items())
        )

    def label_values(self) -> set[str]:
        return {value for _, labels, _ in self.samples for value in labels.values()}


def scrape_until(operator: Operator, check: Callable[[Scrape], bool], what: str) -> Scrape:
    """The first scrape that passes `check` (the handlers report a pass right after its status write)."""

    def passing() -> Scrape | None:
        scraped = Scrape(operator.metrics())
        return scraped if check(scraped) else None

    return wait_for(passing, 30, what)


def speech(simulator: Simulator, name: str) -> dict[str, Any]:
    spec = {
        "azure": {"endpoint": simulator.url, "credentials": CREDENTIALS},
        "locale": "en-US",
        "model": {"baseModelId": BASE_EN_US_EXPIRING},  # transcription ends in 20 days
    }
    return {"apiVersion": API, "kind": "SpeechEndpoint", "metadata": {"name": name}, "spec": spec}


def voice(simulator: Simulator, name: str) -> dict[str, Any]:
    spec = {
        "azure": {"endpoint": simulator.url, "credentials": CREDENTIALS},
        "projectId": VOICE_PROJECT,
        "modelId": VOICE_MODEL,
        "kind": "HighPerformance",
    }
    return {"apiVersion": API, "kind": "VoiceEndpoint", "metadata": {"name": name}, "spec": spec}


def test_metrics_of_a_run_with_both_kinds(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    # 3 requests per 2 s for all resources together (one simulator host, one key): the budget must hold
    # requests back; a fresh process, so every counter starts at zero.
    operator.restart(extra_args=["--azure-budget-requests", "3", "--azure-budget-window", "2s"])
    started = time.monotonic()
    simulator.add_fault(operation="Endpoints_Create", kind="429")
    try:
        kube.apply(simulator.credentials_secret(namespace), namespace)
        kube.apply(speech(simulator, "transcriber"), namespace)
        kube.apply(voice(simulator, "narrator"), namespace)
        transcriber = kube.wait_condition("SpeechEndpoint", "transcriber", namespace, "Ready", timeout=120)
        narrator = kube.wait_condition("VoiceEndpoint", "narrator", namespace, "Ready", timeout=120)
        kube.kubectl(
            "patch", "-n", namespace, "voiceendpoint/narrator", "--type", "merge", "-p",
            '{"spec": {"suspended": true}}',
        )  # fmt: skip
        kube.wait_condition("VoiceEndpoint", "narrator", namespace, "Suspended", timeout=60)
        suspended_at = time.monotonic()
        kube.wait_condition("SpeechEndpoint", "transcriber", namespace, "ModelExpiring", timeout=60)

        first = scrape_until(
            operator,
            lambda s: s.total("model_expiry", bucket="30d") == 1,
            "the SpeechEndpoint in the 30-day expiry bucket",
        )
        # Suspended seconds grow between passes: the open suspension counts up to the scrape.
        suspended = first.total("suspended_seconds_total", kind="VoiceEndpoint")
        later = scrape_until(
            operator,
            lambda s: s.total("suspended_seconds_total", kind="VoiceEndpoint") > suspended,
            "suspended seconds to grow",
        )
        elapsed = time.monotonic() - started
    finally:
        simulator.clear_faults()

    # Azure requests, the one 429 Azure sent, and the waits for the budget
    assert later.total("azure_requests_total", operation="Endpoints_Create", status="429") == 1
    assert later.total("azure_requests_total", status="200") > 0
    waits = later.total("azure_budget_wait_seconds_count")
    assert waits > 0 and 0 < later.total("azure_budget_wait_seconds_sum") < waits * 60
    # reconcile passes by kind, errors visible by class: the 429 left a transient error on the status
    assert later.total("reconciles_total", kind="SpeechEndpoint", outcome="transient") >= 1
    for kind in ("SpeechEndpoint", "VoiceEndpoint"):
        assert later.total("reconciles_total", kind=kind, outcome="done") >= 1
        assert later.total("reconciles_total", kind=kind, outcome="exception") == 0
    # resources by condition, per kind
    assert later.total("resources", kind="SpeechEndpoint", condition="Ready", status="True") == 1
    assert later.total("resources", kind="VoiceEndpoint", condition="Ready", status="True") == 1
    assert later.total("resources", kind="VoiceEndpoint", condition="Suspended", status="True") == 1
    assert later.total("resources", kind="SpeechEndpoint", condition="Suspended") == 0  # it has none
    assert later.total("resources", condition="Stalled", status="True") == 0
    # creation to first Ready: once per resource, within the test's time
    for kind in ("SpeechEndpoint", "VoiceEndpoint"):
        assert later.total("time_to_ready_seconds_count", kind=kind) == 1
        assert 0 < later.total("time_to_ready_seconds_sum", kind=kind) <= elapsed + 2
    # model expiry by bucket, not per resource
    assert later.total("model_expiry", kind="SpeechEndpoint") == 1
    # the savings: seconds suspended, no more than the time since the suspension was seen (+ a pass)
    assert (
        0
        < later.total("suspended_seconds_total", kind="VoiceEndpoint")
        <= time.monotonic() - suspended_at + 5
    )
    # no label names a resource, a namespace or an endpoint
    named = {
        namespace,
        "transcriber",
        "narrator",
        transcriber["metadata"]["uid"],
        narrator["metadata"]["uid"],
        transcriber["status"]["endpointId"],
        narrator["status"]["endpointId"],
    }
    assert not [v for v in later.label_values() if any(n in v for n in named)]
