"""The CRDs in crds/ and the objects in examples/ through the session's real kube-apiserver: schema,
defaults, pruning and CEL rules as a cluster applies them. Each case is a `kubectl apply --dry-run=server`
(nothing is stored) in the test's own namespace, or a real apply first where a transition rule needs an old
object. The refusals are the apiserver's own words, and they name the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kube

from .crd_support import INVALID_ENDPOINTS, VALID_ENDPOINTS, dry_run, in_namespace, refusal, reported_at
from .test_speech_support import speech_endpoint

REPO = Path(__file__).resolve().parents[2]
UUID_A = "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"
UUID_B = "c0570001-0000-4000-8000-000000000001"
AZURE = speech_endpoint()["spec"]["azure"]
AZURE_BY_ENDPOINT = {"credentials": AZURE["credentials"]}


def documents(folder: str) -> list[tuple[str, dict[str, Any]]]:
    """(file#index, object) of every YAML document directly in `folder`."""
    found = []
    for path in sorted((REPO / folder).glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict):
                found.append((f"{path.name}#{i}", doc))
    return found


CRDS = [doc for _, doc in documents("crds") if doc.get("kind") == "CustomResourceDefinition"]
CUSTOM_KINDS = {(crd["spec"]["group"], crd["spec"]["names"]["kind"]) for crd in CRDS}
EXAMPLES = documents("examples")


def is_custom(obj: dict[str, Any]) -> bool:
    return (obj["apiVersion"].split("/")[0], obj["kind"]) in CUSTOM_KINDS


# --- the CRDs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crd", CRDS, ids=[crd["metadata"]["name"] for crd in CRDS])
def test_the_crd_is_structural_and_established(kube: Kube, crd: dict[str, Any]) -> None:
    """The session applied crds/ (an apiserver refuses a CRD whose CEL rules do not compile)."""
    stored = kube.get("CustomResourceDefinition", crd["metadata"]["name"])
    assert stored is not None
    conditions = {c["type"]: c for c in stored["status"]["conditions"]}
    assert conditions["Established"]["status"] == "True"
    assert conditions["NamesAccepted"]["status"] == "True"
    assert "NonStructuralSchema" not in conditions, conditions["NonStructuralSchema"]["message"]


@pytest.mark.parametrize("path", sorted((REPO / "crds").glob("*.yaml")), ids=lambda p: p.name)
def test_reapplying_a_crd_as_the_readme_does_is_quiet(kube: Kube, path: Path) -> None:
    """No client-side-apply warning (a too-large last-applied annotation, a patch kubectl cannot compute)."""
    proc = kube.kubectl("apply", "-f", str(path))
    assert "unchanged" in proc.stdout and proc.stderr == ""


# --- SpeechEndpoint cases ---------------------------------------------------------------------------------


def test_a_minimal_object_is_admitted_and_defaulted(kube: Kube, cluster_namespace: str) -> None:
    admitted = dry_run(kube, in_namespace(speech_endpoint(), cluster_namespace))
    assert admitted["spec"]["azure"]["apiVersion"] == "2025-10-15"
    assert admitted["spec"]["azure"]["credentials"]["secretRef"]["key"] == "key"
    assert admitted["spec"]["deletionPolicy"] == "Delete"


def test_a_namespace_on_the_secret_ref_is_refused_by_kubectl_and_pruned_without_validation(
    kube: Kube, cluster_namespace: str
) -> None:
    obj = in_namespace(speech_endpoint(), cluster_namespace)
    obj["spec"]["azure"]["credentials"]["secretRef"]["namespace"] = "other"
    # kubectl's default --validate=strict: the apiserver names the field it does not know
    assert 'unknown field "spec.azure.credentials.secretRef.namespace"' in refusal(kube, obj)
    admitted = dry_run(kube, obj, "--validate=false")
    assert admitted["spec"]["azure"]["credentials"]["secretRef"] == {
        "name": "speech-credentials",
        "key": "key",
    }


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"model": {"baseModelId": UUID_A, "customModelId": UUID_A}},
            "spec.model",
            "set exactly one of spec.model.customModelId and spec.model.baseModelId",
        ),
        ({"endpointId": "nope"}, "spec.endpointId", "should match"),
        (
            {"customProperties": {"azure-speech-operator-uid": "x"}},
            "spec.customProperties",
            "must not use the key azure-speech-operator-uid",
        ),
        (
            {"customProperties": {f"k{i}": "v" for i in range(10)}},
            "spec.customProperties",
            "must have at most 9",
        ),
        (
            {"projectId": UUID_B, "azure": {**AZURE, "apiVersion": "2024-11-15"}},
            "spec.projectId",
            "Forbidden: spec.projectId is not supported by Azure API version 2024-11-15",
        ),
        (
            {"azure": {"region": "westeurope", "credentials": {"workloadIdentity": {}}}},
            "spec.azure.credentials.workloadIdentity",
            "Forbidden: spec.azure.credentials.workloadIdentity needs spec.azure.endpoint",
        ),
    ],
    ids=[
        "two-models",
        "endpoint-id-not-a-uuid",
        "reserved-property",
        "ten-properties",
        "project-id-on-2024-11-15",
        "workload-identity-on-a-region",
    ],
)
def test_refusals(
    kube: Kube, cluster_namespace: str, overrides: dict[str, Any], field: str, words: str
) -> None:
    message = refusal(kube, in_namespace(speech_endpoint(**overrides), cluster_namespace))
    assert reported_at(message, field) and words in message, message


@pytest.mark.parametrize("endpoint", VALID_ENDPOINTS)
def test_an_endpoint_is_admitted(kube: Kube, cluster_namespace: str, endpoint: str) -> None:
    obj = speech_endpoint(azure={**AZURE_BY_ENDPOINT, "endpoint": endpoint})
    assert dry_run(kube, in_namespace(obj, cluster_namespace))["spec"]["azure"]["endpoint"] == endpoint


@pytest.mark.parametrize(("endpoint", "why"), INVALID_ENDPOINTS, ids=[why for _, why in INVALID_ENDPOINTS])
def test_an_endpoint_is_refused_at_the_field(
    kube: Kube, cluster_namespace: str, endpoint: str, why: str
) -> None:
    obj = speech_endpoint(azure={**AZURE_BY_ENDPOINT, "endpoint": endpoint})
    message = refusal(kube, in_namespace(obj, cluster_namespace))
    assert reported_at(message, "spec.azure.endpoint") and "should match" in message, message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"locale": "de-DE"}, "spec.locale", "spec.locale is immutable"),
        (
            {"azure": {**AZURE, "region": "northeurope"}},
            "spec.azure.region",
            "spec.azure.region is immutable",
        ),
        ({"endpointId": UUID_B}, "spec.endpointId", "spec.endpointId can be set once"),
        ({"endpointId": None}, "spec.endpointId", "spec.endpointId can be set once"),
    ],
    ids=["locale", "region", "endpoint-id-changed", "endpoint-id-removed"],
)
def test_transition_rules_on_update(
    kube: Kube, cluster_namespace: str, change: dict[str, Any], field: str, words: str
) -> None:
    kube.apply(in_namespace(speech_endpoint(endpointId=UUID_A), cluster_namespace))
    changed = speech_endpoint(**{"endpointId": UUID_A, **change})
    message = refusal(kube, in_namespace(changed, cluster_namespace))
    # each rule names the field it is about (fieldPath): the apiserver reports it there, not on the parent
    assert reported_at(message, field) and words in message, message


def test_an_endpoint_id_may_be_set_once_on_update(kube: Kube, cluster_namespace: str) -> None:
    kube.apply(in_namespace(speech_endpoint(), cluster_namespace))
    adopted = dry_run(kube, in_namespace(speech_endpoint(endpointId=UUID_A), cluster_namespace))
    assert adopted["spec"]["endpointId"] == UUID_A


def test_status_is_kept_not_pruned(kube: Kube, cluster_namespace: str) -> None:
    obj = in_namespace(speech_endpoint(), cluster_namespace)
    kube.apply(obj)
    status = {
        "observedGeneration": 2,
        "endpointId": UUID_A,
        "azureStatus": "Succeeded",
        "model": {"id": UUID_A, "kind": "base", "transcriptionExpiresAt": "2027-01-15T00:00:00Z"},
        "servingModel": {"id": UUID_A, "kind": "base"},
        "links": {"webSocket": "wss://x"},
        "error": {"code": "InvalidModel", "message": "m", "class": "fatal"},
        "reconcileRequestedAt": "now",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "",
                "lastTransitionTime": "2026-11-21T06:00:00Z",
                "observedGeneration": 2,
            }
        ],
    }
    write = {key: obj[key] for key in ("apiVersion", "kind", "metadata")} | {"status": status}
    # strict field validation (kubectl's default): a status field the schema does not declare is refused
    stored = dry_run(kube, write, "--server-side", "--subresource=status")
    assert stored["status"] == status
    write["status"] = {**status, "bogus": 1}
    assert ".status.bogus: field not declared in schema" in refusal(
        kube, write, "--server-side", "--subresource=status"
    )


# --- the examples -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "obj"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_applies_as_written_again_unchanged_and_keeps_its_transition_rules(
    kube: Kube, cluster_namespace: str, name: str, obj: dict[str, Any]
) -> None:
    """`kubectl apply` as a user runs it (--validate=strict: no field the schema would prune)."""
    obj = in_namespace(obj, cluster_namespace)
    assert "created" in kube.apply(obj)
    if not is_custom(obj):
        return  # (a Secret's stringData is never stored, so kubectl reapplies it as "configured")
    assert "unchanged" in kube.apply(obj)
    # an update that changes nothing passes every rule, transition rules included, and changes nothing
    stored = kube.get(obj["kind"], obj["metadata"]["name"], cluster_namespace, api_version=obj["apiVersion"])
    assert stored is not None
    replaced = dry_run(kube, stored, verb="replace")
    assert replaced["spec"] == stored["spec"]
    assert replaced["metadata"]["generation"] == stored["metadata"]["generation"]
    if "locale" in obj.get("spec", {}):
        changed = copy.deepcopy(obj)
        changed["spec"]["locale"] = "xx-XX" if obj["spec"]["locale"] != "xx-XX" else "yy-YY"
        assert "spec.locale is immutable" in refusal(kube, changed)
