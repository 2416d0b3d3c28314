"""The SpeechEndpoint reconcile logic: one pure, level-based decision function.

`plan(resource, observed, pass_)` looks at the resource (spec, annotations, previous status) and at what this
pass has observed so far (credentials, the endpoint, the model, the results of earlier steps) and returns
either the next step to take (a read or a write, in Azure or on the resource) or the pass's `Outcome`: the
new status, the events to post, when to come back, and (when deleting) whether to release the resource.

The handlers are an interpreter: they run the step, fold its result into `Observed` and ask again, so every
rule of docs/speechendpoint.md lives here and is unit-tested without Kubernetes or Azure. The order of the
checks encodes the safety rules: no Azure write before the finalizer; the create-pending mark is written
before a POST and a create whose outcome is unknown is looked up (by the uid marker) before creating again;
at most one Azure write per pass; no writes while Stalled on a fatal error unless the spec changed or a
reconcile is requested.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from azure_speech_operator.azure.types import (
    AzureError,
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
    STALLED,
    Condition,
    Health,
    Phase,
    find_condition,
    format_time,
    merge_conditions,
    safe_reason,
    transitions,
    truth_table,
)
from azure_speech_operator.settings import OperatorSettings
from azure_speech_operator.speechendpoint.spec import MARKER_KEY, DeletionSpec, SpeechEndpointSpec

USER_PREFIX = "speech.azure-operator.io"
# kopf's storage prefix (runner.KOPF_PREFIX): kopf leaves annotations under it out of its diff, so the
# operator's own bookkeeping written there never triggers a handler.
INTERNAL_PREFIX = "kopf.speech.azure-operator.io"

POLICY_ANNOTATION = f"{USER_PREFIX}/reconcile-policy"
REQUESTED_ANNOTATION = f"{USER_PREFIX}/reconcile-requested-at"
DRIFT_ANNOTATION = f"{USER_PREFIX}/drift-interval"
CREATE_PENDING_ANNOTATION = f"{INTERNAL_PREFIX}/create-pending"
ENDPOINT_ID_ANNOTATION = f"{INTERNAL_PREFIX}/endpoint-id"

BUSY_STATUSES = ("NotStarted", "Running")
# status.error.class of a stall the reconcile policy causes (not an error class of the client's table).
POLICY_CLASS = "policy"
SUCCEEDED = "Succeeded"
FAILED = "Failed"

# First delay of the capped exponential backoff of transient errors when Azure sends no Retry-After.
TRANSIENT_BACKOFF_BASE = 5.0
FINALIZER_WAIT = 2.0
# Ready's reason between deleting a Failed endpoint and creating its replacement.
REPLACING = "ReplacingFailedEndpoint"
LOCALE_MISMATCH = "LocaleMismatch"
INVALID_ANNOTATION = "InvalidAnnotation"
# Azure's answers to a key that is wrong or lacks rights: a changed Secret may fix them.
AUTH_REASONS = ("Unauthorized", "Forbidden")
CREDENTIALS_LABEL = "speech.azure-operator.io/credentials=true"


class Policy(StrEnum):
    MANAGE = "manage"
    SKIP = "skip"
    DETACH_ON_DELETE = "detach-on-delete"


class Trigger(StrEnum):
    CHANGE = "change"  # created, updated, annotation changed, retry of a come-back
    RESUME = "resume"  # seen at operator start
    DRIFT = "drift"  # the drift check (per-object loop in the handlers)
    DELETE = "delete"


# The defaults live in one place, the operator's settings (pure configuration: no kopf or kubernetes).
_DEFAULTS = OperatorSettings()


@dataclass(frozen=True)
class Timing:
    """The reconcile timings the logic needs, a subset of OperatorSettings (with its defaults)."""

    credentials_retry_interval: timedelta = _DEFAULTS.credentials_retry_interval
    deletion_credentials_wait: timedelta = _DEFAULTS.deletion_credentials_wait
    model_expiry_window: timedelta = _DEFAULTS.model_expiry_window
    model_check_interval: timedelta = _DEFAULTS.model_check_interval
    deploy_poll_interval: timedelta = _DEFAULTS.deploy_poll_interval
    transient_backoff_cap: timedelta = _DEFAULTS.transient_backoff_cap
    blocked_retry_base: timedelta = _DEFAULTS.blocked_retry_base
    blocked_retry_cap: timedelta = _DEFAULTS.blocked_retry_cap
    waiting_retry_min: timedelta = _DEFAULTS.waiting_retry_min
    waiting_retry_max: timedelta = _DEFAULTS.waiting_retry_max

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Timing:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


# ---------------------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Resource:
    """The SpeechEndpoint as read at the start of the pass."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: SpeechEndpointSpec | None
    spec_error: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    status: Mapping[str, Any] = field(default_factory=dict)
    deletion_timestamp: datetime | None = None
    has_finalizer: bool = True
    # What deletion needs of the spec: the spec itself, or that part of an invalid one (None if unreadable).
    deletion_spec: DeletionSpec | None = None

    @property
    def deleting(self) -> bool:
        return self.deletion_timestamp is not None

    @property
    def adopted_endpoint_id(self) -> str | None:
        view = self.spec or self.deletion_spec
        return view.adopted_endpoint_id if view else None


@dataclass(frozen=True)
class Pass:
    """Why and when this pass runs. `attempt` counts consecutive come-backs (for backoff), `jitter` is a
    random number in [0, 1) drawn by the caller so the plan stays deterministic."""

    trigger: Trigger
    now: datetime
    timing: Timing = field(default_factory=Timing)
    attempt: int = 0
    jitter: float = 0.5


@dataclass(frozen=True)
class Observed:
    """What the pass has seen and done so far; the interpreter folds each step's result in."""

    credentials_error: OperatorError | None = None
    endpoint: SpeechEndpoint | None = None
    endpoint_known: bool = False  # `endpoint` holds an answer (None: not in Azure)
    serving_before: ModelRef | None = None  # the model of the endpoint while it was Succeeded, before a write
    looked_up: bool = False
    marked: bool = False  # the create-pending mark was written in this pass
    unmarked: bool = False  # the create-pending mark was dropped in this pass (the create was refused)
    forgot_id: bool = False  # the recorded endpoint id was dropped in this pass (to recreate)
    recorded_id: str | None = None  # the endpoint id recorded on the resource in this pass
    model: SpeechModel | None = None
    model_known: bool = False
    model_error: OperatorError | None = None
    created: bool = False
    updated_fields: tuple[str, ...] = ()
    deleted: bool = False
    already_gone: bool = False  # the DELETE answered 404: the endpoint was gone before it
    exported: bool = False
    unexported: bool = False
    error: OperatorError | None = None  # the step that failed ends the pass
    failed_step: str | None = None

    @property
    def wrote(self) -> bool:
        return self.created or bool(self.updated_fields) or self.deleted


# ---------------------------------------------------------------------------------------------------------
# Steps


@dataclass(frozen=True)
class GetEndpoint:
    endpoint_id: str


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
class MarkCreatePending:
    """Direct patch of the resource: set the create-pending mark (and drop a recorded id, to recreate)."""

    forget_endpoint_id: bool = False


@dataclass(frozen=True)
class ClearCreatePending:
    """Direct patch of the resource: drop the create-pending mark, the create is known not to have happened
    (Azure refused it, it was never sent, or the lookup found nothing), so no later pass lists endpoints."""


@dataclass(frozen=True)
class RecordEndpointId:
    """Direct patch of the resource: record the endpoint id and drop the create-pending mark."""

    endpoint_id: str


@dataclass(frozen=True)
class CreateEndpoint:
    body: SpeechEndpointCreate


@dataclass(frozen=True)
class UpdateEndpoint:
    endpoint_id: str
    changes: SpeechEndpointUpdate
    fields: tuple[str, ...]


@dataclass(frozen=True)
class DeleteEndpoint:
    endpoint_id: str


@dataclass(frozen=True)
class Export:
    config_map_name: str
    data: Mapping[str, str]


@dataclass(frozen=True)
class Unexport:
    """Delete the ConfigMap exported before (spec.exportTo removed or renamed), if the resource owns it."""

    config_map_name: str


Step = (
    GetEndpoint
    | FindByMarker
    | GetModel
    | MarkCreatePending
    | ClearCreatePending
    | RecordEndpointId
    | CreateEndpoint
    | UpdateEndpoint
    | DeleteEndpoint
    | Export
    | Unexport
)
AZURE_WRITES = (CreateEndpoint, UpdateEndpoint, DeleteEndpoint)


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Retry:
    delay: float  # seconds
    why: str


@dataclass(frozen=True)
class Outcome:
    status: dict[str, Any]
    events: tuple[Event, ...] = ()
    retry: Retry | None = None
    release: bool = False  # deletion: the finalizer may go
    orphaned_endpoint: str | None = None  # deletion left this endpoint in Azure (for the metric)

    def status_changed(self, previous: Mapping[str, Any]) -> bool:
        return dict(previous) != self.status


Plan = Step | Outcome


# ---------------------------------------------------------------------------------------------------------
# Helpers


def create_refused(error: OperatorError) -> bool:
    """Whether a failed create is known not to have made an endpoint: Azure answered (a 4xx: a 5xx may follow
    work already done) or the request was never sent (host refused or unreachable). The client marks every
    case that may have taken effect `outcome_unknown`."""
    return not (isinstance(error, AzureError) and error.outcome_unknown)


def parse_policy(annotations: Mapping[str, str]) -> Policy | None:
    """The reconcile policy; None when the annotation holds an unknown value."""
    value = annotations.get(POLICY_ANNOTATION, Policy.MANAGE.value).strip()
    try:
        return Policy(value)
    except ValueError:
        return None


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta | None:
    """`90`, `90s`, `15m`, `1h30m`, `2d`; None if unreadable or zero."""
    text = text.strip()
    if text.isdigit():
        seconds = int(text)
    else:
        match = _DURATION.match(text)
        if not match or not text:
            return None
        days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    return timedelta(seconds=seconds) if seconds > 0 else None


def invalid_annotation(annotations: Mapping[str, str]) -> str | None:
    """What is wrong with the user's annotations (named, with what to do), or None."""
    if parse_policy(annotations) is None:
        value = annotations.get(POLICY_ANNOTATION)
        return f"{POLICY_ANNOTATION}={value!r} is not one of manage, skip, detach-on-delete"
    drift = annotations.get(DRIFT_ANNOTATION)
    if drift is not None and parse_duration(drift) is None:
        return f"{DRIFT_ANNOTATION}={drift!r} is not a duration like 90s, 15m, 1h30m or 2d"
    return None


def describe(error: OperatorError) -> str:
    """The error's message, with Azure's request id when it sent one (quoted to Azure support)."""
    request_id = error.request_id if isinstance(error, AzureError) else None
    return f"{error.message} (request id {request_id})" if request_id else error.message


def span(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def drift_interval(annotations: Mapping[str, str], default: timedelta, minimum: timedelta) -> timedelta:
    """The per-resource drift interval (annotation), never below `minimum`."""
    value = annotations.get(DRIFT_ANNOTATION)
    parsed = parse_duration(value) if value else None
    return max(parsed or default, minimum)


def backoff(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Capped exponential backoff with jitter in [0.5, 1] of the step (never below 1 s)."""
    raw = min(cap, base * math.pow(2, max(0, min(attempt, 30))))
    return max(1.0, raw * (0.5 + jitter / 2))


def _model_dict(ref: ModelRef | None) -> dict[str, str] | None:
    return None if ref is None else {"id": ref.id, "kind": ref.kind}


def _model_from_status(value: Any) -> ModelRef | None:
    if isinstance(value, Mapping) and value.get("id") and value.get("kind") in ("base", "custom"):
        return ModelRef(id=str(value["id"]).lower(), kind=value["kind"])
    return None


def _same_model(a: ModelRef | None, b: ModelRef | None) -> bool:
    return a is not None and b is not None and a.id.lower() == b.id.lower() and a.kind == b.kind


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


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


class _Reconcile:
    def __init__(self, resource: Resource, observed: Observed, pass_: Pass) -> None:
        self.r = resource
        self.o = observed
        self.p = pass_
        self.prev = dict(resource.status or {})
        self.prev_conditions = list(self.prev.get("conditions") or [])
        self.requested = resource.annotations.get(REQUESTED_ANNOTATION) or None
        self.requested_new = self.requested is not None and self.requested != self.prev.get(
            "reconcileRequestedAt"
        )

    # --- decisions ---------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        r, o = self.r, self.o
        if r.spec is None:
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
        policy = parse_policy(r.annotations)
        assert policy is not None
        self.policy = policy
        if self.p.trigger is Trigger.RESUME and self._settled():
            return self.outcome_unchanged()

        adopted = r.spec.adopted_endpoint_id
        created = self.created_id()
        if adopted and created and adopted != created:
            if not o.endpoint_known and o.credentials_error is None and o.error is None:
                return GetEndpoint(created)  # still reported while Stalled
            seen = o.endpoint if o.endpoint_known else None
            return self.error(
                OperatorError(
                    "EndpointIdConflict",
                    f"spec.endpointId is {adopted} but the operator created endpoint {created} for this "
                    "resource; delete this resource (its endpoint follows deletionPolicy) and adopt instead",
                    ErrorClass.FATAL,
                ),
                endpoint=seen,
                serving=self.serving_model(seen) if seen else None,
            )
        if o.credentials_error is not None:
            return self.error(o.credentials_error, credentials=True)
        if o.error is not None:
            if o.failed_step == CreateEndpoint.__name__ and create_refused(o.error) and self.pending():
                return ClearCreatePending()
            seen = o.endpoint if o.endpoint_known else None
            return self.error(o.error, endpoint=seen, serving=self.serving_model(seen) if seen else None)

        endpoint_id = adopted or created
        if endpoint_id is not None:
            if not o.endpoint_known:
                return GetEndpoint(endpoint_id)
            if o.endpoint is not None:
                return self.existing(o.endpoint, created_by_operator=endpoint_id == created)
            if adopted:
                return self.error(
                    OperatorError(
                        "AdoptedEndpointNotFound",
                        f"the adopted endpoint {adopted} (spec.endpointId) does not exist in Azure; it is "
                        "never recreated: recreate this resource with another endpointId, or delete it",
                        ErrorClass.FATAL,
                    )
                )
            return self.create(vanished=created)

        # Nothing recorded: a create may have happened without us learning its id.
        if o.endpoint_known and o.endpoint is not None:
            return RecordEndpointId(o.endpoint.id)
        if self.pending() and not o.looked_up and not o.marked:
            return FindByMarker(MARKER_KEY, r.uid, r.spec.locale)
        return self.create(vanished=None)

    def create(self, *, vanished: str | None) -> Plan:
        stopped = self.create_stopped(vanished)
        if stopped is None:
            return self.create_step(vanished)
        if self.o.looked_up and self.o.endpoint is None and self.pending():
            return ClearCreatePending()  # the lookup found nothing and no create follows: stop looking
        return stopped

    def create_stopped(self, vanished: str | None) -> Outcome | None:
        """Why no endpoint is created in this pass, or None to create one."""
        r = self.r
        assert r.spec is not None
        if self.policy is Policy.SKIP:
            what = (
                f"endpoint {vanished} no longer exists in Azure" if vanished else "there is no endpoint yet"
            )
            return self.error(
                OperatorError(
                    "EndpointNotFound" if vanished else "NotCreated",
                    f"{what}; reconcile-policy is skip, so the operator does not create one",
                    ErrorClass.FATAL,
                ),
                writes_blocked_by_policy=True,
            )
        if not self.writes_allowed():
            return self.stay_stalled()
        if not r.has_finalizer:
            return self.waiting_for_finalizer()
        return None

    def create_step(self, vanished: str | None) -> Plan:
        r, o = self.r, self.o
        if vanished and not o.forgot_id:
            return MarkCreatePending(forget_endpoint_id=True)
        if not self.pending():
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
        if endpoint.model is not None and self.needs_model_read(endpoint.model):
            return GetModel(endpoint.model)

        changes, fields = compute_changes(r, endpoint, created_by_operator=created_by_operator)
        busy = endpoint.status in BUSY_STATUSES
        can_patch = endpoint.status == SUCCEEDED or (endpoint.status == FAILED and "model" in fields)
        if fields and can_patch and self.policy is not Policy.SKIP and self.writes_allowed() and not o.wrote:
            if not r.has_finalizer:
                return self.waiting_for_finalizer()
            return UpdateEndpoint(endpoint.id, changes, fields)

        wanted_export = r.spec.export_to.config_map_name if r.spec.export_to else None
        previous_export = self.prev.get("exportedConfigMap")
        if previous_export and previous_export != wanted_export and not o.unexported:
            return Unexport(str(previous_export))
        if r.spec.export_to is not None and not o.exported and endpoint.status != FAILED:
            host = r.spec.azure.target().base_url
            return Export(r.spec.export_to.config_map_name, export_data(r, endpoint, host))

        serving = self.serving_model(endpoint)
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
                health = Health(
                    Phase.DEPLOYING,
                    "Deploying",
                    f"Azure is deploying the endpoint ({endpoint.status}){waiting}",
                )
            return self.outcome(
                health,
                endpoint=endpoint,
                serving=serving,
                retry=Retry(delay, f"Azure is deploying ({endpoint.status})"),
            )

        if endpoint.status == FAILED:
            return self.failed(endpoint, serving, created_by_operator=created_by_operator)

        if endpoint.status != SUCCEEDED:
            delay = backoff(
                self.p.attempt,
                self.p.timing.deploy_poll_interval.total_seconds(),
                self.p.timing.transient_backoff_cap.total_seconds(),
                self.p.jitter,
            )
            health = Health(Phase.RETRYING, "UnknownAzureStatus", f"Azure reports status {endpoint.status!r}")
            return self.outcome(
                health,
                endpoint=endpoint,
                serving=serving,
                retry=Retry(delay, f"unknown Azure status {endpoint.status!r}"),
            )

        if fields:
            differs = f"differs from the spec in Azure: {', '.join(fields)}"
            if self.policy is Policy.SKIP:
                return self.error(
                    OperatorError(
                        "ReconcileSkipped", f"{differs}; reconcile-policy is skip", ErrorClass.FATAL
                    ),
                    endpoint=endpoint,
                    serving=serving,
                    writes_blocked_by_policy=True,
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
        Azure and took it over (status.endpointId is then the adopted id; a locale mismatch refuses it).
        An id merely named in spec.endpointId (never read, or in conflict with the created one) is not."""
        created = self.created_id()
        if created is not None:
            return created
        adopted = self.r.adopted_endpoint_id
        shown = str(self.prev.get("endpointId") or "").lower()
        refused = find_condition(self.prev_conditions, STALLED).reason == LOCALE_MISMATCH
        return adopted if adopted and shown == adopted and not refused else None

    def stalled_on_fatal(self) -> bool:
        stalled = find_condition(self.prev_conditions, STALLED)
        error = self.prev.get("error") or {}
        same_generation = any(
            c.get("type") == STALLED and c.get("observedGeneration") == self.r.generation
            for c in self.prev_conditions
        )
        return stalled.status == "True" and error.get("class") == ErrorClass.FATAL.value and same_generation

    def writes_allowed(self) -> bool:
        return not self.stalled_on_fatal() or self.requested_new

    def _settled(self) -> bool:
        """At operator start: nothing in flight and status current, so no Azure call (the drift check will
        look later, jittered): keeps a restart from becoming a burst of N calls."""
        if self.requested_new or CREATE_PENDING_ANNOTATION in self.r.annotations:
            return False
        if self.prev.get("observedGeneration") != self.r.generation:
            return False
        if self.prev.get("azureStatus") in BUSY_STATUSES:
            return False  # a deployment in flight is polled, Stalled or not
        ready = find_condition(self.prev_conditions, READY).status == "True"
        return ready or self.stalled_on_fatal()

    def needs_model_read(self, ref: ModelRef) -> bool:
        if self.o.model_known or self.o.model_error is not None:
            return False
        known = self.prev.get("model") or {}
        if not _same_model(_model_from_status(known), ref):
            return True
        checked = _parse_time(known.get("checkedAt"))
        return checked is None or self.p.now - checked >= self.p.timing.model_check_interval

    def serving_model(self, endpoint: SpeechEndpoint) -> ModelRef | None:
        if endpoint.status == SUCCEEDED:
            return endpoint.model
        if self.o.serving_before is not None:
            return self.o.serving_before
        if str(self.prev.get("endpointId") or "").lower() != endpoint.id.lower():
            return None  # a new (recreated) endpoint serves nothing until it succeeds
        return _model_from_status(self.prev.get("servingModel"))

    # --- outcomes ----------------------------------------------------------------------------------------

    def waiting_for_finalizer(self) -> Outcome:
        health = Health(
            Phase.RETRYING, "WaitingForFinalizer", "waiting for the finalizer before writing to Azure"
        )
        return self.outcome(health, retry=Retry(FINALIZER_WAIT, "waiting for the finalizer"))

    def outcome_unchanged(self) -> Outcome:
        return Outcome(status=dict(self.prev))

    def stay_stalled(
        self, endpoint: SpeechEndpoint | None = None, serving: ModelRef | None = None
    ) -> Outcome:
        """Stalled on a fatal error, spec unchanged: report what is seen, write nothing, no come-back."""
        error = self.prev.get("error") or {}
        code = str(error.get("code") or find_condition(self.prev_conditions, STALLED).reason or "Stalled")
        message = str(error.get("message") or "")
        return self.error(OperatorError(code, message, ErrorClass.FATAL), endpoint=endpoint, serving=serving)

    def error(
        self,
        error: OperatorError,
        *,
        credentials: bool = False,
        endpoint: SpeechEndpoint | None = None,
        serving: ModelRef | None = None,
        writes_blocked_by_policy: bool = False,
        next_step: bool = True,
    ) -> Outcome:
        """The outcome of an error: its condition row, come-back and status.error. A Stalled message says what
        happens next (unless `next_step` is False: the message says it already)."""
        timing, attempt, jitter = self.p.timing, self.p.attempt, self.p.jitter
        cls = error.error_class
        reason = safe_reason(error.reason, "Error")
        retry: Retry | None
        if cls is ErrorClass.TRANSIENT or cls is ErrorClass.NOT_FOUND:
            delay = error.retry_after or backoff(
                attempt, TRANSIENT_BACKOFF_BASE, timing.transient_backoff_cap.total_seconds(), jitter
            )
            retry = Retry(min(delay, timing.transient_backoff_cap.total_seconds()), f"transient {reason}")
            phase = Phase.RETRYING
        elif cls is ErrorClass.WAITING:
            low, high = timing.waiting_retry_min.total_seconds(), timing.waiting_retry_max.total_seconds()
            delay = error.retry_after or backoff(attempt, low, high, jitter)
            retry = Retry(min(max(delay, low), high), f"waiting on Azure: {reason}")
            phase = Phase.RETRYING
        elif cls is ErrorClass.BLOCKED:
            if credentials:
                delay = timing.credentials_retry_interval.total_seconds()
            else:
                delay = backoff(
                    attempt,
                    timing.blocked_retry_base.total_seconds(),
                    timing.blocked_retry_cap.total_seconds(),
                    jitter,
                )
            retry = Retry(delay, f"blocked: {reason}")
            phase = Phase.STALLED
        else:
            retry = None
            phase = Phase.STALLED
        retry = self._poll_while_deploying(endpoint, retry)
        text = describe(error)
        shown = text
        if phase is Phase.STALLED and next_step and not writes_blocked_by_policy:
            # Azure's messages end with a full stop; "...exist.; retried" would read badly
            shown = f"{text.rstrip('.')}; {self._what_next(error, reason, credentials=credentials)}"
        health = Health(phase, reason, shown)
        status_error = {"code": reason, "message": text, "class": cls.value}
        if writes_blocked_by_policy:
            # Re-checked on every pass from the annotation itself: no gate on the generation needed.
            status_error["class"] = POLICY_CLASS
        return self.outcome(health, endpoint=endpoint, serving=serving, retry=retry, error=status_error)

    def _what_next(self, error: OperatorError, reason: str, *, credentials: bool) -> str:
        timing = self.p.timing
        if error.error_class is not ErrorClass.BLOCKED:
            return "not retried until the spec changes or reconcile-requested-at gets a new value"
        if credentials:
            every = span(timing.credentials_retry_interval)
        else:
            every = f"{span(timing.blocked_retry_base)} growing to {span(timing.blocked_retry_cap)}"
        triggers = ["a new reconcile-requested-at"]
        spec = self.r.spec
        uses_secret = spec is not None and spec.azure.credentials.secret_ref is not None
        if uses_secret and (credentials or reason in AUTH_REASONS):
            triggers.append(f"a change of a Secret labelled {CREDENTIALS_LABEL}")
        return f"retried every {every}, at once on {' or '.join(triggers)}"

    def _poll_while_deploying(self, endpoint: SpeechEndpoint | None, retry: Retry | None) -> Retry | None:
        """An error does not stop watching Azure: while the endpoint deploys, its status is still polled."""
        if endpoint is None or endpoint.status not in BUSY_STATUSES:
            return retry
        poll = self.poll_delay(endpoint)
        if retry is not None and retry.delay <= poll:
            return retry
        return Retry(poll, f"Azure is deploying ({endpoint.status})")

    def poll_delay(self, endpoint: SpeechEndpoint) -> float:
        """When to look again at a deployment in flight: Azure's Retry-After, else a backoff over the polls
        (a write in this pass starts it over: earlier retries were of failed requests, not of polls)."""
        return endpoint.retry_after or backoff(
            0 if self.o.wrote else self.p.attempt,
            self.p.timing.deploy_poll_interval.total_seconds(),
            self.p.timing.transient_backoff_cap.total_seconds(),
            self.p.jitter,
        )

    def outcome(
        self,
        health: Health,
        *,
        endpoint: SpeechEndpoint | None = None,
        serving: ModelRef | None = None,
        retry: Retry | None = None,
        error: dict[str, str] | None = None,
    ) -> Outcome:
        r, o, p = self.r, self.o, self.p
        health = self._with_availability(health, serving)
        status: dict[str, Any] = {}
        if r.spec is not None:
            status["apiVersion"] = r.spec.azure.api_version
        keep = ("endpointId", "azureStatus", "model", "servingModel", "links", "createdAt", "lastActionAt")
        for key in keep:
            if key in self.prev:
                status[key] = self.prev[key]
        if endpoint is not None:
            self._describe_endpoint(status, endpoint, serving)
        elif o.endpoint_known and o.endpoint is None:
            for key in keep:  # the endpoint is gone from Azure
                status.pop(key, None)
        if o.exported and r.spec is not None and r.spec.export_to is not None:
            status["exportedConfigMap"] = r.spec.export_to.config_map_name
        elif "exportedConfigMap" in self.prev and not o.unexported:
            status["exportedConfigMap"] = self.prev["exportedConfigMap"]
        if error is not None:
            status["error"] = error
        if self.requested is not None:
            status["reconcileRequestedAt"] = self.requested

        conditions: list[Condition] = truth_table(health, self.prev_conditions)
        conditions += self._expiry_conditions(status)
        status["conditions"] = merge_conditions(
            self.prev_conditions, conditions, generation=r.generation, now=p.now
        )
        status["observedGeneration"] = r.generation
        status = {k: status[k] for k in sorted(status)}
        events = self._events(status, endpoint, health)
        return Outcome(status=status, events=tuple(events), retry=retry)

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
            for key in ("transcriptionExpiresAt", "checkedAt"):
                if key in previous_model:
                    model_status[key] = previous_model[key]
        if self.o.model is not None and _same_model(
            ModelRef(id=self.o.model.id.lower(), kind=self.o.model.kind), endpoint.model
        ):
            model_status["checkedAt"] = format_time(self.p.now)
            model_status.pop("transcriptionExpiresAt", None)
            if self.o.model.transcription_deprecation is not None:
                model_status["transcriptionExpiresAt"] = format_time(self.o.model.transcription_deprecation)
        if model_status:
            status["model"] = model_status
        else:
            status.pop("model", None)
        if serving is not None:
            status["servingModel"] = _model_dict(serving)
        else:
            status.pop("servingModel", None)
        status["links"] = dict(endpoint.links)
        for key, value in (("createdAt", endpoint.created_at), ("lastActionAt", endpoint.last_action_at)):
            if value is not None:
                status[key] = format_time(value)
            else:
                status.pop(key, None)

    def _expiry_conditions(self, status: Mapping[str, Any]) -> list[Condition]:
        model = status.get("model") or {}
        if not model.get("id"):
            return [
                Condition(MODEL_EXPIRING, "Unknown", "NoModel", "no model is deployed"),
                Condition(MODEL_EXPIRED, "Unknown", "NoModel", "no model is deployed"),
            ]
        expires = _parse_time(model.get("transcriptionExpiresAt"))
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
            return [
                Condition(MODEL_EXPIRING, "Unknown", "ModelNotChecked", "the model has not been read yet"),
                Condition(MODEL_EXPIRED, "Unknown", "ModelNotChecked", "the model has not been read yet"),
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
        adopted = self.r.adopted_endpoint_id
        previous_id = str(self.prev.get("endpointId") or "").lower()
        if endpoint is not None and endpoint.id.lower() == adopted and previous_id != adopted:
            events.append(Event("Normal", "Adopted", f"adopted endpoint {endpoint.id} (spec.endpointId)"))
        if o.updated_fields and endpoint is not None:
            events.append(
                Event("Normal", "Updated", f"updated {', '.join(o.updated_fields)} of endpoint {endpoint.id}")
            )
        for _old, new in transitions(self.prev_conditions, status["conditions"]):
            if new.type == READY:
                if new.status == "True":
                    events.append(Event("Normal", "Ready", new.message or "ready"))
                elif health.phase in (Phase.STALLED, Phase.RETRYING):
                    events.append(Event("Warning", new.reason, new.message))
                else:
                    events.append(Event("Normal", new.reason, new.message))
            elif new.type in (MODEL_EXPIRING, MODEL_EXPIRED) and new.status == "True":
                events.append(Event("Warning", new.type, new.message))
        return events


def _ref_text(ref: ModelRef | None) -> str:
    return "(none)" if ref is None else f"{ref.kind} {ref.id}"


# ---------------------------------------------------------------------------------------------------------
# Deletion


def _plan_deletion(resource: Resource, observed: Observed, pass_: Pass) -> Plan:
    r, o, p = resource, observed, pass_
    prev = dict(r.status or {})
    spec = r.deletion_spec
    policy = parse_policy(r.annotations)
    helper = _Reconcile(r, o, p)
    helper.policy = policy or Policy.MANAGE
    # Only an endpoint the resource owns is deleted or counted as orphaned: never one it merely names.
    found = o.endpoint.id if o.looked_up and o.endpoint is not None else None
    endpoint_id = helper.owned_id() or found
    pending = CREATE_PENDING_ANNOTATION in r.annotations
    named = r.adopted_endpoint_id
    unadopted = named if named and named != endpoint_id else None

    def release(*events: Event, orphaned: str | None = None) -> Outcome:
        if unadopted:
            note = (
                f"endpoint {unadopted} (spec.endpointId) was never adopted by this resource: left in Azure "
                "untouched"
            )
            events += (Event("Normal", "NotAdopted", note),)
        return Outcome(status=prev, events=tuple(events), release=True, orphaned_endpoint=orphaned)

    if spec is None or policy is None or policy is not Policy.MANAGE or spec.deletion_policy == "Orphan":
        if endpoint_id is None and not pending:
            return release()
        why = (
            f"the spec is invalid ({r.spec_error})"
            if spec is None
            else f"{POLICY_ANNOTATION} is {r.annotations.get(POLICY_ANNOTATION)!r}"
            if policy is not Policy.MANAGE
            else "deletionPolicy is Orphan"
        )
        what = f"endpoint {endpoint_id}" if endpoint_id else "any endpoint created for it"
        # Asked for (Orphan, detach-on-delete, skip): a Normal event. Otherwise nobody chose to keep it: a
        # Warning, and the orphaned-endpoints metric (the one to alert on) counts it.
        unintended = spec is None or policy is None
        kind: Literal["Normal", "Warning"] = "Warning" if unintended else "Normal"
        event = Event(kind, "Orphaned", f"left {what} in Azure: {why}")
        return release(event, orphaned=endpoint_id if unintended else None)

    if o.deleted and o.already_gone:
        return release(
            Event("Normal", "EndpointAlreadyGone", f"endpoint {endpoint_id} was already gone from Azure")
        )
    if o.deleted:
        return release(Event("Normal", "Deleted", f"deleted endpoint {endpoint_id} in Azure"))
    if endpoint_id is None and not pending:
        return release()  # never created
    # With no endpoint owned, the mark is on: a create's outcome is unknown and a lookup comes first.
    unknown = f"the endpoint a create of this resource may have made (tagged {MARKER_KEY}={r.uid})"
    if o.credentials_error is not None:
        assert r.deletion_timestamp is not None
        waited = p.now - r.deletion_timestamp
        if waited >= p.timing.deletion_credentials_wait:
            what = f"endpoint {endpoint_id}" if endpoint_id else unknown
            return release(
                Event(
                    "Warning",
                    "OrphanedEndpoint",
                    f"released without deleting {what} in Azure: credentials unavailable for "
                    f"{int(waited.total_seconds())}s ({o.credentials_error})",
                ),
                orphaned=endpoint_id or "unknown",
            )
        remaining = (p.timing.deletion_credentials_wait - waited).total_seconds()
        waiting = OperatorError(
            o.credentials_error.reason,
            f"{describe(o.credentials_error)}; deleting the endpoint waits for them: retried every "
            f"{span(p.timing.credentials_retry_interval)}, released without deleting it after "
            f"{span(p.timing.deletion_credentials_wait)}",
            o.credentials_error.error_class,
        )
        outcome = helper.error(waiting, credentials=True, next_step=False)
        delay = min(p.timing.credentials_retry_interval.total_seconds(), max(remaining, 1.0))
        return replace(outcome, retry=Retry(delay, "credentials for the deletion"))
    if o.error is not None:
        error = o.error
        doing = f"deleting endpoint {endpoint_id}" if endpoint_id else f"looking up {unknown}"
        message = (
            f"{doing} failed: {describe(error)}; retried with backoff (set "
            f"{POLICY_ANNOTATION}=detach-on-delete to leave it in Azure)"
        )
        cls = error.error_class if error.error_class is not ErrorClass.FATAL else ErrorClass.BLOCKED
        shown = OperatorError(error.reason, message, cls, retry_after=error.retry_after)
        outcome = helper.error(shown, next_step=False)
        events = outcome.events
        if not any(e.type == "Warning" for e in events):
            events = ()
        return replace(outcome, events=tuple(Event("Warning", "DeleteFailed", e.message) for e in events))
    if endpoint_id is None:
        if not o.looked_up:
            assert spec is not None
            return FindByMarker(MARKER_KEY, r.uid, spec.locale)
        return release()  # the create never happened
    return DeleteEndpoint(endpoint_id)


__all__ = [
    "AZURE_WRITES",
    "CREATE_PENDING_ANNOTATION",
    "DRIFT_ANNOTATION",
    "ENDPOINT_ID_ANNOTATION",
    "POLICY_ANNOTATION",
    "REQUESTED_ANNOTATION",
    "CreateEndpoint",
    "DeleteEndpoint",
    "Event",
    "Export",
    "FindByMarker",
    "GetEndpoint",
    "GetModel",
    "MarkCreatePending",
    "Observed",
    "Outcome",
    "Pass",
    "Plan",
    "Policy",
    "RecordEndpointId",
    "Resource",
    "Retry",
    "Step",
    "Timing",
    "Trigger",
    "Unexport",
    "UpdateEndpoint",
    "backoff",
    "compute_changes",
    "drift_interval",
    "parse_duration",
    "plan",
]
