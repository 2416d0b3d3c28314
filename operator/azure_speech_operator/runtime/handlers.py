"""The kopf handlers of every kind, registered per kind by `register(kind)`; thin. Each one takes the
object (the newest of kopf's copy, the copy of a later event, and the answer to the operator's own last
write), runs one pass of the engine under the object's lock, writes the status (only when it changed),
posts the events the kind's logic asks for and logs them (oplog.pass_lines), reports metrics, and hands a
come-back to the drift schedule. Nothing is returned, so kopf stores nothing in status.

- create / update / resume: one reconcile function (kopf's diff covers spec, labels and user annotations,
  so `reconcile-requested-at`, `reconcile-policy` and the credentials-rotated mark trigger it too);
- one per-event handler: drops managedFields from kopf's copy, feeds the drift schedule, wakes sleeping
  handlers on a change (runtime/wakeup.py);
- the drift schedule (runtime/drift.py: one task for all objects) runs an object's pass when a come-back
  (a deployment being polled, an error retried) or its jittered drift interval is due;
- at most `--max-passes-in-flight` passes run at once (runtime/passes.py): with none free, a create,
  update or resume handler leaves its pass to the drift schedule and returns (`_deferred`), and a pass that
  waited starts from the newest copy an event has shown (`newest_seen`);
- delete: the same logic in deletion mode, its come-backs kopf's retries (`oplog.ComeBack`, a
  kopf.TemporaryError logged at DEBUG); kopf removes the finalizer when it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

import kopf

from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.kube import KubeApiError, resource_version
from azure_speech_operator.reconcile import (
    ADOPTED_ANNOTATION,
    FINALIZER,
    POLICY_CLASS,
    RESOURCE_STEPS,
    Failures,
    Outcome,
    Pass,
    Policy,
    ResourceBase,
    Timing,
    Trigger,
    drift_interval,
    parse_policy,
)
from azure_speech_operator.runtime import oplog, wakeup
from azure_speech_operator.runtime.context import OperatorContext, get_context
from azure_speech_operator.runtime.credentials import resolve_credentials
from azure_speech_operator.runtime.drift import STOP_TIMEOUT
from azure_speech_operator.runtime.engine import CredentialsUnavailable, run_pass
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.runtime.metrics import state_of
from azure_speech_operator.runtime.writer import KubeWriter
from azure_speech_operator.settings import MIN_DRIFT_INTERVAL

AnyKind = Kind[Any, Any, Any, Any]

RETRY_SOON = 10.0  # a drift pass that could not run and named no delay runs again after this
DRIFT_JITTER = 0.1  # each interval is stretched or shrunk by up to 10 %
CANCELLATION_TIMEOUT = STOP_TIMEOUT  # a stopping daemon is cancelled after this


def _lock(memo: Any) -> asyncio.Lock:
    """The object's own lock (kopf gives each object its own shallow copy of the memo)."""
    lock = getattr(memo, "reconcile_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        memo.reconcile_lock = lock
    return lock


async def run_reconcile(
    kind: AnyKind,
    ctx: OperatorContext,
    memo: Any,
    namespace: str,
    name: str,
    trigger: Trigger,
    attempt: int,
    body: kopf.Body | None,
) -> Outcome | None:
    """One pass under the object's lock, on the newest copy of the object the operator has (current_object).
    `body`: kopf's copy the handler was called with; None for the drift schedule's passes, which take the
    newest copy an event has shown (`newest_seen`) only once they have their slot, so that a pass waiting for
    one holds no parsed object. None if the delete handler owns it."""
    # the object's lock before a slot: a pass waiting for its object's other pass holds no slot
    async with _lock(memo), ctx.passes.held(), _failures_counted(ctx, kind):
        seen, own = newest_seen(memo, body)
        obj = current_object(seen, _written_unless_caught_up(memo, seen), own=own)
        resource: ResourceBase = kind.build_resource(obj)
        logger = oplog.object_logger(kind.logger, obj)
        if resource.deleting and trigger is not Trigger.DELETE:
            return None  # the delete handler owns it now
        timing = Timing.from_settings(ctx.settings)
        # The failed passes in a row live in the object's memo, shared by its handlers and drift checks, not
        # in its status (nothing there counts them, and a count would be a write per retry); a restart forgets
        # them, so a fresh process retries at the first step.
        failures: Failures = getattr(memo, "failures", Failures())
        pass_ = Pass(
            trigger=trigger,
            now=ctx.now(),
            timing=timing,
            attempt=attempt,
            jitter=ctx.rng.random(),
            failures=failures,
            expected=ctx.durations.expected(kind.kind),
            process=ctx.process,
            claimed=ctx.claims.others(kind.kind, resource.adopted_endpoint_id, resource.uid),
        )
        writer = KubeWriter(ctx, kind, obj)
        raw_credentials = ((obj.get("spec") or {}).get("azure") or {}).get("credentials")

        async def connect() -> Any:
            try:
                credential = await resolve_credentials(
                    ctx.secrets,
                    namespace,
                    raw_credentials,
                    ctx.settings,
                    memory=ctx.keys,
                    deleting=resource.deleting,
                    refusals=ctx.refusals,
                    now=pass_.now,
                )
            except OperatorError as exc:
                # A deleted namespace takes its Secrets at once and never gets them back: no point waiting
                final = (
                    resource.deletion_timestamp is not None
                    and exc.reason == "CredentialsNotFound"
                    and await ctx.kube.namespace_terminating(namespace)
                )
                raise CredentialsUnavailable(exc, final=final) from None
            return kind.connect(ctx.azure, resource, credential)

        asked_azure = False

        def log_step(step: Any) -> None:
            nonlocal asked_azure
            asked_azure = asked_azure or not isinstance(step, RESOURCE_STEPS)
            # DEBUG: the event the write leads to (Created, Updated, Deleted) is the INFO line.
            line = kind.describe_write(step)
            if line is not None:
                logger.debug("%s", line)

        try:
            outcome, _ = await run_pass(
                kind, resource, pass_, connect=connect, writer=writer, on_step=log_step
            )
            memo.failures = failures.after(outcome.status)
            for action, seconds in outcome.took:
                ctx.durations.record(kind.kind, action, seconds)
            _reschedule_drift_check(ctx, memo, obj, asked_azure=asked_azure)
            if outcome.status_changed(resource.status) and not outcome.release:
                try:
                    await writer.write_status(resource.status, outcome.status)
                except KubeApiError as exc:
                    raise oplog.ComeBack(
                        f"writing the status failed: {exc}", delay=5, level=logging.INFO
                    ) from None
        finally:
            if writer.written is not None:
                memo.written = writer.written
        for event in outcome.events:
            kopf.event(seen, type=event.type, reason=event.reason, message=event.message)
        for level, line in log_lines(resource.status, outcome):
            logger.log(level, "%s", line)
        _report_metrics(ctx, kind, obj, resource, outcome, left=_left(ctx, memo, resource))
        return outcome


def current_object(
    body: Mapping[str, Any], written: Mapping[str, Any] | None, *, own: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The newer (by resourceVersion) of kopf's copy of the object (the newest event's) and
    the answer to the operator's own last write to it, as a copy the pass may change. The one change a pass
    must never miss is its own (a create-pending mark, an endpoint id), and other changes reach kopf's copy
    as fast as a read would see them, so the operator never reads its resources itself (no `get` in its
    RBAC; at N = 1,000 the API server served 3.6 such reads per resource while the user's apply waited)."""
    if written is not None and newer_than(written, body):
        return thaw(freeze(written))
    return own if own is not None else thaw(freeze(body))


def newest_seen(memo: Any, body: kopf.Body | None) -> tuple[kopf.Body, dict[str, Any] | None]:
    """The copy a pass starts from: the one it was called with (kopf's, for a handler) or the newest an event
    has shown since (`track` keeps it frozen), whichever is newer, and the latter as a copy of the pass's own.
    A pass may wait long for its lock and slot, and the copy it was called with may by then predate another
    pass's writes and the events that followed them, which drop the answers to those writes
    (`_written_unless_caught_up`): on that copy it would not know the endpoint it created and would create a
    second one (seen at a start with 5,000 objects to converge)."""
    latest: tuple[int | None, bytes] | None = getattr(memo, "latest", None)
    if latest is not None:
        version, frozen = latest
        if body is None or (version is not None and (resource_version(body) or 0) < version):
            own = thaw(frozen)
            return kopf.Body(cast(kopf.RawBody, own)), own
    if body is None:
        raise RuntimeError("a drift pass of an object no event has shown")  # track() precedes every look
    return body, None


def freeze(obj: Mapping[str, Any]) -> bytes:
    """An object as compact JSON: what the drift schedule keeps of each object between its looks (a parsed
    object is 4-5 times its JSON in memory), and with `thaw` a copy for a pass several times faster than
    `copy.deepcopy` (objects from the API server are JSON, so the round trip is exact)."""
    return json.dumps(dict(obj), separators=(",", ":"), ensure_ascii=False).encode()


def thaw(frozen: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(frozen)
    return obj


def _written_unless_caught_up(memo: Any, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The answer to the operator's last write to the object while it is newer than kopf's copy; once kopf's
    copy has caught up it is dropped (a kept one would be a second copy of every object in memory)."""
    written: Mapping[str, Any] | None = getattr(memo, "written", None)
    if written is not None and not newer_than(written, body):
        memo.written = written = None
    return written


def newer_than(written: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether the operator's own write answer is newer than kopf's copy (or kopf's has no usable version)."""
    seen, mine = resource_version(body), resource_version(written)
    return seen is None or (mine is not None and seen < mine)


@asynccontextmanager
async def _failures_counted(ctx: OperatorContext, kind: AnyKind) -> AsyncIterator[None]:
    """Passes that end in an exception count too (the others are counted by `_report_metrics`)."""
    try:
        yield
    except oplog.ComeBack:  # reading or writing the resource failed
        ctx.metrics.reconciled(kind.kind, "kubernetes-error")
        raise
    except Exception:
        ctx.metrics.reconciled(kind.kind, "exception")
        raise


def log_lines(previous_status: Mapping[str, Any], outcome: Outcome) -> list[tuple[int, str]]:
    """What a pass logs (oplog.pass_lines): its events, and one WARNING when it turns the resource Stalled."""
    endpoint_id = outcome.status.get("endpointId") or next(iter(outcome.orphaned_endpoints), None)
    return oplog.pass_lines(
        outcome.events,
        previous_status.get("conditions"),
        outcome.status.get("conditions"),
        released=outcome.release,
        endpoint_id=str(endpoint_id) if endpoint_id else None,
    )


def _left(ctx: OperatorContext, memo: Any, resource: ResourceBase) -> bool:
    """Whether the object left this operator while its pass ran (gone, another shard's, or this replica of
    a peering paused): the schedule forgot it, and its gauges with it."""
    key = getattr(memo, "drift_key", None)
    return key is not None and key not in ctx.drift and not resource.deleting


def _report_metrics(
    ctx: OperatorContext,
    kind: AnyKind,
    obj: Mapping[str, Any],
    resource: ResourceBase,
    outcome: Outcome,
    *,
    left: bool = False,
) -> None:
    if left:
        # a pass already under way when it left must not put it back in this operator's gauges
        ctx.metrics.reconciled(kind.kind, pass_outcome(outcome))
        return
    if outcome.release:
        ctx.metrics.forget_resource(kind.kind, resource.namespace, resource.name)
        if outcome.orphaned_endpoints:
            ctx.metrics.orphaned(kind.kind, len(outcome.orphaned_endpoints))
        ctx.metrics.reconciled(kind.kind, "released")
        return
    state = state_of(obj.get("metadata") or {}, resource.status, outcome.status)
    ctx.metrics.set_resource_state(kind.kind, resource.namespace, resource.name, state)
    ctx.metrics.reconciled(kind.kind, pass_outcome(outcome))


# and `policy`: a reconcile-policy (skip, or an invalid value) holds the writes
_ERROR_CLASSES = frozenset(error_class.value for error_class in ErrorClass) | {POLICY_CLASS}


def pass_outcome(outcome: Outcome) -> str:
    """The reconciles metric's outcome of a pass that did not release the resource: the class of the error
    it left in the status, else whether it comes back soon."""
    error = outcome.status.get("error")
    if isinstance(error, Mapping):
        error_class = error.get("class")
        # A bounded label whatever the status holds.
        return error_class if error_class in _ERROR_CLASSES else "error"
    return "retry" if outcome.retry else "done"


def _come_back(ctx: OperatorContext, memo: Any, outcome: Outcome | None, attempt: int) -> None:
    """Every come-back (a deployment being polled, a transient error, a blocked one) is the drift
    schedule's: the handler completes, so kopf writes no progress annotation per poll (a Kubernetes write
    each, 4 per resource from apply to Ready at N = 1,000), a change runs the handler at once instead of
    waiting behind a retry delay, and one deployment is polled by one poller only. `attempt` is the
    come-back count of the pass that asks for it."""
    if outcome is not None:
        _wake_for(ctx, memo, outcome)
    if outcome is None or outcome.retry is None:
        memo.come_back, memo.come_back_due = None, None
        return
    memo.come_back, memo.come_back_due = attempt + 1, ctx.now() + timedelta(seconds=outcome.retry.delay)
    _bring_forward(ctx, memo, memo.come_back_due)


def _deferred(ctx: OperatorContext, memo: Any, trigger: Trigger, attempt: int) -> bool:
    """When every pass slot is taken, a handler's pass is left to the drift schedule, due at once, as what it
    is (a change, or a resume at start), and the handler returns. Were it to wait for a slot in the handler,
    kopf's worker for the object would stay busy meanwhile, keeping its copy and queueing every event of the
    object (each with its managedFields) until then: with thousands of objects waiting at once (a start on
    5,000 unconverged ones) that was most of the operator's memory. The schedule keeps only the frozen copy.
    Not while the schedule does not serve the object (with peering, before its daemon has started)."""
    key = getattr(memo, "drift_key", None)
    if ctx.passes.has_room() or key is None or key not in ctx.drift:
        return False
    pending: Trigger | None = getattr(memo, "deferred", None)
    # a change outranks a resume: a resume pass may skip Azure for a settled resource, a change may not
    memo.deferred = Trigger.CHANGE if Trigger.CHANGE in (pending, trigger) else trigger
    now = ctx.now()
    # the handler's count, as its own pass would have had: a change starts the come-backs' count anew
    memo.come_back, memo.come_back_due = attempt, now
    _bring_forward(ctx, memo, now)
    return True


def _bring_forward(ctx: OperatorContext, memo: Any, when: datetime) -> None:
    key = getattr(memo, "drift_key", None)
    if key is not None:
        ctx.drift.bring_forward(key, when)


def _wake_for(ctx: OperatorContext, memo: Any, outcome: Outcome) -> None:
    """A moment the outcome must be looked at again (a scheduled transition, the end of a grace period)
    brings the next drift check forward to it; it never postpones one."""
    if outcome.wake_at is None or outcome.release:
        return
    due: datetime | None = getattr(memo, "drift_due", None)
    if due is None:
        # no drift check planned yet (a start's first pass): the first is at a random moment within the
        # interval, as drift_look would set it, or a moment hours away would stand for it in every object
        # and all their checks would come together, none in between
        due = memo.drift_due = ctx.now() + ctx.settings.drift_interval * ctx.rng.uniform(0.0, 1.0)
    if outcome.wake_at < due:
        memo.drift_due = outcome.wake_at
        _bring_forward(ctx, memo, outcome.wake_at)


def _object_drift_interval(ctx: OperatorContext, annotations: Mapping[str, str] | None) -> timedelta:
    return drift_interval(dict(annotations or {}), ctx.settings.drift_interval, MIN_DRIFT_INTERVAL)


def _reschedule_drift_check(
    ctx: OperatorContext, memo: Any, obj: Mapping[str, Any], *, asked_azure: bool
) -> None:
    """After a pass. A drift check set under a longer `drift-interval` than the object's now (the annotation
    was shortened: the pass is its update handler's) comes within the new interval from now, not at the old
    time. A pass that asked Azure stands for a drift check that fell due before it ended (while it waited
    for its lock and slot, or between the polls of a deployment): the check moves on by whole intervals,
    keeping its place in the schedule. Without this every object whose check fell due while it waited in
    line was read again at once after its last pass (a start with 5,000 to converge: a burst of 1,190-1,560
    Azure reads in 10 s once all were Ready, against 153 expected), and a new check set from the end of
    each pass would bunch the checks of objects that became Ready together."""
    due: datetime | None = getattr(memo, "drift_due", None)
    if due is None:
        return
    now = ctx.now()
    interval = _object_drift_interval(ctx, (obj.get("metadata") or {}).get("annotations"))
    if due > now + interval * (1 + DRIFT_JITTER):
        memo.drift_due = now + interval * ctx.rng.uniform(1 - DRIFT_JITTER, 1 + DRIFT_JITTER)
        _bring_forward(ctx, memo, memo.drift_due)
        return
    if due > now or not asked_azure:
        return
    following = due + interval * ((now - due) // interval + 1)
    jittered = following + interval * ctx.rng.uniform(-DRIFT_JITTER, DRIFT_JITTER)
    memo.drift_due = jittered if jittered > now else jittered + interval


def _again(memo: Any, attempt: int | None, when: datetime, deferred: Trigger | None) -> None:
    """A drift pass that could not run is tried again at `when`, as what it was."""
    if attempt is None:
        memo.drift_due = when
    else:
        memo.come_back, memo.come_back_due, memo.deferred = attempt, when, deferred


def _next_due(memo: Any) -> datetime:
    drift_due: datetime = memo.drift_due
    come_back_due: datetime | None = getattr(memo, "come_back_due", None)
    return drift_due if come_back_due is None else min(drift_due, come_back_due)


@dataclass(eq=False)
class DriftTarget:
    """An object as the drift scheduler serves it: its kind, its memo, and kopf's newest copy of it, frozen
    (kopf drops its own once the object is idle: this is the one copy the operator keeps of each object)."""

    kind: AnyKind
    memo: Any
    frozen: bytes

    async def look(self) -> datetime | None:
        return await drift_look(self.kind, self.memo, self.frozen)


def track(kind: AnyKind, memo: Any, body: kopf.Body, *, start: bool) -> None:
    """Hands kopf's newest copy of the object to the drift scheduler; `start`: serve it if not yet served.
    An object being deleted is the delete handler's."""
    ctx = get_context(memo)
    key = body.metadata.uid
    if not start and key not in ctx.drift:
        return  # not served here (a paused peering replica, or being deleted): nothing to freeze
    frozen = freeze(body)
    memo.latest = (resource_version(body), frozen)  # for a pass that waited for its turn (`newest_seen`)
    if body.metadata.get("deletionTimestamp"):
        ctx.drift.forget(key)
        return
    memo.drift_key = key
    target = DriftTarget(kind, memo, frozen)
    if start:
        ctx.drift.track(key, target)
    else:
        ctx.drift.update(key, target)
    if _status_lost(body) and key in ctx.drift:
        _look_now_for_lost_status(ctx, memo)


# how soon a status lost again (a pass that cannot write it) is looked at again
STATUS_LOST_RETRY: Final = timedelta(minutes=1)


def _status_lost(body: kopf.Body) -> bool:
    """A status wiped (`kubectl patch --subresource=status`) or not restored with the object (a backup
    restore): kopf has handled the object (its last-handled record is there, written after the first pass
    wrote the status), yet the status is gone. No handler runs for it (a status change is no change to kopf,
    a restored object is no new one to it), so the drift schedule looks now, not at its next check."""
    return not (body.get("status") or {}).get("observedGeneration") and (
        wakeup.DIFFBASE_STORAGE.fetch(body=body) is not None
    )


def _look_now_for_lost_status(ctx: OperatorContext, memo: Any) -> None:
    now = ctx.now()
    last: datetime | None = getattr(memo, "status_lost_looked", None)
    if last is not None and now < last + STATUS_LOST_RETRY:
        return  # a pass that could not write it: not again at every event
    memo.status_lost_looked = now
    memo.drift_due = now
    _bring_forward(ctx, memo, now)


def _left_here(kind: AnyKind, memo: Any, body: kopf.Body) -> None:
    """The object is no longer this operator's to watch: off the drift schedule and out of the metrics."""
    ctx = get_context(memo)
    ctx.drift.forget(body.metadata.uid)
    ctx.metrics.forget_resource(kind.kind, str(body.metadata.namespace), str(body.metadata.name))


def _orphaned_by_hand(kind: AnyKind, memo: Any, body: kopf.Body) -> None:
    """A deletion this operator had not finished (waiting for credentials, a DELETE Azure refused) ended by
    someone taking the finalizer off: the endpoints it still recorded are left in Azure, unchosen. Said as
    a release without credentials says it (a WARNING naming them, the orphaned-endpoints metric), so the
    alert on that metric fires."""
    if not body.metadata.get("deletionTimestamp") or getattr(memo, "released", False):
        return
    annotations = body.metadata.annotations or {}
    deletion_policy = (body.get("spec") or {}).get("deletionPolicy")
    policy = parse_policy(annotations)
    if deletion_policy == "Orphan" or policy in (Policy.SKIP, Policy.DETACH_ON_DELETE):
        return  # kept by choice (an unreadable policy is no choice: counted, as its release counts it)
    left = sorted({e.lower() for e in kind.recorded_endpoints(annotations)})
    if not left:
        return
    get_context(memo).metrics.orphaned(kind.kind, len(left))
    oplog.object_logger(kind.logger, body).warning(
        "removed before its deletion finished (its finalizer taken off by hand): left %s in Azure",
        ("endpoint " if len(left) == 1 else "endpoints ") + ", ".join(left),
    )


def feed_drift(kind: AnyKind, event: Mapping[str, Any], body: kopf.Body, memo: Any) -> None:
    """What the per-event handler does for the drift schedule: every object seen is served from its first
    event to its deletion; with peering, only while kopf serves it (see `register`)."""
    claims = get_context(memo).claims
    if event.get("type") == "DELETED":
        # gone without a release here (another shard's now, or its finalizer removed by hand): it leaves
        # this operator's gauges and suspended time too
        _left_here(kind, memo, body)
        _orphaned_by_hand(kind, memo, body)
        claims.forget(kind.kind, body.metadata.uid)
        return
    ref = f"{kind.kind} {body.metadata.namespace}/{body.metadata.name}"
    annotations = body.metadata.annotations
    claims.update(
        kind.kind,
        body.metadata.uid,
        ref,
        kind.recorded_endpoints(annotations),
        adopted=annotations.get(ADOPTED_ANNOTATION),
        created_at=str(body.metadata.get("creationTimestamp") or ""),
    )
    # the answer to the last write of an object that reached Ready would otherwise be kept until its next pass
    _written_unless_caught_up(memo, body)
    track(kind, memo, body, start=get_context(memo).settings.peering is None)


# The kinds registered, and where: with peering, `register_served_daemons` adds a daemon per object to each.
_registered: list[tuple[AnyKind, kopf.OperatorRegistry | None]] = []
_with_served_daemons: list[kopf.OperatorRegistry] = []


def register(kind: AnyKind, registry: kopf.OperatorRegistry | None = None) -> None:
    """The handlers of `kind` (in kopf's default registry unless one is given)."""
    resource = (kind.group, kind.version, kind.plural)

    wakeup.register_wakeup(
        registry, *resource, also=lambda event, body, memo: feed_drift(kind, event, body, memo)
    )

    @kopf.on.resume(*resource, id="reconcile-resume", registry=registry)
    @kopf.on.create(*resource, id="reconcile-create", registry=registry)
    @kopf.on.update(*resource, id="reconcile-update", registry=registry)
    async def reconcile(
        *,
        reason: str,
        namespace: str | None,
        name: str,
        body: kopf.Body,
        memo: Any,
        retry: int,
        **_: Any,
    ) -> None:
        ctx = get_context(memo)
        trigger = Trigger.RESUME if reason == "resume" else Trigger.CHANGE
        if _deferred(ctx, memo, trigger, retry):
            return
        outcome = await run_reconcile(kind, ctx, memo, str(namespace), name, trigger, retry, body)
        _come_back(ctx, memo, outcome, retry)

    @kopf.on.delete(*resource, id="delete", registry=registry)
    async def delete(
        *, namespace: str | None, name: str, body: kopf.Body, memo: Any, retry: int, **_: Any
    ) -> None:
        ctx = get_context(memo)
        outcome = await run_reconcile(kind, ctx, memo, str(namespace), name, Trigger.DELETE, retry, body)
        if outcome is not None and outcome.release:
            memo.released = True  # its DELETED event is this release's, not a finalizer taken off by hand
        if outcome is None or outcome.release:
            return
        delay = outcome.retry.delay if outcome.retry else 30.0
        why = outcome.retry.why if outcome.retry else "deletion"
        raise oplog.ComeBack(f"deletion not finished, next try in {delay:.0f}s ({why})", delay=delay)

    _registered.append((kind, registry))


def register_served_daemons(registry: kopf.OperatorRegistry) -> None:
    """With peering only (the runner calls this then): kopf pauses an operator that another replica
    outranks, and stops its daemons then; a daemon per object, `served`, marks the time kopf serves it, so a
    paused replica's schedule runs no passes. Without peering kopf serves every object it has seen, and no
    daemon is registered at all: with any daemon registered for a kind, kopf keeps its newest copy of every
    object of the kind for good (about 11 KB each), whatever the daemon's filters."""
    if any(done is registry for done in _with_served_daemons):
        return
    _with_served_daemons.append(registry)
    default = kopf.get_default_registry()
    for kind, where in _registered:
        if (where or default) is registry:
            _register_served(kind, registry)


def _register_served(kind: AnyKind, registry: kopf.OperatorRegistry) -> None:
    @kopf.daemon(
        kind.group,
        kind.version,
        kind.plural,
        id="served",
        cancellation_timeout=CANCELLATION_TIMEOUT,
        registry=registry,
    )
    async def served(*, stopped: kopf.DaemonStopped, body: kopf.Body, memo: Any, **_: Any) -> None:
        track(kind, memo, body, start=True)
        try:
            await stopped.wait()
        finally:
            # no longer served here (this replica paused, or the object is gone): the replica that serves
            # it now reports it
            _left_here(kind, memo, body)


async def drift_look(kind: AnyKind, memo: Any, frozen: bytes) -> datetime | None:
    """The drift check and every come-back: when the object's look is due (the drift scheduler calls it
    then), a pass runs if a come-back (`memo.come_back_due`; `memo.come_back` counts them) or the drift check
    (`memo.drift_due`) is due; the answer is when to look next, None once the object is being deleted. A
    pass that asks Azure (a come-back continues a change and reads Azure) stands for a drift check due by
    its end (`_reschedule_drift_check`). The drift schedule is the object's own, not moved by come-backs: its
    first check after a start is at a random moment within the interval (a restart or an apply of many is
    no burst later), each later one after the interval, jittered. `frozen`: the object as the schedule kept
    it when the look began; a pass takes the newest copy once it has its slot (a second parse of a few KB,
    against a parsed copy held by every pass waiting for a slot)."""
    ctx = get_context(memo)
    body = kopf.Body(cast(kopf.RawBody, thaw(frozen)))
    meta = body.meta
    if meta.get("deletionTimestamp"):
        return None
    now = ctx.now()
    interval = _object_drift_interval(ctx, meta.annotations)
    drift_due: datetime | None = getattr(memo, "drift_due", None)
    if drift_due is None:
        drift_due = memo.drift_due = now + interval * ctx.rng.uniform(0.0, 1.0)
    come_back_due: datetime | None = getattr(memo, "come_back_due", None)
    due = _next_due(memo)
    if now < due:
        return due
    if now >= drift_due:
        memo.drift_due = now + interval * ctx.rng.uniform(1 - DRIFT_JITTER, 1 + DRIFT_JITTER)
    if come_back_due is not None and now < come_back_due:
        return _next_due(memo)  # a come-back is near: it reads Azure anyway (one deployment, one poller)
    attempt: int | None = getattr(memo, "come_back", None) if come_back_due is not None else None
    memo.come_back, memo.come_back_due = None, None
    deferred: Trigger | None = getattr(memo, "deferred", None) if come_back_due is not None else None
    memo.deferred = None
    trigger = deferred or (Trigger.DRIFT if attempt is None else Trigger.CHANGE)
    if trigger is Trigger.DRIFT and FINALIZER not in (meta.get("finalizers") or []):
        # kopf has not handled the object yet (it adds the finalizer first, then runs the create handler,
        # whose pass is due anyway): a check now could only write WaitingForFinalizer (seen at a start with
        # thousands of objects, where kopf reaches some after their random first check)
        return _next_due(memo)
    namespace, name = str(meta.namespace), str(meta.name)
    if getattr(memo, "latest", None) is None:  # a target made other than by `track`
        memo.latest = (resource_version(body), frozen)
    who = {"kind": body.get("kind"), "metadata": {"namespace": namespace, "name": name, "uid": meta.uid}}
    del body, meta
    try:
        outcome = await run_reconcile(kind, ctx, memo, namespace, name, trigger, attempt or 0, None)
    except oplog.ComeBack as exc:
        # the pass did not happen: the next one is what this one was
        _again(memo, attempt, now + timedelta(seconds=exc.delay or RETRY_SOON), deferred)
        oplog.object_logger(kind.logger, who).log(exc.level, "drift check: %s", exc)
        return _next_due(memo)
    except Exception:
        # A bug must not end the checks of this object: log it and try again later.
        oplog.object_logger(kind.logger, who).exception("drift check failed")
        _again(memo, attempt, now + timedelta(minutes=1), deferred)
        return _next_due(memo)
    _come_back(ctx, memo, outcome, attempt or 0)
    return _next_due(memo)
