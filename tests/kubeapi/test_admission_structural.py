"""CRD schema checks: structural rules, v1 restrictions and rule compilation, worded as the apiserver."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubeapi.admission import StructuralSchemaError, check_structural
from tests.kubeapi.admission.testing import crd_with_schema, transcriber_crd

ROOT = "spec.versions[0].schema.openAPIV3Schema"
SPEC = f"{ROOT}.properties[spec]"


def violations(schema: dict[str, Any]) -> list[str]:
    try:
        check_structural(crd_with_schema(schema))
    except StructuralSchemaError as exc:
        return exc.violations
    return []


def with_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec}}


def test_fixture_crd_is_structural() -> None:
    check_structural(transcriber_crd())


class TestTypes:
    def test_missing_type_at_a_field(self) -> None:
        assert violations(with_spec({"type": "object", "properties": {"a": {}}})) == [
            f"{SPEC}.properties[a].type: Required value: must not be empty for specified object fields"
        ]

    def test_missing_type_at_array_items(self) -> None:
        assert violations(with_spec({"type": "array", "items": {}})) == [
            f"{SPEC}.items.type: Required value: must not be empty for specified array items"
        ]

    def test_missing_type_at_the_root(self) -> None:
        assert violations({"properties": {"spec": {"type": "object"}}}) == [
            f"{ROOT}.type: Required value: must not be empty at the root"
        ]

    def test_root_must_be_an_object(self) -> None:
        assert violations({"type": "string"}) == [
            f'{ROOT}.type: Invalid value: "string": must be object at the root'
        ]

    def test_unknown_type(self) -> None:
        assert violations(with_spec({"type": "map"})) == [
            f'{SPEC}.type: Unsupported value: "map": supported values: "array", "boolean", '
            '"integer", "number", "object", "string"'
        ]

    def test_array_needs_items(self) -> None:
        assert violations(with_spec({"type": "array"})) == [
            f"{SPEC}.items: Required value: must be specified"
        ]

    def test_int_or_string_and_preserve_unknown_fields_need_no_type(self) -> None:
        spec = {
            "type": "object",
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "free": {"x-kubernetes-preserve-unknown-fields": True},
            },
        }
        assert violations(with_spec(spec)) == []

    def test_int_or_string_any_of_pattern_is_allowed(self) -> None:
        port = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
        assert violations(with_spec({"type": "object", "properties": {"port": port}})) == []

    def test_int_or_string_excludes_preserve_unknown_fields(self) -> None:
        port = {"x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True}
        assert violations(with_spec({"type": "object", "properties": {"port": port}})) == [
            f"{SPEC}.properties[port].x-kubernetes-preserve-unknown-fields: Invalid value: true: "
            "must be false if x-kubernetes-int-or-string is true"
        ]


class TestJunctors:
    def test_type_inside_any_of(self) -> None:
        spec = {"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"type": "object"}]}
        assert violations(with_spec(spec)) == [
            f"{SPEC}.anyOf[0].type: Forbidden: must be empty to be structural"
        ]

    @pytest.mark.parametrize(
        ("key", "value", "detail"),
        [
            ("description", "d", "must be empty to be structural"),
            ("default", "x", "must be undefined to be structural"),
            ("nullable", True, "must be false to be structural"),
            ("additionalProperties", {"type": "string"}, "must be undefined to be structural"),
            ("x-kubernetes-preserve-unknown-fields", True, "must be false to be structural"),
            ("x-kubernetes-validations", [{"rule": "true"}], "must be empty to be structural"),
        ],
    )
    def test_forbidden_inside_one_of(self, key: str, value: Any, detail: str) -> None:
        spec = {"type": "object", "properties": {"a": {"type": "string"}}, "oneOf": [{key: value}]}
        assert f"{SPEC}.oneOf[0].{key}: Forbidden: {detail}" in violations(with_spec(spec))

    def test_fields_in_junctors_must_exist_outside(self) -> None:
        spec = {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "allOf": [{"properties": {"b": {}}}],
        }
        assert violations(with_spec(spec)) == [
            f"{SPEC}.properties[b]: Required value: because it is defined in {SPEC}.allOf[0].properties[b]"
        ]

    def test_value_validations_in_junctors_are_fine(self) -> None:
        spec = {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
            "not": {"properties": {"a": {"enum": ["x"]}}},
        }
        assert violations(with_spec(spec)) == []

    def test_metadata_in_a_junctor(self) -> None:
        schema = {
            "type": "object",
            "properties": {"metadata": {"type": "object"}},
            "anyOf": [{"properties": {"metadata": {}}}],
        }
        assert (
            f"{ROOT}.anyOf[0].properties[metadata]: Forbidden: must not be specified in a nested context"
            in (violations(schema))
        )


class TestMetadata:
    def test_only_name_and_generate_name_may_be_constrained(self) -> None:
        schema = {
            "type": "object",
            "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}},
        }
        assert violations(schema) == [
            f"{ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and "
            "generateName, but metadata is implicitly specified"
        ]

    def test_name_constraints_are_allowed(self) -> None:
        metadata = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}
        assert violations({"type": "object", "properties": {"metadata": metadata}}) == []

    def test_metadata_must_be_an_object(self) -> None:
        assert f'{ROOT}.properties[metadata].type: Invalid value: "string": must be object' in violations(
            {"type": "object", "properties": {"metadata": {"type": "string"}}}
        )

    def test_embedded_resource_must_be_an_object(self) -> None:
        spec = {
            "type": "object",
            "properties": {"t": {"type": "string", "x-kubernetes-embedded-resource": True}},
        }
        assert (
            f'{SPEC}.properties[t].type: Invalid value: "string": must be object if '
            "x-kubernetes-embedded-resource is true"
        ) in violations(with_spec(spec))


class TestV1Restrictions:
    def test_additional_properties_at_the_root(self) -> None:
        assert violations({"type": "object", "additionalProperties": {"type": "string"}}) == [
            f"{ROOT}.additionalProperties: Forbidden: must not be used at the root"
        ]

    def test_additional_properties_false(self) -> None:
        assert violations(with_spec({"type": "object", "additionalProperties": False})) == [
            f"{SPEC}.additionalProperties: Forbidden: additionalProperties cannot be set to false"
        ]

    def test_properties_and_additional_properties_exclude_each_other(self) -> None:
        spec = {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "string"},
        }
        assert violations(with_spec(spec)) == [
            f"{SPEC}.additionalProperties: Forbidden: additionalProperties and properties are "
            "mutual exclusive"
        ]

    def test_unique_items(self) -> None:
        spec = {"type": "array", "uniqueItems": True, "items": {"type": "string"}}
        assert violations(with_spec(spec)) == [
            f"{SPEC}.uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime "
            "complexity becomes quadratic"
        ]

    @pytest.mark.parametrize("key", ["$ref", "definitions", "patternProperties", "dependencies"])
    def test_unsupported_keywords(self, key: str) -> None:
        assert violations(with_spec({"type": "object", key: {}})) == [
            f"{SPEC}.{key}: Forbidden: {key} is not supported"
        ]

    def test_preserve_unknown_fields_false(self) -> None:
        assert violations(with_spec({"type": "object", "x-kubernetes-preserve-unknown-fields": False})) == [
            f"{SPEC}.x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
        ]

    def test_invalid_pattern(self) -> None:
        result = violations(with_spec({"type": "string", "pattern": "(["}))
        assert len(result) == 1
        assert result[0].startswith(
            f'{SPEC}.pattern: Invalid value: "([": must be a valid regular expression'
        )

    def test_list_map_needs_keys(self) -> None:
        spec = {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}
        assert violations(with_spec(spec)) == [
            f"{SPEC}.x-kubernetes-list-map-keys: Required value: must not be empty if "
            'x-kubernetes-list-type is "map"'
        ]

    def test_list_map_keys_must_be_required_or_defaulted(self) -> None:
        spec = {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        }
        assert violations(with_spec(spec)) == [
            f"{SPEC}.items.required: Required value: all map keys must be required or have a default value"
        ]

    def test_schema_required_per_version(self) -> None:
        crd = crd_with_schema({"type": "object"})
        del crd["spec"]["versions"][0]["schema"]
        with pytest.raises(StructuralSchemaError) as info:
            check_structural(crd)
        assert info.value.violations == [f"{ROOT}: Required value: schemas are required"]


class TestDefaults:
    def test_default_must_validate(self) -> None:
        spec = {"type": "object", "properties": {"mode": {"type": "string", "enum": ["A"], "default": "B"}}}
        assert violations(with_spec(spec)) == [
            f'{SPEC}.properties[mode].default: Unsupported value: "B": supported values: "A"'
        ]

    def test_default_must_be_pruned(self) -> None:
        spec = {
            "type": "object",
            "properties": {
                "o": {"type": "object", "default": {"x": 1}, "properties": {"a": {"type": "string"}}}
            },
        }
        assert violations(with_spec(spec)) == [
            f'{SPEC}.properties[o].default: Invalid value: "object": must not have unknown fields: x'
        ]


class TestRules:
    def test_uncompilable_rule_is_refused(self) -> None:
        spec = {"type": "object", "x-kubernetes-validations": [{"rule": "self.a ==", "message": "m"}]}
        result = violations(with_spec(spec))
        assert len(result) == 1
        assert result[0].startswith(
            f'{SPEC}.x-kubernetes-validations[0].rule: Invalid value: "self.a ==": compilation failed'
        )


class TestErrorShape:
    def test_status_body_for_a_refused_crd(self) -> None:
        crd = crd_with_schema(with_spec({"type": "object", "properties": {"a": {}}}))
        with pytest.raises(StructuralSchemaError) as info:
            check_structural(crd)
        body = info.value.status_body(
            kind="CustomResourceDefinition", group="apiextensions.k8s.io", name="widgets.test.admission.io"
        )
        assert body["code"] == 422
        assert body["message"] == (
            'CustomResourceDefinition.apiextensions.k8s.io "widgets.test.admission.io" is invalid: '
            f"{SPEC}.properties[a].type: Required value: must not be empty for specified object fields"
        )
        assert body["details"]["causes"] == [
            {
                "reason": "FieldValueRequired",
                "message": "Required value: must not be empty for specified object fields",
                "field": f"{SPEC}.properties[a].type",
            }
        ]

    def test_all_versions_are_checked(self) -> None:
        crd = crd_with_schema({"type": "object"})
        second = {**crd["spec"]["versions"][0], "name": "v1", "storage": False}
        second["schema"] = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {}}}}
        crd["spec"]["versions"].append(second)
        with pytest.raises(StructuralSchemaError) as info:
            check_structural(crd)
        assert info.value.violations == [
            "spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: "
            "must not be empty for specified object fields"
        ]


class TestDefaultsAndRules:
    def test_default_must_pass_the_rules_of_its_node(self) -> None:
        mode = {
            "type": "string",
            "default": "slow",
            "x-kubernetes-validations": [{"rule": "self != 'slow'", "message": "slow is gone"}],
        }
        assert violations(with_spec({"type": "object", "properties": {"mode": mode}})) == [
            f'{SPEC}.properties[mode].default: Invalid value: "string": slow is gone'
        ]

    def test_default_objects_are_checked_by_rules_below_them(self) -> None:
        obj = {
            "type": "object",
            "default": {"n": 0},
            "properties": {
                "n": {
                    "type": "integer",
                    "x-kubernetes-validations": [{"rule": "self > 0", "message": "positive"}],
                }
            },
        }
        assert violations(with_spec({"type": "object", "properties": {"o": obj}})) == [
            f'{SPEC}.properties[o].default.n: Invalid value: "integer": positive'
        ]

    def test_transition_rules_see_the_default_as_its_own_old_value(self) -> None:
        mode = {
            "type": "string",
            "default": "a",
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}],
        }
        assert violations(with_spec({"type": "object", "properties": {"mode": mode}})) == []
