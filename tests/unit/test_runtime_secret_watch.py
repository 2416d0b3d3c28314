"""The labelled-Secret watch running in kopf (in-process) against the emulated Kubernetes API: a changed
credentials Secret marks the not-Ready resources using it, which makes kopf see a change on them."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import kopf
import pytest
import yaml
from azure_speech_operator.context import OperatorContext
from azure_speech_operator.credentials import CREDENTIALS_LABEL, ROTATED_ANNOTATION
from azure_speech_operator.kube import KubeApi, load_configuration
from azure_speech_operator.metrics import Metrics
from azure_speech_operator.runner import (
    ServedKind,
    default_context_factory,
    register_runtime_handlers,
    run_operator,
)
from azure_speech_operator.settings import OperatorSettings

from tests.kubeapi.runner import BackgroundApi
from tests.unit.runtime_fakes import free_port

REPO = Path(__file__).resolve().parents[2]
SERVED = [ServedKind("SpeechEndpoint", "speechendpoints", "not imported in this test")]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[Path, KubeApi]]:
    api = BackgroundApi()
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    kube = KubeApi(load_configuration(str(path)))
    try:
        await kube.request(
            "POST",
            "/api/v1/namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        )
        crd = yaml.safe_load((REPO / "crds" / "speechendpoints.yaml").read_text())
        await kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
        yield path, kube
    finally:
        kube.close()
        api.stop()


async def create_endpoint(kube: KubeApi, name: str, ready: str) -> None:
    body = {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {
            "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds", "key": "key"}}},
            "locale": "en-US",
            "model": {"baseModelId": "ae8d1643-53f6-4b7e-9f8e-4a3b2c1d0e9f"},
        },
    }
    await kube.request("POST", KubeApi.object_path("speechendpoints", "team-a"), body=body)
    condition = {
        "type": "Ready",
        "status": ready,
        "reason": "CredentialsNotFound" if ready == "False" else "Succeeded",
        "message": "-",
        "lastTransitionTime": "2026-11-21T06:00:00Z",
        "observedGeneration": 1,
    }
    status = {"status": {"conditions": [condition]}}
    await kube.patch_object("speechendpoints", "team-a", name, status, subresource="status")


def secret(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "team-a", "labels": {CREDENTIALS_LABEL: "true"}},
        "data": {"key": base64.b64encode(value.encode()).decode()},
    }


async def test_rotated_secret_marks_blocked_resources(cluster: tuple[Path, KubeApi]) -> None:
    path, kube = cluster
    await create_endpoint(kube, "blocked", "False")
    await create_endpoint(kube, "fine", "True")
    port = free_port()
    settings = OperatorSettings(metrics_port=port, metrics_address="127.0.0.1")
    registry = kopf.OperatorRegistry()
    contexts: list[OperatorContext] = []

    def factory(settings: OperatorSettings, kube_api: KubeApi, metrics: Metrics) -> OperatorContext:
        contexts.append(default_context_factory(settings, kube_api, metrics))
        return contexts[-1]

    metrics = Metrics()
    configuration = load_configuration(str(path))
    register_runtime_handlers(
        registry, settings, configuration, SERVED, metrics=metrics, context_factory=factory
    )
    stop = asyncio.Event()
    operator = asyncio.create_task(
        run_operator(settings, registry=registry, served=SERVED, metrics=metrics, stop_flag=stop)
    )
    try:
        await kube.request("POST", KubeApi.object_path("secrets", "team-a", group=""), body=secret("k0"))
        # The watch may start after the first write (then it is the initial state, not a change):
        # keep rotating until the mark appears.
        annotations: dict[str, str] = {}
        for attempt in range(1, 300):
            blocked = await kube.get_object("speechendpoints", "team-a", "blocked")
            assert blocked is not None
            annotations = blocked["metadata"].get("annotations") or {}
            if ROTATED_ANNOTATION in annotations or operator.done():
                break
            await kube.request(
                "PUT", KubeApi.object_path("secrets", "team-a", "creds", group=""), body=secret(f"k{attempt}")
            )
            await asyncio.sleep(0.1)
        assert ROTATED_ANNOTATION in annotations
        fine = await kube.get_object("speechendpoints", "team-a", "fine")
        assert fine is not None
        assert ROTATED_ANNOTATION not in (fine["metadata"].get("annotations") or {})
        assert contexts and contexts[0].metrics is metrics
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'azure_speech_operator_credential_secret_triggers_total{resource="speechendpoints"}' in scraped
        # kopf itself never wrote to the Secret (an event watch keeps no state on the watched object).
        stored = await kube.request("GET", KubeApi.object_path("secrets", "team-a", "creds", group=""))
        assert stored is not None and not (stored["metadata"].get("annotations") or {})
        assert not stored["metadata"].get("finalizers")
    finally:
        stop.set()
        await asyncio.wait_for(operator, timeout=30)
