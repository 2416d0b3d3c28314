"""Verbs (Kubernetes API concepts: "API verbs", "Patch", "Dry-run", "Subresources", "List")."""

from __future__ import annotations

import httpx
import pytest

from .conftest import CONFIGMAPS, widget

JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
SMP = {"Content-Type": "application/strategic-merge-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def configmap(name: str, **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"a": "1"},
    }


def test_create_answers_201_with_server_fields(http: httpx.Client) -> None:
    response = http.post(CONFIGMAPS, json=configmap("one"))
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert meta["namespace"] == "default"
    assert meta["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert len(meta["uid"]) == 36 and int(meta["resourceVersion"]) > 0
    assert "generation" not in meta  # built-in ConfigMaps carry none


def test_create_twice_is_409_already_exists(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("one"))
    response = http.post(CONFIGMAPS, json=configmap("one"))
    assert response.status_code == 409
    body = response.json()
    assert (body["reason"], body["message"]) == ("AlreadyExists", 'configmaps "one" already exists')


def test_get_missing_is_404_status(http: httpx.Client, widgets: str) -> None:
    body = http.get(f"{widgets}/nope").json()
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'widgets.example.com "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "example.com", "kind": "widgets"},
        "code": 404,
    }


def test_create_in_missing_namespace_is_404(http: httpx.Client) -> None:
    response = http.post("/api/v1/namespaces/ghost/configmaps", json=configmap("x"))
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "ghost" not found'


def test_generate_name(http: httpx.Client) -> None:
    body = {"metadata": {"generateName": "evt-"}, "involvedObject": {"kind": "Pod", "name": "p"}}
    first = http.post("/api/v1/namespaces/default/events", json=body).json()
    second = http.post("/api/v1/namespaces/default/events", json=body).json()
    assert first["metadata"]["name"].startswith("evt-") and len(first["metadata"]["name"]) == 9
    assert first["metadata"]["name"] != second["metadata"]["name"]


def test_invalid_name_is_422_with_field(http: httpx.Client) -> None:
    response = http.post(CONFIGMAPS, json=configmap("Not_Valid"))
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["message"].startswith('ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value')


def test_list_has_kind_and_resource_version(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("b"))
    http.post(CONFIGMAPS, json=configmap("a"))
    listed = http.get(CONFIGMAPS).json()
    assert listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(
        listed["items"][0]["metadata"]["resourceVersion"]
    )
    all_namespaces = http.get("/api/v1/configmaps").json()
    assert len(all_namespaces["items"]) == 2


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["one", "three"]),
        ("app==web,tier=front", ["one"]),
        ("app!=web", ["two", "four"]),
        ("app in (web, db)", ["one", "two", "three"]),
        ("app notin (web)", ["two", "four"]),
        ("tier", ["one", "two"]),
        ("!tier", ["three", "four"]),
    ],
)
def test_label_selectors(http: httpx.Client, selector: str, expected: list[str]) -> None:
    http.post(CONFIGMAPS, json=configmap("one", app="web", tier="front"))
    http.post(CONFIGMAPS, json=configmap("two", app="db", tier="back"))
    http.post(CONFIGMAPS, json=configmap("three", app="web"))
    http.post(CONFIGMAPS, json=configmap("four"))
    items = http.get(CONFIGMAPS, params={"labelSelector": selector}).json()["items"]
    assert sorted(i["metadata"]["name"] for i in items) == sorted(expected)


def test_field_selectors(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("one"))
    http.post(CONFIGMAPS, json=configmap("two"))
    items = http.get(CONFIGMAPS, params={"fieldSelector": "metadata.name=two"}).json()["items"]
    assert [i["metadata"]["name"] for i in items] == ["two"]
    items = http.get("/api/v1/configmaps", params={"fieldSelector": "metadata.namespace!=default"}).json()
    assert items["items"] == []
    response = http.get(CONFIGMAPS, params={"fieldSelector": "data.a=1"})
    assert response.status_code == 400
    assert response.json()["message"] == "field label not supported: data.a"


def test_event_field_selectors_on_involved_object(http: httpx.Client) -> None:
    for name in ("x", "y"):
        http.post(
            "/api/v1/namespaces/default/events",
            json={"metadata": {"name": f"e-{name}"}, "involvedObject": {"kind": "Widget", "name": name}},
        )
    items = http.get(
        "/api/v1/namespaces/default/events", params={"fieldSelector": "involvedObject.name=y"}
    ).json()["items"]
    assert [i["metadata"]["name"] for i in items] == ["e-y"]


def test_list_pages_with_limit_and_continue(http: httpx.Client) -> None:
    for name in "abcde":
        http.post(CONFIGMAPS, json=configmap(name))
    first = http.get(CONFIGMAPS, params={"limit": 2}).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    second = http.get(CONFIGMAPS, params={"limit": 2, "continue": first["metadata"]["continue"]}).json()
    third = http.get(CONFIGMAPS, params={"limit": 2, "continue": second["metadata"]["continue"]}).json()
    assert [i["metadata"]["name"] for i in second["items"] + third["items"]] == ["c", "d", "e"]
    assert "continue" not in third["metadata"]


def test_put_with_stale_resource_version_is_409(http: httpx.Client) -> None:
    created = http.post(CONFIGMAPS, json=configmap("one")).json()
    created["data"] = {"a": "2"}
    updated = http.put(f"{CONFIGMAPS}/one", json=created)
    assert updated.status_code == 200
    assert int(updated.json()["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    created["data"] = {"a": "3"}
    response = http.put(f"{CONFIGMAPS}/one", json=created)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert "the object has been modified" in response.json()["message"]


def test_put_on_custom_object_needs_resource_version(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("w"))
    response = http.put(f"{widgets}/w", json=widget("w", 4))
    assert response.status_code == 422
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update" in response.text


def test_put_name_mismatch_is_400(http: httpx.Client) -> None:
    created = http.post(CONFIGMAPS, json=configmap("one")).json()
    created["metadata"]["name"] = "two"
    assert http.put(f"{CONFIGMAPS}/one", json=created).status_code == 400


def test_unchanged_update_keeps_resource_version(http: httpx.Client) -> None:
    created = http.post(CONFIGMAPS, json=configmap("one")).json()
    same = http.patch(f"{CONFIGMAPS}/one", json={"data": {"a": "1"}}, headers=MERGE_PATCH).json()
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_merge_patch(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("w", color="blue"))
    patched = http.patch(
        f"{widgets}/w",
        json={"metadata": {"labels": {"x": "y"}}, "spec": {"color": None, "size": 5}},
        headers=MERGE_PATCH,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["spec"] == {"size": 5, "color": "red"}
    assert body["metadata"]["labels"] == {"x": "y"}


def test_merge_patch_with_stale_resource_version_conflicts(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("w"))
    response = http.patch(
        f"{widgets}/w", json={"metadata": {"resourceVersion": "1"}, "spec": {"size": 5}}, headers=MERGE_PATCH
    )
    assert response.status_code == 409


def test_json_patch_and_failed_test_is_422(http: httpx.Client, widgets: str) -> None:
    created = http.post(widgets, json=widget("w")).json()
    rv = created["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]},
    ]
    assert http.patch(f"{widgets}/w", json=ops, headers=JSON_PATCH).status_code == 200
    response = http.patch(f"{widgets}/w", json=ops, headers=JSON_PATCH)
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "replace", "path": "/data/a", "value": "2"}], {"a": "2"}),
        ([{"op": "remove", "path": "/data/a"}], None),
        ([{"op": "add", "path": "/data/b~1c", "value": "3"}], {"a": "1", "b/c": "3"}),
        ([{"op": "move", "from": "/data/a", "path": "/data/z"}], {"z": "1"}),
        ([{"op": "copy", "from": "/data/a", "path": "/data/z"}], {"a": "1", "z": "1"}),
    ],
)
def test_json_patch_operations(http: httpx.Client, ops: list[dict[str, str]], expected: object) -> None:
    http.post(CONFIGMAPS, json=configmap("one"))
    body = http.patch(f"{CONFIGMAPS}/one", json=ops, headers=JSON_PATCH).json()
    assert body.get("data") == expected


def test_json_patch_on_missing_path_is_422(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("one"))
    ops = [{"op": "replace", "path": "/data/zzz", "value": "2"}]
    assert http.patch(f"{CONFIGMAPS}/one", json=ops, headers=JSON_PATCH).status_code == 422


def test_strategic_merge_patch_is_refused_for_custom_resources(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("w"))
    response = http.patch(f"{widgets}/w", json={"spec": {"size": 2}}, headers=SMP)
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"


def test_strategic_merge_patch_on_builtins_merges_finalizers_and_owner_refs(http: httpx.Client) -> None:
    body = configmap("one")
    body["metadata"]["finalizers"] = ["a/one"]  # type: ignore[index]
    http.post(CONFIGMAPS, json=body)
    patch = {"metadata": {"finalizers": ["a/two"]}, "data": {"b": "2"}}
    patched = http.patch(f"{CONFIGMAPS}/one", json=patch, headers=SMP).json()
    assert patched["metadata"]["finalizers"] == ["a/one", "a/two"]
    assert patched["data"] == {"a": "1", "b": "2"}
    patch = {
        "$deleteFromPrimitiveList/metadata": None,
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one"]},
    }
    patched = http.patch(f"{CONFIGMAPS}/one", json=patch, headers=SMP).json()
    assert patched["metadata"]["finalizers"] == ["a/two"]


def test_strategic_merge_patch_replaces_lists_outside_metadata(http: httpx.Client) -> None:
    # Namespace spec.finalizers and CRD spec.versions are atomic in kube's schema: replaced, never merged
    http.post("/api/v1/namespaces", json={"metadata": {"name": "team"}, "spec": {"finalizers": ["a/one"]}})
    patch = {"metadata": {"finalizers": ["b/two"]}, "spec": {"finalizers": ["a/two"]}}
    patched = http.patch("/api/v1/namespaces/team", json=patch, headers=SMP).json()
    assert patched["spec"]["finalizers"] == ["a/two"]
    assert patched["metadata"]["finalizers"] == ["b/two"]


def test_server_side_apply_creates_then_merges(http: httpx.Client, widgets: str) -> None:
    manifest = (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 2\n  color: blue\n"
    )
    created = http.patch(f"{widgets}/w", content=manifest, headers=APPLY, params={"fieldManager": "me"})
    assert created.status_code == 201, created.text
    assert created.json()["spec"] == {"size": 2, "color": "blue"}
    manifest = manifest.replace("  color: blue\n", "")
    updated = http.patch(f"{widgets}/w", content=manifest, headers=APPLY, params={"fieldManager": "me"})
    assert updated.status_code == 200
    assert updated.json()["spec"] == {"size": 2, "color": "red"}
    missing_manager = http.patch(f"{widgets}/w", content=manifest, headers=APPLY)
    assert missing_manager.status_code == 400


def test_dry_run_persists_nothing(http: httpx.Client, widgets: str) -> None:
    dry = http.post(widgets, json=widget("w"), params={"dryRun": "All"})
    assert dry.status_code == 201
    assert dry.json()["spec"]["color"] == "red"  # defaulted like a real create
    assert http.get(f"{widgets}/w").status_code == 404
    created = http.post(widgets, json=widget("w")).json()
    http.patch(f"{widgets}/w", json={"spec": {"size": 9}}, headers=MERGE_PATCH, params={"dryRun": "All"})
    assert http.get(f"{widgets}/w").json() == created
    http.delete(f"{widgets}/w", params={"dryRun": "All"})
    assert http.get(f"{widgets}/w").status_code == 200


def test_dry_run_still_validates(http: httpx.Client, widgets: str) -> None:
    response = http.post(widgets, json=widget("w", 500), params={"dryRun": "All"})
    assert response.status_code == 422


def test_delete_answers_success_status(http: httpx.Client) -> None:
    created = http.post(CONFIGMAPS, json=configmap("one")).json()
    body = http.delete(f"{CONFIGMAPS}/one").json()
    assert body["status"] == "Success"
    assert body["details"] == {"name": "one", "kind": "configmaps", "uid": created["metadata"]["uid"]}
    assert http.delete(f"{CONFIGMAPS}/one").status_code == 404


def test_delete_preconditions(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("one"))
    response = http.request("DELETE", f"{CONFIGMAPS}/one", json={"preconditions": {"resourceVersion": "1"}})
    assert response.status_code == 409
    assert "Precondition failed" in response.json()["message"]


def test_delete_collection_by_label(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json=configmap("one", app="x"))
    http.post(CONFIGMAPS, json=configmap("two", app="y"))
    assert http.delete(CONFIGMAPS, params={"labelSelector": "app=x"}).status_code == 200
    assert [i["metadata"]["name"] for i in http.get(CONFIGMAPS).json()["items"]] == ["two"]


def test_status_subresource_is_kept_apart_from_spec(http: httpx.Client, widgets: str) -> None:
    created = http.post(widgets, json=dict(widget("w"), status={"phase": "Ignored"})).json()
    assert "status" not in created  # a create cannot set status
    main = http.patch(
        f"{widgets}/w", json={"status": {"phase": "Nope"}, "spec": {"size": 4}}, headers=MERGE_PATCH
    )
    assert "status" not in main.json()
    status = http.patch(
        f"{widgets}/w/status",
        json={"status": {"phase": "Ready"}, "spec": {"size": 50}, "metadata": {"labels": {"a": "b"}}},
        headers=MERGE_PATCH,
    ).json()
    assert status["status"] == {"phase": "Ready"}
    assert status["spec"]["size"] == 4
    assert "labels" not in status["metadata"]
    assert status["metadata"]["generation"] == 2  # status writes do not bump generation
    fetched = http.get(f"{widgets}/w/status").json()
    assert fetched["status"] == {"phase": "Ready"}
    put = dict(fetched, status={"phase": "Done"})
    assert http.put(f"{widgets}/w/status", json=put).json()["status"] == {"phase": "Done"}


def test_secret_string_data_is_encoded(http: httpx.Client) -> None:
    body = {"metadata": {"name": "s"}, "stringData": {"key": "hunter2"}}
    created = http.post("/api/v1/namespaces/default/secrets", json=body).json()
    assert created["data"] == {"key": "aHVudGVyMg=="}
    assert created["type"] == "Opaque"
    assert "stringData" not in created
    bad = http.post(
        "/api/v1/namespaces/default/secrets", json={"metadata": {"name": "t"}, "data": {"k": "!!"}}
    )
    assert bad.status_code == 400


def test_both_event_apis_share_storage(http: httpx.Client) -> None:
    core = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Widget", "name": "w", "namespace": "default"},
        "reason": "Created",
        "message": "made it",
        "type": "Normal",
        "source": {"component": "op"},
    }
    http.post("/api/v1/namespaces/default/events", json=core)
    new = http.get("/apis/events.k8s.io/v1/namespaces/default/events/e1").json()
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"]["name"] == "w" and new["note"] == "made it"
    assert new["reportingController"] == "op"
    modern = {
        "metadata": {"name": "e2"},
        "regarding": {"kind": "Widget", "name": "w"},
        "note": "hello",
        "reason": "Said",
        "type": "Normal",
        "action": "Greet",
        "reportingController": "op",
        "reportingInstance": "op-1",
        "eventTime": "2026-01-02T03:04:05.000000Z",
    }
    assert http.post("/apis/events.k8s.io/v1/namespaces/default/events", json=modern).status_code == 201
    old = http.get("/api/v1/namespaces/default/events/e2").json()
    assert old["involvedObject"]["name"] == "w" and old["message"] == "hello"


def test_leases_round_trip(http: httpx.Client) -> None:
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
    lease = {"metadata": {"name": "lock"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    created = http.post(path, json=lease).json()
    created["spec"]["holderIdentity"] = "b"
    assert http.put(f"{path}/lock", json=created).json()["spec"]["holderIdentity"] == "b"


def test_protobuf_bodies_of_other_kinds_are_415(http: httpx.Client) -> None:
    # runtime.Unknown{typeMeta: {apiVersion: "v1", kind: "Pod"}, raw: ""}
    body = b"k8s\x00" + bytes([0x0A, 9, 0x0A, 2]) + b"v1" + bytes([0x12, 3]) + b"Pod"
    response = http.post(
        "/api/v1/namespaces", content=body, headers={"Content-Type": "application/vnd.kubernetes.protobuf"}
    )
    assert response.status_code == 415
    garbage = http.post(
        "/api/v1/namespaces", content=b"nope", headers={"Content-Type": "application/vnd.kubernetes.protobuf"}
    )
    assert garbage.status_code == 415


def test_unknown_fields_are_pruned_also_in_status(http: httpx.Client, widgets: str) -> None:
    created = http.post(widgets, json=widget("w", bogus="x"))
    assert created.status_code == 201
    assert "bogus" not in created.json()["spec"]
    status = http.patch(
        f"{widgets}/w/status", json={"status": {"phase": "Ready", "extra": 1}}, headers=MERGE_PATCH
    ).json()
    assert status["status"] == {"phase": "Ready"}
    strict = http.post(widgets, json=widget("v", bogus="x"), params={"fieldValidation": "Strict"})
    assert strict.status_code == 400
    assert 'unknown field "spec.bogus"' in strict.json()["message"]
    warned = http.post(widgets, json=widget("u", bogus="x"), params={"fieldValidation": "Warn"})
    assert warned.status_code == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"spec.bogus\\""'


def test_transition_rule_sees_the_old_object(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("w", shape="round"))
    response = http.patch(f"{widgets}/w", json={"spec": {"shape": "square"}}, headers=MERGE_PATCH)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["message"].endswith("shape is immutable")


def test_non_structural_crd_is_refused(http: httpx.Client) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {}}}},
                }
            ],
        },
    }
    response = http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    assert response.status_code == 422
    assert response.json()["message"].endswith(
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: "
        "must not be empty for specified object fields"
    )
    # each cause keeps its own reason, as the apiserver's field.ErrorList does
    assert [c["reason"] for c in response.json()["details"]["causes"]] == ["FieldValueRequired"]
