"""The vocabulary every kind's reconcile logic shares, pure (no kopf, no Kubernetes, no I/O).

A kind's `plan(resource, observed, pass_)` (speechendpoint/logic.py) decides the next step of a pass or its
`Outcome`; the runtime (runtime/) performs the steps. What is the same for every kind lives here: the
annotations users and the operator set, why and when a pass runs (`Trigger`, `Pass`, `Timing`), the steps
on the resource itself (the create-pending mark, the recorded endpoint id, the exported ConfigMap), what
the runtime records of them (`ObservedBase`), the outcome (`Outcome`, `Event`, `Retry`), and how an error is
classified into a condition row, a come-back and `status.error` (`report_error`, docs/errors.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Generic, Literal, Protocol, Self, TypeVar

from azure_speech_operator.azure.types import AzureError, ErrorClass, OperatorError
from azure_speech_operator.conditions import STALLED, Health, Phase, find_condition, safe_reason
from azure_speech_operator.settings import MAX_DURATION, MIN_DRIFT_INTERVAL, OperatorSettings

USER_PREFIX: Final = "speech.azure-operator.io"
# kopf's storage prefix (the runner configures kopf with it): kopf leaves annotations under it out of its
# diff, so the operator's own bookkeeping written there never triggers a handler, while the user-facing ones
# (USER_PREFIX) do.
KOPF_PREFIX: Final = "kopf.speech.azure-operator.io"
FINALIZER: Final = f"{USER_PREFIX}/finalizer"
CREDENTIALS_LABEL: Final = f"{USER_PREFIX}/credentials"

POLICY_ANNOTATION: Final = f"{USER_PREFIX}/reconcile-policy"
REQUESTED_ANNOTATION: Final = f"{USER_PREFIX}/reconcile-requested-at"
DRIFT_ANNOTATION: Final = f"{USER_PREFIX}/drift-interval"
CREATE_PENDING_ANNOTATION: Final = f"{KOPF_PREFIX}/create-pending"
ENDPOINT_ID_ANNOTATION: Final = f"{KOPF_PREFIX}/endpoint-id"
# The adopted endpoint (spec.endpointId) a pass read and took over: the resource's, deleted with it
ADOPTED_ANNOTATION: Final = f"{KOPF_PREFIX}/adopted-endpoint-id"

# status.error.class of a stall the reconcile policy causes (not an error class of the client's table).
POLICY_CLASS: Final = "policy"
INVALID_ANNOTATION: Final = "InvalidAnnotation"
# First delay of the capped exponential backoff of transient errors when Azure sends no Retry-After.
TRANSIENT_BACKOFF_BASE: Final = 5.0
FINALIZER_WAIT: Final = 2.0
# Azure's answers to a key that is wrong or lacks rights: a changed Secret may fix them.
AUTH_REASONS: Final = ("Unauthorized", "Forbidden")


class Policy(StrEnum):
    MANAGE = "manage"
    SKIP = "skip"
    DETACH_ON_DELETE = "detach-on-delete"


class Trigger(StrEnum):
    CHANGE = "change"  # created, updated, annotation changed, retry of a come-back
    RESUME = "resume"  # seen at operator start
    DRIFT = "drift"  # the drift check (per-object loop in the runtime)
    DELETE = "delete"


# The defaults live in one place, the operator's settings (pure configuration: no kopf or kubernetes).
_DEFAULTS = OperatorSettings()


@dataclass(frozen=True)
class Timing:
    """The reconcile timings the logic needs, and where a region leads (for what is exported to
    applications), a subset of OperatorSettings (with its defaults)."""

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
    voice_swap_grace_period: timedelta = _DEFAULTS.voice_swap_grace_period
    region_url: str = _DEFAULTS.region_url  # --region-url: another cloud, or a simulator
    create_in_flight: timedelta = _DEFAULTS.create_in_flight

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Timing:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


# ---------------------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class ResourceBase:
    """A resource as read at the start of the pass: what every kind has. A kind adds its spec (keyword-only
    fields, so they may follow these defaults)."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec_error: str | None = None  # why the spec does not validate (the kind's spec is then None)
    annotations: Mapping[str, str] = field(default_factory=dict)
    status: Mapping[str, Any] = field(default_factory=dict)
    deletion_timestamp: datetime | None = None
    has_finalizer: bool = True

    @property
    def deleting(self) -> bool:
        return self.deletion_timestamp is not None

    @property
    def adopted_endpoint_id(self) -> str | None:
        """The endpoint spec.endpointId names (a kind with a spec says)."""
        return None


class _Adoptable(Protocol):
    @property
    def adopted_endpoint_id(self) -> str | None: ...


SpecT = TypeVar("SpecT", bound=_Adoptable)
DeletionT = TypeVar("DeletionT", bound=_Adoptable)


@dataclass(frozen=True, kw_only=True)
class SpecResource(ResourceBase, Generic[SpecT, DeletionT]):
    """A resource with its parsed spec (None if it does not validate: `spec_error` says why) and what
    deletion needs of it: the spec itself, or that part of an invalid one (None if unreadable)."""

    spec: SpecT | None
    deletion_spec: DeletionT | None = None

    @property
    def adopted_endpoint_id(self) -> str | None:
        view = self.spec or self.deletion_spec
        return view.adopted_endpoint_id if view else None

    @classmethod
    def read(
        cls, obj: Mapping[str, Any], parse_stored: Callable[[dict[str, Any]], tuple[Any, str | None, Any]]
    ) -> Self:
        """A stored object (as the API server answers it) as the logic reads it; `parse_stored` is the
        kind's SpecReader.parse_stored."""
        spec, error, deletion_spec = parse_stored(dict(obj.get("spec") or {}))
        return cls(**metadata_fields(obj), spec=spec, spec_error=error, deletion_spec=deletion_spec)


def metadata_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ResourceBase fields of a stored object (a kind adds its parsed spec)."""
    metadata = obj.get("metadata") or {}
    deletion = metadata.get("deletionTimestamp")
    return {
        "name": str(metadata.get("name")),
        "namespace": str(metadata.get("namespace")),
        "uid": str(metadata.get("uid")),
        "generation": int(metadata.get("generation") or 1),
        "annotations": dict(metadata.get("annotations") or {}),
        "status": dict(obj.get("status") or {}),
        "deletion_timestamp": datetime.fromisoformat(deletion.replace("Z", "+00:00")) if deletion else None,
        "has_finalizer": FINALIZER in (metadata.get("finalizers") or []),
    }


@dataclass(frozen=True)
class Failures:
    """The passes right before this one that ended in an error of one class (`status.error.class`): the
    exponent of that class's backoff (`report_error`). A pass that ends without an error (a poll, progress,
    success) or with another class starts the count over, so one glitch late in a long deployment waits the
    backoff's first step, not its cap."""

    error_class: str | None = None
    count: int = 0

    def of(self, error_class: str) -> int:
        """How many passes in a row ended in an error of `error_class` before this one."""
        return self.count if error_class == self.error_class else 0

    def after(self, status: Mapping[str, Any]) -> Failures:
        """The count after a pass that ended with `status`."""
        error = status.get("error")
        error_class = str(error.get("class") or "") if isinstance(error, Mapping) else ""
        return Failures(error_class, self.of(error_class) + 1) if error_class else Failures()


@dataclass(frozen=True)
class Pass:
    """Why and when this pass runs. `attempt` is kopf's retry count of the handler: every come-back so far,
    a deployment's polls included, so it paces periodic looks and is no backoff exponent: that is `failures`
    (the runtime keeps it across passes). `jitter` is a random number in [0, 1) drawn by the caller so the
    plan stays deterministic."""

    trigger: Trigger
    now: datetime
    timing: Timing = field(default_factory=Timing)
    attempt: int = 0
    jitter: float = 0.5
    failures: Failures = field(default_factory=Failures)
    # the median seconds Azure's recent actions of this kind took, by action (runtime/durations.py)
    expected: Mapping[str, float] = field(default_factory=dict)
    # this operator process (runtime/context.py): a create-pending mark it wrote is its own
    process: str = ""
    # endpoints another resource of the kind records as its own, with that resource ("Kind ns/name"): the
    # resource's spec.endpointId, when it is one (runtime/claims.py)
    claimed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedBase:
    """What the runtime records in a pass besides the kind's own Azure reads: the credentials, the steps on
    the resource itself, and the error that ended the pass. A kind's `Observed` extends it."""

    credentials_error: OperatorError | None = None
    credentials_final: bool = False  # they cannot come back: the Secret's namespace is being deleted
    marked: bool = False  # the create-pending mark was written in this pass
    unmarked: bool = False  # the create-pending mark was dropped in this pass (the create was refused)
    forgot_id: bool = False  # the recorded endpoint id was dropped in this pass (to recreate)
    recorded_id: str | None = None  # the endpoint id recorded on the resource in this pass
    exported: bool = False
    unexported: bool = False
    error: OperatorError | None = None  # the step that failed ends the pass
    failed_step: str | None = None
    notes: tuple[tuple[str, str | None], ...] = ()  # bookkeeping annotations written in this pass, in order

    @property
    def wrote(self) -> bool:
        """Whether the pass wrote in Azure (each kind's Observed knows its writes)."""
        raise NotImplementedError

    def note(self, annotations: Mapping[str, str], key: str) -> str | None:
        """A bookkeeping annotation as it is now: written in this pass, else as read."""
        for name, value in reversed(self.notes):
            if name == key:
                return value
        return annotations.get(key)


# ---------------------------------------------------------------------------------------------------------
# Azure steps every kind has (each kind's steps.py performs them with its own client)


@dataclass(frozen=True)
class GetEndpoint:
    endpoint_id: str


@dataclass(frozen=True)
class DeleteEndpoint:
    endpoint_id: str


# ---------------------------------------------------------------------------------------------------------
# Steps on the resource itself (direct patches that land at once; the runtime performs them)


@dataclass(frozen=True)
class MarkCreatePending:
    """Set the create-pending mark (and drop a recorded id, to recreate). The runtime connects to Azure
    before it, so that missing credentials never leave a stray mark (which would cost a lookup later)."""

    forget_endpoint_id: bool = False


@dataclass(frozen=True)
class ClearCreatePending:
    """Drop the create-pending mark, the create is known not to have happened (Azure refused it, it was
    never sent, or the lookup found nothing), so no later pass looks for it."""


@dataclass(frozen=True)
class RecordEndpointId:
    """Record the endpoint id (annotation and status.endpointId) and drop the create-pending mark."""

    endpoint_id: str


@dataclass(frozen=True)
class Export:
    config_map_name: str
    data: Mapping[str, str]


@dataclass(frozen=True)
class Unexport:
    """Delete the ConfigMap exported before (spec.exportTo removed or renamed), if the resource owns it."""

    config_map_name: str


@dataclass(frozen=True)
class Note:
    """Write (or with None remove) some of the operator's bookkeeping annotations (under KOPF_PREFIX, so
    they trigger no handler) at once: what must survive a crash before the next Azure write, e.g. the
    endpoint a voice swap is about to create, or the previous endpoint still to be deleted."""

    changes: tuple[tuple[str, str | None], ...]
    why: str
    # It names an endpoint about to be created: the runtime connects to Azure first, so missing
    # credentials never leave the note of an endpoint that was never asked for (deletion would wait for it).
    before_create: bool = False


ResourceStep = MarkCreatePending | ClearCreatePending | RecordEndpointId | Export | Unexport | Note
RESOURCE_STEPS: Final = (MarkCreatePending, ClearCreatePending, RecordEndpointId, Export, Unexport, Note)


# ---------------------------------------------------------------------------------------------------------
# Outcome


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
    # deletion left these endpoints in Azure unasked (for the metric; "unknown": a create whose outcome is)
    orphaned_endpoints: tuple[str, ...] = ()
    # Not a retry: a moment the resource must be looked at again even if nothing changes (a scheduled
    # suspend or resume, the end of a swap's grace period). The drift schedule looks at it then.
    wake_at: datetime | None = None
    # Azure actions seen ended in this pass and the seconds each took by Azure's clock: (action, seconds)
    took: tuple[tuple[str, float], ...] = ()

    def status_changed(self, previous: Mapping[str, Any]) -> bool:
        return dict(previous) != self.status


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


# ASCII digits only: `1²` or Arabic-Indic digits are digits to Python's \d and isdigit(), not to int()
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$", re.ASCII)


def parse_duration(text: str) -> timedelta | None:
    """`90`, `90s`, `15m`, `1h30m`, `2d`; None if unreadable, zero or longer than MAX_DURATION."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        seconds = int(text)
    else:
        match = _DURATION.match(text)
        if not match or not text:
            return None
        days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if not 0 < seconds <= MAX_DURATION.total_seconds():
        return None
    return timedelta(seconds=seconds)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time as Kubernetes and Azure write it, None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def invalid_annotation(annotations: Mapping[str, str]) -> str | None:
    """What is wrong with the user's annotations (named, with what to do), or None."""
    if parse_policy(annotations) is None:
        value = annotations.get(POLICY_ANNOTATION)
        return f"{POLICY_ANNOTATION}={value!r} is not one of manage, skip, detach-on-delete"
    drift = annotations.get(DRIFT_ANNOTATION)
    parsed = parse_duration(drift) if drift is not None else None
    if drift is not None and (parsed is None or parsed < MIN_DRIFT_INTERVAL):
        # under the minimum too: a value that would not be used as written is said so, not raised silently
        return (
            f"{DRIFT_ANNOTATION}={drift!r} is not a duration like 90s, 15m, 1h30m or 2d "
            f"(at least {int(MIN_DRIFT_INTERVAL.total_seconds())}s, at most {MAX_DURATION.days}d)"
        )
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


# An action in flight in Azure is looked at again after this share of the time it has taken so far: the
# lag after it ends stays a small fraction of its duration, with few calls.
POLL_FRACTION: Final = 0.25
# Once actions of its kind have been seen to end, one is looked at 1-3 % after the median time they took,
# then every sixteenth of the time waited until 1.25 x that time (one running a little longer is noticed
# soon too), then by POLL_FRACTION again.
DUE_MARGIN: Final = 0.01
CLOSE_UNTIL: Final = 1.25


def poll_delay(
    since: datetime | None, retry_after: float | None, pass_: Pass, action: str | None = None
) -> float:
    """When to look again at an endpoint Azure is working on (`since`: when `action` began): Azure's
    Retry-After when it sends one, else a quarter of the time waited so far, at least a third of the
    deploy poll interval and at most the backoff cap (jittered by -10 to +10 %); sooner around the time
    such actions took lately (`pass_.expected`)."""
    if retry_after:
        return retry_after
    timing = pass_.timing
    floor = max(1.0, timing.deploy_poll_interval.total_seconds() / 3)
    elapsed = (pass_.now - since).total_seconds() if since is not None else 0.0
    spread = 0.9 + pass_.jitter / 5
    delay = max(floor, POLL_FRACTION * elapsed) * spread
    expected = pass_.expected.get(action) if action is not None and since is not None else None
    if expected:
        due = expected * (1 + DUE_MARGIN * (1 + 2 * pass_.jitter))
        if elapsed < due:
            delay = min(delay, max(1.0, due - elapsed))
        elif elapsed < CLOSE_UNTIL * expected:
            delay = min(delay, max(floor, POLL_FRACTION / 4 * elapsed) * spread)
    return min(delay, timing.transient_backoff_cap.total_seconds())


def backoff(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Capped exponential backoff with jitter in [0.5, 1] of the step (never below 1 s)."""
    raw = min(cap, base * math.pow(2, max(0, min(attempt, 30))))
    return max(1.0, raw * (0.5 + jitter / 2))


def stalled_on_fatal(status: Mapping[str, Any], generation: int) -> bool:
    """Whether the resource stalled on a fatal error for its current spec: nothing is written in Azure
    until the spec changes (a new generation) or a reconcile is requested."""
    conditions = list(status.get("conditions") or [])
    stalled = find_condition(conditions, STALLED)
    error = status.get("error") or {}
    same_generation = any(
        c.get("type") == STALLED and c.get("observedGeneration") == generation for c in conditions
    )
    return stalled.status == "True" and error.get("class") == ErrorClass.FATAL.value and same_generation


# ---------------------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ErrorReport:
    """How an error shows: its row of the truth table, its come-back and `status.error`."""

    health: Health
    retry: Retry | None
    status_error: dict[str, str]


def report_error(
    error: OperatorError,
    pass_: Pass,
    *,
    credentials: bool = False,
    uses_secret: bool = False,
    writes_blocked_by_policy: bool = False,
    next_step: bool = True,
) -> ErrorReport:
    """Transient (and not-found) errors are retried with backoff (its exponent: the failed passes in a row,
    `Pass.failures`) or Azure's Retry-After, waiting ones between the waiting bounds, both while Reconciling;
    blocked ones are Stalled and retried slowly (missing `credentials` at their own interval); fatal ones are
    Stalled until the spec changes. A Stalled message says what happens next (unless `next_step` is False:
    the message says it already, or a policy, not an error, holds the writes). `uses_secret`: the
    credentials are a Secret, whose change retries at once."""
    timing, jitter = pass_.timing, pass_.jitter
    cls = error.error_class
    failed = pass_.failures.of(cls.value)
    reason = safe_reason(error.reason, "Error")
    retry: Retry | None
    if cls is ErrorClass.TRANSIENT or cls is ErrorClass.NOT_FOUND:
        delay = error.retry_after or backoff(
            failed, TRANSIENT_BACKOFF_BASE, timing.transient_backoff_cap.total_seconds(), jitter
        )
        retry = Retry(min(delay, timing.transient_backoff_cap.total_seconds()), f"transient {reason}")
        phase = Phase.RETRYING
    elif cls is ErrorClass.WAITING:
        low, high = timing.waiting_retry_min.total_seconds(), timing.waiting_retry_max.total_seconds()
        delay = error.retry_after or backoff(failed, low, high, jitter)
        retry = Retry(min(max(delay, low), high), f"waiting on Azure: {reason}")
        phase = Phase.RETRYING
    elif cls is ErrorClass.BLOCKED:
        if credentials:
            delay = timing.credentials_retry_interval.total_seconds()
        else:
            # one step up, so that the jitter ([0.5, 1] of a step) spreads the first retry over 5-10 min
            # and never brings it under the base: retried every 5 min at the soonest, growing to 30 min
            base = timing.blocked_retry_base.total_seconds()
            delay = max(base, backoff(failed + 1, base, timing.blocked_retry_cap.total_seconds(), jitter))
        retry = Retry(delay, f"blocked: {reason}")
        phase = Phase.STALLED
    else:
        retry = None
        phase = Phase.STALLED
    text = describe(error)
    shown = text
    if phase is Phase.STALLED and next_step and not writes_blocked_by_policy:
        # Azure's messages end with a full stop; "...exist.; retried" would read badly
        what_next = _what_next(error, reason, timing, credentials=credentials, uses_secret=uses_secret)
        shown = f"{text.rstrip('.')}; {what_next}"
    elif phase is Phase.RETRYING and next_step:
        # Azure's own text often says "try again later": the operator does, say so (no delay in it, which
        # would change the status at every retry)
        shown = f"{text.rstrip('.')}; {_retried_how(error, timing)}"
    status_error = {"code": reason, "message": text, "class": cls.value}
    if writes_blocked_by_policy:
        # Re-checked on every pass from the annotation itself: no gate on the generation needed.
        status_error["class"] = POLICY_CLASS
    return ErrorReport(Health(phase, reason, shown), retry, status_error)


def _retried_how(error: OperatorError, timing: Timing) -> str:
    if error.retry_after:
        return "retried by the operator when Azure's Retry-After says"
    if error.error_class is ErrorClass.WAITING:
        low, high = span(timing.waiting_retry_min), span(timing.waiting_retry_max)
        return f"looked at again by the operator every {low} to {high}"
    return f"retried by the operator with backoff (at most {span(timing.transient_backoff_cap)} apart)"


def _what_next(
    error: OperatorError, reason: str, timing: Timing, *, credentials: bool, uses_secret: bool
) -> str:
    if error.error_class is not ErrorClass.BLOCKED:
        return "not retried until the spec changes or reconcile-requested-at gets a new value"
    if credentials:
        every = span(timing.credentials_retry_interval)
    else:
        every = f"{span(timing.blocked_retry_base)} growing to {span(timing.blocked_retry_cap)}"
    triggers = ["a new reconcile-requested-at"]
    if uses_secret and (credentials or reason in AUTH_REASONS):
        triggers.append(f"a change of a Secret labelled {CREDENTIALS_LABEL}=true")
    return f"retried every {every}, at once on {' or '.join(triggers)}"


def expiring_model(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model whose end date the status reports on (ModelExpiring / ModelExpired, the model-expiry
    metric): the one answering requests (`servingModel` while another deploys, with what is known of its
    end date), else the deployed one (`model`)."""
    model: Mapping[str, Any] = status.get("model") or {}
    serving: Mapping[str, Any] = status.get("servingModel") or {}
    if serving.get("id") and serving.get("id") != model.get("id"):
        return serving
    return model


def recorded_endpoints(annotations: Mapping[str, str]) -> list[str]:
    """The endpoints a resource's annotations record as its own (created, or adopted and taken over): what
    a deletion ended before it finished leaves in Azure. A kind with more (a swap's) adds its own."""
    return [annotations[a] for a in (ENDPOINT_ID_ANNOTATION, ADOPTED_ANNOTATION) if annotations.get(a)]
