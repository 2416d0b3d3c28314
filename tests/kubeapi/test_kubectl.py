"""kubectl 1.32 against the emulated API: apply (client- and server-side), get with printer columns and
short names, wait, delete, CEL errors as a real cluster prints them, protobuf refusal."""

from __future__ import annotations

import copy
import json
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import CRDS, FakeClock, Kubectl, widget, widget_crd

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: {size}
"""


@pytest.fixture
def crd(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(widget_crd()))
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")


def test_apply_creates_then_configures_with_merge_patch(
    crd: None, kubectl: Kubectl, http: httpx.Client
) -> None:
    assert "widget.example.com/w1 created" in kubectl("apply", "-f", "-", input=WIDGET.format(size=3)).stdout
    assert "unchanged" in kubectl("apply", "-f", "-", input=WIDGET.format(size=3)).stdout
    assert "configured" in kubectl("apply", "-f", "-", input=WIDGET.format(size=4)).stdout
    stored = http.get("/apis/example.com/v1/namespaces/default/widgets/w1").json()
    assert stored["spec"] == {"size": 4, "color": "red"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]


def test_get_prints_printer_columns_and_short_names(
    crd: None, kubectl: Kubectl, http: httpx.Client, clock: FakeClock
) -> None:
    kubectl("apply", "-f", "-", input=WIDGET.format(size=3))
    http.patch(
        "/apis/example.com/v1/namespaces/default/widgets/w1/status",
        json={"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    clock.advance(300)
    lines = kubectl("get", "wd").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "READY", "AGE"]
    assert lines[1].split() == ["w1", "3", "True", "5m"]
    wide = kubectl("get", "widgets.example.com", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "COLOR", "READY", "AGE"]
    assert kubectl("get", "gadgets").stdout.splitlines()[1].split()[0] == "w1"  # by category


def test_get_builtins_prints_server_columns(kubectl: Kubectl) -> None:
    lines = kubectl("get", "ns").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    assert ["default", "Active", "0s"] in [line.split() for line in lines[1:]]


def test_cel_rule_rejects_apply_with_its_message(crd: None, kubectl: Kubectl) -> None:
    proc = kubectl("apply", "-f", "-", input=WIDGET.format(size=300), check=False)
    assert proc.returncode != 0
    assert 'The Widget "w1" is invalid: spec: Invalid value: "object": size must be below 100' in proc.stderr


def test_schema_error_is_printed_with_field_path(crd: None, kubectl: Kubectl) -> None:
    proc = kubectl("apply", "-f", "-", input=WIDGET.format(size=0), check=False)
    assert proc.returncode != 0
    assert (
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1" in proc.stderr
    )


def test_unknown_field_is_refused_by_strict_server_side_validation(crd: None, kubectl: Kubectl) -> None:
    manifest = WIDGET.format(size=3) + "  bogus: 1\n"
    proc = kubectl("apply", "-f", "-", input=manifest, check=False)
    assert proc.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in proc.stderr
    warned = kubectl("apply", "--validate=warn", "-f", "-", input=manifest)
    assert 'unknown field "spec.bogus"' in warned.stderr


def test_server_side_apply(crd: None, kubectl: Kubectl) -> None:
    assert (
        "serverside-applied"
        in kubectl("apply", "--server-side", "-f", "-", input=WIDGET.format(size=2)).stdout
    )
    kubectl("apply", "--server-side", "-f", "-", input=WIDGET.format(size=5))
    assert json.loads(kubectl("get", "wd", "w1", "-o", "json").stdout)["spec"]["size"] == 5


def test_wait_for_condition_and_delete(crd: None, kubectl: Kubectl, server_url: str) -> None:
    kubectl("apply", "-f", "-", input=WIDGET.format(size=3))
    waiter = subprocess.Popen(
        ["kubectl", "wait", "--for=condition=Ready", "wd/w1", "--timeout=20s"],
        env=kubectl.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with httpx.Client(base_url=server_url) as client:
        client.patch(
            "/apis/example.com/v1/namespaces/default/widgets/w1/status",
            json={"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert "condition met" in out
    assert 'widget.example.com "w1" deleted' in kubectl("delete", "wd", "w1").stdout
    assert kubectl("get", "wd", "w1", check=False).returncode == 1


def test_delete_with_server_dry_run_keeps_the_object(crd: None, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WIDGET.format(size=3))
    dry = kubectl("delete", "wd", "w1", "--dry-run=server").stdout
    assert "(server dry run)" in dry
    assert kubectl("get", "wd", "w1", check=False).returncode == 0


def test_patch_annotate_label_and_describe(crd: None, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=WIDGET.format(size=3))
    kubectl("patch", "wd", "w1", "--type=merge", "-p", '{"spec":{"size":4}}')
    kubectl("patch", "wd", "w1", "--type=json", "-p", '[{"op":"replace","path":"/spec/size","value":5}]')
    failed = kubectl(
        "patch", "wd", "w1", "--type=json", "-p", '[{"op":"test","path":"/spec/size","value":9}]', check=False
    )
    assert failed.returncode == 1
    assert "The request is invalid" in failed.stderr
    kubectl("annotate", "wd", "w1", "note=hello")
    kubectl("label", "wd", "w1", "tier=gold")
    assert kubectl("get", "wd", "-l", "tier=gold", "-o", "name").stdout.strip() == "widget.example.com/w1"
    stored = json.loads(kubectl("get", "wd", "w1", "-o", "json").stdout)
    assert stored["spec"]["size"] == 5
    assert stored["metadata"]["generation"] == 3  # two spec changes; labels and annotations do not count
    assert stored["metadata"]["annotations"]["note"] == "hello"
    described = kubectl("describe", "wd", "w1").stdout
    assert "Labels:       tier=gold" in described
    assert re.search(r"^\s+Size:\s+5$", described, re.MULTILINE)


def test_apply_configmap_uses_strategic_merge(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: '1'\n  b: '2'\n"
    kubectl("apply", "-f", "-", input=manifest)
    kubectl("apply", "-f", "-", input=manifest.replace("  b: '2'\n", ""))
    assert json.loads(kubectl("get", "cm", "cm", "-o", "json").stdout)["data"] == {"a": "1"}


def test_imperative_creates_send_protobuf_which_is_decoded(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("create", "namespace", "imperative")
    (tmp_path / "blob").write_bytes(b"\xff\x00")
    kubectl(
        "create",
        "configmap",
        "cm",
        "--from-literal=a=b",
        f"--from-file={tmp_path / 'blob'}",
        "-n",
        "imperative",
    )
    kubectl("create", "secret", "generic", "creds", "--from-literal=key=hunter2", "-n", "imperative")
    secret = json.loads(kubectl("get", "secret", "creds", "-n", "imperative", "-o", "json").stdout)
    assert secret["data"] == {"key": "aHVudGVyMg=="} and secret["type"] == "Opaque"
    configmap = json.loads(kubectl("get", "cm", "cm", "-n", "imperative", "-o", "json").stdout)
    assert configmap["data"] == {"a": "b"}
    assert configmap["binaryData"] == {"blob": "/wA="}
    kubectl("label", "namespace", "imperative", "team=a")
    labels = json.loads(kubectl("get", "ns", "imperative", "-o", "json").stdout)["metadata"]["labels"]
    assert labels == {"kubernetes.io/metadata.name": "imperative", "team": "a"}


def test_get_events_table(kubectl: Kubectl, http: httpx.Client) -> None:
    http.post(CRDS, json=widget_crd())
    http.post("/apis/example.com/v1/namespaces/default/widgets", json=widget("w"))
    http.post(
        "/api/v1/namespaces/default/events",
        json={
            "metadata": {"name": "e"},
            "involvedObject": {"kind": "Widget", "name": "w", "namespace": "default"},
            "reason": "Reconciled",
            "message": "all good",
            "type": "Normal",
            "lastTimestamp": "2026-01-02T03:04:05Z",
        },
    )
    lines = kubectl("get", "events").stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split() == ["0s", "Normal", "Reconciled", "widget/w", "all", "good"]
    modern = kubectl("get", "events.events.k8s.io").stdout.splitlines()
    assert modern[1].split() == ["0s", "Normal", "Reconciled", "widget/w", "all", "good"]  # note, as message


def test_explain_reads_the_openapi_v3_schemas(crd: None, kubectl: Kubectl) -> None:
    custom = kubectl("explain", "widgets.spec.size").stdout
    assert "KIND:       Widget" in custom and "FIELD: size <integer>" in custom
    assert "KIND:       ConfigMap" in kubectl("explain", "configmap").stdout


def test_openapi_v3_advertises_server_side_field_validation(crd: None, http: httpx.Client) -> None:
    index = http.get("/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/example.com/v1", "apis/apiextensions.k8s.io/v1"} <= set(index)
    doc = http.get(index["apis/example.com/v1"]["serverRelativeURL"]).json()
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "example.com",
        "version": "v1",
        "kind": "Widget",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    # custom resources take no strategic merge patch, so kubectl sends a JSON merge patch
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]


def test_get_watch_prints_new_rows(crd: None, kubectl: Kubectl, server_url: str) -> None:
    kubectl("apply", "-f", "-", input=WIDGET.format(size=3))
    with subprocess.Popen(
        ["kubectl", "get", "wd", "-w", "--request-timeout=20s"],
        env=kubectl.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as watcher:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in watcher.stdout or []], daemon=True
        )
        reader.start()
        try:
            assert lines.get(timeout=15).split() == ["NAME", "SIZE", "READY", "AGE"]
            assert lines.get(timeout=15).split()[:2] == ["w1", "3"]
            with httpx.Client(base_url=server_url) as client:
                client.post("/apis/example.com/v1/namespaces/default/widgets", json=widget("w2", 7))
            assert lines.get(timeout=15).split()[:2] == ["w2", "7"]
        finally:
            watcher.terminate()
            watcher.wait(10)
            reader.join(10)


def test_reapplying_the_speechendpoint_crd_computes_its_patch_from_openapi_v3(
    kubectl: Kubectl, http: httpx.Client
) -> None:
    manifest = (Path(__file__).parents[2] / "crds" / "speechendpoints.yaml").read_text()
    crd = yaml.safe_load(manifest)
    changed = copy.deepcopy(crd)
    changed["spec"]["names"]["shortNames"] = ["spep"]
    version = changed["spec"]["versions"][0]
    version["additionalPrinterColumns"] = version["additionalPrinterColumns"][:1]
    name = crd["metadata"]["name"]
    for text in (manifest, manifest, yaml.safe_dump(changed)):
        proc = kubectl("apply", "-f", "-", input=text)
        assert proc.stderr == ""  # no "error calculating patch from openapi v3 spec" fallback warning
    stored = http.get(f"{CRDS}/{name}").json()
    assert stored["spec"]["names"]["shortNames"] == ["spep"]
    assert stored["spec"]["versions"][0]["additionalPrinterColumns"] == version["additionalPrinterColumns"]
    assert stored["spec"]["versions"][0]["schema"] == crd["spec"]["versions"][0]["schema"]


BUILTIN_MANIFESTS = {  # kind: (manifest, how the stored object shows the second value)
    "namespace": (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n  labels: {{tier: {value}}}\n",
        "tier: two",
    ),
    "secret": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\nstringData:\n  key: {value}\n",
        "key: dHdv",
    ),
    "configmap": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  key: {value}\n",
        "key: two",
    ),
}


@pytest.mark.parametrize("kind", sorted(BUILTIN_MANIFESTS))
def test_reapplying_builtin_kinds_prints_no_patch_warning(kind: str, kubectl: Kubectl) -> None:
    manifest, stored = BUILTIN_MANIFESTS[kind]
    for value in ("one", "one", "two"):
        proc = kubectl("apply", "-f", "-", input=manifest.format(value=value))
        assert proc.stderr == ""
    assert stored in kubectl("get", kind, "-o", "yaml").stdout
