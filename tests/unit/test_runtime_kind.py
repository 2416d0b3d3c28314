"""A kind registered with the runtime (`runtime.handlers.register`) is served by kopf, in-process, against the
session's control plane, by its own CRD coordinates: a kind that is not about speech (runtime_fakes.GADGET,
in its own API group) is reconciled on create, its status written and its events posted, a come-back runs
the handler again, a change of a user annotation triggers it, and deleting the object runs the kind's
deletion and removes the finalizer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import kopf
import pytest
from azure_speech_operator.conditions import is_true
from azure_speech_operator.kube import KubeApi, load_configuration
from azure_speech_operator.reconcile import FINALIZER
from azure_speech_operator.runner import register_runtime_handlers, run_operator
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.handlers import register
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.settings import OperatorSettings

from tests.e2e.harness import Kube
from tests.unit.runtime_fakes import (
    GADGET,
    GADGET_GROUP,
    GADGET_KIND,
    GADGET_PLURAL,
    GADGET_VERSION,
    SCRIPT,
    FakeAzure,
    gadget,
    secret_body,
)

GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{GADGET_PLURAL}.{GADGET_GROUP}"},
    "spec": {
        "group": GADGET_GROUP,
        "scope": "Namespaced",
        "names": {"plural": GADGET_PLURAL, "singular": "gadget", "kind": GADGET_KIND},
        "versions": [
            {
                "name": GADGET_VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}
COORDINATES = {"group": GADGET_GROUP, "version": GADGET_VERSION}


@pytest.fixture(scope="module")
def gadget_crd(kube: Kube) -> Iterator[None]:
    kube.apply(GADGET_CRD)
    kube.kubectl("wait", "--for=condition=Established", f"crd/{GADGET_CRD['metadata']['name']}")
    yield
    kube.kubectl("delete", "crd", GADGET_CRD["metadata"]["name"], "--wait=false", "--ignore-not-found")


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Polls `check` for up to 30 s."""
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_kind_plugged_into_the_runtime_is_served_by_kopf(
    kube: Kube, kube_api: KubeApi, cluster_namespace: str, gadget_crd: None
) -> None:
    api, ns = kube_api, cluster_namespace
    azure = FakeAzure()
    secret = secret_body(ns, "creds", {"key": b"k-1"})
    await api.request("POST", KubeApi.object_path("secrets", ns, group=""), body=secret)
    body = gadget(ns, "g", "poke:a")
    for generated in ("uid", "generation", "finalizers"):
        del body["metadata"][generated]
    await api.request("POST", KubeApi.object_path(GADGET_PLURAL, ns, **COORDINATES), body=body)

    settings = OperatorSettings(metrics_port=0, namespaces=(ns,))  # only this test's namespace
    registry = kopf.OperatorRegistry()

    def factory(settings: OperatorSettings, kube_api: KubeApi, metrics: Metrics) -> OperatorContext:
        return OperatorContext(settings=settings, kube=kube_api, azure=azure, metrics=metrics)  # type: ignore[arg-type]

    metrics = Metrics()
    configuration = load_configuration(str(kube.kubeconfig))
    register_runtime_handlers(registry, settings, configuration, [], metrics=metrics, context_factory=factory)
    register(GADGET, registry)
    stop = asyncio.Event()
    operator = asyncio.create_task(
        run_operator(settings, registry=registry, served=[], metrics=metrics, stop_flag=stop)
    )

    async def read() -> dict[str, Any]:
        obj = await api.get_object(GADGET_PLURAL, ns, "g", **COORDINATES)
        assert obj is not None and not operator.done()
        return obj

    async def ready() -> bool:
        return is_true(((await read()).get("status") or {}).get("conditions"), "Ready")

    try:
        await eventually(ready, "the Gadget to be Ready")
        stored = await read()
        assert FINALIZER in stored["metadata"]["finalizers"]
        assert stored["status"]["observedGeneration"] == 1
        assert azure.pokes == ["a"]

        async def poked_event() -> bool:
            events = await api.request("GET", KubeApi.object_path("events", ns, group=""))
            return any(
                e["reason"] == "Poked" and e["involvedObject"]["kind"] == GADGET_KIND
                for e in (events or {}).get("items", [])
            )

        await eventually(poked_event, "the Poked event")

        # a user annotation changes: the update handler runs; its come-back (1 s) runs it again and again
        patch = {"metadata": {"annotations": {SCRIPT: "poke:b,retry:1"}}}
        await api.patch_object(GADGET_PLURAL, ns, "g", patch, **COORDINATES)

        async def polled() -> bool:
            return azure.pokes.count("b") >= 3

        await eventually(polled, "the come-backs of the update")

        await api.request("DELETE", KubeApi.object_path(GADGET_PLURAL, ns, "g", **COORDINATES))

        async def gone() -> bool:
            return await api.get_object(GADGET_PLURAL, ns, "g", **COORDINATES) is None

        await eventually(gone, "the finalizer to go")
        assert not operator.done()
        assert ("Gadget", ns, "g") not in metrics.resource_states
    finally:
        stop.set()
        await asyncio.wait_for(operator, timeout=30)
