"""SpeechEndpoint end to end: kubectl against the emulated API, the operator as a process, the simulator as
Azure. Each test gets its own namespace; ids of seeded models come from the simulator's seed."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from azure_speech_operator.simulator.seed import (
    BASE_DE_DE_CURRENT,
    BASE_EN_US_CURRENT,
    BASE_EN_US_EXPIRED,
    BASE_EN_US_EXPIRING,
    CUSTOM_EN_US_DEPLOYABLE,
    PROJECT_EN_US,
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


@pytest.fixture
def ready_secret(kube: Kube, simulator: Simulator, namespace: str) -> str:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    return namespace


def test_create_reaches_ready(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "call-center"), namespace)
    obj = kube.wait_condition(KIND, "call-center", namespace, "Ready", timeout=120)
    status = obj["status"]
    assert status["azureStatus"] == "Succeeded"
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["model"]["id"] == BASE_EN_US_CURRENT
    assert status["apiVersion"] == "2025-10-15"
    mine = endpoints_of(simulator, obj["metadata"]["uid"])
    assert len(mine) == 1 and mine[0]["displayName"] == "call-center"
    printed = kube.kubectl("get", "spe", "call-center", "-n", namespace).stdout
    assert "True" in printed and "Succeeded" in printed and "en-US" in printed


# --- helpers ----------------------------------------------------------------------------------------------


def azure_http(simulator: Simulator, method: str, path: str, body: Any = None) -> Any:
    url = f"{simulator.url}/speechtotext/{path}?api-version=2025-10-15"
    headers = {"Ocp-Apim-Subscription-Key": simulator.key}
    response = httpx.request(method, url, json=body, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def operation_count(simulator: Simulator, operation: str) -> int:
    snapshot = simulator.requests()
    return sum((snapshot.get("operations") or {}).get(operation, {}).values())


def get_spe(kube: Kube, name: str, namespace: str) -> dict[str, Any]:
    obj = kube.get(KIND, name, namespace)
    assert obj is not None, f"{KIND} {namespace}/{name} is gone"
    return obj


def annotate(kube: Kube, name: str, namespace: str, **annotations: str) -> None:
    pairs = [f"speech.azure-operator.io/{k.replace('_', '-')}={v}" for k, v in annotations.items()]
    kube.kubectl("annotate", "--overwrite", "-n", namespace, f"speechendpoint/{name}", *pairs)


def event_reasons(kube: Kube, namespace: str, name: str) -> list[str]:
    return [e.get("reason", "") for e in kube.events(namespace, involved_name=name)]


# --- lifecycle --------------------------------------------------------------------------------------------


def test_model_change_redeploys_with_the_old_model_serving(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "redeploy"), namespace)
    kube.wait_condition(KIND, "redeploy", namespace, "Ready", timeout=120)
    kube.apply(manifest(simulator, "redeploy", model={"customModelId": CUSTOM_EN_US_DEPLOYABLE}), namespace)
    obj = kube.wait_condition(KIND, "redeploy", namespace, "Ready", "False", reason="Redeploying", timeout=60)
    assert kube.condition(obj, "Available")["status"] == "True"  # type: ignore[index]
    assert kube.condition(obj, "Reconciling")["status"] == "True"  # type: ignore[index]
    assert obj["status"]["servingModel"]["id"] == BASE_EN_US_CURRENT
    assert obj["status"]["model"]["id"] == CUSTOM_EN_US_DEPLOYABLE
    obj = kube.wait_condition(KIND, "redeploy", namespace, "Ready", timeout=120)
    assert obj["status"]["servingModel"] == {"id": CUSTOM_EN_US_DEPLOYABLE, "kind": "custom"}
    assert len(endpoints_of(simulator, obj["metadata"]["uid"])) == 1
    reasons = event_reasons(kube, namespace, "redeploy")
    assert "Created" in reasons and "Updated" in reasons and "Redeploying" in reasons


def test_locale_change_is_refused_with_the_cel_message(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "locale"), namespace)
    changed = manifest(simulator, "locale", locale="de-DE", model={"baseModelId": BASE_DE_DE_CURRENT})
    proc = kube.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(changed), check=False)
    assert proc.returncode != 0
    assert "spec.locale is immutable" in proc.stderr
    assert get_spe(kube, "locale", namespace)["spec"]["locale"] == "en-US"


def test_other_locale_model_stalls_with_azures_code_and_no_more_writes(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    body = manifest(simulator, "mismatch", model={"baseModelId": BASE_DE_DE_CURRENT})
    body["metadata"]["annotations"] = {"speech.azure-operator.io/drift-interval": "10s"}
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, "mismatch", namespace, "Stalled", timeout=60)
    error = obj["status"]["error"]
    assert error["class"] == "fatal"
    assert kube.condition(obj, "Ready")["reason"] == error["code"]  # type: ignore[index]
    assert error["code"] not in ("Deploying", "InvalidSpec")
    assert kube.condition(obj, "Reconciling")["status"] == "False"  # type: ignore[index]
    creates = operation_count(simulator, "Endpoints_Create")
    time.sleep(15)  # absence of writes cannot be polled: give drift passes (10 s) time to run
    assert operation_count(simulator, "Endpoints_Create") == creates
    assert endpoints_of(simulator, obj["metadata"]["uid"]) == []


def test_reconcile_requested_at_forces_one_try(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "requested", model={"baseModelId": BASE_DE_DE_CURRENT}), namespace)
    kube.wait_condition(KIND, "requested", namespace, "Stalled", timeout=60)
    creates = operation_count(simulator, "Endpoints_Create")
    annotate(kube, "requested", namespace, reconcile_requested_at="2026-11-21T07:00:00Z")
    wait(
        lambda: (
            get_spe(kube, "requested", namespace)["status"].get("reconcileRequestedAt")
            == "2026-11-21T07:00:00Z"
        ),
        timeout=60,
        what="the requested pass",
    )
    assert operation_count(simulator, "Endpoints_Create") == creates + 1
    obj = get_spe(kube, "requested", namespace)
    assert kube.condition(obj, "Stalled")["status"] == "True"  # type: ignore[index]


@pytest.mark.parametrize("policy", ["Delete", "Orphan"])
def test_delete_follows_deletion_policy(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, policy: str
) -> None:
    namespace = ready_secret
    name = f"delete-{policy.lower()}"
    kube.apply(manifest(simulator, name, deletionPolicy=policy), namespace)
    obj = kube.wait_condition(KIND, name, namespace, "Ready", timeout=120)
    uid, endpoint_id = obj["metadata"]["uid"], obj["status"]["endpointId"]
    kube.delete(KIND, name, namespace, timeout=120)
    left = [e["id"] for e in endpoints_of(simulator, uid)]
    assert left == ([] if policy == "Delete" else [endpoint_id])
    if policy == "Orphan":
        azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")


def test_adoption_and_an_adopted_endpoint_deleted_in_azure(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    created = azure_http(
        simulator,
        "POST",
        "endpoints",
        {
            "displayName": "made in the portal",
            "locale": "en-US",
            "model": {"self": f"{simulator.url}/speechtotext/models/base/{BASE_EN_US_CURRENT}"},
        },
    )
    endpoint_id = created["self"].split("?")[0].rsplit("/", 1)[-1]
    creates = operation_count(simulator, "Endpoints_Create")
    updates = operation_count(simulator, "Endpoints_Update")
    kube.apply(manifest(simulator, "adopt", endpointId=endpoint_id), namespace)  # no displayName
    obj = kube.wait_condition(KIND, "adopt", namespace, "Ready", timeout=120)
    assert obj["status"]["endpointId"] == endpoint_id
    assert operation_count(simulator, "Endpoints_Update") == updates  # adopting renamed nothing
    assert azure_http(simulator, "GET", f"endpoints/{endpoint_id}")["displayName"] == "made in the portal"
    assert "Adopted" in event_reasons(kube, namespace, "adopt")
    azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
    annotate(kube, "adopt", namespace, reconcile_requested_at="after-delete")
    obj = kube.wait_condition(
        KIND, "adopt", namespace, "Stalled", reason="AdoptedEndpointNotFound", timeout=60
    )
    assert operation_count(simulator, "Endpoints_Create") == creates
    kube.delete(KIND, "adopt", namespace, timeout=60)


def test_an_endpoint_another_resource_created_is_never_adopted_nor_deleted_by_a_second_one(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    # an outside review: a second resource naming the first one's endpoint took it over, and deleting the
    # second deleted it under the first (which then recreated it under a new id)
    namespace = ready_secret
    kube.apply(manifest(simulator, "owner"), namespace)
    obj = kube.wait_condition(KIND, "owner", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]
    updates = operation_count(simulator, "Endpoints_Update")
    kube.apply(manifest(simulator, "second", endpointId=endpoint_id, displayName="taken"), namespace)
    obj = kube.wait_condition(KIND, "second", namespace, "Stalled", reason="EndpointInUse", timeout=60)
    (stalled,) = [c for c in obj["status"]["conditions"] if c["type"] == "Stalled"]
    assert f"belongs to SpeechEndpoint {namespace}/owner" in stalled["message"]
    assert operation_count(simulator, "Endpoints_Update") == updates  # not renamed
    kube.delete(KIND, "second", namespace, timeout=60)
    assert "NotAdopted" in event_reasons(kube, namespace, "second")
    obj = kube.wait_condition(KIND, "owner", namespace, "Ready", timeout=10)  # untouched
    assert obj["status"]["endpointId"] == endpoint_id
    assert [e["id"] for e in endpoints_of(simulator, obj["metadata"]["uid"])] == [endpoint_id]


def test_skip_policy_observes_only_and_deletes_without_hanging(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    body = manifest(simulator, "skipped")
    body["metadata"]["annotations"] = {"speech.azure-operator.io/reconcile-policy": "skip"}
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, "skipped", namespace, "Stalled", reason="NotCreated", timeout=60)
    assert endpoints_of(simulator, obj["metadata"]["uid"]) == []
    kube.delete(KIND, "skipped", namespace, timeout=60)


def test_drift_is_repaired(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    body = manifest(simulator, "drift", customProperties={"team": "a"})
    body["metadata"]["annotations"] = {"speech.azure-operator.io/drift-interval": "10s"}
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, "drift", namespace, "Ready", timeout=120)
    endpoint_id, uid = obj["status"]["endpointId"], obj["metadata"]["uid"]
    azure_http(
        simulator,
        "PATCH",
        f"endpoints/{endpoint_id}",
        {"displayName": "renamed", "customProperties": {"x": "y"}},
    )

    def repaired() -> bool:
        (endpoint,) = [e for e in endpoints_of(simulator) if e["id"] == endpoint_id]
        return endpoint["displayName"] == "drift" and endpoint["customProperties"] == {
            "team": "a",
            MARKER_KEY: uid,
        }

    wait(repaired, timeout=90, what="the drift timer to repair the endpoint")


def test_secret_created_late_and_rotated(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, wait: Callable[..., Any]
) -> None:
    kube.apply(manifest(simulator, "late-secret"), namespace)
    obj = kube.wait_condition(
        KIND, "late-secret", namespace, "Stalled", reason="CredentialsNotFound", timeout=60
    )
    assert "speech-credentials" in kube.condition(obj, "Stalled")["message"]  # type: ignore[index]
    secret = simulator.credentials_secret(namespace)
    secret["metadata"]["labels"] = {"speech.azure-operator.io/credentials": "true"}
    secret["data"]["key"] = base64.b64encode(b"not-a-valid-key").decode()
    kube.apply(secret, namespace)  # the labelled Secret's watch triggers a pass at once (not the 2 min timer)
    kube.wait_condition(KIND, "late-secret", namespace, "Stalled", reason="Unauthorized", timeout=60)
    secret["data"]["key"] = base64.b64encode(simulator.keys[1].encode()).decode()
    kube.apply(secret, namespace)  # rotated: used on the next pass, no restart
    kube.wait_condition(KIND, "late-secret", namespace, "Ready", timeout=120)


def test_a_429_storm_converges_to_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    simulator.add_fault(operation="Endpoints_Create", kind="429", count=3)
    simulator.add_fault(operation="Endpoints_Get", kind="429", count=3)
    try:
        kube.apply(manifest(simulator, "storm"), namespace)
        obj = kube.wait_condition(KIND, "storm", namespace, "Ready", timeout=150)
    finally:
        simulator.clear_faults()
    assert len(endpoints_of(simulator, obj["metadata"]["uid"])) == 1


def test_a_lost_create_answer_leaves_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    simulator.add_fault(operation="Endpoints_Create", kind="reset", phase="after", count=1)
    try:
        kube.apply(manifest(simulator, "lost-answer"), namespace)
        obj = kube.wait_condition(KIND, "lost-answer", namespace, "Ready", timeout=150)
    finally:
        simulator.clear_faults()
    assert len(endpoints_of(simulator, obj["metadata"]["uid"])) == 1
    assert "EndpointFound" in event_reasons(kube, namespace, "lost-answer")


def test_operator_killed_mid_deployment_leaves_exactly_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "killed"), namespace)
    wait(
        lambda: (
            (get_spe(kube, "killed", namespace).get("status") or {}).get("azureStatus")
            in ("NotStarted", "Running")
        ),
        timeout=60,
        what="the deployment to start",
    )
    operator.kill()
    operator.start()
    obj = kube.wait_condition(KIND, "killed", namespace, "Ready", timeout=150)
    assert len(endpoints_of(simulator, obj["metadata"]["uid"])) == 1


def test_export_to_a_config_map(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "exported", exportTo={"configMapName": "exported-endpoint"}), namespace)
    obj = kube.wait_condition(KIND, "exported", namespace, "Ready", timeout=120)
    config_map = kube.get("ConfigMap", "exported-endpoint", namespace)
    assert config_map is not None
    assert config_map["data"]["endpointId"] == obj["status"]["endpointId"]
    assert config_map["data"]["host"] == simulator.url
    owners = config_map["metadata"]["ownerReferences"]
    assert owners[0]["uid"] == obj["metadata"]["uid"]
    kube.apply(manifest(simulator, "exported"), namespace)  # exportTo removed: the ConfigMap goes
    wait(lambda: kube.get("ConfigMap", "exported-endpoint", namespace) is None, timeout=60, what="unexport")


def test_model_expiring_is_reported(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "expiring", model={"baseModelId": BASE_EN_US_EXPIRING}), namespace)
    obj = kube.wait_condition(KIND, "expiring", namespace, "ModelExpiring", timeout=120)
    assert obj["status"]["model"]["transcriptionExpiresAt"]
    assert "ModelExpiring" in event_reasons(kube, namespace, "expiring")


def test_drift_checks_of_a_settled_endpoint_write_nothing(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    body = manifest(simulator, "settled")
    body["metadata"]["annotations"] = {"speech.azure-operator.io/drift-interval": "10s"}
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, "settled", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]

    def reads() -> int:
        return simulator.logs().count(f'"GET /speechtotext/endpoints/{endpoint_id}?')

    # Ready can come from a drift check while kopf's create handler still waits out a retry delay; kopf
    # writes its own bookkeeping when that handler ends, so look only once its progress record is gone.
    def handlers_done() -> bool:
        annotations = get_spe(kube, "settled", namespace)["metadata"].get("annotations", {})
        return not any(key.startswith("kopf.speech.azure-operator.io/reconcile-") for key in annotations)

    wait(handlers_done, timeout=120, what="kopf's create handler to finish")
    first = reads()
    wait(lambda: reads() >= first + 1, timeout=90, what="a drift check of this endpoint")
    settled = get_spe(kube, "settled", namespace)
    wait(lambda: reads() >= first + 3, timeout=90, what="two more drift checks of this endpoint")
    now = get_spe(kube, "settled", namespace)
    assert now["status"] == settled["status"]
    assert now["metadata"]["resourceVersion"] == settled["metadata"]["resourceVersion"], (settled, now)


def test_host_not_on_the_allow_list_is_stalled_without_a_request(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    port = simulator.url.rsplit(":", 1)[-1]
    body = manifest(simulator, "elsewhere")
    body["spec"]["azure"]["endpoint"] = f"http://127.0.0.2:{port}"  # the operator allows 127.0.0.1, localhost
    before = simulator.logs()
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, "elsewhere", namespace, "Stalled", reason="HostNotAllowed", timeout=60)
    assert "127.0.0.2" in kube.condition(obj, "Stalled")["message"]  # type: ignore[index]
    assert simulator.logs()[len(before) :].count("127.0.0.2") == 0
    kube.delete(KIND, "elsewhere", namespace, timeout=60)


def test_an_export_config_map_owned_by_someone_else_is_never_overwritten(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    theirs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "taken"}, "data": {"app": "mine"}}
    kube.apply(theirs, namespace)
    kube.apply(manifest(simulator, "exporter", exportTo={"configMapName": "taken"}), namespace)
    kube.wait_condition(KIND, "exporter", namespace, "Stalled", reason="ConfigMapNotOwned", timeout=120)
    assert kube.get("ConfigMap", "taken", namespace)["data"] == {"app": "mine"}  # type: ignore[index]


def test_deletion_with_credentials_gone_releases_after_the_bounded_wait(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    operator.restart(extra_args=["--deletion-credentials-wait", "5s"])
    try:
        kube.apply(manifest(simulator, "orphan-on-delete"), namespace)
        obj = kube.wait_condition(KIND, "orphan-on-delete", namespace, "Ready", timeout=120)
        endpoint_id = obj["status"]["endpointId"]
        kube.delete("Secret", "speech-credentials", namespace)
        # a restart forgets the key it read (a running operator deletes with it: see the next test)
        operator.restart()
        kube.delete(KIND, "orphan-on-delete", namespace, timeout=90)
        assert "OrphanedEndpoint" in event_reasons(kube, namespace, "orphan-on-delete")
        assert [e["id"] for e in endpoints_of(simulator, obj["metadata"]["uid"])] == [endpoint_id]
        assert "azure_speech_operator_orphaned_endpoints" in operator.metrics()
        azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
    finally:
        operator.restart(extra_args=[])


def test_deletion_with_credentials_gone_uses_the_key_last_read(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    """As when a namespace is deleted: its Secrets go at once, its SpeechEndpoints wait on the finalizer."""
    namespace = ready_secret
    kube.apply(manifest(simulator, "secret-first"), namespace)
    obj = kube.wait_condition(KIND, "secret-first", namespace, "Ready", timeout=120)
    kube.delete("Secret", "speech-credentials", namespace)
    kube.delete(KIND, "secret-first", namespace, timeout=60)
    assert endpoints_of(simulator, obj["metadata"]["uid"]) == []
    reasons = event_reasons(kube, namespace, "secret-first")
    assert "Deleted" in reasons and "OrphanedEndpoint" not in reasons


@pytest.mark.parametrize(
    ("api_version", "extra", "link"),
    [
        ("v3.2", {"projectId": PROJECT_EN_US}, "restInteractive"),
        ("2024-11-15", {}, "webSocket"),
    ],
)
def test_other_api_versions(
    kube: Kube,
    simulator: Simulator,
    operator: Operator,
    ready_secret: str,
    api_version: str,
    extra: dict[str, Any],
    link: str,
) -> None:
    namespace = ready_secret
    name = "v" + api_version.replace(".", "-")
    body = manifest(simulator, name, model={"customModelId": CUSTOM_EN_US_DEPLOYABLE}, **extra)
    body["spec"]["azure"]["apiVersion"] = api_version
    kube.apply(body, namespace)
    obj = kube.wait_condition(KIND, name, namespace, "Ready", timeout=120)
    assert obj["status"]["apiVersion"] == api_version
    assert link in obj["status"]["links"]
    assert obj["status"]["model"] == {
        "id": CUSTOM_EN_US_DEPLOYABLE,
        "kind": "custom",
        **{k: v for k, v in obj["status"]["model"].items() if k in ("checkedAt", "transcriptionExpiresAt")},
    }


def test_reconcile_requested_at_repairs_drift_at_once(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "on-request"), namespace)  # default drift interval: 1 h
    obj = kube.wait_condition(KIND, "on-request", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]
    azure_http(simulator, "PATCH", f"endpoints/{endpoint_id}", {"displayName": "renamed in the portal"})
    annotate(kube, "on-request", namespace, reconcile_requested_at="now-please")

    def name_in_azure() -> str:
        (endpoint,) = [e for e in endpoints_of(simulator) if e["id"] == endpoint_id]
        return str(endpoint["displayName"])

    wait(lambda: name_in_azure() == "on-request", timeout=60, what="the requested pass to repair the name")


def test_reconcile_requested_at_replaces_a_failed_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, wait: Callable[..., Any]
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "failing"), namespace)
    wait(
        lambda: get_spe(kube, "failing", namespace).get("status", {}).get("endpointId"),
        timeout=60,
        what="the endpoint id",
    )
    obj = get_spe(kube, "failing", namespace)
    failed = obj["status"]["endpointId"]
    simulator.http.post(f"/_sim/endpoints/{failed}/fail").raise_for_status()
    obj = kube.wait_condition(KIND, "failing", namespace, "Stalled", timeout=120)
    assert obj["status"]["azureStatus"] == "Failed"
    assert "reconcile-requested-at" in obj["status"]["error"]["message"]
    creates = operation_count(simulator, "Endpoints_Create")
    deletes = operation_count(simulator, "Endpoints_Delete")
    annotate(kube, "failing", namespace, reconcile_requested_at="2026-11-21T08:00:00Z")
    obj = kube.wait_condition(KIND, "failing", namespace, "Ready", timeout=120)
    mine = endpoints_of(simulator, obj["metadata"]["uid"])
    assert [e["id"] for e in mine] == [obj["status"]["endpointId"]]
    assert obj["status"]["endpointId"] != failed
    assert operation_count(simulator, "Endpoints_Delete") == deletes + 1
    assert operation_count(simulator, "Endpoints_Create") == creates + 1
    reasons = event_reasons(kube, namespace, "failing")
    assert "ReplacingFailedEndpoint" in reasons and "EndpointRecreated" not in reasons


EXPIRED_ENDPOINT = "e0e0e0e0-0000-4000-8000-000000000001"


def test_an_endpoint_serving_an_expired_model_is_ready_and_reports_model_expired(
    kube: Kube, operator: Operator, namespace: str, tmp_path: Path
) -> None:
    """Azure refuses to deploy an expired model, so the endpoint exists before: a second simulator seeded with
    one (the operator's clock is real, the seed's dates are relative to the simulator's start)."""
    seed = {
        "speechEndpoints": [
            {
                "id": EXPIRED_ENDPOINT,
                "displayName": "legacy",
                "locale": "en-US",
                "model": BASE_EN_US_EXPIRED,
                "createdDaysAgo": 400,
            }
        ]
    }
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(yaml.safe_dump(seed))
    legacy = Simulator(tmp_path, keys=("legacy-key",), extra_args=["--seed-file", str(seed_file)]).start()
    try:
        kube.apply(legacy.credentials_secret(namespace), namespace)
        body = manifest(
            legacy, "legacy", endpointId=EXPIRED_ENDPOINT, model={"baseModelId": BASE_EN_US_EXPIRED}
        )
        kube.apply(body, namespace)
        obj = kube.wait_condition(KIND, "legacy", namespace, "ModelExpired", timeout=120)
        assert kube.condition(obj, "Ready")["status"] == "True"  # type: ignore[index]
        assert kube.condition(obj, "Available")["status"] == "True"  # type: ignore[index]
        assert kube.condition(obj, "ModelExpiring")["status"] == "False"  # type: ignore[index]
        assert "change spec.model" in kube.condition(obj, "ModelExpired")["message"]  # type: ignore[index]
        assert obj["status"]["model"]["id"] == BASE_EN_US_EXPIRED
        warnings = [e for e in kube.events(namespace, involved_name="legacy") if e.get("type") == "Warning"]
        assert "ModelExpired" in [e.get("reason") for e in warnings]
        assert operation_count(legacy, "Endpoints_Update") == 0  # adopting wrote nothing, not even the name
        kube.delete(KIND, "legacy", namespace, timeout=60)
    finally:
        legacy.stop()
