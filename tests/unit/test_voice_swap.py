"""The promises of the VoiceEndpoint blue/green swap and of a failed deployment (docs/voiceendpoint.md,
Blue/green swap and First deployment fails), pass by pass against the in-memory custom voice API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure_speech_operator.reconcile import (
    ENDPOINT_ID_ANNOTATION,
    POLICY_ANNOTATION,
    REQUESTED_ANNOTATION,
    Trigger,
)
from azure_speech_operator.voiceendpoint import logic as voice_logic
from azure_speech_operator.voiceendpoint.logic import PREVIOUS_ANNOTATION

from tests.unit.test_voice_fakes import ADOPTED, World, adopted_endpoint
from tests.unit.test_voice_logic import FIRST, SECOND, THIRD, ready_world

GRACE = timedelta(hours=24)  # the default --voice-swap-grace-period
CONFIG_MAP = "jessica-endpoint"


async def swapped(world: World, model: str) -> None:
    """Changes the model and runs passes (Azure finishing in between) until the new endpoint serves."""
    before = world.status["endpointId"]
    world.change_spec(modelId=model)
    for _ in range(8):
        outcome = await world.run()
        if world.status["endpointId"] != before:
            return
        world.advance(outcome.retry.delay if outcome.retry else 10)
        world.azure.finish()
    raise AssertionError(f"the swap did not end: {world.status}")


async def test_a_status_lost_in_the_grace_period_still_deletes_the_old_endpoint_on_time() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")
    delete_after = world.now + GRACE
    world.status = {}  # restored from a backup without status: only the annotations remain
    outcome = await world.run(Trigger.RESUME)
    assert world.status["endpointId"] == SECOND
    assert world.status["previousEndpoint"]["id"] == FIRST
    assert set(world.azure.endpoints) == {FIRST, SECOND}  # not before the grace period ends
    assert outcome.wake_at == delete_after
    world.now = delete_after - timedelta(seconds=1)
    await world.run(Trigger.DRIFT)
    assert FIRST in world.azure.endpoints
    world.now = delete_after
    await world.run()  # the wake-up
    assert set(world.azure.endpoints) == {SECOND}
    assert "EndpointDeleted" in world.event_reasons()
    assert PREVIOUS_ANNOTATION not in world.annotations and "previousEndpoint" not in world.status


async def test_the_export_names_the_succeeded_endpoint_through_a_swap_and_moves_at_promotion() -> None:
    world = await ready_world(exportTo={"configMapName": CONFIG_MAP})
    assert world.exported[CONFIG_MAP]["deploymentId"] == FIRST
    world.change_spec(modelId="Jessica2")
    exported, paused = [], True
    for _ in range(8):
        outcome = await world.run()
        data = world.exported[CONFIG_MAP]
        # the ConfigMap and status switch together, and only to a Succeeded endpoint
        assert data["endpointId"] == data["deploymentId"] == world.status["endpointId"]
        assert world.azure.endpoints[data["endpointId"]].status == "Succeeded"
        assert data["synthesisUrl"].endswith(f"?deploymentId={data['endpointId']}")
        exported.append(data["endpointId"])
        if data["endpointId"] == SECOND:
            break
        assert world.status["newEndpoint"]["id"] == SECOND
        world.advance(outcome.retry.delay if outcome.retry else 10)
        world.azure.finish()
        if paused and world.azure.endpoints[SECOND].status == "Succeeded":
            # Succeeded, but not promoted while the operator may not write: nothing moves yet
            world.annotations[POLICY_ANNOTATION] = "skip"
            await world.run()
            assert world.exported[CONFIG_MAP]["endpointId"] == world.status["endpointId"] == FIRST
            del world.annotations[POLICY_ANNOTATION]
            paused = False
    assert exported[0] == FIRST and exported[-1] == SECOND
    assert "Swapped" in world.event_reasons()
    assert world.status["exportedConfigMap"] == CONFIG_MAP


async def test_a_second_swap_in_the_grace_period_deletes_the_older_endpoint_first() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")
    assert world.status["previousEndpoint"]["id"] == FIRST
    world.advance(3600)  # well within the grace period of FIRST
    world.change_spec(modelId="Jessica")
    await world.run()
    assert set(world.azure.endpoints) == {FIRST, SECOND, THIRD}  # FIRST stays until THIRD can serve
    world.advance(30)
    world.azure.finish()
    writes = len(world.azure.writes())
    await world.run()
    assert world.azure.writes()[writes:] == [("delete", FIRST)]
    assert world.status["endpointId"] == THIRD  # switched in the pass that deleted FIRST
    assert world.status["previousEndpoint"] == {
        "id": SECOND,
        "deleteAfter": (world.now + GRACE).isoformat().replace("+00:00", "Z"),
    }
    assert world.annotations[PREVIOUS_ANNOTATION].startswith(SECOND + " ")
    assert set(world.azure.endpoints) == {SECOND, THIRD}
    world.advance(GRACE.total_seconds())
    await world.run(Trigger.DRIFT)
    assert set(world.azure.endpoints) == {THIRD}


async def failed_first_deployment() -> World:
    world = World()
    world.azure.failing_models.add("Jessica")
    await world.run()
    assert list(world.azure.endpoints) == [FIRST]
    world.advance(30)
    world.azure.finish()
    await world.run()
    return world


async def test_a_failed_first_deployment_is_stalled_and_its_endpoint_deleted() -> None:
    world = await failed_first_deployment()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert world.condition("Reconciling")[0] == "False"
    assert world.condition("Available")[0] == "False"
    assert world.azure.endpoints == {}  # its deployment slot is free
    assert ("delete", FIRST) in world.azure.writes()
    assert "reconcile-requested-at" in world.status["error"]["message"]
    assert ENDPOINT_ID_ANNOTATION not in world.annotations
    assert world.last is not None and world.last.retry is None  # no come-back: nothing to poll


@pytest.mark.parametrize("ask", ["spec-change", "reconcile-requested-at"])
async def test_a_failed_first_deployment_is_tried_again_only_when_asked(ask: str) -> None:
    world = await failed_first_deployment()
    writes = len(world.azure.writes())
    for trigger in (Trigger.DRIFT, Trigger.RESUME, Trigger.CHANGE):
        world.advance(3600)
        await world.run(trigger)
        assert len(world.azure.writes()) == writes, trigger
        assert world.condition("Stalled") == ("True", "DeploymentFailed")
    if ask == "spec-change":
        world.change_spec(modelId="Jessica2")
    else:
        world.azure.failing_models.clear()  # fixed in Azure meanwhile
        world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T12:00:00Z"
    await world.settle()
    assert world.status["endpointId"] == SECOND  # a new id: an id serves one create only
    assert set(world.azure.endpoints) == {SECOND}
    assert world.condition("Ready") == ("True", "Ready")


async def test_an_adopted_endpoint_serving_another_model_is_stalled_never_swapped_nor_deleted() -> None:
    world = World()
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec.update(endpointId=ADOPTED, modelId="Jessica2")
    await world.run()
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
    assert "set projectId and modelId to what it serves" in world.status["error"]["message"]
    assert world.condition("Available") == ("True", "Serving")
    assert world.status["endpointId"] == ADOPTED and world.status["modelId"] == "Jessica"
    assert world.azure.writes() == []
    world.deletion_timestamp = world.now  # deletionPolicy Delete: still never deleted, it was refused
    await world.run(Trigger.DELETE)
    assert world.released and ADOPTED in world.azure.endpoints
    assert "NotAdopted" in world.event_reasons()


@pytest.mark.parametrize("then", [{"modelId": "Jessica"}, {"projectId": "Other", "modelId": "Other"}])
async def test_a_spec_changed_after_a_new_endpoint_failed_unseen_is_deployed(then: dict[str, str]) -> None:
    # the swap's new endpoint fails before a pass sees it; meanwhile the user reverts or moves on: the
    # failure belongs to the older spec and must not stall the newer one
    world = await ready_world()
    world.azure.failing_models.add("Jessica2")
    world.change_spec(modelId="Jessica2")
    await world.run()
    world.advance(30)
    world.azure.finish()
    world.change_spec(**then)
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Stalled")[0] == "False"
    serving = world.azure.endpoints[world.status["endpointId"]]
    assert (serving.model_id, serving.status) == (then["modelId"], "Succeeded")
    assert not any(e.status == "Failed" for e in world.azure.endpoints.values())


async def test_a_swap_while_suspended_moves_the_export_with_the_endpoint_id() -> None:
    # the new endpoint is promoted and suspended in one pass: while Azure is still disabling it, the old one
    # is deleted, and the ConfigMap must not keep naming that one
    world = World()
    world.spec["suspended"] = True
    world.spec["exportTo"] = {"configMapName": "voice"}
    await world.settle()
    world.change_spec(modelId="Jessica2")
    outcome = await world.run()
    for finish in (True, False, False, False):  # Azure is slow to disable the new endpoint
        assert outcome.retry is not None
        world.advance(outcome.retry.delay)
        if finish:
            world.azure.finish()
        outcome = await world.run()
        assert world.exported["voice"]["endpointId"] in world.azure.endpoints
    assert world.status["endpointId"] == world.exported["voice"]["endpointId"] == SECOND


async def test_a_suspension_within_the_grace_period_deletes_the_old_endpoint_at_once() -> None:
    # suspended means nothing billed: the old endpoint, still running for the grace period, serves nothing
    world = await ready_world()
    await swapped(world, "Jessica2")
    assert set(world.azure.endpoints) == {FIRST, SECOND}
    world.advance(3600)
    world.change_spec(suspended=True)
    await world.settle()
    assert set(world.azure.endpoints) == {SECOND}
    assert world.azure.endpoints[SECOND].status == "Disabled"
    assert "previousEndpoint" not in world.status and PREVIOUS_ANNOTATION not in world.annotations


async def test_an_old_endpoint_deleted_while_a_suspend_is_followed_is_deleted_once_and_said() -> None:
    # the pass that deletes it follows the suspend's operation next: its report (the event, the status
    # without previousEndpoint) was lost, and the status's stale copy had the DELETE sent again every pass
    world = await ready_world(swapGracePeriod="1h")
    await swapped(world, "Jessica2")
    world.advance(60)
    world.change_spec(suspended=True)
    for _ in range(5):
        outcome = await world.run()
        world.advance(outcome.retry.delay if outcome.retry else 5)
    assert world.azure.endpoints[SECOND].status == "Disabling"  # the suspend still under way
    assert world.azure.writes().count(("delete", FIRST)) == 1
    assert "previousEndpoint" not in world.status
    deleted = [e.message for e in world.events if e.reason == "EndpointDeleted"]
    assert deleted == [f"deleted endpoint {FIRST} in Azure"]


async def test_a_grace_period_changed_after_the_swap_counts_from_the_swap() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")
    swapped_at = world.now
    world.advance(3600)
    world.change_spec(swapGracePeriod="3h")
    outcome = await world.run()
    after = swapped_at + timedelta(hours=3)
    assert world.status["previousEndpoint"]["deleteAfter"] == after.isoformat().replace("+00:00", "Z")
    assert outcome.wake_at == after and FIRST in world.azure.endpoints
    world.change_spec(swapGracePeriod="30m")  # already over: deleted now
    await world.run()
    assert set(world.azure.endpoints) == {SECOND} and "previousEndpoint" not in world.status


async def test_an_old_record_without_the_swap_time_keeps_its_deletion_time() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")
    delete_after = world.now + GRACE
    # as an operator before the swap time was kept wrote it
    world.annotations[PREVIOUS_ANNOTATION] = world.annotations[PREVIOUS_ANNOTATION].rsplit(" ", 1)[0]
    outcome = await world.run(Trigger.DRIFT)
    assert outcome.wake_at == delete_after
    assert world.status["previousEndpoint"]["deleteAfter"] == delete_after.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("suspended", [False, True])
async def test_an_old_endpoint_that_cannot_be_deleted_now_is_not_looked_at_in_a_loop(suspended: bool) -> None:
    # under skip its deletion is due (the grace over, or at once while suspended) but never sent: the
    # pass must not ask to be run again at once (each pass reads Azure)
    world = await ready_world()
    await swapped(world, "Jessica2")
    world.annotations[POLICY_ANNOTATION] = "skip"
    if suspended:
        world.change_spec(suspended=True)
    else:
        world.advance(GRACE.total_seconds() + 60)
    outcome = await world.run(Trigger.DRIFT)
    assert FIRST in world.azure.endpoints
    assert outcome.wake_at is None or outcome.wake_at > world.now


async def test_a_previous_endpoint_known_from_the_status_only_keeps_its_time_while_suspended() -> None:
    # annotations lost (the status kept): the status's time is taken as it is, never derived again from
    # what the last pass wrote (it moved back a grace period on every pass), and no status write per pass
    world = await ready_world()
    await swapped(world, "Jessica2")
    del world.annotations[PREVIOUS_ANNOTATION]
    world.annotations[POLICY_ANNOTATION] = "skip"
    world.change_spec(suspended=True)
    shown = []
    for _ in range(3):
        await world.run(Trigger.DRIFT)
        shown.append(world.status["previousEndpoint"]["deleteAfter"])
        world.advance(60)
    assert len(set(shown)) == 1


async def test_a_deletion_due_in_a_pass_that_wrote_something_else_comes_next() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")  # SECOND serves, FIRST waits out its grace period
    world.change_spec(modelId="Jessica")  # THIRD deploys
    await world.run()
    world.advance(120)
    # one edit: back to SECOND's model (THIRD is deleted) and a grace period already over (FIRST is due)
    world.change_spec(modelId="Jessica2", swapGracePeriod="1m")
    outcome = await world.run()
    assert THIRD not in world.azure.endpoints and FIRST in world.azure.endpoints
    assert outcome.wake_at == world.now  # FIRST's DELETE is the next pass's, at once
    await world.run()
    assert set(world.azure.endpoints) == {SECOND}


async def test_a_previous_endpoint_known_from_the_status_only_is_deleted_at_once_on_suspension() -> None:
    world = await ready_world()
    await swapped(world, "Jessica2")
    del world.annotations[PREVIOUS_ANNOTATION]  # a restore that kept the status
    world.change_spec(suspended=True)
    await world.settle()
    assert set(world.azure.endpoints) == {SECOND}


async def test_the_endpoints_a_voice_resource_records_include_a_swaps() -> None:
    # what a deletion ended by hand leaves in Azure (handlers._orphaned_by_hand): the swap's endpoints too
    world = await ready_world()
    world.change_spec(modelId="Jessica2")
    await world.run()
    assert set(voice_logic.recorded_endpoints(world.annotations)) == {FIRST, SECOND}  # the candidate
    world = await ready_world()
    await swapped(world, "Jessica2")
    assert set(voice_logic.recorded_endpoints(world.annotations)) == {FIRST, SECOND}  # the previous one
