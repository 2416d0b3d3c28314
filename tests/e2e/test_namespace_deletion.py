"""Deleting a namespace that holds SpeechEndpoints: the real kube-controller-manager deletes their objects,
the operator deletes their Azure endpoints and releases its finalizers, and the namespace goes away."""

from __future__ import annotations

from .harness import Kube, Operator, Simulator, unique_name
from .test_speech_lifecycle import KIND, endpoints_of, manifest


def test_namespace_deletion_with_speech_endpoints_completes(
    kube: Kube, simulator: Simulator, operator: Operator
) -> None:
    namespace = kube.create_namespace(unique_name("ns-delete"))
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest(simulator, "ready"), namespace)
    ready = kube.wait_condition(KIND, "ready", namespace, "Ready", timeout=120)
    # a second one still deploying when the namespace goes, and one whose create Azure refuses
    kube.apply(manifest(simulator, "deploying"), namespace)
    refused = manifest(simulator, "refused", model={"customModelId": "00000000-0000-4000-8000-00000000dead"})
    kube.apply(refused, namespace)
    deploying = kube.get(KIND, "deploying", namespace)
    assert deploying is not None
    uids = [ready["metadata"]["uid"], deploying["metadata"]["uid"]]

    kube.delete_namespace(namespace, wait=True, timeout=180)

    assert [e["id"] for uid in uids for e in endpoints_of(simulator, uid)] == []
    assert kube.get("Namespace", namespace) is None
