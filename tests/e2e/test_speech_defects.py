"""Regression tests of SpeechEndpoint defects (issue 13) that show end to end: what deletion acts on, what a
refused create leaves behind, and a Stalled resource that keeps watching Azure."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure_speech_operator.simulator.seed import BASE_DE_DE_CURRENT, BASE_EN_US_CURRENT

from .harness import Kube, Operator, Simulator, free_port
from .test_speech_lifecycle import KIND, azure_http, endpoints_of, get_spe, manifest, operation_count

CREATE_PENDING = "kopf.speech.azure-operator.io/create-pending"


def events_of(kube: Kube, namespace: str, name: str) -> list[tuple[str, str]]:
    return [(e.get("reason", ""), e.get("message", "")) for e in kube.events(namespace, involved_name=name)]


def create_in_azure(simulator: Simulator, display_name: str) -> str:
    model = f"{simulator.url}/speechtotext/models/base/{BASE_EN_US_CURRENT}"
    body = {"displayName": display_name, "locale": "en-US", "model": {"self": model}}
    created = azure_http(simulator, "POST", "endpoints", body)
    return str(created["self"].split("?")[0].rsplit("/", 1)[-1])


# --- defect 1: deletion acts only on the endpoint the resource owns -----------------------------------------


@pytest.mark.parametrize("policy", ["Delete", "Orphan"])
def test_deletion_after_a_wrong_endpoint_id_acts_on_the_endpoint_it_created(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, policy: str
) -> None:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    name = f"wrong-id-{policy.lower()}"
    kube.apply(manifest(simulator, name, deletionPolicy=policy), namespace)
    obj = kube.wait_condition(KIND, name, namespace, "Ready", timeout=120)
    created = obj["status"]["endpointId"]
    theirs = create_in_azure(simulator, "another team's endpoint")
    try:
        kube.apply(manifest(simulator, name, deletionPolicy=policy, endpointId=theirs), namespace)
        kube.wait_condition(KIND, name, namespace, "Stalled", reason="EndpointIdConflict", timeout=60)
        kube.delete(KIND, name, namespace, timeout=60)
        left = {e["id"] for e in endpoints_of(simulator)}
        assert theirs in left  # never the endpoint it merely names
        events = events_of(kube, namespace, name)
        assert not [m for r, m in events if r in ("Deleted", "Orphaned") and theirs in m]
        if policy == "Delete":
            assert created not in left
            assert [r for r, m in events if r == "Deleted" and created in m]
        else:
            assert created in left
            assert [r for r, m in events if r == "Orphaned" and created in m]
    finally:
        for endpoint_id in (theirs, created):
            if endpoint_id in {e["id"] for e in endpoints_of(simulator)}:
                azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")


# --- defect 2: a refused create leaves no create-pending mark; deleting it releases at once -----------------


@pytest.fixture
def own_simulator(tmp_path: Path) -> Iterator[Simulator]:
    """A simulator of this test's own, so that its request counts are this test's alone."""
    sim = Simulator(tmp_path, keys=("own-key",)).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.mark.parametrize("case", ["wrong-key", "model-mismatch", "unreachable"])
def test_a_refused_create_leaves_no_mark_and_deletion_releases_at_once(
    kube: Kube,
    own_simulator: Simulator,
    operator: Operator,
    namespace: str,
    case: str,
    wait: Callable[..., Any],
) -> None:
    sim = own_simulator
    secret = sim.credentials_secret(namespace)
    body = manifest(sim, case)
    if case == "wrong-key":
        secret["data"]["key"] = base64.b64encode(b"not-the-key").decode()
        condition, reason = "Stalled", "Unauthorized"
    elif case == "model-mismatch":
        body["spec"]["model"] = {"baseModelId": BASE_DE_DE_CURRENT}
        condition, reason = "Stalled", "ModelMismatch"
    else:
        body["spec"]["azure"]["endpoint"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        condition, reason = "Reconciling", "ConnectionFailed"
    kube.apply(secret, namespace)
    kube.apply(body, namespace)
    kube.wait_condition(KIND, case, namespace, condition, reason=reason, timeout=60)
    # polled: a retry (unreachable) may be between writing the mark and dropping it again
    wait(
        lambda: CREATE_PENDING not in (get_spe(kube, case, namespace)["metadata"].get("annotations") or {}),
        timeout=10,
        what="no create-pending mark",
    )
    if case == "wrong-key":
        kube.delete("Secret", "speech-credentials", namespace)  # a namespace deletion often goes first
    kube.delete(KIND, case, namespace, timeout=20)  # not the 10 minutes of the credentials wait
    assert operation_count(sim, "Endpoints_List") == 0  # never looked up: nothing can have been created
    reasons = [r for r, _ in events_of(kube, namespace, case)]
    assert "OrphanedEndpoint" not in reasons and "Orphaned" not in reasons
    assert 'endpoint_id="unknown"' not in operator.metrics()


# --- defect 7: a Stalled resource keeps watching Azure; a removed foreign ConfigMap is picked up -----------


def test_a_stalled_export_keeps_polling_azure_and_picks_up_the_removed_config_map(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, wait: Callable[..., Any]
) -> None:
    operator.restart(extra_args=["--blocked-retry-base", "2s", "--blocked-retry-cap", "4s"])
    try:
        kube.apply(simulator.credentials_secret(namespace), namespace)
        theirs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "taken"}, "data": {"a": "b"}}
        kube.apply(theirs, namespace)
        kube.apply(manifest(simulator, "exporter", exportTo={"configMapName": "taken"}), namespace)
        kube.wait_condition(KIND, "exporter", namespace, "Stalled", reason="ConfigMapNotOwned", timeout=60)
        wait(
            lambda: get_spe(kube, "exporter", namespace)["status"].get("azureStatus") == "Succeeded",
            timeout=60,
            what="the Stalled resource to report the finished deployment",
        )
        obj = get_spe(kube, "exporter", namespace)
        assert kube.condition(obj, "Available")["status"] == "True"  # type: ignore[index]
        assert kube.get("ConfigMap", "taken", namespace)["data"] == {"a": "b"}  # type: ignore[index]
        kube.delete("ConfigMap", "taken", namespace)  # as the message advises; no reconcile-requested-at
        obj = kube.wait_condition(KIND, "exporter", namespace, "Ready", timeout=60)
        config_map = kube.get("ConfigMap", "taken", namespace)
        assert config_map is not None
        assert config_map["data"]["endpointId"] == obj["status"]["endpointId"]
        assert config_map["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
    finally:
        operator.restart(extra_args=[])
