"""The OpenAPI documents: what kubectl 1.32 reads from them (fieldValidation support, GVKs, schemas)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.kubeapi.admission import openapi_v2_document, openapi_v3_documents
from tests.kubeapi.admission.testing import transcriber_crd

GV = "apis/test.admission.io/v1alpha1"
GVK = {"group": "test.admission.io", "version": "v1alpha1", "kind": "Transcriber"}
BUILTIN_GVKS = [
    ("api/v1", {"group": "", "version": "v1", "kind": "Namespace"}),
    ("api/v1", {"group": "", "version": "v1", "kind": "Secret"}),
    ("api/v1", {"group": "", "version": "v1", "kind": "ConfigMap"}),
    ("api/v1", {"group": "", "version": "v1", "kind": "Event"}),
    ("apis/events.k8s.io/v1", {"group": "events.k8s.io", "version": "v1", "kind": "Event"}),
    ("apis/coordination.k8s.io/v1", {"group": "coordination.k8s.io", "version": "v1", "kind": "Lease"}),
    (
        "apis/apiextensions.k8s.io/v1",
        {"group": "apiextensions.k8s.io", "version": "v1", "kind": "CustomResourceDefinition"},
    ),
]


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return openapi_v3_documents([transcriber_crd()])


def supports_field_validation(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """cli-runtime's supportsQueryParamV3: the first PATCH op tagged with the GVK lists the parameter."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op is None or op.get("x-kubernetes-group-version-kind") != gvk:
            continue
        return any(p.get("name") == "fieldValidation" for p in op.get("parameters", []))
    return False


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_one_document_per_group_version(docs: dict[str, dict[str, Any]]) -> None:
    assert set(docs) == {GV, *(gv for gv, _ in BUILTIN_GVKS)}
    for doc in docs.values():
        assert doc["openapi"].startswith("3.0")


def test_custom_resource_patch_supports_field_validation(docs: dict[str, dict[str, Any]]) -> None:
    assert supports_field_validation(docs[GV], GVK)


@pytest.mark.parametrize(("gv", "gvk"), BUILTIN_GVKS, ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_builtin_patch_supports_field_validation(
    docs: dict[str, dict[str, Any]], gv: str, gvk: dict[str, str]
) -> None:
    assert supports_field_validation(docs[gv], gvk)


def test_patch_never_offers_strategic_merge(docs: dict[str, dict[str, Any]]) -> None:
    # kubectl then takes strategic-merge metadata from its compiled-in types, not from these schemas
    for doc in docs.values():
        for item in doc["paths"].values():
            if "patch" in item:
                assert "application/strategic-merge-patch+json" not in item["patch"]["requestBody"]["content"]


def test_paths_of_a_namespaced_resource_with_status(docs: dict[str, dict[str, Any]]) -> None:
    base = "/apis/test.admission.io/v1alpha1"
    assert set(docs[GV]["paths"]) == {
        f"{base}/namespaces/{{namespace}}/transcribers",
        f"{base}/namespaces/{{namespace}}/transcribers/{{name}}",
        f"{base}/namespaces/{{namespace}}/transcribers/{{name}}/status",
        f"{base}/transcribers",
    }


def test_cluster_scoped_paths(docs: dict[str, dict[str, Any]]) -> None:
    assert set(docs["api/v1"]["paths"]) >= {"/api/v1/namespaces", "/api/v1/namespaces/{name}"}


def test_schema_component_carries_the_gvk_and_the_crd_schema(docs: dict[str, dict[str, Any]]) -> None:
    schemas = docs[GV]["components"]["schemas"]
    component = schemas["io.admission.test.v1alpha1.Transcriber"]
    assert component["x-kubernetes-group-version-kind"] == [GVK]
    assert component["properties"]["spec"]["properties"]["locale"]["pattern"] == "^[a-z]{2,3}-[A-Z]{2}$"
    assert component["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert schemas["io.admission.test.v1alpha1.TranscriberList"]["x-kubernetes-group-version-kind"] == [
        {**GVK, "kind": "TranscriberList"}
    ]


def test_every_ref_resolves(docs: dict[str, dict[str, Any]]) -> None:
    for doc in docs.values():
        for ref in _refs(doc):
            assert ref.startswith("#/components/schemas/")
            assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], ref


def test_unserved_versions_are_not_published() -> None:
    crd = transcriber_crd()
    crd["spec"]["versions"][0]["served"] = False
    assert GV not in openapi_v3_documents([crd])


def test_documents_do_not_share_state_with_the_crd() -> None:
    crd = transcriber_crd()
    docs = openapi_v3_documents([crd])
    docs[GV]["components"]["schemas"]["io.admission.test.v1alpha1.Transcriber"]["properties"].clear()
    assert "spec" in crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]


class TestV2:
    def test_definitions_with_gvk(self) -> None:
        doc = openapi_v2_document([transcriber_crd()])
        assert doc["swagger"] == "2.0"
        definition = doc["definitions"]["io.admission.test.v1alpha1.Transcriber"]
        assert definition["x-kubernetes-group-version-kind"] == [GVK]
        assert "io.k8s.api.core.v1.ConfigMap" in doc["definitions"]

    def test_v2_drops_what_swagger_cannot_say(self) -> None:
        crd = transcriber_crd()
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec["properties"]["note"] = {"type": "string", "nullable": True}
        spec["oneOf"] = [{"required": ["locale"]}]
        definition = openapi_v2_document([crd])["definitions"]["io.admission.test.v1alpha1.Transcriber"]
        v2_spec = definition["properties"]["spec"]
        assert "oneOf" not in v2_spec
        assert "x-kubernetes-validations" not in v2_spec
        assert v2_spec["properties"]["note"] == {}

    def test_refs_point_at_definitions(self) -> None:
        doc = openapi_v2_document([transcriber_crd()])
        for ref in _refs(doc):
            assert ref.removeprefix("#/definitions/") in doc["definitions"], ref


# ---------------------------------------------------------------- through kubectl, against the emulated API


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MANIFEST = {
    "apiVersion": "test.admission.io/v1alpha1",
    "kind": "Transcriber",
    "metadata": {"name": "t1", "namespace": "default"},
    "spec": {"locale": "en-US", "model": {"baseModelId": "9e240dc1-1111-2222-3333-444455556666"}},
}


def test_kubectl_explain_reads_the_crd_schema(http: httpx.Client, kubectl: Any) -> None:
    assert http.post(CRDS, json=transcriber_crd()).status_code == 201
    out = kubectl("explain", "transcribers.spec", "--recursive").stdout
    assert "locale\t<string> -required-" in out
    assert "deletionPolicy\t<string>" in out


def test_kubectl_apply_validates_on_the_server_and_prints_the_rule_message(
    http: httpx.Client, kubectl: Any
) -> None:
    assert http.post(CRDS, json=transcriber_crd()).status_code == 201
    created = kubectl("apply", "-v=6", "-f", "-", input=yaml.safe_dump(MANIFEST))
    assert "fieldValidation=Strict" in created.stderr
    assert "/openapi/v2" not in created.stderr
    changed = yaml.safe_dump({**MANIFEST, "spec": {**MANIFEST["spec"], "locale": "de-DE"}})
    proc = kubectl("apply", "-f", "-", input=changed, check=False)
    assert proc.returncode != 0
    assert 'The Transcriber "t1" is invalid: spec.locale: Invalid value: "string": locale is immutable' in (
        proc.stderr
    )
