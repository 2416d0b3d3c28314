"""The Helm chart (helm/azure-speech-operator) and the kustomize base (deploy/) as data, for the tests.

`Helm` runs the helm that `make tools` builds (tests/controlplane/helmbuild) with its own config, cache and
data directories, so the tests never read or write a user's Helm setup. `VALUE_SETS` are the value sets every
test renders: the defaults, namespaced RBAC, every value set, and an existing ServiceAccount without RBAC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane import HELM, ensure_binaries
from tests.processes import REPO, run_tool

CHART = REPO / "helm" / "azure-speech-operator"
DEPLOY = REPO / "deploy"
# what deploy/ holds: the chart rendered with its defaults under these names
RELEASE = NAMESPACE = "azure-speech-operator"
HELM_LABELS = ("app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart")

Values = dict[str, Any]


def helm_path() -> str:
    """The helm `make tools` links into the venv, else the cached build (built now if missing)."""
    venv = Path(sys.executable).with_name("helm")
    if venv.exists():
        return str(venv)
    return str(ensure_binaries(module=HELM)["helm"])


class Helm:
    """helm with a private home; `env` (e.g. a KUBECONFIG) is added to every call."""

    def __init__(self, home: Path, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ, **(env or {}))
        for name in ("CACHE", "CONFIG", "DATA"):
            self.env[f"HELM_{name}_HOME"] = str(home / name.lower())
        self.binary = helm_path()

    def with_env(self, env: Mapping[str, str]) -> Helm:
        other = Helm.__new__(Helm)
        other.env, other.binary = dict(self.env, **env), self.binary
        return other

    def run(
        self, *args: str, values: Values | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """`helm ARGS`, with `values` (if any) as a values file on stdin (`-f -`)."""
        extra = ["-f", "-"] if values is not None else []
        text = yaml.safe_dump(values) if values is not None else None
        return run_tool([self.binary, *args, *extra], input=text, env=self.env, check=check, timeout=timeout)

    def template(
        self,
        values: Values | None = None,
        *,
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        include_crds: bool = False,
    ) -> list[dict[str, Any]]:
        """The chart rendered as objects."""
        args = ["template", release, str(CHART), "--namespace", namespace]
        text = self.run(*args, *(["--include-crds"] if include_crds else []), values=values or {}).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def notes(
        self, values: Values | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
    ) -> str:
        """templates/NOTES.txt as `helm install` prints it. Only an install renders the notes, and it needs a
        cluster: a copy of the chart renders them through `tpl` instead, in a template of its own."""
        with tempfile.TemporaryDirectory() as folder:
            chart = Path(folder) / CHART.name
            shutil.copytree(CHART, chart)
            (chart / "templates" / "NOTES.txt").rename(chart / "files" / "notes.txt")
            probe = chart / "templates" / "notes-probe.yaml"
            probe.write_text('notes: {{ tpl (.Files.Get "files/notes.txt") . | toJson }}\n')
            args = ["template", release, str(chart), "--namespace", namespace]
            args += ["--show-only", "templates/notes-probe.yaml"]
            text = self.run(*args, values=values or {}).stdout
        notes: str = yaml.safe_load(text)["notes"]
        return notes


def find(objects: Iterable[dict[str, Any]], kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]


def one(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = find(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def deploy_objects() -> list[dict[str, Any]]:
    """deploy/ as `kubectl apply -k` reads it: the files its kustomization lists, in order."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    objects = []
    for name in kustomization["resources"]:
        objects += [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]
    return objects


def pod_from(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    """The Pod the Deployment's template makes (what the kubelet would run)."""
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": template["metadata"].get("labels", {})},
        "spec": template["spec"],
    }


def container_args(objects: Iterable[dict[str, Any]]) -> list[str]:
    args: list[str] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


# --- value sets -------------------------------------------------------------------------------------------


def _namespaced(watched: list[str]) -> Values:
    return {"watchNamespaces": watched}


def _everything(watched: list[str]) -> Values:
    return {
        "fullnameOverride": "speech-op",
        "image": {"repository": "registry.example/azure-speech-operator", "digest": "sha256:" + "a" * 64},
        "imagePullSecrets": [{"name": "registry"}],
        "watchNamespaces": watched[:1],
        "logLevel": "debug",
        "logFormat": "json",
        "allowedHosts": ["westeurope.api.cognitive.microsoft.com:443", "*.cognitiveservices.azure.com:443"],
        "azureBudget": {"requests": 40, "window": "20s", "maxConcurrency": 4},
        "maxPassesInFlight": 32,
        "driftInterval": "15m",
        "modelExpiryWindow": "14d",
        "voiceSwapGracePeriod": "2h",
        "workloadIdentityNamespaces": ["team-*", "!team-untrusted"],
        "watchCredentialSecrets": False,
        "extraArgs": ["--deletion-credentials-wait=20m"],
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
        "metrics": {"port": 9090, "service": {"port": 80, "annotations": {"example.com/scrape": "true"}}},
        "serviceMonitor": {"enabled": True, "interval": "1m", "labels": {"release": "prometheus"}},
        "serviceAccount": {"annotations": {"azure.workload.identity/client-id": "00000000-0000-0000-0000-0"}},
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "1Gi"}},
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "operators", "effect": "NoSchedule"}
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}
                            ]
                        }
                    ]
                }
            }
        },
        "podAnnotations": {"example.com/team": "speech"},
        "podLabels": {"azure.workload.identity/use": "true"},
        "argocd": {"healthChecks": {"enabled": True}, "namespace": watched[-1]},
    }


def _existing_service_account(watched: list[str]) -> Values:
    return {"serviceAccount": {"create": False, "name": "speech-operator"}, "rbac": {"create": False}}


# name -> values, given the namespaces a test may watch (they exist on the cluster)
VALUE_SETS: dict[str, Callable[[list[str]], Values]] = {
    "defaults": lambda watched: {},
    "namespaced": _namespaced,
    "everything": _everything,
    "existing-service-account": _existing_service_account,
}


def helm_labels_dropped(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of the object without the labels only Helm sets (release bookkeeping)."""
    copy = yaml.safe_load(yaml.safe_dump(obj))
    labels = copy["metadata"].get("labels") or {}
    for name in HELM_LABELS:
        labels.pop(name, None)
    return dict(copy)
