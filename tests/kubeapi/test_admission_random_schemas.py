"""Admission over generated CRD schemas and generated objects: whatever the schema, admission either admits or
answers with field errors, never crashes, and what it admits it admits again unchanged."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.kubeapi.admission import (
    AdmissionError,
    CustomResourceAdmission,
    StructuralSchemaError,
    check_structural,
)
from tests.kubeapi.admission.testing import crd_with_schema, widget

KEYS = st.sampled_from(["a", "b", "c", "x-y", "in"])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-20, 20),
    st.floats(-5, 5),
    st.sampled_from(["", "a", "abc", "1", "x-y"]),
)
JSON = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=10,
)


def _maybe(draw: st.DrawFn, schema: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        schema[key] = draw(values)


@st.composite
def scalar_schema(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", "int-or-string"]))
    if kind == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    schema: dict[str, Any] = {"type": kind}
    if kind == "string":
        _maybe(draw, schema, "maxLength", st.integers(0, 4))
        _maybe(draw, schema, "minLength", st.integers(0, 2))
        _maybe(draw, schema, "pattern", st.sampled_from(["^a", "b$", "^[a-z]*$"]))
        _maybe(draw, schema, "enum", st.lists(st.sampled_from(["a", "abc", "1"]), min_size=1, max_size=3))
        _maybe(draw, schema, "format", st.sampled_from(["uuid", "date-time", "byte", "int32", "weird"]))
        _maybe(draw, schema, "default", st.sampled_from(["a", "abc", ""]))
        _maybe(
            draw,
            schema,
            "x-kubernetes-validations",
            st.just([{"rule": "self.size() < 3", "message": "short"}]),
        )
    elif kind in ("integer", "number"):
        _maybe(draw, schema, "minimum", st.integers(-5, 0))
        _maybe(draw, schema, "maximum", st.integers(0, 5))
        _maybe(draw, schema, "exclusiveMaximum", st.booleans())
        _maybe(draw, schema, "multipleOf", st.sampled_from([1, 2, 0.5]))
        _maybe(draw, schema, "default", st.integers(-1, 1))
        rule = "self >= 0" if kind == "integer" else "self >= 0.0"
        _maybe(draw, schema, "x-kubernetes-validations", st.just([{"rule": rule}]))
    _maybe(draw, schema, "nullable", st.booleans())
    return schema


def node_schema(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    if depth == 0:
        return scalar_schema()
    return st.one_of(scalar_schema(), object_schema(depth), map_schema(depth), array_schema(depth))


@st.composite
def object_schema(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    props = draw(st.dictionaries(KEYS, node_schema(depth - 1), max_size=3))
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if props:
        _maybe(draw, schema, "required", st.lists(st.sampled_from(sorted(props)), max_size=2, unique=True))
        first = sorted(props)[0]
        name = {"x-y": "x__dash__y", "in": "__in__"}.get(first, first)
        rules = [
            {"rule": f"has(self.{name}) || !has(self.{name})"},
            {"rule": "self == oldSelf", "message": "frozen"},
        ]
        _maybe(draw, schema, "x-kubernetes-validations", st.lists(st.sampled_from(rules), max_size=2))
    _maybe(draw, schema, "maxProperties", st.integers(0, 3))
    _maybe(draw, schema, "x-kubernetes-preserve-unknown-fields", st.just(True))
    _maybe(draw, schema, "default", st.just({}))
    return schema


@st.composite
def map_schema(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": draw(node_schema(depth - 1))}
    _maybe(draw, schema, "minProperties", st.integers(0, 2))
    _maybe(draw, schema, "x-kubernetes-validations", st.just([{"rule": "self.all(k, k != 'c')"}]))
    return schema


@st.composite
def array_schema(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    items = draw(node_schema(depth - 1))
    schema: dict[str, Any] = {"type": "array", "items": items}
    _maybe(draw, schema, "maxItems", st.integers(0, 3))
    _maybe(draw, schema, "minItems", st.integers(0, 2))
    if items.get("type") in ("string", "integer"):
        _maybe(draw, schema, "x-kubernetes-list-type", st.sampled_from(["atomic", "set"]))
    _maybe(draw, schema, "x-kubernetes-validations", st.just([{"rule": "size(self) < 5"}]))
    return schema


ROOTS = st.builds(
    lambda spec, status: {"type": "object", "properties": {"spec": spec, "status": status}},
    object_schema(3),
    object_schema(2),
)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _admission(root: dict[str, Any]) -> CustomResourceAdmission:
    crd = crd_with_schema(root)
    try:
        check_structural(crd)
    except StructuralSchemaError:
        assume(False)
    return CustomResourceAdmission(crd)


def _obj(spec: Any, status: Any) -> dict[str, Any]:
    return {**widget(spec), "status": status}


@SETTINGS
@given(ROOTS, JSON, JSON, JSON)
def test_admission_answers_every_object(root: dict[str, Any], spec: Any, status: Any, old_spec: Any) -> None:
    admission = _admission(root)
    old: dict[str, Any] | None = None
    try:
        old = admission.admit("v1alpha1", _obj(old_spec, status))
    except AdmissionError:
        old = None
    try:
        admitted = admission.admit("v1alpha1", _obj(spec, status), old)
    except AdmissionError as exc:
        assert exc.causes
        assert all(c.field and c.type and c.message for c in exc.causes)
        return
    assert admission.unknown_fields("v1alpha1", admitted) == []
    assert admission.admit("v1alpha1", copy.deepcopy(admitted)) == admitted
    assert admission.admit("v1alpha1", copy.deepcopy(admitted), admitted) == admitted


@SETTINGS
@given(ROOTS)
def test_every_structural_schema_gets_openapi_documents(root: dict[str, Any]) -> None:
    from tests.kubeapi.admission import openapi_v2_document, openapi_v3_documents

    crd = crd_with_schema(root)
    try:
        check_structural(crd)
    except StructuralSchemaError as exc:
        assert exc.violations
        return
    assert "apis/test.admission.io/v1alpha1" in openapi_v3_documents([crd])
    assert "io.admission.test.v1alpha1.Widget" in openapi_v2_document([crd])["definitions"]
