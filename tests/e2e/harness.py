"""End-to-end harness: the Kubernetes API (a local control plane, or a real cluster), the Azure simulator and
the operator, each started as a user starts it, with their logs kept in files.

Usable without pytest (`tests/demo.py` drives the same classes); `tests/e2e/conftest.py` turns them into
fixtures. See docs/testing.md.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.controlplane import ControlPlane
from tests.processes import REPO, HarnessError, Process, free_port, run_tool, wait_for

# the ServiceAccount deploy/ creates for the operator
OPERATOR_NAMESPACE = "azure-speech-operator"
OPERATOR_SERVICE_ACCOUNT = "azure-speech-operator"

__all__ = ["HarnessError", "Kube", "Operator", "Process", "Simulator", "free_port", "unique_name", "wait_for"]


# --- Kubernetes -------------------------------------------------------------------------------------------


class Kube:
    """The cluster the tests talk to: a real control plane started here (`tests.controlplane`), or the
    cluster in `E2E_KUBECONFIG`.

    `kubectl(...)` runs kubectl as the admin of that cluster; `get`/`list`/`wait_condition` read through the
    kubernetes client's dynamic API. `operator_kubeconfig()` installs deploy/'s RBAC (the operator's
    ServiceAccount and ClusterRole) and returns a kubeconfig with that ServiceAccount's token: the operator
    runs with the RBAC the project ships, not as an admin.
    """

    def __init__(self, workdir: Path, kubeconfig: Path | None = None) -> None:
        self.workdir = workdir
        self.is_local = kubeconfig is None
        self.control_plane: ControlPlane | None = None
        if kubeconfig is None:
            self.control_plane = ControlPlane(workdir / "controlplane", progress=_progress)
            self.kubeconfig = self.control_plane.admin_kubeconfig
        else:
            self.kubeconfig = kubeconfig
        self.env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), KUBECACHEDIR=str(workdir / "kube-cache"))
        self._dynamic: Any = None
        self._operator_kubeconfig: Path | None = None
        self.url = ""
        self.namespaces: set[str] = set()  # created here, so a real cluster can be left clean

    def start(self) -> Kube:
        if self.control_plane is not None:
            self.control_plane.start()
        self.url = _current_server(yaml.safe_load(self.kubeconfig.read_text()))
        return self

    def stop(self) -> None:
        if self.control_plane is not None:
            self.control_plane.stop()

    def logs(self, since: int = 0) -> str:
        """The kube-apiserver's log (a local control plane only)."""
        process = self._apiserver()
        return process.log_text(since) if process else ""

    def log_size(self) -> int:
        process = self._apiserver()
        return process.log_size() if process else 0

    def processes(self) -> list[Process]:
        """The control plane's processes (none for a cluster given by kubeconfig)."""
        return list(self.control_plane.processes) if self.control_plane else []

    def _apiserver(self) -> Process | None:
        if self.control_plane is None:
            return None
        return next((p for p in self.control_plane.processes if p.name == "kube-apiserver"), None)

    # the operator's identity ------------------------------------------------------------------------------

    def operator_kubeconfig(self, *, refresh: bool = False) -> Path:
        """deploy/'s namespace and RBAC applied, then a kubeconfig for the operator's ServiceAccount with a
        token from the TokenRequest API (valid a day), on the same server and CA as the admin kubeconfig."""
        if self._operator_kubeconfig is not None and not refresh:
            return self._operator_kubeconfig
        # the identity only: deploy/'s Deployment would start a second operator wherever its image can run
        self.kubectl(
            "apply", "-f", str(REPO / "deploy" / "namespace.yaml"), "-f", str(REPO / "deploy" / "rbac.yaml")
        )
        token = self.kubectl(
            "create", "token", OPERATOR_SERVICE_ACCOUNT, "-n", OPERATOR_NAMESPACE, "--duration=24h"
        ).stdout.strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        cluster = _current_cluster(admin)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": cluster}],
            "users": [{"name": OPERATOR_SERVICE_ACCOUNT, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": OPERATOR_SERVICE_ACCOUNT}}],
            "current-context": "e2e",
        }
        path = self.workdir / "operator.kubeconfig"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        self._operator_kubeconfig = path
        return path

    # kubectl ------------------------------------------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return run_tool([kubectl_path(), *args], input=input, env=self.env, check=check, timeout=timeout)

    def apply(
        self, manifest: str | dict[str, Any] | list[dict[str, Any]], namespace: str | None = None
    ) -> str:
        """`kubectl apply -f -` of YAML text, an object or a list of objects; returns kubectl's output."""
        if isinstance(manifest, dict):
            text = yaml.safe_dump(manifest, sort_keys=False)
        elif isinstance(manifest, list):
            text = yaml.safe_dump_all(manifest, sort_keys=False)
        else:
            text = manifest
        args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
        return self.kubectl(*args, input=text).stdout

    def apply_files(self, *paths: Path | str) -> str:
        args = ["apply"]
        for path in paths:
            args += ["-f", str(path)]
        return self.kubectl(*args).stdout

    # reads through the kubernetes client -----------------------------------------------------------------

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes import config, dynamic

            self._dynamic = dynamic.DynamicClient(
                config.new_client_from_config(config_file=str(self.kubeconfig))
            )
        return self._dynamic

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        try:
            return self.dynamic.resources.get(kind=kind, api_version=api_version)
        except ResourceNotUniqueError:
            return self.dynamic.resources.get(kind=kind, api_version=api_version or "v1")
        except ResourceNotFoundError:
            self.dynamic.resources.invalidate_cache()
            return self.dynamic.resources.get(kind=kind, api_version=api_version)

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> dict[str, Any] | None:
        """The object as a dict, or None when it does not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            obj = self.resource(kind, api_version).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        result: dict[str, Any] = obj.to_dict()
        return result

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        api_version: str | None = None,
    ) -> list[dict[str, Any]]:
        listed = self.resource(kind, api_version).get(namespace=namespace, label_selector=label_selector)
        return [item.to_dict() for item in listed.items]

    def delete(
        self, kind: str, name: str, namespace: str | None = None, *, wait: bool = True, timeout: float = 60.0
    ) -> None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            self.resource(kind).delete(name=name, namespace=namespace)
        except NotFoundError:
            return
        if wait:
            wait_for(
                lambda: self.get(kind, name, namespace) is None,
                timeout,
                f"{kind} {namespace}/{name} to be gone",
            )

    def events(self, namespace: str, *, involved_name: str | None = None) -> builtins.list[dict[str, Any]]:
        selector = f"involvedObject.name={involved_name}" if involved_name else ""
        listed = self.resource("Event", "v1").get(namespace=namespace, field_selector=selector)
        return [item.to_dict() for item in listed.items]

    def condition(self, obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
        for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
            if condition.get("type") == type_:
                return dict(condition)
        return None

    def wait_condition(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        type_: str,
        status: str = "True",
        reason: str | None = None,
        timeout: float = 60.0,
        *,
        current: bool = True,
    ) -> dict[str, Any]:
        """Waits until the object's condition `type_` has `status` (and `reason`); with `current`, also
        until the condition's observedGeneration (when set) is the object's generation. Returns the object."""

        def check() -> dict[str, Any] | None:
            obj = self.get(kind, name, namespace)
            condition = self.condition(obj, type_)
            if obj is None or condition is None or condition.get("status") != status:
                return None
            if reason is not None and condition.get("reason") != reason:
                return None
            observed = condition.get("observedGeneration")
            if current and observed is not None and observed != obj["metadata"].get("generation"):
                return None
            return obj

        what = f"{kind} {namespace}/{name} condition {type_}={status}" + (
            f" reason={reason}" if reason else ""
        )
        try:
            return wait_for(check, timeout, what, interval=0.25)
        except AssertionError as exc:
            obj = self.get(kind, name, namespace)
            status_text = json.dumps((obj or {}).get("status"), indent=1)
            raise AssertionError(f"{exc}\nlast status: {status_text}") from None

    # namespaces and CRDs ------------------------------------------------------------------------------

    def create_namespace(self, name: str) -> str:
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.namespaces.add(name)
        return name

    def delete_namespace(self, name: str, *, wait: bool = False, timeout: float = 120.0) -> None:
        self.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
        if wait:
            wait_for(lambda: self.get("Namespace", name) is None, timeout, f"namespace {name} to be gone")

    def wait_namespaces_gone(self, timeout: float = 120.0) -> builtins.list[str]:
        """Deletes the namespaces created here and waits until they are gone; returns those still there.

        Against a real cluster this must run while the operator still runs: its finalizers hold the custom
        objects, and with them the namespaces, until it releases them."""
        for name in sorted(self.namespaces):
            self.delete_namespace(name)
        with contextlib.suppress(AssertionError):  # the caller reports what is left
            wait_for(
                lambda: not [n for n in self.namespaces if self.get("Namespace", n) is not None],
                timeout,
                "the test namespaces to be gone",
                interval=1.0,
            )
        self.namespaces = {n for n in self.namespaces if self.get("Namespace", n) is not None}
        return sorted(self.namespaces)

    @contextlib.contextmanager
    def namespace_watch_granted(self) -> Iterator[None]:
        """What an operator run with --namespace needs besides deploy/'s ClusterRole (kopf lists and watches
        namespaces then; docs/install.md): granted to its ServiceAccount for the block, taken back after."""
        name = "azure-speech-operator-namespace-watch"
        rbac = "rbac.authorization.k8s.io/v1"
        account = OPERATOR_SERVICE_ACCOUNT
        subject = {"kind": "ServiceAccount", "name": account, "namespace": OPERATOR_NAMESPACE}
        self.apply(
            [
                {
                    "apiVersion": rbac,
                    "kind": "ClusterRole",
                    "metadata": {"name": name},
                    "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]}],
                },
                {
                    "apiVersion": rbac,
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": [subject],
                },
            ]
        )
        try:
            yield
        finally:
            self.kubectl("delete", f"clusterrolebinding/{name}", f"clusterrole/{name}", check=False)

    def apply_crds(self, directory: Path = REPO / "crds", timeout: float = 30.0) -> builtins.list[str]:
        """Applies every CRD in `directory` and waits until each is Established; returns their names."""
        files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
        if not files:
            return []
        names = []
        for path in files:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    names.append(doc["metadata"]["name"])
        self.apply_files(*files)
        if names:
            self.kubectl(
                "wait",
                "--for=condition=Established",
                *[f"crd/{n}" for n in names],
                f"--timeout={int(timeout)}s",
                timeout=timeout + 10,
            )
        self._dynamic = None  # new kinds: rediscover
        return names


def kubectl_path() -> str:
    """The kubectl `make install` links into the venv (the control plane's version), else the one on PATH."""
    venv = Path(sys.executable).with_name("kubectl")
    if venv.exists():
        return str(venv)
    found = shutil.which("kubectl")
    if found is None:
        raise HarnessError("kubectl is not on PATH: `make install` builds one and links it into .venv/bin")
    return found


def _progress(line: str) -> None:
    """Control-plane progress (a first build takes minutes): to the terminal even under pytest's capture."""
    print(line, file=sys.__stderr__, flush=True)


def _current_cluster(config: dict[str, Any]) -> dict[str, Any]:
    """The cluster entry (server, CA) of the kubeconfig's current context, as kubectl reads it."""
    contexts = {c["name"]: c.get("context") or {} for c in config.get("contexts") or []}
    clusters = {c["name"]: c.get("cluster") or {} for c in config.get("clusters") or []}
    context = contexts.get(config.get("current-context", ""))
    if context is None:
        raise HarnessError(f"the kubeconfig has no current context {config.get('current-context')!r}")
    cluster: dict[str, Any] = clusters.get(context.get("cluster", ""), {})
    if not cluster.get("server"):
        raise HarnessError(f"the kubeconfig's cluster {context.get('cluster')!r} has no server")
    return cluster


def _current_server(config: dict[str, Any]) -> str:
    server: str = _current_cluster(config)["server"]
    return server


# --- the Azure simulator ------------------------------------------------------------------------------------


class Simulator:
    """`azure-speech-operator simulate-azure` as a subprocess, with its control API under /_sim/."""

    def __init__(
        self,
        workdir: Path,
        *,
        keys: Sequence[str] = ("e2e-key-1", "e2e-key-2"),
        time_scale: float = 0.01,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.keys = list(keys)
        self.key = self.keys[0]
        self.workdir = workdir
        argv = [
            *_operator_command(),
            "simulate-azure",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--keys",
            ",".join(self.keys),
            "--time-scale",
            str(time_scale),
            "--log-requests",
            *extra_args,
        ]
        self.process = Process("simulator", argv, workdir / "simulator.log")
        self.url = ""
        self.http: httpx.Client = httpx.Client(timeout=10)

    def start(self) -> Simulator:
        self.process.start()
        self.url = self.process.wait_for_line(r"simulate-azure listening on (\S+)").group(1)
        self.http = httpx.Client(base_url=self.url, timeout=10)
        return self

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    def logs(self, since: int = 0) -> str:
        return self.process.log_text(since)

    def log_size(self) -> int:
        return self.process.log_size()

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sim/{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests(self) -> Any:
        """The simulator's request log (GET /_sim/requests)."""
        return self._control("GET", "requests")

    def reset_requests(self) -> None:
        self._control("POST", "requests/reset")

    def add_fault(self, rule: dict[str, Any] | None = None, **fields: Any) -> Any:
        """POST /_sim/faults with one rule (a dict, or keyword fields); see docs/simulator.md for fields."""
        return self._control("POST", "faults", {**(rule or {}), **fields})

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def configure(self, **fields: Any) -> Any:
        """PATCH /_sim/config (e.g. time_scale, deploy_failure_rate; see docs/simulator.md)."""
        return self._control("PATCH", "config", fields)

    def endpoints(self) -> Any:
        return self._control("GET", "endpoints")

    def credentials_secret(
        self, namespace: str, name: str = "speech-credentials", key: str = "key"
    ) -> dict[str, Any]:
        """A Secret manifest holding this simulator's key, for `spec.azure.credentials.secretRef`."""
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": {key: base64.b64encode(self.key.encode()).decode()},
        }


# --- the operator -------------------------------------------------------------------------------------------


def _operator_command() -> list[str]:
    script = Path(sys.executable).with_name("azure-speech-operator")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "azure_speech_operator"]


class Operator:
    """`azure-speech-operator run` as a user starts it: a subprocess with KUBECONFIG set, allowed to call the
    simulator over plain http. Restartable; `kill()` is a crash (SIGKILL)."""

    def __init__(
        self,
        workdir: Path,
        kubeconfig: Path,
        *,
        namespaces: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.kubeconfig = kubeconfig
        self.namespaces = list(namespaces)
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self._defaults = (list(self.extra_args), dict(self.extra_env))
        self.metrics_port = 0
        self.process: Process | None = None
        self.log_path = workdir / "operator.log"
        self.starts = 0

    def argv(self) -> list[str]:
        args = [
            *_operator_command(),
            "run",
            "--allowed-hosts",
            "127.0.0.1,localhost",
            "--allow-http",
            "--metrics-address",
            "127.0.0.1",
            "--metrics-port",
            str(self.metrics_port),
            # The simulator deploys in seconds (time scale 0.01): poll like that, not like real Azure.
            "--deploy-poll-interval",
            "2s",
        ]
        for namespace in self.namespaces:
            args += ["--namespace", namespace]
        return args + self.extra_args

    def start(
        self,
        *,
        extra_args: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Operator:
        """Starts the operator (optionally with other flags or environment) and waits until it is ready:
        /readyz answers 200 once kopf watches its resources."""
        if extra_args is not None:
            self.extra_args = list(extra_args)
        if env is not None:
            self.extra_env = dict(env)
        self.metrics_port = free_port()
        environment = dict(
            os.environ, KUBECONFIG=str(self.kubeconfig), PYTHONUNBUFFERED="1", **self.extra_env
        )
        self.process = Process("operator", self.argv(), self.log_path, environment)
        since = self.process.log_size()
        self.process.start()
        self.starts += 1
        url = f"http://127.0.0.1:{self.metrics_port}/readyz"

        def ready() -> bool:
            assert self.process is not None
            if not self.process.running:
                raise HarnessError(f"operator exited:\n{self.process.log_text(since)[-4000:]}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(ready, timeout, "the operator's /readyz", interval=0.2)
        except (AssertionError, HarnessError) as exc:
            self.stop()
            raise HarnessError(f"{exc}\n{self.logs(since)[-4000:]}") from None
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait (a graceful stop); returns the exit code."""
        return self.process.stop(timeout) if self.process else None

    def kill(self) -> None:
        """SIGKILL: the operator dies mid-work, as in a node crash."""
        if self.process is not None:
            self.process.kill()

    def restart(self, **kwargs: Any) -> Operator:
        self.stop()
        return self.start(**kwargs)

    def ensure_running(self) -> Operator:
        return self if self.running else self.start()

    def ensure_defaults(self) -> Operator:
        """Running, with the flags and environment it was constructed with (a test may have changed them)."""
        args, env = self._defaults
        if self.running and (self.extra_args, self.extra_env) == (args, env):
            return self
        self.stop()
        return self.start(extra_args=args, env=env)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def logs(self, since: int = 0) -> str:
        return self.process.log_text(since) if self.process else ""

    def log_size(self) -> int:
        return self.process.log_size() if self.process else 0


def unique_name(prefix: str, max_length: int = 40) -> str:
    """A DNS-label name: the prefix made safe, plus a random suffix."""
    base = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[: max_length - 7].strip("-") or "t"
    return f"{base}-{uuid.uuid4().hex[:6]}"
