"""`azure-speech-operator run` against the session's control plane, under the ServiceAccount and RBAC of
deploy/: it starts, says so, serves /readyz, /healthz and /metrics, stops on SIGTERM; bad settings and a
busy port fail clearly."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import REPO, Kube, unique_name, wait_for
from tests.unit.runtime_fakes import free_port

STARTED = "operator started"


@pytest.fixture
def kubeconfig(kube: Kube) -> Path:
    """The operator's own identity: the ServiceAccount and least-privilege ClusterRole of deploy/."""
    return kube.operator_kubeconfig()


class Operator:
    """The operator as a child process; its log lines are collected by a reader thread."""

    def __init__(self, kubeconfig: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environ = {**os.environ, "KUBECONFIG": str(kubeconfig), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "azure_speech_operator", "run", *args],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged; output:\n{''.join(self.output)}")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code


def test_starts_serves_probes_and_stops_on_sigterm(kubeconfig: Path) -> None:
    port = free_port()
    operator = Operator(
        kubeconfig, "--allowed-hosts", "127.0.0.1,localhost", "--allow-http", "--metrics-port", str(port)
    )
    try:
        line = operator.wait_for(STARTED)
        assert "all namespaces" in line
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert httpx.get(f"{base}/healthz").status_code == 200
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "azure_speech_operator_azure_requests_total" in metrics.text
        assert "azure_speech_operator_resources" in metrics.text
    finally:
        code = operator.stop()
    assert code == 0, "".join(operator.output)
    assert any("operator stopped" in line for line in operator.output)


def test_settings_from_environment_and_namespaces(
    kube: Kube, kubeconfig: Path, cluster_namespace: str
) -> None:
    with kube.namespace_watch_granted():  # kopf lists namespaces whenever --namespace is given
        operator = Operator(
            kubeconfig,
            "--namespace",
            cluster_namespace,
            env={"AZURE_SPEECH_OPERATOR_METRICS_PORT": "0", "AZURE_SPEECH_OPERATOR_LOG_FORMAT": "text"},
        )
        try:
            assert f"namespaces {cluster_namespace}" in operator.wait_for(STARTED)
        finally:
            assert operator.stop() == 0


def test_bad_setting_exits_2_naming_it(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", "run", "--drift-interval", "often"],
        env={**os.environ, "KUBECONFIG": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--drift-interval" in proc.stderr


def test_missing_kubeconfig_exits_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    proc = subprocess.run(
        [sys.executable, "-m", "azure_speech_operator", "run", "--metrics-port", "0"],
        env={**env, "KUBECONFIG": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Kubernetes configuration" in proc.stderr + proc.stdout


def test_busy_metrics_port_exits_1_naming_the_flag(kubeconfig: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        operator = Operator(kubeconfig, "--metrics-port", str(port), "--metrics-address", "127.0.0.1")
        code = operator.proc.wait(timeout=60)
        operator.stop()
    assert code == 1
    expected = (
        f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}: Address already in use (choose another "
        "port, or 0 to turn the server off)"
    )  # as docs/operations.md shows it
    assert any(expected in line for line in operator.output), "".join(operator.output)


PEERING_CRDS = REPO / "deploy" / "peering" / "crds.yaml"  # kopf's, as the operator's installation ships them


def test_peering_flag_joins_the_named_peering(kube: Kube) -> None:
    # kopf's peering CRD is cluster-scoped and shared; the peering object is this test's own.
    kube.apply_files(PEERING_CRDS)
    kube.kubectl("wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev")
    name = unique_name("speech")
    kube.apply({"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}})
    # peering is opt-in and needs RBAC that deploy/ does not grant (docs/operations.md): the admin runs it
    operator = Operator(kube.kubeconfig, "--peering", name, "--metrics-port", "0")
    try:
        operator.wait_for(STARTED)

        def announced() -> object:
            peering = kube.get("ClusterKopfPeering", name, api_version="kopf.dev/v1") or {}
            return peering.get("status")

        wait_for(announced, 30, "the operator to announce itself in the peering object")
    finally:
        assert operator.stop() == 0
        kube.delete("ClusterKopfPeering", name, wait=False)
