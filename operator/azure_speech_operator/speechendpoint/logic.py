"""The SpeechEndpoint reconcile logic: one pure, level-based decision function.

`plan(resource, observed, pass_)` looks at the resource (spec, annotations, previous status) and at what this
pass has observed so far (credentials, the endpoint, the model, the results of earlier steps) and returns
either the next step to take (a read or a write, in Azure or on the resource) or the pass's `Outcome`: the
new status, the events to post, when to come back, and (when deleting) whether to release the resource.

The runtime is an interpreter: it runs the step (this kind's Azure steps in steps.py, the steps on the
resource itself in the runtime), folds its result into `Observed` and asks again, so every rule of
docs/speechendpoint.md lives here and is unit-tested without Kubernetes or Azure. What every kind shares
(annotations, triggers, outcomes, how errors are classified) is in reconcile.py. The order of the checks
encodes the safety rules: no Azure write before the finalizer; the create-pending mark is written before a
POST and a create whose outcome is unknown is looked up (by the uid marker) before creating again; at most
one Azure write per pass; no writes while Stalled on a fatal error unless the spec changed or a reconcile is
requested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from azure_speech_operator.azure.config import regional_base_url
from azure_speech_operator.azure.types import (
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    ErrorClass,
    ModelRef,
    OperatorError,
    SpeechEndpoint,
    SpeechEndpointCreate,
    SpeechEndpointUpdate,
    SpeechModel,
)
from azure_speech_operator.conditions import (
    MODEL_EXPIRED,
    MODEL_EXPIRING,
    READY,
    Condition,
    Health,
    Phase,
    find_condition,
    format_time,
    transitions,
    truth_table,
)
from azure_speech_operator.planner import (
    Deletion,
    Planner,
    deploying,
    plan_deletion,
)
from azure_speech_operator.reconcile import (
    CREATE_PENDING_ANNOTATION,
    ENDPOINT_ID_ANNOTATION,
    TRANSIENT_BACKOFF_BASE,
    ClearCreatePending,
    DeleteEndpoint,
    Event,
    Export,
    GetEndpoint,
    MarkCreatePending,
    ObservedBase,
    Outcome,
    Pass,
    Policy,
    RecordEndpointId,
    ResourceStep,
    Retry,
    SpecResource,
    Trigger,
    backoff,
    create_refused,
    expiring_model,
    parse_time,
    poll_delay,
)
from azure_speech_operator.speechendpoint.spec import (
    MARKER_KEY,
    DeletionSpec,
    SpeechEndpointSpec,
)

# Ready's reason between deleting a Failed endpoint and creating its replacement.
REPLACING = "ReplacingFailedEndpoint"
LOCALE_MISMATCH = "LocaleMismatch"
# A model read that failed is tried again after this share of the model check interval (30 min of a day's)
MODEL_READ_RETRIES = 48


# ---------------------------------------------------------------------------------------------------------
# Inputs


# The SpeechEndpoint as read at the start of the pass.
Resource = SpecResource[SpeechEndpointSpec, DeletionSpec]


@dataclass(frozen=True)
class Observed(ObservedBase):
    """What the pass has seen and done so far; the runtime folds each step's result in."""

    endpoint: SpeechEndpoint | None = None
    endpoint_known: bool = False  # `endpoint` holds an answer (None: not in Azure)
    serving_before: ModelRef | None = None  # the model of the endpoint while it was Succeeded, before a write
    looked_up: bool = False
    model: SpeechModel | None = None
    model_known: bool = False
    model_error: OperatorError | None = None
    created: bool = False
    updated_fields: tuple[str, ...] = ()
    deleted: bool = False
    already_gone: bool = False  # the DELETE answered 404: the endpoint was gone before it
    deletions: tuple[tuple[str, bool], ...] = ()  # (endpoint id, whether it existed) of each DELETE

    @property
    def wrote(self) -> bool:
        return self.created or bool(self.updated_fields) or self.deleted


# ---------------------------------------------------------------------------------------------------------
# Steps in Azure (steps.py performs them); the steps on the resource itself are reconcile's


@dataclass(frozen=True)
class FindByMarker:
    """List the endpoints for the one tagged with this resource's uid (a create whose outcome is unknown)."""

    key: str
    value: str
    locale: str | None


@dataclass(frozen=True)
class GetModel:
    ref: ModelRef


@dataclass(frozen=True)
class CreateEndpoint:
    body: SpeechEndpointCreate


@dataclass(frozen=True)
class UpdateEndpoint:
    endpoint_id: str
    changes: SpeechEndpointUpdate
    fields: tuple[str, ...]


AzureStep = GetEndpoint | FindByMarker | GetModel | CreateEndpoint | UpdateEndpoint | DeleteEndpoint
Step = AzureStep | ResourceStep
AZURE_WRITES = (CreateEndpoint, UpdateEndpoint, DeleteEndpoint)
Plan = Step | Outcome


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _model_dict(ref: ModelRef | None) -> dict[str, str] | None:
    return None if ref is None else {"id": ref.id, "kind": ref.kind}


def _model_from_status(value: Any) -> ModelRef | None:
    if isinstance(value, Mapping) and value.get("id") and value.get("kind") in ("base", "custom"):
        return ModelRef(id=str(value["id"]).lower(), kind=value["kind"])
    return None


def _same_model(a: ModelRef | None, b: ModelRef | None) -> bool:
    return a is not None and b is not None and a.id.lower() == b.id.lower() and a.kind == b.kind


def desired_display_name(resource: Resource, *, created_by_operator: bool) -> str | None:
    """The displayName wanted in Azure, or None when it is not managed: an adopted endpoint keeps the name
    it has in Azure unless spec.displayName is set (adopting must not rename it behind the user's back)."""
    assert resource.spec is not None
    if resource.spec.display_name is not None:
        return resource.spec.display_name
    return resource.name if created_by_operator else None


def desired_custom_properties(
    resource: Resource, current: Mapping[str, str] | None, *, created_by_operator: bool
) -> dict[str, str] | None:
    """The whole customProperties map wanted in Azure, or None when it is not managed.

    Set in the spec: exactly that map, plus the marker on endpoints the operator created. Unset: Azure's map
    is left alone, except that an operator-created endpoint keeps its marker.
    """
    assert resource.spec is not None
    if resource.spec.custom_properties is not None:
        wanted = dict(resource.spec.custom_properties)
    elif created_by_operator:
        wanted = {k: v for k, v in (current or {}).items() if k != MARKER_KEY}
    else:
        return None
    if created_by_operator:
        wanted[MARKER_KEY] = resource.uid
    return wanted


def create_body(resource: Resource) -> SpeechEndpointCreate:
    spec = resource.spec
    assert spec is not None
    properties = desired_custom_properties(resource, None, created_by_operator=True)
    return SpeechEndpointCreate(
        display_name=desired_display_name(resource, created_by_operator=True) or resource.name,
        description=spec.description,
        locale=spec.locale,
        model=spec.model.ref(),
        project_id=spec.project_id.lower() if spec.project_id else None,
        custom_properties=properties or {},
        logging_enabled=bool(spec.logging_enabled),
    )


def compute_changes(
    resource: Resource, endpoint: SpeechEndpoint, *, created_by_operator: bool
) -> tuple[SpeechEndpointUpdate, tuple[str, ...]]:
    """Only the fields that differ between the spec and Azure (spec field names, for messages)."""
    spec = resource.spec
    assert spec is not None
    changes: dict[str, Any] = {}
    names: list[str] = []
    wanted_model = spec.model.ref()
    if not _same_model(wanted_model, endpoint.model):
        changes["model"] = wanted_model
        names.append("model")
    display_name = desired_display_name(resource, created_by_operator=created_by_operator)
    if display_name is not None and endpoint.display_name != display_name:
        changes["display_name"] = display_name
        names.append("displayName")
    if spec.description is not None and (endpoint.description or "") != spec.description:
        changes["description"] = spec.description
        names.append("description")
    if spec.project_id is not None and (endpoint.project_id or "").lower() != spec.project_id.lower():
        changes["project_id"] = spec.project_id.lower()
        names.append("projectId")
    if spec.logging_enabled is not None and endpoint.logging_enabled != spec.logging_enabled:
        changes["logging_enabled"] = spec.logging_enabled
        names.append("loggingEnabled")
    wanted_properties = desired_custom_properties(
        resource, endpoint.custom_properties, created_by_operator=created_by_operator
    )
    if wanted_properties is not None and dict(endpoint.custom_properties) != wanted_properties:
        changes["custom_properties"] = wanted_properties
        names.append("customProperties")
    return SpeechEndpointUpdate(**changes), tuple(names)


# what is known of a model's end date, kept on the serving model while another one deploys
_EXPIRY_KEYS = ("transcriptionExpiresAt", "checkedAt")


def export_data(resource: Resource, endpoint: SpeechEndpoint, host: str) -> dict[str, str]:
    """What applications need: the endpoint id, the host, and the links Azure returns."""
    assert resource.spec is not None
    data = {
        "endpointId": endpoint.id,
        "host": host,
        "locale": endpoint.locale,
        "apiVersion": resource.spec.azure.api_version,
    }
    for name, url in sorted(endpoint.links.items()):
        if re.fullmatch(r"[-._a-zA-Z0-9]+", name):
            data[name] = url
    return data


# ---------------------------------------------------------------------------------------------------------
# The plan


def plan(resource: Resource, observed: Observed, pass_: Pass) -> Plan:
    if resource.deleting:
        return _plan_deletion(resource, observed, pass_)
    return _Reconcile(resource, observed, pass_).plan()


class _Reconcile(Planner[Resource, Observed]):
    write_steps = AZURE_WRITES

    # --- decisions ---------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        r, o = self.r, self.o
        refused = self.refused()
        if refused is not None:
            return refused
        assert r.spec is not None
        if self.p.trigger is Trigger.RESUME and self._settled() and not self._model_due():
            # the wake-ups for the model's moments are this process's own: set again, or the next change of
            # ModelExpiring / ModelExpired would wait for a drift check
            return replace(self.outcome_unchanged(), wake_at=self._model_wake_at(self.prev))
        unexport = self.stale_export()
        if unexport is not None:
            return unexport

        adopted = r.spec.adopted_endpoint_id
        created = self.created_id()
        if adopted and created and adopted != created:
            if not o.endpoint_known and o.credentials_error is None and o.error is None:
                return GetEndpoint(created)  # still reported while Stalled
            seen = o.endpoint if o.endpoint_known else None
            serving = self.serving_model(seen) if seen else None
            return self.endpoint_id_conflict(adopted, created, endpoint=seen, serving=serving)
        if o.credentials_error is not None:
            return self.error(o.credentials_error, credentials=True)
        if o.error is not None:
            if o.failed_step == CreateEndpoint.__name__ and create_refused(o.error) and self.pending():
                return ClearCreatePending()
            seen = o.endpoint if o.endpoint_known else None
            serving = self.serving_model(seen) if seen else None
            # exportTo renamed in the apply whose change Azure refused: the old ConfigMap is gone
            # (stale_export), and applications get the new one now, not at the next pass Azure lets through
            renamed = r.spec.export_to is not None and self.prev.get("exportedConfigMap") not in (
                None,
                r.spec.export_to.config_map_name,
            )
            if seen is not None and renamed and o.failed_step == UpdateEndpoint.__name__:
                export = self.export(seen, serving)
                if export is not None:
                    return export
            return self.error(o.error, endpoint=seen, serving=serving)

        if adopted and created is None and (self.pending() or o.looked_up):
            return self.pending_before_adoption()
        endpoint_id = adopted or created
        if endpoint_id is not None:
            if not o.endpoint_known:
                return GetEndpoint(endpoint_id)
            if o.endpoint is not None:
                return self.existing(o.endpoint, created_by_operator=endpoint_id == created)
            if adopted:
                return self.adopted_not_found(adopted)
            return self.create(vanished=created)

        # Nothing recorded: a create may have happened without us learning its id.
        if o.endpoint_known and o.endpoint is not None:
            return RecordEndpointId(o.endpoint.id)
        if self.pending() and not o.looked_up and not o.marked:
            return self.look_up(r.spec.locale)
        return self.create(vanished=None)

    def look_up(self, locale: str) -> Plan:
        """The endpoint a create of unknown outcome may have made, by its tag: once it cannot be in flight."""
        until = self.create_in_flight_until()
        if until is not None:
            return self.create_in_flight(until)
        return FindByMarker(MARKER_KEY, self.r.uid, locale)

    def pending_before_adoption(self) -> Plan:
        """A create whose outcome is unknown, then spec.endpointId set: the endpoint the create may have made
        is looked up by its tag first. Found, it is the resource's (recorded: EndpointIdConflict with the
        adopted one, and deleted with the resource); not found, the mark goes and the next pass adopts."""
        r, o = self.r, self.o
        assert r.spec is not None
        if not o.looked_up:
            return self.look_up(r.spec.locale)
        if o.endpoint is not None:
            return RecordEndpointId(o.endpoint.id)
        if self.pending():
            return ClearCreatePending()
        # this pass's answer is the lookup's: the adopted endpoint is read by the next one
        return replace(self.outcome_unchanged(), retry=Retry(1.0, "reading the adopted endpoint"))

    def create(self, *, vanished: str | None) -> Plan:
        stopped = self.create_stopped(vanished)
        if stopped is None:
            return self.create_step(vanished)
        if self.o.looked_up and self.o.endpoint is None and self.pending():
            return ClearCreatePending()  # the lookup found nothing and no create follows: stop looking
        return stopped

    def create_step(self, vanished: str | None) -> Plan:
        r, o = self.r, self.o
        if vanished and not o.forgot_id:
            return MarkCreatePending(forget_endpoint_id=True)
        if not o.marked:
            # a fresh mark for every create: one sent under an older mark (another process's, or this
            # process's from an earlier create) would leave a process taking over no time to wait for it
            return MarkCreatePending()
        if o.wrote:  # one Azure write per pass
            return self.outcome(
                Health(Phase.DEPLOYING, "Deploying", "creating the endpoint"),
                retry=Retry(1.0, "the create follows"),
            )
        return CreateEndpoint(create_body(r))

    def existing(self, endpoint: SpeechEndpoint, *, created_by_operator: bool) -> Plan:
        r, o = self.r, self.o
        assert r.spec is not None
        if endpoint.locale.lower() != r.spec.locale.lower():
            return self.error(
                OperatorError(
                    LOCALE_MISMATCH,
                    f"endpoint {endpoint.id} has locale {endpoint.locale} but spec.locale is "
                    f"{r.spec.locale}; Azure cannot change an endpoint's locale",
                    ErrorClass.FATAL,
                ),
                endpoint=endpoint,
                serving=self.serving_model(endpoint),
            )
        if not created_by_operator:
            claimed = self.claimed_elsewhere(
                endpoint.id, endpoint=endpoint, serving=self.serving_model(endpoint)
            )
            if claimed is not None:
                return claimed
            take_over = self.take_over(endpoint.id)
            if take_over is not None:
                return take_over
        if endpoint.model is not None and self.needs_model_read(endpoint.model):
            return GetModel(endpoint.model)

        changes, fields = compute_changes(r, endpoint, created_by_operator=created_by_operator)
        busy = endpoint.status in IN_PROGRESS
        can_patch = endpoint.status == SUCCEEDED or (endpoint.status == FAILED and "model" in fields)
        if fields and can_patch and self.policy is not Policy.SKIP and self.writes_allowed() and not o.wrote:
            if not r.has_finalizer:
                return self.waiting_for_finalizer()
            return UpdateEndpoint(endpoint.id, changes, fields)

        serving = self.serving_model(endpoint)
        export = self.export(endpoint, serving)
        if export is not None:
            return export
        if busy:
            delay = self.poll_delay(endpoint)
            waiting = f"; then: {', '.join(fields)}" if fields and not o.wrote else ""
            if serving is not None and not _same_model(serving, endpoint.model):
                health = Health(
                    Phase.REDEPLOYING,
                    "Redeploying",
                    f"Azure is deploying model {_ref_text(endpoint.model)} ({endpoint.status}); model "
                    f"{_ref_text(serving)} keeps serving{waiting}",
                    available_message=f"model {_ref_text(serving)} is serving",
                )
            elif serving is not None:
                health = Health(
                    Phase.REDEPLOYING,
                    "Updating",
                    f"Azure is applying changes ({endpoint.status}){waiting}",
                    available_message=f"model {_ref_text(serving)} is serving",
                )
            else:
                health = deploying("the endpoint", endpoint.status, waiting)
            return self.polling(health, endpoint, delay, serving=serving)

        if endpoint.status == FAILED:
            return self.failed(endpoint, serving, created_by_operator=created_by_operator)

        if endpoint.status != SUCCEEDED:
            health, retry = self.unknown_status(endpoint.status)
            return self.outcome(health, endpoint=endpoint, serving=serving, retry=retry)

        if fields:
            differs = f"differs from the spec in Azure: {', '.join(fields)}"
            if self.policy is Policy.SKIP:
                return self.skipped(
                    f"{differs}; reconcile-policy is skip", endpoint=endpoint, serving=serving
                )
            if not self.writes_allowed():
                return self.stay_stalled(endpoint=endpoint, serving=serving)
            if not r.has_finalizer:
                return self.waiting_for_finalizer()
            # Written in this pass, yet Azure's answer still differs: look again shortly.
            delay = backoff(
                self.p.attempt,
                TRANSIENT_BACKOFF_BASE,
                self.p.timing.transient_backoff_cap.total_seconds(),
                self.p.jitter,
            )
            health = Health(Phase.RETRYING, "Updating", differs, available=True)
            return self.outcome(
                health, endpoint=endpoint, serving=serving, retry=Retry(delay, "confirming the update")
            )

        return self.outcome(
            Health(Phase.READY, "Ready", f"endpoint {endpoint.id} serves model {_ref_text(endpoint.model)}"),
            endpoint=endpoint,
            serving=serving,
        )

    def failed(
        self, endpoint: SpeechEndpoint, serving: ModelRef | None, *, created_by_operator: bool
    ) -> Plan:
        """A Failed deployment. Re-sending the same model is a no-op in Azure, so a retry asked for with
        reconcile-requested-at replaces the endpoint: deleted here (freeing its deployment slot), created
        anew by the next pass (the vanished-endpoint path). Only an endpoint the operator created and that
        serves nothing: an adopted one is not the operator's to replace, and deleting one whose previous
        model still serves would cut the service."""
        r, o = self.r, self.o
        code = (endpoint.error.code if endpoint.error else None) or "DeploymentFailed"
        message = (endpoint.error.message if endpoint.error else None) or "the deployment failed in Azure"
        replaceable = created_by_operator and serving is None and self.policy is Policy.MANAGE
        if o.deleted:
            done = "was already gone from Azure" if o.already_gone else "was deleted"
            health = Health(
                Phase.DEPLOYING,
                REPLACING,
                f"the failed endpoint {endpoint.id} ({code}) {done}; a new endpoint is created next",
            )
            return self.outcome(health, retry=Retry(1.0, "the create follows"))
        if replaceable and self.requested_new and not o.wrote:
            if not r.has_finalizer:
                return self.waiting_for_finalizer()
            return DeleteEndpoint(endpoint.id)
        if replaceable:
            hint = "change spec.model, or set the reconcile-requested-at annotation to replace the endpoint"
        elif serving is not None:
            hint = f"model {_ref_text(serving)} keeps serving; change spec.model to deploy another"
        elif created_by_operator:
            hint = f"change spec.model (reconcile-policy {self.policy.value} never replaces the endpoint)"
        else:
            hint = "change spec.model (an adopted endpoint is never replaced)"
        text = f"endpoint {endpoint.id} failed: {message.rstrip('. ')}; {hint}"
        error = OperatorError(code, text, ErrorClass.FATAL)
        return self.error(error, endpoint=endpoint, serving=serving, next_step=False)

    # --- predicates --------------------------------------------------------------------------------------

    def created_id(self) -> str | None:
        if self.o.recorded_id:
            return self.o.recorded_id
        if self.o.forgot_id:
            return None
        recorded = self.r.annotations.get(ENDPOINT_ID_ANNOTATION)
        if recorded:
            return recorded.lower()
        # An object restored with status only: trust status unless adopted. Never while a create is pending:
        # status may still name an endpoint that vanished and is being replaced.
        if CREATE_PENDING_ANNOTATION in self.r.annotations:
            return None
        in_status = self.prev.get("endpointId")
        adopted = self.r.adopted_endpoint_id
        if isinstance(in_status, str) and in_status and in_status.lower() != adopted:
            return in_status.lower()
        return None

    def pending(self) -> bool:
        """Whether the create-pending mark is on (a create whose outcome is unknown may have happened)."""
        if self.o.unmarked or self.o.recorded_id:
            return False
        return self.o.marked or CREATE_PENDING_ANNOTATION in self.r.annotations

    def owned_id(self) -> str | None:
        """The endpoint this resource owns: the one it created, or the one it adopted once a pass read it in
        Azure and took it over (ADOPTED_ANNOTATION; a locale mismatch at adoption refuses it, so it is never
        taken over). An id merely named in spec.endpointId (never read, refused, or in conflict with the
        created one) is not. The record decides, not the current error: an endpoint taken over stays the
        resource's after a later LocaleMismatch."""
        created = self.created_id()
        if created is not None:
            return created
        adopted = self.r.adopted_endpoint_id
        return adopted if self.owns(adopted, created=False) else None

    def _settled(self) -> bool:
        """At operator start: nothing in flight and status current, so no Azure call (the drift check will
        look later, jittered): keeps a restart from becoming a burst of N calls."""
        if self.requested_new or CREATE_PENDING_ANNOTATION in self.r.annotations:
            return False
        if self.prev.get("observedGeneration") != self.r.generation:
            return False
        if self.prev.get("azureStatus") in IN_PROGRESS:
            return False  # a deployment in flight is polled, Stalled or not
        ready = find_condition(self.prev_conditions, READY).status == "True"
        return ready or self.stalled_on_fatal()

    def needs_model_read(self, ref: ModelRef) -> bool:
        if self.o.model_known or self.o.model_error is not None:
            return False
        known = self.prev.get("model") or {}
        if not _same_model(_model_from_status(known), ref):
            return True
        failed = parse_time(known.get("readFailedAt"))
        if (
            failed is not None
            and self.p.now - failed < self.p.timing.model_check_interval / MODEL_READ_RETRIES
        ):
            return False  # a read that keeps failing (a model deleted, no rights) is not repeated every poll
        checked = parse_time(known.get("checkedAt"))
        return checked is None or self.p.now - checked >= self.p.timing.model_check_interval

    def export(self, endpoint: SpeechEndpoint, serving: ModelRef | None) -> Export | None:
        """The ConfigMap of spec.exportTo, once a pass; for an endpoint that serves (a Failed redeploy whose
        old model still answers is one applications use)."""
        spec, o = self.r.spec, self.o
        assert spec is not None
        if spec.export_to is None or o.exported or (endpoint.status == FAILED and serving is None):
            return None
        region = spec.azure.region
        host = regional_base_url(self.p.timing.region_url, region) if region else spec.azure.target().base_url
        return Export(spec.export_to.config_map_name, export_data(self.r, endpoint, host))

    def serving_model(self, endpoint: SpeechEndpoint) -> ModelRef | None:
        if endpoint.status == SUCCEEDED:
            return endpoint.model
        if self.o.serving_before is not None:
            return self.o.serving_before
        if str(self.prev.get("endpointId") or "").lower() != endpoint.id.lower():
            return None  # a new (recreated) endpoint serves nothing until it succeeds
        return _model_from_status(self.prev.get("servingModel"))

    # --- outcomes ----------------------------------------------------------------------------------------

    def poll_while_busy(self, retry: Retry | None, **seen: Any) -> Retry | None:
        """An error does not stop watching Azure: while the endpoint deploys, its status is still polled."""
        endpoint: SpeechEndpoint | None = seen.get("endpoint")
        if endpoint is None or endpoint.status not in IN_PROGRESS:
            return retry
        poll = self.poll_delay(endpoint)
        if retry is not None and retry.delay <= poll:
            return retry
        return Retry(poll, f"Azure is deploying ({endpoint.status})")

    def poll_delay(self, endpoint: SpeechEndpoint) -> float:
        """When to look again at a deployment in flight (reconcile.poll_delay): a write in this pass has
        just started the action."""
        since = self.p.now if self.o.wrote else endpoint.last_action_at or endpoint.created_at
        return poll_delay(since, endpoint.retry_after, self.p)

    def outcome(
        self,
        health: Health,
        *,
        endpoint: SpeechEndpoint | None = None,
        serving: ModelRef | None = None,
        retry: Retry | None = None,
        error: dict[str, str] | None = None,
        **_: Any,
    ) -> Outcome:
        o = self.o
        health = self._with_availability(health, serving)
        status: dict[str, Any] = {}
        keep = ("endpointId", "azureStatus", "model", "servingModel", "links", "createdAt", "lastActionAt")
        for key in keep:
            if key in self.prev:
                status[key] = self.prev[key]
        if endpoint is not None:
            self._describe_endpoint(status, endpoint, serving)
        elif o.endpoint_known and o.endpoint is None:
            for key in keep:  # the endpoint is gone from Azure
                status.pop(key, None)
        self.common_status(status, error)
        conditions: list[Condition] = truth_table(health, self.prev_conditions)
        conditions += self._expiry_conditions(status)
        status = self.conclude(status, conditions)
        events = self._events(status, endpoint, health)
        return Outcome(status=status, events=tuple(events), retry=retry, wake_at=self._model_wake_at(status))

    def _model_wake_at(self, status: Mapping[str, Any]) -> datetime | None:
        """The next moment the model's conditions change by the clock alone (ModelExpiring, then
        ModelExpired) or its read is due: looked at then, not at a drift check up to an interval later (a
        drift-interval of days would otherwise delay ModelExpired, and the daily read, by days)."""
        model = status.get("model") or {}
        moments = []
        serving = expiring_model(status)  # the deployed model itself, outside a redeploy
        for described in (model,) if serving is model else (model, serving):
            expires = parse_time(described.get("transcriptionExpiresAt"))
            if expires is not None:
                moments += [expires - self.p.timing.model_expiry_window, expires]
        read = self._model_read_due(model)
        if read is not None:
            moments.append(read)
        return min((m for m in moments if m > self.p.now), default=None)

    def _model_read_due(self, model: Mapping[str, Any]) -> datetime | None:
        """When the deployed model is read next: a check interval after the last read, sooner after a
        failed one."""
        interval = self.p.timing.model_check_interval
        checked, failed = parse_time(model.get("checkedAt")), parse_time(model.get("readFailedAt"))
        if failed is not None:
            return failed + interval / MODEL_READ_RETRIES
        return checked + interval if checked is not None else None

    def _model_due(self) -> bool:
        """Whether a moment of the model passed while no operator looked (at a start): its conditions no
        longer say what the clock does, or its read is due. A settled resource is then looked at at once."""
        shown = {c.get("type"): (c.get("status"), c.get("reason")) for c in self.prev_conditions}
        if any(shown.get(c.type) != (c.status, c.reason) for c in self._expiry_conditions(self.prev)):
            return True
        read = self._model_read_due(self.prev.get("model") or {})
        return read is not None and read <= self.p.now

    def _with_availability(self, health: Health, serving: ModelRef | None) -> Health:
        """An error leaves Available "as before" only when this pass read nothing new: what was read from
        Azure (the endpoint, or that it is gone) decides it otherwise."""
        o = self.o
        if health.available is not None or health.phase not in (Phase.RETRYING, Phase.STALLED):
            return health
        if not o.endpoint_known:
            return health
        if o.endpoint is None:
            return replace(health, available=False, available_message="the endpoint does not exist in Azure")
        serving = serving or self.serving_model(o.endpoint)
        if serving is None:
            message = f"endpoint {o.endpoint.id} is {o.endpoint.status} and serves no model yet"
            return replace(health, available=False, available_message=message)
        return replace(health, available=True, available_message=f"model {_ref_text(serving)} is serving")

    def _describe_endpoint(
        self, status: dict[str, Any], endpoint: SpeechEndpoint, serving: ModelRef | None
    ) -> None:
        status["endpointId"] = endpoint.id
        status["azureStatus"] = endpoint.status
        model_status: dict[str, Any] = dict(_model_dict(endpoint.model) or {})
        previous_model = self.prev.get("model") or {}
        if _same_model(_model_from_status(previous_model), endpoint.model):
            for key in ("transcriptionExpiresAt", "checkedAt", "readFailedAt"):
                if key in previous_model:
                    model_status[key] = previous_model[key]
        if self.o.model_error is not None and self.o.model is None:
            model_status["readFailedAt"] = format_time(self.p.now)
        if self.o.model is not None and _same_model(
            ModelRef(id=self.o.model.id.lower(), kind=self.o.model.kind), endpoint.model
        ):
            model_status["checkedAt"] = format_time(self.p.now)
            model_status.pop("readFailedAt", None)
            model_status.pop("transcriptionExpiresAt", None)
            if self.o.model.transcription_deprecation is not None:
                model_status["transcriptionExpiresAt"] = format_time(self.o.model.transcription_deprecation)
        if model_status:
            status["model"] = model_status
        else:
            status.pop("model", None)
        if serving is not None:
            status["servingModel"] = self._serving_model_status(serving, endpoint.model)
        else:
            status.pop("servingModel", None)
        status["links"] = dict(endpoint.links)
        for key, value in (("createdAt", endpoint.created_at), ("lastActionAt", endpoint.last_action_at)):
            if value is not None:
                status[key] = format_time(value)
            else:
                status.pop(key, None)

    def _serving_model_status(self, serving: ModelRef, deployed: ModelRef | None) -> dict[str, Any]:
        """The serving model; while another one deploys, with what was known of its end date (the status's
        model until the redeploy began): the expiry conditions are about the model answering requests."""
        shown: dict[str, Any] = dict(_model_dict(serving) or {})
        if _same_model(serving, deployed):
            return shown
        # the status's model while it served (the redeploy's first pass), else what later passes kept
        for known in (self.prev.get("model") or {}, self.prev.get("servingModel") or {}):
            if _same_model(_model_from_status(known), serving):
                shown.update({k: known[k] for k in _EXPIRY_KEYS if k in known})
                break
        return shown

    def _expiry_conditions(self, status: Mapping[str, Any]) -> list[Condition]:
        model = expiring_model(status)
        if not model.get("id"):
            return [
                Condition(MODEL_EXPIRING, "Unknown", "NoModel", "no model is deployed"),
                Condition(MODEL_EXPIRED, "Unknown", "NoModel", "no model is deployed"),
            ]
        expires = parse_time(model.get("transcriptionExpiresAt"))
        if expires is None:
            if model.get("checkedAt"):
                return [
                    Condition(
                        MODEL_EXPIRING, "False", "NoExpiryDate", "Azure reports no transcription end date"
                    ),
                    Condition(
                        MODEL_EXPIRED, "False", "NoExpiryDate", "Azure reports no transcription end date"
                    ),
                ]
            not_read = "the model has not been read yet"
            if model.get("readFailedAt"):
                not_read = f"reading the model failed at {model['readFailedAt']}; it is read again later"
            return [
                Condition(MODEL_EXPIRING, "Unknown", "ModelNotChecked", not_read),
                Condition(MODEL_EXPIRED, "Unknown", "ModelNotChecked", not_read),
            ]
        when = format_time(expires)
        now = self.p.now
        if now >= expires:
            return [
                Condition(MODEL_EXPIRING, "False", "ModelExpired", f"model {model['id']} expired at {when}"),
                Condition(
                    MODEL_EXPIRED,
                    "True",
                    "ModelExpired",
                    f"model {model['id']} stopped transcribing at {when}; Azure falls back to the newest "
                    "base model of the locale (worse accuracy): change spec.model",
                ),
            ]
        if now >= expires - self.p.timing.model_expiry_window:
            return [
                Condition(
                    MODEL_EXPIRING,
                    "True",
                    "ModelExpiring",
                    f"model {model['id']} stops transcribing at {when}: change spec.model before then",
                ),
                Condition(
                    MODEL_EXPIRED, "False", "NotExpired", f"model {model['id']} transcribes until {when}"
                ),
            ]
        return [
            Condition(
                MODEL_EXPIRING, "False", "NotExpiring", f"model {model['id']} transcribes until {when}"
            ),
            Condition(MODEL_EXPIRED, "False", "NotExpired", f"model {model['id']} transcribes until {when}"),
        ]

    def _events(
        self, status: Mapping[str, Any], endpoint: SpeechEndpoint | None, health: Health
    ) -> list[Event]:
        o = self.o
        events: list[Event] = []
        if o.looked_up and o.recorded_id and not o.created:
            events.append(
                Event(
                    "Normal",
                    "EndpointFound",
                    f"found endpoint {o.recorded_id} from an earlier create (uid tag)",
                )
            )
        replaced = find_condition(self.prev_conditions, READY).reason == REPLACING
        if o.forgot_id and o.created and not replaced:
            events.append(
                Event("Warning", "EndpointRecreated", "the endpoint was gone from Azure; created a new one")
            )
        if o.created and endpoint is not None:
            events.append(Event("Normal", "Created", f"created endpoint {endpoint.id}"))
        events += self.adopted_event(endpoint.id if endpoint else None)
        if o.updated_fields and endpoint is not None:
            events.append(
                Event("Normal", "Updated", f"updated {', '.join(o.updated_fields)} of endpoint {endpoint.id}")
            )
        events += self.ready_events(status, health)
        for _old, new in transitions(self.prev_conditions, status["conditions"]):
            if new.type in (MODEL_EXPIRING, MODEL_EXPIRED) and new.status == "True":
                events.append(Event("Warning", new.type, new.message))
        return events


def _ref_text(ref: ModelRef | None) -> str:
    return "(none)" if ref is None else f"{ref.kind} {ref.id}"


# ---------------------------------------------------------------------------------------------------------
# Deletion


def _plan_deletion(resource: Resource, observed: Observed, pass_: Pass) -> Plan:
    """Deletes the endpoint the resource owns; a create whose outcome is unknown (the mark is on and no id
    is recorded) is looked up by the uid marker first."""
    r, o = resource, observed
    planner = _Reconcile(r, o, pass_)
    # Only an endpoint the resource owns is deleted or counted as orphaned: never one it merely names.
    # A create of unknown outcome is looked up even beside an adopted endpoint (spec.endpointId set after it).
    found = o.endpoint.id.lower() if o.looked_up and o.endpoint is not None else None
    owned_id = planner.owned_id()
    owned = [e for e in dict.fromkeys((owned_id, found)) if e]
    pending = CREATE_PENDING_ANNOTATION in r.annotations and planner.created_id() is None and found is None
    spec = r.deletion_spec
    return plan_deletion(
        planner,
        spec,
        Deletion(
            owned=owned,
            deleted=dict(o.deletions),
            delete=DeleteEndpoint,
            unknown=f"the endpoint a create of this resource may have made (tagged {MARKER_KEY}={r.uid})"
            if pending
            else None,
            lookup=FindByMarker(MARKER_KEY, r.uid, spec.locale)
            if pending and spec and not o.looked_up
            else None,
            named=r.adopted_endpoint_id,
            in_flight_until=planner.create_in_flight_until() if pending else None,
        ),
    )


__all__ = [
    "AZURE_WRITES",
    "AzureStep",
    "CreateEndpoint",
    "DeleteEndpoint",
    "FindByMarker",
    "GetEndpoint",
    "GetModel",
    "Observed",
    "Plan",
    "Resource",
    "Step",
    "UpdateEndpoint",
    "compute_changes",
    "plan",
]
