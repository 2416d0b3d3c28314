"""The VoiceEndpoint CRD: shape, schema and CEL rules (evaluated locally; test_voice_crd_admission.py has the
same cases through a real apiserver), and its sync with the pydantic spec model."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from azure_speech_operator.voiceendpoint import spec as spec_module
from azure_speech_operator.voiceendpoint.spec import (
    SpecError,
    VoiceDeletionSpec,
    VoiceEndpointSpec,
    parse_spec,
    parse_stored_spec,
)
from openapi_schema_validator import OAS30Validator

from .crd_support import compare, schema_problems
from .test_voice_support import (
    CEL_REFUSALS,
    ENDPOINT_ID,
    SCHEDULE,
    SCHEDULE_WITH_THE_SAME_CHARACTERS,
    SCHEMA_REFUSALS,
    SECRET,
    TRANSITION_REFUSALS,
    Refusal,
    admit,
    load_crd,
    root_schema,
    v3,
    voice_endpoint,
)


def schema_error_paths(obj: dict[str, Any]) -> list[str]:
    validator = OAS30Validator(root_schema())
    return [".".join(str(p) for p in error.absolute_path) for error in validator.iter_errors(obj)]


def ids(refusals: list[Refusal]) -> list[str]:
    return [r.id for r in refusals]


# --- shape ------------------------------------------------------------------------------------------------


def test_names_scope_and_columns() -> None:
    crd = load_crd()
    assert crd["metadata"]["name"] == "voiceendpoints.speech.azure-operator.io"
    assert crd["spec"]["group"] == spec_module.GROUP
    assert crd["spec"]["scope"] == "Namespaced"
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"]) == (spec_module.KIND, spec_module.PLURAL)
    assert names["shortNames"] == ["vce"]
    assert names["categories"] == ["azure", "azure-speech"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == spec_module.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    shown = [name for name, column in columns.items() if not column.get("priority")]
    assert shown == ["Ready", "Azure Status", "Suspended", "Reason", "Endpoint", "Age", "Message"]
    assert [name for name, column in columns.items() if column.get("priority")] == ["Next", "Next At"]
    assert columns["Suspended"]["jsonPath"] == '.status.conditions[?(@.type=="Suspended")].status'
    assert columns["Next At"]["type"] == "string"  # kubectl shows a future `date` as <invalid>


def test_the_schema_is_structural_described_and_plain() -> None:
    assert schema_problems(root_schema()) == []


def test_status_is_declared_fully() -> None:
    status = root_schema()["properties"]["status"]["properties"]
    assert set(status) == {
        "observedGeneration", "apiVersion", "endpointId", "azureStatus", "operation", "previousEndpoint",
        "nextTransition", "projectId", "modelId", "newEndpoint", "error", "createdAt", "lastActionAt",
        "reconcileRequestedAt", "exportedConfigMap",
        "conditions",
    }  # fmt: skip
    assert status["nextTransition"]["properties"]["action"]["enum"] == ["suspend", "resume"]


# --- defaults and schema -----------------------------------------------------------------------------------


def test_a_minimal_object_is_valid_and_defaulted() -> None:
    obj, errors = admit(voice_endpoint(schedule={"suspend": "0 20 * * *", "resume": "0 7 * * *"}))
    assert errors == [] and schema_error_paths(obj) == []
    spec = obj["spec"]
    assert spec["azure"]["apiVersion"] == "2026-01-01"
    assert spec["azure"]["credentials"]["secretRef"]["key"] == "key"
    assert spec["deletionPolicy"] == "Delete"
    assert spec["schedule"]["timeZone"] == "UTC"
    assert "kind" not in spec and "suspended" not in spec  # no defaults: unset means something


@pytest.mark.parametrize("case", SCHEMA_REFUSALS, ids=ids(SCHEMA_REFUSALS))
def test_the_schema_refuses(case: Refusal) -> None:
    obj, _ = admit(case.obj)
    paths = schema_error_paths(obj)
    # the validator reports a missing field on its parent
    assert any(p and case.field.startswith(p) for p in paths), paths


@pytest.mark.parametrize("case", SCHEMA_REFUSALS + CEL_REFUSALS, ids=ids(SCHEMA_REFUSALS + CEL_REFUSALS))
def test_the_spec_model_refuses_the_same_naming_the_field(case: Refusal) -> None:
    obj, _ = admit(case.obj)
    with pytest.raises(SpecError) as info:
        parse_spec(obj["spec"])
    # rules across fields are reported on the spec with the field in the message
    assert case.field in str(info.value) or case.field.removeprefix("spec.") in str(info.value), info.value


def test_a_full_object_is_valid() -> None:
    full = voice_endpoint(
        azure={
            "endpoint": "https://my-speech.cognitiveservices.azure.com",
            "apiVersion": "2024-02-01-preview",
            "credentials": {"workloadIdentity": {}},
        },
        projectId="Jessica",
        modelId="Jessica.v2_neural-1",
        displayName="Jessica",
        description="Jessica's voice",
        kind="FastResume",
        suspended=False,
        schedule=SCHEDULE,
        swapGracePeriod="1d12h",
        endpointId=ENDPOINT_ID,
        deletionPolicy="Orphan",
        exportTo={"configMapName": "jessica-endpoint"},
    )
    obj, errors = admit(full)
    assert errors == [] and schema_error_paths(obj) == []
    parse_spec(obj["spec"])


# --- CEL ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CEL_REFUSALS, ids=ids(CEL_REFUSALS))
def test_cel_refuses_on_create(case: Refusal) -> None:
    _, errors = admit(case.obj)
    assert any(case.words in e for e in errors), errors


@pytest.mark.parametrize("case", TRANSITION_REFUSALS, ids=ids(TRANSITION_REFUSALS))
def test_cel_refuses_on_update(case: Refusal) -> None:
    assert admit(case.old or {})[1] == []
    _, errors = admit(case.obj, case.old)
    assert any(case.words in e for e in errors), errors


def test_cel_accepts_valid_variants_and_updates() -> None:
    for obj in (
        v3(),
        v3(kind="HighPerformance"),
        voice_endpoint(azure={"region": "eastus", "apiVersion": "2024-02-01-preview", "credentials": SECRET}),
        voice_endpoint(suspended=True, schedule=SCHEDULE),
        voice_endpoint(schedule=SCHEDULE_WITH_THE_SAME_CHARACTERS),
    ):
        assert admit(obj)[1] == [], obj
        parse_spec(obj["spec"])
    old = voice_endpoint()
    changes: list[dict[str, Any]] = [
        {"endpointId": ENDPOINT_ID},  # adopt later (e.g. after a restore without status)
        {"modelId": "Jessica2", "projectId": "Jessica2"},  # a swap
        {"suspended": True, "schedule": SCHEDULE, "swapGracePeriod": "1h"},
        {"azure": {"region": "eastus", "apiVersion": "2024-02-01-preview", "credentials": SECRET}},
    ]
    for change in changes:
        new = voice_endpoint(**change)
        assert admit(new, old)[1] == [], change


# --- the spec model ----------------------------------------------------------------------------------------


def test_pydantic_spec_model_matches_the_crd() -> None:
    assert compare(VoiceEndpointSpec, root_schema()["properties"]["spec"]) == []


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        ({**SCHEDULE, "suspend": "0 25 * * *"}, "spec.schedule.suspend", "Bad hour"),
        ({**SCHEDULE, "resume": "0 7 30 2 *"}, "spec.schedule.resume", "Bad day-of-month"),
        ({**SCHEDULE, "timeZone": "Europe/Berln"}, "spec.schedule.timeZone", "not an IANA time zone"),
    ],
)
def test_only_the_operator_checks(schedule: dict[str, Any], field: str, words: str) -> None:
    obj, errors = admit(voice_endpoint(schedule=schedule))
    assert errors == [] and schema_error_paths(obj) == []  # the API server lets these through
    with pytest.raises(SpecError, match=re.escape(field) + ".*" + re.escape(words)) as info:
        parse_spec(obj["spec"])
    assert str(info.value).startswith(f"{field}: ") and "Value error" not in str(info.value)  # not pydantic's


@pytest.mark.parametrize("grace", ["36501d", "3000000d", "99999999999999999s"])
def test_only_the_operator_checks_a_swap_grace_period_past_any_use(grace: str) -> None:
    # a date that far from now does not exist: refused naming the field, not an OverflowError at the swap
    obj, errors = admit(voice_endpoint(swapGracePeriod=grace))
    assert errors == [] and schema_error_paths(obj) == []
    with pytest.raises(SpecError, match=r"spec\.swapGracePeriod.*too long; at most 36500d"):
        parse_spec(obj["spec"])


def test_parse_spec_reads_a_full_spec() -> None:
    obj, _ = admit(voice_endpoint(endpointId=ENDPOINT_ID.upper(), schedule=SCHEDULE, swapGracePeriod="1h30m"))
    spec = parse_spec(obj["spec"])
    assert spec.adopted_endpoint_id == ENDPOINT_ID
    assert spec.schedule is not None and spec.schedule.time_zone == "Europe/Berlin"
    assert spec.swap_grace(timedelta(hours=24)) == timedelta(hours=1, minutes=30)
    default = parse_spec(admit(voice_endpoint())[0]["spec"])
    assert default.swap_grace(timedelta(hours=24)) == timedelta(hours=24)
    target = spec.azure.target()
    assert target.base_url == "https://eastus.api.cognitive.microsoft.com"
    assert target.api_version == "2026-01-01"


def test_v3_calls_the_custom_voice_host() -> None:
    spec = parse_spec(admit(v3())[0]["spec"])
    target = spec.azure.target()
    assert target.base_url == "https://eastus.customvoice.api.speech.microsoft.com"
    assert target.api_version == "v3.0"


def test_a_stored_spec_that_fails_still_yields_what_deletion_needs() -> None:
    obj, _ = admit(voice_endpoint(endpointId=ENDPOINT_ID, modelId="x"))  # stored before a rule existed
    spec, error, deletion = parse_stored_spec(obj["spec"])
    assert spec is None and error is not None and "spec.modelId" in error
    assert isinstance(deletion, VoiceDeletionSpec) and deletion.adopted_endpoint_id == ENDPOINT_ID
    assert parse_stored_spec({"projectId": "x"})[2] is None  # no spec.azure: nothing to delete with
