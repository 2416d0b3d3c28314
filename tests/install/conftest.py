"""Fixtures of the install tests: helm with a private home, plain or pointed at the session's cluster."""

from __future__ import annotations

import pytest

from tests.e2e.harness import Kube

from .chart import Helm


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def cluster_helm(helm: Helm, kube: Kube) -> Helm:
    """helm as the admin of the session's cluster."""
    return helm.with_env({"KUBECONFIG": str(kube.kubeconfig)})
