"""Property tests of admission over generated objects: pruning keeps only what the schema knows, admission is
idempotent, defaults are always filled in, and every rejection is well-formed."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission
from tests.kubeapi.admission.errors import aggregate_message
from tests.kubeapi.admission.schema import prune
from tests.kubeapi.admission.testing import transcriber_crd

CRD = transcriber_crd()
SCHEMA: dict[str, Any] = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
ADMISSION = CustomResourceAdmission(CRD)

_junk_keys = st.sampled_from(["junk", "x", "Locale", "spec", "status", "apiVersion", "extra-field"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 20), st.text(max_size=6), st.floats(-3, 3))
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def values(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly valid values for a schema node, with unknown fields and the odd wrong type mixed in."""
    valid = _valid(schema, depth)
    return st.one_of(valid, valid, valid, valid, _json) if depth > 0 else valid


def _valid(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties") or {}
        if props:
            required = set(schema.get("required") or [])
            return st.fixed_dictionaries(
                {k: values(v, depth + 1) for k, v in props.items() if k in required},
                optional={
                    **{k: values(v, depth + 1) for k, v in props.items() if k not in required},
                    "junk": _json,
                },
            )
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            return st.dictionaries(st.text(min_size=1, max_size=8), values(additional, depth + 1), max_size=4)
        return st.dictionaries(st.text(max_size=4), _json, max_size=2)
    if kind == "array":
        items = schema.get("items") or {}
        return st.lists(values(items, depth + 1), max_size=3)
    if kind == "string":
        fmt, pattern = schema.get("format"), schema.get("pattern")
        if fmt == "uuid":
            return st.uuids().map(str)
        if fmt == "date-time":
            return st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if fmt == "uri":
            return st.sampled_from(["https://a.example.com", "http://b/x", "mailto:x@y"])
        if pattern:
            return st.from_regex(pattern, fullmatch=True).filter(
                lambda s: len(s) <= schema.get("maxLength", 1000)
            )
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 10), 10))
    if kind == "integer":
        return st.integers(schema.get("minimum", -100), schema.get("maximum", 100))
    if kind == "number":
        return st.floats(-100, 100)
    if kind == "boolean":
        return st.booleans()
    return _json


def _objects() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda spec, status, extra: {
            "apiVersion": "test.admission.io/v1alpha1",
            "kind": "Transcriber",
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": spec,
            **({"status": status} if status is not None else {}),
            **extra,
        },
        values(SCHEMA["properties"]["spec"]),
        st.none() | values(SCHEMA["properties"]["status"]),
        st.dictionaries(
            _junk_keys.filter(lambda k: k not in ("spec", "status", "apiVersion")), _json, max_size=2
        ),
    )


def _paths_outside_schema(value: Any, schema: dict[str, Any] | None, root: bool = False) -> list[str]:
    if schema is None:
        return []
    out: list[str] = []
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return []
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            if key in props:
                out += _paths_outside_schema(child, props[key])
            elif isinstance(additional, dict):
                out += _paths_outside_schema(child, additional)
            elif additional is not True:
                out.append(key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            out += _paths_outside_schema(item, schema["items"])
    return out


def _admit(obj: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any] | AdmissionError:
    try:
        return ADMISSION.admit("v1alpha1", obj, old)
    except AdmissionError as exc:
        return exc


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(_objects())
def test_pruning_never_keeps_a_field_the_schema_does_not_know(obj: dict[str, Any]) -> None:
    pruned = ADMISSION.prune_and_default("v1alpha1", obj)
    assert _paths_outside_schema(pruned, SCHEMA, root=True) == []
    assert ADMISSION.unknown_fields("v1alpha1", pruned) == []


@SETTINGS
@given(_objects())
def test_unknown_fields_is_exactly_what_pruning_removed(obj: dict[str, Any]) -> None:
    reported = ADMISSION.unknown_fields("v1alpha1", obj)
    pruned = copy.deepcopy(obj)
    dropped = prune(pruned, SCHEMA)
    assert reported == dropped
    assert len(reported) == len(set(reported))
    assert (reported == []) == (pruned == obj)


@SETTINGS
@given(_objects())
def test_admission_is_idempotent(obj: dict[str, Any]) -> None:
    first = _admit(copy.deepcopy(obj))
    if isinstance(first, AdmissionError):
        return
    assert _admit(copy.deepcopy(first)) == first
    # an unchanged object passes its own transition rules
    assert _admit(copy.deepcopy(first), first) == first


@SETTINGS
@given(_objects())
def test_defaults_are_present_after_admission(obj: dict[str, Any]) -> None:
    admitted = _admit(obj)
    if isinstance(admitted, AdmissionError):
        return
    spec_props = SCHEMA["properties"]["spec"]["properties"]
    for key, prop in spec_props.items():
        if "default" in prop:
            assert key in admitted["spec"], key


@SETTINGS
@given(_objects(), _objects())
def test_rejections_are_well_formed(obj: dict[str, Any], old: dict[str, Any]) -> None:
    # the old object of an update is one the apiserver admitted earlier
    stored = _admit(old)
    result = _admit(obj, None if isinstance(stored, AdmissionError) else stored)
    if not isinstance(result, AdmissionError):
        return
    assert result.causes
    body = result.status_body(kind="Transcriber", group="test.admission.io", name="t")
    assert body["code"] == 422
    assert (
        body["message"] == f'Transcriber.test.admission.io "t" is invalid: {aggregate_message(result.causes)}'
    )
    for cause in result.causes:
        assert cause.field == "<nil>" or re.match(r"(spec|status|apiVersion|kind)(\W|$)", cause.field), cause
        assert cause.type.startswith(("FieldValue", "InternalError"))
        assert "evaluating rule" not in cause.message, cause.message


@SETTINGS
@given(_objects())
def test_admission_never_mutates_the_request(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    _admit(obj)
    assert obj == before
