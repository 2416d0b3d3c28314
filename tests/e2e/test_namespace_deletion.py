"""Deleting a namespace that holds SpeechEndpoints: the real kube-controller-manager deletes their objects,
the operator deletes their Azure endpoints and releases its finalizers, and the namespace goes away."""

from __future__ import annotations

from .harness import Kube, Operator, Simulator, unique_name
from .test_speech_lifecycle import KIND, azure_http, endpoints_of, manifest


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


def test_namespace_deletion_after_a_restart_releases_at_once_and_says_what_it_left(
    kube: Kube, simulator: Simulator, operator: Operator
) -> None:
    """The operator restarted since it last read the Secret, so it has no key when the namespace deletion
    takes the Secret: nothing can bring it back, so the resource is released at once (no 10-minute wait),
    with a WARNING naming the endpoint left in Azure and the orphaned-endpoints metric."""
    namespace = kube.create_namespace(unique_name("ns-delete-restart"))
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest(simulator, "left"), namespace)
    obj = kube.wait_condition(KIND, "left", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]
    operator.restart()  # forgets the key; the resource is Ready, so the restart reads no Secret
    since = operator.log_size()
    kube.kubectl("delete", "secret", "speech-credentials", "-n", namespace)

    kube.delete_namespace(namespace, wait=True, timeout=60)

    assert [e["id"] for e in endpoints_of(simulator, obj["metadata"]["uid"])] == [endpoint_id]
    warnings = [
        line for line in operator.logs(since).splitlines() if "[WARNING]" in line and endpoint_id in line
    ]
    assert warnings and "namespace is being deleted" in warnings[0]
    assert "azure_speech_operator_orphaned_endpoints" in operator.metrics()
    azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
