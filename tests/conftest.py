"""Fixtures shared by every test folder: the Kubernetes cluster (one per pytest session).

`kube` is a real control plane (tests/controlplane: etcd, kube-apiserver with RBAC, kube-controller-manager)
started once per session, or the cluster `E2E_KUBECONFIG` names. The CRDs in crds/ are applied and
Established before a test gets it. Tests share it, so each works in its own namespace (`cluster_namespace`)
and names any cluster-scoped object it creates uniquely. See docs/testing.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure_speech_operator.kube import KubeApi, load_configuration

from tests.e2e.harness import Kube, unique_name

E2E = Path(__file__).parent / "e2e"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests run last. Their operator (session-scoped, watching all namespaces) stays up until the
    session ends, and on the shared cluster it would reconcile every other test's SpeechEndpoints: write their
    status, add its finalizer and kopf's bookkeeping, even create Azure endpoints for them."""
    items.sort(key=lambda item: E2E in item.path.parents)  # stable: the order within each part stays


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


@pytest.fixture
def cluster_namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace on the session's cluster, named after the test; deleted afterwards without waiting
    (the namespace controller empties it in the background)."""
    name = kube.create_namespace(unique_name(request.node.name.removeprefix("test_")))
    yield name
    kube.delete_namespace(name)


@pytest.fixture
async def kube_api(kube: Kube) -> AsyncIterator[KubeApi]:
    """The operator's own Kubernetes client (azure_speech_operator.kube) as the cluster's admin."""
    client = KubeApi(load_configuration(str(kube.kubeconfig)))
    try:
        yield client
    finally:
        await client.aclose()
