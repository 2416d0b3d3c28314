"""Every (Azure state of the serving endpoint, wish, model change, reconcile policy) combination for a
VoiceEndpoint whose endpoint was created and served: the steps one pass takes in Azure and the row of the
truth table it shows (conditions.py), as tests/unit/test_speech_matrix.py does for SpeechEndpoint."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from azure_speech_operator import reconcile

from .test_voice_fakes import World
from .test_voice_logic import FIRST, SECOND

STATES = ["absent", "NotStarted", "Running", "Succeeded", "Failed", "Disabling", "Disabled"]
WISHES = ["running", "suspended"]
MODELS = ["same-model", "new-model"]
POLICIES = ["manage", "skip"]
BUSY = ("NotStarted", "Running")


async def prepared(state: str, wish: str, model: str, policy: str) -> World:
    """A resource whose endpoint FIRST was deployed and served, then put in `state` behind its back, with
    `wish` and `model` in its spec and `policy` in its annotations."""
    world = World()
    await world.settle()
    if state == "absent":
        del world.azure.endpoints[FIRST]
    else:
        endpoint = world.azure.endpoints[FIRST]
        world.azure.endpoints[FIRST] = endpoint.model_copy(update={"status": state})
    if wish == "suspended":
        world.change_spec(suspended=True)
    if model == "new-model":
        world.change_spec(modelId="Jessica2")
    world.annotations[reconcile.POLICY_ANNOTATION] = policy
    world.azure.calls.clear()
    return world


@dataclass(frozen=True)
class Row:
    steps: list[str]  # Azure writes: create (a new serving endpoint), candidate (a swap's new endpoint),
    # suspend, resume, delete
    ready: str  # "Ready" (True) or the reason of Ready False
    active: str  # which of Reconciling and Stalled is True, or "neither"
    azure_status: str | None  # status.azureStatus after the pass (None: no endpoint shown)
    suspended: bool = False


def expected(state: str, wish: str, model: str, policy: str) -> Row:
    suspend, new_model, manage = wish == "suspended", model == "new-model", policy == "manage"
    if state == "absent":
        if not manage:
            return Row([], "EndpointNotFound", "Stalled", None)
        return Row(["create"], "Deploying", "Reconciling", "NotStarted")  # recreated, with the spec's model
    if state == "Failed":
        # it served (the status showed it Succeeded): kept, never deleted to free its slot
        if new_model and not manage:
            return Row([], "ReconcileSkipped", "Stalled", "Failed")
        if new_model:  # a swap deploys the new model; the Failed one goes once it runs
            return Row(["candidate"], "Redeploying", "Reconciling", "Failed")
        return Row([], "EndpointFailed", "Stalled", "Failed")
    # A swap's new endpoint deploys while the old one stays as it is (no suspend or resume meanwhile).
    steps = ["candidate"] if new_model and manage else []
    if state in BUSY:  # Azure deploys the endpoint: nothing but the swap until it is done
        return Row(steps, "Deploying", "Reconciling", state)
    if state == "Disabling":  # on its way to Disabled, whatever the wish
        return Row(steps, "Suspending", "Reconciling", state)
    if new_model:
        if not manage:  # while Stalled, Suspended says what this pass read
            return Row([], "ReconcileSkipped", "Stalled", state, suspended=suspend and state == "Disabled")
        # a suspended endpoint stays disabled, as asked, while the new one deploys beside it
        return Row(steps, "Redeploying", "Reconciling", state, suspended=suspend and state == "Disabled")
    if (state == "Disabled") == suspend:  # as asked
        return Row([], "Ready", "neither", state, suspended=suspend)
    if not manage:
        return Row([], "ReconcileSkipped", "Stalled", state)
    if suspend:
        return Row(["suspend"], "Suspending", "Reconciling", "Disabling")
    return Row(["resume"], "Resuming", "Reconciling", "Running")


def taken(world: World) -> list[str]:
    """The pass's Azure writes by name; a create that left FIRST serving is a swap's candidate."""
    steps = []
    for operation, endpoint_id in world.azure.writes():
        assert endpoint_id in (FIRST, SECOND), endpoint_id
        candidate = operation == "create" and world.status.get("endpointId") == FIRST
        steps.append("candidate" if candidate else operation)
    return steps


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("wish", WISHES)
@pytest.mark.parametrize("state", STATES)
async def test_state_wish_model_policy(state: str, wish: str, model: str, policy: str) -> None:
    world = await prepared(state, wish, model, policy)
    await world.run(reconcile.Trigger.DRIFT)
    row = expected(state, wish, model, policy)
    assert taken(world) == row.steps
    world.assert_row(row.ready, row.active)
    assert world.status.get("azureStatus") == row.azure_status
    # Available: the serving endpoint answers, which only a Succeeded one does (none when it is gone).
    assert world.condition("Available")[0] == ("True" if row.azure_status == "Succeeded" else "False")
    assert world.condition("Suspended") == (
        ("True", "Suspended") if row.suspended else ("False", "NotSuspended")
    )
    if "candidate" in row.steps:
        assert world.status["newEndpoint"] == {"id": SECOND, "azureStatus": "NotStarted"}
    else:
        assert "newEndpoint" not in world.status
