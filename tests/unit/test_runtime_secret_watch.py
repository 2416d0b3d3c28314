"""The labelled-Secret watch running in kopf (in-process) against the session's control plane: a changed
credentials Secret marks the not-Ready resources using it, which makes kopf see a change on them."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import kopf
from azure_speech_operator.kube import KubeApi, load_configuration
from azure_speech_operator.runner import (
    ServedKind,
    default_context_factory,
    register_runtime_handlers,
    run_operator,
)
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.credentials import CREDENTIALS_LABEL, ROTATED_ANNOTATION
from azure_speech_operator.runtime.metrics import Metrics
from azure_speech_operator.settings import OperatorSettings

from tests.e2e.harness import Kube
from tests.unit.runtime_fakes import free_port

SERVED = [ServedKind("SpeechEndpoint", "speechendpoints", "not imported in this test")]


async def create_endpoint(kube: KubeApi, namespace: str, name: str, ready: str) -> None:
    body = {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds", "key": "key"}}},
            "locale": "en-US",
            "model": {"baseModelId": "ae8d1643-53f6-4b7e-9f8e-4a3b2c1d0e9f"},
        },
    }
    await kube.request("POST", KubeApi.object_path("speechendpoints", namespace), body=body)
    condition = {
        "type": "Ready",
        "status": ready,
        "reason": "CredentialsNotFound" if ready == "False" else "Succeeded",
        "message": "-",
        "lastTransitionTime": "2026-11-21T06:00:00Z",
        "observedGeneration": 1,
    }
    status = {"status": {"conditions": [condition]}}
    await kube.patch_object("speechendpoints", namespace, name, status, subresource="status")


def secret(namespace: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": namespace, "labels": {CREDENTIALS_LABEL: "true"}},
        "data": {"key": base64.b64encode(value.encode()).decode()},
    }


async def test_rotated_secret_marks_blocked_resources(
    kube: Kube, kube_api: KubeApi, cluster_namespace: str
) -> None:
    api, ns = kube_api, cluster_namespace
    await create_endpoint(api, ns, "blocked", "False")
    await create_endpoint(api, ns, "fine", "True")
    port = free_port()
    # only this test's namespace: the cluster is shared with other tests
    settings = OperatorSettings(metrics_port=port, metrics_address="127.0.0.1", namespaces=(ns,))
    registry = kopf.OperatorRegistry()
    contexts: list[OperatorContext] = []

    def factory(settings: OperatorSettings, kube_api: KubeApi, metrics: Metrics) -> OperatorContext:
        contexts.append(default_context_factory(settings, kube_api, metrics))
        return contexts[-1]

    metrics = Metrics()
    configuration = load_configuration(str(kube.kubeconfig))
    register_runtime_handlers(
        registry, settings, configuration, SERVED, metrics=metrics, context_factory=factory
    )
    stop = asyncio.Event()
    operator = asyncio.create_task(
        run_operator(settings, registry=registry, served=SERVED, metrics=metrics, stop_flag=stop)
    )
    try:
        await api.request("POST", KubeApi.object_path("secrets", ns, group=""), body=secret(ns, "k0"))
        # The watch may start after the first write (then it is the initial state, not a change):
        # keep rotating until the mark appears.
        annotations: dict[str, str] = {}
        for attempt in range(1, 300):
            blocked = await api.get_object("speechendpoints", ns, "blocked")
            assert blocked is not None
            annotations = blocked["metadata"].get("annotations") or {}
            if ROTATED_ANNOTATION in annotations or operator.done():
                break
            await api.request(
                "PUT", KubeApi.object_path("secrets", ns, "creds", group=""), body=secret(ns, f"k{attempt}")
            )
            await asyncio.sleep(0.1)
        assert ROTATED_ANNOTATION in annotations
        fine = await api.get_object("speechendpoints", ns, "fine")
        assert fine is not None
        assert ROTATED_ANNOTATION not in (fine["metadata"].get("annotations") or {})
        assert contexts and contexts[0].metrics is metrics
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'azure_speech_operator_credential_secret_triggers_total{resource="speechendpoints"}' in scraped
        # kopf itself never wrote to the Secret (an event watch keeps no state on the watched object).
        stored = await api.request("GET", KubeApi.object_path("secrets", ns, "creds", group=""))
        assert stored is not None and not (stored["metadata"].get("annotations") or {})
        assert not stored["metadata"].get("finalizers")
    finally:
        stop.set()
        await asyncio.wait_for(operator, timeout=30)
