"""The VoiceEndpoint reconcile logic, pass by pass, against an in-memory custom voice API."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.azure.voice import deterministic_endpoint_id
from azure_speech_operator.reconcile import ENDPOINT_ID_ANNOTATION, REQUESTED_ANNOTATION, Trigger
from azure_speech_operator.voiceendpoint.logic import (
    CANDIDATE_ANNOTATION,
    PREVIOUS_ANNOTATION,
)

from tests.unit.test_voice_crd import root_schema
from tests.unit.test_voice_fakes import ADOPTED, UID, World, adopted_endpoint, azure_error

pytestmark = pytest.mark.asyncio

FIRST = deterministic_endpoint_id(UID, 0)
SECOND = deterministic_endpoint_id(UID, 1)
THIRD = deterministic_endpoint_id(UID, 2)


def assert_declared(status: dict[str, object]) -> None:
    """Everything the logic writes is in the CRD's status schema (the API server would drop the rest)."""
    declared = root_schema()["properties"]["status"]["properties"]
    for key, value in status.items():
        assert key in declared, key
        if isinstance(value, dict):
            assert set(value) <= set(declared[key]["properties"]), key


async def ready_world(**spec: object) -> World:
    world = World()
    for key, value in spec.items():
        world.spec[key] = value
    await world.settle()
    return world


async def test_create_deploys_one_endpoint_at_a_deterministic_id_and_turns_ready() -> None:
    world = World()
    outcome = await world.run()
    assert list(world.azure.endpoints) == [FIRST]
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == FIRST
    assert CANDIDATE_ANNOTATION not in world.annotations
    assert world.condition("Ready") == ("False", "Deploying")
    assert world.condition("Reconciling") == ("True", "Deploying")
    assert world.status["operation"]["status"] == "NotStarted"
    assert outcome.retry is not None
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Available") == ("True", "Serving")
    assert world.condition("Suspended") == ("False", "NotSuspended")
    assert world.status["azureStatus"] == "Succeeded"
    assert "operation" not in world.status
    assert world.status["modelId"] == "Jessica"
    assert "Created" in world.event_reasons() and "Ready" in world.event_reasons()


async def test_a_deployment_in_flight_is_followed_at_its_operation_then_the_endpoint_is_read() -> None:
    world = World()
    await world.run()
    operation = world.status["operation"]
    assert operation["endpointId"] == FIRST and operation["status"] == "NotStarted"
    assert_declared(world.status)
    calls = len(world.azure.calls)
    world.azure.operations[operation["id"]] = (FIRST, "create", "Running")
    world.advance(10)
    outcome = await world.run()
    assert world.azure.calls[calls:] == [("get_operation", operation["id"])]  # no endpoint read
    assert world.status["operation"]["status"] == "Running"
    assert world.condition("Ready") == ("False", "Deploying")
    assert outcome.retry is not None and outcome.retry.delay >= 1
    calls = len(world.azure.calls)
    world.azure.finish()
    await world.run()
    assert world.azure.calls[calls:] == [("get_operation", operation["id"]), ("get", FIRST)]
    assert world.condition("Ready") == ("True", "Ready")
    assert "operation" not in world.status


@pytest.mark.parametrize(
    "why", ["spec change", "requested reconcile", "drift check", "restart", "every fourth poll", "unknown"]
)
async def test_the_endpoints_are_read_instead_of_the_operation_when(why: str) -> None:
    world = World()
    await world.run()
    operation_id = world.status["operation"]["id"]
    trigger, attempt = Trigger.CHANGE, 0
    if why == "spec change":
        world.change_spec(suspended=True)
    elif why == "requested reconcile":
        world.annotations[REQUESTED_ANNOTATION] = "now"
    elif why == "drift check":
        trigger = Trigger.DRIFT
    elif why == "restart":
        trigger = Trigger.RESUME
    elif why == "every fourth poll":
        attempt = 3
    calls = len(world.azure.calls)
    if why == "unknown":  # Azure no longer knows the operation
        del world.azure.operations[operation_id]
        await world.run()
        assert world.azure.calls[calls:] == [("get_operation", operation_id), ("get", FIRST)]
    else:
        await world.run(trigger, attempt=attempt)
        assert ("get", FIRST) in world.azure.calls[calls:]
        assert ("get_operation", operation_id) not in world.azure.calls[calls:]
    assert world.condition("Ready") == ("False", "Deploying")


async def test_an_operation_on_an_endpoint_no_longer_wanted_is_not_followed() -> None:
    world = await ready_world()
    world.change_spec(modelId="Jessica2")
    await world.run()  # the swap's PUT
    assert world.status["operation"]["endpointId"] == SECOND
    world.change_spec(modelId="Jessica")  # back: the candidate is deleted
    await world.run()
    assert SECOND not in world.azure.endpoints
    assert "operation" not in world.status
    calls = len(world.azure.calls)
    await world.run()
    assert all(c[0] != "get_operation" for c in world.azure.calls[calls:])
    assert world.condition("Ready") == ("True", "Ready")


async def test_a_steady_ready_endpoint_costs_one_get_and_no_status_write() -> None:
    world = await ready_world()
    writes, calls = world.status_writes, len(world.azure.calls)
    await world.run(Trigger.DRIFT)
    assert world.status_writes == writes
    assert world.azure.calls[calls:] == [("get", FIRST)]


async def test_a_crash_after_the_put_never_makes_a_second_endpoint() -> None:
    world = World()
    world.crash_after = "CreateEndpoint"
    with pytest.raises(KeyboardInterrupt):
        await world.run()
    assert world.annotations[CANDIDATE_ANNOTATION] == FIRST  # written before the PUT
    await world.settle()
    assert list(world.azure.endpoints) == [FIRST]
    assert world.condition("Ready") == ("True", "Ready")


async def test_a_lost_create_answer_is_retried_at_the_same_id() -> None:
    world = World()
    world.azure.lost_answers.add("create")
    await world.run()
    assert world.condition("Reconciling") == ("True", "ConnectionReset")
    await world.settle()
    assert list(world.azure.endpoints) == [FIRST]


POLICY = "speech.azure-operator.io/reconcile-policy"
# detach-on-delete manages like manage; only the resource's deletion differs (it leaves the endpoint)
MANAGING = pytest.mark.parametrize("policy", [None, "manage", "detach-on-delete"])


@MANAGING
async def test_suspend_and_resume_follow_spec_suspended(policy: str | None) -> None:
    world = await ready_world()
    if policy is not None:
        world.annotations[POLICY] = policy
    world.change_spec(suspended=True)
    await world.run()
    assert ("suspend", FIRST) in world.azure.calls
    assert world.condition("Ready") == ("False", "Suspending")
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Suspended") == ("True", "Suspended")
    assert world.condition("Available") == ("False", "NotServing")
    assert "Suspended" in world.event_reasons()
    world.change_spec(suspended=False)
    await world.run()
    assert world.condition("Ready") == ("False", "Resuming")
    await world.settle()
    assert world.condition("Suspended") == ("False", "NotSuspended")
    assert world.condition("Ready") == ("True", "Ready")
    assert "Resumed" in world.event_reasons()


async def test_suspend_asked_while_deploying_waits_then_suspends() -> None:
    world = World()
    world.spec["suspended"] = True
    await world.run()
    assert [c for c in world.azure.writes() if c[0] == "suspend"] == []
    await world.settle()
    assert world.azure.endpoints[FIRST].status == "Disabled"
    assert world.condition("Suspended") == ("True", "Suspended")


async def test_resume_asked_while_disabling_waits_and_ends_running() -> None:
    world = await ready_world()
    world.change_spec(suspended=True)
    await world.run()  # Disabling
    world.change_spec(suspended=False)
    outcome = await world.run()
    assert [c[0] for c in world.azure.writes()].count("resume") == 0
    assert world.condition("Ready") == ("False", "Suspending")
    assert outcome.retry is not None
    await world.settle()
    assert world.azure.endpoints[FIRST].status == "Succeeded"
    assert world.condition("Ready") == ("True", "Ready")


async def a_resume_that_will_fail() -> World:
    """A suspended endpoint asked to run again, the resume sent, Azure about to fail it (back to Disabled)."""
    world = World()
    world.spec["suspended"] = True
    await world.settle()
    world.azure.failing_resumes.add("Jessica")
    world.change_spec(suspended=False)
    await world.run()
    return world


async def test_a_failed_resume_is_reported_and_retried_with_backoff() -> None:
    world = await a_resume_that_will_fail()
    world.advance(30)
    world.azure.finish()  # back to Disabled
    outcome = await world.run()
    assert world.condition("Reconciling") == ("True", "ResumeFailed")
    assert outcome.retry is not None and outcome.retry.delay >= 2
    resumes = [c for c in world.azure.writes() if c[0] == "resume"]
    assert len(resumes) == 1
    world.azure.failing_resumes.clear()
    world.advance(outcome.retry.delay)
    await world.run(attempt=1)
    assert len([c for c in world.azure.writes() if c[0] == "resume"]) == 2
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")


async def test_a_resume_that_keeps_failing_is_sent_again_less_and_less_often() -> None:
    # each resend's pass ends without an error (Resuming), so the count of failed passes cannot grow: the
    # wait grows with the time since the resource began to resume, up to the transient cap
    world = await a_resume_that_will_fail()
    delays: list[float] = []
    for _ in range(12):
        world.advance(30)
        world.azure.finish()  # back to Disabled
        outcome = await world.run()
        assert world.condition("Reconciling") == ("True", "ResumeFailed")
        assert outcome.retry is not None
        delays.append(outcome.retry.delay)
        world.advance(outcome.retry.delay)
        await world.run()  # sent again
        assert world.condition("Ready") == ("False", "Resuming")
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert delays[0] <= 10 and delays[-1] == world.timing.transient_backoff_cap.total_seconds()
    resumes = [c for c in world.azure.writes() if c[0] == "resume"]
    assert len(resumes) == 13


async def test_a_resume_stays_a_resume_across_a_pass_that_failed_to_read_azure() -> None:
    world = await a_resume_that_will_fail()
    assert world.condition("Ready") == ("False", "Resuming")
    assert world.status["operation"]["action"] == "resume"
    assert_declared(world.status)
    world.azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429, retry_after=5.0))
    world.advance(5)
    await world.run(Trigger.DRIFT)
    assert world.condition("Reconciling") == ("True", "TooManyRequests")
    before = len(world.event_reasons())
    world.advance(5)
    await world.run(attempt=1)  # the come-back: reads the endpoint again (the status holds an error)
    assert world.condition("Ready") == ("False", "Resuming")
    assert "error" not in world.status
    assert "Deploying" not in world.event_reasons()[before:]
    world.advance(30)
    world.azure.finish()  # back to Disabled
    await world.run(attempt=2)
    assert world.condition("Reconciling") == ("True", "ResumeFailed")
    assert len([c for c in world.azure.writes() if c[0] == "resume"]) == 1  # not sent again at once


@MANAGING
async def test_a_model_change_swaps_blue_green_and_status_always_names_a_succeeded_endpoint(
    policy: str | None,
) -> None:
    world = await ready_world()
    if policy is not None:
        world.annotations[POLICY] = policy
    world.change_spec(modelId="Jessica2")
    await world.run()
    assert world.annotations[CANDIDATE_ANNOTATION] == SECOND
    assert world.status["endpointId"] == FIRST
    assert world.status["newEndpoint"] == {"id": SECOND, "azureStatus": "NotStarted"}
    assert_declared(world.status)
    assert world.condition("Ready") == ("False", "Redeploying")
    assert world.condition("Available") == ("True", "Serving")
    assert "SwapStarted" in world.event_reasons()
    for _ in range(5):
        assert world.azure.endpoints[world.status["endpointId"]].status == "Succeeded"
        outcome = await world.run()
        if world.status["endpointId"] == SECOND:
            break
        world.advance(outcome.retry.delay if outcome.retry else 10)
        world.azure.finish()
    assert world.status["endpointId"] == SECOND
    assert world.status["previousEndpoint"]["id"] == FIRST
    assert_declared(world.status)
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Reconciling")[0] == "False"  # the grace period is not Reconciling
    assert "Swapped" in world.event_reasons()
    assert set(world.azure.endpoints) == {FIRST, SECOND}
    assert world.last is not None and world.last.wake_at is not None
    world.advance(24 * 3600 + 1)
    await world.run(Trigger.DRIFT)
    assert set(world.azure.endpoints) == {SECOND}
    assert PREVIOUS_ANNOTATION not in world.annotations
    assert "previousEndpoint" not in world.status


@MANAGING
async def test_a_failed_swap_keeps_the_old_endpoint_and_frees_the_slot(policy: str | None) -> None:
    world = await ready_world()
    if policy is not None:
        world.annotations[POLICY] = policy
    world.azure.failing_models.add("Jessica2")
    world.change_spec(modelId="Jessica2")
    await world.run()
    world.advance(30)
    world.azure.finish()
    await world.run()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert world.condition("Available") == ("True", "Serving")
    assert world.status["endpointId"] == FIRST
    assert set(world.azure.endpoints) == {FIRST}
    # "it was deleted" said of the failed endpoint, never after the one that keeps serving
    message = world.status["error"]["message"]
    assert "failed in Azure; it was deleted to free its deployment slot; endpoint " in message
    assert message.index("it was deleted") < message.index(f"endpoint {FIRST} keeps serving")
    writes = len(world.azure.writes())
    await world.run(Trigger.DRIFT)
    assert len(world.azure.writes()) == writes  # no new try until asked
    world.azure.failing_models.clear()
    world.annotations[REQUESTED_ANNOTATION] = "1"
    await world.settle()
    assert world.status["endpointId"] == THIRD


@pytest.mark.parametrize("glitch", ["credentials", "throttled"])
async def test_a_passing_error_does_not_lift_a_fatal_stall(glitch: str) -> None:
    # Stalled DeploymentFailed until the spec changes or a reconcile is requested: a Secret unreadable for a
    # moment (an API server restart) or a 429 must not take its place and let the next pass deploy again
    world = World()
    world.azure.failing_models.add("Jessica")
    await world.settle()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    writes = len(world.azure.writes())
    if glitch == "credentials":
        world.credentials_error = OperatorError("SecretNotReadable", "HTTP 403", ErrorClass.TRANSIENT)
    else:
        world.azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    world.advance(600)
    await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    world.credentials_error = None
    for _ in range(3):
        world.advance(3600)
        await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert len(world.azure.writes()) == writes  # nothing deployed again


async def test_a_swap_while_suspended_suspends_the_new_one_and_deletes_the_old_at_once() -> None:
    world = World()
    world.spec["suspended"] = True
    await world.settle()
    world.change_spec(modelId="Jessica2")
    await world.settle()
    assert world.status["endpointId"] == SECOND
    assert set(world.azure.endpoints) == {SECOND}
    assert world.azure.endpoints[SECOND].status == "Disabled"
    assert world.condition("Suspended") == ("True", "Suspended")


async def test_missing_credentials_note_no_endpoint_and_deletion_releases_at_once() -> None:
    world = World(
        credentials_error=OperatorError("CredentialsNotFound", "Secret 's' not found", ErrorClass.BLOCKED)
    )
    await world.run()
    assert world.condition("Stalled") == ("True", "CredentialsNotFound")
    assert CANDIDATE_ANNOTATION not in world.annotations  # nothing asked of Azure, nothing to wait for
    world.deletion_timestamp = world.now
    outcome = await world.run(Trigger.DELETE)
    assert world.released and not outcome.orphaned_endpoints
    assert world.azure.calls == []


async def test_deleting_during_the_grace_period_deletes_both() -> None:
    world = await ready_world()
    world.change_spec(modelId="Jessica2")
    await world.settle()
    assert set(world.azure.endpoints) == {FIRST, SECOND}
    world.deletion_timestamp = world.now
    await world.settle()
    assert world.released
    assert world.azure.endpoints == {}


async def test_an_unknown_policy_during_the_grace_period_counts_both_endpoints_orphaned() -> None:
    world = await ready_world()
    world.change_spec(modelId="Jessica2")
    await world.settle()
    assert set(world.azure.endpoints) == {FIRST, SECOND}
    world.annotations[POLICY] = "yolo"
    world.deletion_timestamp = world.now
    outcome = await world.run(Trigger.DELETE)
    assert world.released and set(outcome.orphaned_endpoints) == {FIRST, SECOND}
    assert set(world.azure.endpoints) == {FIRST, SECOND}


async def test_orphan_leaves_the_endpoint() -> None:
    world = await ready_world(deletionPolicy="Orphan")
    world.deletion_timestamp = world.now
    await world.run()
    assert world.released and set(world.azure.endpoints) == {FIRST}
    assert "Orphaned" in world.event_reasons()


async def test_adoption_reads_and_never_creates() -> None:
    world = World()
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec["endpointId"] = ADOPTED
    await world.settle()
    assert world.status["endpointId"] == ADOPTED
    assert world.condition("Ready") == ("True", "Ready")
    assert "Adopted" in world.event_reasons()
    assert [c for c in world.azure.writes() if c[0] == "create"] == []


async def test_an_endpoint_another_voice_resource_owns_is_not_adopted_nor_deleted_with_this_one() -> None:
    world = World(claimed={ADOPTED: "VoiceEndpoint team-a/owner"})
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec["endpointId"] = ADOPTED
    world.spec["suspended"] = True  # nothing is written to it either
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointInUse")
    assert "belongs to VoiceEndpoint team-a/owner" in world.status["error"]["message"]
    assert world.azure.writes() == []
    world.deletion_timestamp = world.now
    await world.run(Trigger.DELETE)
    assert world.released and ADOPTED in world.azure.endpoints
    assert world.azure.writes() == []


async def test_an_adopted_endpoint_that_is_gone_is_stalled_never_recreated() -> None:
    world = World()
    world.spec["endpointId"] = ADOPTED
    await world.run()
    assert world.condition("Stalled") == ("True", "AdoptedEndpointNotFound")
    assert world.azure.writes() == []


async def test_a_deleted_endpoint_is_recreated_with_a_warning() -> None:
    world = await ready_world()
    del world.azure.endpoints[FIRST]
    await world.run(Trigger.DRIFT)
    assert "EndpointRecreated" in world.event_reasons()
    assert SECOND in world.azure.endpoints


async def test_the_schedule_suspends_and_wakes_for_the_next_transition() -> None:
    world = World()
    world.spec["schedule"] = {"suspend": "0 20 * * *", "resume": "0 7 * * *", "timeZone": "UTC"}
    await world.settle()  # T0 is 06:00 UTC: suspended since 20:00
    assert world.condition("Suspended") == ("True", "Suspended")
    assert world.status["nextTransition"] == {"action": "resume", "at": "2026-11-21T07:00:00Z"}
    assert_declared(world.status)
    assert world.last is not None and world.last.wake_at == world.now.replace(hour=7, minute=0, second=0)
    world.now = world.now.replace(hour=7, minute=0, second=1)
    await world.settle()
    assert world.condition("Suspended") == ("False", "NotSuspended")
    assert world.status["nextTransition"]["action"] == "suspend"


async def test_an_invalid_schedule_is_stalled_naming_the_field() -> None:
    world = World()
    world.spec["schedule"] = {"suspend": "0 25 * * *", "resume": "0 7 * * *"}
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidSpec")
    assert "spec.schedule.suspend" in world.status["error"]["message"]


async def test_an_invalid_spec_keeps_what_the_status_knew() -> None:
    world = World()
    await world.settle()
    before = dict(world.status)
    world.spec["schedule"] = {"suspend": "0 25 * * *", "resume": "0 7 * * *"}
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidSpec")
    kept = {k: v for k, v in world.status.items() if k not in ("conditions", "error", "observedGeneration")}
    assert kept == {k: v for k, v in before.items() if k not in ("conditions", "observedGeneration")}


async def test_quota_is_blocked_and_waits_without_a_busy_loop() -> None:
    world = World()
    world.azure.quota = 0
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "QuotaViolation")
    assert outcome.retry is not None and outcome.retry.delay >= 60
    assert CANDIDATE_ANNOTATION not in world.annotations


async def test_under_skip_a_vanished_endpoint_stays_named_and_is_recreated_with_a_warning_under_manage() -> (
    None
):
    world = await ready_world()
    world.annotations[POLICY] = "skip"
    del world.azure.endpoints[FIRST]
    writes = len(world.azure.writes())
    for _ in range(2):  # the same at every drift check
        await world.run(Trigger.DRIFT)
        assert world.condition("Stalled") == ("True", "EndpointNotFound")
        assert world.annotations[ENDPOINT_ID_ANNOTATION] == FIRST
    assert len(world.azure.writes()) == writes
    world.annotations[POLICY] = "manage"
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert "EndpointRecreated" in world.event_reasons()


async def test_skip_policy_never_writes() -> None:
    world = await ready_world()
    world.annotations[POLICY] = "skip"
    world.change_spec(suspended=True)
    await world.run()
    assert world.condition("Stalled") == ("True", "ReconcileSkipped")
    assert [c for c in world.azure.writes() if c[0] == "suspend"] == []


async def test_a_restart_with_a_settled_endpoint_makes_no_call() -> None:
    world = await ready_world()
    calls = len(world.azure.calls)
    await world.run(Trigger.RESUME)
    assert len(world.azure.calls) == calls


async def test_transient_errors_are_retried() -> None:
    world = World()
    world.azure.fail("create", azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429, retry_after=7.0))
    outcome = await world.run()
    assert world.condition("Reconciling") == ("True", "TooManyRequests")
    assert outcome.retry is not None and outcome.retry.delay == 7.0


async def test_a_create_refused_for_the_key_leaves_nothing_to_delete() -> None:
    world = World()
    world.azure.fail("create", azure_error("Unauthorized", ErrorClass.BLOCKED, 401))
    await world.run()
    assert world.condition("Stalled") == ("True", "Unauthorized")
    assert CANDIDATE_ANNOTATION not in world.annotations
    assert world.azure.calls == [("create", FIRST)]  # no GET of an id never used before
    world.deletion_timestamp = world.now
    await world.run()
    assert world.released and [c for c in world.azure.calls if c[0] == "delete"] == []


def v3_world() -> World:
    """A VoiceEndpoint adopting ADOPTED (Succeeded) with the retiring v3.0 API."""
    world = World()
    world.azure.endpoints[ADOPTED] = adopted_endpoint(world.now)
    world.spec.update(
        azure={"region": "eastus", "apiVersion": "v3.0", "credentials": world.spec["azure"]["credentials"]},
        endpointId=ADOPTED,
        deletionPolicy="Orphan",
    )
    return world


async def test_v3_adopts_suspends_and_resumes_and_orphans_on_delete() -> None:
    world = v3_world()
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    world.change_spec(suspended=True)
    await world.settle()
    assert world.azure.endpoints[ADOPTED].status == "Disabled"
    world.change_spec(suspended=False)
    await world.settle()
    assert world.azure.endpoints[ADOPTED].status == "Succeeded"
    assert [c[0] for c in world.azure.writes()] == ["suspend", "resume"]
    world.deletion_timestamp = world.now
    await world.run()
    assert world.released and ADOPTED in world.azure.endpoints


async def test_poll_delay_is_a_share_of_the_time_waited() -> None:
    world = World()
    first = await world.run()
    assert first.retry is not None and first.retry.delay <= 6
    world.advance(200)  # still deploying after 200 s
    later = await world.run()
    assert later.retry is not None and 40 <= later.retry.delay <= 60


@pytest.mark.parametrize("action", ["suspend", "resume"])
async def test_v3_comes_back_after_the_retry_after_of_its_202(action: str) -> None:
    world = v3_world()
    world.spec["suspended"] = action == "resume"
    await world.settle()
    world.azure.action_retry_after = 17.0
    world.change_spec(suspended=action == "suspend")
    outcome = await world.run()
    assert world.azure.writes()[-1] == (action, ADOPTED)
    assert world.condition("Ready") == ("False", "Suspending" if action == "suspend" else "Resuming")
    assert "operation" not in world.status  # v3.0 has none to follow: the endpoint is read again
    assert outcome.retry is not None and outcome.retry.delay == 17.0
    world.advance(17.0)
    world.azure.finish()
    calls = len(world.azure.calls)
    await world.run()
    assert world.azure.calls[calls:] == [("get", ADOPTED)]
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Suspended")[0] == ("True" if action == "suspend" else "False")


async def test_a_deployment_ended_teaches_how_long_the_next_takes_and_it_is_looked_at_then() -> None:
    first = World()
    await first.run()
    first.advance(50)
    first.azure.finish()  # the endpoint entered Succeeded 50 s after its creation
    first.advance(12)  # ... and a poll sees it 12 s later
    await first.settle()
    assert first.condition("Ready") == ("True", "Ready")
    assert first.durations.expected("VoiceEndpoint") == {"create": 50.0}  # Azure's clock, not the poll's
    second = World(durations=first.durations)
    outcome = await second.run()
    waited = 0.0
    while outcome.retry is not None and waited + outcome.retry.delay < 50:
        waited += outcome.retry.delay
        second.advance(outcome.retry.delay)
        outcome = await second.run()
    assert outcome.retry is not None
    assert 50 < waited + outcome.retry.delay <= 52.5  # the look just after 50 s, not a quarter later


async def test_a_suspend_and_a_resume_teach_their_own_durations() -> None:
    world = await ready_world()
    world.change_spec(suspended=True)
    await world.run()
    await world.run()  # the confirming read: Azure began disabling now
    world.advance(20)
    world.azure.finish()
    world.advance(5)
    await world.settle()
    assert world.status["azureStatus"] == "Disabled"
    assert world.durations.expected("VoiceEndpoint")["suspend"] == 20.0


@pytest.mark.parametrize(("code", "status"), [("TooManyRequests", 429), ("Conflict", 409)])
async def test_a_create_refused_for_a_moment_is_sent_again_at_the_same_id(code: str, status: int) -> None:
    # the first PUT's answer is lost (it may still make the endpoint); its retry meets a 429 or 409 while
    # that PUT lands: a new id would leave the first endpoint unrecorded, billed for ever
    world = World()
    world.azure.fail("create", azure_error("Timeout", ErrorClass.TRANSIENT, status=0, outcome_unknown=True))
    outcome = await world.run()
    create = world.azure.create

    async def landing_then_refused(endpoint_id: str, body: Any, operation_id: str) -> Any:
        world.azure.create = create  # the retry after this one goes through
        await create(endpoint_id, body, operation_id)  # the first PUT lands meanwhile
        raise azure_error(code, ErrorClass.TRANSIENT, status=status)

    world.azure.create = landing_then_refused  # type: ignore[method-assign]
    assert outcome.retry is not None
    world.advance(outcome.retry.delay)
    await world.run()
    await world.settle()
    assert set(world.azure.endpoints) == {FIRST} and world.status["endpointId"] == FIRST
