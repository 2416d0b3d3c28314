"""openAPIV3Schema validation of custom objects: each keyword, with the apiserver's field paths and wording.

Expected messages are those kube-apiserver prints (apiextensions-apiserver's kubeOpenAPIResultToFieldErrors on
top of kube-openapi's validator, rendered by apimachinery's field.Error).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubeapi.admission import AdmissionError
from tests.kubeapi.admission.testing import spec_admission, widget


def causes(spec_schema: dict[str, Any], spec: Any) -> list[str]:
    try:
        spec_admission(spec_schema).admit("v1alpha1", widget(spec))
    except AdmissionError as exc:
        return [str(c) for c in exc.causes]
    return []


def reasons(spec_schema: dict[str, Any], spec: Any) -> list[str]:
    try:
        spec_admission(spec_schema).admit("v1alpha1", widget(spec))
    except AdmissionError as exc:
        return [c.type for c in exc.causes]
    return []


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


class TestTypes:
    def test_string_given_an_integer(self) -> None:
        assert causes(obj(locale={"type": "string"}), {"locale": 5}) == [
            'spec.locale: Invalid value: "integer": spec.locale in body must be of type string: "integer"'
        ]

    def test_integer_given_a_string(self) -> None:
        assert causes(obj(replicas={"type": "integer"}), {"replicas": "many"})[0] == (
            'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'
        )

    def test_type_errors_are_reported_as_type_invalid(self) -> None:
        assert reasons(obj(replicas={"type": "integer"}), {"replicas": "many"}) == ["FieldValueTypeInvalid"]

    def test_integer_given_a_fraction(self) -> None:
        assert causes(obj(replicas={"type": "integer"}), {"replicas": 1.5})[0] == (
            'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"'
        )

    def test_integral_float_is_an_integer(self) -> None:
        assert causes(obj(replicas={"type": "integer"}), {"replicas": 2.0}) == []

    def test_number_accepts_integers(self) -> None:
        assert causes(obj(ratio={"type": "number"}), {"ratio": 2}) == []

    def test_boolean_is_not_an_integer(self) -> None:
        assert causes(obj(n={"type": "integer"}), {"n": True})[0] == (
            'spec.n: Invalid value: "boolean": spec.n in body must be of type integer: "boolean"'
        )

    def test_object_given_a_list(self) -> None:
        assert causes(obj(model=obj(id={"type": "string"})), {"model": ["a"]})[0] == (
            'spec.model: Invalid value: "array": spec.model in body must be of type object: "array"'
        )

    def test_list_items_are_typed_with_index_paths(self) -> None:
        schema = obj(tags={"type": "array", "items": {"type": "string"}})
        assert causes(schema, {"tags": ["a", 3]})[0] == (
            'spec.tags[1]: Invalid value: "integer": spec.tags[1] in body must be of type string: "integer"'
        )

    def test_int_or_string(self) -> None:
        schema = obj(port={"x-kubernetes-int-or-string": True})
        assert causes(schema, {"port": 80}) == []
        assert causes(schema, {"port": "http"}) == []
        assert causes(schema, {"port": 1.5})[0].startswith('spec.port: Invalid value: "number"')


class TestNullable:
    def test_null_is_dropped_for_a_non_nullable_field(self) -> None:
        admitted = spec_admission(obj(name={"type": "string"})).admit("v1alpha1", widget({"name": None}))
        assert admitted["spec"] == {}

    def test_null_kept_when_nullable(self) -> None:
        admission = spec_admission(obj(name={"type": "string", "nullable": True}))
        assert admission.admit("v1alpha1", widget({"name": None}))["spec"] == {"name": None}

    def test_null_replaced_by_the_default(self) -> None:
        admission = spec_admission(obj(name={"type": "string", "default": "x"}))
        assert admission.admit("v1alpha1", widget({"name": None}))["spec"] == {"name": "x"}

    def test_null_list_item_is_a_type_error(self) -> None:
        schema = obj(tags={"type": "array", "items": {"type": "string"}})
        assert causes(schema, {"tags": [None]})[0] == (
            'spec.tags[0]: Invalid value: "null": spec.tags[0] in body must be of type string: "null"'
        )


class TestEnum:
    def test_unsupported_value_lists_the_supported_ones(self) -> None:
        schema = obj(kind={"type": "string", "enum": ["HighPerformance", "FastResume"]})
        assert causes(schema, {"kind": "Foo"}) == [
            'spec.kind: Unsupported value: "Foo": supported values: "HighPerformance", "FastResume"'
        ]
        assert reasons(schema, {"kind": "Foo"}) == ["FieldValueNotSupported"]

    def test_non_string_enum_values_are_json(self) -> None:
        schema = obj(level={"type": "integer", "enum": [1, 2]})
        assert causes(schema, {"level": 3}) == [
            'spec.level: Unsupported value: 3: supported values: "1", "2"'
        ]

    def test_member_passes(self) -> None:
        assert causes(obj(kind={"type": "string", "enum": ["A", "B"]}), {"kind": "B"}) == []


class TestRequired:
    def test_missing_field(self) -> None:
        schema = {**obj(locale={"type": "string"}), "required": ["locale"]}
        assert causes(schema, {}) == ["spec.locale: Required value"]
        assert reasons(schema, {}) == ["FieldValueRequired"]

    def test_missing_spec_at_the_root(self) -> None:
        from tests.kubeapi.admission import CustomResourceAdmission
        from tests.kubeapi.admission.testing import crd_with_schema

        crd = crd_with_schema(
            {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
        )
        with pytest.raises(AdmissionError) as info:
            CustomResourceAdmission(crd).admit(
                "v1alpha1", {"apiVersion": "a/b", "kind": "Widget", "metadata": {}}
            )
        assert [str(c) for c in info.value.causes] == ["spec: Required value"]

    def test_nested_required_only_when_parent_present(self) -> None:
        schema = obj(azure={**obj(endpoint={"type": "string"}), "required": ["endpoint"]})
        assert causes(schema, {}) == []
        assert causes(schema, {"azure": {}}) == ["spec.azure.endpoint: Required value"]


class TestStrings:
    def test_pattern(self) -> None:
        schema = obj(projectId={"type": "string", "pattern": "^[0-9a-f]{8}$"})
        assert causes(schema, {"projectId": "x"}) == [
            "spec.projectId: Invalid value: \"x\": spec.projectId in body should match '^[0-9a-f]{8}$'"
        ]

    def test_pattern_is_a_search_as_in_go(self) -> None:
        assert causes(obj(s={"type": "string", "pattern": "b"}), {"s": "abc"}) == []

    def test_max_length(self) -> None:
        schema = obj(name={"type": "string", "maxLength": 3})
        assert causes(schema, {"name": "abcd"}) == ["spec.name: Too long: may not be more than 3 bytes"]
        assert reasons(schema, {"name": "abcd"}) == ["FieldValueTooLong"]

    def test_max_length_one_is_singular(self) -> None:
        schema = obj(name={"type": "string", "maxLength": 1})
        assert causes(schema, {"name": "ab"}) == ["spec.name: Too long: may not be more than 1 byte"]

    def test_min_length(self) -> None:
        schema = obj(name={"type": "string", "minLength": 1})
        assert causes(schema, {"name": ""}) == [
            'spec.name: Invalid value: "": spec.name in body should be at least 1 chars long'
        ]

    def test_lengths_count_characters(self) -> None:
        assert causes(obj(name={"type": "string", "maxLength": 2}), {"name": "éé"}) == []


class TestFormats:
    @pytest.mark.parametrize(
        ("fmt", "good", "bad"),
        [
            ("uuid", "9e240dc1-1111-2222-3333-444455556666", "9e240dc1"),
            ("date-time", "2027-01-15T00:00:00Z", "2027-01-15"),
            ("date-time", "2027-01-15T10:20:30.123+02:00", "yesterday"),
            ("date", "2027-01-15", "2027-13-01"),
            ("byte", "aGVsbG8=", "not base64!"),
            ("hostname", "eastus.api.cognitive.microsoft.com", "bad_host!"),
            ("uri", "https://example.com/x", "not a uri"),
            ("ipv4", "10.0.0.1", "10.0.0.300"),
            ("ipv6", "::1", "10.0.0.1"),
            ("cidr", "10.0.0.0/8", "10.0.0.0"),
            ("email", "a@example.com", "a.example.com"),
            ("mac", "00:1a:2b:3c:4d:5e", "00:1a"),
            ("duration", "1h30m", "soon"),
        ],
    )
    def test_known_format(self, fmt: str, good: str, bad: str) -> None:
        schema = obj(v={"type": "string", "format": fmt})
        assert causes(schema, {"v": good}) == []
        assert causes(schema, {"v": bad}) == [
            f'spec.v: Invalid value: "{bad}": spec.v in body must be of type {fmt}: "{bad}"'
        ]

    @pytest.mark.parametrize(
        "value",
        [
            "2027-01-15T00:00:00Z",
            "2027-01-15T00:00:00.123456789+02:00",
            "2027-01-15T10:20:30",
            "2027-01-15T10:20Z",
        ],
    )
    def test_date_time_layouts_strfmt_accepts(self, value: str) -> None:
        assert causes(obj(v={"type": "string", "format": "date-time"}), {"v": value}) == []

    @pytest.mark.parametrize("fmt", ["int32", "int64", "password", "my-own-format"])
    def test_unknown_and_numeric_formats_are_ignored(self, fmt: str) -> None:
        assert causes(obj(v={"type": "string", "format": fmt}), {"v": "anything"}) == []

    def test_int32_is_not_range_checked(self) -> None:
        assert causes(obj(v={"type": "integer", "format": "int32"}), {"v": 2**40}) == []


class TestNumbers:
    def test_maximum(self) -> None:
        schema = obj(replicas={"type": "integer", "maximum": 10})
        assert causes(schema, {"replicas": 11}) == [
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"
        ]

    def test_exclusive_maximum(self) -> None:
        schema = obj(replicas={"type": "integer", "maximum": 10, "exclusiveMaximum": True})
        assert causes(schema, {"replicas": 10}) == [
            "spec.replicas: Invalid value: 10: spec.replicas in body should be less than 10"
        ]

    def test_minimum(self) -> None:
        schema = obj(replicas={"type": "integer", "minimum": 1})
        assert causes(schema, {"replicas": 0}) == [
            "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"
        ]

    def test_exclusive_minimum_with_a_fraction(self) -> None:
        schema = obj(ratio={"type": "number", "minimum": 0.5, "exclusiveMinimum": True})
        assert causes(schema, {"ratio": 0.5}) == [
            "spec.ratio: Invalid value: 0.5: spec.ratio in body should be greater than 0.5"
        ]

    def test_multiple_of(self) -> None:
        schema = obj(n={"type": "integer", "multipleOf": 5})
        assert causes(schema, {"n": 7}) == [
            "spec.n: Invalid value: 7: spec.n in body should be a multiple of 5"
        ]
        assert causes(schema, {"n": 15}) == []


class TestArrays:
    def test_max_items(self) -> None:
        schema = obj(customProperties={"type": "array", "maxItems": 10, "items": {"type": "string"}})
        assert causes(schema, {"customProperties": ["x"] * 11}) == [
            "spec.customProperties: Too many: 11: must have at most 10 items"
        ]
        assert reasons(schema, {"customProperties": ["x"] * 11}) == ["FieldValueTooMany"]

    def test_min_items(self) -> None:
        schema = obj(tags={"type": "array", "minItems": 1, "items": {"type": "string"}})
        assert causes(schema, {"tags": []}) == [
            "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"
        ]

    def test_unique_items(self) -> None:
        schema = obj(tags={"type": "array", "uniqueItems": True, "items": {"type": "string"}})
        assert causes(schema, {"tags": ["a", "a"]}) == [
            'spec.tags: Invalid value: []interface {}{"a", "a"}: '
            "spec.tags in body shouldn't contain duplicates"
        ]

    def test_list_type_set_duplicates(self) -> None:
        schema = obj(tags={"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}})
        assert causes(schema, {"tags": ["a", "b", "a"]}) == ['spec.tags[2]: Duplicate value: "a"']
        assert reasons(schema, {"tags": ["a", "b", "a"]}) == ["FieldValueDuplicate"]

    def test_list_type_map_duplicate_keys(self) -> None:
        item = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
        item["properties"]["status"] = {"type": "string"}
        schema = obj(
            conditions={
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": item,
            }
        )
        value = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}]}
        assert causes(schema, value) == [
            'spec.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}'
        ]

    def test_list_type_atomic_allows_duplicates(self) -> None:
        schema = obj(tags={"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "string"}})
        assert causes(schema, {"tags": ["a", "a"]}) == []


class TestObjects:
    def test_max_properties(self) -> None:
        schema = obj(props={"type": "object", "maxProperties": 2, "additionalProperties": {"type": "string"}})
        assert causes(schema, {"props": {"a": "1", "b": "2", "c": "3"}}) == [
            "spec.props: Too many: 3: must have at most 2 items"
        ]

    def test_min_properties(self) -> None:
        schema = obj(props={"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}})
        assert causes(schema, {"props": {}}) == [
            "spec.props: Invalid value: 0: spec.props in body should have at least 1 properties"
        ]

    def test_additional_properties_schema_validates_values_with_dotted_paths(self) -> None:
        schema = obj(props={"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}})
        assert causes(schema, {"props": {"team": "abc"}}) == [
            "spec.props.team: Too long: may not be more than 2 bytes"
        ]

    def test_additional_properties_true_keeps_anything(self) -> None:
        schema = obj(props={"type": "object", "additionalProperties": True})
        admitted = spec_admission(schema).admit("v1alpha1", widget({"props": {"a": {"b": 1}}}))
        assert admitted["spec"] == {"props": {"a": {"b": 1}}}


class TestJunctors:
    def test_one_of_none_valid(self) -> None:
        schema = {
            **obj(a={"type": "string"}, b={"type": "string"}),
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        }
        assert causes(schema, {}) == [
            'spec: Invalid value: "object": spec in body must validate one and only one schema (oneOf)',
            "spec.a: Required value",
            "spec.b: Required value",
        ]

    def test_one_of_two_valid(self) -> None:
        schema = {
            **obj(a={"type": "string"}, b={"type": "string"}),
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        }
        assert causes(schema, {"a": "x", "b": "y"}) == [
            'spec: Invalid value: "object": spec in body must validate one and only one schema (oneOf). '
            "Found 2 valid alternatives"
        ]

    def test_one_of_exactly_one(self) -> None:
        schema = {
            **obj(a={"type": "string"}, b={"type": "string"}),
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        }
        assert causes(schema, {"a": "x"}) == []

    def test_any_of(self) -> None:
        schema = {**obj(a={"type": "string"}), "anyOf": [{"required": ["a"]}, {"minProperties": 2}]}
        assert causes(schema, {}) == [
            'spec: Invalid value: "object": spec in body must validate at least one schema (anyOf)',
            "spec.a: Required value",
            "spec: Invalid value: 0: spec in body should have at least 2 properties",
        ]
        assert causes(schema, {"a": "x"}) == []

    def test_all_of(self) -> None:
        schema = {**obj(n={"type": "integer"}), "allOf": [{"properties": {"n": {"minimum": 2}}}]}
        assert causes(schema, {"n": 1}) == [
            "spec.n: Invalid value: 1: spec.n in body should be greater than or equal to 2"
        ]

    def test_not(self) -> None:
        schema = {**obj(a={"type": "string"}), "not": {"required": ["a"]}}
        assert causes(schema, {"a": "x"}) == [
            'spec: Invalid value: "object": spec in body must not validate the schema (not)'
        ]
        assert causes(schema, {}) == []


class TestSeveralCauses:
    def test_all_causes_reported_in_one_answer(self) -> None:
        schema = {
            **obj(
                locale={"type": "string", "pattern": "^[a-z]{2}-[A-Z]{2}$"},
                kind={"type": "string", "enum": ["A"]},
            ),
            "required": ["locale", "model"],
        }
        assert causes(schema, {"locale": "english", "kind": "B"}) == [
            "spec.model: Required value",
            "spec.locale: Invalid value: \"english\": spec.locale in body should match '^[a-z]{2}-[A-Z]{2}$'",
            'spec.kind: Unsupported value: "B": supported values: "A"',
        ]


class TestRatcheting:
    """Kubernetes 1.30+ (CRDValidationRatcheting): on update, values left as they were are not checked."""

    SCHEMA = obj(
        name={"type": "string", "maxLength": 3},
        size={"type": "integer", "minimum": 1},
    )

    def errors(self, spec: Any, old_spec: Any, schema: dict[str, Any] | None = None) -> list[str]:
        try:
            spec_admission(schema or self.SCHEMA).admit("v1alpha1", widget(spec), widget(old_spec))
        except AdmissionError as exc:
            return [str(c) for c in exc.causes]
        return []

    def test_unchanged_invalid_value_is_tolerated(self) -> None:
        assert self.errors({"name": "toolong", "size": 2}, {"name": "toolong", "size": 1}) == []

    def test_changed_invalid_value_is_rejected(self) -> None:
        assert self.errors({"name": "longer", "size": 1}, {"name": "toolong", "size": 1}) == [
            "spec.name: Too long: may not be more than 3 bytes"
        ]

    def test_newly_invalid_value_is_rejected_next_to_a_tolerated_one(self) -> None:
        assert self.errors({"name": "toolong", "size": 0}, {"name": "toolong", "size": 1}) == [
            "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
        ]

    def test_create_is_never_ratcheted(self) -> None:
        assert causes(self.SCHEMA, {"name": "toolong"}) == [
            "spec.name: Too long: may not be more than 3 bytes"
        ]

    def test_rules_without_old_self_ratchet_too(self) -> None:
        schema = {**self.SCHEMA, "x-kubernetes-validations": [{"rule": "self.size > 5", "message": "small"}]}
        assert self.errors({"size": 2, "name": "a"}, {"size": 2, "name": "a"}, schema) == []
        assert self.errors({"size": 3, "name": "a"}, {"size": 2, "name": "a"}, schema) == [
            'spec: Invalid value: "object": small'
        ]

    def test_list_map_items_ratchet_by_key(self) -> None:
        item = {
            "type": "object",
            "required": ["k"],
            "properties": {"k": {"type": "string"}, "v": {"type": "string", "maxLength": 1}},
        }
        schema = obj(
            items={
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["k"],
                "items": item,
            }
        )
        old = {"items": [{"k": "a", "v": "long"}]}
        assert self.errors({"items": [{"k": "b", "v": "x"}, {"k": "a", "v": "long"}]}, old, schema) == []
        assert self.errors({"items": [{"k": "b", "v": "long"}]}, old, schema) == [
            "spec.items[0].v: Too long: may not be more than 1 byte"
        ]
