"""Every (Azure state, spec difference, reconcile policy) combination for a resource whose endpoint was
created: the action taken and the row of the truth table shown."""

from __future__ import annotations

from typing import Any

import pytest
from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import EntityError, ModelRef
from azure_speech_operator.runtime.writer import status_patch
from azure_speech_operator.speechendpoint import logic
from azure_speech_operator.speechendpoint.handlers import SPEECH

from .test_speech_fakes import BASE_MODEL, BASE_MODEL_2, World, base_spec

AZURE_STATES = ["absent", "NotStarted", "Running", "Succeeded", "Failed"]
DIFFERENCES = ["none", "model", "displayName"]
POLICIES = ["manage", "skip"]


async def prepared(state: str, difference: str, policy: str) -> World:
    """A resource whose endpoint exists (Succeeded, serving BASE_MODEL), then put in `state`."""
    world = World()
    await world.run()
    world.azure.finish()
    await world.run()
    endpoint = world.azure.only()
    if state == "absent":
        world.azure.endpoints.clear()
    else:
        error = EntityError(code="InternalError", message="boom") if state == "Failed" else None
        world.azure.endpoints[endpoint.id] = endpoint.model_copy(update={"status": state, "error": error})
    if difference == "model":
        world.change_spec(model={"baseModelId": BASE_MODEL_2})
    elif difference == "displayName":
        world.change_spec(displayName="another name")
    world.annotations[reconcile.POLICY_ANNOTATION] = policy
    world.azure.calls.clear()
    return world


def expected(state: str, difference: str, policy: str) -> tuple[list[str], str, str]:
    """(Azure writes, Ready reason, which of Reconciling/Stalled is True or 'neither')."""
    if policy == "skip":
        if state == "absent":
            return [], "EndpointNotFound", "Stalled"
        if state in ("NotStarted", "Running"):
            return [], "Updating", "Reconciling"  # Azure works on the endpoint; its model still serves
        if state == "Failed":
            return [], "InternalError", "Stalled"
        return ([], "Ready", "neither") if difference == "none" else ([], "ReconcileSkipped", "Stalled")
    if state == "absent":
        return ["create"], "Deploying", "Reconciling"
    if state in ("NotStarted", "Running"):
        return [], "Updating", "Reconciling"  # nothing is PATCHed while Azure works
    if state == "Failed":
        if difference == "model":
            return ["update"], "Redeploying", "Reconciling"
        return [], "InternalError", "Stalled"
    if difference == "none":
        return [], "Ready", "neither"
    if difference == "model":
        return ["update"], "Redeploying", "Reconciling"
    return ["update"], "Ready", "neither"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("difference", DIFFERENCES)
@pytest.mark.parametrize("state", AZURE_STATES)
async def test_state_difference_policy(state: str, difference: str, policy: str) -> None:
    world = await prepared(state, difference, policy)
    await world.run(reconcile.Trigger.DRIFT)
    writes, reason, true_one = expected(state, difference, policy)
    assert world.azure.writes == writes
    world.assert_row(reason, true_one)
    # Available (True before the pass): gone from Azure, nothing serves, whatever the policy (a recreated
    # endpoint serves nothing yet); otherwise the model deployed before keeps serving, also while Azure works
    # on the endpoint or after a failed redeploy (docs/speechendpoint.md).
    assert world.condition("Available")[0] == ("False" if state == "absent" else "True")


def test_status_patch_sets_changes_and_nulls_removed_keys() -> None:
    previous: dict[str, Any] = {"a": 1, "error": {"code": "X"}, "same": [1]}
    new: dict[str, Any] = {"a": 2, "same": [1], "b": "new"}
    assert status_patch(previous, new) == {"a": 2, "b": "new", "error": None}
    assert status_patch(new, new) == {}
    nested_old = {
        "model": {"id": "a", "transcriptionExpiresAt": "t"},
        "links": {"logs": "l", "webSocket": "w"},
    }
    nested_new = {"model": {"id": "b"}, "links": {"webSocket": "w"}}
    assert status_patch(nested_old, nested_new) == {
        "model": {"id": "b", "transcriptionExpiresAt": None},
        "links": {"logs": None},
    }


def test_build_resource_reads_metadata_and_reports_a_bad_spec() -> None:
    obj = {
        "metadata": {
            "name": "x",
            "namespace": "ns",
            "uid": "u",
            "generation": 4,
            "annotations": {"a": "b"},
            "finalizers": ["speech.azure-operator.io/finalizer"],
            "deletionTimestamp": "2026-11-21T06:00:00Z",
        },
        "spec": {"locale": "en-US"},
        "status": {"observedGeneration": 3},
    }
    resource = SPEECH.build_resource(obj)
    assert resource.generation == 4 and resource.has_finalizer and resource.deleting
    assert resource.spec is None and resource.spec_error is not None and "spec.azure" in resource.spec_error
    assert resource.status == {"observedGeneration": 3}


def test_build_resource_keeps_what_deletion_needs_from_an_invalid_spec() -> None:
    spec = base_spec(customProperties={"azure-speech-operator-uid": "x"}, endpointId=BASE_MODEL)
    obj = {"metadata": {"name": "x", "namespace": "ns", "uid": "u"}, "spec": spec}
    resource = SPEECH.build_resource(obj)
    assert resource.spec is None and resource.spec_error is not None
    assert resource.deletion_spec is not None
    assert resource.deletion_spec.azure.target().base_url == "https://westeurope.api.cognitive.microsoft.com"
    assert resource.deletion_spec.adopted_endpoint_id == BASE_MODEL


def test_model_refs_compare_case_insensitively() -> None:
    world = World()
    spec = world.resource().spec
    assert spec is not None
    endpoint = logic.SpeechEndpoint(
        id="e",
        self_url="u",
        display_name="call-center-en",
        locale="en-US",
        model=ModelRef(id=BASE_MODEL.upper(), kind="base"),
        status="Succeeded",
        custom_properties={logic.MARKER_KEY: world.resource().uid},
    )
    _, fields = logic.compute_changes(world.resource(), endpoint, created_by_operator=True)
    assert fields == ()


def test_bookkeeping_annotations_live_under_kopfs_storage_prefix() -> None:
    """kopf leaves annotations under its storage prefix out of its diff: the operator's own marks there never
    trigger a handler, while the user-facing ones (another prefix) do."""
    from azure_speech_operator import runner
    from azure_speech_operator.settings import OperatorSettings

    persistence = runner.build_kopf_settings(OperatorSettings()).persistence
    storages = (persistence.progress_storage, persistence.diffbase_storage)
    assert {getattr(storage, "prefix", None) for storage in storages} == {reconcile.KOPF_PREFIX}
    assert reconcile.CREATE_PENDING_ANNOTATION.startswith(reconcile.KOPF_PREFIX + "/")
    assert reconcile.ENDPOINT_ID_ANNOTATION.startswith(reconcile.KOPF_PREFIX + "/")
    for user in (reconcile.POLICY_ANNOTATION, reconcile.REQUESTED_ANNOTATION, reconcile.DRIFT_ANNOTATION):
        assert user.startswith(reconcile.USER_PREFIX + "/")
        assert not user.startswith(reconcile.KOPF_PREFIX)
