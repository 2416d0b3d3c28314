"""Fixtures shared by every test folder: the Kubernetes cluster (one per pytest session).

`kube` is a real control plane (tests/controlplane: etcd, kube-apiserver with RBAC, kube-controller-manager)
started once per session, or the cluster `E2E_KUBECONFIG` names. The CRDs in crds/ are applied and
Established before a test gets it. See docs/testing.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kube


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def kube(e2e_workdir: Path) -> Iterator[Kube]:
    real = os.environ.get("E2E_KUBECONFIG")
    cluster = Kube(e2e_workdir, Path(real) if real else None).start()
    try:
        cluster.apply_crds()
        yield cluster
    finally:
        cluster.stop()
