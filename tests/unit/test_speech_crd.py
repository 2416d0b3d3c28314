"""The SpeechEndpoint CRD: shape, schema validation, CEL rules, and its sync with the pydantic spec model."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure_speech_operator.speechendpoint import spec as spec_module
from azure_speech_operator.speechendpoint.spec import SpecError, SpeechEndpointSpec, parse_spec
from openapi_schema_validator import OAS30Validator

from .crd_support import INVALID_ENDPOINTS, VALID_ENDPOINTS, compare, schema_problems
from .test_speech_support import admit, load_crd, root_schema, speech_endpoint

UUID_A = "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"
UUID_B = "9e240dc1-1f4f-4e7a-9a8b-0c7d5e6f1a2b"
SECRET = {"secretRef": {"name": "s"}}


def az(**fields: Any) -> dict[str, Any]:
    """spec.azure with a region and a Secret, overridden by `fields` (None removes a field)."""
    azure: dict[str, Any] = {"region": "westeurope", "credentials": SECRET, **fields}
    return {k: v for k, v in azure.items() if v is not None}


def schema_errors(obj: dict[str, Any]) -> list[str]:
    validator = OAS30Validator(root_schema())
    return sorted(
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)
    )


# --- shape ------------------------------------------------------------------------------------------------


def test_names_scope_and_columns() -> None:
    crd = load_crd()
    assert crd["metadata"]["name"] == "speechendpoints.speech.azure-operator.io"
    assert crd["spec"]["group"] == spec_module.GROUP
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["shortNames"] == ["spe"]
    assert crd["spec"]["names"]["categories"] == ["azure", "azure-speech"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == spec_module.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == [
        "Ready",
        "Azure Status",
        "Reason",
        "Locale",
        "Model",
        "Endpoint",
        "Azure Model",
        "Age",
        "Message",
    ]


def test_the_schema_is_structural_described_and_plain() -> None:
    assert schema_problems(root_schema()) == []


def test_status_is_declared_fully() -> None:
    status = root_schema()["properties"]["status"]["properties"]
    assert set(status) == {
        "observedGeneration", "apiVersion", "endpointId", "azureStatus", "model", "servingModel", "links",
        "error", "createdAt", "lastActionAt", "conditions", "reconcileRequestedAt", "exportedConfigMap",
    }  # fmt: skip
    condition = status["conditions"]["items"]["properties"]
    assert set(condition) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    }


# --- openAPI schema -----------------------------------------------------------------------------------------


def test_minimal_object_is_valid_and_defaulted() -> None:
    obj, errors = admit(speech_endpoint())
    assert errors == []
    assert schema_errors(obj) == []
    assert obj["spec"]["azure"]["apiVersion"] == "2025-10-15"
    assert obj["spec"]["deletionPolicy"] == "Delete"
    assert obj["spec"]["azure"]["credentials"]["secretRef"]["key"] == "key"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"model": {"baseModelId": "not-a-uuid"}}, "spec/model/baseModelId"),
        ({"endpointId": "1234"}, "spec/endpointId"),
        ({"projectId": "x"}, "spec/projectId"),
        ({"locale": "english!"}, "spec/locale"),
        ({"deletionPolicy": "Keep"}, "spec/deletionPolicy"),
        ({"customProperties": {f"k{i}": "v" for i in range(10)}}, "spec/customProperties"),
        ({"customProperties": {"k": "v" * 257}}, "spec/customProperties/k"),
        ({"exportTo": {"configMapName": "Not_A_Name"}}, "spec/exportTo/configMapName"),
        ({"azure": {"region": "westeurope", "apiVersion": "v3.1", "credentials": {"workloadIdentity": {}}}},
         "spec/azure/apiVersion"),
        ({"azure": {"endpoint": "https://x.cognitiveservices.azure.com/speechtotext", "credentials": {}}},
         "spec/azure/endpoint"),
    ],
)  # fmt: skip
def test_schema_rejects(overrides: dict[str, Any], fragment: str) -> None:
    obj, _ = admit(speech_endpoint(**overrides))
    errors = schema_errors(obj)
    assert any(e.startswith(fragment + ":") for e in errors), errors


@pytest.mark.parametrize("endpoint", VALID_ENDPOINTS)
def test_schema_and_model_accept_an_endpoint(endpoint: str) -> None:
    obj, errors = admit(speech_endpoint(azure={"endpoint": endpoint, "credentials": SECRET}))
    assert errors == [] and schema_errors(obj) == []
    assert parse_spec(obj["spec"]).azure.target().base_url == endpoint.rstrip("/")


@pytest.mark.parametrize(("endpoint", "why"), INVALID_ENDPOINTS, ids=[why for _, why in INVALID_ENDPOINTS])
def test_schema_and_model_refuse_an_endpoint_naming_the_field(endpoint: str, why: str) -> None:
    obj, _ = admit(speech_endpoint(azure={"endpoint": endpoint, "credentials": SECRET}))
    assert [e.split(":")[0] for e in schema_errors(obj)] == ["spec/azure/endpoint"]
    with pytest.raises(SpecError, match=r"^spec\.azure\.endpoint: String should match pattern"):
        parse_spec(obj["spec"])


def test_schema_accepts_full_object() -> None:
    full = speech_endpoint(
        azure={
            "endpoint": "https://my-speech.cognitiveservices.azure.com",
            "apiVersion": "v3.2",
            "credentials": {"workloadIdentity": {}},
        },
        displayName="Call center",
        description="English call center",
        model={"customModelId": UUID_B},
        projectId=UUID_A,
        loggingEnabled=True,
        customProperties={f"k{i}": "v" * 256 for i in range(9)},
        endpointId=UUID_A,
        deletionPolicy="Orphan",
        exportTo={"configMapName": "call-center-en-endpoint"},
    )
    obj, errors = admit(full)
    assert errors == []
    assert schema_errors(obj) == []


# --- CEL --------------------------------------------------------------------------------------------------

CEL_CREATE_CASES = [
    ({"model": {"baseModelId": UUID_A, "customModelId": UUID_B}}, "exactly one of spec.model.customModelId"),
    ({"model": {}}, "exactly one of spec.model.customModelId"),
    ({"azure": {"region": "westeurope", "endpoint": "https://a.cognitiveservices.azure.com",
                "credentials": {"secretRef": {"name": "s"}}}}, "exactly one of spec.azure.region"),
    ({"azure": {"credentials": {"secretRef": {"name": "s"}}}}, "exactly one of spec.azure.region"),
    ({"azure": az(credentials={})}, "exactly one of spec.azure.credentials.secretRef"),
    ({"azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "s"}, "workloadIdentity": {}}}},
     "exactly one of spec.azure.credentials.secretRef"),
    ({"azure": {"region": "westeurope", "credentials": {"workloadIdentity": {}}}},
     "workloadIdentity needs spec.azure.endpoint"),
    ({"azure": az(apiVersion="2024-11-15"), "projectId": UUID_A}, "projectId is not supported by Azure API"),
    ({"customProperties": {"": "v"}}, "keys must be 1 to 64"),
    ({"customProperties": {"k" * 65: "v"}}, "keys must be 1 to 64"),
    ({"customProperties": {spec_module.MARKER_KEY: "v"}}, "must not use the key"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "message"), CEL_CREATE_CASES)
def test_cel_rejects_on_create(overrides: dict[str, Any], message: str) -> None:
    _, errors = admit(speech_endpoint(**overrides))
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize(("overrides", "message"), CEL_CREATE_CASES)
def test_spec_model_rejects_the_same(overrides: dict[str, Any], message: str) -> None:
    obj, _ = admit(speech_endpoint(**overrides))
    with pytest.raises(SpecError):
        parse_spec(obj["spec"])


def test_cel_accepts_valid_variants() -> None:
    for overrides in [
        {"azure": az(apiVersion="2024-11-15")},
        {"azure": az(apiVersion="v3.2"), "projectId": UUID_A},
        {"customProperties": {"k" * 64: "v"}},
        {"customProperties": {}},
    ]:  # fmt: skip
        _, errors = admit(speech_endpoint(**overrides))
        assert errors == [], (overrides, errors)


def _updated(old: dict[str, Any], **changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["spec"].update(changes)
    return new


def test_locale_is_immutable_with_the_cel_message() -> None:
    old = speech_endpoint()
    _, errors = admit(_updated(old, locale="de-DE"), old)
    message = "spec.locale is immutable (Azure cannot change an endpoint's locale)"
    assert errors == [f"spec.locale: {message}; create a new SpeechEndpoint instead"]


@pytest.mark.parametrize(
    ("old_azure", "new_azure", "message"),
    [
        ({"region": "westeurope"}, {"region": "northeurope"}, "spec.azure.region is immutable"),
        ({"region": "westeurope"}, {"endpoint": "https://a.example.com"}, "region is immutable"),
        ({"endpoint": "https://a.example.com"}, {"endpoint": "https://b.example.com"}, "endpoint is"),
    ],
)  # fmt: skip
def test_region_and_endpoint_are_immutable(
    old_azure: dict[str, str], new_azure: dict[str, str], message: str
) -> None:
    creds = {"credentials": {"secretRef": {"name": "s"}}}
    old = speech_endpoint(azure={**old_azure, **creds})
    _, errors = admit(_updated(old, azure={**new_azure, **creds}), old)
    assert any(message in e for e in errors), errors


def test_api_version_and_model_can_change() -> None:
    old = speech_endpoint()
    new = _updated(
        old,
        model={"customModelId": UUID_B},
        azure={"region": "westeurope", "apiVersion": "v3.2", "credentials": {"secretRef": {"name": "s"}}},
        displayName="x",
    )
    assert admit(new, old)[1] == []


def test_endpoint_id_is_set_once() -> None:
    without = speech_endpoint()
    with_id = speech_endpoint(endpointId=UUID_A)
    assert admit(with_id, without)[1] == []  # attach later (e.g. after a restore without status)
    assert admit(with_id, with_id)[1] == []
    message = "spec.endpointId can be set once"
    assert any(message in e for e in admit(speech_endpoint(endpointId=UUID_B), with_id)[1])
    assert any(message in e for e in admit(without, with_id)[1])


# --- CRD <-> pydantic sync ---------------------------------------------------------------------------------


def test_pydantic_spec_model_matches_the_crd() -> None:
    spec_schema = root_schema()["properties"]["spec"]
    assert compare(SpeechEndpointSpec, spec_schema) == []


def test_parse_spec_names_the_field() -> None:
    obj, _ = admit(speech_endpoint(model={"baseModelId": "nope"}))
    with pytest.raises(SpecError, match=r"spec\.model\.baseModelId"):
        parse_spec(obj["spec"])


def test_parse_spec_reads_a_full_spec() -> None:
    obj, _ = admit(speech_endpoint(model={"customModelId": UUID_B.upper()}, endpointId=UUID_A.upper()))
    spec = parse_spec(obj["spec"])
    assert spec.model.ref().id == UUID_B and spec.model.ref().kind == "custom"
    assert spec.adopted_endpoint_id == UUID_A
    assert spec.azure.target().base_url == "https://westeurope.api.cognitive.microsoft.com"
    assert spec.azure.target().api_version == "2025-10-15"


# --- examples/ ---------------------------------------------------------------------------------------------


def _example_speech_endpoints() -> list[dict[str, Any]]:
    import yaml

    from .test_speech_support import ROOT

    docs = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "SpeechEndpoint"]
    return docs


def test_examples_are_valid_speech_endpoints() -> None:
    examples = _example_speech_endpoints()
    assert len(examples) >= 2
    for example in examples:
        obj, errors = admit(example)
        assert errors == [], example["metadata"]["name"]
        assert schema_errors(obj) == [], example["metadata"]["name"]
        parse_spec(obj["spec"])
