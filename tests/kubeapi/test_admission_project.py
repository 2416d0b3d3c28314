"""The project's own CRDs and examples under the admission a real apiserver applies."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission, check_structural

REPO = Path(__file__).resolve().parents[2]


def _docs(folder: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((REPO / folder).glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict):
                out.append((f"{path.name}#{i}", doc))
    return out


CRDS = {
    (doc["spec"]["group"], doc["spec"]["names"]["kind"]): doc
    for _, doc in _docs("crds")
    if doc.get("kind") == "CustomResourceDefinition"
}
CUSTOM_EXAMPLES = [
    (name, doc)
    for name, doc in _docs("examples")
    if (doc.get("apiVersion", "").split("/")[0], doc.get("kind")) in CRDS
]


def _admission(obj: dict[str, Any]) -> CustomResourceAdmission:
    return CustomResourceAdmission(CRDS[(obj["apiVersion"].split("/")[0], obj["kind"])])


@pytest.mark.parametrize("crd", list(CRDS.values()), ids=lambda c: c["metadata"]["name"])
def test_crd_is_accepted(crd: dict[str, Any]) -> None:
    check_structural(crd)


@pytest.mark.parametrize(("name", "obj"), CUSTOM_EXAMPLES, ids=[n for n, _ in CUSTOM_EXAMPLES])
def test_example_is_admitted_and_stable_under_update(name: str, obj: dict[str, Any]) -> None:
    admission = _admission(obj)
    version = obj["apiVersion"].split("/")[1]
    admitted = admission.admit(version, copy.deepcopy(obj))
    assert admission.unknown_fields(version, obj) == [], f"{name} has fields the CRD prunes"
    assert admission.admit(version, copy.deepcopy(admitted), admitted) == admitted


@pytest.mark.parametrize(("name", "obj"), CUSTOM_EXAMPLES, ids=[n for n, _ in CUSTOM_EXAMPLES])
def test_example_admission_is_fast(name: str, obj: dict[str, Any]) -> None:
    admission = _admission(obj)
    version = obj["apiVersion"].split("/")[1]
    admitted = admission.admit(version, copy.deepcopy(obj))
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        admission.admit(version, admitted, admitted)
    assert (time.perf_counter() - start) / runs < 0.005


@pytest.mark.parametrize(("name", "obj"), CUSTOM_EXAMPLES, ids=[n for n, _ in CUSTOM_EXAMPLES])
def test_example_immutable_locale_if_the_kind_has_one(name: str, obj: dict[str, Any]) -> None:
    spec = obj.get("spec") or {}
    if "locale" not in spec:
        pytest.skip(f"{name} has no spec.locale")
    admission = _admission(obj)
    version = obj["apiVersion"].split("/")[1]
    admitted = admission.admit(version, copy.deepcopy(obj))
    changed = copy.deepcopy(admitted)
    changed["spec"]["locale"] = "xx-XX" if spec["locale"] != "xx-XX" else "yy-YY"
    with pytest.raises(AdmissionError) as info:
        admission.admit(version, changed, admitted)
    assert any("immutable" in cause.message for cause in info.value.causes), info.value.causes


@pytest.mark.skipif(not CRDS, reason="no CRDs in crds/")
def test_kubectl_applies_the_crds_and_examples_with_validation(kubectl: Any) -> None:
    """`kubectl apply` as a user runs it (client defaults: --validate=strict), no --validate=false."""
    for path in sorted((REPO / "crds").glob("*.yaml")):
        kubectl("apply", "-f", str(path))
    for path in sorted((REPO / "examples").glob("*.yaml")):
        out = kubectl("apply", "-f", str(path))
        assert "created" in out.stdout, out.stdout
    for name, obj in CUSTOM_EXAMPLES:
        # applying the same manifest again changes nothing, so passes every transition rule
        again = kubectl("apply", "-f", str(REPO / "examples" / name.split("#")[0])).stdout
        assert f"{obj['metadata']['name']} unchanged" in again, again
