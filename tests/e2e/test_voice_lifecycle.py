"""VoiceEndpoint end to end: kubectl against the real API server, the operator as a process, the simulator as
Azure (custom voice 2026-01-01: a deployment takes about 3 s and a resume 3 s at the e2e time scale)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure_speech_operator.azure.voice import deterministic_endpoint_id
from azure_speech_operator.simulator.seed import (
    VOICE_MODEL,
    VOICE_MODEL_2,
    VOICE_MODEL_DEPLOY_FAILS,
    VOICE_PROJECT,
)

from .harness import Kube, Operator, Simulator, wait_for

KIND = "VoiceEndpoint"
API = "speech.azure-operator.io/v1alpha1"
VERSION = "2026-01-01"


def manifest(simulator: Simulator, name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "azure": {"endpoint": simulator.url, "credentials": {"secretRef": {"name": "speech-credentials"}}},
        "projectId": VOICE_PROJECT,
        "modelId": VOICE_MODEL,
        "kind": "HighPerformance",
    }
    body.update(spec)
    return {"apiVersion": API, "kind": KIND, "metadata": {"name": name}, "spec": body}


def voice_http(simulator: Simulator, method: str, path: str, body: Any = None, **headers: str) -> Any:
    url = f"{simulator.url}/customvoice/{path}?api-version={VERSION}"
    sent = {"Ocp-Apim-Subscription-Key": simulator.key, **headers}
    response = httpx.request(method, url, json=body, headers=sent, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def voice_endpoints(simulator: Simulator) -> dict[str, str]:
    """Every voice endpoint in the simulator: id -> status."""
    return {e["id"]: e["status"] for e in simulator.endpoints()["endpoints"] if e["family"] == "voice"}


def ours(simulator: Simulator, uid: str) -> dict[str, str]:
    """The voice endpoints a resource's ids can name (its first ten sequence numbers)."""
    mine = {deterministic_endpoint_id(uid, n) for n in range(10)}
    return {e: s for e, s in voice_endpoints(simulator).items() if e in mine}


def patch_spec(kube: Kube, name: str, namespace: str, spec: str) -> None:
    kube.kubectl("patch", "-n", namespace, f"voiceendpoint/{name}", "--type", "merge", "-p", spec)


def event_reasons(kube: Kube, namespace: str, name: str) -> list[str]:
    return [e.get("reason", "") for e in kube.events(namespace, involved_name=name)]


def portal_endpoint(simulator: Simulator) -> str:
    """An endpoint made outside the operator (as in Speech Studio), Succeeded."""
    endpoint_id = str(uuid.uuid4())
    voice_http(
        simulator,
        "PUT",
        f"endpoints/{endpoint_id}",
        {"projectId": VOICE_PROJECT, "modelId": VOICE_MODEL, "displayName": "made in the portal"},
        **{"Operation-Id": f"portal-{endpoint_id[:8]}"},
    )
    wait_for(lambda: voice_endpoints(simulator).get(endpoint_id) == "Succeeded", 60, "the portal's endpoint")
    return endpoint_id


@pytest.fixture
def ready_secret(kube: Kube, simulator: Simulator, namespace: str) -> str:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    return namespace


def test_create_suspend_resume(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "jessica", exportTo={"configMapName": "jessica-endpoint"}), namespace)
    obj = kube.wait_condition(KIND, "jessica", namespace, "Ready", timeout=120)
    status, uid = obj["status"], obj["metadata"]["uid"]
    assert status["azureStatus"] == "Succeeded"
    assert status["endpointId"] == deterministic_endpoint_id(uid, 0)
    assert ours(simulator, uid) == {status["endpointId"]: "Succeeded"}
    assert kube.condition(obj, "Suspended")["status"] == "False"  # type: ignore[index]
    printed = kube.kubectl("get", "vce", "jessica", "-n", namespace).stdout
    assert "READY" in printed and "SUSPENDED" in printed and "Succeeded" in printed
    exported = kube.get("ConfigMap", "jessica-endpoint", namespace, api_version="v1")
    assert exported is not None and exported["data"]["deploymentId"] == status["endpointId"]
    assert "deploymentId=" in exported["data"]["synthesisUrl"]

    patch_spec(kube, "jessica", namespace, '{"spec": {"suspended": true}}')
    obj = kube.wait_condition(KIND, "jessica", namespace, "Suspended", timeout=60)
    assert obj["status"]["azureStatus"] == "Disabled"
    assert kube.condition(obj, "Ready")["status"] == "True"  # type: ignore[index]
    assert kube.condition(obj, "Available")["status"] == "False"  # type: ignore[index]
    row = kube.kubectl("get", "vce", "jessica", "-n", namespace, "--no-headers").stdout.split()
    assert row[1:4] == ["True", "Disabled", "True"]  # READY, AZURE STATUS, SUSPENDED

    patch_spec(kube, "jessica", namespace, '{"spec": {"suspended": false}}')
    kube.wait_condition(KIND, "jessica", namespace, "Ready", "False", reason="Resuming", timeout=30)
    obj = kube.wait_condition(KIND, "jessica", namespace, "Ready", timeout=60)
    assert obj["status"]["azureStatus"] == "Succeeded"
    assert kube.condition(obj, "Suspended")["status"] == "False"  # type: ignore[index]
    reasons = event_reasons(kube, namespace, "jessica")
    assert {"Created", "Ready", "Suspending", "Suspended", "Resuming", "Resumed"} <= set(reasons)
    assert len(ours(simulator, uid)) == 1


def test_suspend_while_deploying_and_resume_while_disabling_end_in_the_last_wish(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "flips"), namespace)
    kube.wait_condition(KIND, "flips", namespace, "Ready", "False", reason="Deploying", timeout=30)
    patch_spec(kube, "flips", namespace, '{"spec": {"suspended": true}}')
    patch_spec(kube, "flips", namespace, '{"spec": {"suspended": false}}')
    patch_spec(kube, "flips", namespace, '{"spec": {"suspended": true}}')
    obj = kube.wait_condition(KIND, "flips", namespace, "Suspended", timeout=120)
    assert obj["status"]["azureStatus"] == "Disabled"
    patch_spec(kube, "flips", namespace, '{"spec": {"suspended": false}}')
    obj = kube.wait_condition(KIND, "flips", namespace, "Ready", timeout=120)
    assert obj["status"]["azureStatus"] == "Succeeded"
    assert kube.condition(obj, "Stalled")["status"] == "False"  # type: ignore[index]


def test_model_swap_keeps_a_succeeded_endpoint_in_status_throughout(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "swap", swapGracePeriod="8s"), namespace)
    obj = kube.wait_condition(KIND, "swap", namespace, "Ready", timeout=120)
    uid, first = obj["metadata"]["uid"], obj["status"]["endpointId"]
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            current = kube.get(KIND, "swap", namespace) or {}
            endpoint_id = (current.get("status") or {}).get("endpointId")
            if endpoint_id:
                seen.append((endpoint_id, voice_endpoints(simulator).get(endpoint_id, "gone")))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        patch_spec(kube, "swap", namespace, f'{{"spec": {{"modelId": "{VOICE_MODEL_2}"}}}}')
        obj = wait_for(
            lambda: (
                (o := kube.get(KIND, "swap", namespace))
                and (o.get("status") or {}).get("endpointId") != first
                and o
            ),
            120,
            "the swap to the new endpoint",
        )
    finally:
        stop.set()
        sampler.join()
    second = obj["status"]["endpointId"]
    assert second == deterministic_endpoint_id(uid, 1)
    assert obj["status"]["previousEndpoint"]["id"] == first
    assert seen and all(status == "Succeeded" for _, status in seen), seen
    assert set(ours(simulator, uid)) == {first, second}
    # the grace period ends: the old endpoint is deleted by the operator on its own
    wait_for(lambda: set(ours(simulator, uid)) == {second}, 60, "the old endpoint's deletion")
    # the status patch that drops previousEndpoint follows the DELETE call: poll for it
    obj = wait_for(
        lambda: (
            (o := kube.get(KIND, "swap", namespace))
            and "previousEndpoint" not in (o.get("status") or {})
            and o
        ),
        30,
        "previousEndpoint to leave the status",
    )
    obj = kube.wait_condition(KIND, "swap", namespace, "Ready", timeout=30)
    assert obj["status"]["modelId"] == VOICE_MODEL_2
    assert {"SwapStarted", "Swapped"} <= set(event_reasons(kube, namespace, "swap"))


def test_a_failed_new_deployment_keeps_the_old_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "failing"), namespace)
    obj = kube.wait_condition(KIND, "failing", namespace, "Ready", timeout=120)
    uid, first = obj["metadata"]["uid"], obj["status"]["endpointId"]
    patch_spec(kube, "failing", namespace, f'{{"spec": {{"modelId": "{VOICE_MODEL_DEPLOY_FAILS}"}}}}')
    obj = kube.wait_condition(KIND, "failing", namespace, "Stalled", reason="DeploymentFailed", timeout=120)
    assert obj["status"]["endpointId"] == first
    assert kube.condition(obj, "Available")["status"] == "True"  # type: ignore[index]
    assert ours(simulator, uid) == {first: "Succeeded"}  # the failed one was deleted to free its slot


def test_deleting_during_the_grace_period_deletes_both(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "grace"), namespace)
    obj = kube.wait_condition(KIND, "grace", namespace, "Ready", timeout=120)
    uid = obj["metadata"]["uid"]
    patch_spec(kube, "grace", namespace, f'{{"spec": {{"modelId": "{VOICE_MODEL_2}"}}}}')
    wait_for(
        lambda: "previousEndpoint" in ((kube.get(KIND, "grace", namespace) or {}).get("status") or {}),
        120,
        "the swap",
    )
    assert len(ours(simulator, uid)) == 2
    kube.delete(KIND, "grace", namespace, timeout=60)
    assert ours(simulator, uid) == {}


@pytest.mark.parametrize("policy", ["Delete", "Orphan"])
def test_delete_follows_deletion_policy(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, policy: str
) -> None:
    namespace = ready_secret
    name = f"delete-{policy.lower()}"
    kube.apply(manifest(simulator, name, deletionPolicy=policy), namespace)
    obj = kube.wait_condition(KIND, name, namespace, "Ready", timeout=120)
    uid, endpoint_id = obj["metadata"]["uid"], obj["status"]["endpointId"]
    kube.delete(KIND, name, namespace, timeout=60)
    assert list(ours(simulator, uid)) == ([] if policy == "Delete" else [endpoint_id])
    if policy == "Orphan":
        voice_http(simulator, "DELETE", f"endpoints/{endpoint_id}")


def test_adoption_never_creates_and_an_adopted_endpoint_gone_is_stalled(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    endpoint_id = portal_endpoint(simulator)
    kube.apply(manifest(simulator, "adopt", endpointId=endpoint_id, deletionPolicy="Orphan"), namespace)
    obj = kube.wait_condition(KIND, "adopt", namespace, "Ready", timeout=60)
    assert obj["status"]["endpointId"] == endpoint_id
    assert ours(simulator, obj["metadata"]["uid"]) == {}
    assert "Adopted" in event_reasons(kube, namespace, "adopt")
    voice_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
    kube.kubectl(
        "annotate", "--overwrite", "-n", namespace, "voiceendpoint/adopt",
        "speech.azure-operator.io/reconcile-requested-at=after-delete",
    )  # fmt: skip
    kube.wait_condition(KIND, "adopt", namespace, "Stalled", reason="AdoptedEndpointNotFound", timeout=60)
    assert ours(simulator, obj["metadata"]["uid"]) == {}


def test_a_schedule_transition_happens_on_time(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    now = datetime.now(UTC)
    at = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (at - now).total_seconds() < 20:  # leave time to deploy first
        at += timedelta(minutes=1)
    resume = at + timedelta(hours=12)
    schedule = {
        "suspend": f"{at.minute} {at.hour} * * *",
        "resume": f"{resume.minute} {resume.hour} * * *",
        "timeZone": "UTC",
    }
    kube.apply(manifest(simulator, "nightly", schedule=schedule), namespace)
    obj = kube.wait_condition(KIND, "nightly", namespace, "Ready", timeout=120)
    assert obj["status"]["nextTransition"] == {"action": "suspend", "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert kube.condition(obj, "Suspended")["status"] == "False"  # type: ignore[index]
    left = (at - datetime.now(UTC)).total_seconds()
    obj = kube.wait_condition(KIND, "nightly", namespace, "Suspended", timeout=left + 30)
    late = (datetime.now(UTC) - at).total_seconds()
    assert late < 25, f"suspended {late:.0f}s after the scheduled time"
    assert obj["status"]["nextTransition"]["action"] == "resume"
