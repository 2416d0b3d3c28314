"""The VoiceEndpoint reconcile logic: one pure, level-based decision function (see speechendpoint/logic.py
for how the runtime interprets it; the rules shared by both kinds are in reconcile.py and planner.py).

Azure cannot change a voice endpoint: a new model or project is a blue/green swap. The resource's endpoints
are named by deterministic ids (its uid and a sequence number), kept in bookkeeping annotations written
before each Azure write, so a crash or a lost answer never makes a second endpoint and never loses one:

- `endpoint-id`: the endpoint that serves (status.endpointId);
- `voice-candidate`: the endpoint being deployed to replace it (or to be the first one), written before
  its PUT (a PUT at an existing id answers the existing endpoint, so a retry is safe);
- `voice-sequence`: the last sequence number used (an id is never used for a second create);
- `voice-previous`: after a swap, the old endpoint, when it is deleted and when the swap was
  (`<id> <deleteAfter> <swappedAt>`; a restore that lost the annotations reads status.previousEndpoint
  instead);
- `voice-discarding`: a failed or no longer wanted endpoint about to be deleted (JSON: its id, status,
  project and model), written in place of its `endpoint-id` or `voice-candidate` before the DELETE, so a
  DELETE whose answer is lost (a 5xx, a timeout, a crash) is sent again and ends as if it had arrived:
  never a create at that id again, never a false "endpoint gone" recreate;
- `voice-kept-failed`: an endpoint that served and then turned Failed (a suspend or resume Azure failed):
  kept, never deleted to free its slot, whatever the status says later;
- `voice-upkeep-refused`: the upkeep step (suspend, resume, a delete) Azure refused with a fatal error: while
  the resource stays Stalled on it, no upkeep is sent again (it would be refused again), until a spec
  change or a reconcile request lifts the stall.

A candidate replaces the serving endpoint only once it is Succeeded; the old one is deleted after the
grace period, counted from the swap with the spec's grace as it is now (at once while the wish is to be
suspended: it serves nothing). The wish to be suspended comes from
`spec.suspended`, else the schedule (schedule.py), else running; suspend is sent only from Succeeded and
resume only from Disabled, so flips in between wait and end in the last wish.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from azure_speech_operator.azure.config import DEFAULT_REGION_URL, regional_base_url
from azure_speech_operator.azure.types import (
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    ErrorClass,
    Operation,
    OperatorError,
    VoiceEndpoint,
    VoiceEndpointCreate,
)
from azure_speech_operator.azure.voice import (
    OPERATION_STATUS,
    deterministic_endpoint_id,
    deterministic_operation_id,
)
from azure_speech_operator.conditions import (
    READY,
    RECONCILING,
    SUSPENDED,
    Condition,
    Health,
    Phase,
    find_condition,
    format_time,
    truth_table,
)
from azure_speech_operator.planner import (
    Deletion,
    Planner,
    deploying,
    plan_deletion,
)
from azure_speech_operator.reconcile import (
    ENDPOINT_ID_ANNOTATION,
    KOPF_PREFIX,
    DeleteEndpoint,
    Event,
    Export,
    GetEndpoint,
    Note,
    ObservedBase,
    Outcome,
    Pass,
    Policy,
    Retry,
    SpecResource,
    Trigger,
    Unexport,
    create_refused,
    parse_time,
)
from azure_speech_operator.reconcile import poll_delay as reconcile_poll_delay
from azure_speech_operator.reconcile import recorded_endpoints as shared_recorded_endpoints
from azure_speech_operator.voiceendpoint import schedule
from azure_speech_operator.voiceendpoint.spec import (
    VoiceDeletionSpec,
    VoiceEndpointSpec,
)

CANDIDATE_ANNOTATION = f"{KOPF_PREFIX}/voice-candidate"
SEQUENCE_ANNOTATION = f"{KOPF_PREFIX}/voice-sequence"
PREVIOUS_ANNOTATION = f"{KOPF_PREFIX}/voice-previous"
DISCARD_ANNOTATION = f"{KOPF_PREFIX}/voice-discarding"
KEPT_ANNOTATION = f"{KOPF_PREFIX}/voice-kept-failed"
UPKEEP_REFUSED_ANNOTATION = f"{KOPF_PREFIX}/voice-upkeep-refused"

DISABLED = "Disabled"
DISABLING = "Disabling"
BUSY_STATUSES = (*IN_PROGRESS, DISABLING)
# the state each action of an operation ends in when it succeeds
ENDED_BY = {"create": SUCCEEDED, "resume": SUCCEEDED, "suspend": DISABLED}

DEPLOYMENT_FAILED = "DeploymentFailed"
# A Failed endpoint that had served (kept, never deleted to free its slot)
ENDPOINT_FAILED = "EndpointFailed"
# the states of an endpoint that has been deployed: one seen in them before it failed has served
SERVED_STATUSES = (SUCCEEDED, DISABLING, DISABLED)
RESUME_FAILED = "ResumeFailed"
# The synthesis URL applications call with the endpoint id as deploymentId.
SYNTHESIS_PATH = "/cognitiveservices/v1"


# ---------------------------------------------------------------------------------------------------------
# Inputs


# The VoiceEndpoint as read at the start of the pass.
Resource = SpecResource[VoiceEndpointSpec, VoiceDeletionSpec]


@dataclass(frozen=True)
class Observed(ObservedBase):
    """What the pass has seen and done so far."""

    endpoints: tuple[tuple[str, VoiceEndpoint | None], ...] = ()  # (id, endpoint or None: not in Azure)
    created: str | None = None  # the endpoint created in this pass
    acted: str | None = None  # "suspend" or "resume", sent in this pass
    started: tuple[str, str] | None = None  # (endpoint id, Operation-Id) of the action sent in this pass
    deleted: tuple[tuple[str, bool], ...] = ()  # (id, whether it existed)
    # (Operation-Id, the operation or None: Azure no longer knows it), read at its Operation-Location
    operation: tuple[str, Operation | None] | None = None

    def seen(self, endpoint_id: str) -> bool:
        return any(e == endpoint_id for e, _ in self.endpoints)

    def endpoint(self, endpoint_id: str | None) -> VoiceEndpoint | None:
        for e, found in reversed(self.endpoints):
            if e == endpoint_id:
                return found
        return None

    @property
    def wrote(self) -> bool:
        return self.created is not None or self.acted is not None or bool(self.deleted)


# ---------------------------------------------------------------------------------------------------------
# Steps in Azure (steps.py performs them)


@dataclass(frozen=True)
class CreateEndpoint:
    endpoint_id: str
    body: VoiceEndpointCreate
    operation_id: str


@dataclass(frozen=True)
class GetOperation:
    """Read the operation an earlier pass started, at its Operation-Location (rebuilt on the configured
    host from the Operation-Id)."""

    operation_id: str


@dataclass(frozen=True)
class SuspendEndpoint:
    endpoint_id: str
    operation_id: str


@dataclass(frozen=True)
class ResumeEndpoint:
    endpoint_id: str
    operation_id: str


AzureStep = GetEndpoint | GetOperation | CreateEndpoint | SuspendEndpoint | ResumeEndpoint | DeleteEndpoint
# the writes that keep an endpoint up to its wish and clean up after it, not the deployment of one
UPKEEP_STEPS = (SuspendEndpoint.__name__, ResumeEndpoint.__name__, DeleteEndpoint.__name__)
Step = AzureStep | Note | Export | Unexport
Plan = Step | Outcome


# ---------------------------------------------------------------------------------------------------------
# Helpers


def matches(spec: VoiceEndpointSpec, endpoint: VoiceEndpoint) -> bool:
    """Whether the endpoint serves the spec's voice (project and model; Azure ids are case-insensitive)."""
    return (endpoint.project_id or "").lower() == spec.project_id.lower() and (
        endpoint.model_id or ""
    ).lower() == spec.model_id.lower()


def create_body(resource: Resource) -> VoiceEndpointCreate:
    spec = resource.spec
    assert spec is not None
    return VoiceEndpointCreate(
        display_name=spec.display_name or resource.name,
        description=spec.description,
        project_id=spec.project_id,
        model_id=spec.model_id,
        kind=spec.kind,
    )


def sequence_of(uid: str, endpoint_id: str, limit: int = 1000) -> int | None:
    """The sequence number an endpoint id of this resource was made from, if it is one of them."""
    for sequence in range(limit):
        if deterministic_endpoint_id(uid, sequence) == endpoint_id:
            return sequence
    return None


def action_operation_id(endpoint: VoiceEndpoint, action: str) -> str:
    """The same suspend or resume of the same endpoint state always has the same Operation-Id (a retry
    after a lost answer is the same request); the next one, from a later state, another."""
    since = endpoint.last_action_at.isoformat() if endpoint.last_action_at else endpoint.status
    return deterministic_operation_id(endpoint.id, action, since)


# a region's synthesis host in each cloud, by the host of its management API there (--region-url)
_SYNTHESIS_HOSTS = (
    (".api.cognitive.microsoft.com", ".voice.speech.microsoft.com"),
    (".api.cognitive.azure.cn", ".tts.speech.azure.cn"),
    (".api.cognitive.microsoft.us", ".tts.speech.azure.us"),
)


def synthesis_base(region: str, region_url: str = DEFAULT_REGION_URL) -> str:
    """Where applications synthesize with a region's custom voice endpoints: the cloud's synthesis host,
    or, for another host (a simulator, a proxy), that host's `/tts` path as a custom domain has it."""
    base = regional_base_url(region_url, region).lower().removesuffix(":443")
    for api, synthesis in _SYNTHESIS_HOSTS:
        if base.endswith(api):
            return base.removesuffix(api) + synthesis
    return base + "/tts"


def export_data(
    spec: VoiceEndpointSpec, endpoint: VoiceEndpoint, region_url: str = DEFAULT_REGION_URL
) -> dict[str, str]:
    """What applications need to synthesize with the endpoint: its id (their `deploymentId`), where, and
    the synthesis URL."""
    data = {"endpointId": endpoint.id, "deploymentId": endpoint.id, "apiVersion": spec.azure.api_version}
    if spec.azure.region is not None:
        data["region"] = spec.azure.region
        base = synthesis_base(spec.azure.region, region_url)
    else:
        assert spec.azure.endpoint is not None
        data["host"] = spec.azure.endpoint.rstrip("/")
        base = data["host"] + "/tts"
    data["synthesisUrl"] = f"{base}{SYNTHESIS_PATH}?deploymentId={endpoint.id}"
    return data


@dataclass(frozen=True)
class Previous:
    endpoint_id: str
    delete_after: datetime
    swapped_at: datetime | None = None  # None in a record from before it was kept (or from the status)
    due_now: bool = False  # deleted at once whatever delete_after says (suspended, a status-only record)

    def due(self, now: datetime) -> bool:
        return self.due_now or self.delete_after <= now

    def annotation(self) -> str:
        moments = (self.delete_after, self.swapped_at) if self.swapped_at else (self.delete_after,)
        return " ".join((self.endpoint_id, *map(format_time, moments)))

    def status(self) -> dict[str, str]:
        return {"id": self.endpoint_id, "deleteAfter": format_time(self.delete_after)}


def parse_previous(value: str | None) -> Previous | None:
    """`<id> <deleteAfter> [<swappedAt>]`"""
    endpoint_id, *moments = (value or "").split(" ")
    times = [t for t in map(parse_time, moments[:2]) if t is not None]
    if not endpoint_id or not times or len(times) < len(moments[:2]):
        return None
    return Previous(endpoint_id, times[0], times[1] if len(times) > 1 else None)


def recorded_endpoints(annotations: Mapping[str, str]) -> list[str]:
    """The resource's own endpoints its annotations record: the shared ones, a swap's candidate, the
    previous endpoint waiting for its grace period, and one being discarded."""
    previous = parse_previous(annotations.get(PREVIOUS_ANNOTATION))
    discarding = parse_discard(annotations.get(DISCARD_ANNOTATION))
    found = [
        *shared_recorded_endpoints(annotations),
        annotations.get(CANDIDATE_ANNOTATION) or "",
        previous.endpoint_id if previous else "",
        discarding.id if discarding else "",
    ]
    return [e for e in found if e]


def discard_record(endpoint: VoiceEndpoint) -> str:
    """The discard annotation of an endpoint about to be deleted: what the pass that sends its DELETE again
    needs to end as the first would have (a failed deployment's stall, or the next swap step)."""
    record = {
        "id": endpoint.id,
        "status": endpoint.status,
        "projectId": endpoint.project_id,
        "modelId": endpoint.model_id,
    }
    return json.dumps(record, separators=(",", ":"))


def parse_discard(value: str | None) -> VoiceEndpoint | None:
    """The endpoint a discard annotation names, as it was when the deletion was decided."""
    if not value:
        return None
    try:
        record = json.loads(value)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        # not written by this operator (edited by hand): the id is still deleted, nothing else is known
        endpoint_id = value.strip().split(" ")[0]
        return VoiceEndpoint(id=endpoint_id, status="Unknown") if endpoint_id else None
    endpoint_id = str(record.get("id") or "")
    if not endpoint_id:
        return None
    project, model = record.get("projectId"), record.get("modelId")
    return VoiceEndpoint(
        id=endpoint_id,
        status=str(record.get("status") or "Unknown"),
        project_id=str(project) if project else None,
        model_id=str(model) if model else None,
    )


# ---------------------------------------------------------------------------------------------------------
# The plan


def plan(resource: Resource, observed: Observed, pass_: Pass) -> Plan:
    voice = _Voice(resource, observed, pass_)
    if resource.deleting:
        return voice.deletion()
    return voice.plan()


class _Voice(Planner[Resource, Observed]):
    write_steps = (CreateEndpoint, SuspendEndpoint, ResumeEndpoint, DeleteEndpoint)
    wish: schedule.Wish | None = None

    # --- bookkeeping ---------------------------------------------------------------------------------------

    def note(self, key: str) -> str | None:
        return self.o.note(self.r.annotations, key)

    def noted(self, key: str) -> bool:
        return any(name == key for name, _ in self.o.notes)

    def current_id(self) -> str | None:
        """The endpoint that serves, as recorded; an object restored without its annotations trusts its
        status (unless the id there is only the adopted one, read again below)."""
        if self.noted(ENDPOINT_ID_ANNOTATION) or ENDPOINT_ID_ANNOTATION in self.r.annotations:
            return self.note(ENDPOINT_ID_ANNOTATION)
        shown = str(self.prev.get("endpointId") or "").lower()
        return shown or None

    def candidate_id(self) -> str | None:
        return self.note(CANDIDATE_ANNOTATION)

    def previous(self) -> Previous | None:
        """The endpoint a swap left to delete after its grace period, with when it is deleted: the swap's
        time plus the grace period the spec names now (a grace shortened after the swap counts), and at once
        while the wish is to be suspended (the resource serves nothing then: a swap while suspended, or a
        suspension within the grace period, bills no old endpoint)."""
        recorded = self.recorded_previous()
        spec = self.r.spec
        if recorded is None or spec is None:
            return recorded
        if not self.previous_annotated():
            # the status's copy (annotations lost): its time as it is (the status shows what is derived
            # here, so deriving again from it would move the time on every pass), due at once while the
            # wish is to be suspended; what the status shows then stays the recorded time
            return replace(recorded, due_now=self.wish_suspended())
        grace = spec.swap_grace(self.p.timing.voice_swap_grace_period)
        if recorded.swapped_at is None:
            # an older operator's record, without its swap time, is dated by the grace
            swapped_at = recorded.delete_after - grace
        else:
            swapped_at = recorded.swapped_at
            if recorded.delete_after <= swapped_at:
                grace = timedelta(0)  # the old endpoint served nothing at the swap: it never gets a grace
        delete_after = swapped_at if self.wish_suspended() else swapped_at + grace
        return replace(recorded, delete_after=delete_after)

    def previous_annotated(self) -> bool:
        """Whether the previous endpoint's record is the annotation (written, or dropped, in this pass or
        before), not the status's copy."""
        return self.noted(PREVIOUS_ANNOTATION) or PREVIOUS_ANNOTATION in self.r.annotations

    def recorded_previous(self) -> Previous | None:
        """The previous endpoint as recorded; an object restored without its annotations trusts its status
        (as current_id does), so the old endpoint never leaks."""
        if self.previous_annotated():
            return parse_previous(self.note(PREVIOUS_ANNOTATION))
        shown = self.prev.get("previousEndpoint")
        if not isinstance(shown, Mapping):
            return None
        endpoint_id = str(shown.get("id") or "").lower()
        delete_after = parse_time(shown.get("deleteAfter"))
        # never the endpoint that serves or the one deploying (a status older than the annotations' last
        # change cannot make either of them a previous endpoint to delete)
        if not endpoint_id or delete_after is None or endpoint_id in (self.current_id(), self.candidate_id()):
            return None
        return Previous(endpoint_id, delete_after)

    def deletable(self, previous: Previous) -> bool:
        """Whether a pass may send the DELETE of a previous endpoint whose time has come."""
        return (
            self.policy is not Policy.SKIP
            and self.r.has_finalizer
            and self.upkeep_allowed(previous.endpoint_id)
        )

    def previous_id(self) -> str | None:
        previous = self.previous()
        return previous.endpoint_id if previous else None

    def forget_previous(self) -> Note | None:
        """Drop the previous endpoint's record once this pass deleted it."""
        previous_id = self.previous_id()
        if previous_id and any(e == previous_id for e, _ in self.o.deleted):
            return Note(((PREVIOUS_ANNOTATION, None),), "forgetting the deleted previous endpoint")
        return None

    def discarding(self) -> VoiceEndpoint | None:
        """The failed or replaced endpoint whose DELETE is under way (sent again until it is done)."""
        return parse_discard(self.note(DISCARD_ANNOTATION))

    def discarded(self, endpoint_id: str) -> VoiceEndpoint | None:
        """The discard record of `endpoint_id`, as read at the start of the pass or written in it (it is
        forgotten in the pass that deletes the endpoint, which still needs to know what it was)."""
        values = [self.r.annotations.get(DISCARD_ANNOTATION)]
        values += [value for name, value in self.o.notes if name == DISCARD_ANNOTATION]
        for value in values:
            record = parse_discard(value)
            if record is not None and record.id.lower() == endpoint_id.lower():
                return record
        return None

    def next_sequence(self) -> int:
        recorded = self.note(SEQUENCE_ANNOTATION)
        if recorded is not None and recorded.isdigit():
            return int(recorded) + 1
        # Annotations lost (a restore): past every id this resource is known to use.
        discarding = self.discarding()
        used = [
            sequence_of(self.r.uid, e)
            for e in (
                self.current_id(),
                self.candidate_id(),
                self.previous_id(),
                discarding.id if discarding else None,
            )
            if e
        ]
        return max([s for s in used if s is not None], default=-1) + 1

    def replaceable(self, endpoint_id: str | None) -> bool:
        """Whether the operator may replace this endpoint when its deployment fails: any but the adopted one
        (the only ids the resource names besides spec.endpointId are ones the operator made). Whether the
        resource owns an endpoint is `ours`."""
        return endpoint_id is not None and endpoint_id != self.r.adopted_endpoint_id

    def ours(self, endpoint_id: str | None) -> bool:
        """Whether the resource owns the endpoint (planner.owns): one the operator created (also when
        spec.endpointId names it later: the endpoint-id annotation, or an id made from the resource's uid,
        says so), or the adopted one once taken over, whatever error came after."""
        if endpoint_id is None:
            return False
        created = (
            self.replaceable(endpoint_id)
            or self.note(ENDPOINT_ID_ANNOTATION) == endpoint_id
            or sequence_of(self.r.uid, endpoint_id) is not None
        )
        return self.owns(endpoint_id, created=created)

    def upkeep_allowed(self, endpoint_id: str) -> bool:
        """Whether the upkeep of an endpoint may be written: suspending or resuming the one that serves as
        its wish says, deleting a previous one whose grace period ended. A fatal stall stops the write that
        failed (a deployment), not these: a stalled swap must not bill all night, nor leave applications
        down all day, nor keep an old endpoint forever. So they go on while Stalled on a fatal error, for an
        endpoint the resource owns only (never one it merely names in spec.endpointId)."""
        if self.writes_allowed():
            return True
        # not when the stall is Azure refusing such a write itself: it would be refused again every pass
        return self.ours(endpoint_id) and self.note(UPKEEP_REFUSED_ANNOTATION) is None

    # --- decisions ---------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        refused = self.refused()
        if refused is not None:
            return refused
        r, o, spec = self.r, self.o, self.r.spec
        assert spec is not None
        try:
            self.wish = schedule.wish(spec.suspended, spec.schedule, self.p.now)
        except schedule.ScheduleError as exc:
            return self.error(OperatorError("InvalidSchedule", str(exc), ErrorClass.FATAL))
        if self.p.trigger is Trigger.RESUME and self._settled():
            return replace(self.outcome_unchanged(), wake_at=self._wake_at())
        unexport = self.stale_export()
        if unexport is not None:
            return unexport

        adopted = r.adopted_endpoint_id
        current = self.current_id()
        if adopted and current and adopted != current:
            return self.endpoint_id_conflict(adopted, current)
        current = current or adopted
        if o.credentials_error is not None:
            return self.error(o.credentials_error, credentials=True)
        if o.error is not None:
            candidate = self.candidate_id()
            refused_for_good = o.error.error_class in (ErrorClass.FATAL, ErrorClass.BLOCKED)
            if (
                o.failed_step == CreateEndpoint.__name__
                and create_refused(o.error)
                and refused_for_good
                and candidate
            ):
                # Never made: the next try takes a new id (an id serves one create only). Not after a 429 or a
                # 409: the PUT is sent again at the same id, as an earlier one whose answer was lost may still
                # make that endpoint (a new id would leave it unrecorded, billed for ever).
                return Note(((CANDIDATE_ANNOTATION, None),), "dropping the refused endpoint's id")
            upkeep_refused = o.failed_step in UPKEEP_STEPS and o.error.error_class is ErrorClass.FATAL
            if upkeep_refused and not r.deleting and self.note(UPKEEP_REFUSED_ANNOTATION) is None:
                step = str(o.failed_step)
                return Note(
                    ((UPKEEP_REFUSED_ANNOTATION, step),), f"{step} refused: not sent again while Stalled"
                )
            return self.error(o.error, **self.seen())
        if self.note(UPKEEP_REFUSED_ANNOTATION) is not None and not self.stalled_on_fatal():
            return Note(((UPKEEP_REFUSED_ANNOTATION, None),), "the stall is lifted: upkeep may be sent again")

        discard = self.finish_discard()
        if discard is not None:
            return discard
        following = self.follow_operation()
        if following is not None:
            return following
        if current and not o.seen(current):
            return GetEndpoint(current)
        candidate = self.candidate_id()
        # One allocated in this pass cannot exist yet: its id has never been used.
        if candidate and not o.seen(candidate) and not self.noted(CANDIDATE_ANNOTATION):
            return GetEndpoint(candidate)
        endpoint = o.endpoint(current)
        if current and endpoint is None:
            if current == adopted:
                return self.adopted_not_found(adopted)
            if self.policy is Policy.SKIP:
                # kept, as for SpeechEndpoint: it stays EndpointNotFound, and back under manage its new
                # endpoint is the Warning EndpointRecreated
                return self.create_stopped(vanished=current) or self.outcome_unchanged()
            forget: tuple[tuple[str, str | None], ...] = ((ENDPOINT_ID_ANNOTATION, None),)
            if self.note(KEPT_ANNOTATION) == current:
                forget += ((KEPT_ANNOTATION, None),)
            return Note(forget, "forgetting the endpoint gone from Azure")
        if endpoint is None:
            return self.first(vanished=self._vanished())
        return self.existing(endpoint)

    def follow_operation(self) -> Plan | None:
        """While an action this operator sent is in flight and nothing has changed since, Azure's answer
        about it is its operation (Operation-Location): that is what is polled, with the status as it was,
        and the endpoints are read again once it has ended (or Azure no longer knows it). A spec change, a
        requested reconcile, the drift check, a restart or a grace period at its end read the endpoints."""
        in_flight = self.prev.get("operation") or {}
        operation_id = str(in_flight.get("id") or "")
        if not operation_id or in_flight.get("status") not in IN_PROGRESS:
            return None
        if in_flight.get("endpointId") not in (self.current_id(), self.candidate_id()):
            return None
        # every fourth poll reads the endpoints anyway: an operation that never ends hides nothing for long
        if self.p.trigger is not Trigger.CHANGE or self.requested_new or self.p.attempt % 4 == 3:
            return None
        if self.prev.get("observedGeneration") != self.r.generation:
            return None
        if self.prev.get("error"):
            return None  # the status says why the last pass failed: a read of the endpoint says it anew
        if self.o.wrote or self.o.deleted or self.o.notes:
            # this pass did something (a previous endpoint deleted and forgotten): its report says so, and
            # drops what the status showed of it, or a stale copy of the record would be acted on again
            return None
        previous = self.previous()
        if previous is not None and previous.due(self.p.now):
            return None
        if self.o.operation is None or self.o.operation[0] != operation_id:
            return GetOperation(operation_id)
        operation = self.o.operation[1]
        if operation is None or operation.status not in IN_PROGRESS:
            return None
        status = dict(self.prev)
        status["operation"] = {**in_flight, "status": operation.status}
        action = in_flight.get("action")
        # the action began when Azure began it, as the endpoint read when it did says, else when the
        # resource started reconciling
        since = None
        if (
            self.prev.get("endpointId") == in_flight.get("endpointId")
            and self.prev.get("azureStatus") in BUSY_STATUSES
        ):
            since = parse_time(
                str(self.prev.get("createdAt" if action == "create" else "lastActionAt") or "")
            )
        if since is None:
            reconciling = [c for c in self.prev_conditions if c.get("type") == RECONCILING]
            since = parse_time(reconciling[0].get("lastTransitionTime")) if reconciling else None
        delay = reconcile_poll_delay(since, None, self.p, str(action) if action else None)
        return Outcome(
            status=status,
            retry=Retry(delay, f"Azure: operation {operation.status}"),
            wake_at=self._wake_at(),
        )

    def finish_discard(self) -> Plan | None:
        """The DELETE of the endpoint being discarded (sent again after a lost answer: a 404 counts as
        deleted), then the record goes. Decided by a pass that could write; a skip policy since leaves it
        (and deletion of the resource deletes it)."""
        discarding = self.discarding()
        if discarding is None:
            return None
        if any(e == discarding.id for e, _ in self.o.deleted):
            return Note(((DISCARD_ANNOTATION, None),), f"forgetting the deleted endpoint {discarding.id}")
        if self.policy is Policy.SKIP or not self.r.has_finalizer or self.o.wrote:
            return None
        if not self.upkeep_allowed(discarding.id):
            return None  # Azure refused this DELETE for good: sent again once the stall is lifted
        return DeleteEndpoint(discarding.id)

    def discard(self, endpoint: VoiceEndpoint, place: str, why: str) -> Note:
        """Before a failed or no longer wanted endpoint is deleted, it leaves its place (`place`: the
        endpoint-id or candidate annotation) for the discard record, in one note, as the note of a new id
        precedes its create: if the DELETE's answer is lost the next pass sends it again and goes on as this
        one would have, instead of finding the id gone and creating there again (or a new endpoint, with a
        false EndpointRecreated warning)."""
        changes = ((place, None), (DISCARD_ANNOTATION, discard_record(endpoint)))
        return Note(changes, f"deleting endpoint {endpoint.id}: {why}")

    def failed_here(self) -> VoiceEndpoint | None:
        """A Failed endpoint this pass deleted (to free its slot): as read in this pass, or as its discard
        record says (the DELETE sent again after a lost answer)."""
        for endpoint_id, _ in self.o.deleted:
            found = self.o.endpoint(endpoint_id) or self.discarded(endpoint_id)
            if found is not None and found.status == FAILED:
                return found
        return None

    def deployment_failed(self, failed: VoiceEndpoint, *, serving: VoiceEndpoint | None = None) -> Outcome:
        code = (failed.error.code if failed.error else None) or DEPLOYMENT_FAILED
        detail = (failed.error.message if failed.error else None) or "the deployment failed in Azure"
        kept = ""
        if serving is not None and serving.status == SUCCEEDED:
            kept = f"; endpoint {serving.id} keeps serving model {serving.model_id}"
        elif serving is not None:
            kept = f"; endpoint {serving.id} (model {serving.model_id}) stays as it is ({serving.status})"
        message = (
            f"endpoint {failed.id} (model {failed.model_id}) failed: {detail.rstrip('. ')}; it was deleted "
            f"to free its deployment slot{kept}: change the spec or set reconcile-requested-at to try again"
        )
        error = OperatorError(code, message, ErrorClass.FATAL)
        return self.error(error, next_step=False, endpoint=serving)

    def _vanished(self) -> str | None:
        """The endpoint found gone from Azure in this pass (not one this pass deleted on purpose)."""
        for name, value in self.o.notes:
            if name == ENDPOINT_ID_ANNOTATION and value is None:
                gone = str(self.prev.get("endpointId") or "")
                if gone and self.discarded(gone) is not None:
                    return None
                return gone or "the endpoint"
        return None

    def first(self, *, vanished: str | None) -> Plan:
        """Nothing serves: deploy an endpoint (through a candidate, promoted as soon as Azure has it)."""
        r, o = self.r, self.o
        candidate = self.candidate_id()
        found = o.endpoint(candidate) if candidate else None
        failed = self.failed_here()
        if failed is not None and matches(r.spec, failed) and not self.requested_new:  # type: ignore[arg-type]
            return self.deployment_failed(failed)
        if candidate and found is not None:
            return Note(
                ((ENDPOINT_ID_ANNOTATION, candidate), (CANDIDATE_ANNOTATION, None)), "recording the endpoint"
            )
        stopped = self.create_stopped(vanished)
        if stopped is not None:
            return stopped
        if candidate is None:
            return self.allocate("deploying the first endpoint")
        if o.wrote:
            health = Health(Phase.DEPLOYING, "Deploying", "creating the endpoint")
            return self.outcome(health, retry=Retry(1.0, "the create follows"))
        return self.create(candidate)

    def allocate(self, why: str) -> Note:
        sequence = self.next_sequence()
        endpoint_id = deterministic_endpoint_id(self.r.uid, sequence)
        changes = ((SEQUENCE_ANNOTATION, str(sequence)), (CANDIDATE_ANNOTATION, endpoint_id))
        return Note(changes, why, before_create=True)

    def create(self, endpoint_id: str) -> CreateEndpoint:
        return CreateEndpoint(
            endpoint_id, create_body(self.r), deterministic_operation_id(endpoint_id, "create")
        )

    def existing(self, endpoint: VoiceEndpoint) -> Plan:
        r, o, spec = self.r, self.o, self.r.spec
        assert spec is not None and self.wish is not None
        candidate_id = self.candidate_id()
        candidate = o.endpoint(candidate_id) if candidate_id else None
        adopted = endpoint.id.lower() == r.adopted_endpoint_id
        claimed = self.claimed_elsewhere(endpoint.id, endpoint=endpoint) if adopted else None
        if claimed is not None:
            return claimed
        if adopted and matches(spec, endpoint):
            # taken over before anything else is decided about it (a Failed one too: deleted with the
            # resource, as one the operator made)
            take_over = self.take_over(endpoint.id)
            if take_over is not None:
                return take_over
        if endpoint.status == FAILED:
            if not self.served(endpoint):
                return self.failed(endpoint)
            # Failed after it served (a suspend or resume Azure failed): kept, and remembered as such
            if self.note(KEPT_ANNOTATION) != endpoint.id:
                why = f"keeping endpoint {endpoint.id}: Failed after it served"
                return Note(((KEPT_ANNOTATION, endpoint.id),), why)
        if not matches(spec, endpoint) and adopted:
            # never replaced; but one taken over is the resource's, kept up on its schedule meanwhile
            upkeep = self.suspend_or_resume(endpoint) if self.ours(endpoint.id) else None
            if upkeep is not None:
                return upkeep
            return self.error(
                OperatorError(
                    "AdoptedEndpointMismatch",
                    f"the adopted endpoint {endpoint.id} serves project {endpoint.project_id} model "
                    f"{endpoint.model_id}, the spec asks for project {spec.project_id} model "
                    f"{spec.model_id}; "
                    "an adopted endpoint is never replaced: set projectId and modelId to what it serves",
                    ErrorClass.FATAL,
                ),
                endpoint=endpoint,
            )
        # The swap's steps come first: the new endpoint deploys while the old one keeps its state.
        if not matches(spec, endpoint) or candidate_id:
            step = self.swap(endpoint, candidate_id, candidate)
            if step is not None:
                return step
        step = self.suspend_or_resume(endpoint)
        if step is not None:
            return step
        forget = self.forget_previous()
        if forget is not None:
            return forget
        previous = self.previous()
        if previous is not None:
            due = previous.due(self.p.now)
            if due and not o.wrote and self.policy is not Policy.SKIP and r.has_finalizer:
                if self.upkeep_allowed(previous.endpoint_id):
                    return DeleteEndpoint(previous.endpoint_id)
                # Azure refused this DELETE for good: the stall stays shown (not a Ready pass that lifts it
                # and sends the DELETE again)
                return self.stay_stalled(endpoint=endpoint)
        step = self.export(endpoint)
        if step is not None:
            return step
        return self.report(endpoint, candidate)

    # --- swap --------------------------------------------------------------------------------------------

    def swap(
        self, endpoint: VoiceEndpoint, candidate_id: str | None, candidate: VoiceEndpoint | None
    ) -> Plan | None:
        """The next step of a blue/green swap, or None while it waits (or cannot go on: report says why)."""
        r, o, spec = self.r, self.o, self.r.spec
        assert spec is not None
        if self.policy is Policy.SKIP or not self.writes_allowed() or not r.has_finalizer:
            return None
        if candidate_id is None:
            failed = self.failed_here()
            # as in first(): a spec changed since the failed endpoint (or a new request) deploys anew
            if failed is not None and matches(spec, failed) and not self.requested_new:
                return self.deployment_failed(failed, serving=endpoint)
            if not matches(spec, endpoint):
                return self.allocate(f"swapping endpoint {endpoint.id} for model {spec.model_id}")
            return None
        if candidate is None:
            if o.created == candidate_id or o.wrote:
                return None
            return self.create(candidate_id)
        if not matches(spec, candidate) or candidate.status == FAILED or matches(spec, endpoint):
            # Not (or no longer) wanted, or failed: deleted to free its deployment slot.
            if o.wrote:
                return None
            why = "its deployment failed" if candidate.status == FAILED else "no longer wanted"
            return self.discard(candidate, CANDIDATE_ANNOTATION, why)
        if candidate.status != SUCCEEDED:
            return None
        previous = self.previous()
        forget = self.forget_previous()
        if forget is not None:
            return forget
        if previous is not None:
            # A swap within the grace period of the last one: that old endpoint goes first.
            if o.wrote:
                return None
            return DeleteEndpoint(previous.endpoint_id)
        serves = endpoint.status == SUCCEEDED and not self.wish_suspended()
        grace = spec.swap_grace(self.p.timing.voice_swap_grace_period) if serves else timedelta(0)
        keep = Previous(endpoint.id, self.p.now + grace, swapped_at=self.p.now)
        changes: tuple[tuple[str, str | None], ...] = (
            (ENDPOINT_ID_ANNOTATION, candidate_id),
            (CANDIDATE_ANNOTATION, None),
            (PREVIOUS_ANNOTATION, keep.annotation()),
        )
        if self.note(KEPT_ANNOTATION) is not None:
            changes += ((KEPT_ANNOTATION, None),)  # the kept Failed endpoint is the previous one now
        return Note(changes, f"switching to endpoint {candidate_id}")

    # --- suspend and resume ------------------------------------------------------------------------------

    def wish_suspended(self) -> bool:
        return self.wish is not None and self.wish.suspended

    def resume_failed(self, endpoint: VoiceEndpoint) -> bool:
        """Back to Disabled after a resume (Azure reports no reason with the new API)."""
        was = find_condition(self.prev_conditions, READY).reason
        return (
            endpoint.status == DISABLED
            and not self.wish_suspended()
            and (was == "Resuming" or self._resume_in_flight(endpoint))
            and self.o.acted is None
            and str(self.prev.get("endpointId") or "").lower() == endpoint.id.lower()
        )

    def suspend_or_resume(self, endpoint: VoiceEndpoint) -> Plan | None:
        r, o = self.r, self.o
        wanted = self.wish_suspended()
        if endpoint.status == SUCCEEDED and wanted:
            action = "suspend"
        elif endpoint.status == DISABLED and not wanted and not self.resume_failed(endpoint):
            action = "resume"
        else:
            return None
        if self.policy is Policy.SKIP or not self.upkeep_allowed(endpoint.id) or o.wrote:
            return None
        if not r.has_finalizer:
            return self.waiting_for_finalizer()
        operation_id = action_operation_id(endpoint, action)
        if action == "suspend":
            return SuspendEndpoint(endpoint.id, operation_id)
        return ResumeEndpoint(endpoint.id, operation_id)

    # --- export ------------------------------------------------------------------------------------------

    def export(self, endpoint: VoiceEndpoint) -> Plan | None:
        spec, o = self.r.spec, self.o
        assert spec is not None
        # Disabling too: a swap while suspended promotes the new endpoint and suspends it in one pass, and the
        # ConfigMap switches with status.endpointId (the old endpoint is deleted next)
        exportable = (SUCCEEDED, DISABLING, DISABLED)
        if spec.export_to is not None and not o.exported and endpoint.status in exportable:
            data = export_data(spec, endpoint, self.p.timing.region_url)
            return Export(spec.export_to.config_map_name, data)
        return None

    # --- what it all means -------------------------------------------------------------------------------

    def served(self, endpoint: VoiceEndpoint) -> bool:
        """Whether a Failed endpoint had served before: the status showed it Succeeded, Disabling or Disabled
        under the same id, or the operation in flight on it was a suspend or a resume (Azure ends a failed
        one in Failed), or an earlier pass found so and noted it. A first deployment that failed has not."""
        if self.note(KEPT_ANNOTATION) == endpoint.id:
            return True
        shown = str(self.prev.get("endpointId") or "").lower() == endpoint.id.lower()
        if shown and self.prev.get("azureStatus") in SERVED_STATUSES:
            return True
        operation = self.prev.get("operation") or {}
        return operation.get("endpointId") == endpoint.id and operation.get("action") in ("suspend", "resume")

    def failed(self, endpoint: VoiceEndpoint) -> Plan:
        """The serving endpoint failed to deploy (nothing served before it). One the operator made is
        deleted to free its slot (first() then says why, or deploys anew after a change)."""
        r, o = self.r, self.o
        # as for SpeechEndpoint, a failed endpoint is deleted (replaced) under manage only, never under
        # detach-on-delete
        ours = self.replaceable(endpoint.id) and self.policy is Policy.MANAGE and r.has_finalizer
        if ours and not o.wrote:
            return self.discard(endpoint, ENDPOINT_ID_ANNOTATION, "its deployment failed")
        code = (endpoint.error.code if endpoint.error else None) or DEPLOYMENT_FAILED
        detail = (endpoint.error.message if endpoint.error else None) or "the deployment failed in Azure"
        hint = (
            "an adopted endpoint is never replaced: redeploy it in Azure, or delete this resource"
            if not self.replaceable(endpoint.id)
            else f"reconcile-policy {self.policy.value} never replaces it"
        )
        message = f"endpoint {endpoint.id} failed: {detail.rstrip('. ')}; {hint}"
        return self.error(OperatorError(code, message, ErrorClass.FATAL), endpoint=endpoint, next_step=False)

    def report(self, endpoint: VoiceEndpoint, candidate: VoiceEndpoint | None) -> Outcome:
        r, spec = self.r, self.r.spec
        assert spec is not None
        wanted = self.wish_suspended()
        voice = f"project {endpoint.project_id} model {endpoint.model_id}"
        if endpoint.status in BUSY_STATUSES:
            if not self.writes_allowed():
                # a suspend or resume sent while Stalled on a fatal error (upkeep_allowed): the error stays
                # shown, and the endpoint is polled meanwhile
                return self.stay_stalled(endpoint=endpoint, candidate=candidate)
            delay = self._poll_delay(endpoint)
            if endpoint.status == DISABLING:
                health = Health(Phase.SUSPENDING, "Suspending", f"Azure is suspending endpoint {endpoint.id}")
            elif self._resuming(endpoint):
                health = Health(Phase.RESUMING, "Resuming", f"Azure is resuming endpoint {endpoint.id}")
            else:
                health = deploying(f"endpoint {endpoint.id} with {voice}", endpoint.status)
            return self.polling(health, endpoint, delay, candidate=candidate)
        if endpoint.status == FAILED:  # one that served (served()): kept
            if not matches(spec, endpoint) or candidate is not None:
                return self.report_swap(endpoint, candidate)
            return self.endpoint_failed(endpoint)
        if endpoint.status not in (SUCCEEDED, DISABLED):
            health, retry = self.unknown_status(endpoint.status)
            return self.outcome(health, endpoint=endpoint, retry=retry)
        if self.resume_failed(endpoint) and self.policy is not Policy.SKIP:
            message = f"endpoint {endpoint.id} went back to Disabled: Azure could not resume it"
            error = OperatorError(RESUME_FAILED, message, ErrorClass.TRANSIENT)
            return self._resume_backoff(self.error(error, endpoint=endpoint, candidate=candidate))
        if not matches(spec, endpoint) or candidate is not None:
            return self.report_swap(endpoint, candidate)
        if (endpoint.status == DISABLED) != wanted:
            what = "suspended" if endpoint.status == DISABLED else "running"
            asked = "suspended" if wanted else "running"
            differs = f"endpoint {endpoint.id} is {what}, the spec asks for it {asked}"
            if self.policy is Policy.SKIP:
                return self.skipped(f"{differs}; reconcile-policy is skip", endpoint=endpoint)
            if not self.writes_allowed():
                return self.stay_stalled(endpoint=endpoint)
            if not r.has_finalizer:
                return self.waiting_for_finalizer()
            # Sent in this pass: Azure's next answer shows it.
            return self.outcome(
                Health(Phase.SUSPENDING if wanted else Phase.RESUMING, "", differs),
                endpoint=endpoint,
                retry=Retry(1.0, "confirming the action"),
            )
        if endpoint.status == DISABLED:
            health = Health(
                Phase.SUSPENDED, "Suspended", f"endpoint {endpoint.id} ({voice}) is suspended, as asked"
            )
        else:
            health = Health(Phase.READY, "Ready", f"endpoint {endpoint.id} serves {voice}")
        return self.outcome(health, endpoint=endpoint)

    def _resume_backoff(self, outcome: Outcome) -> Outcome:
        """A resume that keeps failing is sent again less and less often, by the polling rule of an operation
        Azure is working on: a quarter of the time since the resource began to resume (its Reconciling
        condition turned True then, and stays True through each Resuming and ResumeFailed), at least the
        error's backoff, at most the transient cap. The count of failed passes cannot grow here: the pass
        that sends the resume again ends without an error."""
        if outcome.retry is None:
            return outcome
        since = next(
            (
                parse_time(str(c.get("lastTransitionTime") or ""))
                for c in self.prev_conditions
                if c.get("type") == RECONCILING and c.get("status") == "True"
            ),
            None,
        )
        if since is None:
            return outcome
        # the polling rule's own jitter keeps endpoints a schedule resumed together from being resent in step
        cap = self.p.timing.transient_backoff_cap.total_seconds()
        delay = min(max(outcome.retry.delay, reconcile_poll_delay(since, None, self.p)), cap)
        return replace(outcome, retry=replace(outcome.retry, delay=delay))

    def _resuming(self, endpoint: VoiceEndpoint) -> bool:
        if self.o.acted == "resume":
            return True
        was = find_condition(self.prev_conditions, READY).reason
        return endpoint.status == "Running" and (
            was in ("Resuming", RESUME_FAILED)
            or self.prev.get("azureStatus") == DISABLED
            or self._resume_in_flight(endpoint)
        )

    def endpoint_failed(self, endpoint: VoiceEndpoint) -> Outcome:
        """Stalled: an endpoint that served is Failed in Azure. It is kept, never deleted to free its slot
        as a failed deployment is: it was the resource's endpoint (its id may be cached by applications),
        and a new one is the user's call."""
        detail = f" ({endpoint.error.code}: {endpoint.error.message})" if endpoint.error else ""
        if not self.replaceable(endpoint.id):
            hint = "an adopted endpoint is never replaced: redeploy it in Azure, or delete this resource"
        else:
            hint = (
                "change spec.modelId or spec.projectId to deploy a new endpoint (this one is deleted once "
                "the new one runs), or delete this resource"
            )
        message = (
            f"Azure reports endpoint {endpoint.id} (model {endpoint.model_id}) Failed after it had served (a "
            f"suspend or resume that Azure fails ends so){detail}; it is kept, not deleted: {hint}"
        )
        error = OperatorError(ENDPOINT_FAILED, message, ErrorClass.FATAL)
        return self.error(error, endpoint=endpoint, next_step=False)

    def report_swap(self, endpoint: VoiceEndpoint, candidate: VoiceEndpoint | None) -> Outcome:
        r, spec = self.r, self.r.spec
        assert spec is not None
        serving = f"endpoint {endpoint.id} keeps serving model {endpoint.model_id}"
        if endpoint.status == DISABLED:
            serving = f"endpoint {endpoint.id} (model {endpoint.model_id}) stays suspended"
        elif endpoint.status == FAILED:
            serving = f"endpoint {endpoint.id} (model {endpoint.model_id}) is Failed and kept until then"
        differs = f"Azure serves model {endpoint.model_id} of project {endpoint.project_id}"
        if self.policy is Policy.SKIP:
            return self.skipped(
                f"{differs}, the spec asks for model {spec.model_id}; reconcile-policy is skip",
                endpoint=endpoint,
            )
        if not self.writes_allowed():
            return self.stay_stalled(endpoint=endpoint, candidate=candidate)
        if not r.has_finalizer:
            return self.waiting_for_finalizer()
        if candidate is None or not matches(spec, candidate):
            health = Health(
                Phase.REDEPLOYING,
                "Redeploying",
                f"starting a new endpoint with model {spec.model_id}; {serving}",
                available=endpoint.status == SUCCEEDED,
            )
            return self.outcome(
                health, endpoint=endpoint, candidate=candidate, retry=Retry(1.0, "the swap goes on")
            )
        delay = self._poll_delay(candidate) if candidate.status in BUSY_STATUSES else 1.0
        health = Health(
            Phase.REDEPLOYING,
            "Redeploying",
            f"swapping to endpoint {candidate.id} with model {spec.model_id} ({candidate.status}); {serving}",
            available=endpoint.status == SUCCEEDED,
            available_message=serving,
        )
        return self.outcome(health, endpoint=endpoint, candidate=candidate, retry=Retry(delay, "swapping"))

    def seen(self) -> dict[str, Any]:
        """What this pass read, for an error's outcome."""
        current = self.current_id() or self.r.adopted_endpoint_id
        found = self.o.endpoint(current) if current else None
        candidate = self.candidate_id()
        return {"endpoint": found, "candidate": self.o.endpoint(candidate) if candidate else None}

    def poll_while_busy(self, retry: Retry | None, **seen: Any) -> Retry | None:
        busy = [
            e
            for e in (seen.get("endpoint"), seen.get("candidate"))
            if e is not None and e.status in BUSY_STATUSES
        ]
        if not busy:
            return retry
        poll = min(self._poll_delay(e) for e in busy)
        if retry is not None and retry.delay <= poll:
            return retry
        return Retry(poll, "Azure is busy")

    # --- restart -----------------------------------------------------------------------------------------

    def _settled(self) -> bool:
        """At operator start: nothing in flight, status current and as the schedule wants it now, so no
        Azure call (the drift check looks later): keeps a restart from becoming a burst of calls."""
        if self.requested_new or self.prev.get("observedGeneration") != self.r.generation:
            return False
        if self.candidate_id() or self.discarding() or self.prev.get("azureStatus") in BUSY_STATUSES:
            return False
        previous = self.previous()
        if previous is not None and previous.due(self.p.now):
            return False
        if self.wish is not None:
            if (find_condition(self.prev_conditions, SUSPENDED).status == "True") != self.wish.suspended:
                return False
            if (self.wish.next.status() if self.wish.next else None) != self.prev.get("nextTransition"):
                return False
        return find_condition(self.prev_conditions, READY).status == "True" or self.stalled_on_fatal()

    def _wake_at(self) -> datetime | None:
        moments = []
        if self.wish is not None and self.wish.next is not None:
            moments.append(self.wish.next.at)
        previous = self.previous()
        if previous is not None and not previous.due(self.p.now):
            moments.append(previous.delete_after)
        elif previous is not None and self.o.wrote and self.o.error is None and self.deletable(previous):
            # due, but this pass wrote something else (one Azure write per pass): the next pass sends it.
            # Never when it cannot be sent (skip, a refused DELETE) or failed: that would be a loop
            moments.append(self.p.now)
        return min(moments, default=None)

    # --- the outcome -------------------------------------------------------------------------------------

    def outcome(
        self,
        health: Health,
        *,
        retry: Retry | None = None,
        error: dict[str, str] | None = None,
        **seen: Any,
    ) -> Outcome:
        o = self.o
        endpoint: VoiceEndpoint | None = seen.get("endpoint")
        candidate: VoiceEndpoint | None = seen.get("candidate")
        health = replace(health, suspended=self.wish_suspended())
        status: dict[str, Any] = {}
        keep = ("endpointId", "azureStatus", "projectId", "modelId", "createdAt", "lastActionAt", "operation")
        current = self.current_id()  # an adopted id is shown once a pass has read it and taken it over
        if endpoint is not None:
            self._describe(status, endpoint)
        elif current and str(self.prev.get("endpointId") or "").lower() == current and not o.seen(current):
            for key in keep:
                if key in self.prev:
                    status[key] = self.prev[key]
        elif current and not o.seen(current):
            status["endpointId"] = current
        if candidate is not None:
            status["newEndpoint"] = {"id": candidate.id, "azureStatus": candidate.status}
            operation = self._operation(candidate) if candidate.status in BUSY_STATUSES else None
            if operation is not None and "operation" not in status:
                status["operation"] = operation
        elif self.candidate_id() and not o.seen(self.candidate_id() or "") and "newEndpoint" in self.prev:
            status["newEndpoint"] = self.prev["newEndpoint"]
        previous = self.previous()
        if previous is not None:
            status["previousEndpoint"] = previous.status()
        if self.wish is not None and self.wish.next is not None:
            status["nextTransition"] = self.wish.next.status()
        self.common_status(status, error)
        health = self._with_availability(health, endpoint)
        conditions = self._suspended_as_read(truth_table(health, self.prev_conditions), health, endpoint)
        status = self.conclude(status, conditions)
        events = self._events(status, endpoint, health)
        return Outcome(
            status=status,
            events=tuple(events),
            retry=retry,
            wake_at=self._wake_at(),
            took=self._took(endpoint, candidate),
        )

    def _with_availability(self, health: Health, endpoint: VoiceEndpoint | None) -> Health:
        """An error leaves Available as before unless this pass read the endpoint, or found it gone (or
        deleted it, Failed): then nothing serves."""
        if health.available is not None or health.phase not in (Phase.RETRYING, Phase.STALLED):
            return health
        if endpoint is None:
            current = self.current_id() or self.r.adopted_endpoint_id
            gone = current is not None and self.o.seen(current) and self.o.endpoint(current) is None
            if self._vanished() is None and not gone:
                return health
            gone_message = "no endpoint serves: the last one is gone from Azure"
            return replace(health, available=False, available_message=gone_message)
        serving = endpoint.status == SUCCEEDED
        message = (
            f"endpoint {endpoint.id} serves model {endpoint.model_id}"
            if serving
            else (f"endpoint {endpoint.id} is {endpoint.status}")
        )
        return replace(health, available=serving, available_message=message)

    def _suspended_as_read(
        self, conditions: list[Condition], health: Health, endpoint: VoiceEndpoint | None
    ) -> list[Condition]:
        """Suspended says what this pass read while Stalled (an error otherwise leaves it as before): the
        schedule still suspends and resumes a stalled resource's endpoint (upkeep_allowed). And while a swap
        deploys beside a suspended endpoint, that one is still disabled as asked: True, not a false "running"
        for `kubectl wait` and alerts."""
        if (
            health.phase is Phase.REDEPLOYING
            and endpoint is not None
            and endpoint.status == DISABLED
            and self.wish_suspended()
        ):
            shown = Condition(SUSPENDED, "True", "Suspended", "disabled in Azure, as asked")
            return [shown if c.type == SUSPENDED else c for c in conditions]
        if health.phase is not Phase.STALLED or endpoint is None:
            return conditions
        # a resume or suspend under way is no endpoint disabled as asked: False, as in the table's rows
        if endpoint.status == DISABLED and self.wish_suspended():
            shown = Condition(SUSPENDED, "True", "Suspended", "disabled in Azure, as asked")
        else:
            shown = Condition(SUSPENDED, "False", "NotSuspended")
        return [shown if c.type == SUSPENDED else c for c in conditions]

    def _operation(self, endpoint: VoiceEndpoint) -> dict[str, str] | None:
        """The operation in flight on `endpoint`, by the Operation-Id sent (None when none is known, e.g.
        v3.0, which has no operations)."""
        action: Any = None
        if self.o.started is not None and self.o.started[0] == endpoint.id:
            operation_id: Any = self.o.started[1]
            action = self.o.acted or ("create" if self.o.created == endpoint.id else None)
        else:
            previous = self.prev.get("operation") or {}
            same = previous.get("endpointId") == endpoint.id
            operation_id, action = (previous.get("id"), previous.get("action")) if same else (None, None)
        if not operation_id:
            return None
        status = OPERATION_STATUS.get(endpoint.status, endpoint.status)
        operation = {"id": str(operation_id), "endpointId": endpoint.id, "status": status}
        if action in ("create", "suspend", "resume"):
            operation["action"] = str(action)
        return operation

    def _poll_delay(self, endpoint: VoiceEndpoint) -> float:
        """When to look again at `endpoint` while Azure works on it, timed from the start of the action
        in flight (the Operation-Id sent names it): a create from the endpoint's creation, a suspend or a
        resume from when Azure began it (lastActionDateTime of the state it entered)."""
        action = (self._operation(endpoint) or {}).get("action")
        since = endpoint.created_at if action == "create" else None
        since = since or endpoint.last_action_at or endpoint.created_at
        return reconcile_poll_delay(since, endpoint.retry_after, self.p, action)

    def _took(self, *seen: VoiceEndpoint | None) -> tuple[tuple[str, float], ...]:
        """The action the status followed in flight, if this pass sees it ended, with the seconds it took by
        Azure's clock (lastActionDateTime of the state it reached minus its start): what the polling of the
        next ones expects (runtime/durations.py)."""
        operation = self.prev.get("operation") or {}
        action = operation.get("action")
        if operation.get("status") not in IN_PROGRESS or action not in ENDED_BY:
            return ()
        for endpoint in seen:
            if endpoint is None or endpoint.id != operation.get("endpointId"):
                continue
            if endpoint.status != ENDED_BY[action] or endpoint.last_action_at is None:
                return ()
            if action == "create":
                start = endpoint.created_at
            elif self.prev.get("endpointId") == endpoint.id and self.prev.get("azureStatus") in BUSY_STATUSES:
                start = parse_time(str(self.prev.get("lastActionAt") or ""))  # when Azure began it
            else:
                start = None
            if start is None:
                return ()
            return ((str(action), (endpoint.last_action_at - start).total_seconds()),)
        return ()

    def _upkeep_ended(self, endpoint: VoiceEndpoint) -> list[Event]:
        """The end of a suspend or resume sent while Stalled (upkeep_allowed), seen in this pass: said as
        outside a stall, where Ready's turn to True says it (it stays False with the stall's reason here)."""
        operation = self.prev.get("operation") or {}
        action = operation.get("action")
        if operation.get("endpointId") != endpoint.id or operation.get("status") not in IN_PROGRESS:
            return []
        if action == "suspend" and endpoint.status == DISABLED:
            return [Event("Normal", "Suspended", f"endpoint {endpoint.id} is suspended")]
        if action == "resume" and endpoint.status == SUCCEEDED:
            return [Event("Normal", "Resumed", f"endpoint {endpoint.id} runs again")]
        return []

    def _resume_in_flight(self, endpoint: VoiceEndpoint) -> bool:
        """Whether the last operation recorded on `endpoint` is a resume: it survives a pass that failed to
        read Azure (a 429), where the Ready reason and the Azure status seen before do not."""
        operation = self.prev.get("operation") or {}
        return operation.get("action") == "resume" and operation.get("endpointId") == endpoint.id

    def _describe(self, status: dict[str, Any], endpoint: VoiceEndpoint) -> None:
        status["endpointId"] = endpoint.id
        status["azureStatus"] = endpoint.status
        if endpoint.project_id:
            status["projectId"] = endpoint.project_id
        if endpoint.model_id:
            status["modelId"] = endpoint.model_id
        for key, value in (("createdAt", endpoint.created_at), ("lastActionAt", endpoint.last_action_at)):
            if value is not None:
                status[key] = format_time(value)
        operation = self._operation(endpoint) if endpoint.status in BUSY_STATUSES else None
        if operation is not None:
            status["operation"] = operation

    def _events(
        self, status: Mapping[str, Any], endpoint: VoiceEndpoint | None, health: Health
    ) -> list[Event]:
        o, spec = self.o, self.r.spec
        events: list[Event] = []
        if o.created is not None:
            if self._vanished():
                events.append(
                    Event(
                        "Warning", "EndpointRecreated", "the endpoint was gone from Azure; creating a new one"
                    )
                )
            elif str(self.prev.get("endpointId") or "") and status.get("endpointId") != o.created:
                events.append(
                    Event(
                        "Normal",
                        "SwapStarted",
                        f"deploying endpoint {o.created} with model {spec.model_id if spec else '?'} to "
                        f"replace endpoint {self.prev.get('endpointId')}",
                    )
                )
            else:
                events.append(Event("Normal", "Created", f"created endpoint {o.created}"))
        previous_id = str(self.prev.get("endpointId") or "").lower()
        if endpoint is not None and previous_id and previous_id != endpoint.id.lower() and not o.created:
            after = self.previous()
            when = (
                f"; endpoint {previous_id} is deleted at {format_time(after.delete_after)}"
                if after and not after.due(self.p.now)
                else ""
            )
            events.append(
                Event(
                    "Normal",
                    "Swapped",
                    f"switched to endpoint {endpoint.id} (model {endpoint.model_id}){when}",
                )
            )
        events += self.adopted_event(endpoint.id if endpoint else None)
        for deleted, existed in o.deleted:
            what = (
                f"deleted endpoint {deleted} in Azure"
                if existed
                else f"endpoint {deleted} was already gone from Azure"
            )
            events.append(Event("Normal", "EndpointDeleted", what))
        if o.acted == "suspend" and endpoint is not None:
            events.append(Event("Normal", "Suspending", f"suspending endpoint {endpoint.id}"))
        if o.acted == "resume" and endpoint is not None:
            events.append(Event("Normal", "Resuming", f"resuming endpoint {endpoint.id}"))
        # Suspending and Resuming have their event from the action itself; the end of each has its own.
        if health.phase is Phase.STALLED and endpoint is not None:
            events += self._upkeep_ended(endpoint)
        was = find_condition(self.prev_conditions, READY).reason
        for event in self.ready_events(status, health):
            if event.reason in ("Suspending", "Resuming"):
                continue
            if event.reason == "Ready" and was == "Resuming":
                event = Event("Normal", "Resumed", f"endpoint {status.get('endpointId')} runs again")
            elif event.reason == "Ready" and was == "Suspending":
                event = Event("Normal", "Suspended", f"endpoint {status.get('endpointId')} is suspended")
            events.append(event)
        return events

    # --- deletion ----------------------------------------------------------------------------------------

    def deletion(self) -> Plan:
        r, o = self.r, self.o
        spec = r.deletion_spec
        owned: list[str] = []
        adopted = r.adopted_endpoint_id
        # an adopted endpoint gets no endpoint-id annotation: a status lost (a restore) must not hide it
        current = self.current_id() or adopted
        # the records decide (planner.owns), never the current error: an endpoint taken over or created
        # stays the resource's after a later AdoptedEndpointMismatch
        if current and self.ours(current):
            owned.append(current)
        discarding = self.discarding()
        for extra in (self.candidate_id(), self.previous_id(), discarding.id if discarding else None):
            if extra and extra not in owned:
                owned.append(extra)
        return plan_deletion(
            self,
            spec,
            Deletion(
                owned=owned,
                deleted={e: existed for e, existed in o.deleted},
                delete=DeleteEndpoint,
                named=adopted,
            ),
        )


__all__ = [
    "CANDIDATE_ANNOTATION",
    "PREVIOUS_ANNOTATION",
    "SEQUENCE_ANNOTATION",
    "AzureStep",
    "CreateEndpoint",
    "DeleteEndpoint",
    "GetEndpoint",
    "GetOperation",
    "Observed",
    "Plan",
    "Resource",
    "ResumeEndpoint",
    "Step",
    "SuspendEndpoint",
    "plan",
]
