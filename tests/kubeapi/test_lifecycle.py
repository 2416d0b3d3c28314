"""Object metadata and life cycle: resourceVersion, generation, finalizers, deletion, garbage collection,
namespaces (Kubernetes docs: "Object Names and IDs", "Finalizers", "Garbage Collection", "Namespaces")."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import CONFIGMAPS, FakeClock, widget

MERGE = {"Content-Type": "application/merge-patch+json"}


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }


def test_resource_versions_come_from_one_increasing_counter(http: httpx.Client, widgets: str) -> None:
    versions = [
        int(http.post(CONFIGMAPS, json={"metadata": {"name": "a"}}).json()["metadata"]["resourceVersion"]),
        int(http.post(widgets, json=widget("w")).json()["metadata"]["resourceVersion"]),
        int(http.post(CONFIGMAPS, json={"metadata": {"name": "b"}}).json()["metadata"]["resourceVersion"]),
    ]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_generation_bumps_on_spec_changes_only(http: httpx.Client, widgets: str) -> None:
    assert http.post(widgets, json=widget("w")).json()["metadata"]["generation"] == 1
    labelled = http.patch(f"{widgets}/w", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE).json()
    assert labelled["metadata"]["generation"] == 1
    status = http.patch(f"{widgets}/w/status", json={"status": {"phase": "x"}}, headers=MERGE).json()
    assert status["metadata"]["generation"] == 1
    spec = http.patch(f"{widgets}/w", json={"spec": {"size": 7}}, headers=MERGE).json()
    assert spec["metadata"]["generation"] == 2


def test_server_fields_cannot_be_overwritten(http: httpx.Client, widgets: str) -> None:
    created = http.post(widgets, json=widget("w")).json()
    forged = {"metadata": {"uid": "x", "creationTimestamp": "2000-01-01T00:00:00Z", "generation": 9}}
    patched = http.patch(f"{widgets}/w", json=forged, headers=MERGE).json()
    for field in ("uid", "creationTimestamp", "generation"):
        assert patched["metadata"][field] == created["metadata"][field]


def test_delete_with_finalizers_marks_then_removes(
    http: httpx.Client, widgets: str, clock: FakeClock
) -> None:
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/cleanup"]
    http.post(widgets, json=body)
    clock.advance(60)
    marked = http.delete(f"{widgets}/w")
    assert marked.status_code == 200
    meta = marked.json()["metadata"]
    assert meta["deletionTimestamp"] == "2026-01-02T03:05:05Z"
    assert meta["generation"] == 2  # as kube-apiserver does when it sets deletionTimestamp
    assert http.get(f"{widgets}/w").json()["metadata"]["deletionTimestamp"]
    again = http.delete(f"{widgets}/w").json()
    assert again["metadata"]["resourceVersion"] == meta["resourceVersion"]
    forbidden = http.patch(
        f"{widgets}/w", json={"metadata": {"finalizers": ["example.com/cleanup", "x/y"]}}, headers=MERGE
    )
    assert forbidden.status_code == 422
    assert "no new finalizers can be added if the object is being deleted" in forbidden.json()["message"]
    released = http.patch(f"{widgets}/w", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert released.status_code == 200
    assert http.get(f"{widgets}/w").status_code == 404


def test_background_garbage_collection_of_dependents(http: httpx.Client, widgets: str) -> None:
    owner = http.post(widgets, json=widget("owner")).json()
    dependent = {"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}}
    http.post(CONFIGMAPS, json=dependent)
    other = http.post(widgets, json=widget("other")).json()
    two_owners = {"metadata": {"name": "shared", "ownerReferences": [owner_ref(owner), owner_ref(other)]}}
    http.post(CONFIGMAPS, json=two_owners)
    http.delete(f"{widgets}/owner")
    assert http.get(f"{CONFIGMAPS}/dep").status_code == 404
    assert http.get(f"{CONFIGMAPS}/shared").status_code == 200  # one owner is still there
    http.delete(f"{widgets}/other")
    assert http.get(f"{CONFIGMAPS}/shared").status_code == 404


def test_dependents_wait_for_a_finalizing_owner(http: httpx.Client, widgets: str) -> None:
    body = widget("owner")
    body["metadata"]["finalizers"] = ["example.com/f"]
    owner = http.post(widgets, json=body).json()
    http.post(CONFIGMAPS, json={"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}})
    http.delete(f"{widgets}/owner")
    assert http.get(f"{CONFIGMAPS}/dep").status_code == 200
    http.patch(f"{widgets}/owner", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert http.get(f"{CONFIGMAPS}/dep").status_code == 404


def test_orphan_propagation_keeps_dependents(http: httpx.Client, widgets: str) -> None:
    owner = http.post(widgets, json=widget("owner")).json()
    http.post(CONFIGMAPS, json={"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}})
    http.delete(f"{widgets}/owner", params={"propagationPolicy": "Orphan"})
    kept = http.get(f"{CONFIGMAPS}/dep").json()
    assert "ownerReferences" not in kept["metadata"]


def test_foreground_propagation_deletes_dependents_first(http: httpx.Client, widgets: str) -> None:
    owner = http.post(widgets, json=widget("owner")).json()
    dep = {"metadata": {"name": "dep", "finalizers": ["x/y"], "ownerReferences": [owner_ref(owner)]}}
    http.post(CONFIGMAPS, json=dep)
    response = http.request("DELETE", f"{widgets}/owner", json={"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in response.json()["metadata"]["finalizers"]
    assert http.get(f"{CONFIGMAPS}/dep").json()["metadata"]["deletionTimestamp"]
    assert http.get(f"{widgets}/owner").status_code == 200
    http.patch(f"{CONFIGMAPS}/dep", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert http.get(f"{widgets}/owner").status_code == 404


def test_dependent_of_a_missing_owner_is_collected(http: httpx.Client) -> None:
    ghost = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "gone",
        "uid": "00000000-0000-4000-8000-000000000000",
    }
    http.post(CONFIGMAPS, json={"metadata": {"name": "dep", "ownerReferences": [ghost]}})
    assert http.get(f"{CONFIGMAPS}/dep").status_code == 404


def test_namespace_deletion_removes_its_content(http: httpx.Client, widgets: str) -> None:
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": "team"}}).status_code == 201
    created = http.get("/api/v1/namespaces/team").json()
    assert created["status"]["phase"] == "Active"
    assert created["spec"]["finalizers"] == ["kubernetes"]
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    held = widget("held")
    held["metadata"]["finalizers"] = ["example.com/f"]
    http.post("/apis/example.com/v1/namespaces/team/widgets", json=held)
    http.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "cm"}})
    deleting = http.delete("/api/v1/namespaces/team").json()
    assert deleting["status"]["phase"] == "Terminating"
    assert http.get("/api/v1/namespaces/team/configmaps/cm").status_code == 404
    refused = http.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "late"}})
    assert refused.status_code == 403
    assert "because it is being terminated" in refused.json()["message"]
    http.patch(
        "/apis/example.com/v1/namespaces/team/widgets/held",
        json={"metadata": {"finalizers": None}},
        headers=MERGE,
    )
    assert http.get("/api/v1/namespaces/team").status_code == 404


def test_empty_namespace_is_deleted_at_once(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces", json={"metadata": {"name": "empty"}})
    http.delete("/api/v1/namespaces/empty")
    assert http.get("/api/v1/namespaces/empty").status_code == 404


def test_labels_and_annotations_are_validated(http: httpx.Client) -> None:
    bad_label = http.post(CONFIGMAPS, json={"metadata": {"name": "a", "labels": {"k": "has space"}}})
    assert bad_label.status_code == 422
    assert bad_label.json()["details"]["causes"][0]["field"] == "metadata.labels"
    huge = http.post(CONFIGMAPS, json={"metadata": {"name": "b", "annotations": {"k": "x" * 300_000}}})
    assert huge.status_code == 422


def test_system_namespaces_cannot_be_deleted(http: httpx.Client) -> None:
    for name in ("default", "kube-system", "kube-public"):
        response = http.delete(f"/api/v1/namespaces/{name}")
        assert response.status_code == 403
        assert (
            response.json()["message"]
            == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
    assert http.get("/api/v1/namespaces/default").json()["status"]["phase"] == "Active"


def test_immutable_configmaps_and_secret_types(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True})
    changed = http.patch(f"{CONFIGMAPS}/frozen", json={"data": {"a": "2"}}, headers=MERGE)
    assert changed.status_code == 422
    assert "data: Forbidden: field is immutable when `immutable` is set" in changed.json()["message"]
    relabelled = http.patch(f"{CONFIGMAPS}/frozen", json={"metadata": {"labels": {"x": "y"}}}, headers=MERGE)
    assert relabelled.status_code == 200
    secrets = "/api/v1/namespaces/default/secrets"
    http.post(secrets, json={"metadata": {"name": "s"}, "type": "Opaque"})
    retyped = http.patch(f"{secrets}/s", json={"type": "kubernetes.io/tls"}, headers=MERGE)
    assert retyped.status_code == 422
    assert 'type: Invalid value: "kubernetes.io/tls": field is immutable' in retyped.json()["message"]


def test_only_one_controller_owner(http: httpx.Client, widgets: str) -> None:
    first = owner_ref(http.post(widgets, json=widget("a")).json())
    second = owner_ref(http.post(widgets, json=widget("b")).json())
    refs = [dict(first, controller=True), dict(second, controller=True)]
    response = http.post(CONFIGMAPS, json={"metadata": {"name": "dep", "ownerReferences": refs}})
    assert response.status_code == 422
    assert "Only one reference can have Controller set to true" in response.json()["message"]
