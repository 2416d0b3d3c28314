"""Property tests of the VoiceEndpoint logic over random histories: spec changes (model, suspended),
Azure finishing or failing actions, transient errors, lost answers (of a DELETE too), crashes mid-pass and
endpoints deleted behind the operator's back. After every pass: no endpoint of the resource is unknown to it
(nothing leaks), at most three exist (serving, being deployed, in its grace period), status names an
endpoint Azure has, and once the history ends and Azure settles, the resource converges to exactly what
the spec asks."""

from __future__ import annotations

import asyncio
import contextlib
import json

from azure_speech_operator.azure.types import ErrorClass
from azure_speech_operator.azure.voice import deterministic_endpoint_id
from azure_speech_operator.reconcile import REQUESTED_ANNOTATION, Trigger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_voice_fakes import UID, World, azure_error

ACTIONS = st.sampled_from(
    [
        "pass",
        "drift",
        "restart",
        "finish",
        "model_a",
        "model_b",
        "model_failing",
        "suspend",
        "resume",
        "follow_schedule",
        "error_429",
        "lose_create",
        "lose_suspend",
        "lose_delete",
        "crash_create",
        "crash_note",
        "delete_in_azure",
        "request",
        "time",
    ]
)
MODELS = {"model_a": "Jessica", "model_b": "Jessica2", "model_failing": "Broken"}
OURS = {deterministic_endpoint_id(UID, n) for n in range(40)}


async def apply(world: World, action: str, step: int) -> None:
    azure = world.azure
    if action == "finish":
        azure.finish()
    elif action in MODELS:
        world.change_spec(modelId=MODELS[action])
    elif action in ("suspend", "resume"):
        world.change_spec(suspended=action == "suspend")
    elif action == "follow_schedule":
        world.change_spec(suspended=None)
    elif action == "error_429":
        azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429, retry_after=2))
    elif action == "lose_create":
        azure.lost_answers.add("create")
    elif action == "lose_suspend":
        azure.lost_answers.add("suspend")
    elif action == "lose_delete":
        azure.lost_answers.add("delete")
    elif action in ("crash_create", "crash_note"):
        world.crash_after = "CreateEndpoint" if action == "crash_create" else "Note"
    elif action == "delete_in_azure":
        current = world.status.get("endpointId")
        if current in azure.endpoints:
            del azure.endpoints[current]
    elif action == "request":
        world.annotations[REQUESTED_ANNOTATION] = f"request-{step}"
    elif action == "time":
        world.advance(3600)
    if action in ("pass", "drift", "restart", "request") or action in MODELS or action == "time":
        trigger = {"drift": Trigger.DRIFT, "restart": Trigger.RESUME}.get(action, Trigger.CHANGE)
        # a crash kills the operator mid-pass; the next pass starts from what was stored
        with contextlib.suppress(KeyboardInterrupt):
            await world.run(trigger)


def check_invariants(world: World) -> None:
    known = {
        world.annotations.get(key)
        for key in (
            "kopf.speech.azure-operator.io/endpoint-id",
            "kopf.speech.azure-operator.io/voice-candidate",
        )
    }
    previous = world.annotations.get("kopf.speech.azure-operator.io/voice-previous")
    if previous:
        known.add(previous.split()[0])
    discarding = world.annotations.get("kopf.speech.azure-operator.io/voice-discarding")
    if discarding:
        known.add(json.loads(discarding)["id"])  # being deleted (sent again after a lost answer)
    existing = set(world.azure.endpoints)
    assert existing <= OURS
    assert existing <= known, f"leaked: {existing - known}"
    assert len(existing) <= 3


async def converge(world: World) -> None:
    world.crash_after = None
    world.azure.failures.clear()
    world.azure.lost_answers.clear()
    world.azure.failing_models.discard("Broken")
    for rounds in (30, 5):
        for n in range(rounds):
            # As a user does: a Stalled resource (a failure seen only now, e.g. a model that failed while
            # the history ran) gets a new reconcile-requested-at; the failure's cause is gone by now.
            if world.status and world.condition("Stalled")[0] == "True":
                world.annotations[REQUESTED_ANNOTATION] = f"retry-{rounds}-{n}"
            outcome = await world.run()
            world.advance(outcome.retry.delay if outcome.retry else 60)
            world.azure.finish()
            check_invariants(world)
        world.advance(48 * 3600)  # past every grace period
    await world.run(Trigger.DRIFT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIONS, min_size=1, max_size=25))
def test_random_histories_never_leak_and_converge(actions: list[str]) -> None:
    async def run() -> None:
        world = World()
        world.azure.failing_models.add("Broken")
        for step, action in enumerate(actions):
            await apply(world, action, step)
            check_invariants(world)
        await converge(world)
        spec_model = world.spec["modelId"]
        wanted_suspended = bool(world.spec.get("suspended"))
        ready = world.condition("Ready")
        assert ready == ("True", "Ready"), world.status
        current = world.status["endpointId"]
        assert set(world.azure.endpoints) == {current}
        endpoint = world.azure.endpoints[current]
        assert endpoint.model_id == spec_model
        assert endpoint.status == ("Disabled" if wanted_suspended else "Succeeded")
        assert world.condition("Suspended")[0] == ("True" if wanted_suspended else "False")

    asyncio.run(run())
