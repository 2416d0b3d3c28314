"""kopf handlers for SpeechEndpoint: thin. Each one re-reads the object, runs one pass of the engine under the
object's lock, writes the status (only when it changed), posts the events the logic asks for and logs them
(oplog.pass_lines), and turns a come-back into `oplog.ComeBack(delay=...)`, a kopf.TemporaryError logged at
DEBUG. Nothing is returned, so kopf stores nothing in status.

- create / update / resume: one reconcile function (kopf's diff covers spec, labels and user annotations,
  so `reconcile-requested-at`, `reconcile-policy` and the credentials-rotated mark trigger it too);
- a drift loop (kopf daemon) per object that runs a pass when its jittered drift interval, or a slow
  come-back, is due;
- delete: the same logic in deletion mode; kopf removes the finalizer when it returns.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import kopf

from azure_speech_operator.azure.types import OperatorError, SpeechEndpoints
from azure_speech_operator.conditions import READY, RECONCILING, STALLED, is_true
from azure_speech_operator.kube import JSON_PATCH, KubeApiError, as_operator_error
from azure_speech_operator.reconcile import (
    CREATE_PENDING_ANNOTATION,
    ENDPOINT_ID_ANNOTATION,
    Outcome,
    Pass,
    Timing,
    Trigger,
    drift_interval,
)
from azure_speech_operator.runtime import oplog
from azure_speech_operator.runtime.context import OperatorContext, get_context
from azure_speech_operator.runtime.credentials import resolve_credentials
from azure_speech_operator.runtime.export import export_config_map, remove_export
from azure_speech_operator.runtime.metrics import ResourceState
from azure_speech_operator.speechendpoint import logic
from azure_speech_operator.speechendpoint.engine import CredentialsUnavailable, run_pass
from azure_speech_operator.speechendpoint.logic import Resource, Step
from azure_speech_operator.speechendpoint.spec import GROUP, KIND, PLURAL, VERSION

DRIFT_TICK = 10.0  # longest nap of the drift loop between looks at its due time (no API call)
MIN_DRIFT_INTERVAL = timedelta(seconds=10)
DRIFT_JITTER = 0.1  # each interval is stretched or shrunk by up to 10 %
CANCELLATION_TIMEOUT = 20.0  # a stopping daemon mid-pass is cancelled after this (a crash is safe: see logic)
LOOP_COME_BACK = 60.0  # come-backs at least this far away go through the drift loop (see _come_back)
# How late kopf may run a handler's planned come-back before the drift loop stops leaving the polling to it.
HANDLER_LATENESS = timedelta(seconds=30)


def _lock(memo: Any) -> asyncio.Lock:
    """The object's own lock (kopf gives each object its own shallow copy of the memo)."""
    lock = getattr(memo, "speech_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        memo.speech_lock = lock
    return lock


class KubeWriter:
    """The engine's direct writes to this SpeechEndpoint and its export, landing at once."""

    def __init__(self, ctx: OperatorContext, obj: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.obj = obj
        metadata = obj.get("metadata") or {}
        self.namespace = str(metadata["namespace"])
        self.name = str(metadata["name"])
        self.uid = str(metadata["uid"])

    async def _patch_annotations(self, annotations: dict[str, str | None], what: str) -> None:
        # A JSON patch testing the uid: a same-named successor object must never get this object's marks.
        operations: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": self.uid}]
        current = (self.obj.get("metadata") or {}).get("annotations")
        if current is None:
            operations.append({"op": "add", "path": "/metadata/annotations", "value": {}})
        for key, value in annotations.items():
            path = "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1")
            if value is None:
                if key in (current or {}):
                    operations.append({"op": "remove", "path": path})
            else:
                operations.append({"op": "add", "path": path, "value": value})
        try:
            answer = await self.ctx.kube.patch_object(
                PLURAL, self.namespace, self.name, operations, content_type=JSON_PATCH
            )
        except KubeApiError as exc:
            raise as_operator_error(exc, what) from None
        if answer is not None:
            self.obj = answer

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None:
        changes: dict[str, str | None] = {CREATE_PENDING_ANNOTATION: self.ctx.now().isoformat()}
        if forget_endpoint_id:
            changes[ENDPOINT_ID_ANNOTATION] = None
        await self._patch_annotations(changes, "marking the create as pending")

    async def clear_create_pending(self) -> None:
        await self._patch_annotations({CREATE_PENDING_ANNOTATION: None}, "dropping the create-pending mark")

    async def record_endpoint_id(self, endpoint_id: str) -> None:
        await self._patch_annotations(
            {ENDPOINT_ID_ANNOTATION: endpoint_id, CREATE_PENDING_ANNOTATION: None},
            "recording the new endpoint id",
        )
        try:
            await self.ctx.kube.patch_object(
                PLURAL,
                self.namespace,
                self.name,
                {"status": {"endpointId": endpoint_id}},
                subresource="status",
            )
        except KubeApiError as exc:
            raise as_operator_error(exc, "recording the new endpoint id in status") from None

    def _owner(self) -> dict[str, Any]:
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": self.obj.get("metadata") or {}}

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None:
        await export_config_map(self.ctx.kube, self._owner(), config_map_name, data)

    async def unexport(self, config_map_name: str) -> None:
        await remove_export(self.ctx.kube, self._owner(), config_map_name)


def status_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) turning `previous` into `new`: changed values, removed keys as null,
    nested maps patched key by key (a merge patch merges them; a stale key would otherwise survive)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        old = previous.get(key)
        if old == value and key in previous:
            continue
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            patch[key] = status_patch(old, value)
        else:
            patch[key] = value
    patch.update({k: None for k in previous if k not in new})
    return patch


async def run_reconcile(
    ctx: OperatorContext,
    memo: Any,
    namespace: str,
    name: str,
    trigger: Trigger,
    attempt: int,
    body: kopf.Body,
) -> Outcome | None:
    """One pass under the object's lock, on a fresh read of the object. None if the object is gone."""
    async with _lock(memo):
        try:
            obj = await ctx.kube.get_object(PLURAL, namespace, name)
        except KubeApiError as exc:
            raise oplog.ComeBack(
                f"reading the SpeechEndpoint failed: {exc}", delay=10, level=logging.INFO
            ) from None
        if obj is None:
            return None
        resource = logic.build_resource(obj)
        logger = oplog.object_logger(__name__, obj)
        if resource.deleting and trigger is not Trigger.DELETE:
            return None  # the delete handler owns it now
        timing = Timing.from_settings(ctx.settings)
        pass_ = Pass(trigger=trigger, now=ctx.now(), timing=timing, attempt=attempt, jitter=ctx.rng.random())
        writer = KubeWriter(ctx, obj)
        raw_credentials = ((obj.get("spec") or {}).get("azure") or {}).get("credentials")

        async def connect() -> SpeechEndpoints:
            try:
                credential = await resolve_credentials(
                    ctx.kube,
                    namespace,
                    raw_credentials,
                    ctx.settings,
                    memory=ctx.keys,
                    deleting=resource.deleting,
                )
            except OperatorError as exc:
                raise CredentialsUnavailable(exc) from None
            # the spec, or on deletion what of an invalid one deletion needs (see logic._plan_deletion)
            assert resource.deletion_spec is not None
            return ctx.azure.speech(resource.deletion_spec.azure.target(), credential)

        def log_step(step: Step) -> None:
            # DEBUG: the event the write leads to (Created, Updated, Deleted) is the INFO line.
            if isinstance(step, logic.AZURE_WRITES):
                logger.debug("%s", _describe(step))

        outcome, _ = await run_pass(resource, pass_, connect=connect, writer=writer, on_step=log_step)

        if outcome.status_changed(resource.status) and not outcome.release:
            patch = status_patch(resource.status, outcome.status)
            try:
                await ctx.kube.patch_object(PLURAL, namespace, name, {"status": patch}, subresource="status")
            except KubeApiError as exc:
                raise oplog.ComeBack(
                    f"writing the status failed: {exc}", delay=5, level=logging.INFO
                ) from None
        for event in outcome.events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
        for level, line in log_lines(resource.status, outcome):
            logger.log(level, "%s", line)
        _report_metrics(ctx, resource, outcome)
        return outcome


def log_lines(previous_status: Mapping[str, Any], outcome: Outcome) -> list[tuple[int, str]]:
    """What a pass logs (oplog.pass_lines): its events, and one WARNING when it turns the resource Stalled."""
    endpoint_id = outcome.status.get("endpointId") or outcome.orphaned_endpoint
    return oplog.pass_lines(
        outcome.events,
        previous_status.get("conditions"),
        outcome.status.get("conditions"),
        released=outcome.release,
        endpoint_id=str(endpoint_id) if endpoint_id else None,
    )


def _describe(step: Step) -> str:
    if isinstance(step, logic.CreateEndpoint):
        return f"creating an endpoint with {step.body.model.kind} model {step.body.model.id}"
    if isinstance(step, logic.UpdateEndpoint):
        return f"updating endpoint {step.endpoint_id}: {', '.join(step.fields)}"
    if isinstance(step, logic.DeleteEndpoint):
        return f"deleting endpoint {step.endpoint_id}"
    return type(step).__name__


def _report_metrics(ctx: OperatorContext, resource: Resource, outcome: Outcome) -> None:
    if outcome.release:
        ctx.metrics.forget_resource(KIND, resource.namespace, resource.name)
        if outcome.orphaned_endpoint:
            ctx.metrics.orphaned(KIND, resource.namespace, outcome.orphaned_endpoint)
        ctx.metrics.reconciled(KIND, "released")
        return
    conditions = outcome.status.get("conditions") or []
    state = ResourceState(
        ready=is_true(conditions, READY),
        stalled=is_true(conditions, STALLED),
        reconciling=is_true(conditions, RECONCILING),
    )
    ctx.metrics.set_resource_state(KIND, resource.namespace, resource.name, state)
    ctx.metrics.reconciled(KIND, "retry" if outcome.retry else "done")


def _come_back(ctx: OperatorContext, memo: Any, outcome: Outcome | None) -> None:
    """Short come-backs (a deployment in flight, a transient error) retry the handler; slow ones (blocked,
    e.g. missing credentials) are handed to the drift loop and the handler completes, so that the next
    change (a labelled Secret, `reconcile-requested-at`, a spec fix) runs a pass at once instead of waiting
    behind kopf's retry delay."""
    memo.speech_handler_due = None
    if outcome is None or outcome.retry is None:
        return
    delay = outcome.retry.delay
    if delay >= LOOP_COME_BACK or is_true(outcome.status.get("conditions"), STALLED):
        memo.speech_drift_due = ctx.now() + timedelta(seconds=delay)
        return
    memo.speech_handler_due = ctx.now() + timedelta(seconds=delay)
    raise oplog.ComeBack(f"next pass in {delay:.0f}s ({outcome.retry.why})", delay=delay)


def handler_polls(memo: Any, now: datetime) -> bool:
    """Whether a kopf handler will come back soon on its own (a deployment being polled): the drift loop
    then leaves the polling to it, so that one deployment is not polled twice (a drift check that falls
    into a deployment would otherwise keep polling beside the handler). A come-back kopf never ran (the
    handler was lost) stops counting after HANDLER_LATENESS."""
    due: datetime | None = getattr(memo, "speech_handler_due", None)
    return due is not None and now <= due + HANDLER_LATENESS


@kopf.on.resume(GROUP, VERSION, PLURAL, id="reconcile-resume")
@kopf.on.create(GROUP, VERSION, PLURAL, id="reconcile-create")
@kopf.on.update(GROUP, VERSION, PLURAL, id="reconcile-update")
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
    _come_back(ctx, memo, await run_reconcile(ctx, memo, str(namespace), name, trigger, retry, body))


@kopf.on.delete(GROUP, VERSION, PLURAL, id="delete")
async def delete(
    *, namespace: str | None, name: str, body: kopf.Body, memo: Any, retry: int, **_: Any
) -> None:
    ctx = get_context(memo)
    outcome = await run_reconcile(ctx, memo, str(namespace), name, Trigger.DELETE, retry, body)
    if outcome is None or outcome.release:
        return
    delay = outcome.retry.delay if outcome.retry else 30.0
    why = outcome.retry.why if outcome.retry else "deletion"
    raise oplog.ComeBack(f"deletion not finished, next try in {delay:.0f}s ({why})", delay=delay)


def _initial_delay(**_: Any) -> float:
    # Spreads the first look of N objects after a restart; the drift interval itself is jittered too.
    return random.uniform(0.0, DRIFT_TICK)


@kopf.daemon(
    GROUP,
    VERSION,
    PLURAL,
    id="drift",
    initial_delay=_initial_delay,
    cancellation_timeout=CANCELLATION_TIMEOUT,
)
async def drift(
    *,
    stopped: kopf.DaemonStopped,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    meta: kopf.Meta,
    memo: Any,
    **_: Any,
) -> None:
    """The drift check and the slow come-backs: a per-object loop (a daemon rather than a kopf timer, which
    would log every tick) that runs a pass when `memo.speech_drift_due` is reached. The first check after a
    start is at a random moment within the interval; each later one after the interval, jittered."""
    ctx = get_context(memo)
    logger = oplog.object_logger(__name__, body)
    attempt = 0
    while not stopped:
        if meta.get("deletionTimestamp"):
            return
        now = ctx.now()
        interval = drift_interval(dict(meta.annotations), ctx.settings.drift_interval, MIN_DRIFT_INTERVAL)
        due: datetime | None = getattr(memo, "speech_drift_due", None)
        if due is None:
            due = memo.speech_drift_due = now + interval * ctx.rng.uniform(0.0, 1.0)
        if now < due:
            # Short naps: a handler may move the due time earlier (a come-back) meanwhile.
            await stopped.wait(min((due - now).total_seconds(), DRIFT_TICK))
            continue
        memo.speech_drift_due = now + interval * ctx.rng.uniform(1 - DRIFT_JITTER, 1 + DRIFT_JITTER)
        if handler_polls(memo, now):
            continue
        try:
            outcome = await run_reconcile(ctx, memo, str(namespace), name, Trigger.DRIFT, attempt, body)
        except oplog.ComeBack as exc:
            memo.speech_drift_due = now + timedelta(seconds=exc.delay or DRIFT_TICK)
            logger.log(exc.level, "drift check: %s", exc)
            continue
        except Exception:
            # A bug must not end the checks of this object: log it and try again later.
            logger.exception("drift check failed")
            memo.speech_drift_due = now + timedelta(minutes=1)
            continue
        if outcome is not None and outcome.retry is not None:
            attempt += 1
            memo.speech_drift_due = now + timedelta(seconds=outcome.retry.delay)
        else:
            attempt = 0
