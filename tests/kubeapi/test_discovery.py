"""Discovery and version endpoints (Kubernetes API concepts: "Discovery API")."""

from __future__ import annotations

import httpx

from .conftest import CRDS, Kubectl, widget_crd


def test_version_reports_a_1_32_server(http: httpx.Client) -> None:
    body = http.get("/version").json()
    assert (body["major"], body["minor"]) == ("1", "32")
    assert body["gitVersion"].startswith("v1.32.")


def test_core_group_lists_v1_with_namespaces_and_short_names(http: httpx.Client) -> None:
    assert http.get("/api").json()["versions"] == ["v1"]
    resources = {r["name"]: r for r in http.get("/api/v1").json()["resources"]}
    assert resources["namespaces"]["namespaced"] is False
    assert resources["namespaces"]["shortNames"] == ["ns"]
    assert resources["configmaps"]["shortNames"] == ["cm"]
    assert resources["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    for name in ("secrets", "configmaps", "events"):
        assert resources[name]["namespaced"] is True
        assert "watch" in resources[name]["verbs"]


def test_groups_list_builtin_apis(http: httpx.Client) -> None:
    groups = {g["name"]: g for g in http.get("/apis").json()["groups"]}
    assert {"apiextensions.k8s.io", "coordination.k8s.io", "events.k8s.io"} <= set(groups)
    assert groups["coordination.k8s.io"]["preferredVersion"]["groupVersion"] == "coordination.k8s.io/v1"
    leases = http.get("/apis/coordination.k8s.io/v1").json()
    assert leases["groupVersion"] == "coordination.k8s.io/v1"
    assert [r["name"] for r in leases["resources"]] == ["leases"]


def test_unknown_group_version_or_resource_is_404(http: httpx.Client) -> None:
    assert http.get("/apis/nope.example.com").status_code == 404
    assert http.get("/apis/coordination.k8s.io/v9").status_code == 404
    response = http.get("/api/v1/namespaces/default/nothings")
    assert response.status_code == 404
    assert response.json()["kind"] == "Status"


def test_crd_registration_serves_its_versions_with_names(http: httpx.Client) -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["storage"] = False
    crd["spec"]["versions"].append(dict(crd["spec"]["versions"][0], name="v2", storage=True))
    crd["spec"]["versions"].append(dict(crd["spec"]["versions"][0], name="v0", served=False))
    assert http.post(CRDS, json=crd).status_code == 201
    group = http.get("/apis/example.com").json()
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    resources = {r["name"]: r for r in http.get("/apis/example.com/v1").json()["resources"]}
    assert resources["widgets"]["shortNames"] == ["wd"]
    assert resources["widgets"]["categories"] == ["gadgets"]
    assert resources["widgets"]["singularName"] == "widget"
    assert "widgets/status" in resources
    assert http.get("/apis/example.com/v0").status_code == 404


def test_crd_becomes_established_with_accepted_names(http: httpx.Client) -> None:
    created = http.post(CRDS, json=widget_crd()).json()
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created["status"]["acceptedNames"]["listKind"] == "WidgetList"
    assert created["status"]["storedVersions"] == ["v1"]
    assert "customresourcecleanup.apiextensions.k8s.io" in created["metadata"]["finalizers"]


def test_crd_name_must_be_plural_dot_group(http: httpx.Client) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "gadgets.example.com"
    response = http.post(CRDS, json=crd)
    assert response.status_code == 422
    assert 'must be spec.names.plural+"."+spec.group' in response.json()["message"]


def test_deleting_a_crd_removes_its_objects_and_its_api(http: httpx.Client) -> None:
    http.post(CRDS, json=widget_crd())
    path = "/apis/example.com/v1/namespaces/default/widgets"
    assert http.post(path, json={"metadata": {"name": "a"}, "spec": {"size": 1}}).status_code == 201
    assert http.delete(f"{CRDS}/widgets.example.com").status_code == 200
    assert http.get(f"{CRDS}/widgets.example.com").status_code == 404
    assert http.get(path).status_code == 404
    assert "example.com" not in [g["name"] for g in http.get("/apis").json()["groups"]]


def test_kubectl_api_resources_lists_custom_kinds(http: httpx.Client, kubectl: Kubectl) -> None:
    http.post(CRDS, json=widget_crd())
    out = kubectl("api-resources").stdout
    line = next(line for line in out.splitlines() if line.startswith("widgets "))
    assert line.split() == ["widgets", "wd", "example.com/v1", "true", "Widget"]
    assert "namespaces" in out and "leases" in out


def test_openapi_v2_is_json_only_and_refuses_protobuf_with_406(http: httpx.Client) -> None:
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    refused = http.get("/openapi/v2", headers={"Accept": protobuf})
    assert refused.status_code == 406
    assert refused.json()["reason"] == "NotAcceptable"
    served = http.get("/openapi/v2", headers={"Accept": f"{protobuf}, application/json"})
    assert served.status_code == 200
    assert served.json()["swagger"] == "2.0"
    assert http.get("/openapi/v2").status_code == 200
