"""kube.KubeApi and export against the session's Kubernetes control plane (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_speech_operator.azure.types import OperatorError
from azure_speech_operator.kube import (
    JSON_PATCH,
    KubeApi,
    KubeApiError,
    KubeConfigError,
    KubeConflictError,
    load_configuration,
)
from azure_speech_operator.runtime.export import export_config_map

from tests.e2e.harness import Kube, unique_name, wait_for
from tests.unit.runtime_fakes import secret_body


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig naming only a server (nothing listens there in these tests)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def speech_endpoint(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds"}}},
            "locale": "en-US",
            "model": {"baseModelId": "ae8d1643-53f6-4b7e-9f8e-4a3b2c1d0e9f"},
        },
    }


async def test_secrets_are_decoded_and_absent_ones_are_none(
    kube_api: KubeApi, cluster_namespace: str
) -> None:
    kube, ns = kube_api, cluster_namespace
    assert await kube.read_secret(ns, "creds") is None
    secret = secret_body(ns, "creds", {"key": b"the-key"})
    await kube.request("POST", KubeApi.object_path("secrets", ns, group=""), body=secret)
    data = await kube.read_secret(ns, "creds")
    assert data is not None
    assert data["key"].get_secret_value() == b"the-key"
    assert "the-key" not in repr(data)


async def test_patch_object_merge_status_and_json_patch(kube_api: KubeApi, cluster_namespace: str) -> None:
    kube, ns = kube_api, cluster_namespace
    assert await kube.get_object("speechendpoints", ns, "absent") is None
    assert await kube.patch_object("speechendpoints", ns, "absent", {"metadata": {}}) is None
    created = await kube.request(
        "POST", KubeApi.object_path("speechendpoints", ns), body=speech_endpoint("call-center", ns)
    )
    assert created is not None
    mark = {"metadata": {"annotations": {"operator.speech.azure-operator.io/create-pending": "uid"}}}
    patched = await kube.patch_object("speechendpoints", ns, "call-center", mark)
    assert patched is not None
    assert patched["metadata"]["annotations"]["operator.speech.azure-operator.io/create-pending"] == "uid"

    status = {"status": {"endpointId": "a07164e8-0000-4000-8000-000000000000"}}
    after = await kube.patch_object("speechendpoints", ns, "call-center", status, subresource="status")
    assert after is not None and after["status"]["endpointId"] == "a07164e8-0000-4000-8000-000000000000"
    # Status is a subresource: a status write through the main resource is ignored by the API server.
    listed = await kube.list_objects("speechendpoints", ns)
    assert [o["metadata"]["name"] for o in listed] == ["call-center"]

    stale = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
    ]
    with pytest.raises(KubeApiError) as info:
        await kube.patch_object("speechendpoints", ns, "call-center", stale, content_type=JSON_PATCH)
    assert info.value.status == 422
    with pytest.raises(TypeError):
        await kube.patch_object("speechendpoints", ns, "call-center", {"a": 1}, content_type=JSON_PATCH)


async def test_list_of_an_uninstalled_kind_is_empty(kube_api: KubeApi, cluster_namespace: str) -> None:
    kube, ns = kube_api, cluster_namespace
    assert await kube.list_objects("voiceendpoints", ns) == []


async def test_config_maps_and_export(kube_api: KubeApi, cluster_namespace: str) -> None:
    kube, ns = kube_api, cluster_namespace
    # A real owner: the API server garbage-collects objects whose owner uid does not exist.
    owner = await kube.request(
        "POST", KubeApi.object_path("speechendpoints", ns), body=speech_endpoint("call-center", ns)
    )
    assert owner is not None
    assert await export_config_map(kube, owner, "call-center-endpoint", {"endpointId": "e1"}) is True
    assert await export_config_map(kube, owner, "call-center-endpoint", {"endpointId": "e1"}) is False
    assert await export_config_map(kube, owner, "call-center-endpoint", {"endpointId": "e2"}) is True
    cm = await kube.get_config_map(ns, "call-center-endpoint")
    assert cm is not None and cm["data"] == {"endpointId": "e2"}
    assert cm["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]

    with pytest.raises(KubeConflictError):
        await kube.create_config_map(ns, {"metadata": {"name": "call-center-endpoint"}, "data": {}})
    stale = dict(cm, data={"x": "y"})
    await kube.replace_config_map(ns, "call-center-endpoint", dict(cm, data={"endpointId": "e3"}))
    with pytest.raises(KubeConflictError):
        await kube.replace_config_map(ns, "call-center-endpoint", stale)

    await kube.create_config_map(ns, {"metadata": {"name": "app-config"}, "data": {"mine": "yes"}})
    with pytest.raises(OperatorError) as info:
        await export_config_map(kube, owner, "app-config", {"endpointId": "e1"})
    assert info.value.reason == "ConfigMapNotOwned"
    assert await kube.delete_config_map(ns, "app-config") is True
    assert await kube.delete_config_map(ns, "app-config") is False


async def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    port = 9  # discard: nothing listens
    write_kubeconfig(path, f"http://127.0.0.1:{port}")
    client = KubeApi(load_configuration(str(path)), timeout=(2.0, 2.0))
    try:
        with pytest.raises(KubeApiError) as info:
            await client.read_secret("team-a", "creds")
        assert info.value.status == 0
        assert "secrets/creds" in str(info.value)
    finally:
        await client.aclose()


def test_configuration_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_kubeconfig(tmp_path / "explicit", "http://127.0.0.1:1111")
    from_env = write_kubeconfig(tmp_path / "env", "http://127.0.0.1:2222")
    home = tmp_path / "home"
    write_kubeconfig(home / ".kube" / "config", "http://127.0.0.1:3333")
    monkeypatch.setenv("HOME", str(home))
    # In a pod with a kubeconfig set on purpose, the kubeconfig wins over the service account.
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBECONFIG", str(from_env))
    assert load_configuration(str(explicit)).host == "http://127.0.0.1:1111"
    assert load_configuration().host == "http://127.0.0.1:2222"
    # No KUBECONFIG: the service account (absent here, so ~/.kube/config).
    monkeypatch.delenv("KUBECONFIG")
    assert load_configuration().host == "http://127.0.0.1:3333"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    monkeypatch.setenv("HOME", str(tmp_path / "nowhere"))
    with pytest.raises(KubeConfigError, match="nowhere"):
        load_configuration()


async def test_a_namespace_is_terminating_while_it_is_deleted(kube: Kube, kube_api: KubeApi) -> None:
    name = kube.create_namespace(unique_name("terminating"))
    assert not await kube_api.namespace_terminating(name)
    # a finalizer on something inside holds the namespace in Terminating
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["test/hold"]},
    }
    kube.apply(held, name)
    kube.delete_namespace(name)
    try:
        assert wait_for(lambda: is_terminating(kube, name), 30, f"namespace {name} to terminate")
        assert await kube_api.namespace_terminating(name)
    finally:
        kube.kubectl(
            "patch", "configmap", "held", "-n", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
        )
        kube.delete_namespace(name, wait=True)
    assert await kube_api.namespace_terminating(name)  # gone: nothing in it comes back either


def is_terminating(kube: Kube, name: str) -> bool:
    namespace = kube.get("Namespace", name)
    return namespace is not None and namespace["status"].get("phase") == "Terminating"


async def test_calls_are_in_flight_at_once_well_beyond_asyncios_default_threads(tmp_path: Path) -> None:
    # asyncio's default pool has 4 + CPUs threads: a server that answers only once 20 calls are waiting at
    # once shows the client's own threads and connections carry them
    at_once = 20
    barrier = threading.Barrier(at_once, timeout=10)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                barrier.wait()
                status, body = 200, json.dumps(secret_body("team-a", "creds", {"key": b"k"})).encode()
            except threading.BrokenBarrierError:
                status, body = 500, b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    path = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{server.server_address[1]}")
    client = KubeApi(load_configuration(str(path)), timeout=(5.0, 15.0))
    try:
        secrets = await asyncio.gather(*(client.read_secret("team-a", "creds") for _ in range(at_once)))
        assert all(secret is not None and "key" in secret for secret in secrets)
    finally:
        await client.aclose()
        server.shutdown()
        server.server_close()
