"""Watches (Kubernetes API concepts: "Efficient detection of changes", "Watch bookmarks", "410 Gone")."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from .conftest import CONFIGMAPS, widget
from .runner import BackgroundApi

MERGE = {"Content-Type": "application/merge-patch+json"}


def read_events(
    http: httpx.Client, path: str, params: dict[str, Any], count: int | None = None
) -> list[dict[str, Any]]:
    """Events of a watch until `count` arrived or the server closed the stream."""
    events: list[dict[str, Any]] = []
    with http.stream("GET", path, params={"watch": "true", **params}, timeout=15) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        for line in response.iter_lines():
            if line:
                events.append(json.loads(line))
            if count is not None and len(events) >= count:
                break
    return events


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def test_watch_without_resource_version_starts_with_current_state(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "a"}})
    http.post(CONFIGMAPS, json={"metadata": {"name": "b"}})
    events = read_events(http, CONFIGMAPS, {"timeoutSeconds": "1"})
    assert summary(events) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_from_resource_version_replays_history_in_order(http: httpx.Client) -> None:
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
    http.post(CONFIGMAPS, json={"metadata": {"name": "a"}})
    http.patch(f"{CONFIGMAPS}/a", json={"data": {"k": "v"}}, headers=MERGE)
    http.post(CONFIGMAPS, json={"metadata": {"name": "b"}})
    http.delete(f"{CONFIGMAPS}/a")
    events = read_events(http, CONFIGMAPS, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)


def test_watch_delivers_live_events(server: BackgroundApi, http: httpx.Client) -> None:
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]

    def write() -> None:
        with httpx.Client(base_url=server.url) as writer:
            writer.post(CONFIGMAPS, json={"metadata": {"name": "live"}})

    timer = threading.Timer(0.2, write)
    timer.start()
    events = read_events(http, CONFIGMAPS, {"resourceVersion": start, "timeoutSeconds": "10"}, count=1)
    timer.join()
    assert summary(events) == [("ADDED", "live")]


def test_timeout_seconds_ends_the_stream(http: httpx.Client) -> None:
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
    assert read_events(http, CONFIGMAPS, {"resourceVersion": start, "timeoutSeconds": "1"}) == []


def test_bookmarks_when_allowed(http: httpx.Client) -> None:
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
    events = read_events(
        http,
        CONFIGMAPS,
        {"resourceVersion": start, "timeoutSeconds": "5", "allowWatchBookmarks": "true"},
        count=1,
    )
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= int(start)


def test_too_old_resource_version_is_410_gone(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "a"}})
    for i in range(120):  # the test server retains 50 events per resource
        http.patch(f"{CONFIGMAPS}/a", json={"data": {"n": str(i)}}, headers=MERGE)
    events = read_events(http, CONFIGMAPS, {"resourceVersion": "2", "timeoutSeconds": "1"})
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith("too old resource version: 2")


def test_label_selected_watch_sees_objects_enter_and_leave(http: httpx.Client) -> None:
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
    http.post(CONFIGMAPS, json={"metadata": {"name": "a"}})
    http.patch(f"{CONFIGMAPS}/a", json={"metadata": {"labels": {"app": "x"}}}, headers=MERGE)
    http.patch(f"{CONFIGMAPS}/a", json={"data": {"k": "v"}}, headers=MERGE)
    http.patch(f"{CONFIGMAPS}/a", json={"metadata": {"labels": {"app": "y"}}}, headers=MERGE)
    events = read_events(
        http, CONFIGMAPS, {"resourceVersion": start, "timeoutSeconds": "1", "labelSelector": "app=x"}
    )
    assert summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_single_object_watch_by_field_selector(http: httpx.Client, widgets: str) -> None:
    http.post(widgets, json=widget("one"))
    http.post(widgets, json=widget("two"))
    events = read_events(http, widgets, {"fieldSelector": "metadata.name=two", "timeoutSeconds": "1"})
    assert summary(events) == [("ADDED", "two")]


def test_namespaced_watch_ignores_other_namespaces(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces", json={"metadata": {"name": "other"}})
    start = http.get(CONFIGMAPS).json()["metadata"]["resourceVersion"]
    http.post("/api/v1/namespaces/other/configmaps", json={"metadata": {"name": "elsewhere"}})
    http.post(CONFIGMAPS, json={"metadata": {"name": "here"}})
    events = read_events(http, CONFIGMAPS, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert summary(events) == [("ADDED", "here")]
    everywhere = read_events(http, "/api/v1/configmaps", {"resourceVersion": start, "timeoutSeconds": "1"})
    assert summary(everywhere) == [("ADDED", "elsewhere"), ("ADDED", "here")]


def test_send_initial_events_ends_with_a_marked_bookmark(http: httpx.Client) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "a"}})
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }
    events = read_events(http, CONFIGMAPS, {**params, "timeoutSeconds": "1"}, count=2)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_deletion_of_finalized_object_is_modified_then_deleted(http: httpx.Client, widgets: str) -> None:
    body = widget("w")
    body["metadata"]["finalizers"] = ["example.com/f"]
    start = http.post(widgets, json=body).json()["metadata"]["resourceVersion"]
    http.delete(f"{widgets}/w")
    http.patch(f"{widgets}/w", json={"metadata": {"finalizers": None}}, headers=MERGE)
    events = read_events(http, widgets, {"resourceVersion": start, "timeoutSeconds": "1"})
    assert summary(events) == [("MODIFIED", "w"), ("DELETED", "w")]
    assert events[0]["object"]["metadata"]["deletionTimestamp"]
