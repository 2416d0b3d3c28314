"""The kopf glue of the runtime (runtime/handlers.py) with a kind that is not about speech
(runtime_fakes.GADGET): a pass on a fresh read under the object's lock, the direct patches, the status
written only when it changed, events, log lines, metrics; who polls a deployment (the kopf handler's
come-back or the drift loop, never both); the drift loop on a fake clock."""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import kopf
import pytest
from azure_speech_operator.azure.types import ApiKey, AzureError, ErrorClass
from azure_speech_operator.conditions import is_true
from azure_speech_operator.kube import KubeApiError, without_managed_fields
from azure_speech_operator.reconcile import (
    CREATE_PENDING_ANNOTATION,
    DRIFT_ANNOTATION,
    ENDPOINT_ID_ANNOTATION,
    TRANSIENT_BACKOFF_BASE,
    Failures,
    Outcome,
    Pass,
    Retry,
    Trigger,
    report_error,
)
from azure_speech_operator.runtime import handlers, oplog
from azure_speech_operator.runtime.claims import EndpointClaims
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.handlers import (
    DriftTarget,
    _come_back,
    current_object,
    drift_look,
    feed_drift,
    freeze,
    newest_seen,
    register,
    register_served_daemons,
    run_reconcile,
    thaw,
    track,
)
from azure_speech_operator.runtime.kind import Kind
from azure_speech_operator.settings import OperatorSettings
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.runtime_fakes import (
    GADGET,
    GADGET_PLURAL,
    FakeAzure,
    FakeKube,
    GadgetObserved,
    RefusingSecrets,
    gadget,
    gadget_plan,
)

T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


class Forwards:
    """The drift scheduler's `bring_forward` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, datetime]] = []

    def bring_forward(self, key: Any, when: datetime) -> None:
        self.calls.append((key, when))

    def __contains__(self, key: Any) -> bool:
        return True  # every object is served


def ctx_at(now: datetime) -> SimpleNamespace:
    return SimpleNamespace(now=lambda: now, drift=Forwards())


def outcome(delay: float | None, *, stalled: bool = False) -> Outcome:
    conditions = [{"type": "Stalled", "status": "True" if stalled else "False", "reason": "X"}]
    return Outcome(status={"conditions": conditions}, retry=Retry(delay, "why") if delay else None)


@pytest.mark.parametrize(("delay", "stalled"), [(1.5, False), (30.0, False), (600.0, False), (30.0, True)])
async def test_every_come_back_is_the_drift_loops_and_the_handler_completes(
    delay: float, stalled: bool
) -> None:
    memo = SimpleNamespace(drift_key="uid-1")
    ctx = ctx_at(T0)
    _come_back(ctx, memo, outcome(delay, stalled=stalled), 0)  # type: ignore[arg-type]  # no raise
    assert memo.come_back_due == T0 + timedelta(seconds=delay)
    assert memo.come_back == 1
    assert not hasattr(memo, "drift_due")  # the drift schedule is the object's own
    # the scheduler looks at the object by then
    assert ctx.drift.calls == [("uid-1", T0 + timedelta(seconds=delay))]


async def test_a_pass_without_a_come_back_leaves_the_next_pass_a_drift_check() -> None:
    memo = SimpleNamespace(come_back=3)
    _come_back(ctx_at(T0), memo, outcome(None), 3)  # type: ignore[arg-type]
    assert memo.come_back is None and memo.come_back_due is None and not hasattr(memo, "drift_due")


# ---------------------------------------------------------------------------------------------------------
# One pass (run_reconcile) with a fake kind


@pytest.fixture(autouse=True)
def posted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """The events the handlers post (kopf.event), as (type, reason, message)."""
    events: list[tuple[str, str, str]] = []

    def event(body: Any, *, type: str, reason: str, message: str = "") -> None:
        events.append((type, reason, message))

    monkeypatch.setattr(kopf, "event", event)
    return events


@dataclass
class Cluster:
    """One Gadget `team-a/g` in a FakeKube, its credentials Secret, a FakeAzure and a clock."""

    script: tuple[str, ...]
    kube: FakeKube = field(default_factory=FakeKube)
    now: datetime = T0
    settings: OperatorSettings = field(default_factory=OperatorSettings)
    kind: Kind[Any, Any, Any, Any] = GADGET

    def __post_init__(self) -> None:
        self.kube.put_secret("team-a", "creds", {"key": b"k-1"})
        self.kube.put_object(GADGET_PLURAL, gadget("team-a", "g", *self.script))
        self.azure = FakeAzure(clock=lambda: self.now)
        self.ctx = OperatorContext(
            settings=self.settings,
            kube=self.kube,  # type: ignore[arg-type]
            azure=self.azure,  # type: ignore[arg-type]
            now=lambda: self.now,
            rng=random.Random(7),
        )
        self.memo = SimpleNamespace(ctx=self.ctx)

    @property
    def stored(self) -> dict[str, Any]:
        return self.kube.objects[(GADGET_PLURAL, "team-a", "g")]

    def body(self) -> kopf.Body:
        return kopf.Body(copy.deepcopy(self.stored))

    async def run(
        self, trigger: Trigger = Trigger.CHANGE, body: kopf.Body | None = None, attempt: int = 0
    ) -> Outcome | None:
        """One pass; `attempt` is kopf's retry count (every come-back of the handler so far)."""
        body = body or self.body()
        return await run_reconcile(self.kind, self.ctx, self.memo, "team-a", "g", trigger, attempt, body)

    def status_patches(self) -> list[Any]:
        return [patch for plural, _, patch, sub in self.kube.patches if sub == "status"]

    def reconciles(self, outcome: str) -> float | None:
        labels = {"kind": "Gadget", "outcome": outcome}
        return self.ctx.metrics.registry.get_sample_value("azure_speech_operator_reconciles_total", labels)


async def test_a_pass_writes_only_what_changed_and_nothing_when_unchanged(
    posted: list[tuple[str, str, str]],
) -> None:
    cluster = Cluster(("poke:a",))
    await cluster.run()
    assert cluster.azure.pokes == ["a"]
    assert [plural for plural, *_ in cluster.kube.patches] == [GADGET_PLURAL]
    assert is_true(cluster.stored["status"]["conditions"], "Ready")
    assert posted == [("Normal", "Poked", "poked a")]
    state = cluster.ctx.metrics.resource_states[("Gadget", "team-a", "g")]
    assert state.ready and not state.stalled

    await cluster.run(Trigger.DRIFT)  # nothing changed: no write
    assert len(cluster.status_patches()) == 1

    cluster.stored["metadata"]["annotations"]["test.azure-operator.io/script"] = "poke:a,stall"
    await cluster.run()
    patch = cluster.status_patches()[-1]["status"]
    assert set(patch) == {"conditions"}  # observedGeneration is unchanged, so not sent
    assert cluster.ctx.metrics.resource_states[("Gadget", "team-a", "g")].stalled
    assert cluster.reconciles("done") == 3


async def test_the_marks_land_at_once_on_this_very_object() -> None:
    cluster = Cluster(("mark", "poke:a", "record:E-1"))
    await cluster.run()
    annotations = cluster.stored["metadata"]["annotations"]
    assert annotations[ENDPOINT_ID_ANNOTATION] == "E-1" and CREATE_PENDING_ANNOTATION not in annotations
    mark, record = cluster.kube.patches[:2]
    for _, _, operations, subresource in (mark, record):
        assert operations[0] == {"op": "test", "path": "/metadata/uid", "value": "uid-1"}
        assert subresource is None
    assert mark[2][-1]["path"] == "/metadata/annotations/" + CREATE_PENDING_ANNOTATION.replace("/", "~1")
    # status.endpointId is left to the pass's one status write (the annotation is what must survive a crash)
    assert all(sub == "status" for *_, sub in cluster.kube.patches[2:])


def creating_cluster() -> tuple[Cluster, list[str | None]]:
    """A Gadget whose pass creates endpoint E-1 and records it, and the endpoint id each plan saw."""
    seen: list[str | None] = []

    def plan(resource: Any, observed: GadgetObserved, pass_: Pass) -> Outcome:
        seen.append(resource.annotations.get(ENDPOINT_ID_ANNOTATION))
        return GADGET.plan(resource, observed, pass_)

    cluster = Cluster(("mark", "poke:a", "record:E-1"), kind=replace(GADGET, plan=plan))
    cluster.stored["metadata"]["resourceVersion"] = "10"
    return cluster, seen


async def test_a_pass_runs_on_the_newest_copy_it_has_and_never_reads_the_object() -> None:
    cluster, seen = creating_cluster()
    before = cluster.body()  # as kopf saw it before the pass wrote its marks
    await cluster.run(body=before)
    assert (
        cluster.memo.written["metadata"]["resourceVersion"] == cluster.stored["metadata"]["resourceVersion"]
    )

    # kopf's copy still lacks the endpoint id the pass recorded (a pass on it would create again): the answer
    # to the operator's own write is newer, and the pass runs on it
    seen.clear()
    await cluster.run(body=before)
    assert seen and set(seen) == {"E-1"}
    assert cluster.kube.object_reads == 0


async def test_a_pass_that_waited_for_its_turn_runs_on_the_newest_copy_an_event_has_shown() -> None:
    # A handler called with kopf's copy waits for its lock and slot; meanwhile another pass creates the
    # endpoint and records its id, and the events of those writes reach the operator (dropping the answers
    # to them). On the copy it was called with, the waiting pass would create a second endpoint.
    cluster, seen = creating_cluster()
    called_with = cluster.body()
    await cluster.run(body=cluster.body())
    feed_drift(cluster.kind, {"type": "MODIFIED"}, cluster.body(), cluster.memo)
    assert getattr(cluster.memo, "written", None) is None  # the events caught up with the writes
    seen.clear()
    await cluster.run(body=called_with)
    assert seen and set(seen) == {"E-1"}  # it knows the endpoint: no second one


def test_a_drift_pass_takes_the_newest_copy_as_its_own() -> None:
    memo = SimpleNamespace(latest=(12, handlers.freeze({"metadata": {"resourceVersion": "12"}})))
    older = kopf.Body({"metadata": {"resourceVersion": "11"}})
    seen, own = newest_seen(memo, None)
    assert own is not None and seen["metadata"]["resourceVersion"] == "12"
    seen, own = newest_seen(memo, older)  # newer than the handler's
    assert own is not None and seen["metadata"]["resourceVersion"] == "12"
    newer = kopf.Body({"metadata": {"resourceVersion": "13"}})
    assert newest_seen(memo, newer) == (newer, None)


def test_the_newest_copy_is_kopfs_unless_the_operators_own_write_is_newer() -> None:
    mine = {"metadata": {"name": "g", "resourceVersion": "12"}, "spec": {"a": [0]}}
    older = kopf.Body({"metadata": {"name": "g", "resourceVersion": "11"}, "spec": {"a": [1]}})
    newer = kopf.Body({"metadata": {"name": "g", "resourceVersion": "13"}, "spec": {"a": [2]}})
    assert current_object(older, mine) == mine
    assert current_object(newer, mine)["spec"] == {"a": [2]}
    assert current_object(older, None)["spec"] == {"a": [1]}
    copied = current_object(newer, None)
    copied["spec"]["a"].append(3)  # a copy: the pass may not change kopf's
    assert newer["spec"]["a"] == [2]
    unknown = kopf.Body({"metadata": {"name": "g", "resourceVersion": "abc"}})
    assert current_object(unknown, mine) == mine  # a version that is no number is never taken for newer
    # a copy the caller owns (a drift look's, thawed for it) is taken as it is, unless the write is newer
    own = {"metadata": {"name": "g", "resourceVersion": "13"}, "spec": {"a": [2]}}
    assert current_object(kopf.Body(own), mine, own=own) is own
    own_older = {"metadata": {"name": "g", "resourceVersion": "11"}, "spec": {"a": [1]}}
    taken = current_object(kopf.Body(own_older), mine, own=own_older)
    assert taken == mine and taken is not mine


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_frozen_object_thaws_to_an_equal_copy(value: Any) -> None:
    obj = {"metadata": {"name": "g"}, "spec": value}
    thawed = thaw(freeze(kopf.Body(obj)))
    assert thawed == obj
    assert thawed["metadata"] is not obj["metadata"]


async def test_the_answer_kept_has_no_managed_fields() -> None:
    # The memo's answer is a second copy of every object in memory: it is kept only while it is newer
    cluster = Cluster(("mark", "poke:a", "record:E-1"))
    cluster.stored["metadata"]["resourceVersion"] = "10"
    cluster.stored["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    before = cluster.body()
    await cluster.run(body=before)
    assert cluster.memo.written is not None
    assert "managedFields" not in cluster.memo.written["metadata"]
    assert cluster.stored["metadata"]["managedFields"]  # the server's object is left as it is


async def test_the_answer_kept_is_dropped_once_kopfs_copy_caught_up() -> None:
    cluster = Cluster(())  # a gadget that writes nothing once Ready
    cluster.stored["metadata"]["resourceVersion"] = "10"
    await cluster.run()
    settled = cluster.body()
    cluster.memo.written = {**dict(settled), "metadata": {**settled["metadata"], "resourceVersion": "9"}}
    writes = len(cluster.kube.patches)
    await cluster.run(body=settled)
    assert len(cluster.kube.patches) == writes and cluster.memo.written is None


def test_without_managed_fields_copies_only_what_it_changes() -> None:
    spec = {"a": [1]}
    obj = {"metadata": {"name": "g", "managedFields": [{"manager": "m"}]}, "spec": spec}
    stripped = without_managed_fields(obj)
    assert stripped == {"metadata": {"name": "g"}, "spec": spec}
    assert obj["metadata"]["managedFields"] == [{"manager": "m"}] and stripped["spec"] is spec
    assert without_managed_fields({"kind": "X"}) == {"kind": "X"}


class Successor(FakeKube):
    """The object is deleted and created again under the same name right after the pass took it."""

    async def patch_object(self, plural: str, namespace: str, name: str, patch: Any, **options: Any) -> Any:
        if self.objects[(plural, namespace, name)]["metadata"]["uid"] == "uid-1":
            self.put_object(plural, gadget(namespace, name, uid="uid-2"))
        return await super().patch_object(plural, namespace, name, patch, **options)


async def test_a_same_named_successor_never_gets_the_marks() -> None:
    cluster = Cluster(("mark", "poke:a"), kube=Successor())
    outcome = await cluster.run()
    assert outcome is not None and cluster.azure.pokes == []
    assert CREATE_PENDING_ANNOTATION not in cluster.stored["metadata"]["annotations"]
    assert cluster.stored["metadata"]["uid"] == "uid-2"


async def test_the_kind_connects_with_the_objects_credentials() -> None:
    cluster = Cluster(("poke:a",))
    await cluster.run()
    (credential,) = cluster.azure.credentials
    assert isinstance(credential, ApiKey) and credential.key.get_secret_value() == "k-1"


async def test_a_released_object_gets_no_status_write_and_leaves_the_gauges() -> None:
    cluster = Cluster(("poke:a",))
    await cluster.run()
    cluster.stored["metadata"]["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    assert await cluster.run(Trigger.CHANGE) is None  # the delete handler's now
    assert cluster.azure.pokes == ["a"]
    outcome = await cluster.run(Trigger.DELETE)
    assert outcome is not None and outcome.release
    assert len(cluster.status_patches()) == 1
    assert ("Gadget", "team-a", "g") not in cluster.ctx.metrics.resource_states
    assert cluster.reconciles("released") == 1


async def test_a_pass_on_a_gone_objects_copy_creates_nothing() -> None:
    cluster = Cluster(("mark", "poke:a"))
    body = cluster.body()  # what kopf saw before the object went (its finalizer taken off by hand)
    del cluster.kube.objects[(GADGET_PLURAL, "team-a", "g")]
    outcome = await cluster.run(body=body)
    assert cluster.azure.pokes == []  # the mark that must precede a create found nothing: no create
    assert outcome is not None and outcome.status["conditions"][-1]["reason"] == "ResourceGone"


class FailingStatus(FakeKube):
    async def patch_object(self, plural: str, namespace: str, name: str, patch: Any, **options: Any) -> Any:
        if options.get("subresource") == "status":
            raise KubeApiError(503, "ServiceUnavailable", "etcd is slow", operation="PATCH")
        return await super().patch_object(plural, namespace, name, patch, **options)


async def test_a_failed_status_write_comes_back_soon() -> None:
    cluster = Cluster(("poke:a",), kube=FailingStatus())
    with pytest.raises(oplog.ComeBack) as info:
        await cluster.run()
    assert (info.value.delay, info.value.level) == (5, logging.INFO)
    assert cluster.reconciles("kubernetes-error") == 1


async def test_a_pass_that_raises_is_counted_as_an_exception() -> None:
    cluster = Cluster(("poke:a",))
    cluster.azure.fail["a"] = RuntimeError("a bug")
    with pytest.raises(RuntimeError):
        await cluster.run()
    assert cluster.reconciles("exception") == 1 and cluster.reconciles("done") is None


async def test_lines_about_an_object_are_the_kinds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=GADGET.logger)
    cluster = Cluster(("poke:a", "stall"))
    await cluster.run()
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == GADGET.logger]
    assert lines == [
        (GADGET.logger, "DEBUG", "poking a"),
        (GADGET.logger, "WARNING", "stalled: Scripted: stalled as scripted"),
        (GADGET.logger, "INFO", "Poked: poked a"),
    ]
    assert caplog.records[0].k8s_ref["kind"] == "Gadget"


def reported(resource: Any, observed: GadgetObserved, pass_: Pass) -> Any:
    """The gadget's plan, but an Azure error is shown and retried the way every kind does (report_error)."""
    if observed.error is None:
        return gadget_plan(resource, observed, pass_)
    report = report_error(observed.error, pass_)
    return Outcome(status={"error": report.status_error}, retry=report.retry)


async def test_the_backoff_counts_failed_passes_not_the_polls_before_them() -> None:
    # A deployment polled 8 times (kopf's retry count is 8), then one 500 from Azure: the first step of the
    # backoff, not its cap; a second 500 in a row doubles it; a pass that succeeds starts over.
    cluster = Cluster(("poke:a", "retry:20"), kind=replace(GADGET, plan=reported))
    attempts = itertools.count()
    for _ in range(8):
        outcome = await cluster.run(attempt=next(attempts))
        assert outcome is not None and outcome.retry == Retry(20.0, "scripted")

    async def delay() -> float:
        outcome = await cluster.run(attempt=next(attempts))
        assert outcome is not None and outcome.retry is not None
        return outcome.retry.delay

    step = TRANSIENT_BACKOFF_BASE  # each delay is jittered down to half its step
    error = AzureError(
        status=500, code="InternalServerError", message="oops", error_class=ErrorClass.TRANSIENT
    )
    cluster.azure.fail["a"] = error
    assert step / 2 <= await delay() <= step
    assert step <= await delay() <= 2 * step
    assert 2 * step <= await delay() <= 4 * step
    del cluster.azure.fail["a"]
    assert await delay() == 20.0
    cluster.azure.fail["a"] = error
    assert step / 2 <= await delay() <= step
    # an error of another class after it starts that class's backoff at its first step
    blocked = cluster.settings.blocked_retry_base.total_seconds()
    cluster.azure.fail["a"] = AzureError(
        status=403, code="Forbidden", message="no rights", error_class=ErrorClass.BLOCKED
    )
    assert blocked <= await delay() <= 2 * blocked  # every 5 min at the soonest


def reported_with_credentials(resource: Any, observed: GadgetObserved, pass_: Pass) -> Any:
    if observed.credentials_error is None:
        return reported(resource, observed, pass_)
    report = report_error(observed.credentials_error, pass_, credentials=True)
    return Outcome(status={"error": report.status_error}, retry=report.retry)


def refused_pass(cluster: Cluster, code: str) -> Callable[[], Awaitable[tuple[str, float]]]:
    """A pass that ends refused with `code`: its error class and come-back delay."""

    async def run() -> tuple[str, float]:
        outcome = await cluster.run()
        assert outcome is not None and outcome.retry is not None
        assert outcome.status["error"]["code"] == code
        return outcome.status["error"]["class"], outcome.retry.delay

    return run


async def test_a_refused_secret_is_read_again_soon_for_30_s_then_blocked() -> None:
    # An API server that has just come back refuses reads until its authorizer is ready: the passes
    # that failed during its outage do not make the first refusal a missing RBAC rule.
    kube = RefusingSecrets()
    cluster = Cluster(("poke:a",), kube=kube, kind=replace(GADGET, plan=reported_with_credentials))
    cluster.memo.failures = Failures("transient", 2)
    refused = refused_pass(cluster, "SecretNotReadable")
    error_class, delay = await refused()
    assert error_class == "transient" and delay <= 4 * TRANSIENT_BACKOFF_BASE
    cluster.now += timedelta(seconds=29)
    assert (await refused())[0] == "transient"
    cluster.now += timedelta(seconds=1)
    assert await refused() == ("blocked", cluster.settings.credentials_retry_interval.total_seconds())
    kube.refuse = False
    await cluster.run()
    assert cluster.azure.pokes == ["a"] and len(cluster.ctx.refusals) == 0


class RefusingWrites(FakeKube):
    """Refuses the marks on the object (annotation patches) and reads of ConfigMaps while `refuse`."""

    refuse = True

    async def patch_object(self, plural: str, namespace: str, name: str, patch: Any, **options: Any) -> Any:
        if self.refuse and options.get("subresource") != "status":
            raise KubeApiError(403, "Forbidden", "patch is forbidden", operation="PATCH")
        return await super().patch_object(plural, namespace, name, patch, **options)

    async def get_config_map(self, namespace: str, name: str) -> Any:
        if self.refuse:
            raise KubeApiError(403, "Forbidden", "configmaps is forbidden", operation="GET")
        return await super().get_config_map(namespace, name)


@pytest.mark.parametrize("script", [("mark", "poke:a"), ("export:cm", "poke:a")])
async def test_a_refused_write_is_retried_soon_for_30_s_then_blocked(script: tuple[str, ...]) -> None:
    kube = RefusingWrites()
    cluster = Cluster(script, kube=kube, kind=replace(GADGET, plan=reported))
    refused = refused_pass(cluster, "KubernetesForbidden")
    error_class, delay = await refused()
    assert error_class == "transient" and delay <= TRANSIENT_BACKOFF_BASE
    cluster.now += timedelta(seconds=29)
    assert (await refused())[0] == "transient"
    cluster.now += timedelta(seconds=1)
    error_class, delay = await refused()
    assert error_class == "blocked" and delay >= cluster.settings.blocked_retry_base.total_seconds()
    kube.refuse = False
    await cluster.run()
    assert cluster.azure.pokes == ["a"] and len(cluster.ctx.refusals) == 0


# ---------------------------------------------------------------------------------------------------------
# The drift loop, on a fake clock


async def drift(cluster: Cluster, minutes: float) -> None:
    """The drift scheduler's looks at the object for `minutes` of the cluster's clock, each at the time
    the previous one answered (runtime/drift.py keeps that time; tests/unit/test_runtime_drift.py), each on
    the frozen copy of the object the schedule keeps."""
    until = cluster.now + timedelta(minutes=minutes)
    while cluster.now < until:
        due = await DriftTarget(cluster.kind, cluster.memo, freeze(cluster.body())).look()
        if due is None:
            return
        cluster.now = max(cluster.now, due)


async def test_the_drift_check_runs_at_a_random_first_moment_then_each_jittered_interval() -> None:
    cluster = Cluster(("poke:a",), settings=OperatorSettings(drift_interval=timedelta(minutes=1)))
    await drift(cluster, 10)
    times = cluster.azure.times
    assert len(times) >= 9
    assert T0 <= times[0] < T0 + timedelta(minutes=1)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(54 <= gap <= 66 for gap in gaps), gaps
    assert len(set(gaps)) > 1  # jittered


async def test_a_handlers_come_back_is_polled_by_the_drift_loop_as_a_change() -> None:
    seen: list[tuple[Trigger, int]] = []

    def plan(resource: Any, observed: GadgetObserved, pass_: Pass) -> Outcome:
        seen.append((pass_.trigger, pass_.attempt))
        return GADGET.plan(resource, observed, pass_)

    cluster = Cluster(("poke:a", "retry:20"), kind=replace(GADGET, plan=plan))  # drift interval: 1 h
    outcome = await cluster.run()  # the create handler's pass
    _come_back(cluster.ctx, cluster.memo, outcome, 0)
    await drift(cluster, 1)
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(cluster.azure.times)] == [20.0] * 2
    # (the engine plans again after each step of a pass)
    assert list(dict.fromkeys(seen)) == [(Trigger.CHANGE, 0), (Trigger.CHANGE, 1), (Trigger.CHANGE, 2)]


@pytest.mark.parametrize(
    ("asked", "runs_as"),
    [
        ((Trigger.RESUME,), Trigger.RESUME),
        ((Trigger.RESUME, Trigger.CHANGE), Trigger.CHANGE),
        ((Trigger.CHANGE, Trigger.RESUME), Trigger.CHANGE),
    ],
)
async def test_with_every_slot_taken_a_handler_leaves_its_pass_to_the_drift_schedule_as_what_it_is(
    asked: tuple[Trigger, ...], runs_as: Trigger
) -> None:
    # kopf's worker for the object would stay busy while its handler waits for a slot, holding its copy and
    # every event of the object meanwhile: the handler returns, and the schedule runs the pass at once,
    # still a resume (no Azure call for a settled resource) or a change.
    seen: list[Trigger] = []

    def plan(resource: Any, observed: GadgetObserved, pass_: Pass) -> Outcome:
        seen.append(pass_.trigger)
        return GADGET.plan(resource, observed, pass_)

    settings = OperatorSettings(max_passes_in_flight=1)
    cluster = Cluster(("poke:a",), settings=settings, kind=replace(GADGET, plan=plan))
    forwards = Forwards()
    cluster.ctx.drift = forwards  # type: ignore[assignment]
    cluster.memo.drift_key = "uid-1"
    cluster.memo.drift_due = T0 + timedelta(minutes=30)
    assert not handlers._deferred(cluster.ctx, cluster.memo, asked[0], 0)  # a slot is free: it runs itself
    async with cluster.ctx.passes.held():  # another pass holds the only slot
        for trigger in asked:
            assert handlers._deferred(cluster.ctx, cluster.memo, trigger, 2)
    assert forwards.calls == [("uid-1", T0)] * len(asked)
    assert (cluster.memo.come_back, cluster.memo.come_back_due) == (2, T0)
    assert seen == []
    await drift(cluster, 1)
    assert set(seen) == {runs_as}
    assert cluster.azure.pokes == ["a"]  # one pass
    assert getattr(cluster.memo, "deferred", None) is None


async def test_come_backs_neither_move_the_drift_check_nor_poll_beside_it() -> None:
    def plan(resource: Any, observed: GadgetObserved, pass_: Pass) -> Outcome:
        planned = GADGET.plan(resource, observed, pass_)  # a step, or the pass's outcome
        done = isinstance(planned, Outcome) and pass_.now >= T0 + timedelta(seconds=40)  # deployed by then
        return replace(planned, retry=None) if done else planned

    settings = OperatorSettings(drift_interval=timedelta(minutes=1))
    cluster = Cluster(("poke:a", "retry:20"), settings=settings, kind=replace(GADGET, plan=plan))
    cluster.memo.drift_due = T0 + timedelta(seconds=50)  # the random first check
    _come_back(cluster.ctx, cluster.memo, await cluster.run(), 0)  # the create handler's pass
    await drift(cluster, 2)
    seconds = [(t - T0).total_seconds() for t in cluster.azure.times]
    assert seconds[:4] == [0.0, 20.0, 40.0, 50.0]  # two polls, then the drift check when it was due
    assert 104 <= seconds[4] <= 116

    # a drift check due while a deployment is polled is the polls': none beside them
    cluster = Cluster(("poke:a", "retry:20"), settings=settings)
    cluster.memo.drift_due = T0 + timedelta(seconds=45)
    _come_back(cluster.ctx, cluster.memo, await cluster.run(), 0)
    await drift(cluster, 2)
    assert [(t - T0).total_seconds() for t in cluster.azure.times] == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]


async def test_a_come_back_of_a_drift_pass_comes_back_on_time() -> None:
    cluster = Cluster(("poke:a", "retry:20"))  # drift interval: 1 h
    cluster.memo.drift_due = T0
    await drift(cluster, 2)
    gaps = {
        (b - a).total_seconds() for a, b in zip(cluster.azure.times, cluster.azure.times[1:], strict=False)
    }
    assert gaps == {20.0}


async def test_a_pass_that_asked_azure_stands_for_the_drift_check_that_fell_due_while_it_waited() -> None:
    # The object's pass waits 30 s for the only slot; its drift check falls due meanwhile. The pass read
    # Azure: the check moves on by a whole interval (keeping its place), not run again at once.
    settings = OperatorSettings(drift_interval=timedelta(minutes=1), max_passes_in_flight=1)
    cluster = Cluster(("poke:a",), settings=settings)
    cluster.memo.drift_due = T0 + timedelta(seconds=10)
    async with cluster.ctx.passes.held():
        waiting = asyncio.create_task(cluster.run())
        await asyncio.sleep(0)
        assert cluster.azure.pokes == []
        cluster.now = T0 + timedelta(seconds=30)
    await waiting
    assert cluster.azure.times == [T0 + timedelta(seconds=30)]
    assert T0 + timedelta(seconds=64) <= cluster.memo.drift_due <= T0 + timedelta(seconds=76)
    await drift(cluster, 0.5)
    assert cluster.azure.times == [T0 + timedelta(seconds=30)]  # no second read right after the first


@pytest.mark.parametrize("intervals_late", [0, 1, 2, 40])
async def test_a_drift_check_covered_by_a_pass_keeps_its_place_in_the_schedule(intervals_late: int) -> None:
    # due 20 s (and some whole intervals) before the pass: the next check is at its place 40 s after it,
    # give or take the jitter, not an interval after the pass (which would bunch the checks of objects that
    # became Ready together)
    settings = OperatorSettings(drift_interval=timedelta(minutes=1))
    cluster = Cluster(("poke:a",), settings=settings)
    cluster.memo.drift_due = T0 - timedelta(minutes=intervals_late, seconds=20)
    await cluster.run()
    assert T0 + timedelta(seconds=34) <= cluster.memo.drift_due <= T0 + timedelta(seconds=46)


async def test_a_pass_that_asked_azure_nothing_leaves_the_drift_check_due() -> None:
    cluster = Cluster(("mark",))
    cluster.memo.drift_due = T0 - timedelta(seconds=5)
    await cluster.run()
    assert cluster.memo.drift_due == T0 - timedelta(seconds=5)
    assert cluster.stored["metadata"]["annotations"].get(CREATE_PENDING_ANNOTATION)  # the pass did run


@pytest.mark.parametrize("script", [("poke:a",), ("mark",)])
async def test_a_shortened_drift_interval_counts_from_the_pass_that_saw_it(script: tuple[str, ...]) -> None:
    # the check was set under the default hour; the user sets drift-interval 30s: its update handler's pass
    # (whether it asked Azure or not) brings the check within 30 s, not at the old time 50 min later
    cluster = Cluster(script)
    cluster.memo.drift_due = T0 + timedelta(minutes=50)
    cluster.stored["metadata"]["annotations"][DRIFT_ANNOTATION] = "30s"
    await cluster.run()
    assert T0 + timedelta(seconds=27) <= cluster.memo.drift_due <= T0 + timedelta(seconds=33)
    # a longer interval leaves the check where it is
    cluster.stored["metadata"]["annotations"][DRIFT_ANNOTATION] = "2h"
    due = cluster.memo.drift_due
    await cluster.run()
    assert cluster.memo.drift_due == due


async def test_no_drift_check_before_kopf_has_handled_the_object() -> None:
    # kopf adds the finalizer before it runs the create handler: an object without it is one kopf has not
    # handled yet, and its create handler's pass comes anyway; a check would only write WaitingForFinalizer.
    cluster = Cluster(("poke:a",))
    cluster.stored["metadata"]["finalizers"] = []
    cluster.memo.drift_due = T0
    due = await drift_look(cluster.kind, cluster.memo, freeze(cluster.body()))
    assert cluster.azure.pokes == [] and cluster.kube.patches == []
    assert due is not None and due >= T0 + timedelta(minutes=54)
    # a come-back still runs
    cluster.memo.come_back, cluster.memo.come_back_due = 1, T0
    await drift_look(cluster.kind, cluster.memo, freeze(cluster.body()))
    assert cluster.azure.pokes == ["a"]


async def test_a_failing_drift_pass_never_ends_the_checks(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[datetime] = []

    def broken(resource: Any, observed: GadgetObserved, pass_: Pass) -> Outcome:
        calls.append(pass_.now)
        raise ValueError("a bug")

    cluster = Cluster(("poke:a",), kind=replace(GADGET, plan=broken))
    cluster.memo.drift_due = T0
    await drift(cluster, 3)
    assert calls == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    failures = [r for r in caplog.records if r.getMessage() == "drift check failed"]
    assert failures and all(r.levelno == logging.ERROR and r.exc_info for r in failures)

    cluster = Cluster(("poke:a",), kube=FailingStatus())
    cluster.memo.drift_due = T0
    await drift(cluster, 12 / 60)
    assert cluster.azure.times == [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=10)]  # after 5 s


async def test_a_deleted_object_ends_its_drift_check() -> None:
    cluster = Cluster(("poke:a",))
    cluster.stored["metadata"]["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    cluster.memo.drift_due = T0
    assert await drift_look(cluster.kind, cluster.memo, handlers.freeze(cluster.body())) is None
    assert cluster.azure.pokes == []


@pytest.mark.parametrize("peering", [None, "ha"])
async def test_every_object_seen_is_served_by_the_drift_schedule_until_its_deletion(
    peering: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without peering, an object's first event starts serving it; with peering only the per-object daemon
    # does (kopf stops it when the replica pauses), and events only hand over the newest copy.
    cluster = Cluster(("poke:a",), settings=OperatorSettings(peering=peering))
    drift = cluster.ctx.drift
    added = {"type": "ADDED"}
    frozen = handlers.freeze
    froze: list[object] = []
    monkeypatch.setattr(handlers, "freeze", lambda obj: froze.append(obj) or frozen(obj))
    feed_drift(cluster.kind, added, cluster.body(), cluster.memo)
    assert ("uid-1" in drift) is (peering is None)
    assert len(froze) == (1 if peering is None else 0)  # a replica that does not serve it keeps no copy
    if peering is not None:
        track(cluster.kind, cluster.memo, cluster.body(), start=True)  # what the daemon does as it starts
        assert "uid-1" in drift
    assert cluster.memo.drift_key == "uid-1"
    cluster.stored["metadata"]["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    feed_drift(cluster.kind, {"type": "MODIFIED"}, cluster.body(), cluster.memo)  # the delete handler's now
    assert "uid-1" not in drift
    del cluster.stored["metadata"]["deletionTimestamp"]
    feed_drift(cluster.kind, added, cluster.body(), cluster.memo)
    feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    assert "uid-1" not in drift
    await drift.aclose()


LAST_HANDLED = "kopf.speech.azure-operator.io/last-handled-configuration"


async def test_a_status_lost_after_kopf_handled_the_object_is_reconciled_now_not_at_the_drift_check() -> None:
    # wiped with `kubectl patch --subresource=status`, or not restored with the object from a backup: kopf
    # runs no handler for either, and the drift check is up to an interval away
    cluster = Cluster(("poke:a",))
    await cluster.run()
    cluster.memo.drift_due = T0 + timedelta(minutes=50)
    cluster.stored["metadata"].setdefault("annotations", {})[LAST_HANDLED] = '{"spec": {}}'
    cluster.stored.pop("status")
    feed_drift(cluster.kind, {"type": "MODIFIED"}, cluster.body(), cluster.memo)
    assert cluster.memo.drift_due == T0
    await drift_look(cluster.kind, cluster.memo, freeze(cluster.body()))
    assert cluster.azure.pokes == ["a", "a"] and cluster.stored["status"]["observedGeneration"]
    # a pass that could not write it is not repeated at every event
    cluster.stored.pop("status")
    cluster.memo.drift_due = T0 + timedelta(minutes=50)
    feed_drift(cluster.kind, {"type": "MODIFIED"}, cluster.body(), cluster.memo)
    assert cluster.memo.drift_due == T0 + timedelta(minutes=50)
    await cluster.ctx.drift.aclose()


async def test_a_new_object_without_status_waits_for_its_create_handler() -> None:
    cluster = Cluster(("poke:a",))
    cluster.stored.pop("status", None)
    feed_drift(cluster.kind, {"type": "ADDED"}, cluster.body(), cluster.memo)
    assert getattr(cluster.memo, "drift_due", None) is None  # its first look sets a random moment
    await cluster.ctx.drift.aclose()


ENDPOINT = "f32594fc-e582-4f21-87ab-623f5882b35b"


def _orphans(cluster: Cluster) -> float:
    return cluster.ctx.metrics.orphaned_endpoints.labels("Gadget")._value.get()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "how", ["by-hand", "invalid-policy", "released", "orphan-policy", "skip-policy", "nothing-recorded"]
)
async def test_a_deletion_ended_by_hand_says_what_it_left_in_azure(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = Cluster(("poke:a",))
    metadata = cluster.stored["metadata"]
    metadata["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    if how != "nothing-recorded":
        metadata.setdefault("annotations", {})[ENDPOINT_ID_ANNOTATION] = ENDPOINT
    if how == "orphan-policy":
        cluster.stored["spec"]["deletionPolicy"] = "Orphan"
    if how in ("invalid-policy", "skip-policy"):
        policy = "bogus" if how == "invalid-policy" else "skip"
        metadata["annotations"]["speech.azure-operator.io/reconcile-policy"] = policy
    if how == "released":
        cluster.memo.released = True
    with caplog.at_level(logging.WARNING):
        feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if how in ("by-hand", "invalid-policy"):  # an unreadable policy is no choice to keep it
        assert _orphans(cluster) == 1
        assert warned and f"left endpoint {ENDPOINT} in Azure" in warned[0]
    else:
        assert _orphans(cluster) == 0 and not warned
    await cluster.ctx.drift.aclose()


async def test_the_delete_handlers_release_is_not_taken_for_a_finalizer_taken_off_by_hand() -> None:
    cluster = Cluster(("poke:a",))
    await cluster.run()
    cluster.stored["metadata"]["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    cluster.stored["metadata"].setdefault("annotations", {})[ENDPOINT_ID_ANNOTATION] = "E-1"
    registry = kopf.OperatorRegistry()
    register(GADGET, registry)
    (delete,) = [h for h in registry._changing.get_all_handlers() if h.id == "delete"]
    await delete.fn(namespace="team-a", name="g", body=cluster.body(), memo=cluster.memo, retry=0)
    feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    assert _orphans(cluster) == 0
    await cluster.ctx.drift.aclose()


def test_a_daemon_per_object_is_registered_with_peering_only() -> None:
    # any daemon registered for a kind makes kopf keep its newest copy of every object of the kind for good,
    # whatever the daemon's filters: without peering there is none
    registry = kopf.OperatorRegistry()
    register(GADGET, registry)
    assert not registry._spawning.get_all_handlers()
    register_served_daemons(registry)
    register_served_daemons(registry)  # once per registry
    assert [handler.id for handler in registry._spawning.get_all_handlers()] == ["served"]
    assert not kopf.OperatorRegistry()._spawning.get_all_handlers()


async def test_the_answer_to_the_last_write_is_dropped_once_kopfs_copy_has_caught_up() -> None:
    # an object that turned Ready keeps no second copy until its next pass
    cluster = Cluster(("poke:a",))
    cluster.stored["metadata"]["resourceVersion"] = "12"
    cluster.memo.written = {"metadata": {"uid": "uid-1", "resourceVersion": "12"}}
    older = kopf.Body({**cluster.stored, "metadata": {**cluster.stored["metadata"], "resourceVersion": "11"}})
    feed_drift(cluster.kind, {"type": "MODIFIED"}, older, cluster.memo)
    assert cluster.memo.written is not None
    feed_drift(cluster.kind, {"type": "MODIFIED"}, cluster.body(), cluster.memo)
    assert cluster.memo.written is None
    await cluster.ctx.drift.aclose()


@pytest.mark.parametrize("leaves", ["deleted-event", "no-longer-served"])
async def test_an_object_that_leaves_this_operator_leaves_its_gauges(leaves: str) -> None:
    # another shard's now (relabelled), its finalizer removed by hand, or this replica paused: it must not
    # stay counted here (both shards would count it, a Stalled alert would never clear)
    cluster = Cluster(("poke:a",), settings=OperatorSettings(peering="ha"))
    await cluster.run()
    key = ("Gadget", "team-a", "g")
    assert key in cluster.ctx.metrics.resource_states
    if leaves == "deleted-event":
        feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    else:
        registry = kopf.OperatorRegistry()
        register(GADGET, registry)
        register_served_daemons(registry)
        (daemon,) = registry._spawning.get_all_handlers()
        stopped = asyncio.Event()
        stopped.set()  # kopf stops the daemon at once
        await daemon.fn(stopped=stopped, body=cluster.body(), memo=cluster.memo)
    assert key not in cluster.ctx.metrics.resource_states
    await cluster.ctx.drift.aclose()


async def test_a_pass_under_way_when_its_object_left_does_not_put_it_back_in_the_gauges() -> None:
    cluster = Cluster(("poke:a",), settings=OperatorSettings(max_passes_in_flight=1))
    track(cluster.kind, cluster.memo, cluster.body(), start=True)
    async with cluster.ctx.passes.held():  # the pass waits for the only slot...
        waiting = asyncio.create_task(cluster.run())
        await asyncio.sleep(0)
        # ...while the object moves to another shard (its DELETED event here)
        feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    await waiting
    assert ("Gadget", "team-a", "g") not in cluster.ctx.metrics.resource_states
    assert cluster.reconciles("done") == 1
    await cluster.ctx.drift.aclose()


async def test_the_time_azure_took_in_one_pass_is_what_the_next_passes_of_the_kind_expect() -> None:
    expected: list[dict[str, float]] = []

    def timed(resource: Any, observed: GadgetObserved, pass_: Pass) -> Any:
        expected.append(dict(pass_.expected))
        return Outcome(status={"passes": len(expected)}, took=(("create", 42.0),))

    cluster = Cluster(("poke:a",), kind=replace(GADGET, plan=timed))
    await cluster.run()
    await cluster.run()
    assert expected == [{}, {"create": 42.0}]
    assert cluster.ctx.durations.expected(GADGET.kind) == {"create": 42.0}


@pytest.mark.parametrize("pass_seconds", [0.0, 1.0, 3.0])
async def test_a_moment_to_wake_for_that_passes_during_the_pass_is_still_looked_at(
    pass_seconds: float,
) -> None:
    # a schedule transition 2 s away when a pass starts that takes longer: looked at once the pass ends,
    # not at the next drift check an hour later
    transition = T0 + timedelta(seconds=2)

    def plan(resource: Any, observed: Any, pass_: Any) -> Any:
        planned = gadget_plan(resource, observed, pass_)
        if isinstance(planned, Outcome) and pass_.now < transition:
            return replace(planned, wake_at=transition)
        return planned

    cluster = Cluster(("poke:a",), kind=replace(GADGET, plan=plan))
    poke = FakeAzure.poke

    async def slow_poke(self: FakeAzure, name: str) -> None:
        await poke(self, name)
        cluster.now += timedelta(seconds=pass_seconds)

    cluster.azure.poke = slow_poke.__get__(cluster.azure)  # type: ignore[method-assign]
    cluster.memo.drift_due = T0
    await drift(cluster, 70)
    reads = [(t - T0).total_seconds() for t in cluster.azure.times]
    assert reads[1] <= max(2.0, pass_seconds) + 0.5, reads


async def test_a_start_pass_waking_hours_later_keeps_the_first_drift_check_within_the_interval() -> None:
    # a settled object's start pass names a moment hours away (a model's next read): the first drift check
    # stays at a random moment of the interval, or a restart's checks would all come together an interval
    # later, none in the first minutes
    far = T0 + timedelta(hours=5)

    def plan(resource: Any, observed: Any, pass_: Any) -> Any:
        planned = gadget_plan(resource, observed, pass_)
        return replace(planned, wake_at=far) if isinstance(planned, Outcome) else planned

    dues = []
    for seed in range(20):
        cluster = Cluster(("poke:a",), kind=replace(GADGET, plan=plan))
        cluster.ctx.rng.seed(seed)
        outcome = await cluster.run(Trigger.RESUME)
        handlers._come_back(cluster.ctx, cluster.memo, outcome, 0)  # what the resume handler does next
        dues.append((cluster.memo.drift_due - T0) / cluster.ctx.settings.drift_interval)
        await cluster.ctx.drift.aclose()
    assert all(0 <= d <= 1 for d in dues), dues
    assert min(dues) < 0.3 and max(dues) > 0.7, dues  # spread over the interval


async def test_the_endpoints_each_object_records_are_claimed_until_it_is_deleted() -> None:
    # what keeps another resource from adopting them (runtime/claims.py)
    cluster = Cluster(("poke:a",))
    claims = cluster.ctx.claims
    cluster.stored["metadata"].setdefault("annotations", {})[ENDPOINT_ID_ANNOTATION] = ENDPOINT.upper()
    feed_drift(cluster.kind, {"type": "ADDED"}, cluster.body(), cluster.memo)
    assert claims.others("Gadget", ENDPOINT, "another-uid") == {ENDPOINT: "Gadget team-a/g"}
    assert claims.others("Gadget", ENDPOINT, "uid-1") == {}  # its own
    assert claims.others("Other", ENDPOINT, "another-uid") == {}  # per kind
    feed_drift(cluster.kind, {"type": "DELETED"}, cluster.body(), cluster.memo)
    assert claims.others("Gadget", ENDPOINT, "another-uid") == {}
    await cluster.ctx.drift.aclose()


def test_a_claim_follows_the_annotations_and_the_creator_or_the_older_wins() -> None:
    claims = EndpointClaims()
    claims.update("K", "u2", "K a/two", ["e1"], adopted="E1", created_at="2026-12-02T00:00:00Z")
    claims.update("K", "u1", "K a/one", ["E1"], created_at="2026-12-03T00:00:00Z")  # created it
    assert claims.others("K", "E1", "u2") == {"e1": "K a/one"}  # the creator wins over an adopter
    assert claims.others("K", "e1", "u1") == {}
    assert claims.others("K", "e1", "new") == {"e1": "K a/one"}  # one recording nothing: any claim
    claims.update("K", "u3", "K a/three", ["e2"], adopted="e2", created_at="2026-12-01T00:00:00Z")
    claims.update("K", "u4", "K a/four", ["e2"], adopted="e2", created_at="2026-12-04T00:00:00Z")
    assert claims.others("K", "e2", "u4") == {"e2": "K a/three"}  # two adopters: the older wins
    assert claims.others("K", "e2", "u3") == {}
    claims.update("K", "u1", "K a/one", ["e3"])  # u1 moved on: only u2 holds e1
    assert claims.others("K", "e1", "u2") == {}
    assert claims.others("K", "e3", "u2") == {"e3": "K a/one"}
    for uid in ("u1", "u2", "u3", "u4"):
        claims.forget("K", uid)
    assert claims.others("K", "e1", "x") == {} and claims.others("K", "e3", "x") == {}
    assert claims.others("K", None, "x") == {}
