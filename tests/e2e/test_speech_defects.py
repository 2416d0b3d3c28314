"""Regression tests of SpeechEndpoint defects (issue 13) that show end to end: what deletion acts on, what a
refused create leaves behind, and a Stalled resource that keeps watching Azure."""

from __future__ import annotations

import pytest
from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT

from .harness import Kube, Operator, Simulator
from .test_speech_lifecycle import KIND, azure_http, endpoints_of, manifest


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
