"""VoiceEndpoint under Azure's documented answers and under crashes: each answer shown as the contract says
(docs/errors.md), and an operator killed mid-create or mid-swap leaving exactly the endpoints it should."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure_speech_operator.simulator.seed import VOICE_MODEL_2

from .harness import Kube, Operator, Simulator, wait_for
from .test_voice_lifecycle import KIND, event_reasons, manifest, ours, patch_spec


def creates(simulator: Simulator) -> int:
    snapshot = simulator.requests()
    return sum((snapshot.get("operations") or {}).get("CustomVoice.Endpoints_Create", {}).values())


@pytest.fixture
def ready_secret(kube: Kube, simulator: Simulator, namespace: str) -> Iterator[str]:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    yield namespace
    simulator.clear_faults()


@pytest.fixture
def slow_answers(simulator: Simulator) -> Iterator[None]:
    """A `slow` fault holds the answer for 6 s: time to kill the operator while it waits for it."""
    simulator.configure(slowSeconds=6)
    yield
    simulator.configure(slowSeconds=2)


@pytest.mark.parametrize(("kind", "reason"), [("429", "TooManyRequests"), ("502", "BadGateway")])
def test_transient_answers_are_retried_to_ready(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, kind: str, reason: str
) -> None:
    namespace = ready_secret
    simulator.add_fault(operation="CustomVoice.Endpoints_Create", kind=kind, count=1)
    kube.apply(manifest(simulator, f"transient-{kind}"), namespace)
    obj = kube.wait_condition(KIND, f"transient-{kind}", namespace, "Ready", timeout=120)
    assert len(ours(simulator, obj["metadata"]["uid"])) == 1
    warnings = [
        e for e in kube.events(namespace, involved_name=f"transient-{kind}") if e["type"] == "Warning"
    ]
    assert [e["reason"] for e in warnings] == [reason]


def test_a_refused_model_is_stalled_with_azures_code_and_no_more_writes(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    before = creates(simulator)
    kube.apply(manifest(simulator, "no-such-model", modelId="NoSuchModel"), namespace)
    obj = kube.wait_condition(KIND, "no-such-model", namespace, "Stalled", timeout=60)
    error = obj["status"]["error"]
    assert error["class"] == "fatal" and "NoSuchModel" in error["message"]
    assert kube.condition(obj, "Reconciling")["status"] == "False"  # type: ignore[index]
    assert creates(simulator) == before + 1
    assert ours(simulator, obj["metadata"]["uid"]) == {}


def test_a_wrong_key_is_stalled_unauthorized(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    secret = simulator.credentials_secret(namespace)
    secret["data"]["key"] = "d3Jvbmc="  # "wrong"
    kube.apply(secret, namespace)
    kube.apply(manifest(simulator, "wrong-key"), namespace)
    obj = kube.wait_condition(KIND, "wrong-key", namespace, "Stalled", reason="Unauthorized", timeout=60)
    assert obj["status"]["error"]["class"] == "blocked"
    assert "wrong" not in str(obj["status"])  # the key itself is never shown


def test_a_lost_create_answer_makes_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str
) -> None:
    namespace = ready_secret
    simulator.add_fault(operation="CustomVoice.Endpoints_Create", kind="reset", phase="after", count=1)
    kube.apply(manifest(simulator, "lost-answer"), namespace)
    obj = kube.wait_condition(KIND, "lost-answer", namespace, "Ready", timeout=120)
    assert len(ours(simulator, obj["metadata"]["uid"])) == 1


def _uid(kube: Kube, name: str, namespace: str) -> str:
    obj: dict[str, Any] = wait_for(lambda: kube.get(KIND, name, namespace), 30, f"{KIND} {name}")
    return str(obj["metadata"]["uid"])


def test_killed_mid_create_leaves_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, slow_answers: None
) -> None:
    namespace = ready_secret
    simulator.add_fault(operation="CustomVoice.Endpoints_Create", kind="slow", phase="after", count=1)
    kube.apply(manifest(simulator, "killed-create"), namespace)
    uid = _uid(kube, "killed-create", namespace)
    wait_for(lambda: ours(simulator, uid), 60, "the create to take effect in Azure")
    operator.kill()  # while it waits for the answer
    operator.start()
    obj = kube.wait_condition(KIND, "killed-create", namespace, "Ready", timeout=120)
    assert list(ours(simulator, uid)) == [obj["status"]["endpointId"]]


def test_killed_mid_swap_leaves_the_old_and_the_new_endpoint_only(
    kube: Kube, simulator: Simulator, operator: Operator, ready_secret: str, slow_answers: None
) -> None:
    namespace = ready_secret
    kube.apply(manifest(simulator, "killed-swap", swapGracePeriod="1h"), namespace)
    obj = kube.wait_condition(KIND, "killed-swap", namespace, "Ready", timeout=120)
    uid, first = obj["metadata"]["uid"], obj["status"]["endpointId"]
    simulator.add_fault(operation="CustomVoice.Endpoints_Create", kind="slow", phase="after", count=1)
    patch_spec(kube, "killed-swap", namespace, f'{{"spec": {{"modelId": "{VOICE_MODEL_2}"}}}}')
    wait_for(lambda: len(ours(simulator, uid)) == 2, 60, "the new endpoint's create in Azure")
    operator.kill()
    operator.start()
    wait_for(
        lambda: (
            ((kube.get(KIND, "killed-swap", namespace) or {}).get("status") or {}).get("endpointId")
            not in (None, first)
        ),
        120,
        "the switch to the new endpoint",
    )
    obj = kube.wait_condition(KIND, "killed-swap", namespace, "Ready", timeout=60)
    assert set(ours(simulator, uid)) == {first, obj["status"]["endpointId"]}
    assert obj["status"]["previousEndpoint"]["id"] == first
    assert "Swapped" in event_reasons(kube, namespace, "killed-swap")
    kube.delete(KIND, "killed-swap", namespace, timeout=60)
    assert ours(simulator, uid) == {}
