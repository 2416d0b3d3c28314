"""A real Kubernetes control plane for the e2e tests, the demo and the benchmarks: etcd, kube-apiserver and
kube-controller-manager built from their Go modules (`gobuild/`), cached outside the repo, started in a temp
dir on free loopback ports. `python -m tests.controlplane --kubeconfig PATH` runs one in the foreground."""

from .build import HELM, BuildError, ensure_binaries, helm_version, kubernetes_version
from .cluster import ControlPlane, kubeconfig, write_yaml

__all__ = [
    "HELM",
    "BuildError",
    "ControlPlane",
    "ensure_binaries",
    "helm_version",
    "kubeconfig",
    "kubernetes_version",
    "write_yaml",
]
