"""SpeechEndpoint end to end: kubectl against the emulated API, the operator as a process, the simulator as
Azure. Each test gets its own namespace; ids of seeded models come from the simulator's seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from azure_speech_operator.simulator.seed import (
    BASE_DE_DE_CURRENT,
    BASE_EN_US_CURRENT,
    BASE_EN_US_EXPIRING,
    CUSTOM_EN_US_DEPLOYABLE,
)
from azure_speech_operator.speechendpoint.spec import MARKER_KEY

from .harness import Kube, Operator, Simulator

KIND = "SpeechEndpoint"
API = "speech.azure-operator.io/v1alpha1"


def manifest(simulator: Simulator, name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "azure": {"endpoint": simulator.url, "credentials": {"secretRef": {"name": "speech-credentials"}}},
        "locale": "en-US",
        "model": {"baseModelId": BASE_EN_US_CURRENT},
    }
    body.update(spec)
    return {"apiVersion": API, "kind": KIND, "metadata": {"name": name}, "spec": body}


def endpoints_of(simulator: Simulator, uid: str | None = None) -> list[dict[str, Any]]:
    """The speech endpoints as Azure lists them (paging), each with its `id`; only those tagged with `uid`."""
    headers = {"Ocp-Apim-Subscription-Key": simulator.key}
    url: str | None = f"{simulator.url}/speechtotext/endpoints?api-version=2025-10-15"
    items: list[dict[str, Any]] = []
    while url:
        page = httpx.get(url, headers=headers, timeout=10).raise_for_status().json()
        items.extend(page.get("values") or [])
        url = page.get("@nextLink")
    for item in items:
        item["id"] = item["self"].split("?")[0].rsplit("/", 1)[-1]
    if uid is None:
        return items
    return [e for e in items if (e.get("customProperties") or {}).get(MARKER_KEY) == uid]


def azure_writes(simulator: Simulator, endpoint_path: str = "/speechtotext") -> list[str]:
    log = simulator.requests()
    entries = log if isinstance(log, list) else log.get("requests", [])
    return [
        f"{e['method']} {e['path']}"
        for e in entries
        if e.get("method") in ("POST", "PATCH", "DELETE") and endpoint_path in e.get("path", "")
    ]


@pytest.fixture
def ready_secret(kube: Kube, simulator: Simulator, namespace: str) -> str:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    return namespace


def test_create_reaches_ready(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "call-center"), namespace)
    obj = kube.wait_condition(KIND, "call-center", namespace, "Ready", timeout=60)
    status = obj["status"]
    assert status["azureStatus"] == "Succeeded"
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["model"]["id"] == BASE_EN_US_CURRENT
    assert status["apiVersion"] == "2025-10-15"
    mine = endpoints_of(simulator, obj["metadata"]["uid"])
    assert len(mine) == 1 and mine[0]["displayName"] == "call-center"
    printed = kube.kubectl("get", "spe", "call-center", "-n", namespace).stdout
    assert "True" in printed and "Succeeded" in printed and "en-US" in printed
