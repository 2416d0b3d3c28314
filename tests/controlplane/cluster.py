"""A real, throw-away Kubernetes control plane: etcd, kube-apiserver (RBAC enforced) and
kube-controller-manager (namespace deletion, garbage collection, service accounts), each a child process
of ours on free loopback ports, with its data, certificates and logs in one directory.

No kubelet and no scheduler: nothing here runs pods. What the operator needs from a cluster is all served.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.processes import HarnessError, Process, free_port, wait_for

from .build import ensure_binaries, kubernetes_version
from .pki import Pki, write_pki

SERVICE_CIDR = "10.0.0.0/24"
ISSUER = "https://kubernetes.default.svc"


def kubeconfig(server: str, ca_cert: bytes, user: dict[str, Any], name: str = "e2e") -> dict[str, Any]:
    """A kubeconfig with one cluster, one user and one context, all named `name`."""
    b64 = base64.b64encode(ca_cert).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": b64}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    path.chmod(0o600)  # credentials inside
    return path


class ControlPlane:
    """`start()` runs etcd, then kube-apiserver until `/readyz` answers, then kube-controller-manager;
    `admin_kubeconfig` then names a kubeconfig whose user is in `system:masters`. `stop()` ends all three
    and, unless `keep` was asked, removes the directory."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        keep: bool = False,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="controlplane-")) if workdir is None else workdir
        self.keep = keep
        self.progress = progress
        self.processes: list[Process] = []
        self.url = ""
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.pki: Pki | None = None

    @property
    def version(self) -> str:
        return kubernetes_version()

    def start(self, timeout: float = 90.0) -> ControlPlane:
        binaries = ensure_binaries(self.progress)
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            self.pki = write_pki(self.workdir / "pki")
            etcd_url = self._start_etcd(binaries["etcd"], timeout)
            self._start_apiserver(binaries["kube-apiserver"], etcd_url, timeout)
            self._start_controller_manager(binaries["kube-controller-manager"])
        except BaseException:
            self.stop()
            raise
        self.progress(
            f"control plane {self.version} ready at {self.url} in {time.monotonic() - started:.1f} s"
        )
        return self

    def _process(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log")
        self.processes.append(process)
        process.start()
        return process

    def _start_etcd(self, binary: Path, timeout: float) -> str:
        client, peer = free_port(), free_port()
        client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        process = self._process(
            "etcd",
            [
                str(binary),
                "--name=e2e",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=e2e={peer_url}",
                "--listen-metrics-urls=",
                # a test cluster: losing the last writes in a host crash is fine; fsync on each write is slow
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            if not process.running:
                raise HarnessError(f"etcd exited:\n{process.log_text()[-4000:]}")
            try:
                return httpx.get(f"{client_url}/health", timeout=2).json().get("health") == "true"
            except (httpx.HTTPError, ValueError):
                return False

        wait_for(healthy, timeout, "etcd /health", interval=0.1)
        return client_url

    def _start_apiserver(self, binary: Path, etcd_url: str, timeout: float) -> None:
        assert self.pki is not None
        pki = self.pki
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        process = self._process(
            "kube-apiserver",
            [
                str(binary),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # No node can reach a loopback endpoint anyway; without this the apiserver logs an error
                # every 10 s trying to publish 127.0.0.1 as the `kubernetes` Service's endpoint.
                "--endpoint-reconciler-type=none",
                "--v=0",
            ],
        )
        self._wait_apiserver_ready(process, timeout)
        admin = {
            "client-certificate-data": base64.b64encode(pki.admin_cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(pki.admin_key.read_bytes()).decode(),
        }
        write_yaml(self.admin_kubeconfig, kubeconfig(self.url, pki.ca_cert.read_bytes(), admin))

    def _wait_apiserver_ready(self, process: Process, timeout: float, since: int = 0) -> None:
        """Until `/readyz` answers 200; fails with the log (from `since`) if the process exits."""
        assert self.pki is not None
        tls = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        tls.load_cert_chain(self.pki.admin_cert, self.pki.admin_key)
        client = httpx.Client(verify=tls, timeout=3)

        def ready() -> bool:
            if not process.running:
                raise HarnessError(f"kube-apiserver exited:\n{process.log_text(since)[-4000:]}")
            try:
                return client.get(f"{self.url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        with client:
            wait_for(ready, timeout, "kube-apiserver /readyz", interval=0.2)

    def _apiserver(self) -> Process:
        found = next((p for p in self.processes if p.name == "kube-apiserver"), None)
        if found is None:
            raise HarnessError("the control plane is not started")
        return found

    def stop_apiserver(self, grace: float = 30.0) -> None:
        """Stops kube-apiserver alone, as a restart does: SIGTERM, then SIGKILL after `grace` seconds (it
        stops listening at once, but holds open watches until it is killed). etcd and the controller manager
        keep running; every client of the API sees it go away. `start_apiserver` brings it back."""
        self._apiserver().stop(grace)

    def start_apiserver(self, timeout: float = 60.0) -> None:
        """Starts the stopped kube-apiserver again with the same flags: the same port, certificates and etcd
        data, so every kubeconfig and client stays valid. Returns once `/readyz` answers."""
        process = self._apiserver()
        since = process.log_size()
        if not process.running:
            process.start()
        self._wait_apiserver_ready(process, timeout, since)

    def _start_controller_manager(self, binary: Path) -> None:
        assert self.pki is not None
        self._process(
            "kube-controller-manager",
            [
                str(binary),
                f"--kubeconfig={self.admin_kubeconfig}",
                f"--authentication-kubeconfig={self.admin_kubeconfig}",
                f"--authorization-kubeconfig={self.admin_kubeconfig}",
                # its own /healthz is not used; without this it looks for a request-header CA nobody set
                "--authentication-skip-lookup=true",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.workdir / 'controller-manager-certs'}",
                "--leader-elect=false",
                # What a cluster without nodes needs: namespaces end, owned objects are collected, every
                # namespace gets its `default` ServiceAccount, and the cluster CA reaches every namespace.
                "--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,"
                "root-ca-certificate-publisher-controller",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.pki.service_account_key}",
                "--use-service-account-credentials=false",
                "--v=0",
            ],
        )

    def logs(self) -> dict[str, str]:
        return {p.name: p.log_text() for p in self.processes}

    def stop(self) -> None:
        for process in reversed(self.processes):  # the apiserver before etcd, so it does not log etcd errors
            process.stop(timeout=10)
        self.processes.clear()
        if self.own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
