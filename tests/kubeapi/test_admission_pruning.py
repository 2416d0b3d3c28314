"""Pruning of unknown fields and defaulting, done by the apiserver to custom objects before validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission
from tests.kubeapi.admission.testing import (
    crd_with_schema,
    spec_admission,
    transcriber,
    transcriber_crd,
    widget,
)


@pytest.fixture(scope="module")
def admission() -> CustomResourceAdmission:
    return CustomResourceAdmission(transcriber_crd())


class TestPruning:
    def test_unknown_spec_field_dropped(self, admission: CustomResourceAdmission) -> None:
        admitted = admission.admit("v1alpha1", transcriber(bogus=1))
        assert "bogus" not in admitted["spec"]

    def test_unknown_status_field_dropped(self, admission: CustomResourceAdmission) -> None:
        obj = transcriber()
        obj["status"] = {"azureStatus": "Running", "junk": {"x": 1}}
        admitted = admission.admit("v1alpha1", obj, subresource="status")
        assert admitted["status"] == {"azureStatus": "Running"}

    def test_unknown_top_level_field_dropped_but_type_meta_and_metadata_kept(
        self, admission: CustomResourceAdmission
    ) -> None:
        obj = transcriber()
        obj["extra"] = True
        obj["metadata"]["labels"] = {"a": "b"}
        admitted = admission.admit("v1alpha1", obj)
        assert set(admitted) == {"apiVersion", "kind", "metadata", "spec"}
        assert admitted["metadata"] == {"name": "call-center", "namespace": "team-a", "labels": {"a": "b"}}

    def test_nested_unknown_dropped(self, admission: CustomResourceAdmission) -> None:
        admitted = admission.admit(
            "v1alpha1", transcriber(model={"baseModelId": "9e240dc1-1111-2222-3333-444455556666", "x": 1})
        )
        assert admitted["spec"]["model"] == {"baseModelId": "9e240dc1-1111-2222-3333-444455556666"}

    def test_unknown_inside_list_items_dropped(self, admission: CustomResourceAdmission) -> None:
        obj = transcriber()
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True", "nope": 1}]}
        admitted = admission.admit("v1alpha1", obj)
        assert admitted["status"]["conditions"] == [{"type": "Ready", "status": "True"}]

    def test_unknown_fields_lists_what_pruning_drops(self, admission: CustomResourceAdmission) -> None:
        obj = transcriber(bogus=1, model={"baseModelId": "9e240dc1-1111-2222-3333-444455556666", "x": 2})
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True", "nope": 1}]}
        assert admission.unknown_fields("v1alpha1", obj) == [
            "spec.model.x",
            "spec.bogus",
            "status.conditions[0].nope",
        ]

    def test_unknown_fields_leaves_the_object_alone(self, admission: CustomResourceAdmission) -> None:
        obj = transcriber(bogus=1)
        admission.unknown_fields("v1alpha1", obj)
        assert obj["spec"]["bogus"] == 1

    def test_admit_does_not_mutate_its_input(self, admission: CustomResourceAdmission) -> None:
        obj = transcriber(bogus=1)
        admission.admit("v1alpha1", obj)
        assert obj["spec"]["bogus"] == 1
        assert "deletionPolicy" not in obj["spec"]

    def test_preserve_unknown_fields_keeps_subtree(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}},
                }
            },
        }
        admission = CustomResourceAdmission(crd_with_schema(schema))
        admitted = admission.admit("v1alpha1", widget({"free": {"deep": [1]}, "known": {"a": "x", "b": "y"}}))
        # unknown fields are kept where preserved, but known properties are still pruned by their own schema
        assert admitted["spec"] == {"free": {"deep": [1]}, "known": {"a": "x"}}

    def test_embedded_resource_keeps_type_meta_and_metadata(self) -> None:
        template = {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "properties": {"data": {"type": "object", "additionalProperties": {"type": "string"}}},
        }
        admission = spec_admission({"type": "object", "properties": {"template": template}})
        embedded = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x"},
            "data": {"a": "b"},
            "junk": 1,
        }
        admitted = admission.admit("v1alpha1", widget({"template": embedded}))
        assert admitted["spec"]["template"] == {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x"},
            "data": {"a": "b"},
        }

    def test_type_meta_is_pruned_below_the_root(self) -> None:
        admission = spec_admission({"type": "object", "properties": {"a": {"type": "string"}}})
        admitted = admission.admit("v1alpha1", widget({"a": "x", "kind": "k", "metadata": {}}))
        assert admitted["spec"] == {"a": "x"}


class TestDefaulting:
    def test_defaults_applied_for_missing_fields(self, admission: CustomResourceAdmission) -> None:
        spec = admission.admit("v1alpha1", transcriber())["spec"]
        assert spec["deletionPolicy"] == "Delete"
        assert spec["loggingEnabled"] is False
        assert spec["apiVersion"] == "2025-10-15"
        assert spec["replicas"] == 1

    def test_given_values_win(self, admission: CustomResourceAdmission) -> None:
        spec = admission.admit("v1alpha1", transcriber(deletionPolicy="Orphan", replicas=3))["spec"]
        assert (spec["deletionPolicy"], spec["replicas"]) == ("Orphan", 3)

    def test_nested_defaults_only_when_parent_exists(self, admission: CustomResourceAdmission) -> None:
        assert "exportTo" not in admission.admit("v1alpha1", transcriber())["spec"]
        export = admission.admit("v1alpha1", transcriber(exportTo={"configMapName": "cm"}))["spec"][
            "exportTo"
        ]
        # the defaulted object (keys: {}) gets its own fields' defaults too: defaulting is top-down
        assert export == {"configMapName": "cm", "keys": {"endpointId": "endpointId", "url": "url"}}

    def test_defaults_in_list_items_and_map_values(self) -> None:
        item = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "weight": {"type": "integer", "default": 1}},
        }
        schema = {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": item},
                "byName": {"type": "object", "additionalProperties": item},
            },
        }
        admitted = spec_admission(schema).admit(
            "v1alpha1", widget({"items": [{"name": "a"}], "byName": {"b": {}}})
        )
        assert admitted["spec"] == {"items": [{"name": "a", "weight": 1}], "byName": {"b": {"weight": 1}}}

    def test_defaults_applied_before_validation(self) -> None:
        schema = {
            "type": "object",
            "required": ["mode"],
            "properties": {"mode": {"type": "string", "enum": ["A", "B"], "default": "A"}},
        }
        assert spec_admission(schema).admit("v1alpha1", widget({}))["spec"] == {"mode": "A"}

    def test_default_satisfies_cel_rule(self) -> None:
        schema = {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.mode == 'A'"}],
            "properties": {"mode": {"type": "string", "default": "A"}},
        }
        assert spec_admission(schema).admit("v1alpha1", widget({}))["spec"] == {"mode": "A"}

    def test_default_is_copied_not_shared(self) -> None:
        schema = {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}, "default": []}},
        }
        admission = spec_admission(schema)
        first = admission.admit("v1alpha1", widget({}))
        first["spec"]["tags"].append("x")
        assert admission.admit("v1alpha1", widget({}))["spec"]["tags"] == []

    def test_status_defaults(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "spec": {"type": "object"},
                "status": {
                    "type": "object",
                    "properties": {"phase": {"type": "string", "default": "Pending"}},
                },
            },
        }
        admission = CustomResourceAdmission(crd_with_schema(schema))
        obj: dict[str, Any] = {**widget({}), "status": {}}
        assert admission.admit("v1alpha1", obj)["status"] == {"phase": "Pending"}


class TestUnknownVersion:
    def test_unknown_version_is_a_key_error(self, admission: CustomResourceAdmission) -> None:
        with pytest.raises(KeyError, match="v9"):
            admission.admit("v9", transcriber())


def test_a_schemaless_version_preserves_everything() -> None:
    crd = crd_with_schema({"type": "object"})
    del crd["spec"]["versions"][0]["schema"]
    admitted = CustomResourceAdmission(crd).admit("v1alpha1", widget({"anything": [1, {"a": None}]}))
    assert admitted["spec"] == {"anything": [1, {"a": None}]}


def test_invalid_object_raises_with_every_cause(admission: CustomResourceAdmission) -> None:
    with pytest.raises(AdmissionError) as info:
        admission.admit("v1alpha1", transcriber(locale="english", deletionPolicy="Never"))
    # an Unsupported value blocks the CEL rules, which the last cause says
    assert [c.field for c in info.value.causes] == ["spec.locale", "spec.deletionPolicy", "<nil>"]


def test_admission_is_independent_of_later_changes_to_the_crd_object() -> None:
    crd = transcriber_crd()
    admission = CustomResourceAdmission(crd)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = {"type": "object"}
    with pytest.raises(AdmissionError):
        admission.admit("v1alpha1", transcriber(locale="english"))


def test_schema_nodes_shared_by_yaml_anchors_are_handled_apart() -> None:
    import yaml

    text = """
type: object
properties:
  spec:
    type: object
    properties:
      a: &node
        type: string
        x-kubernetes-validations: [{rule: "self != 'bad'", message: "no bad"}]
      l:
        type: array
        items: *node
"""
    admission = CustomResourceAdmission(crd_with_schema(yaml.safe_load(text)))
    with pytest.raises(AdmissionError) as info:
        admission.admit("v1alpha1", widget({"a": "bad", "l": ["ok", "bad"]}))
    assert [c.field for c in info.value.causes] == ["spec.a", "spec.l[1]"]
