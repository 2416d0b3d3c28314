"""The official kubernetes Python client against the emulated API: typed CRUD, custom objects, status
subresource, watch streams and ApiException codes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from .conftest import CRDS, widget, widget_crd


@pytest.fixture
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def test_typed_configmap_round_trip(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm", labels={"a": "b"}), data={"k": "v"})
    created = core.create_namespaced_config_map("default", body)
    assert created.metadata.uid and created.metadata.resource_version
    listed = core.list_namespaced_config_map("default", label_selector="a=b")
    assert [i.metadata.name for i in listed.items] == ["cm"]
    assert listed.metadata.resource_version
    core.patch_namespaced_config_map("cm", "default", {"data": {"k": "w"}})
    assert core.read_namespaced_config_map("cm", "default").data == {"k": "w"}
    core.delete_namespaced_config_map("cm", "default")
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_config_map("cm", "default")
    assert raised.value.status == 404


def test_custom_objects_and_status(api_client: client.ApiClient, http: httpx.Client) -> None:
    http.post(CRDS, json=widget_crd())
    custom = client.CustomObjectsApi(api_client)
    created = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", widget("w"))
    assert created["spec"]["color"] == "red"
    custom.patch_namespaced_custom_object_status(
        "example.com", "v1", "default", "widgets", "w", {"status": {"phase": "Ready"}}
    )
    fetched = custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
    assert fetched["status"] == {"phase": "Ready"}
    with pytest.raises(ApiException) as raised:
        custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", widget("bad", 1000))
    assert raised.value.status == 422


def test_watch_stream(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a")))
    events = [
        (event["type"], event["object"].metadata.name)
        for event in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=1)
    ]
    assert events == [("ADDED", "a")]


def test_conflict_is_409(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a"))
    )
    created.data = {"changed": "yes"}
    core.replace_namespaced_config_map("a", "default", created)
    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_config_map("a", "default", created)
    assert raised.value.status == 409
