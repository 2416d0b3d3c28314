"""`make demo` end to end (python -m tests.demo), and how it points the examples at the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.demo import point_at_simulator

from .harness import REPO, Simulator, kubectl_path


class FakeSimulator(Simulator):
    def __init__(self) -> None:
        self.url = "http://127.0.0.1:9999"
        self.key = "sim-key"


def test_examples_are_pointed_at_the_simulator_with_its_key() -> None:
    docs = [
        {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": "SpeechEndpoint",
            "metadata": {"name": "a"},
            "spec": {"azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds"}}}},
        },
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"key": "paste"}},
        {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": "SpeechEndpoint",
            "metadata": {"name": "b", "namespace": "other"},
            "spec": {"azure": {"region": "x", "credentials": {"secretRef": {"name": "more", "key": "k"}}}},
        },
    ]
    out = point_at_simulator(docs, FakeSimulator())
    kinds = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in out]
    assert kinds == [
        ("Namespace", None, "demo"),
        ("Namespace", None, "other"),
        ("Secret", "demo", "creds"),
        ("Secret", "other", "more"),
        ("SpeechEndpoint", "demo", "a"),
        ("SpeechEndpoint", "other", "b"),
    ]
    assert out[2]["stringData"] == {"key": "sim-key"}
    assert out[3]["data"] == {"k": "c2ltLWtleQ=="}
    assert out[4]["spec"]["azure"] == {
        "endpoint": "http://127.0.0.1:9999",
        "credentials": {"secretRef": {"name": "creds"}},
    }
    assert docs[0]["spec"]["azure"]["region"] == "westeurope"  # the input is left alone


def test_demo_runs_to_its_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.demo", "--state-dir", str(tmp_path / "state"), "--timeout", "120"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Established" in out
    assert "Demo finished" in out
    # nothing to try once it is torn down: the kubectl hints come only with --keep (make demo KEEP=1)
    assert "export KUBECONFIG" not in out and "make demo KEEP=1" in out
    for path in sorted((REPO / "examples").glob("*.yaml")):
        if "kind: SpeechEndpoint" in path.read_text():
            assert ": Ready after" in out
    assert not list((tmp_path / "state").glob("pids.json"))


def test_kept_demo_serves_kubectl_until_stopped(tmp_path: Path) -> None:
    """`make demo KEEP=1` then `make demo-stop` (with no examples, so it does not wait for deployments)."""
    state = tmp_path / "state"
    (tmp_path / "none").mkdir()
    demo = [sys.executable, "-m", "tests.demo", "--state-dir", str(state)]
    kept = subprocess.run(
        [*demo, "--keep", "--examples", str(tmp_path / "none")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert kept.returncode == 0, kept.stdout[-4000:] + kept.stderr[-2000:]
    kubeconfig = state / "controlplane" / "admin.kubeconfig"
    assert f"export KUBECONFIG={kubeconfig}" in kept.stdout and "make demo-stop" in kept.stdout
    assert "kubectl get azure -A" in kept.stdout and "both kinds" not in kept.stdout  # one kind is built
    pids = json.loads((state / "pids.json").read_text())
    assert sorted(pids) == ["etcd", "kube-apiserver", "kube-controller-manager", "operator", "simulator"]
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(tmp_path / "cache"))
    listed = subprocess.run(
        [kubectl_path(), "get", "crd", "-o", "name"], env=env, capture_output=True, text=True
    )
    assert "speechendpoints.speech.azure-operator.io" in listed.stdout, listed.stderr
    stopped = subprocess.run([*demo, "--stop"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not (state / "pids.json").exists()
    assert not [pid for pid in pids.values() if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return "(zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
