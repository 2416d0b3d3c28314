"""The Argo CD health check in examples/argocd/ run (with lupa's Lua) on statuses the operator's own condition
code writes, one per row of the conditions table (docs/speechendpoint.md), plus the stale and expired rows."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime
from typing import Any

import lupa
import pytest
import yaml
from azure_speech_operator.conditions import (
    MODEL_EXPIRED,
    Condition,
    Health,
    Phase,
    merge_conditions,
    truth_table,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "argocd" / "speechendpoint-health.yaml"
KEY = "resource.customizations.health.speech.azure-operator.io_SpeechEndpoint"
T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def health_of(obj: dict[str, Any]) -> tuple[str, str]:
    script = yaml.safe_load(CONFIG.read_text())["data"][KEY]
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    check = lua.eval(f"function(obj)\n{script}\nend")
    result = check(lua.table_from(obj, recursive=True))
    return str(result["status"]), str(result["message"])


def resource(health: Health | None, *, generation: int = 2, observed: int = 2, expired: bool = False) -> Any:
    obj: dict[str, Any] = {"metadata": {"name": "x", "generation": generation}}
    if health is not None:
        desired = truth_table(health)
        if expired:
            desired.append(Condition(MODEL_EXPIRED, "True", "ModelExpired", "model m stopped transcribing"))
        conditions = merge_conditions([], desired, generation=observed, now=T0)
        obj["status"] = {"observedGeneration": observed, "conditions": conditions}
    return obj


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (Health(Phase.DEPLOYING, "Deploying"), "Progressing"),
        (Health(Phase.READY, "Ready"), "Healthy"),
        (Health(Phase.REDEPLOYING, "Redeploying"), "Progressing"),
        (Health(Phase.RETRYING, "TooManyRequests"), "Progressing"),
        (Health(Phase.STALLED, "InvalidModel", "model x does not exist"), "Degraded"),
        (Health(Phase.SUSPENDING, "Suspending", suspended=False), "Progressing"),
        (Health(Phase.SUSPENDED, "Suspended", suspended=True), "Suspended"),
        (Health(Phase.RESUMING, "Resuming", suspended=False), "Progressing"),
    ],
)
def test_each_row_of_the_truth_table(health: Health, expected: str) -> None:
    status, message = health_of(resource(health))
    assert status == expected
    if expected == "Degraded":
        assert message == "InvalidModel: model x does not exist"


def test_an_expired_model_is_degraded_though_ready() -> None:
    status, message = health_of(resource(Health(Phase.READY, "Ready"), expired=True))
    assert (status, message) == ("Degraded", "ModelExpired: model m stopped transcribing")


def test_a_stale_ready_is_progressing() -> None:
    assert health_of(resource(Health(Phase.READY, "Ready"), generation=3, observed=2))[0] == "Progressing"


def test_no_status_yet_is_progressing() -> None:
    assert health_of(resource(None))[0] == "Progressing"
