"""VoiceEndpoint after things went wrong: an endpoint that served and then turned Failed is kept; a fatal
stall does not stop the schedule nor the end of a grace period; a DELETE whose answer is lost ends as if it
had arrived; a previous endpoint is deleted from what the status says when the annotations are lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.azure.voice import deterministic_endpoint_id
from azure_speech_operator.reconcile import ENDPOINT_ID_ANNOTATION, REQUESTED_ANNOTATION, Trigger
from azure_speech_operator.voiceendpoint.logic import (
    CANDIDATE_ANNOTATION,
    DISCARD_ANNOTATION,
    PREVIOUS_ANNOTATION,
)

from tests.unit.test_voice_fakes import ADOPTED, UID, World, adopted_endpoint, azure_error
from tests.unit.test_voice_swap import swapped

pytestmark = pytest.mark.asyncio

FIRST = deterministic_endpoint_id(UID, 0)
SECOND = deterministic_endpoint_id(UID, 1)
THIRD = deterministic_endpoint_id(UID, 2)
SCHEDULE = {"suspend": "0 20 * * *", "resume": "0 7 * * *", "timeZone": "UTC"}


def creates(world: World) -> list[str]:
    return [endpoint_id for call, endpoint_id in world.azure.calls if call == "create"]


def deletes(world: World) -> list[str]:
    return [endpoint_id for call, endpoint_id in world.azure.calls if call == "delete"]


async def passes(world: World, count: int = 3, trigger: Trigger = Trigger.DRIFT) -> None:
    """Passes an hour apart (drift checks), Azure's actions ending in between."""
    for _ in range(count):
        world.advance(3600)
        world.azure.finish()
        await world.run(trigger)


# --- an endpoint that served and then turned Failed ------------------------------------------------------


async def failed_after(how: str) -> World:
    """An endpoint that served for a month, then Failed in Azure: a suspend or a resume Azure ended in
    Failed, or (drift) Azure reporting the running endpoint Failed."""
    world = World()
    world.spec["exportTo"] = {"configMapName": "jessica-endpoint"}
    world.spec["suspended"] = how == "resume"
    await world.settle()
    world.advance(30 * 86400)
    if how != "drift":
        world.change_spec(suspended=how == "suspend")
        await world.run()
        assert (how, FIRST) in world.azure.writes()
        world.advance(30)
    world.azure._set(FIRST, "Failed")
    await world.run(Trigger.DRIFT)
    return world


@pytest.mark.parametrize("how", ["suspend", "resume", "drift"])
async def test_an_endpoint_failed_after_it_served_is_kept_and_stalled_with_its_own_reason(how: str) -> None:
    world = await failed_after(how)
    assert set(world.azure.endpoints) == {FIRST}
    assert deletes(world) == []
    assert world.condition("Stalled") == ("True", "EndpointFailed")
    assert world.condition("Available") == ("False", "NotServing")
    message = world.status["error"]["message"]
    assert FIRST in message and "Failed after it had served" in message and "suspend or resume" in message
    assert "kept" in message and "spec.modelId" in message and "delete this resource" in message
    assert world.status["endpointId"] == FIRST and world.status["azureStatus"] == "Failed"
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == FIRST
    assert world.exported["jessica-endpoint"]["endpointId"] == FIRST
    assert "EndpointFailed" in world.event_reasons()
    await passes(world)
    assert set(world.azure.endpoints) == {FIRST} and deletes(world) == []
    assert world.condition("Stalled") == ("True", "EndpointFailed")


async def test_a_kept_failed_endpoint_stays_kept_after_a_spec_change_and_a_passing_error() -> None:
    # the status forgets that it served (azureStatus Failed, the error a 429): the record does not
    world = await failed_after("suspend")
    world.change_spec(suspended=False)  # unsuspending it: a new generation, no longer stalled
    world.azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    await world.run()
    assert world.condition("Reconciling") == ("True", "TooManyRequests")
    await passes(world, trigger=Trigger.CHANGE)
    assert set(world.azure.endpoints) == {FIRST}
    assert deletes(world) == [] and creates(world) == [FIRST]
    assert world.condition("Stalled") == ("True", "EndpointFailed")
    world.annotations[REQUESTED_ANNOTATION] = "1"  # one more try: read again, still kept
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointFailed")
    assert deletes(world) == [] and creates(world) == [FIRST]


async def test_a_kept_failed_endpoint_is_replaced_by_a_new_model_and_deleted_once_it_runs() -> None:
    world = await failed_after("suspend")
    world.change_spec(modelId="Jessica2", suspended=False)
    await world.settle()
    assert world.status["endpointId"] == SECOND
    assert set(world.azure.endpoints) == {SECOND}  # the Failed one served nothing: no grace period
    assert world.condition("Ready") == ("True", "Ready")
    assert world.exported["jessica-endpoint"]["endpointId"] == SECOND


async def test_a_first_deployment_that_fails_is_still_deleted_to_free_its_slot() -> None:
    world = World()
    world.azure.failing_models.add("Jessica")
    await world.settle()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert world.azure.endpoints == {} and deletes(world) == [FIRST]


# --- a fatal stall does not stop the schedule or the end of a grace period --------------------------------


async def stalled_swap(hour: int, **spec: object) -> World:
    """A resource Stalled DeploymentFailed after a swap to a model that fails; FIRST keeps its state."""
    world = World()
    world.now = world.azure.now = world.now.replace(hour=hour)
    world.spec.update(spec)
    await world.settle()
    world.azure.failing_models.add("Broken")
    world.change_spec(modelId="Broken")
    await world.settle()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert creates(world) == [FIRST, SECOND]
    return world


def assert_still_stalled(world: World) -> None:
    """The fatal error stays shown and the failing model is not deployed again."""
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert world.condition("Reconciling") == ("False", "Idle")
    assert world.status["error"]["code"] == "DeploymentFailed"
    assert creates(world) == [FIRST, SECOND]


async def test_a_stalled_resource_is_suspended_on_schedule() -> None:
    world = await stalled_swap(8, schedule=SCHEDULE)
    assert world.azure.endpoints[FIRST].status == "Succeeded"
    assert world.status["nextTransition"] == {"action": "suspend", "at": "2026-11-21T20:00:00Z"}
    assert world.last is not None and world.last.wake_at == world.now.replace(hour=20, minute=0, second=0)
    world.now = world.azure.now = world.now.replace(hour=20, minute=0, second=1)
    outcome = await world.run(Trigger.DRIFT)
    assert world.azure.writes()[-1] == ("suspend", FIRST)
    assert outcome.retry is not None  # the suspend is followed meanwhile
    assert_still_stalled(world)
    await world.run()  # read while Disabling: not suspended yet, as the table's suspending row says
    assert world.azure.endpoints[FIRST].status == "Disabling"
    assert world.condition("Suspended")[0] == "False"
    world.advance(outcome.retry.delay)
    world.azure.finish()
    await world.run()
    assert world.azure.endpoints[FIRST].status == "Disabled"
    assert_still_stalled(world)
    assert world.condition("Suspended") == ("True", "Suspended")
    assert world.event_reasons().count("Suspended") == 1  # its end said, as outside a stall
    assert world.condition("Available") == ("False", "NotServing")
    assert world.status["nextTransition"] == {"action": "resume", "at": "2026-11-22T07:00:00Z"}


async def test_a_stalled_resource_is_resumed_on_schedule() -> None:
    world = await stalled_swap(21, schedule=SCHEDULE)
    assert world.azure.endpoints[FIRST].status == "Disabled"
    world.now = world.azure.now = (world.now + timedelta(days=1)).replace(hour=7, minute=0, second=1)
    await world.run(Trigger.DRIFT)
    assert world.azure.writes()[-1] == ("resume", FIRST)
    assert_still_stalled(world)
    await world.run()  # Azure resuming it (Running): no longer a suspended endpoint
    assert world.azure.endpoints[FIRST].status == "Running"
    assert world.condition("Suspended") == ("False", "NotSuspended")
    await passes(world, count=1, trigger=Trigger.CHANGE)
    assert world.azure.endpoints[FIRST].status == "Succeeded"
    assert_still_stalled(world)
    assert world.condition("Available") == ("True", "Serving")
    assert world.condition("Suspended") == ("False", "NotSuspended")
    assert world.status["nextTransition"]["action"] == "suspend"
    assert world.event_reasons().count("Resumed") == 1


async def test_a_stalled_resource_deletes_its_previous_endpoint_after_the_grace_period() -> None:
    world = World()
    await world.settle()
    world.change_spec(modelId="Jessica2")
    await world.settle()
    assert world.status["previousEndpoint"]["id"] == FIRST
    world.azure.failing_models.add("Broken")
    world.change_spec(modelId="Broken")
    await world.settle()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert set(world.azure.endpoints) == {FIRST, SECOND}
    world.advance(24 * 3600)
    await world.run(Trigger.DRIFT)
    assert set(world.azure.endpoints) == {SECOND}
    assert PREVIOUS_ANNOTATION not in world.annotations and "previousEndpoint" not in world.status
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert creates(world) == [FIRST, SECOND, THIRD]  # Broken not deployed again


async def test_an_adopted_endpoint_taken_over_is_suspended_on_schedule_after_a_later_mismatch() -> None:
    world = World()
    world.now = world.azure.now = world.now.replace(hour=8)
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec.update(endpointId=ADOPTED, schedule=SCHEDULE)
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    world.change_spec(modelId="Jessica2")  # never swapped: an adopted endpoint is never replaced
    await world.run()
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
    world.now = world.azure.now = world.now.replace(hour=20, minute=0, second=1)
    await passes(world, count=2)
    assert world.azure.writes() == [("suspend", ADOPTED)]
    assert world.azure.endpoints[ADOPTED].status == "Disabled"
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
    assert world.condition("Suspended") == ("True", "Suspended")


async def test_an_adopted_endpoint_refused_is_never_suspended_by_the_schedule_while_stalled() -> None:
    world = World()
    world.now = world.azure.now = world.now.replace(hour=8)
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec.update(endpointId=ADOPTED, modelId="Jessica2", schedule=SCHEDULE)
    await world.run()
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
    world.now = world.azure.now = world.now.replace(hour=21)
    await world.run(Trigger.DRIFT)
    assert world.azure.writes() == []
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")


# --- a DELETE of a failed or replaced endpoint whose answer is lost ---------------------------------------


def glitch_delete(world: World, glitch: str) -> None:
    """The next DELETE is done in Azure but its answer is lost (a reset, a gateway's 504) or the operator is
    killed before it notes it; or (refused) Azure answers 503 and deletes nothing."""
    if glitch == "refused":
        world.azure.fail("delete", azure_error("ServiceUnavailable", ErrorClass.TRANSIENT, 503))
        return
    done = world.azure.delete

    async def delete(endpoint_id: str) -> bool:
        world.azure.delete = done  # once
        await done(endpoint_id)
        if glitch == "killed":
            raise KeyboardInterrupt("operator killed")
        code = "ConnectionReset" if glitch == "reset" else "GatewayTimeout"
        raise azure_error(code, ErrorClass.TRANSIENT, 0 if glitch == "reset" else 504, outcome_unknown=True)

    world.azure.delete = delete  # type: ignore[method-assign]


async def settle_through(world: World, trigger: Trigger = Trigger.CHANGE) -> None:
    """Passes until quiet; a killed operator starts again (Trigger.RESUME)."""
    for _ in range(12):
        try:
            outcome = await world.run(trigger)
        except KeyboardInterrupt:
            world.advance(5)
            trigger = Trigger.RESUME
            continue
        trigger = Trigger.CHANGE
        if outcome.retry is None:
            return
        world.advance(outcome.retry.delay)
        world.azure.finish()
    raise AssertionError(f"did not settle: {world.status}")


GLITCHES = pytest.mark.parametrize("glitch", ["reset", "504", "killed", "refused"])


@GLITCHES
async def test_a_glitch_deleting_a_failed_first_endpoint_ends_as_without_one(glitch: str) -> None:
    world = World()
    world.azure.failing_models.add("Jessica")
    await world.run()
    world.advance(30)
    world.azure.finish()
    glitch_delete(world, glitch)
    await settle_through(world)
    assert creates(world) == [FIRST]  # no new endpoint without a spec change or a request
    assert world.azure.endpoints == {}
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert "EndpointRecreated" not in world.event_reasons()
    assert DISCARD_ANNOTATION not in world.annotations and ENDPOINT_ID_ANNOTATION not in world.annotations
    await passes(world)
    assert creates(world) == [FIRST]
    world.azure.failing_models.clear()
    world.annotations[REQUESTED_ANNOTATION] = "1"
    await world.settle()
    assert creates(world) == [FIRST, SECOND] and world.condition("Ready") == ("True", "Ready")
    assert "EndpointRecreated" not in world.event_reasons()


@GLITCHES
async def test_a_glitch_deleting_a_failed_new_endpoint_never_deploys_it_again(glitch: str) -> None:
    world = World()
    await world.settle()
    world.azure.failing_models.add("Broken")
    world.change_spec(modelId="Broken")
    await world.run()
    world.advance(30)
    world.azure.finish()
    glitch_delete(world, glitch)
    await settle_through(world)
    assert creates(world) == [FIRST, SECOND]  # SECOND is never PUT again
    assert set(world.azure.endpoints) == {FIRST}
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert world.condition("Available") == ("True", "Serving")
    assert DISCARD_ANNOTATION not in world.annotations and CANDIDATE_ANNOTATION not in world.annotations
    await passes(world)
    assert creates(world) == [FIRST, SECOND]
    world.change_spec(modelId="Jessica2")  # a spec change: a new try at a new id
    await world.settle()
    assert creates(world) == [FIRST, SECOND, THIRD] and world.status["endpointId"] == THIRD


@GLITCHES
async def test_a_glitch_deleting_a_replaced_new_endpoint_deploys_the_next_at_a_new_id(glitch: str) -> None:
    world = World()
    await world.settle()
    world.change_spec(modelId="Jessica2")
    await world.run()  # SECOND deploying
    world.change_spec(modelId="Other", projectId="Other")  # SECOND is no longer wanted
    glitch_delete(world, glitch)
    await settle_through(world)
    assert creates(world) == [FIRST, SECOND, THIRD]  # each id created once
    assert world.status["endpointId"] == THIRD and world.status["modelId"] == "Other"
    assert SECOND not in world.azure.endpoints
    assert "EndpointRecreated" not in world.event_reasons()


async def test_a_failed_endpoint_being_deleted_is_deleted_with_the_resource() -> None:
    # killed after the note and before the DELETE, then the resource is deleted: the endpoint is not leaked
    world = World()
    world.azure.failing_models.add("Jessica")
    await world.run()
    world.advance(30)
    world.azure.finish()
    world.crash_after = "DeleteEndpoint"
    with pytest.raises(KeyboardInterrupt):
        await world.run()
    assert DISCARD_ANNOTATION in world.annotations and ENDPOINT_ID_ANNOTATION not in world.annotations
    world.deletion_timestamp = world.now
    await world.run(Trigger.DELETE)
    assert world.released and world.azure.endpoints == {}


# --- a previous endpoint when the annotations are lost ----------------------------------------------------


@pytest.mark.parametrize("then", ["grace-period-ends", "resource-deleted"])
async def test_a_previous_endpoint_is_deleted_from_the_status_when_annotations_are_lost(then: str) -> None:
    world = World()
    await world.settle()
    world.change_spec(modelId="Jessica2")
    await world.settle()
    assert world.status["previousEndpoint"]["id"] == FIRST
    world.annotations.clear()  # a restore that kept the status, not the operator's annotations
    await world.run(Trigger.RESUME)
    if then == "grace-period-ends":
        world.advance(24 * 3600 + 1)
        await world.run(Trigger.DRIFT)
        assert set(world.azure.endpoints) == {SECOND}
        assert "previousEndpoint" not in world.status
        assert world.condition("Ready") == ("True", "Ready")
    else:
        world.deletion_timestamp = world.now
        await world.run(Trigger.DELETE)
        assert world.released and world.azure.endpoints == {}


# --- upkeep Azure refuses, a request that deployed -------------------------------------------------------


async def test_a_suspend_azure_refuses_for_good_is_not_sent_again_while_stalled() -> None:
    world = World()
    await world.settle()
    world.azure.fail("suspend", *[azure_error("BadRequest", ErrorClass.FATAL) for _ in range(20)])
    world.change_spec(suspended=True)
    await world.run()
    assert world.condition("Stalled") == ("True", "BadRequest")
    for trigger in (Trigger.DRIFT, Trigger.CHANGE, Trigger.DRIFT, Trigger.DRIFT):
        world.advance(3600)
        await world.run(trigger)
    assert [c for c in world.azure.calls if c[0] == "suspend"] == [("suspend", FIRST)]
    assert world.condition("Stalled") == ("True", "BadRequest")
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T12:00:00Z"  # the user asks for one more try
    world.azure.failures.clear()
    await world.settle()
    assert world.azure.endpoints[FIRST].status == "Disabled"


async def test_a_previous_endpoints_delete_azure_refuses_for_good_is_not_sent_every_pass() -> None:
    world = World()
    await world.settle()
    await swapped(world, "Jessica2")
    world.azure.fail("delete", *[azure_error("BadRequest", ErrorClass.FATAL) for _ in range(20)])
    world.advance(timedelta(hours=24).total_seconds())
    for _ in range(6):
        await world.run(Trigger.DRIFT)
        world.advance(3600)
    assert deletes(world) == [FIRST]
    assert world.condition("Stalled") == ("True", "BadRequest")


async def test_a_request_that_deployed_is_used_even_if_a_blocked_error_follows() -> None:
    # a failed swap, an export the resource may not write (blocked): one request, one more deployment
    world = World()
    world.spec["exportTo"] = {"configMapName": "jessica-endpoint"}
    await world.settle()
    world.export_error = OperatorError("ConfigMapNotOwned", "not owned", ErrorClass.BLOCKED)
    world.azure.failing_models.add("Jessica2")
    world.change_spec(modelId="Jessica2")
    await passes(world, 6, Trigger.CHANGE)
    before = len(creates(world))
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T12:00:00Z"
    await passes(world, 20, Trigger.CHANGE)
    assert len(creates(world)) == before + 1
    assert world.status["reconcileRequestedAt"] == "2026-11-21T12:00:00Z"
