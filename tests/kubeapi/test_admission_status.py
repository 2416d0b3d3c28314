"""The 422 Status body of a rejected object, as kube-apiserver sends it (apierrors.NewInvalid)."""

from __future__ import annotations

import json

import pytest

from tests.kubeapi.admission import AdmissionError, CustomResourceAdmission, FieldError
from tests.kubeapi.admission.errors import (
    aggregate_message,
    go_float,
    go_sharp,
    invalid,
    render_path,
    required,
)
from tests.kubeapi.admission.testing import transcriber, transcriber_crd


def test_single_cause_has_no_brackets() -> None:
    error = AdmissionError([invalid("spec.locale", "string", "locale is immutable")])
    body = error.status_body(kind="SpeechEndpoint", group="speech.azure-operator.io", name="call-center-en")
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'SpeechEndpoint.speech.azure-operator.io "call-center-en" is invalid: '
        'spec.locale: Invalid value: "string": locale is immutable',
        "reason": "Invalid",
        "details": {
            "name": "call-center-en",
            "group": "speech.azure-operator.io",
            "kind": "SpeechEndpoint",
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": 'Invalid value: "string": locale is immutable',
                    "field": "spec.locale",
                }
            ],
        },
        "code": 422,
    }


def test_key_order_matches_the_apiserver() -> None:
    body = AdmissionError([required("spec.locale")]).status_body(kind="K", group="g", name="n")
    assert list(body) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert list(body["details"]) == ["name", "group", "kind", "causes"]
    assert list(body["details"]["causes"][0]) == ["reason", "message", "field"]


def test_several_causes_are_bracketed_in_order() -> None:
    error = AdmissionError([required("spec.locale"), invalid("spec.replicas", 0, "must be positive")])
    assert error.status_body(kind="K", group="g", name="n")["message"] == (
        'K.g "n" is invalid: [spec.locale: Required value, spec.replicas: Invalid value: 0: must be positive]'
    )


def test_duplicate_messages_collapse_in_the_message_but_not_in_causes() -> None:
    error = AdmissionError([required("spec.locale"), required("spec.locale")])
    body = error.status_body(kind="K", group="g", name="n")
    assert body["message"] == 'K.g "n" is invalid: spec.locale: Required value'
    assert len(body["details"]["causes"]) == 2


def test_core_group_has_no_group_in_kind_or_details() -> None:
    body = AdmissionError([required("data")]).status_body(kind="ConfigMap", group="", name="cm")
    assert body["message"] == 'ConfigMap "cm" is invalid: data: Required value'
    assert "group" not in body["details"]


def test_name_is_go_quoted() -> None:
    body = AdmissionError([required("spec")]).status_body(kind="K", group="g", name='we"ird')
    assert body["message"].startswith('K.g "we\\"ird" is invalid')


def test_admitted_object_error_round_trips_as_json() -> None:
    admission = CustomResourceAdmission(transcriber_crd())
    with pytest.raises(AdmissionError) as info:
        admission.admit("v1alpha1", transcriber(deletionPolicy="Never", locale="x"))
    body = info.value.status_body(kind="Transcriber", group="test.admission.io", name="call-center")
    assert json.loads(json.dumps(body)) == body
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.locale", "spec.deletionPolicy", "<nil>"]
    assert body["message"].startswith(
        'Transcriber.test.admission.io "call-center" is invalid: [spec.locale: '
    )


def test_field_error_str_is_field_and_message() -> None:
    assert str(FieldError(field="spec.a", type="FieldValueRequired", message="Required value")) == (
        "spec.a: Required value"
    )


def test_aggregate_of_one() -> None:
    assert aggregate_message([required("a")]) == "a: Required value"


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ((), "<nil>"),
        ((("field", "spec"),), "spec"),
        ((("field", "spec"), ("field", "m"), ("key", "team")), "spec.m[team]"),
        ((("field", "spec"), ("field", "l"), ("index", 2), ("field", "x")), "spec.l[2].x"),
    ],
)
def test_render_path(path: tuple[tuple[str, object], ...], rendered: str) -> None:
    assert render_path(path) == rendered


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.5, "0.5"), (1e21, "1e+21"), (1.5e-7, "1.5e-07"), (-2.25, "-2.25")],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


def test_go_sharp_of_containers() -> None:
    assert go_sharp(["a", 1, None, True]) == '[]interface {}{"a", 1, interface {}(nil), true}'
    assert go_sharp({"b": 1, "a": "x"}) == 'map[string]interface {}{"a":"x", "b":1}'
