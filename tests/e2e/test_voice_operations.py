"""VoiceEndpoint's long-running operations end to end: a deployment followed at its Operation-Location, a
resume asked while Azure is still disabling, and the retiring v3.0 API (adopt, suspend, resume; no create or
delete) reached through `--voice-v3-region-url`, as a staging cluster points it at the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Kube, Operator, Simulator, wait_for
from .test_voice_lifecycle import (
    KIND,
    manifest,
    patch_spec,
    portal_endpoint,
    voice_endpoints,
    voice_http,
)


def calls(simulator: Simulator, operation: str) -> int:
    return sum((simulator.requests().get("operations") or {}).get(operation, {}).values())


@pytest.fixture
def ready_secret(kube: Kube, simulator: Simulator, namespace: str) -> str:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    return namespace


@pytest.fixture
def slow_suspend(simulator: Simulator) -> Iterator[None]:
    """Disabling lasts 15 s (real seconds at any time scale), long enough to change the wish meanwhile."""
    scale = float(simulator.configure()["timeScale"])
    before = simulator.configure()["durations"]["voice_suspend"]
    simulator.configure(durations={"voice_suspend": 15 / scale})
    yield
    simulator.configure(durations={"voice_suspend": before})


def test_a_deployment_is_followed_at_its_operation_location(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    polls = calls(simulator, "CustomVoice.Operations_Get")
    kube.apply(manifest(simulator, "followed"), namespace)
    obj = kube.wait_condition(KIND, "followed", namespace, "Ready", "False", reason="Deploying", timeout=30)
    operation = obj["status"].get("operation") or {}
    assert operation.get("endpointId") == obj["status"]["endpointId"]
    assert operation.get("status") in ("NotStarted", "Running")
    obj = kube.wait_condition(KIND, "followed", namespace, "Ready", timeout=120)
    assert obj["status"]["azureStatus"] == "Succeeded"
    assert "operation" not in obj["status"]
    assert calls(simulator, "CustomVoice.Operations_Get") > polls


def test_resume_asked_while_disabling_waits_and_ends_running(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, slow_suspend: None
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "flip"), namespace)
    obj = kube.wait_condition(KIND, "flip", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]
    resumes = calls(simulator, "CustomVoice.Endpoints_Resume")
    patch_spec(kube, "flip", namespace, '{"spec": {"suspended": true}}')
    wait_for(lambda: voice_endpoints(simulator).get(endpoint_id) == "Disabling", 30, "Disabling")
    patch_spec(kube, "flip", namespace, '{"spec": {"suspended": false}}')
    obj = kube.wait_condition(KIND, "flip", namespace, "Ready", "False", reason="Suspending", timeout=30)
    assert obj["status"]["azureStatus"] == "Disabling"
    assert voice_endpoints(simulator)[endpoint_id] == "Disabling"
    assert calls(simulator, "CustomVoice.Endpoints_Resume") == resumes  # never sent while Disabling
    obj = kube.wait_condition(KIND, "flip", namespace, "Ready", timeout=120)
    assert obj["status"]["azureStatus"] == "Succeeded"
    assert calls(simulator, "CustomVoice.Endpoints_Resume") == resumes + 1
    for condition, status in (("Suspended", "False"), ("Stalled", "False")):
        assert kube.condition(obj, condition)["status"] == status  # type: ignore[index]


def v3_manifest(simulator: Simulator, name: str, endpoint_id: str, **spec: Any) -> dict[str, Any]:
    body = manifest(simulator, name, endpointId=endpoint_id, deletionPolicy="Orphan", **spec)
    body["spec"]["azure"] = {
        "region": "westus",
        "apiVersion": "v3.0",
        "credentials": {"secretRef": {"name": "speech-credentials"}},
    }
    body["spec"].pop("kind")
    return body


def test_v3_adopts_suspends_resumes_and_orphans(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    endpoint_id = portal_endpoint(simulator)
    operator.restart(extra_args=["--voice-v3-region-url", simulator.url])
    v3 = [calls(simulator, f"TextToSpeechV3.Endpoints_{op}") for op in ("Get", "Suspend", "Resume")]
    kube.apply(v3_manifest(simulator, "legacy", endpoint_id), namespace)
    obj = kube.wait_condition(KIND, "legacy", namespace, "Ready", timeout=60)
    assert obj["status"]["endpointId"] == endpoint_id
    assert obj["status"]["azureStatus"] == "Succeeded"
    patch_spec(kube, "legacy", namespace, '{"spec": {"suspended": true}}')
    obj = kube.wait_condition(KIND, "legacy", namespace, "Suspended", timeout=60)
    assert voice_endpoints(simulator)[endpoint_id] == "Disabled"
    patch_spec(kube, "legacy", namespace, '{"spec": {"suspended": false}}')
    obj = kube.wait_condition(KIND, "legacy", namespace, "Ready", timeout=120)
    assert obj["status"]["azureStatus"] == "Succeeded"
    assert voice_endpoints(simulator)[endpoint_id] == "Succeeded"
    after = [calls(simulator, f"TextToSpeechV3.Endpoints_{op}") for op in ("Get", "Suspend", "Resume")]
    assert after[0] > v3[0] and after[1] == v3[1] + 1 and after[2] == v3[2] + 1
    kube.delete(KIND, "legacy", namespace, timeout=60)
    assert voice_endpoints(simulator).get(endpoint_id) == "Succeeded"  # v3.0 cannot delete: orphaned
    voice_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
