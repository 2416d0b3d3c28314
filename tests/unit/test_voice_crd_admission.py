"""crds/voiceendpoints.yaml through the session's real kube-apiserver: defaults, one refusal per field type
and per CEL rule (each a `kubectl apply --dry-run=server`, a real apply first where a transition rule needs
the old object), each naming the field. The same cases are evaluated locally in test_voice_crd.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Kube

from .crd_support import dry_run, in_namespace, refusal, reported_at
from .test_voice_support import (
    CEL_REFUSALS,
    ENDPOINT_ID,
    SCHEDULE,
    SCHEDULE_WITH_THE_SAME_CHARACTERS,
    SCHEMA_REFUSALS,
    TRANSITION_REFUSALS,
    Refusal,
    v3,
    voice_endpoint,
)


def test_a_minimal_object_is_admitted_and_defaulted(kube: Kube, cluster_namespace: str) -> None:
    obj = voice_endpoint(schedule={"suspend": "0 20 * * 1-5", "resume": "0 7 * * 1-5"})
    spec = dry_run(kube, in_namespace(obj, cluster_namespace))["spec"]
    assert spec["azure"]["apiVersion"] == "2026-01-01"
    assert spec["azure"]["credentials"]["secretRef"]["key"] == "key"
    assert spec["deletionPolicy"] == "Delete"
    assert spec["schedule"]["timeZone"] == "UTC"
    assert "kind" not in spec and "suspended" not in spec


def test_a_schedule_differing_field_by_field_is_admitted(kube: Kube, cluster_namespace: str) -> None:
    obj = voice_endpoint(schedule=SCHEDULE_WITH_THE_SAME_CHARACTERS)
    schedule = dry_run(kube, in_namespace(obj, cluster_namespace))["spec"]["schedule"]
    assert schedule == {**SCHEDULE_WITH_THE_SAME_CHARACTERS, "timeZone": "UTC"}


def test_a_v3_adoption_is_admitted(kube: Kube, cluster_namespace: str) -> None:
    assert dry_run(kube, in_namespace(v3(), cluster_namespace))["spec"]["azure"]["apiVersion"] == "v3.0"


@pytest.mark.parametrize(
    "case", SCHEMA_REFUSALS + CEL_REFUSALS, ids=[r.id for r in SCHEMA_REFUSALS + CEL_REFUSALS]
)
def test_refusals_name_the_field(kube: Kube, cluster_namespace: str, case: Refusal) -> None:
    message = refusal(kube, in_namespace(case.obj, cluster_namespace))
    assert reported_at(message, case.field) and case.words in message, message


@pytest.mark.parametrize("case", TRANSITION_REFUSALS, ids=[r.id for r in TRANSITION_REFUSALS])
def test_transition_rules_name_the_field(kube: Kube, cluster_namespace: str, case: Refusal) -> None:
    assert case.old is not None
    kube.apply(in_namespace(case.old, cluster_namespace))
    message = refusal(kube, in_namespace(case.obj, cluster_namespace))
    assert reported_at(message, case.field) and case.words in message, message


@pytest.mark.parametrize(
    "change",
    [
        {"endpointId": ENDPOINT_ID},
        {"modelId": "Jessica2", "projectId": "Jessica2"},
        {"suspended": True, "schedule": SCHEDULE, "swapGracePeriod": "1h"},
    ],
    ids=["adopt-later", "swap", "suspend-and-schedule"],
)
def test_allowed_updates(kube: Kube, cluster_namespace: str, change: dict[str, Any]) -> None:
    kube.apply(in_namespace(voice_endpoint(), cluster_namespace))
    updated = dry_run(kube, in_namespace(voice_endpoint(**change), cluster_namespace))
    assert {key: updated["spec"][key] for key in change} == change


def test_status_is_kept_not_pruned(kube: Kube, cluster_namespace: str) -> None:
    obj = in_namespace(voice_endpoint(), cluster_namespace)
    kube.apply(obj)
    status = {
        "observedGeneration": 1,
        "apiVersion": "2026-01-01",
        "endpointId": ENDPOINT_ID,
        "azureStatus": "Disabled",
        "operation": {"id": "op-1", "status": "Running"},
        "previousEndpoint": {"id": ENDPOINT_ID, "deleteAfter": "2026-11-22T06:00:00Z"},
        "nextTransition": {"action": "resume", "at": "2026-11-23T06:00:00Z"},
        "error": {"code": "TooManyRequests", "message": "m", "class": "transient"},
        "createdAt": "2026-11-21T06:00:00Z",
        "lastActionAt": "2026-11-21T06:05:00Z",
        "reconcileRequestedAt": "now",
        "exportedConfigMap": "jessica-endpoint",
        "conditions": [
            {
                "type": "Suspended",
                "status": "True",
                "reason": "Suspended",
                "message": "",
                "lastTransitionTime": "2026-11-21T06:00:00Z",
                "observedGeneration": 1,
            }
        ],
    }
    write = {key: obj[key] for key in ("apiVersion", "kind", "metadata")} | {"status": status}
    stored = dry_run(kube, write, "--server-side", "--subresource=status")
    assert stored["status"] == status
    write["status"] = {**status, "nextTransition": {"action": "pause", "at": "2026-11-23T06:00:00Z"}}
    assert "status.nextTransition.action: Unsupported value" in refusal(
        kube, write, "--server-side", "--subresource=status"
    )
