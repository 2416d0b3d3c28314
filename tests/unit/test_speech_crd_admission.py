"""The SpeechEndpoint CRD through the emulated API's admission (tests/kubeapi/admission, Kubernetes 1.32's
rules): the CRD is structural and its rules compile, and objects are admitted or refused as on a cluster."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission, check_structural

from .test_speech_support import load_crd, speech_endpoint

UUID_A = "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"


@pytest.fixture(scope="module")
def admission() -> CustomResourceAdmission:
    return CustomResourceAdmission(load_crd())


def refusal(
    admission: CustomResourceAdmission, obj: dict[str, Any], old: dict[str, Any] | None = None
) -> str:
    with pytest.raises(AdmissionError) as info:
        admission.admit("v1alpha1", obj, old)
    return "\n".join(f"{c.field}: {c.message}" for c in info.value.causes)


def test_the_crd_is_structural_and_its_rules_compile() -> None:
    check_structural(load_crd())


def test_a_minimal_object_is_admitted_and_defaulted(admission: CustomResourceAdmission) -> None:
    admitted = admission.admit("v1alpha1", speech_endpoint())
    assert admitted["spec"]["azure"]["apiVersion"] == "2025-10-15"
    assert admitted["spec"]["deletionPolicy"] == "Delete"


def test_a_namespace_on_the_secret_ref_is_pruned(admission: CustomResourceAdmission) -> None:
    obj = speech_endpoint()
    obj["spec"]["azure"]["credentials"]["secretRef"]["namespace"] = "other"
    assert admission.unknown_fields("v1alpha1", obj) == ["spec.azure.credentials.secretRef.namespace"]
    admitted = admission.admit("v1alpha1", obj)
    assert "namespace" not in admitted["spec"]["azure"]["credentials"]["secretRef"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model": {"baseModelId": UUID_A, "customModelId": UUID_A}}, "exactly one of spec.model"),
        ({"endpointId": "nope"}, "spec.endpointId"),
        ({"customProperties": {"azure-speech-operator-uid": "x"}}, "must not use the key"),
        ({"customProperties": {f"k{i}": "v" for i in range(10)}}, "must have at most 9"),
    ],
)
def test_refusals(admission: CustomResourceAdmission, overrides: dict[str, Any], words: str) -> None:
    assert words in refusal(admission, speech_endpoint(**overrides))


def test_immutable_locale_on_update(admission: CustomResourceAdmission) -> None:
    old = admission.admit("v1alpha1", speech_endpoint())
    new = copy.deepcopy(old)
    new["spec"]["locale"] = "de-DE"
    assert "spec.locale is immutable" in refusal(admission, new, old)


def test_status_is_kept_not_pruned(admission: CustomResourceAdmission) -> None:
    obj = speech_endpoint()
    obj["status"] = {
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
    assert admission.unknown_fields("v1alpha1", obj) == []
    assert admission.admit("v1alpha1", obj)["status"] == obj["status"]
