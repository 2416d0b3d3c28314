"""Property tests of the SpeechEndpoint logic over random histories of spec changes, Azure behaviour and
failures: the invariants of docs/speechendpoint.md hold after every pass."""

from __future__ import annotations

import asyncio
import copy

from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import EntityError, ErrorClass
from azure_speech_operator.reconcile import Pass, Trigger
from azure_speech_operator.speechendpoint import logic
from azure_speech_operator.speechendpoint.logic import Observed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_speech_fakes import BASE_MODEL, BASE_MODEL_2, GERMAN_MODEL, MARKER, UID, World, azure_error

ACTIONS = st.sampled_from(
    [
        "pass",
        "drift",
        "resume",
        "finish",
        "fail_deploy",
        "model_a",
        "model_b",
        "model_german",
        "rename",
        "error_429",
        "error_fatal",
        "error_blocked",
        "lose_create",
        "delete_in_azure",
        "request",
        "skip",
        "manage",
    ]
)


async def apply(world: World, action: str, step: int) -> None:
    azure = world.azure
    if action == "finish":
        azure.finish()
    elif action == "fail_deploy":
        azure.finish("Failed", EntityError(code="InternalError", message="boom"))
    elif action.startswith("model_"):
        model = {"model_a": BASE_MODEL, "model_b": BASE_MODEL_2, "model_german": GERMAN_MODEL}[action]
        world.change_spec(model={"baseModelId": model})
    elif action == "rename":
        world.change_spec(displayName=f"name {step}")
    elif action == "error_429":
        azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429, retry_after=2))
    elif action == "error_fatal":
        azure.fail("update", azure_error("InvalidPayload", ErrorClass.FATAL))
    elif action == "error_blocked":
        azure.fail("create", azure_error("QuotaViolation", ErrorClass.BLOCKED, status=403))
    elif action == "lose_create":
        azure.lose_create_answer = True
    elif action == "delete_in_azure":
        azure.endpoints.clear()
    elif action == "request":
        world.annotations[reconcile.REQUESTED_ANNOTATION] = f"req-{step}"
    elif action == "skip":
        world.annotations[reconcile.POLICY_ANNOTATION] = "skip"
    elif action == "manage":
        world.annotations[reconcile.POLICY_ANNOTATION] = "manage"
    trigger = {"drift": Trigger.DRIFT, "resume": Trigger.RESUME}.get(action, Trigger.CHANGE)
    before = copy.deepcopy(world.status)
    resource = world.resource()
    pass_ = Pass(trigger=trigger, now=world.now)
    # the plan is a pure function: the same inputs give the same answer
    assert logic.plan(resource, Observed(), pass_) == logic.plan(resource, Observed(), pass_)
    await world.run(trigger)
    check(world, before)


def check(world: World, before: dict[str, object]) -> None:
    status = world.status
    if not status:
        return
    assert status["observedGeneration"] == world.generation
    conditions = status["conditions"]
    assert all(c["observedGeneration"] == world.generation for c in conditions)
    true_types = {c["type"] for c in conditions if c["status"] == "True"}
    assert not {"Reconciling", "Stalled"} <= true_types
    assert ("Ready" in true_types) != any(c["type"] == "Ready" and c["status"] == "False" for c in conditions)
    # never more than one endpoint tagged with this resource's uid: no duplicate creates
    tagged = [e for e in world.azure.endpoints.values() if e.custom_properties.get(MARKER) == UID]
    assert len(tagged) <= 1
    if "Ready" in true_types:
        endpoint = world.azure.endpoints[status["endpointId"]]  # type: ignore[index]
        assert endpoint.status == "Succeeded"
    del before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=25))
def test_invariants_hold_over_random_histories(actions: list[str]) -> None:
    async def scenario() -> None:
        world = World()
        for step, action in enumerate(actions):
            world.advance(60)
            await apply(world, action, step)

    asyncio.run(scenario())


@settings(max_examples=30, deadline=None)
@given(actions=st.lists(ACTIONS, min_size=0, max_size=15))
def test_deletion_always_ends_when_azure_answers(actions: list[str]) -> None:
    async def scenario() -> None:
        world = World()
        for step, action in enumerate(actions):
            world.advance(60)
            await apply(world, action, step)
        world.azure.failures.clear()
        world.deletion_timestamp = world.now
        outcome = await world.run(Trigger.DELETE)
        assert outcome.release
        policy = world.annotations.get(reconcile.POLICY_ANNOTATION, "manage")
        tagged = [e for e in world.azure.endpoints.values() if e.custom_properties.get(MARKER) == UID]
        if policy == "manage":
            assert tagged == []

    asyncio.run(scenario())
