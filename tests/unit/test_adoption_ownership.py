"""Which adopted endpoint (spec.endpointId) a resource owns, for both kinds: the one a pass read and took over
(the ADOPTED_ANNOTATION it wrote), never one it refused or never read, whatever errors came after and whatever
the status names. Deletion deletes only an owned endpoint; others are left with a `NotAdopted` event. Also:
an exportTo removed or renamed drops the old ConfigMap while no endpoint can be read (gone, no Secret)."""

from __future__ import annotations

from typing import Any

import pytest
from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.reconcile import (
    ADOPTED_ANNOTATION,
    CREATE_PENDING_ANNOTATION,
    POLICY_ANNOTATION,
    Trigger,
)

from tests.unit import test_voice_fakes as voice
from tests.unit.test_speech_fakes import World
from tests.unit.test_speech_fakes import azure_error as speech_error
from tests.unit.test_speech_logic import adopted_world, delete, foreign_endpoint

MISSING = OperatorError("CredentialsNotFound", "Secret 'creds' not found", ErrorClass.BLOCKED)


@pytest.mark.parametrize("then", ["throttled", "credentials-missing", "invalid-policy"])
async def test_a_speech_endpoint_refused_for_its_locale_stays_theirs_after_any_error(then: str) -> None:
    world, theirs = await adopted_world("de-DE")
    await world.run()
    assert world.condition("Stalled") == ("True", "LocaleMismatch")
    assert ADOPTED_ANNOTATION not in world.annotations
    assert "Adopted" not in world.event_reasons()
    if then == "throttled":
        world.azure.fail("get", speech_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    elif then == "credentials-missing":
        world.credentials_error = MISSING
    else:
        world.annotations[POLICY_ANNOTATION] = "yolo"
    await world.run(Trigger.DRIFT)
    if then == "invalid-policy":
        assert world.condition("Stalled") == ("True", "InvalidAnnotation")  # the refusal's reason is gone
        del world.annotations[POLICY_ANNOTATION]
    world.credentials_error = None
    outcome = await delete(world)
    assert theirs in world.azure.endpoints and outcome.release
    assert not outcome.orphaned_endpoints
    assert "NotAdopted" in world.event_reasons() and "Deleted" not in world.event_reasons()


async def test_a_speech_endpoint_taken_over_is_noted_once_and_deleted_with_the_resource() -> None:
    world, theirs = await adopted_world()
    await world.settle()
    assert world.annotations[ADOPTED_ANNOTATION] == theirs.lower()
    assert world.event_reasons().count("Adopted") == 1
    world.azure.fail("get", speech_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    await world.run(Trigger.DRIFT)  # an error after the takeover changes nothing
    await delete(world)
    assert theirs not in world.azure.endpoints and "Deleted" in world.event_reasons()


async def test_a_speech_endpoint_taken_over_by_an_older_version_stays_the_resources() -> None:
    world, theirs = await adopted_world()
    await world.settle()
    del world.annotations[ADOPTED_ANNOTATION]  # written by no version before this one
    await delete(world)
    assert theirs not in world.azure.endpoints


async def test_a_speech_endpoint_taken_over_stays_the_resources_after_a_later_locale_mismatch() -> None:
    # ownership rests on the take-over record, never on the error shown at deletion
    world, theirs = await adopted_world()
    await world.settle()
    assert world.annotations[ADOPTED_ANNOTATION] == theirs.lower()
    world.change_spec(locale="de-DE")  # a stored spec that skipped the CEL rule (locale is immutable)
    await world.run()
    assert world.condition("Stalled") == ("True", "LocaleMismatch")
    outcome = await delete(world)
    assert outcome.release and theirs not in world.azure.endpoints
    assert "Deleted" in world.event_reasons() and "NotAdopted" not in world.event_reasons()


def voice_adopting(model: str = "Jessica") -> voice.World:
    world = voice.World()
    world.azure.endpoints[voice.ADOPTED] = voice.adopted_endpoint(world.now)
    world.spec.update(endpointId=voice.ADOPTED, modelId=model)
    return world


async def voice_delete(world: voice.World) -> None:
    world.credentials_error = None
    world.deletion_timestamp = world.now
    await world.run(Trigger.DELETE)


@pytest.mark.parametrize("first", ["refused", "credentials-missing", "throttled"])
async def test_a_voice_endpoint_refused_or_never_read_stays_theirs(first: str) -> None:
    world = voice_adopting("Jessica2" if first == "refused" else "Jessica")
    if first == "credentials-missing":
        world.credentials_error = MISSING
    elif first == "throttled":
        world.azure.fail("get", voice.azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
    await world.run()
    if first == "refused":
        assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
        world.azure.fail("get", voice.azure_error("TooManyRequests", ErrorClass.TRANSIENT, 429))
        await world.run(Trigger.DRIFT)
    else:
        assert "endpointId" not in world.status  # never read: not shown as the resource's
    assert ADOPTED_ANNOTATION not in world.annotations
    await voice_delete(world)
    assert voice.ADOPTED in world.azure.endpoints
    assert "NotAdopted" in world.event_reasons() and "Adopted" not in world.event_reasons()


async def test_a_voice_endpoint_taken_over_is_deleted_with_the_resource() -> None:
    world = voice_adopting()
    await world.settle()
    assert world.annotations[ADOPTED_ANNOTATION] == voice.ADOPTED
    assert world.event_reasons().count("Adopted") == 1
    await voice_delete(world)
    assert voice.ADOPTED not in world.azure.endpoints


@pytest.mark.parametrize("named", ["adopted", "its-own"])
async def test_a_voice_endpoint_taken_over_stays_the_resources_after_a_later_mismatch(named: str) -> None:
    # spec.endpointId names an endpoint made outside, or (set later) the one the operator created; after
    # the take-over a new modelId is refused (AdoptedEndpointMismatch): deletion still deletes it
    world = voice_adopting() if named == "adopted" else voice.World()
    await world.settle()
    endpoint_id = voice.ADOPTED if named == "adopted" else world.status["endpointId"]
    if named == "its-own":
        world.change_spec(endpointId=endpoint_id)
        await world.settle()
    assert world.annotations[ADOPTED_ANNOTATION] == endpoint_id
    world.change_spec(modelId="Jessica2")
    await world.run()
    assert world.condition("Stalled") == ("True", "AdoptedEndpointMismatch")
    await voice_delete(world)
    assert world.released and endpoint_id not in world.azure.endpoints
    assert "NotAdopted" not in world.event_reasons()


async def test_exportto_removed_while_the_adopted_speech_endpoint_is_gone_drops_the_config_map() -> None:
    world, theirs = await adopted_world()
    world.change_spec(exportTo={"configMapName": "cm"})
    await world.run()
    assert "cm" in world.exported and world.status["exportedConfigMap"] == "cm"
    del world.azure.endpoints[theirs]
    await world.run(Trigger.DRIFT)
    assert world.condition("Stalled") == ("True", "AdoptedEndpointNotFound")
    world.change_spec(exportTo=None)
    await world.run()
    assert "cm" not in world.exported and "exportedConfigMap" not in world.status


async def test_exportto_renamed_while_voice_credentials_are_missing_drops_the_old_config_map() -> None:
    world = voice.World()
    world.spec["exportTo"] = {"configMapName": "old"}
    await world.settle()
    assert "old" in world.exported
    world.credentials_error = MISSING
    world.change_spec(exportTo={"configMapName": "new"})
    await world.run()
    assert "old" not in world.exported and "exportedConfigMap" not in world.status
    assert world.condition("Stalled") == ("True", "CredentialsNotFound")


@pytest.mark.parametrize("delete_at_once", [False, True])
async def test_a_create_of_unknown_outcome_before_an_endpoint_id_is_found_and_deleted_with_the_resource(
    delete_at_once: bool,
) -> None:
    # the create's answer was lost, then the user set spec.endpointId: the endpoint the create made is the
    # resource's (EndpointIdConflict beside the adopted one), never leaked; the adopted one is left
    world = World()
    theirs = await foreign_endpoint(world)
    world.azure.lose_create_answer = True
    await world.run()
    assert CREATE_PENDING_ANNOTATION in world.annotations
    assert len(world.azure.endpoints) == 2  # theirs and the one the lost create made
    world.azure.finish()
    world.change_spec(endpointId=theirs)
    if not delete_at_once:
        await world.run()
        assert world.condition("Stalled") == ("True", "EndpointIdConflict")
        assert CREATE_PENDING_ANNOTATION not in world.annotations
    outcome = await delete(world)
    assert outcome.release and not outcome.orphaned_endpoints
    assert set(world.azure.endpoints) == {theirs}
    assert "NotAdopted" in world.event_reasons()


async def test_a_create_found_missing_before_an_endpoint_id_lets_the_next_pass_adopt() -> None:
    world = World()
    theirs = await foreign_endpoint(world)
    world.azure.finish()
    world.annotations[CREATE_PENDING_ANNOTATION] = "2026-11-21T05:00:00+00:00"  # a create that never landed
    world.change_spec(endpointId=theirs)
    outcome = await world.run()
    assert CREATE_PENDING_ANNOTATION not in world.annotations
    assert outcome.retry is not None and outcome.retry.delay <= 1
    await world.settle()
    assert world.condition("Ready") == ("True", "Ready")
    assert world.annotations[ADOPTED_ANNOTATION] == theirs.lower()


@pytest.mark.parametrize("kind", ["speech", "voice"])
async def test_a_failed_delete_of_the_old_config_map_is_reported_and_retried(kind: str) -> None:
    world: Any = (await adopted_world())[0] if kind == "speech" else voice.World()
    world.change_spec(exportTo={"configMapName": "old"})
    await world.settle()
    assert "old" in world.exported
    world.export_error = OperatorError(
        "KubernetesApiError", "deleting ConfigMap 'old': 503", ErrorClass.TRANSIENT
    )
    world.change_spec(exportTo=None)
    outcome = await world.run()  # once, then the error ends the pass: no loop of deletes
    assert world.status["error"]["code"] == "KubernetesApiError"
    assert outcome.retry is not None and "old" in world.exported
    world.export_error = None
    world.advance(outcome.retry.delay)
    await world.run()
    assert "old" not in world.exported and "exportedConfigMap" not in world.status


async def test_a_failed_adopted_voice_endpoint_is_taken_over_and_deleted_with_the_resource() -> None:
    world = voice_adopting()
    endpoint = world.azure.endpoints[voice.ADOPTED]
    world.azure.endpoints[voice.ADOPTED] = endpoint.model_copy(update={"status": "Failed"})
    await world.run()
    assert world.condition("Stalled")[0] == "True"
    assert world.annotations[ADOPTED_ANNOTATION] == voice.ADOPTED
    await voice_delete(world)
    assert voice.ADOPTED not in world.azure.endpoints


async def test_an_adopted_voice_endpoint_taken_over_is_deleted_with_the_resource_after_a_status_loss() -> (
    None
):
    # the adoption is on record (adopted-endpoint-id); a restore without status must not hide it
    world = voice_adopting()
    await world.settle()
    assert world.annotations[ADOPTED_ANNOTATION] == voice.ADOPTED
    world.status = {}
    await voice_delete(world)
    assert voice.ADOPTED not in world.azure.endpoints
    assert "NotAdopted" not in world.event_reasons()
