"""What every kind's pure plan shares beyond reconcile.py's vocabulary: the checks that come before any Azure
call (an invalid spec or annotation, the reconcile policy), the rules about when Azure may be written (not
while Stalled on a fatal error for the same spec, not before the finalizer), how an error becomes the pass's
outcome, and deletion (whom to delete, when to orphan, how long to wait for credentials).

A kind subclasses `Planner` and supplies `outcome` (its status) and `poll_while_busy` (its polling), and
calls `plan_deletion` with the endpoints its resource owns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.conditions import (
    READY,
    STALLED,
    Condition,
    Health,
    Phase,
    find_condition,
    format_time,
    merge_conditions,
    transitions,
)
from azure_speech_operator.reconcile import (
    ADOPTED_ANNOTATION,
    CREATE_PENDING_ANNOTATION,
    FINALIZER_WAIT,
    INVALID_ANNOTATION,
    POLICY_ANNOTATION,
    REQUESTED_ANNOTATION,
    Event,
    Note,
    ObservedBase,
    Outcome,
    Pass,
    Policy,
    ResourceBase,
    Retry,
    Unexport,
    backoff,
    describe,
    invalid_annotation,
    parse_policy,
    parse_time,
    report_error,
    span,
    stalled_on_fatal,
)

ResourceT = TypeVar("ResourceT", bound=ResourceBase)
ObservedT = TypeVar("ObservedT", bound=ObservedBase)
StepT = TypeVar("StepT")

# the error classes of a pass cut short before it did what it set out to (retried, not given up)
_CUT_SHORT = frozenset(
    c.value for c in (ErrorClass.TRANSIENT, ErrorClass.WAITING, ErrorClass.BLOCKED, ErrorClass.NOT_FOUND)
)


# spec.endpointId names an endpoint another resource owns
ENDPOINT_IN_USE = "EndpointInUse"


def deploying(what: str, status: str, then: str = "") -> Health:
    """The health while Azure deploys a new endpoint, `what` (nothing of it serves yet); `then`: what the
    operator will do once it is done."""
    return Health(Phase.DEPLOYING, "Deploying", f"Azure is deploying {what} ({status}){then}")


def uses_secret(spec: Any) -> bool:
    """Whether a spec's credentials are a Secret (whose change retries a blocked resource at once)."""
    azure = getattr(spec, "azure", None)
    return azure is not None and azure.credentials.secret_ref is not None


class Planner(Generic[ResourceT, ObservedT]):
    """One pass's decisions about one resource; a kind's plan subclasses it."""

    # the kind's steps that write in Azure: one Azure refused with a blocked error (a quota) was tried
    write_steps: ClassVar[tuple[type, ...]] = ()

    def __init__(self, resource: ResourceT, observed: ObservedT, pass_: Pass) -> None:
        self.r = resource
        self.o = observed
        self.p = pass_
        self.prev: dict[str, Any] = dict(resource.status or {})
        self.prev_conditions: list[dict[str, Any]] = list(self.prev.get("conditions") or [])
        self.requested = resource.annotations.get(REQUESTED_ANNOTATION) or None
        self.requested_new = self.requested is not None and self.requested != self.prev.get(
            "reconcileRequestedAt"
        )
        self.policy = parse_policy(resource.annotations) or Policy.MANAGE

    def failed_write(self) -> bool:
        """Whether the step that ended the pass was one of the kind's Azure writes."""
        return any(self.o.failed_step == step.__name__ for step in self.write_steps)

    # --- to be supplied by the kind -----------------------------------------------------------------------

    def outcome(
        self,
        health: Health,
        *,
        retry: Retry | None = None,
        error: dict[str, str] | None = None,
        **seen: Any,
    ) -> Outcome:
        raise NotImplementedError

    def poll_while_busy(self, retry: Retry | None, **seen: Any) -> Retry | None:
        """An error does not stop watching Azure: the kind polls a deployment in flight meanwhile."""
        return retry

    @property
    def spec(self) -> Any:
        return getattr(self.r, "spec", None)

    # --- shared outcome pieces -----------------------------------------------------------------------------

    def common_status(self, status: dict[str, Any], error: dict[str, str] | None) -> None:
        """The status fields every kind writes the same way: the API version, the exported ConfigMap, the
        error and the reconcile request handled."""
        o, spec = self.o, self.spec
        if spec is not None:
            status["apiVersion"] = spec.azure.api_version
        elif "apiVersion" in self.prev:
            status["apiVersion"] = self.prev["apiVersion"]  # an invalid spec changes nothing in Azure
        if o.exported and spec is not None and spec.export_to is not None:
            status["exportedConfigMap"] = spec.export_to.config_map_name
        elif "exportedConfigMap" in self.prev and not o.unexported:
            status["exportedConfigMap"] = self.prev["exportedConfigMap"]
        if error is not None:
            status["error"] = error
        if self.requested is not None:
            # A new request is handled once a pass has tried what it asks: it wrote in Azure, or Azure refused
            # the write for good (a quota, a 400), or it ended without an error. One cut short before that by
            # a passing error (a 429 before a Failed endpoint's replacement) or a blocked read (a Secret
            # unreadable for a moment) is tried again by the next pass, not used up; once it wrote it is
            # used (a blocked error after a new deployment must not deploy again and again). An invalid
            # annotation stops a pass before anything: the request waits for it to be fixed.
            error_class = error.get("class") if error is not None else None
            refused = self.failed_write() and error_class == ErrorClass.BLOCKED.value
            stopped = error is not None and error.get("code") == INVALID_ANNOTATION
            cut_short = (error_class in _CUT_SHORT or stopped) and not self.o.wrote and not refused
            if not (self.requested_new and cut_short):
                status["reconcileRequestedAt"] = self.requested
            elif "reconcileRequestedAt" in self.prev:
                status["reconcileRequestedAt"] = self.prev["reconcileRequestedAt"]

    def conclude(self, status: dict[str, Any], conditions: Sequence[Condition]) -> dict[str, Any]:
        """The status with its conditions merged into the previous ones, observedGeneration, sorted."""
        r = self.r
        status["conditions"] = merge_conditions(
            self.prev_conditions, conditions, generation=r.generation, now=self.p.now
        )
        status["observedGeneration"] = r.generation
        return {k: status[k] for k in sorted(status)}

    def ready_events(self, status: Mapping[str, Any], health: Health) -> list[Event]:
        """An event for each change of Ready: Normal when it turns True or progresses, Warning on an
        error."""
        events: list[Event] = []
        for _old, new in transitions(self.prev_conditions, status["conditions"]):
            if new.type != READY:
                continue
            if new.status == "True":
                events.append(Event("Normal", "Ready", new.message or "ready"))
            elif health.phase in (Phase.STALLED, Phase.RETRYING):
                events.append(Event("Warning", new.reason, new.message))
            else:
                events.append(Event("Normal", new.reason, new.message))
        return events

    def stale_export(self) -> Unexport | None:
        """The ConfigMap exported before and no longer wanted (exportTo removed or renamed): deleted first,
        whatever Azure says or whether it can be read (it needs no Azure call)."""
        spec = self.spec
        wanted = spec.export_to.config_map_name if spec is not None and spec.export_to else None
        previous = self.prev.get("exportedConfigMap")
        # once: a failed delete ends the pass as its error (reported by the kind, retried with it)
        if previous and previous != wanted and not self.o.unexported and self.o.error is None:
            return Unexport(str(previous))
        return None

    # --- adoption -----------------------------------------------------------------------------------------

    def taken_over(self) -> bool:
        """Whether the endpoint named in spec.endpointId is the resource's (deleted with it): a pass read it
        and took it over (ADOPTED_ANNOTATION). One refused or never read is not, whatever errors came after
        and whatever the status names."""
        adopted: str | None = getattr(self.r, "adopted_endpoint_id", None)
        if not adopted:
            return False
        recorded = self.o.note(self.r.annotations, ADOPTED_ANNOTATION)
        if recorded is not None:
            return recorded.lower() == adopted
        # taken over by a version that wrote no annotation: shown, and no error since
        return str(self.prev.get("endpointId") or "").lower() == adopted and "error" not in self.prev

    def owns(self, endpoint_id: str | None, *, created: bool) -> bool:
        """Whether the resource owns `endpoint_id` (deleted with it, and kept up while it is Stalled): one
        the operator created for it (`created`: the kind's own record of that), or the endpoint named in
        spec.endpointId once a pass took it over (taken_over). Only those records count, never the current
        error: a take-over stays one whatever comes after (a later spec the endpoint does not match), and an
        endpoint refused or never read never becomes one."""
        if not endpoint_id:
            return False
        if created:
            return True
        adopted: str | None = getattr(self.r, "adopted_endpoint_id", None)
        # one another resource's claim wins over (claimed_elsewhere) is not this one's, even taken over
        return endpoint_id.lower() == adopted and self.taken_over() and adopted not in self.p.claimed

    def claimed_elsewhere(self, endpoint_id: str, **seen: Any) -> Outcome | None:
        """Stalled (blocked): the endpoint named in spec.endpointId is another resource's (it created or
        adopted it; where both took it over, the creator's or the older one's: runtime/claims.py). Taken
        over, it would have two owners, and the deletion of either would delete it under the other. Retried
        slowly: once that resource is gone (deleted with deletionPolicy Orphan), this one adopts it."""
        owner = self.p.claimed.get(endpoint_id.lower())
        if owner is None:
            return None
        message = (
            f"endpoint {endpoint_id} (spec.endpointId) belongs to {owner}, which created or adopted it: "
            f"two resources must not own one endpoint (deleting either would delete it for both); delete "
            f"{owner} with deletionPolicy: Orphan first to move it here, or remove spec.endpointId"
        )
        return self.error(OperatorError(ENDPOINT_IN_USE, message, ErrorClass.BLOCKED), **seen)

    def take_over(self, endpoint_id: str) -> Note | None:
        """The note that makes the adopted endpoint, just read and accepted, the resource's (once)."""
        if self.r.deleting or self.o.note(self.r.annotations, ADOPTED_ANNOTATION) == endpoint_id.lower():
            return None
        return Note(((ADOPTED_ANNOTATION, endpoint_id.lower()),), "taking over the adopted endpoint")

    def adopted_event(self, endpoint_id: str | None) -> list[Event]:
        """Adopted: posted by the pass that took the endpoint over."""
        adopted = getattr(self.r, "adopted_endpoint_id", None)
        noted = any(name == ADOPTED_ANNOTATION for name, _ in self.o.notes)
        if endpoint_id is not None and endpoint_id.lower() == adopted and noted:
            return [Event("Normal", "Adopted", f"adopted endpoint {endpoint_id} (spec.endpointId)")]
        return []

    def unknown_status(self, status: str) -> tuple[Health, Retry]:
        """Azure reports a status this operator does not know: shown, looked at again with backoff."""
        delay = backoff(
            self.p.attempt,
            self.p.timing.deploy_poll_interval.total_seconds(),
            self.p.timing.transient_backoff_cap.total_seconds(),
            self.p.jitter,
        )
        health = Health(Phase.RETRYING, "UnknownAzureStatus", f"Azure reports status {status!r}")
        return health, Retry(delay, f"unknown Azure status {status!r}")

    # --- shared checks ------------------------------------------------------------------------------------

    def refused(self) -> Outcome | None:
        """The outcome when nothing may be done at all: an invalid spec or annotation (Stalled)."""
        r = self.r
        if self.spec is None:
            return self.error(OperatorError("InvalidSpec", r.spec_error or "invalid spec", ErrorClass.FATAL))
        bad_annotation = invalid_annotation(r.annotations)
        if bad_annotation is not None:
            return self.error(
                OperatorError(
                    INVALID_ANNOTATION,
                    f"{bad_annotation}; nothing is written in Azure until it is fixed",
                    ErrorClass.FATAL,
                ),
                writes_blocked_by_policy=True,
            )
        return None

    def create_stopped(self, vanished: str | None) -> Outcome | None:
        """Why no endpoint is created in this pass (`vanished`: the one that was there is gone), or None."""
        if self.policy is Policy.SKIP:
            what = (
                f"endpoint {vanished} no longer exists in Azure" if vanished else "there is no endpoint yet"
            )
            return self.skipped(
                f"{what}; reconcile-policy is skip, so the operator does not create one",
                code="EndpointNotFound" if vanished else "NotCreated",
            )
        if not self.writes_allowed():
            return self.stay_stalled()
        if not self.r.has_finalizer:
            return self.waiting_for_finalizer()
        return None

    def stalled_on_fatal(self) -> bool:
        return stalled_on_fatal(self.prev, self.r.generation)

    def writes_allowed(self) -> bool:
        return not self.stalled_on_fatal() or self.requested_new

    def skipped(self, message: str, code: str = "ReconcileSkipped", **seen: Any) -> Outcome:
        """Azure differs from the spec but reconcile-policy is skip: shown, never written."""
        return self.error(
            OperatorError(code, message, ErrorClass.FATAL),
            writes_blocked_by_policy=True,
            **seen,
        )

    def waiting_for_finalizer(self) -> Outcome:
        health = Health(
            Phase.RETRYING, "WaitingForFinalizer", "waiting for the finalizer before writing to Azure"
        )
        return self.outcome(health, retry=Retry(FINALIZER_WAIT, "waiting for the finalizer"))

    def outcome_unchanged(self) -> Outcome:
        return Outcome(status=dict(self.prev))

    def create_in_flight_until(self) -> datetime | None:
        """Until when a create marked by another operator process (a replica that handed over while its
        create was under way, or this one before a restart) may still land in Azure: a lookup by its tag
        before then proves nothing, and a create after it would make a second endpoint. None once it cannot
        (the mark this process wrote: the pass that sent its create has ended)."""
        written, _ = self._mark()
        if not written or self.own_mark():
            return None
        at = parse_time(written)
        if at is None or at.tzinfo is None:
            return None  # not a time the operator wrote (edited by hand): looked up at once, as before
        until = at + self.p.timing.create_in_flight
        return until if until > self.p.now else None

    def own_mark(self) -> bool:
        """Whether this process wrote the create-pending mark (in this pass or an earlier one)."""
        if self.o.marked:
            return True
        process = self._mark()[1]
        return bool(process) and process == self.p.process

    def _mark(self) -> tuple[str, str]:
        """The create-pending mark as read: when, and by which process (`<time> <process>`; empty if none)."""
        written, _, process = (self.r.annotations.get(CREATE_PENDING_ANNOTATION) or "").partition(" ")
        return written, process

    def create_in_flight(self, until: datetime) -> Outcome:
        """Reconciling until the create another process sent can no longer be in flight."""
        health = Health(
            Phase.RETRYING,
            "CreateInFlight",
            "a create sent by another operator process (a replica that stopped, or this one before a "
            f"restart) may still be under way in Azure: its endpoint is looked up at {format_time(until)}",
        )
        return self.outcome(health, retry=Retry((until - self.p.now).total_seconds(), "a create in flight"))

    def stay_stalled(self, **seen: Any) -> Outcome:
        """Stalled on a fatal error, spec unchanged: report what is seen, write nothing, no come-back."""
        error = self.prev.get("error") or {}
        stalled = find_condition(self.prev_conditions, STALLED)
        code = str(error.get("code") or stalled.reason or "Stalled")
        message = str(error.get("message") or "")
        # shown as it was: a message that said what to do next itself got no "not retried until" after it
        next_step = stalled.message != message
        return self.error(OperatorError(code, message, ErrorClass.FATAL), next_step=next_step, **seen)

    def polling(self, health: Health, endpoint: Any, delay: float, **seen: Any) -> Outcome:
        """Azure is working on `endpoint` (deploying, updating, suspending, resuming): report `health`, look
        again after `delay`."""
        return self.outcome(
            health, endpoint=endpoint, retry=Retry(delay, f"Azure: {endpoint.status}"), **seen
        )

    def endpoint_id_conflict(self, adopted: str, created: str, **seen: Any) -> Outcome:
        """Stalled: spec.endpointId names another endpoint than the one the operator created."""
        message = (
            f"spec.endpointId is {adopted} but the operator created endpoint {created} for this resource; "
            "delete this resource (its endpoint follows deletionPolicy) and adopt instead"
        )
        return self.error(OperatorError("EndpointIdConflict", message, ErrorClass.FATAL), **seen)

    def adopted_not_found(self, adopted: str) -> Outcome:
        """Stalled: the adopted endpoint is not in Azure; it is never recreated."""
        message = (
            f"the adopted endpoint {adopted} (spec.endpointId) does not exist in Azure; it is never "
            "recreated: recreate this resource with another endpointId, or delete it"
        )
        return self.error(OperatorError("AdoptedEndpointNotFound", message, ErrorClass.FATAL))

    def error(
        self,
        error: OperatorError,
        *,
        credentials: bool = False,
        writes_blocked_by_policy: bool = False,
        next_step: bool = True,
        **seen: Any,
    ) -> Outcome:
        """The outcome of an error (reconcile.report_error), still polling a deployment in flight. A passing
        error of a resource Stalled on a fatal one for this spec (a Secret unreadable for a moment, a 429)
        leaves the fatal one shown: in its place it would lift the stall, and the next pass would write in
        Azure again (a failed voice deployment deployed anew) with no spec change or request."""
        if (
            error.error_class is not ErrorClass.FATAL
            and not writes_blocked_by_policy
            and not self.r.deleting
            and not self.writes_allowed()
        ):
            return self.stay_stalled(**seen)
        report = report_error(
            error,
            self.p,
            credentials=credentials,
            uses_secret=uses_secret(self.spec),
            writes_blocked_by_policy=writes_blocked_by_policy,
            next_step=next_step,
        )
        retry = self.poll_while_busy(report.retry, **seen)
        return self.outcome(report.health, retry=retry, error=report.status_error, **seen)


# ---------------------------------------------------------------------------------------------------------
# Deletion


@dataclass(frozen=True)
class Deletion(Generic[StepT]):
    """What a kind's deletion has found out in this pass.

    `owned`: the endpoints the resource owns, in the order to delete them (never one it merely names).
    `deleted`: those deleted in this pass (id -> whether it still existed). `unknown`: a description of an
    endpoint a create may have made whose id is not known yet, and `lookup` the step that finds it (None once
    looked). `named`: spec.endpointId, for the note that an endpoint never adopted is left alone.
    """

    owned: Sequence[str]
    deleted: Mapping[str, bool]
    delete: Callable[[str], StepT]
    unknown: str | None = None
    lookup: StepT | None = None
    named: str | None = None
    in_flight_until: datetime | None = None  # the lookup waits until the create can no longer land


def plan_deletion(planner: Planner[Any, Any], spec: Any, deletion: Deletion[StepT]) -> StepT | Outcome:
    """The deletion of a resource: orphan what it owns when asked (or when its spec cannot say where it
    is), else delete each owned endpoint, waiting a bounded time for credentials, retrying failures
    visibly; release when done. `spec` is what deletion needs of the spec (None if unreadable)."""
    r, o, p = planner.r, planner.o, planner.p
    policy = parse_policy(r.annotations)
    owned = list(deletion.owned)
    unadopted = deletion.named if deletion.named and deletion.named not in owned else None

    def release(*events: Event, orphaned: Sequence[str] = ()) -> Outcome:
        if unadopted:
            note = (
                f"endpoint {unadopted} (spec.endpointId) was never adopted by this resource: left in Azure "
                "untouched"
            )
            events += (Event("Normal", "NotAdopted", note),)
        return Outcome(
            status=planner.prev, events=tuple(events), release=True, orphaned_endpoints=tuple(orphaned)
        )

    def named(ids: Sequence[str]) -> str:
        return ("endpoint " if len(ids) == 1 else "endpoints ") + ", ".join(ids)

    if spec is None or policy is None or policy is not Policy.MANAGE or spec.deletion_policy == "Orphan":
        if not owned and deletion.unknown is None:
            return release()
        why = (
            f"the spec is invalid ({r.spec_error})"
            if spec is None
            else f"{POLICY_ANNOTATION} is {r.annotations.get(POLICY_ANNOTATION)!r}"
            if policy is not Policy.MANAGE
            else "deletionPolicy is Orphan"
        )
        what = named(owned) if owned else "any endpoint created for it"
        # Asked for (Orphan, detach-on-delete, skip): a Normal event. Otherwise nobody chose to keep it: a
        # Warning, and the orphaned-endpoints metric (the one to alert on) counts it.
        unintended = spec is None or policy is None
        kind: Literal["Normal", "Warning"] = "Warning" if unintended else "Normal"
        event = Event(kind, "Orphaned", f"left {what} in Azure: {why}")
        return release(event, orphaned=(owned or ["unknown"]) if unintended else ())

    remaining = [e for e in owned if e not in deletion.deleted]
    if not remaining and deletion.unknown is None:
        events = [
            Event("Normal", "EndpointAlreadyGone", f"endpoint {e} was already gone from Azure")
            if not existed
            else Event("Normal", "Deleted", f"deleted endpoint {e} in Azure")
            for e, existed in deletion.deleted.items()
        ]
        return release(*events)
    if o.credentials_error is not None:
        assert r.deletion_timestamp is not None
        waited = p.now - r.deletion_timestamp
        if waited >= p.timing.deletion_credentials_wait or o.credentials_final:
            what = named(remaining) if remaining else str(deletion.unknown)
            why = (
                "the namespace is being deleted, so its credentials cannot come back"
                if o.credentials_final
                else f"credentials unavailable for {int(waited.total_seconds())}s"
            )
            return release(
                Event(
                    "Warning",
                    "OrphanedEndpoint",
                    f"released without deleting {what} in Azure: {why} ({o.credentials_error})",
                ),
                orphaned=remaining or ["unknown"],
            )
        left = (p.timing.deletion_credentials_wait - waited).total_seconds()
        # Missing or forbidden credentials wait for a Secret event or the slow interval; a failure to read
        # them (the apiserver down or answering 500 for a moment) is retried with backoff like any other.
        missing = o.credentials_error.error_class is ErrorClass.BLOCKED
        interval = p.timing.credentials_retry_interval.total_seconds()
        retried = (
            f"retried every {span(p.timing.credentials_retry_interval)}"
            if missing
            else "retried with backoff"
        )
        waiting = OperatorError(
            o.credentials_error.reason,
            f"{describe(o.credentials_error)}; deleting the endpoint waits for them: {retried}, released "
            f"without deleting it after {span(p.timing.deletion_credentials_wait)}",
            o.credentials_error.error_class,
        )
        outcome = planner.error(waiting, credentials=True, next_step=False)
        if not missing and outcome.retry is not None:
            interval = outcome.retry.delay  # the transient backoff report_error chose
        delay = min(interval, max(left, 1.0))
        return replace(outcome, retry=Retry(delay, "credentials for the deletion"))
    if o.error is not None:
        error = o.error
        doing = f"deleting endpoint {remaining[0]}" if remaining else f"looking up {deletion.unknown}"
        message = (
            f"{doing} failed: {describe(error)}; retried with backoff (set "
            f"{POLICY_ANNOTATION}=detach-on-delete to leave it in Azure)"
        )
        cls = error.error_class if error.error_class is not ErrorClass.FATAL else ErrorClass.BLOCKED
        shown = OperatorError(error.reason, message, cls, retry_after=error.retry_after)
        outcome = planner.error(shown, next_step=False)
        # One Warning when the failure is new, then silence: new to the condition (the outcome's own events
        # say so), or to the deletion (an error of the same code before it began shows no event of its own)
        # (not by the whole message: Azure's request id in it is new at every answer)
        before = planner.prev.get("error") or {}
        first = before.get("code") != error.reason or not str(before.get("message", "")).startswith(doing)
        if any(e.type == "Warning" for e in outcome.events) or first:
            return replace(outcome, events=(Event("Warning", "DeleteFailed", message),))
        return replace(outcome, events=())
    if remaining:
        return deletion.delete(remaining[0])
    if deletion.lookup is not None:
        if deletion.in_flight_until is not None:
            return planner.create_in_flight(deletion.in_flight_until)
        return deletion.lookup
    return release()  # the create never happened
