"""The VoiceEndpoint CRD as data and an object to admit (crd_support evaluates defaults and CEL rules the way
the API server does)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .crd_support import Crd

__all__ = ["ENDPOINT_ID", "VOICE", "admit", "load_crd", "root_schema", "v3", "voice_endpoint"]

VOICE = Crd("voiceendpoints.yaml", "VoiceEndpoint")
load_crd, root_schema, admit = VOICE.load, VOICE.schema, VOICE.admit
ENDPOINT_ID = "9f50c644-0000-4000-8000-000000000001"


def voice_endpoint(**spec_overrides: Any) -> dict[str, Any]:
    """A minimal VoiceEndpoint; `spec_overrides` replace top-level spec fields (None removes one)."""
    spec = {
        "azure": {"region": "eastus", "credentials": {"secretRef": {"name": "speech-credentials"}}},
        "projectId": "Jessica",
        "modelId": "Jessica",
    }
    return VOICE.object("jessica", spec, spec_overrides)


def v3(**spec_overrides: Any) -> dict[str, Any]:
    """A VoiceEndpoint on the adopt-only API version v3.0, valid as it stands."""
    azure = {"region": "eastus", "apiVersion": "v3.0", "credentials": {"secretRef": {"name": "s"}}}
    fields: dict[str, Any] = {"azure": azure, "endpointId": ENDPOINT_ID, "deletionPolicy": "Orphan"}
    return voice_endpoint(**{**fields, **spec_overrides})


# --- refusals, each with the field the API server names and words of its message ---------------------------

SECRET = {"secretRef": {"name": "s"}}
SCHEDULE = {"suspend": "0 20 * * 1-5", "resume": "0 7 * * 1-5", "timeZone": "Europe/Berlin"}
# Differ field by field, but not once the spaces are gone (20:01 and 00:12): a schedule a comparison of the
# expressions without their spaces would wrongly refuse.
SCHEDULE_WITH_THE_SAME_CHARACTERS = {"suspend": "1 20 * * *", "resume": "12 0 * * *"}


@dataclass(frozen=True)
class Refusal:
    id: str
    obj: dict[str, Any]
    field: str  # where the API server reports it (the spec model's error names it too)
    words: str  # in the API server's message
    old: dict[str, Any] | None = None  # an update of this object (a transition rule)


def _azure(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in {"region": "eastus", "credentials": SECRET, **fields}.items() if v is not None}


# One per field type and constraint of the OpenAPI schema.
SCHEMA_REFUSALS = [
    Refusal("project-id-short", voice_endpoint(projectId="ab"), "spec.projectId", "at least 3 chars"),
    Refusal("project-id-pattern", voice_endpoint(projectId="-Jessica"), "spec.projectId", "should match"),
    Refusal("model-id-long", voice_endpoint(modelId="m" * 65), "spec.modelId", "may not be more than 64"),
    Refusal("model-id-missing", voice_endpoint(modelId=None), "spec.modelId", "Required value"),
    Refusal("kind-enum", voice_endpoint(kind="Standard"), "spec.kind", "supported values"),
    Refusal(
        "suspended-not-bool", voice_endpoint(suspended="maybe"), "spec.suspended", "must be of type boolean"
    ),
    Refusal(
        "cron-four-fields",
        voice_endpoint(schedule={**SCHEDULE, "suspend": "0 20 * *"}),
        "spec.schedule.suspend",
        "should match",
    ),
    Refusal(
        "resume-missing",
        voice_endpoint(schedule={"suspend": "0 20 * * *"}),
        "spec.schedule.resume",
        "Required value",
    ),
    Refusal(
        "time-zone-pattern",
        voice_endpoint(schedule={**SCHEDULE, "timeZone": "Europe/../Berlin"}),
        "spec.schedule.timeZone",
        "should match",
    ),
    Refusal(
        "grace-not-a-duration",
        voice_endpoint(swapGracePeriod="24 hours"),
        "spec.swapGracePeriod",
        "should match",
    ),
    Refusal("display-name-empty", voice_endpoint(displayName=""), "spec.displayName", "at least 1 chars"),
    Refusal(
        "description-long",
        voice_endpoint(description="d" * 1025),
        "spec.description",
        "may not be more than 1024",
    ),
    Refusal("endpoint-id-not-a-uuid", voice_endpoint(endpointId="nope"), "spec.endpointId", "should match"),
    Refusal(
        "deletion-policy-enum",
        voice_endpoint(deletionPolicy="Keep"),
        "spec.deletionPolicy",
        "supported values",
    ),
    Refusal(
        "config-map-name",
        voice_endpoint(exportTo={"configMapName": "Not_A_Name"}),
        "spec.exportTo.configMapName",
        "should match",
    ),
    Refusal(
        "speech-api-version",
        voice_endpoint(azure=_azure(apiVersion="2025-10-15")),
        "spec.azure.apiVersion",
        "supported values",
    ),
    Refusal(
        "region-pattern", voice_endpoint(azure=_azure(region="East US")), "spec.azure.region", "should match"
    ),
]

# One per CEL rule checked on create.
CEL_REFUSALS = [
    Refusal(
        "v3-needs-region",
        v3(
            azure={
                "endpoint": "https://a.cognitiveservices.azure.com",
                "apiVersion": "v3.0",
                "credentials": SECRET,
            }
        ),
        "spec.azure.region",
        "spec.azure.region is required with API version v3.0",
    ),
    Refusal(
        "v3-needs-endpoint-id",
        v3(endpointId=None),
        "spec.endpointId",
        "spec.endpointId is required with API version v3.0",
    ),
    Refusal(
        "v3-needs-orphan",
        v3(deletionPolicy=None),  # the default, Delete
        "spec.deletionPolicy",
        "spec.deletionPolicy must be Orphan with API version v3.0",
    ),
    Refusal(
        "schedule-same-times",
        voice_endpoint(schedule={**SCHEDULE, "resume": SCHEDULE["suspend"]}),
        "spec.schedule",
        "spec.schedule.suspend and spec.schedule.resume must differ",
    ),
    Refusal(
        "schedule-same-times-but-the-spacing",
        voice_endpoint(schedule={**SCHEDULE, "resume": "0  20 *  * 1-5"}),
        "spec.schedule",
        "spec.schedule.suspend and spec.schedule.resume must differ",
    ),
    Refusal(
        "region-and-endpoint",
        voice_endpoint(azure=_azure(endpoint="https://a.cognitiveservices.azure.com")),
        "spec.azure",
        "set exactly one of spec.azure.region and spec.azure.endpoint",
    ),
    Refusal(
        "two-credentials",
        voice_endpoint(azure=_azure(credentials={**SECRET, "workloadIdentity": {}})),
        "spec.azure.credentials",
        "set exactly one of spec.azure.credentials.secretRef and spec.azure.credentials.workloadIdentity",
    ),
    Refusal(
        "workload-identity-on-a-region",
        voice_endpoint(azure=_azure(credentials={"workloadIdentity": {}})),
        "spec.azure.credentials.workloadIdentity",
        "spec.azure.credentials.workloadIdentity needs spec.azure.endpoint",
    ),
]

_ADOPTED = voice_endpoint(
    endpointId=ENDPOINT_ID, displayName="Jessica", description="d", kind="HighPerformance"
)


def _changed(**changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(_ADOPTED)
    for key, value in changes.items():
        if value is None:
            new["spec"].pop(key)
        else:
            new["spec"][key] = value
    return new


# One per transition rule (an update of _ADOPTED).
TRANSITION_REFUSALS = [
    Refusal(
        "display-name-changed",
        _changed(displayName="J2"),
        "spec.displayName",
        "spec.displayName is immutable",
        _ADOPTED,
    ),
    Refusal(
        "display-name-removed",
        _changed(displayName=None),
        "spec.displayName",
        "spec.displayName is immutable",
        _ADOPTED,
    ),
    Refusal(
        "description-changed",
        _changed(description="e"),
        "spec.description",
        "spec.description is immutable",
        _ADOPTED,
    ),
    Refusal("kind-changed", _changed(kind="FastResume"), "spec.kind", "spec.kind is immutable", _ADOPTED),
    Refusal("kind-removed", _changed(kind=None), "spec.kind", "spec.kind is immutable", _ADOPTED),
    Refusal(
        "endpoint-id-changed",
        _changed(endpointId="9f50c644-0000-4000-8000-000000000002"),
        "spec.endpointId",
        "spec.endpointId can be set once",
        _ADOPTED,
    ),
    Refusal(
        "endpoint-id-removed",
        _changed(endpointId=None),
        "spec.endpointId",
        "spec.endpointId can be set once",
        _ADOPTED,
    ),
    Refusal(
        "region-changed",
        _changed(azure=_azure(region="westeurope")),
        "spec.azure.region",
        "spec.azure.region is immutable",
        _ADOPTED,
    ),
]
