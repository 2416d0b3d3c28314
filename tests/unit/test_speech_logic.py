"""The SpeechEndpoint reconcile logic, pass by pass, against an in-memory Azure (see test_speech_fakes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import AzureError, EntityError, ErrorClass, OperatorError
from azure_speech_operator.reconcile import (
    CREATE_PENDING_ANNOTATION,
    ENDPOINT_ID_ANNOTATION,
    POLICY_ANNOTATION,
    REQUESTED_ANNOTATION,
    Trigger,
)
from azure_speech_operator.speechendpoint import logic

from .test_speech_fakes import (
    BASE_MODEL,
    BASE_MODEL_2,
    EXPIRING_MODEL,
    GERMAN_MODEL,
    MARKER,
    T0,
    UID,
    World,
    azure_error,
)

OTHER_ID = "a07164e8-1111-4222-8333-444455556666"


# a create-pending mark another process left long ago (a crash, an older version): its create is over
OLD_MARK = (T0 - timedelta(hours=1)).isoformat()


async def ready_world(**spec: object) -> World:
    world = World()
    if spec:
        world.change_spec(**spec)
    await world.run()
    world.azure.finish()
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    return world


# --- create ------------------------------------------------------------------------------------------------


async def test_create_marks_pending_before_the_post_and_records_the_id_after() -> None:
    world = World()
    outcome = await world.run()
    kinds = [type(s).__name__ for s in world.steps]
    assert kinds[:4] == ["MarkCreatePending", "CreateEndpoint", "RecordEndpointId", "GetModel"]
    endpoint = world.azure.only()
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == endpoint.id
    assert CREATE_PENDING_ANNOTATION not in world.annotations
    assert endpoint.custom_properties == {MARKER: UID}
    assert endpoint.display_name == "call-center-en"  # metadata.name by default
    assert world.condition("Ready") == ("False", "Deploying")
    assert world.condition("Available") == ("False", "NotServing")
    assert world.condition("Reconciling") == ("True", "Deploying")
    assert world.condition("Stalled") == ("False", "NotStalled")
    assert outcome.retry is not None and outcome.retry.delay == 30.0  # Azure's Retry-After
    assert world.status["endpointId"] == endpoint.id
    assert world.status["azureStatus"] == "NotStarted"
    assert world.status["observedGeneration"] == 1
    assert "Created" in world.event_reasons()


async def test_deploying_then_ready() -> None:
    world = World()
    await world.run()
    world.azure.finish()
    outcome = await world.run()
    assert outcome.retry is None
    assert world.condition("Ready") == ("True", "Ready")
    assert world.condition("Available") == ("True", "Serving")
    assert world.condition("Reconciling") == ("False", "Idle")
    assert world.status["servingModel"] == {"id": BASE_MODEL, "kind": "base"}
    assert world.status["model"]["transcriptionExpiresAt"] == "2027-12-26T06:00:00Z"
    assert world.azure.writes == ["create"]
    assert world.event_reasons().count("Ready") == 1


async def test_no_retry_after_gives_capped_backoff_not_a_busy_loop() -> None:
    world = World()
    world.azure.retry_after = None
    delays = []
    for attempt in range(12):
        outcome = await world.run(attempt=attempt)
        assert outcome.retry is not None
        delays.append(outcome.retry.delay)
    assert delays[0] >= 5
    assert delays == sorted(delays)
    assert max(delays) <= 300


async def test_steady_state_writes_no_status_and_no_azure() -> None:
    world = await ready_world()
    writes, calls = world.status_writes, len(world.azure.calls)
    outcome = await world.run()
    assert world.status_writes == writes
    assert world.azure.calls[calls:] == ["get"]  # a fresh GET, nothing else (model read is daily)
    assert outcome.events == ()


async def test_resume_of_a_settled_resource_calls_no_azure() -> None:
    world = await ready_world()
    calls = len(world.azure.calls)
    await world.run(Trigger.RESUME)
    assert len(world.azure.calls) == calls


async def test_resume_of_a_deploying_resource_polls() -> None:
    world = World()
    await world.run()
    calls = len(world.azure.calls)
    await world.run(Trigger.RESUME)
    assert world.azure.calls[calls:] == ["get"]


async def test_no_azure_write_before_the_finalizer() -> None:
    world = World(has_finalizer=False)
    outcome = await world.run()
    assert world.azure.writes == []
    assert CREATE_PENDING_ANNOTATION not in world.annotations
    assert world.condition("Ready") == ("False", "WaitingForFinalizer")
    assert outcome.retry is not None


async def test_custom_properties_carry_the_marker_and_replace_the_whole_map() -> None:
    world = await ready_world(customProperties={"team": "a"})
    assert world.azure.only().custom_properties == {"team": "a", MARKER: UID}
    world.change_spec(customProperties={"team": "b", "cost": "42"})
    await world.run()
    assert world.azure.only().custom_properties == {"team": "b", "cost": "42", MARKER: UID}
    assert world.condition("Ready") == ("True", "Ready")


# --- lost create answers, crashes ---------------------------------------------------------------------------


async def test_lost_create_answer_is_found_by_marker_not_created_twice() -> None:
    world = World()
    world.azure.lose_create_answer = True
    outcome = await world.run()
    assert outcome.retry is not None
    assert world.condition("Ready") == ("False", "ConnectionReset")
    assert world.condition("Reconciling")[0] == "True"
    assert CREATE_PENDING_ANNOTATION in world.annotations
    await world.run()
    assert len(world.azure.endpoints) == 1
    assert world.azure.calls.count("create") == 1
    assert "find" in world.azure.calls
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == world.azure.only().id
    assert "EndpointFound" in world.event_reasons()


async def test_a_lookup_that_finds_nothing_posts_no_endpoint_found() -> None:
    world = World(annotations={CREATE_PENDING_ANNOTATION: OLD_MARK})  # an answer lost, nothing made
    await world.run()
    assert world.azure.calls[:2] == ["find", "create"]
    assert "Created" in world.event_reasons()
    assert "EndpointFound" not in world.event_reasons()


@pytest.mark.parametrize("crash_after", ["MarkCreatePending", "CreateEndpoint", "RecordEndpointId"])
async def test_killed_mid_create_leaves_exactly_one_endpoint(crash_after: str) -> None:
    world = World(crash_after=crash_after)
    with pytest.raises(KeyboardInterrupt):
        await world.run()
    # The crash hits before the named step runs: a restarted operator (resume) takes over.
    world.steps.clear()
    world.process = "restarted"
    outcome = await world.run(Trigger.RESUME)
    if CREATE_PENDING_ANNOTATION in world.annotations:
        # the create it marked may still be under way in Azure: nothing is looked up or created before
        # it cannot be
        assert world.condition("Reconciling") == ("True", "CreateInFlight")
        assert (
            outcome.retry is not None and outcome.retry.delay == world.timing.create_in_flight.total_seconds()
        )
        world.advance(outcome.retry.delay)
        await world.run()
    world.azure.finish()
    await world.run()
    assert len(world.azure.endpoints) == 1
    assert world.condition("Ready") == ("True", "Ready")


async def create_still_landing(world: World) -> logic.SpeechEndpoint:
    """A replica that handed over (or this one before a restart) marked a create and sent it; Azure makes
    the endpoint only later (returned: not in its list yet). The world's process is another one now."""
    world.process = "stopping-replica"
    world.azure.lose_create_answer = True
    await world.run()
    (made,) = world.azure.endpoints.values()
    del world.azure.endpoints[made.id]
    world.process = "standby"
    return made


async def test_a_create_another_process_sent_is_waited_for_before_the_lookup() -> None:
    # a lookup at once would find nothing and create a second endpoint
    world = World()
    made = await create_still_landing(world)
    world.advance(5)
    outcome = await world.run(Trigger.RESUME)
    assert world.azure.calls.count("find") == 0 and world.azure.writes == ["create"]
    assert world.condition("Reconciling") == ("True", "CreateInFlight")
    assert outcome.retry is not None
    assert outcome.retry.delay == world.timing.create_in_flight.total_seconds() - 5
    world.azure.endpoints[made.id] = made  # the create landed meanwhile
    world.advance(outcome.retry.delay)
    await world.run()
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == made.id
    assert world.azure.writes == ["create"] and len(world.azure.endpoints) == 1


async def test_a_create_after_the_wait_is_sent_under_a_mark_of_its_own() -> None:
    # A's create never landed; B waited it out, found nothing and creates: under its own mark, so that a
    # C taking over from B waits for B's create in turn
    world = World()
    await create_still_landing(world)
    world.advance(world.timing.create_in_flight.total_seconds())
    world.azure.lose_create_answer = True  # B's answer is lost too: its mark stays
    await world.run()
    assert world.azure.writes == ["create", "create"]
    assert world.annotations[CREATE_PENDING_ANNOTATION] == f"{world.now.isoformat()} standby"


async def test_a_deletion_waits_for_a_create_another_process_sent() -> None:
    world = World()
    made = await create_still_landing(world)
    outcome = await delete(world)
    assert not outcome.release and world.azure.calls.count("find") == 0
    world.azure.endpoints[made.id] = made
    outcome = await delete(world, after=world.timing.create_in_flight.total_seconds())
    while not outcome.release:
        outcome = await delete(world, after=1)
    assert world.azure.endpoints == {}


async def test_killed_after_the_post_before_recording_is_found() -> None:
    world = World()
    # the POST went through, then the process died: simulate by creating directly with the marker
    await world.run()
    endpoint_id = world.annotations.pop(ENDPOINT_ID_ANNOTATION)
    world.annotations[CREATE_PENDING_ANNOTATION] = OLD_MARK
    world.status = {}
    await world.run(Trigger.RESUME)
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == endpoint_id
    assert len(world.azure.endpoints) == 1


# --- updates and redeploys -------------------------------------------------------------------------------


async def test_model_change_redeploys_with_the_old_model_serving() -> None:
    world = await ready_world()
    world.change_spec(model={"baseModelId": BASE_MODEL_2})
    outcome = await world.run()
    assert world.azure.calls[-2:] == ["update", "get_model"]
    assert world.condition("Ready") == ("False", "Redeploying")
    assert world.condition("Available") == ("True", "Serving")
    assert world.condition("Reconciling") == ("True", "Redeploying")
    serving = {"id": BASE_MODEL, "kind": "base", "transcriptionExpiresAt": "2027-12-26T06:00:00Z"}
    assert world.status["servingModel"] == serving | {"checkedAt": "2026-11-21T06:00:00Z"}
    assert world.status["model"]["id"] == BASE_MODEL_2
    assert outcome.retry is not None
    # a pass while Azure still deploys keeps the old model as the serving one
    await world.run()
    assert world.status["servingModel"]["id"] == BASE_MODEL
    world.azure.finish()
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.status["servingModel"] == {"id": BASE_MODEL_2, "kind": "base"}
    assert "Redeploying" in world.event_reasons()


async def test_only_differing_fields_are_patched() -> None:
    world = await ready_world()
    sent = []
    original = world.azure.update

    async def spy(endpoint_id: str, changes: logic.SpeechEndpointUpdate) -> logic.SpeechEndpoint:
        sent.append(changes.model_dump(exclude_none=True))
        return await original(endpoint_id, changes)

    world.azure.update = spy  # type: ignore[method-assign]
    world.change_spec(displayName="Call center", loggingEnabled=True, description="d")
    await world.run()
    assert sent == [{"display_name": "Call center", "description": "d", "logging_enabled": True}]
    assert world.condition("Ready") == ("True", "Ready")
    assert "Updated" in world.event_reasons()


async def test_drift_is_repaired() -> None:
    world = await ready_world(customProperties={"team": "a"})
    endpoint = world.azure.only()
    world.azure.endpoints[endpoint.id] = endpoint.model_copy(
        update={"display_name": "renamed in the portal", "custom_properties": {"x": "y"}}
    )
    await world.run(Trigger.DRIFT)
    repaired = world.azure.only()
    assert repaired.display_name == "call-center-en"
    assert repaired.custom_properties == {"team": "a", MARKER: UID}


async def test_model_changed_outside_git_is_redeployed_back() -> None:
    world = await ready_world()
    endpoint = world.azure.only()
    world.azure.endpoints[endpoint.id] = endpoint.model_copy(
        update={"model": logic.ModelRef(id=BASE_MODEL_2, kind="base")}
    )
    await world.run(Trigger.DRIFT)
    assert world.azure.only().model == logic.ModelRef(id=BASE_MODEL, kind="base")
    assert world.condition("Ready") == ("False", "Redeploying")


async def test_no_patch_while_azure_is_deploying() -> None:
    world = World()
    await world.run()
    world.change_spec(displayName="new name")
    await world.run()
    assert world.azure.writes == ["create"]
    assert "then: displayName" in world.status["conditions"][0]["message"]
    world.azure.finish()
    await world.run()
    assert world.azure.writes == ["create", "update"]


# --- errors ------------------------------------------------------------------------------------------------


async def test_invalid_model_stalls_with_azures_code_and_no_more_writes() -> None:
    world = World(spec=World().spec | {"model": {"baseModelId": "00000000-0000-4000-8000-000000000000"}})
    outcome = await world.run()
    assert world.condition("Ready") == ("False", "InvalidModel")
    assert world.condition("Stalled") == ("True", "InvalidModel")
    assert world.condition("Reconciling") == ("False", "Idle")
    assert world.status["error"] == {
        "code": "InvalidModel",
        "message": "InvalidModel happened",
        "class": "fatal",
    }
    assert outcome.retry is None
    assert "InvalidModel" in world.event_reasons()
    for trigger in (Trigger.CHANGE, Trigger.DRIFT, Trigger.RESUME):
        await world.run(trigger)
    assert world.azure.calls.count("create") == 1
    # a spec change lifts the stall
    world.change_spec(model={"baseModelId": BASE_MODEL})
    await world.run()
    assert world.azure.calls.count("create") == 2
    assert world.condition("Stalled") == ("False", "NotStalled")
    assert "error" not in world.status


async def test_other_locale_model_stalls_on_redeploy_and_the_old_model_keeps_serving() -> None:
    world = await ready_world()
    world.change_spec(model={"baseModelId": GERMAN_MODEL})
    await world.run()
    assert world.condition("Stalled") == ("True", "ModelMismatch")
    assert world.condition("Available") == ("True", "Serving")
    await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("update") == 1


async def test_reconcile_requested_at_clears_stalled_for_one_try() -> None:
    world = World(spec=World().spec | {"model": {"baseModelId": "00000000-0000-4000-8000-000000000000"}})
    await world.run()
    await world.run()
    assert world.azure.calls.count("create") == 1
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.calls.count("create") == 2
    assert world.status["reconcileRequestedAt"] == "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.calls.count("create") == 2  # one try per request
    # and the fix in Azure (model now exists) is picked up on the next request
    world.azure.models["00000000-0000-4000-8000-000000000000"] = world.azure.models[BASE_MODEL].model_copy(
        update={"id": "00000000-0000-4000-8000-000000000000"}
    )
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:05:00Z"
    await world.run()
    assert world.condition("Ready") == ("False", "Deploying")


async def test_failed_deployment_is_stalled_with_azures_error() -> None:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="InvalidModel", message="model cannot be deployed"))
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "InvalidModel")
    assert "model cannot be deployed" in world.status["error"]["message"]
    assert world.status["azureStatus"] == "Failed"
    assert outcome.retry is None


async def test_failed_deployment_makes_no_writes_until_asked() -> None:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom."))
    await world.run()
    await world.run(Trigger.DRIFT)
    await world.run()
    assert world.azure.writes == ["create"]
    assert world.status["error"]["message"].endswith(
        "failed: boom; change spec.model, or set the reconcile-requested-at annotation to replace the "
        "endpoint"
    )


async def test_reconcile_request_replaces_a_failed_endpoint_the_operator_created() -> None:
    world = World()
    await world.run()
    failed = world.azure.only().id
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    outcome = await world.run()
    assert world.azure.writes == ["create", "delete"]
    assert world.azure.endpoints == {}
    assert world.condition("Ready") == ("False", logic.REPLACING)
    assert world.condition("Reconciling")[0] == "True"
    assert world.condition("Stalled")[0] == "False"
    assert outcome.retry is not None and outcome.retry.delay <= 1.0
    await world.run()
    assert world.azure.writes == ["create", "delete", "create"]
    replacement = world.azure.only()
    assert replacement.id != failed
    assert replacement.custom_properties == {MARKER: UID}
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == replacement.id
    assert world.condition("Ready") == ("False", "Deploying")
    assert "EndpointRecreated" not in world.event_reasons()  # asked for, not a surprise
    assert logic.REPLACING in world.event_reasons()
    world.azure.finish()
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    await world.run()
    assert world.azure.writes == ["create", "delete", "create"]  # one replacement per request


@pytest.mark.parametrize("policy", ["skip", "detach-on-delete"])
async def test_reconcile_request_replaces_a_failed_endpoint_only_under_manage(policy: str) -> None:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    world.annotations[POLICY_ANNOTATION] = policy
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.writes == ["create"]
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert f"reconcile-policy {policy} never replaces" in world.status["error"]["message"]


async def test_reconcile_request_never_replaces_a_failed_adopted_endpoint() -> None:
    donor = World()
    await donor.run()
    donor.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    endpoint = donor.azure.only()
    world = World(azure=donor.azure)
    world.spec["endpointId"] = endpoint.id
    await world.run()
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.writes == ["create"]  # the donor's only
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert "never replaced" in world.status["error"]["message"]


async def test_reconcile_request_never_replaces_a_failed_redeploy_whose_old_model_serves() -> None:
    world = await ready_world()
    world.change_spec(model={"baseModelId": BASE_MODEL_2})
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.writes == ["create", "update"]
    assert world.condition("Available")[0] == "True"
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    assert "keeps serving" in world.status["error"]["message"]


@pytest.mark.parametrize(
    ("cls", "phase_reconciling", "min_delay", "max_delay"),
    [
        (ErrorClass.TRANSIENT, True, 1, 300),
        (ErrorClass.WAITING, True, 60, 300),
        (ErrorClass.BLOCKED, False, 150, 1800),
        (ErrorClass.FATAL, False, None, None),
    ],
)
async def test_error_classes_map_to_conditions_and_delays(
    cls: ErrorClass, phase_reconciling: bool, min_delay: float | None, max_delay: float | None
) -> None:
    world = World()
    world.azure.fail("create", azure_error("SomeCode", cls, status=500))
    outcome = await world.run()
    assert world.condition("Reconciling")[0] == ("True" if phase_reconciling else "False")
    assert world.condition("Stalled")[0] == ("False" if phase_reconciling else "True")
    assert world.condition("Ready") == ("False", "SomeCode")
    if min_delay is None:
        assert outcome.retry is None
    else:
        assert outcome.retry is not None and min_delay <= outcome.retry.delay <= max_delay


async def test_retry_after_of_a_429_is_honoured() -> None:
    world = World()
    world.azure.fail(
        "create", azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429, retry_after=17)
    )
    outcome = await world.run()
    assert outcome.retry is not None and outcome.retry.delay == 17
    assert world.condition("Ready") == ("False", "TooManyRequests")
    # Azure's "try again later" is the operator's to do: said, without the delay (no write per retry)
    (ready,) = [c for c in world.status["conditions"] if c["type"] == "Ready"]
    assert ready["message"].endswith("; retried by the operator when Azure's Retry-After says")
    assert world.status["error"]["message"] == "TooManyRequests happened"  # status.error: Azure's own text


async def test_one_500_late_in_a_deployment_waits_the_first_backoff_step_not_the_cap() -> None:
    world = World()
    world.azure.retry_after = None
    for attempt in range(9):  # the create, then 8 polls of the deployment: kopf's retry count is 8
        outcome = await world.run(attempt=attempt)
        world.advance(outcome.retry.delay if outcome.retry else 0)
    assert world.condition("Ready") == ("False", "Deploying")
    step = reconcile.TRANSIENT_BACKOFF_BASE  # each delay is jittered down to 3/4 of its step (jitter 0.5)

    async def failed_get(attempt: int) -> float:
        world.azure.fail("get", azure_error("InternalServerError", ErrorClass.TRANSIENT, status=500))
        outcome = await world.run(attempt=attempt)
        assert world.condition("Reconciling") == ("True", "InternalServerError")
        assert outcome.retry is not None
        return outcome.retry.delay

    assert await failed_get(9) == step * 0.75
    (ready,) = [c for c in world.status["conditions"] if c["type"] == "Ready"]
    assert ready["message"].endswith("; retried by the operator with backoff (at most 5 min apart)")
    assert await failed_get(10) == 2 * step * 0.75  # a second in a row doubles it
    outcome = await world.run(attempt=11)  # a poll that succeeds starts over
    assert world.condition("Ready") == ("False", "Deploying") and outcome.retry is not None
    assert await failed_get(12) == step * 0.75


async def test_a_429_storm_converges_with_one_endpoint() -> None:
    world = World()
    storm = [
        azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429, retry_after=3) for _ in range(5)
    ]
    world.azure.fail("create", *storm[:2])
    world.azure.fail("get", *storm[2:])
    for attempt in range(12):
        await world.run(attempt=attempt)
        world.azure.finish()
        if world.condition("Ready")[0] == "True":
            break
    assert world.condition("Ready") == ("True", "Ready")
    assert len(world.azure.endpoints) == 1
    warnings = [e for e in world.events if e.reason == "TooManyRequests"]
    assert len(warnings) <= 2  # events on transitions, not on every retry


async def test_transient_error_leaves_available_as_before() -> None:
    world = await ready_world()
    world.azure.fail("get", azure_error("ServiceUnavailable", ErrorClass.TRANSIENT, status=503))
    await world.run()
    assert world.condition("Available") == ("True", "Serving")
    assert world.condition("Ready") == ("False", "ServiceUnavailable")
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")


async def test_missing_credentials_are_blocked_and_retried_on_the_credentials_timer() -> None:
    world = World(
        credentials_error=OperatorError("CredentialsNotFound", "Secret 's' not found", ErrorClass.BLOCKED)
    )
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "CredentialsNotFound")
    assert outcome.retry is not None and outcome.retry.delay == 120
    assert world.azure.calls == []
    assert CREATE_PENDING_ANNOTATION not in world.annotations  # no stray mark: the next pass needs no lookup
    world.credentials_error = None
    await world.run()
    assert world.azure.writes == ["create"]


async def test_host_not_allowed_is_fatal_without_requests() -> None:
    world = World()

    async def refuse() -> None:
        raise OperatorError("HostNotAllowed", "host evil.example.com is not allowed", ErrorClass.FATAL)

    world._connect = refuse  # type: ignore[method-assign,assignment]
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "HostNotAllowed")
    assert outcome.retry is None
    assert world.azure.calls == []


async def test_invalid_spec_is_fatal_and_named() -> None:
    world = World()
    world.spec["model"] = {"baseModelId": "nope"}
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidSpec")
    assert "spec.model.baseModelId" in world.status["error"]["message"]
    assert world.azure.calls == []


async def test_export_failure_is_shown() -> None:
    world = World(export_error=OperatorError("ConfigMapNotOwned", "not ours", ErrorClass.FATAL))
    world.change_spec(exportTo={"configMapName": "call-center-en-endpoint"})
    await world.run()
    assert world.condition("Stalled") == ("True", "ConfigMapNotOwned")


async def test_a_stalled_resource_keeps_polling_a_deployment_and_reporting_azure() -> None:
    world = World(export_error=OperatorError("ConfigMapNotOwned", "not ours", ErrorClass.FATAL))
    world.change_spec(exportTo={"configMapName": "taken"})
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "ConfigMapNotOwned")
    assert world.status["azureStatus"] == "NotStarted"
    assert outcome.retry is not None and outcome.retry.delay <= 30  # the deployment is still polled
    world.azure.finish()
    outcome = await world.run(Trigger.DRIFT)
    assert world.status["azureStatus"] == "Succeeded"
    assert world.condition("Stalled") == ("True", "ConfigMapNotOwned")
    assert world.condition("Available") == ("True", "Serving")
    assert outcome.retry is None  # fatal, and nothing in flight: the drift check looks again
    assert world.azure.writes == ["create"]


async def test_resume_polls_a_stalled_resource_whose_deployment_is_in_flight() -> None:
    world = World(export_error=OperatorError("ConfigMapNotOwned", "not ours", ErrorClass.FATAL))
    world.change_spec(exportTo={"configMapName": "taken"})
    await world.run()
    world.azure.finish()
    await world.run(Trigger.RESUME)
    assert world.status["azureStatus"] == "Succeeded"


async def test_a_blocked_export_is_retried_and_heals_without_a_request() -> None:
    world = World(export_error=OperatorError("ConfigMapNotOwned", "not ours", ErrorClass.BLOCKED))
    world.change_spec(exportTo={"configMapName": "taken"})
    await world.run()
    world.azure.finish()
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "ConfigMapNotOwned")
    assert outcome.retry is not None and 150 <= outcome.retry.delay <= 1800
    world.export_error = None  # the other ConfigMap was deleted
    await world.run(Trigger.DRIFT)
    assert world.condition("Ready") == ("True", "Ready")
    assert "taken" in world.exported


async def test_an_endpoint_id_conflict_still_reports_the_created_endpoint() -> None:
    world = World()
    await world.run()
    world.change_spec(endpointId=OTHER_ID)
    world.azure.finish()
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointIdConflict")
    assert world.status["azureStatus"] == "Succeeded"
    assert world.condition("Available") == ("True", "Serving")


async def test_export_writes_id_host_and_links() -> None:
    world = await ready_world(exportTo={"configMapName": "call-center-en-endpoint"})
    data = world.exported["call-center-en-endpoint"]
    endpoint = world.azure.only()
    assert data["endpointId"] == endpoint.id
    assert data["host"] == "https://westeurope.api.cognitive.microsoft.com"
    assert data["webSocket"].endswith(endpoint.id)


async def test_export_names_the_host_the_region_leads_to_in_another_cloud() -> None:
    world = World()
    world.timing = replace(world.timing, region_url="https://{region}.api.cognitive.azure.cn")
    world.change_spec(exportTo={"configMapName": "call-center-en-endpoint"})
    await world.run()
    world.azure.finish()
    await world.run()
    assert world.exported["call-center-en-endpoint"]["host"] == "https://westeurope.api.cognitive.azure.cn"


# --- what Stalled messages say ----------------------------------------------------------------------------


def stalled_message(world: World) -> str:
    assert world.condition("Stalled")[0] == "True"
    return next(c["message"] for c in world.status["conditions"] if c["type"] == "Stalled")


async def test_missing_credentials_say_when_they_are_retried() -> None:
    world = World(
        credentials_error=OperatorError("CredentialsNotFound", "Secret 's' gone", ErrorClass.BLOCKED)
    )
    await world.run()
    message = stalled_message(world)
    assert message.startswith("Secret 's' gone; ")
    assert "retried every 2 min" in message
    assert "speech.azure-operator.io/credentials=true" in message  # a labelled Secret retries at once
    assert world.status["error"]["message"] == "Secret 's' gone"


@pytest.mark.parametrize(
    ("code", "status", "secret_helps"), [("QuotaViolation", 403, False), ("Unauthorized", 401, True)]
)
async def test_a_blocked_error_says_when_it_is_retried(code: str, status: int, secret_helps: bool) -> None:
    world = World()
    world.azure.fail("create", azure_error(code, ErrorClass.BLOCKED, status=status))
    await world.run()
    message = stalled_message(world)
    assert "retried every 5 min growing to 30 min, at once on a new reconcile-requested-at" in message
    # a changed key can fix a 401, never a quota
    assert ("speech.azure-operator.io/credentials=true" in message) is secret_helps


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.99, 1.0])
def test_a_blocked_error_is_retried_every_5_min_at_the_soonest_growing_to_30(jitter: float) -> None:
    error = azure_error("QuotaViolation", ErrorClass.BLOCKED, status=403)
    delays = []
    for failed in range(6):
        pass_ = reconcile.Pass(
            trigger=reconcile.Trigger.CHANGE,
            now=T0,
            timing=reconcile.Timing(),
            jitter=jitter,
            failures=reconcile.Failures("blocked", failed),
        )
        retry = reconcile.report_error(error, pass_).retry
        assert retry is not None
        delays.append(retry.delay)
    assert 300 <= delays[0] <= 600
    assert all(300 <= delay <= 1800 for delay in delays)
    assert delays == sorted(delays) and delays[-1] >= 900  # growing


async def test_a_fatal_error_says_what_lifts_it() -> None:
    world = World(spec=World().spec | {"model": {"baseModelId": GERMAN_MODEL}})
    await world.run()
    assert "not retried until the spec changes or reconcile-requested-at" in stalled_message(world)


async def test_azures_request_id_is_shown() -> None:
    world = World()
    world.azure.fail(
        "create", azure_error("QuotaViolation", ErrorClass.BLOCKED, status=403, request_id="r-42")
    )
    await world.run()
    assert world.status["error"]["message"] == "QuotaViolation happened (request id r-42)"
    assert "(request id r-42)" in stalled_message(world)


async def test_deletion_waiting_for_credentials_says_for_how_long() -> None:
    world = await ready_world()
    world.credentials_error = OperatorError("CredentialsNotFound", "Secret gone", ErrorClass.BLOCKED)
    await delete(world)
    message = stalled_message(world)
    assert "retried every 2 min" in message
    assert "released without deleting it after 10 min" in message


async def test_deletion_retries_a_failed_read_of_the_credentials_with_backoff() -> None:
    # A 500 reading the Secret (the apiserver failing for a moment) is no missing Secret: retried in seconds,
    # not at the missing credentials' interval (2 min), and not Stalled.
    world = await ready_world()
    world.credentials_error = OperatorError(
        "KubernetesApiError", "reading Secret 's' failed: HTTP 500 InternalError", ErrorClass.TRANSIENT
    )
    outcome = await delete(world)
    assert outcome.retry is not None and outcome.retry.delay < 60
    assert world.condition("Stalled")[0] != "True"
    assert not [c for c in world.status["conditions"] if "retried every" in c.get("message", "")]
    world.credentials_error = None
    outcome = await delete(world, after=outcome.retry.delay)
    assert outcome.release and world.azure.endpoints == {}


# under the minimum too (5s, 9); digits that are not ASCII (superscript two, Arabic-Indic ten)
@pytest.mark.parametrize(
    "value", ["1 hour", "0", "soon", "99999999999999d", "36501d", "5s", "9", "1\u00b2", "\u0661\u0660m"]
)
async def test_an_invalid_drift_interval_is_reported_like_a_bad_policy(value: str) -> None:
    world = World(annotations={reconcile.DRIFT_ANNOTATION: value})
    await world.run()
    assert world.azure.calls == []
    assert world.condition("Stalled") == ("True", "InvalidAnnotation")
    assert reconcile.DRIFT_ANNOTATION in world.status["error"]["message"]
    assert repr(value) in world.status["error"]["message"]
    world.annotations[reconcile.DRIFT_ANNOTATION] = "1h"
    await world.run()
    assert world.azure.writes == ["create"]


# --- adoption, recreate, policies ---------------------------------------------------------------------------


async def test_adoption_uses_the_existing_endpoint_and_never_recreates_it() -> None:
    donor = World()
    await donor.run()
    donor.azure.finish()
    endpoint = donor.azure.only()
    world = World(azure=donor.azure)
    world.spec["endpointId"] = endpoint.id
    world.spec["displayName"] = endpoint.display_name
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    assert "Adopted" in world.event_reasons()
    assert world.azure.calls.count("create") == 1  # the donor's only
    del world.azure.endpoints[endpoint.id]
    outcome = await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "AdoptedEndpointNotFound")
    assert outcome.retry is None
    assert world.azure.endpoints == {}
    assert "endpointId" not in world.status


async def test_an_endpoint_another_resource_owns_is_not_adopted_nor_deleted_with_this_one() -> None:
    # spec.endpointId naming the endpoint another SpeechEndpoint created: taken over, the deletion of
    # either would delete it under the other (an outside review saw the owner's endpoint deleted)
    owner = World()
    await owner.run()
    owner.azure.finish()
    endpoint = owner.azure.only()
    world = World(azure=owner.azure, claimed={endpoint.id: "SpeechEndpoint team-a/owner"})
    world.spec["endpointId"] = endpoint.id
    world.spec["displayName"] = "taken"
    outcome = await world.run()
    assert world.condition("Stalled") == ("True", "EndpointInUse")
    assert world.status["error"]["class"] == "blocked"
    assert "belongs to SpeechEndpoint team-a/owner" in world.status["error"]["message"]
    assert outcome.retry is not None  # retried slowly: adopted once the owner is gone
    assert reconcile.ADOPTED_ANNOTATION not in world.annotations
    assert owner.azure.writes == ["create"]  # the owner's only: nothing renamed
    await delete(world)
    assert world.released and endpoint.id in owner.azure.endpoints
    # once the owner is gone (deleted with deletionPolicy Orphan), the next try adopts it
    world = World(azure=owner.azure)
    world.spec["endpointId"] = endpoint.id
    world.spec["displayName"] = endpoint.display_name
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    assert "Adopted" in world.event_reasons()


async def test_an_endpoint_taken_over_before_its_owner_was_known_is_given_up_not_deleted() -> None:
    # two resources already recording one endpoint (taken over by a version without the check, or in a
    # race): the one whose claim loses (runtime/claims.py) stops writing it and leaves it at deletion
    owner = World()
    await owner.run()
    owner.azure.finish()
    endpoint = owner.azure.only()
    world = World(azure=owner.azure)
    world.spec["endpointId"] = endpoint.id
    world.spec["displayName"] = endpoint.display_name
    await world.run()
    assert reconcile.ADOPTED_ANNOTATION in world.annotations  # taken over
    world.claimed = {endpoint.id: "SpeechEndpoint team-a/owner"}
    world.change_spec(displayName="taken")
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointInUse")
    assert owner.azure.writes == ["create"]  # not renamed
    await delete(world)
    assert world.released and endpoint.id in owner.azure.endpoints
    assert "NotAdopted" in world.event_reasons()


async def test_adoption_keeps_azures_display_name_unless_the_spec_sets_one() -> None:
    donor = World()
    donor.change_spec(displayName="named in the portal")
    await donor.run()
    donor.azure.finish()
    endpoint = donor.azure.only()
    world = World(azure=donor.azure)
    world.spec["endpointId"] = endpoint.id
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.azure.writes == ["create"]  # the donor's only: adopting renamed nothing
    assert world.azure.only().display_name == "named in the portal"
    world.change_spec(displayName="Call center")
    await world.run()
    assert world.azure.only().display_name == "Call center"


async def test_adopted_endpoint_is_not_tagged_unless_properties_are_managed() -> None:
    donor = World()
    await donor.run()
    endpoint = donor.azure.only()
    world = World(azure=donor.azure)
    world.spec["endpointId"] = endpoint.id
    world.spec["displayName"] = endpoint.display_name
    donor.azure.finish()
    writes = list(world.azure.writes)
    await world.run()
    assert world.azure.writes == writes


async def test_operator_created_endpoint_deleted_in_azure_is_recreated() -> None:
    world = await ready_world()
    old = world.azure.only().id
    world.azure.endpoints.clear()
    await world.run(Trigger.DRIFT)
    assert len(world.azure.endpoints) == 1
    assert world.azure.only().id != old
    assert world.annotations[ENDPOINT_ID_ANNOTATION] == world.azure.only().id
    assert "EndpointRecreated" in world.event_reasons()
    assert world.condition("Ready") == ("False", "Deploying")


async def test_endpoint_id_conflict_is_fatal() -> None:
    world = await ready_world()
    world.change_spec(endpointId=OTHER_ID)
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointIdConflict")


async def test_skip_policy_observes_only() -> None:
    world = World(annotations={POLICY_ANNOTATION: "skip"})
    await world.run()
    assert world.azure.calls == []
    assert world.condition("Stalled") == ("True", "NotCreated")
    world.annotations[POLICY_ANNOTATION] = "manage"
    await world.run()
    assert world.azure.writes == ["create"]
    world.azure.finish()
    await world.run()
    world.annotations[POLICY_ANNOTATION] = "skip"
    world.change_spec(displayName="changed")
    await world.run()
    assert world.azure.writes == ["create"]
    assert world.condition("Stalled") == ("True", "ReconcileSkipped")
    assert "displayName" in world.status["error"]["message"]


async def test_unknown_policy_writes_nothing() -> None:
    world = World(annotations={POLICY_ANNOTATION: "yolo"})
    await world.run()
    assert world.azure.calls == []
    assert world.condition("Stalled") == ("True", "InvalidAnnotation")


# --- Available follows what this pass read -----------------------------------------------------------------


async def adopted_world(locale: str = "en-US", **annotations: str) -> tuple[World, str]:
    world = World(annotations=dict(annotations))
    theirs = await foreign_endpoint(world, locale)
    world.azure.finish()
    world.spec["endpointId"] = theirs
    return world, theirs


@pytest.mark.parametrize("glitch", ["throttled", "credentials"])
async def test_a_passing_error_does_not_lift_a_fatal_stall(glitch: str) -> None:
    # Stalled until the spec changes or a reconcile is requested: a 429 or a Secret unreadable for a moment
    # (an API server restart) must not take the fatal error's place, or the next pass would write again
    world, _ = await adopted_world("de-DE")
    await world.run()
    assert world.condition("Stalled") == ("True", "LocaleMismatch")
    if glitch == "throttled":
        world.azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    else:
        world.credentials_error = OperatorError("SecretNotReadable", "HTTP 403", ErrorClass.TRANSIENT)
    outcome = await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "LocaleMismatch")
    assert world.status["error"]["class"] == "fatal" and outcome.retry is None


async def test_an_adopted_endpoint_gone_from_azure_is_not_available() -> None:
    world, theirs = await adopted_world()
    await world.run()
    assert world.condition("Available") == ("True", "Serving")
    del world.azure.endpoints[theirs]
    await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "AdoptedEndpointNotFound")
    assert world.condition("Available") == ("False", "NotServing")


async def test_under_skip_an_endpoint_deleted_in_azure_is_not_available() -> None:
    world = await ready_world()
    world.annotations[POLICY_ANNOTATION] = "skip"
    world.azure.endpoints.clear()
    await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "EndpointNotFound")
    assert world.condition("Available") == ("False", "NotServing")


async def test_an_adopted_succeeded_endpoint_under_skip_is_available() -> None:
    world, _ = await adopted_world(**{POLICY_ANNOTATION: "skip"})
    world.spec["displayName"] = "another name"
    await world.run()
    assert world.condition("Stalled") == ("True", "ReconcileSkipped")
    assert world.condition("Available") == ("True", "Serving")


async def test_an_adopted_succeeded_endpoint_of_another_locale_is_available() -> None:
    world, _ = await adopted_world("de-DE")
    await world.run()
    assert world.condition("Stalled") == ("True", "LocaleMismatch")
    assert world.condition("Available") == ("True", "Serving")
    assert world.status["servingModel"] == {"id": GERMAN_MODEL, "kind": "base"}


async def test_an_error_after_a_read_reports_what_was_read() -> None:
    world = await ready_world(exportTo={"configMapName": "cm"})
    world.export_error = OperatorError("KubernetesApiError", "etcd is slow", ErrorClass.TRANSIENT)
    world.azure.endpoints.clear()  # deleted in Azure: recreated, and the export of the new one fails
    await world.run(Trigger.DRIFT)
    assert world.condition("Ready") == ("False", "KubernetesApiError")
    assert world.condition("Available") == ("False", "NotServing")  # the new endpoint serves nothing yet


async def test_an_endpoint_recreated_after_it_vanished_serves_nothing_until_ready() -> None:
    world = await ready_world()
    world.azure.endpoints.clear()
    await world.run(Trigger.DRIFT)
    assert world.azure.writes == ["create", "create"]
    world.assert_row("Deploying", "Reconciling")
    assert world.condition("Available") == ("False", "NotServing")
    await world.run()  # polled while Azure deploys it
    assert world.condition("Available") == ("False", "NotServing")
    world.azure.finish()
    await world.run()
    world.assert_row("Ready", "neither")
    assert world.condition("Available") == ("True", "Serving")


@pytest.mark.parametrize("crash_after", [None, "CreateEndpoint"])
async def test_a_failed_recreate_of_a_vanished_endpoint_is_not_available(crash_after: str | None) -> None:
    """The recreate fails in the pass that found the endpoint gone, or in the next one after the operator was
    killed before the POST (the status written before still says Available: only the lookup by the uid
    marker, which finds nothing, tells that nothing serves)."""
    world = await ready_world()
    world.azure.endpoints.clear()
    if crash_after is not None:
        world.crash_after = crash_after
        with pytest.raises(KeyboardInterrupt):
            await world.run(Trigger.DRIFT)
        assert world.condition("Available") == ("True", "Serving")  # no status written
    world.azure.fail("create", azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429))
    await world.run(Trigger.RESUME if crash_after else Trigger.DRIFT)
    assert world.azure.endpoints == {}
    world.assert_row("TooManyRequests", "Reconciling")
    assert world.condition("Available") == ("False", "NotServing")
    assert not {"endpointId", "azureStatus", "servingModel"} & world.status.keys()  # none to show


async def test_a_failed_endpoint_serves_nothing_until_its_replacement_is_ready() -> None:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    world.assert_row("DeploymentFailed", "Stalled")
    assert world.condition("Available") == ("False", "NotServing")
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()  # deleted
    assert world.azure.endpoints == {}
    world.assert_row(logic.REPLACING, "Reconciling")
    assert world.condition("Available") == ("False", "NotServing")
    await world.run()  # created anew
    world.assert_row("Deploying", "Reconciling")
    assert world.condition("Available") == ("False", "NotServing")
    world.azure.finish()
    await world.run()
    world.assert_row("Ready", "neither")
    assert world.condition("Available") == ("True", "Serving")


# --- model expiry -----------------------------------------------------------------------------------------


async def test_model_expiring_then_expired_with_warnings() -> None:
    world = await ready_world(model={"baseModelId": EXPIRING_MODEL})
    assert world.condition("ModelExpiring") == ("True", "ModelExpiring")
    assert world.condition("ModelExpired") == ("False", "NotExpired")
    assert world.condition("Ready") == ("True", "Ready")
    assert "ModelExpiring" in world.event_reasons()
    world.advance(timedelta(days=11).total_seconds())
    await world.run(Trigger.DRIFT)
    assert world.condition("ModelExpired") == ("True", "ModelExpired")
    assert world.condition("ModelExpiring") == ("False", "ModelExpired")
    assert world.condition("Ready") == ("True", "Ready")
    assert "ModelExpired" in world.event_reasons()


async def test_the_expiry_conditions_describe_the_model_still_serving_through_a_failed_redeploy() -> None:
    world = await ready_world(model={"baseModelId": EXPIRING_MODEL})
    world.change_spec(model={"baseModelId": BASE_MODEL})
    await world.run()
    assert world.status["servingModel"]["id"] == EXPIRING_MODEL
    assert world.condition("ModelExpiring") == ("True", "ModelExpiring")  # still the one answering
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    assert world.condition("Available")[0] == "True"
    assert world.condition("ModelExpiring") == ("True", "ModelExpiring")
    (expiring,) = [c for c in world.status["conditions"] if c["type"] == "ModelExpiring"]
    assert EXPIRING_MODEL in expiring["message"]
    outcome = await world.run(Trigger.DRIFT)
    expires = world.status["servingModel"]["transcriptionExpiresAt"]
    assert outcome.wake_at is not None and outcome.wake_at <= reconcile.parse_time(expires)
    world.advance(timedelta(days=11).total_seconds())
    await world.run(Trigger.DRIFT)
    assert world.condition("ModelExpired") == ("True", "ModelExpired")


async def test_the_expiry_conditions_follow_the_new_model_once_it_serves() -> None:
    world = await ready_world(model={"baseModelId": EXPIRING_MODEL})
    world.change_spec(model={"baseModelId": BASE_MODEL})
    await world.run()
    world.azure.finish()
    await world.run()
    assert world.status["servingModel"] == {"id": BASE_MODEL, "kind": "base"}
    assert world.condition("ModelExpiring") == ("False", "NotExpiring")


async def test_model_is_read_on_change_and_daily_not_every_pass() -> None:
    world = await ready_world()
    reads = world.azure.calls.count("get_model")
    assert reads == 1
    for _ in range(3):
        world.advance(3600)
        await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("get_model") == 1
    world.advance(86400)
    await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("get_model") == 2


async def test_a_failed_model_read_does_not_block() -> None:
    world = World()
    world.azure.fail("get_model", azure_error("ServiceUnavailable", ErrorClass.TRANSIENT, status=503))
    await world.run()
    world.azure.finish()
    await world.run()
    assert world.condition("Ready") == ("True", "Ready")


# --- deletion ---------------------------------------------------------------------------------------------


async def delete(world: World, after: float = 0) -> reconcile.Outcome:
    if world.deletion_timestamp is None:
        world.deletion_timestamp = world.now
    world.advance(after)
    return await world.run(Trigger.DELETE)


async def test_delete_removes_the_endpoint_and_releases() -> None:
    world = await ready_world()
    outcome = await delete(world)
    assert world.azure.endpoints == {}
    assert outcome.release
    assert "Deleted" in world.event_reasons()


async def test_delete_treats_404_as_done() -> None:
    world = await ready_world()
    endpoint_id = world.azure.only().id
    world.azure.endpoints.clear()
    outcome = await delete(world)
    assert outcome.release
    assert [e.reason for e in outcome.events] == ["EndpointAlreadyGone"]  # not "Deleted": nothing was
    assert endpoint_id in outcome.events[0].message


async def test_replacing_a_failed_endpoint_that_is_already_gone_says_so() -> None:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    original = world.azure.delete

    async def gone_meanwhile(endpoint_id: str) -> bool:
        world.azure.endpoints.pop(endpoint_id)
        return await original(endpoint_id)

    world.azure.delete = gone_meanwhile  # type: ignore[method-assign]
    await world.run()
    message = world.status["conditions"][0]["message"]
    assert "was already gone" in message and "deleted" not in message


async def test_never_created_is_released_at_once() -> None:
    world = World(annotations={POLICY_ANNOTATION: "skip"})
    await world.run()
    world.annotations.clear()
    outcome = await delete(world)
    assert outcome.release
    assert world.azure.calls == []


@pytest.mark.parametrize(
    ("annotations", "policy"),
    [
        ({}, "Orphan"),
        ({POLICY_ANNOTATION: "detach-on-delete"}, "Delete"),
        ({POLICY_ANNOTATION: "skip"}, "Delete"),
    ],
)
async def test_orphaning_leaves_the_endpoint(annotations: dict[str, str], policy: str) -> None:
    world = await ready_world(deletionPolicy=policy)
    world.annotations.update(annotations)
    outcome = await delete(world)
    assert outcome.release
    assert len(world.azure.endpoints) == 1
    assert "delete" not in world.azure.calls
    assert [(e.type, e.reason) for e in outcome.events] == [("Normal", "Orphaned")]
    assert world.azure.only().id in outcome.events[0].message
    assert not outcome.orphaned_endpoints  # asked for: not counted as an orphan to alert on


async def test_an_unknown_policy_on_deletion_orphans_with_a_warning_and_counts() -> None:
    world = await ready_world()
    world.annotations[POLICY_ANNOTATION] = "yolo"
    outcome = await delete(world)
    assert outcome.release
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "Orphaned")]
    assert outcome.orphaned_endpoints == (world.azure.only().id,)


async def test_an_unknown_policy_on_deletion_after_a_lost_create_counts_an_unknown_orphan() -> None:
    world = World()
    world.azure.lose_create_answer = True
    await world.run()
    world.annotations[POLICY_ANNOTATION] = "yolo"
    outcome = await delete(world)
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "Orphaned")]
    assert outcome.orphaned_endpoints == ("unknown",) and len(world.azure.endpoints) == 1


async def test_failing_delete_is_shown_and_retried() -> None:
    world = await ready_world()
    world.azure.fail("delete", azure_error("InternalServerError", ErrorClass.TRANSIENT, status=500))
    outcome = await delete(world)
    assert not outcome.release
    assert outcome.retry is not None
    assert world.condition("Ready") == ("False", "InternalServerError")
    assert "DeleteFailed" in world.event_reasons()
    outcome = await delete(world, after=10)
    assert outcome.release
    assert world.azure.endpoints == {}


async def test_delete_with_credentials_gone_waits_then_releases_with_a_warning() -> None:
    world = await ready_world()
    world.credentials_error = OperatorError("CredentialsNotFound", "Secret gone", ErrorClass.BLOCKED)
    outcome = await delete(world)
    assert not outcome.release
    assert outcome.retry is not None and outcome.retry.delay <= 120
    outcome = await delete(world, after=601)
    assert outcome.release
    assert outcome.orphaned_endpoints == (world.azure.only().id,)
    assert world.events[-1].type == "Warning" and world.events[-1].reason == "OrphanedEndpoint"


async def test_delete_with_credentials_gone_for_good_releases_at_once_with_a_warning() -> None:
    """The Secret went with its namespace (and the operator restarted since it last read it)."""
    world = await ready_world()
    world.credentials_error = OperatorError("CredentialsNotFound", "Secret gone", ErrorClass.BLOCKED)
    world.credentials_final = True
    outcome = await delete(world)
    assert outcome.release
    assert outcome.orphaned_endpoints == (world.azure.only().id,)
    warning = world.events[-1]
    assert warning.type == "Warning" and warning.reason == "OrphanedEndpoint"
    assert "the namespace is being deleted" in warning.message


async def test_delete_after_a_lost_create_finds_and_deletes_it() -> None:
    world = World()
    world.azure.lose_create_answer = True
    await world.run()
    assert len(world.azure.endpoints) == 1
    outcome = await delete(world)
    assert outcome.release
    assert world.azure.endpoints == {}


async def test_deleting_an_adopted_endpoint_follows_deletion_policy() -> None:
    donor = World()
    await donor.run()
    endpoint = donor.azure.only()
    world = World(azure=donor.azure)
    world.spec["endpointId"] = endpoint.id
    await world.run()  # the adoption is confirmed: the endpoint was read and taken over
    outcome = await delete(world)
    assert outcome.release
    assert world.azure.endpoints == {}


async def foreign_endpoint(world: World, locale: str = "en-US") -> str:
    """An endpoint made in Azure by someone else (no marker)."""
    model = GERMAN_MODEL if locale == "de-DE" else BASE_MODEL
    body = logic.SpeechEndpointCreate(
        display_name="theirs", locale=locale, model=logic.ModelRef(id=model, kind="base")
    )
    endpoint = await world.azure.create(body)
    world.azure.calls.clear()
    return endpoint.id


@pytest.mark.parametrize("policy", ["Delete", "Orphan"])
async def test_deletion_after_a_conflicting_endpoint_id_acts_on_the_created_endpoint(policy: str) -> None:
    world = await ready_world(deletionPolicy=policy)
    created = world.azure.only().id
    theirs = await foreign_endpoint(world)
    world.change_spec(endpointId=theirs)
    await world.run()
    assert world.condition("Stalled") == ("True", "EndpointIdConflict")
    outcome = await delete(world)
    assert outcome.release
    assert theirs in world.azure.endpoints  # merely named: never deleted
    assert not [e for e in world.events if theirs in e.message and e.reason in ("Deleted", "Orphaned")]
    if policy == "Delete":
        assert created not in world.azure.endpoints
        assert [e for e in world.events if e.reason == "Deleted" and created in e.message]
    else:
        assert created in world.azure.endpoints
        assert [e for e in world.events if e.reason == "Orphaned" and created in e.message]


@pytest.mark.parametrize("situation", ["never-read", "credentials-missing", "locale-mismatch"])
async def test_deletion_leaves_an_endpoint_the_resource_named_but_never_adopted(situation: str) -> None:
    world = World()
    theirs = await foreign_endpoint(world, "de-DE" if situation == "locale-mismatch" else "en-US")
    world.spec["endpointId"] = theirs
    if situation == "credentials-missing":
        world.credentials_error = OperatorError("CredentialsNotFound", "no Secret", ErrorClass.BLOCKED)
    if situation != "never-read":
        await world.run()
    world.credentials_error = None
    outcome = await delete(world)
    assert outcome.release
    assert theirs in world.azure.endpoints
    assert world.azure.writes == []
    assert not outcome.orphaned_endpoints
    assert [e.reason for e in outcome.events] == ["NotAdopted"]


@pytest.mark.parametrize("adopted", [False, True])
async def test_an_invalid_stored_spec_still_deletes_the_endpoint_it_owns(adopted: bool) -> None:
    if adopted:
        world, _ = await adopted_world()
        await world.run()
    else:
        world = await ready_world()
    endpoint_id = world.azure.only().id
    # stored before the CEL rule that refuses it existed: the operator's own validation refuses it
    world.change_spec(customProperties={MARKER: "x"})
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidSpec")
    outcome = await delete(world)
    assert outcome.release
    assert world.azure.endpoints == {}
    assert [e.reason for e in outcome.events] == ["Deleted"]
    assert endpoint_id in outcome.events[0].message


async def test_an_invalid_stored_spec_keeps_what_the_status_knew() -> None:
    world = await ready_world()
    before = dict(world.status)
    world.change_spec(customProperties={MARKER: "x"})
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidSpec")
    kept = {k: v for k, v in world.status.items() if k not in ("conditions", "error", "observedGeneration")}
    assert kept == {k: v for k, v in before.items() if k not in ("conditions", "observedGeneration")}


async def test_an_invalid_stored_spec_whose_target_cannot_be_read_orphans_with_a_warning() -> None:
    world = await ready_world()
    endpoint_id = world.azure.only().id
    world.spec["azure"] = dict(world.spec["azure"], endpoint="https://x.cognitiveservices.azure.com")
    outcome = await delete(world)
    assert outcome.release
    assert endpoint_id in world.azure.endpoints
    (event,) = outcome.events
    assert (event.type, event.reason) == ("Warning", "Orphaned")
    assert "spec.azure" in event.message


# --- refused creates: the create-pending mark ---------------------------------------------------------------


def refusal(kind: str) -> OperatorError:
    return {
        "ModelMismatch": azure_error("ModelMismatch", ErrorClass.FATAL),
        "Unauthorized": azure_error("Unauthorized", ErrorClass.BLOCKED, status=401),
        "TooManyRequests": azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429, retry_after=3),
        "ConnectionFailed": AzureError(
            status=None,
            code="ConnectionFailed",
            message="could not connect",
            error_class=ErrorClass.TRANSIENT,
        ),
        "HostNotAllowed": AzureError(
            status=None, code="HostNotAllowed", message="host not allowed", error_class=ErrorClass.FATAL
        ),
    }[kind]


@pytest.mark.parametrize(
    "kind", ["ModelMismatch", "Unauthorized", "TooManyRequests", "ConnectionFailed", "HostNotAllowed"]
)
async def test_a_refused_create_drops_the_mark_and_deletion_releases_at_once(kind: str) -> None:
    world = World()
    world.azure.fail("create", refusal(kind))
    await world.run()
    assert world.condition("Ready") == ("False", kind)
    assert CREATE_PENDING_ANNOTATION not in world.annotations  # refused for sure: nothing to look up
    world.credentials_error = OperatorError("CredentialsNotFound", "Secret gone", ErrorClass.BLOCKED)
    outcome = await delete(world)
    assert outcome.release  # at once: no wait for credentials, no lookup
    assert not outcome.orphaned_endpoints
    assert outcome.events == ()
    assert "find" not in world.azure.calls


async def test_a_create_whose_outcome_is_unknown_keeps_the_mark() -> None:
    world = World()
    world.azure.fail(
        "create", azure_error("BadGateway", ErrorClass.TRANSIENT, status=502, outcome_unknown=True)
    )
    await world.run()
    assert CREATE_PENDING_ANNOTATION in world.annotations
    await world.run()
    assert world.azure.calls.count("find") == 1


async def test_a_settled_stalled_resource_stops_looking_up_endpoints() -> None:
    world = World(spec=World().spec | {"model": {"baseModelId": GERMAN_MODEL}})
    await world.run()
    assert world.condition("Stalled") == ("True", "ModelMismatch")
    world.annotations[CREATE_PENDING_ANNOTATION] = OLD_MARK  # left by an earlier, unanswered create
    for _ in range(3):
        await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("find") == 1  # the lookup found nothing: the mark is dropped
    assert CREATE_PENDING_ANNOTATION not in world.annotations
    assert world.azure.writes == ["create"]


async def test_a_failing_delete_is_announced_even_after_an_error_of_the_same_code() -> None:
    world = await ready_world()
    world.azure.fail("get", azure_error("InternalServerError", ErrorClass.TRANSIENT, status=500))
    await world.run(Trigger.DRIFT)
    assert world.condition("Ready") == ("False", "InternalServerError")
    world.azure.fail(
        "delete",
        *[
            AzureError(
                status=500,
                code="InternalServerError",
                message="boom",
                error_class=ErrorClass.TRANSIENT,
                request_id=f"req-{n}",
            )
            for n in range(2)
        ],
    )
    outcome = await delete(world, after=10)
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "DeleteFailed")]
    outcome = await delete(world, after=10)  # the same failure again (a new request id): silence
    assert outcome.events == ()


async def test_a_failed_lookup_on_deletion_says_what_failed() -> None:
    world = World()
    world.annotations[CREATE_PENDING_ANNOTATION] = OLD_MARK
    world.azure.fail("find", azure_error("Unauthorized", ErrorClass.BLOCKED, status=401))
    outcome = await delete(world)
    assert not outcome.release
    message = world.status["conditions"][0]["message"]
    assert "None" not in message
    assert "looking up the endpoint a create of this resource may have made" in message
    assert [e.reason for e in outcome.events] == ["DeleteFailed"]


async def test_credentials_gone_with_a_create_of_unknown_outcome_says_where_to_look() -> None:
    world = World()
    world.annotations[CREATE_PENDING_ANNOTATION] = OLD_MARK
    world.credentials_error = OperatorError("CredentialsNotFound", "Secret gone", ErrorClass.BLOCKED)
    outcome = await delete(world, after=601)
    assert outcome.release
    (event,) = outcome.events
    assert event.reason == "OrphanedEndpoint"
    assert f"{MARKER}={UID}" in event.message
    assert "None" not in event.message


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800), ("0", None), ("soon", None)],
)
def test_parse_duration(text: str, seconds: int | None) -> None:
    parsed = reconcile.parse_duration(text)
    assert (parsed.total_seconds() if parsed else None) == seconds


def test_drift_interval_annotation_with_a_floor() -> None:
    default, floor = timedelta(hours=1), timedelta(minutes=1)
    assert reconcile.drift_interval({}, default, floor) == default
    ten_minutes = {reconcile.DRIFT_ANNOTATION: "10m"}
    assert reconcile.drift_interval(ten_minutes, default, floor) == timedelta(minutes=10)
    assert reconcile.drift_interval({reconcile.DRIFT_ANNOTATION: "5s"}, default, floor) == floor
    assert reconcile.drift_interval({reconcile.DRIFT_ANNOTATION: "garbage"}, default, floor) == default


async def test_a_bare_http_status_code_becomes_a_valid_reason() -> None:
    world = World()
    world.azure.fail("create", azure_error("401", ErrorClass.BLOCKED, status=401))
    await world.run()
    assert world.condition("Stalled") == ("True", "Unauthorized")
    assert world.status["error"]["code"] == "Unauthorized"


async def test_removing_or_renaming_the_export_deletes_the_old_config_map() -> None:
    world = await ready_world(exportTo={"configMapName": "first"})
    assert world.status["exportedConfigMap"] == "first"
    world.change_spec(exportTo={"configMapName": "second"})
    await world.run()
    assert set(world.exported) == {"second"}
    assert world.status["exportedConfigMap"] == "second"
    world.change_spec(exportTo=None)
    await world.run()
    assert world.exported == {}
    assert "exportedConfigMap" not in world.status


async def test_an_export_renamed_after_a_failed_redeploy_is_written_while_the_old_model_serves() -> None:
    world = await ready_world(exportTo={"configMapName": "first"})
    world.change_spec(model={"baseModelId": BASE_MODEL_2})
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    assert world.condition("Available")[0] == "True"
    world.change_spec(exportTo={"configMapName": "second"})
    await world.run()
    assert set(world.exported) == {"second"}  # the endpoint serves: applications keep its ConfigMap
    assert world.status["exportedConfigMap"] == "second"


async def test_an_export_renamed_with_a_model_azure_refuses_is_written_despite_the_refusal() -> None:
    world = await ready_world(exportTo={"configMapName": "first"})
    world.azure.fail("update", azure_error("InvalidModel", ErrorClass.FATAL, status=400))
    world.change_spec(exportTo={"configMapName": "second"}, model={"baseModelId": BASE_MODEL_2})
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidModel")
    assert set(world.exported) == {"second"}
    assert world.status["exportedConfigMap"] == "second"


async def test_poll_backoff_starts_over_after_a_write() -> None:
    world = World()
    world.azure.retry_after = None
    outcome = await world.run(attempt=6)  # six throttled tries before this one created the endpoint
    first_poll = reconcile.Timing().deploy_poll_interval.total_seconds()
    assert outcome.retry is not None and outcome.retry.delay <= first_poll
    world.advance(200)
    outcome = await world.run(attempt=7)  # a later poll waits a share of the time waited so far
    assert outcome.retry is not None and outcome.retry.delay > first_poll


async def test_the_first_deployment_poll_follows_the_setting() -> None:
    world = World(timing=reconcile.Timing(deploy_poll_interval=timedelta(seconds=2)))
    world.azure.retry_after = None
    outcome = await world.run()
    assert outcome.retry is not None and 1.0 <= outcome.retry.delay <= 2.0


# --- purity and defaults ---------------------------------------------------------------------------------


def test_timing_defaults_are_the_operator_settings_defaults() -> None:
    from azure_speech_operator.settings import OperatorSettings

    assert reconcile.Timing() == reconcile.Timing.from_settings(OperatorSettings())


def test_the_logic_imports_neither_kopf_nor_kubernetes() -> None:
    import subprocess
    import sys

    code = (
        "import sys, azure_speech_operator.speechendpoint.logic\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kopf', 'kubernetes')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


async def test_a_step_is_reported_only_when_taken() -> None:
    # The handlers log Azure writes from these reports: no "deleting endpoint" line without credentials.
    world = await ready_world()
    world.deletion_timestamp = world.now
    world.credentials_error = OperatorError("CredentialsNotFound", "no Secret", ErrorClass.BLOCKED)
    world.steps.clear()
    await world.run(Trigger.DELETE)
    assert not any(isinstance(step, logic.DeleteEndpoint) for step in world.steps)
    assert world.azure.endpoints


async def failed_world() -> World:
    world = World()
    await world.run()
    world.azure.finish("Failed", EntityError(code="DeploymentFailed", message="boom"))
    await world.run()
    assert world.condition("Stalled") == ("True", "DeploymentFailed")
    return world


@pytest.mark.parametrize("cut_short", ["429 on the read", "429 on the delete", "Secret unreadable"])
async def test_a_replacement_request_cut_short_by_a_passing_error_is_tried_again(cut_short: str) -> None:
    world = await failed_world()
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    throttled = azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429)
    if cut_short == "429 on the read":
        world.azure.fail("get", throttled)
    elif cut_short == "429 on the delete":
        world.azure.fail("delete", throttled)
    else:
        world.credentials_error = OperatorError("CredentialsNotFound", "gone", ErrorClass.BLOCKED)
    outcome = await world.run()
    assert outcome.retry is not None
    assert "reconcileRequestedAt" not in world.status  # not handled yet
    world.credentials_error = None
    world.advance(outcome.retry.delay)
    await world.run()
    assert world.azure.writes[-1] == "delete"  # the Failed endpoint goes, to be replaced
    assert world.status["reconcileRequestedAt"] == "2026-11-21T07:00:00Z"
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.azure.writes.count("create") == 2


async def test_a_request_tried_and_failed_for_good_is_handled() -> None:
    world = await failed_world()
    world.spec["model"] = {"baseModelId": "00000000-0000-4000-8000-00000000dead"}  # unknown: fatal
    world.generation += 1
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.condition("Stalled")[0] == "True"
    assert world.status["reconcileRequestedAt"] == "2026-11-21T07:00:00Z"


async def test_a_passing_error_while_stalled_leaves_the_stalled_message_as_it_was() -> None:
    world = await failed_world()
    shown = [c["message"] for c in world.status["conditions"] if c["type"] == "Stalled"]
    writes = world.status_writes
    world.azure.fail("get", azure_error("TooManyRequests", ErrorClass.TRANSIENT, status=429))
    await world.run(Trigger.DRIFT)
    await world.run(Trigger.DRIFT)
    assert [c["message"] for c in world.status["conditions"] if c["type"] == "Stalled"] == shown
    assert world.status_writes == writes


async def test_a_model_read_that_fails_is_not_repeated_on_every_poll() -> None:
    world = World()
    world.azure.fail("get_model", *[azure_error("NotFound", ErrorClass.NOT_FOUND, status=404)] * 20)
    await world.run()
    for _ in range(6):  # a deployment polled every 30 s, then drift checks
        world.advance(30)
        await world.run()
    await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("get_model") == 1
    assert world.status["model"]["readFailedAt"]
    assert world.condition("ModelExpiring") == ("Unknown", "ModelNotChecked")
    assert "reading the model failed" in next(
        c["message"] for c in world.status["conditions"] if c["type"] == "ModelExpiring"
    )
    world.advance(world.timing.model_check_interval.total_seconds() / 48)
    world.azure.failures.clear()
    await world.run(Trigger.DRIFT)
    assert world.azure.calls.count("get_model") == 2
    assert "readFailedAt" not in world.status["model"] and world.status["model"]["checkedAt"]


def test_every_azure_write_step_of_both_kinds_is_known_to_the_request_rule() -> None:
    from azure_speech_operator.voiceendpoint import logic as voice

    writes = ("Create", "Update", "Delete", "Suspend", "Resume")
    for kind, planner in ((logic, logic._Reconcile), (voice, voice._Voice)):
        # the kind's step classes that write in Azure, by their verb
        named = {
            value
            for name, value in vars(kind).items()
            if isinstance(value, type) and name.endswith("Endpoint") and name.startswith(writes)
        }
        assert named and set(planner.write_steps) == named, kind.__name__


async def test_a_replacement_request_made_while_an_annotation_is_invalid_waits_for_its_fix() -> None:
    world = await failed_world()
    world.annotations[reconcile.DRIFT_ANNOTATION] = "1 hour"
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.condition("Stalled") == ("True", "InvalidAnnotation")
    assert "reconcileRequestedAt" not in world.status  # nothing was tried
    world.annotations[reconcile.DRIFT_ANNOTATION] = "1h"
    await world.run()
    assert world.azure.writes[-1] == "delete"  # the Failed endpoint goes, to be replaced
    assert world.status["reconcileRequestedAt"] == "2026-11-21T07:00:00Z"


async def test_a_request_whose_create_azure_refuses_for_good_is_handled() -> None:
    # a quota (blocked) refusing the create: the request's one try happened
    world = World()
    quota = azure_error("QuotaViolation", ErrorClass.BLOCKED, status=400)
    world.azure.fail("create", *[quota] * 5)
    await world.run()
    assert world.condition("Stalled")[0] == "True"
    world.annotations[REQUESTED_ANNOTATION] = "2026-11-21T07:00:00Z"
    await world.run()
    assert world.azure.calls.count("create") == 2
    assert world.status["reconcileRequestedAt"] == "2026-11-21T07:00:00Z"


async def test_a_create_sent_again_by_the_same_process_gets_a_fresh_mark() -> None:
    # its first create's answer lost and nothing made; minutes later it looks up, finds nothing and creates
    # again: under a mark of that moment, so that a replica taking over waits for this create
    world = World()
    world.azure.lose_create_answer = True
    await world.run()
    world.azure.endpoints.clear()
    world.advance(300)
    world.azure.lose_create_answer = True
    await world.run()
    assert world.azure.calls[:3] == ["create", "find", "create"]
    assert world.annotations[CREATE_PENDING_ANNOTATION] == f"{world.now.isoformat()} {world.process}"


async def test_after_a_restart_the_model_conditions_still_change_at_their_moments() -> None:
    # a settled resource is not read at a start (no burst), but its model's wake-ups are set again, and a
    # moment that passed while no operator ran is looked at at once, whatever the drift interval
    world = await ready_world(model={"baseModelId": EXPIRING_MODEL})
    world.annotations[reconcile.DRIFT_ANNOTATION] = "2d"
    expires = T0 + timedelta(days=10)
    calls = len(world.azure.calls)
    world.advance(3600)
    outcome = await world.run(Trigger.RESUME)
    assert len(world.azure.calls) == calls  # settled: nothing read
    checked = reconcile.parse_time(world.status["model"]["checkedAt"])
    assert outcome.wake_at == checked + world.timing.model_check_interval
    world.now = world.azure.now = expires + timedelta(minutes=1)  # expired while the operator was down
    await world.run(Trigger.RESUME)
    assert world.condition("ModelExpired") == ("True", "ModelExpired")
    assert "ModelExpired" in world.event_reasons()


@pytest.mark.parametrize("mark", ["2026-11-21T05:59:00", "2026-11-21", "garbage"])
async def test_a_create_pending_mark_edited_by_hand_is_looked_up_at_once(mark: str) -> None:
    # not a time the operator wrote (no offset, not a time): never a crash, never a wait
    world = World(annotations={CREATE_PENDING_ANNOTATION: mark})
    await world.run()
    assert world.azure.calls[:2] == ["find", "create"]
    world = World(annotations={CREATE_PENDING_ANNOTATION: mark})
    outcome = await delete(world)
    assert outcome.release


async def test_the_model_conditions_are_looked_at_when_the_clock_changes_them() -> None:
    # the date is in the status: ModelExpiring and ModelExpired turn True at their moments, not at a drift
    # check up to an interval later; the model's read is due after --model-check-interval
    world = await ready_world(model={"baseModelId": EXPIRING_MODEL})
    expires = T0 + timedelta(days=10)
    outcome = await world.run(Trigger.DRIFT)
    assert outcome.wake_at == world.now + world.timing.model_check_interval  # the next read, before expiry
    world.now = expires - timedelta(hours=2)
    world.annotations[reconcile.DRIFT_ANNOTATION] = "2d"
    outcome = await world.run(Trigger.DRIFT)
    assert outcome.wake_at == expires
    world.now = expires
    await world.run(Trigger.DRIFT)
    assert world.condition("ModelExpired") == ("True", "ModelExpired")
