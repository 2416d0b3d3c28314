"""The conditions follow kstatus, as kstatus itself reads them (the `kstatus` tool, tests/kstatus.py): each
row of the condition truth table (docs/speechendpoint.md, docs/voiceendpoint.md) gives the kstatus value the
table promises, for both kinds. Twice: on the Argo CD health checks' fixtures (which
tests/unit/test_argocd_health.py holds to what the operator's condition code writes), and on conditions made
here by that code (`truth_table`, `merge_conditions`) for every phase, every "as before" and a stale
generation."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_speech_operator.conditions import (
    MODEL_EXPIRED,
    MODEL_EXPIRING,
    RECONCILING,
    STALLED,
    Condition,
    Health,
    Phase,
    find_condition,
    merge_conditions,
    truth_table,
)

from tests import kstatus
from tests.argocd import KINDS, folder

CURRENT, IN_PROGRESS, FAILED = "Current", "InProgress", "Failed"

# The truth table's kstatus column, by phase
BY_PHASE = {
    Phase.DEPLOYING: IN_PROGRESS,
    Phase.READY: CURRENT,
    Phase.REDEPLOYING: IN_PROGRESS,
    Phase.RETRYING: IN_PROGRESS,
    Phase.STALLED: FAILED,
    Phase.SUSPENDING: IN_PROGRESS,
    Phase.SUSPENDED: CURRENT,
    Phase.RESUMING: IN_PROGRESS,
}
VOICE_ONLY = {Phase.SUSPENDING, Phase.SUSPENDED, Phase.RESUMING}

# The Argo CD fixtures (argocd/resource_customizations/.../testdata), each a row of the table. `no-status` is
# not a row of kstatus's column: kstatus takes an object with no status and no observedGeneration for one
# that has no conditions at all, so Current (docs/install.md says so; `kubectl wait --for=condition=Ready`
# waits for the operator's word).
_COMMON = {
    "no-status": CURRENT,
    "stale-generation": IN_PROGRESS,
    "deploying": IN_PROGRESS,
    "ready": CURRENT,
    "transient-error": IN_PROGRESS,
    "stalled": FAILED,
}
BY_FIXTURE = {
    "SpeechEndpoint": {
        **_COMMON,
        "redeploying": IN_PROGRESS,
        "updating": IN_PROGRESS,
        "model-expiring": CURRENT,
        "model-expired": CURRENT,  # Degraded in Argo CD: kstatus has no "ready but degraded"
    },
    "VoiceEndpoint": {
        **_COMMON,
        "swapping": IN_PROGRESS,
        "suspending": IN_PROGRESS,
        "suspended": CURRENT,
        "resuming": IN_PROGRESS,
    },
}


def fixtures(kind: str) -> list[Path]:
    return sorted((folder(kind) / "testdata").glob("*.yaml"))


@pytest.mark.parametrize("kind", KINDS)
def test_each_fixture_of_the_truth_table_gets_the_kstatus_the_table_promises(kind: str) -> None:
    paths = fixtures(kind)
    assert sorted(p.stem for p in paths) == sorted(BY_FIXTURE[kind]), "a fixture without a kstatus row"
    results = kstatus.compute_files(*paths)
    assert [(r["kind"], r["name"]) for r in results] == [
        (kind, yaml.safe_load(p.read_text())["metadata"]["name"]) for p in paths
    ]
    assert {p.stem: r["status"] for p, r in zip(paths, results, strict=True)} == BY_FIXTURE[kind]
    # and the message is the operator's: the Reconciling or Stalled condition's, whichever decided
    for path, result in zip(paths, results, strict=True):
        conditions = (yaml.safe_load(path.read_text()).get("status") or {}).get("conditions")
        deciding = {IN_PROGRESS: RECONCILING, FAILED: STALLED}.get(result["status"])
        if deciding and path.stem != "stale-generation":
            assert result["message"] == find_condition(conditions, deciding).message, path.name


# --- conditions made by the operator's own code -------------------------------------------------------------

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def resource(
    kind: str, conditions: list[dict[str, Any]], *, generation: int, observed: int
) -> dict[str, Any]:
    return {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "r", "namespace": "team-a", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


def written(health: Health, previous: list[dict[str, Any]], generation: int) -> list[dict[str, Any]]:
    return merge_conditions(previous, truth_table(health, previous), generation=generation, now=NOW)


def _befores(kind: str) -> list[list[dict[str, Any]]]:
    """What the conditions were before ("as before" rows keep Available and Suspended): every combination."""
    voice = kind == "VoiceEndpoint"
    befores: list[list[dict[str, Any]]] = [[]]
    for available, suspended in itertools.product((True, False), (True, False) if voice else (None,)):
        phase = Phase.SUSPENDED if suspended else Phase.READY if available else Phase.DEPLOYING
        befores.append(written(Health(phase, "Ready", suspended=suspended), [], 1))
    return befores


CASES = [
    (kind, phase, before_index)
    for kind in KINDS
    for phase in Phase
    if kind == "VoiceEndpoint" or phase not in VOICE_ONLY
    for before_index in range(len(_befores(kind)))
]


@pytest.mark.parametrize(("kind", "phase", "before"), CASES)
def test_each_phase_written_by_the_operators_code_gets_the_kstatus_the_table_promises(
    kind: str, phase: Phase, before: int
) -> None:
    suspended = (phase is Phase.SUSPENDED) if kind == "VoiceEndpoint" else None
    health = Health(
        phase, "TooManyRequests" if phase is Phase.RETRYING else "", "what happens", suspended=suspended
    )
    conditions = written(health, _befores(kind)[before], 2)
    current, stale = kstatus.compute(
        [
            resource(kind, conditions, generation=2, observed=2),
            # a spec change the operator has not seen yet: InProgress whatever the conditions say
            resource(kind, conditions, generation=3, observed=2),
        ]
    )
    assert current["status"] == BY_PHASE[phase]
    assert stale["status"] == IN_PROGRESS
    assert stale["message"] == f"{kind} generation is 3, but latest observed generation is 2"


@pytest.mark.parametrize("expiry", [MODEL_EXPIRING, MODEL_EXPIRED])
def test_a_ready_speech_endpoint_whose_model_expires_is_current(expiry: str) -> None:
    """kstatus has no "ready but degraded": ModelExpired is Argo CD's Degraded, kstatus's Current."""
    conditions = merge_conditions(
        written(Health(Phase.READY, "Ready"), [], 1),
        [Condition(expiry, "True", "Expired", "the model stopped transcribing")],
        generation=1,
        now=NOW,
    )
    [result] = kstatus.compute([resource("SpeechEndpoint", conditions, generation=1, observed=1)])
    assert result["status"] == CURRENT


def test_a_resource_being_deleted_is_terminating() -> None:
    obj = resource(
        "VoiceEndpoint",
        written(Health(Phase.READY, "Ready", suspended=False), [], 1),
        generation=1,
        observed=1,
    )
    obj["metadata"]["deletionTimestamp"] = "2026-11-21T08:00:00Z"
    assert [r["status"] for r in kstatus.compute([obj])] == ["Terminating"]


def test_the_tool_reads_lists_json_and_several_documents(tmp_path: Path) -> None:
    ready = resource("SpeechEndpoint", written(Health(Phase.READY, "Ready"), [], 1), generation=1, observed=1)
    stalled = resource(
        "SpeechEndpoint",
        written(Health(Phase.STALLED, "InvalidModel", "fix spec.model"), [], 1),
        generation=1,
        observed=1,
    )
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [ready, stalled]}))
    documents = tmp_path / "documents.yaml"
    # an empty document between the two, as `---` twice in a row makes
    documents.write_text(f"---\n{yaml.safe_dump(stalled)}---\n---\n{yaml.safe_dump(ready)}")
    results = kstatus.compute_files(listed, documents)
    assert [(r["status"], r["message"]) for r in results] == [
        (CURRENT, "Resource is Ready"),
        (FAILED, "fix spec.model"),
        (FAILED, "fix spec.model"),
        (CURRENT, "Resource is Ready"),
    ]
