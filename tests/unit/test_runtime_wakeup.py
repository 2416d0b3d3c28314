"""A handler waiting out `TemporaryError(delay=...)` runs again as soon as its object changes (wakeup.py),
shown with kopf in-process against the session's control plane; plus the pure record logic."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import kopf
import pytest
from azure_speech_operator.kube import KubeApi, load_configuration
from azure_speech_operator.reconcile import KOPF_PREFIX
from azure_speech_operator.runner import ServedKind, register_runtime_handlers, run_operator
from azure_speech_operator.runtime import wakeup
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.settings import OperatorSettings
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.harness import Kube

GROUP, VERSION, PLURAL = "speech.azure-operator.io", "v1alpha1", "speechendpoints"
SERVED = [ServedKind("SpeechEndpoint", PLURAL, "not imported in this test")]
LONG_DELAY = 600.0  # far longer than the test: a rerun can only come from the wake-up


def record(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def test_only_sleeping_progress_records_are_found() -> None:
    annotations = {
        f"{KOPF_PREFIX}/reconcile-update": record(started="t", delayed="t2", purpose="update", retries=2),
        f"{KOPF_PREFIX}/drift": record(started="t", success=True),
        f"{KOPF_PREFIX}/create-pending": "2026-11-21T06:00:00+00:00",
        f"{KOPF_PREFIX}/endpoint-id": "a07164e8-0000-4000-8000-000000000000",
        f"{KOPF_PREFIX}/last-handled-configuration": json.dumps({"spec": {"started": 1, "delayed": 2}}),
        "speech.azure-operator.io/reconcile-requested-at": record(started="t", delayed="t2"),
    }
    assert list(wakeup.sleeping_records(annotations, KOPF_PREFIX)) == [f"{KOPF_PREFIX}/reconcile-update"]


KEY = f"{KOPF_PREFIX}/reconcile-update"


def sleeping(retries: int) -> dict[str, str]:
    return {KEY: record(started="t", delayed=f"d{retries}", retries=retries)}


def test_tracker_wakes_once_per_change_including_changes_during_a_run() -> None:
    tracker = wakeup.WakeTracker(KOPF_PREFIX)
    assert tracker.observe("A", {}, idle=False) == {}  # created: the handler runs on A ...
    # ... the user changes the object meanwhile: a cycle on B before kopf's own write shows up ...
    assert tracker.observe("B", {}, idle=False) == {}
    # ... then the record the handler left when it went to sleep (on A), on the newest body B.
    assert tracker.observe("B", sleeping(1), idle=False) == {KEY: record(started="t", retries=1)}
    assert tracker.observe("B", {KEY: record(started="t", retries=1)}, idle=False) == {}  # woken: runs on B
    assert tracker.observe("B", sleeping(2), idle=False) == {}  # sleeps again on B: stays asleep
    assert tracker.observe("B", sleeping(2), idle=False) == {}  # e.g. a status write
    assert tracker.observe("C", sleeping(2), idle=False) == {KEY: record(started="t", retries=2)}


def test_tracker_after_success_does_not_wake_a_first_sleep() -> None:
    tracker = wakeup.WakeTracker(KOPF_PREFIX)
    assert tracker.observe("A", {}, idle=True) == {}  # handled, nothing pending
    assert tracker.observe("B", {}, idle=False) == {}  # a change: the handler runs on B
    assert tracker.observe("B", sleeping(1), idle=False) == {}  # and sleeps on B: no extra pass


def test_tracker_wakes_a_long_sleep_once() -> None:
    tracker = wakeup.WakeTracker(KOPF_PREFIX)
    assert tracker.observe("A", {}, idle=False) == {}  # the handler runs on A
    assert tracker.observe("A", sleeping(1), idle=False) == {}  # and sleeps on A
    assert tracker.observe("A", sleeping(1), idle=False) == {}
    assert tracker.observe("B", sleeping(1), idle=False) == {KEY: record(started="t", retries=1)}
    assert tracker.observe("B", {KEY: record(started="t", retries=1)}, idle=False) == {}  # runs on B
    assert tracker.observe("B", sleeping(2), idle=False) == {}  # sleeps on B


def test_tracker_after_a_restart_takes_the_found_state_as_slept_on() -> None:
    tracker = wakeup.WakeTracker(KOPF_PREFIX)
    assert tracker.observe("A", sleeping(3), idle=False) == {}
    assert tracker.observe("A", sleeping(3), idle=False) == {}
    assert tracker.observe("B", sleeping(3), idle=False) == {KEY: record(started="t", retries=3)}


def test_managed_fields_are_dropped_from_kopfs_own_copy() -> None:
    raw = {"metadata": {"name": "x", "managedFields": [{"manager": "kubectl"}], "labels": {"a": "b"}}}
    body = kopf.Body(raw)
    wakeup.forget_managed_fields(body)
    assert raw == {"metadata": {"name": "x", "labels": {"a": "b"}}}  # kopf's parsed dict itself
    assert "managedFields" not in body.metadata
    wakeup.forget_managed_fields(kopf.Body({}))  # nothing to drop


def test_essence_ignores_kopf_bookkeeping_and_status() -> None:
    base: dict[str, Any] = {"metadata": {"name": "x", "annotations": {}}, "spec": {"a": 1}, "status": {}}
    digest = wakeup.essence_digest(kopf.Body(base))
    bookkeeping = json.loads(json.dumps(base))
    bookkeeping["metadata"]["annotations"][f"{KOPF_PREFIX}/reconcile"] = record(started="t")
    bookkeeping["status"] = {"endpointId": "e"}
    assert wakeup.essence_digest(kopf.Body(bookkeeping)) == digest
    requested = json.loads(json.dumps(base))
    requested["metadata"]["annotations"]["speech.azure-operator.io/reconcile-requested-at"] = "now"
    assert wakeup.essence_digest(kopf.Body(requested)) != digest


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["a", "speech.azure-operator.io/x", f"{KOPF_PREFIX}/reconcile", "other.io/y"])


@given(
    spec=JSON,
    status=JSON,
    extra=st.dictionaries(st.sampled_from(["data", "apiVersion", "kind"]), JSON, max_size=2),
    metadata=st.fixed_dictionaries(
        {"name": st.just("x")},
        optional={
            "labels": st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
            "annotations": st.dictionaries(KEYS, st.text(max_size=3), max_size=3),
            "managedFields": st.lists(JSON, max_size=2),
            "resourceVersion": st.text(max_size=3),
            "finalizers": st.lists(st.text(max_size=3), max_size=2),
        },
    ),
)
def test_essence_is_kopfs_essence_of_the_whole_object(
    spec: Any, status: Any, extra: dict[str, Any], metadata: dict[str, Any]
) -> None:
    # the digest is built from a part of the object (no status, little metadata); kopf builds its essence
    # from the whole object, and the two must never differ
    body = kopf.Body({**extra, "metadata": metadata, "spec": spec, "status": status})
    whole = wakeup.PROGRESS_STORAGE.clear(essence=wakeup.DIFFBASE_STORAGE.build(body=body))
    assert wakeup.essence_digest(body) == wakeup._digest(whole)


async def wait_until(condition: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("wake", "during_run"),
    [(True, False), (True, True), (False, False)],
    ids=["change-while-sleeping", "change-while-running", "control-without-wakeup"],
)
async def test_change_reruns_a_sleeping_handler(
    kube: Kube, kube_api: KubeApi, cluster_namespace: str, wake: bool, during_run: bool
) -> None:
    ns = cluster_namespace
    registry = kopf.OperatorRegistry()
    calls: list[str] = []
    managed_fields_seen: list[bool] = []
    running, release = asyncio.Event(), asyncio.Event()

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry)
    async def blocked(body: kopf.Body, **_: Any) -> None:
        calls.append(body.metadata.annotations.get("speech.azure-operator.io/reconcile-requested-at", "-"))
        managed_fields_seen.append("managedFields" in body.metadata)
        if during_run and len(calls) == 1:
            running.set()
            await release.wait()
        raise kopf.TemporaryError("blocked", delay=LONG_DELAY)

    # only this test's namespace: the cluster is shared with other tests
    settings = OperatorSettings(metrics_port=0, watch_credential_secrets=False, namespaces=(ns,))
    configuration = load_configuration(str(kube.kubeconfig))
    register_runtime_handlers(registry, settings, configuration, SERVED, metrics=Metrics())
    if wake:  # the control run has no wake-up handler
        wakeup.register_wakeup(registry, GROUP, VERSION, PLURAL)
    stop = asyncio.Event()
    operator = asyncio.create_task(
        run_operator(settings, registry=registry, served=SERVED, metrics=Metrics(), stop_flag=stop)
    )
    try:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "SpeechEndpoint",
            "metadata": {"name": "x", "namespace": ns},
            "spec": {
                "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds"}}},
                "locale": "en-US",
                "model": {"baseModelId": "ae8d1643-53f6-4b7e-9f8e-4a3b2c1d0e9f"},
            },
        }
        await kube_api.request("POST", KubeApi.object_path(PLURAL, ns), body=body)
        requested = {"metadata": {"annotations": {"speech.azure-operator.io/reconcile-requested-at": "1"}}}
        if during_run:
            await asyncio.wait_for(running.wait(), timeout=20)
            await kube_api.patch_object(PLURAL, ns, "x", requested)  # while the handler runs on "-"
            release.set()
        else:
            await wait_until(lambda: len(calls) == 1)
            await kube_api.patch_object(PLURAL, ns, "x", requested)
        if wake:
            await wait_until(lambda: calls[-1] == "1")
            # Woken once per change: the handler sleeps again and stays asleep.
            await asyncio.sleep(1.0)
            assert calls == ["-", "1"]
            # the event handler ran first in each cycle and left kopf's copy without the server's field
            # ownership (the control run shows the server sends it)
            assert managed_fields_seen == [False, False]
        else:
            await asyncio.sleep(3.0)
            assert calls == ["-"]  # kopf alone: the change waits for the delay
            assert managed_fields_seen == [True]
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(operator, timeout=30)
