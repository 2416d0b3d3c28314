"""The operator runs under the ServiceAccount and ClusterRole of deploy/ (not as a cluster admin): what it
needs is granted, anything else is refused by the apiserver."""

from __future__ import annotations

import subprocess

import pytest

from .harness import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, Kube, Operator

SUBJECT = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"


def as_operator(kube: Kube, *args: str) -> subprocess.CompletedProcess[str]:
    """kubectl with the operator's own kubeconfig (its ServiceAccount token)."""
    return kube.kubectl("--kubeconfig", str(kube.operator_kubeconfig()), *args, check=False)


def test_the_operator_is_not_an_admin(kube: Kube, operator: Operator) -> None:
    config = operator.kubeconfig.read_text()
    assert "token:" in config and "client-certificate" not in config
    whoami = as_operator(kube, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout == SUBJECT


@pytest.mark.parametrize(
    ("verb", "resource"),
    [
        ("watch", "speechendpoints.speech.azure-operator.io"),
        ("patch", "speechendpoints.speech.azure-operator.io"),
        ("patch", "speechendpoints.speech.azure-operator.io/status"),
        ("get", "secrets"),
        ("create", "configmaps"),
        ("create", "events"),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ],
)
def test_what_the_operator_needs_is_granted(kube: Kube, verb: str, resource: str) -> None:
    sub, _, status = resource.partition("/")
    args = ["auth", "can-i", verb, sub, "-A"] + ([f"--subresource={status}"] if status else [])
    assert as_operator(kube, *args).stdout.strip() == "yes"


@pytest.mark.parametrize(
    ("verb", "resource"),
    [
        ("list", "pods"),
        ("create", "secrets"),
        ("delete", "secrets"),
        ("delete", "speechendpoints.speech.azure-operator.io"),
        ("get", "voiceendpoints.speech.azure-operator.io"),  # a pass never reads its resource
        ("create", "clusterroles.rbac.authorization.k8s.io"),
        ("patch", "customresourcedefinitions.apiextensions.k8s.io"),
        ("delete", "namespaces"),
    ],
)
def test_anything_else_is_refused(kube: Kube, verb: str, resource: str) -> None:
    assert as_operator(kube, "auth", "can-i", verb, resource, "-A").stdout.strip() == "no"


def test_a_request_outside_the_role_is_refused_by_the_apiserver(kube: Kube, namespace: str) -> None:
    refused = as_operator(kube, "get", "pods", "-n", namespace)
    assert refused.returncode != 0
    assert "Forbidden" in refused.stderr and SUBJECT in refused.stderr
    created = as_operator(
        kube, "create", "secret", "generic", "stolen", "-n", namespace, "--from-literal=k=v"
    )
    assert created.returncode != 0 and "forbidden" in created.stderr
    assert kube.get("Secret", "stolen", namespace) is None
