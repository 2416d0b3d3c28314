"""The chart and deploy/ on the session's real kube-apiserver: every value set's rendering is admitted
(`kubectl apply --dry-run=server`) and installed for real into its own namespace (`helm install` creates
every object as rendered, `helm uninstall` removes them all); a real `helm install` / `upgrade` /
`uninstall` grants the operator what it needs and nothing else; the pod passes the `restricted` Pod
Security Standard as the apiserver's PodSecurity admission judges it. Nothing here starts the operator: the
e2e tests run it under deploy/'s RBAC, which test_chart.py shows is the chart's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argocd import configmap_data, merge_command
from tests.e2e.harness import Kube, kubectl_path, unique_name
from tests.processes import run_tool

from .chart import CHART, DEPLOY, VALUE_SETS, Helm, deploy_objects, find, one, pod_from

# Kinds whose CRDs a bare cluster lacks: checked offline in test_chart.py, not sent to the apiserver.
NOT_INSTALLED = {"ServiceMonitor"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


@pytest.fixture
def other_namespace(kube: Kube) -> Iterator[str]:
    """A second namespace for the operator to watch."""
    name = kube.create_namespace(unique_name("watched"))
    yield name
    kube.delete_namespace(name)


def dry_run(kube: Kube, objects: list[dict[str, Any]], *flags: str) -> str:
    """`kubectl apply --dry-run=server` of the objects; kubectl's output (it fails the test if refused)."""
    text = yaml.safe_dump_all(objects, sort_keys=False)
    return kube.kubectl("apply", "--dry-run=server", *flags, "-f", "-", input=text).stdout


def can_i(kube: Kube, subject: str, verb: str, resource: str, *where: str) -> bool:
    resource, _, subresource = resource.partition("/")
    extra = [f"--subresource={subresource}"] if subresource else []
    proc = kube.kubectl("auth", "can-i", verb, resource, *where, *extra, "--as", subject, check=False)
    return proc.stdout.strip() == "yes"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_apiserver_admits_every_object_the_chart_renders(
    kube: Kube, helm: Helm, cluster_namespace: str, other_namespace: str, value_set: str
) -> None:
    values = VALUE_SETS[value_set]([cluster_namespace, other_namespace])
    objects = helm.template(
        values, release=unique_name("rel"), namespace=cluster_namespace, include_crds=True
    )
    sent = [o for o in objects if o["kind"] not in NOT_INSTALLED]
    out = dry_run(kube, sent)
    assert out.count("(server dry run)") == len(sent), out
    assert {o["kind"] for o in sent} >= {"Deployment", "Service", "CustomResourceDefinition"}


def test_kubectl_apply_k_deploy(kube: Kube) -> None:
    """A real apply, as the e2e harness does before it runs the operator under deploy/'s ServiceAccount (a
    dry run would fail on a fresh cluster: the namespace it creates does not exist yet)."""
    kube.kubectl("apply", "-k", str(DEPLOY))
    for obj in deploy_objects():
        meta = obj["metadata"]
        assert kube.get(obj["kind"], meta["name"], meta.get("namespace")) is not None, (
            obj["kind"],
            meta["name"],
        )
    namespace = kube.get("Namespace", "azure-speech-operator")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_pod_passes_the_restricted_pod_security_standard(
    kube: Kube, helm: Helm, cluster_namespace: str, value_set: str
) -> None:
    """The Deployment's pod, created (dry run) in a namespace that enforces `restricted`: the apiserver's
    PodSecurity admission judges it. A pod without the chart's security contexts is the control."""
    kube.kubectl("label", "namespace", cluster_namespace, "pod-security.kubernetes.io/enforce=restricted")
    objects = helm.template(VALUE_SETS[value_set]([cluster_namespace]), namespace=cluster_namespace)
    pod = pod_from(one(objects, "Deployment"), "operator")
    account = pod["spec"]["serviceAccountName"]
    kube.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}, cluster_namespace
    )
    out = kube.kubectl(
        "create", "--dry-run=server", "-n", cluster_namespace, "-f", "-", input=yaml.safe_dump(pod)
    )
    assert "pod/operator created (server dry run)" in out.stdout, out.stderr

    loose = yaml.safe_load(yaml.safe_dump(pod))
    del loose["spec"]["securityContext"]
    del loose["spec"]["containers"][0]["securityContext"]
    refused = kube.kubectl(
        "create",
        "--dry-run=server",
        "-n",
        cluster_namespace,
        "-f",
        "-",
        input=yaml.safe_dump(loose),
        check=False,
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr


# A stand-in for the Prometheus operator's ServiceMonitor CRD (which a bare cluster lacks): it admits any
# spec, so a real install of the value sets that render a ServiceMonitor creates it as rendered; its schema
# is checked offline (test_chart.py).
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def service_monitor_crd(kube: Kube) -> Iterator[None]:
    name = SERVICE_MONITOR_CRD["metadata"]["name"]
    existed = kube.get("CustomResourceDefinition", name) is not None
    if not existed:
        kube.apply(SERVICE_MONITOR_CRD)
        kube.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    yield
    if not existed:
        kube.kubectl("delete", "crd", name, "--ignore-not-found", check=False)


def live(kube: Kube, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The object as the apiserver holds it (kubectl, which finds a CRD created since it last looked)."""
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = ".".join([obj["kind"], version, group]) if group else obj["kind"]
    where = ["-n", obj["metadata"]["namespace"]] if obj["metadata"].get("namespace") else []
    args = ["get", resource, obj["metadata"]["name"], *where, "-o", "json", "--ignore-not-found"]
    text = kube.kubectl(*args).stdout
    return yaml.safe_load(text) if text.strip() else None


def missing_from(rendered: Any, stored: Any, path: str = "") -> list[str]:
    """Where `stored` lacks or differs from what `rendered` says (the apiserver may add defaults, not change
    what was sent; an empty rendered value may be dropped)."""
    if rendered in (None, {}, []) and stored in (None, {}, []):
        return []
    if isinstance(rendered, dict) and isinstance(stored, dict):
        return [
            m
            for key, value in rendered.items()
            for m in missing_from(value, stored.get(key), f"{path}.{key}")
        ]
    if isinstance(rendered, list) and isinstance(stored, list) and len(rendered) == len(stored):
        return [
            m
            for i, (r, s) in enumerate(zip(rendered, stored, strict=True))
            for m in missing_from(r, s, f"{path}[{i}]")
        ]
    return [] if rendered == stored else [f"{path}: rendered {rendered!r}, stored {stored!r}"]


@pytest.mark.usefixtures("service_monitor_crd")
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_install_creates_what_it_renders_and_uninstall_removes_it(
    kube: Kube, cluster_helm: Helm, cluster_namespace: str, other_namespace: str, value_set: str
) -> None:
    """Each value set installed for real into its own namespace: every object the chart renders is on the
    apiserver as rendered (in the namespaces it names, cluster-scoped ones too), and `helm uninstall`
    removes every one of them."""
    release, ns = unique_name("speech"), cluster_namespace
    values = VALUE_SETS[value_set]([ns, other_namespace])
    if not values.get("serviceAccount", {}).get("create", True):  # the value set names an existing one
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "speech-operator"}}
        kube.apply(account, ns)
    objects = cluster_helm.template(values, release=release, namespace=ns)
    # as helm installs them: a namespaced object that names no namespace goes to the release's
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"].setdefault("namespace", ns)
    try:
        cluster_helm.run("install", release, str(CHART), "-n", ns, "--skip-crds", values=values)
        for obj in objects:
            stored = live(kube, obj)
            assert stored is not None, f"{obj['kind']} {obj['metadata']['name']} was not created"
            assert missing_from(obj, stored) == [], (obj["kind"], obj["metadata"]["name"])
    finally:
        cluster_helm.run("uninstall", release, "-n", ns, "--wait", check=False)
    left = [(o["kind"], o["metadata"]["name"]) for o in objects if live(kube, o) is not None]
    assert left == []
    assert cluster_helm.run("list", "-n", ns, "-q").stdout.strip() == ""


def test_helm_install_upgrade_and_uninstall(kube: Kube, cluster_helm: Helm, cluster_namespace: str) -> None:
    """A real release, cluster-wide: the ServiceAccount may do what the operator does and nothing else; an
    upgrade turning the labelled-Secret watch off takes `list` on Secrets away; uninstall leaves no
    cluster-scoped object behind (and the CRDs, which Helm never deletes)."""
    release = unique_name("speech")
    ns = cluster_namespace
    install = ["install", release, str(CHART), "-n", ns, "--skip-crds"]  # the session's CRDs are crds/'s
    try:
        cluster_helm.run(*install)
        objects = cluster_helm.template(release=release, namespace=ns)
        name = one(objects, "ClusterRole")["metadata"]["name"]
        subject = f"system:serviceaccount:{ns}:{one(objects, 'ServiceAccount')['metadata']['name']}"
        assert kube.get("Deployment", name, ns) is not None
        assert kube.get("Service", f"{name}-metrics", ns) is not None
        assert kube.get("ClusterRoleBinding", name) is not None
        for verb, resource in [
            ("patch", "speechendpoints.speech.azure-operator.io"),
            ("patch", "speechendpoints.speech.azure-operator.io/status"),
            ("list", "secrets"),
            ("create", "configmaps"),
            ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
        ]:
            assert can_i(kube, subject, verb, resource, "-A"), (verb, resource)
        for verb, resource in [
            ("list", "pods"),
            ("create", "secrets"),
            ("delete", "speechendpoints.speech.azure-operator.io"),
            ("patch", "customresourcedefinitions.apiextensions.k8s.io"),
            ("list", "namespaces"),  # kopf lists namespaces only when given --namespace
            ("get", "speechendpoints.speech.azure-operator.io/status"),
        ]:
            assert not can_i(kube, subject, verb, resource, "-A"), (verb, resource)

        cluster_helm.run("upgrade", release, str(CHART), "-n", ns, "--set", "watchCredentialSecrets=false")
        assert can_i(kube, subject, "get", "secrets", "-A")
        assert not can_i(kube, subject, "list", "secrets", "-A")
        deployment = kube.get("Deployment", name, ns)
        assert deployment is not None
        assert (
            "--no-watch-credential-secrets" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        )
    finally:
        cluster_helm.run("uninstall", release, "-n", ns, "--wait", check=False)
    assert kube.get("ClusterRole", name) is None and kube.get("ClusterRoleBinding", name) is None
    assert kube.get("Deployment", name, ns) is None
    assert kube.get("CustomResourceDefinition", "speechendpoints.speech.azure-operator.io") is not None


def test_the_argocd_health_configmap_merges_into_argocd_cm(
    kube: Kube, cluster_helm: Helm, cluster_namespace: str
) -> None:
    """A release with the Argo CD health checks on (the test's namespace stands in for Argo CD's): its notes
    give docs/argocd.md's merge command, and that command, run by a shell, adds the scripts to argocd-cm's
    other keys."""
    release, ns = unique_name("speech"), cluster_namespace
    argocd_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm"},
        "data": {"a": "b"},
    }
    kube.apply(argocd_cm, ns)
    values = {"argocd": {"healthChecks": {"enabled": True}, "namespace": ns}}
    try:
        notes = cluster_helm.run(
            "install", release, str(CHART), "-n", ns, "--skip-crds", values=values
        ).stdout
        (configmap,) = find(cluster_helm.template(values, release=release, namespace=ns), "ConfigMap")
        command = merge_command(ns, configmap["metadata"]["name"])
        assert " ".join(command.split()) in " ".join(notes.split())
        path = f"{Path(kubectl_path()).parent}{os.pathsep}{os.environ['PATH']}"
        run_tool(["sh", "-c", command], env={**kube.env, "PATH": path})
    finally:
        cluster_helm.run("uninstall", release, "-n", ns, "--wait", check=False)
    merged = kube.get("ConfigMap", "argocd-cm", ns)
    assert merged is not None
    assert merged["data"] == {"a": "b", **configmap_data()}


def test_helm_install_watching_namespaces(
    kube: Kube, cluster_helm: Helm, cluster_namespace: str, other_namespace: str
) -> None:
    """With watchNamespaces the ServiceAccount reaches Secrets and resources in those namespaces only, and
    still reads what kopf reads cluster-wide."""
    release = unique_name("speech")
    ns = cluster_namespace
    try:
        cluster_helm.run(
            "install",
            release,
            str(CHART),
            "-n",
            ns,
            "--skip-crds",
            "--set",
            f"watchNamespaces={{{other_namespace}}}",
        )
        objects = cluster_helm.template({"watchNamespaces": [other_namespace]}, release=release, namespace=ns)
        subject = f"system:serviceaccount:{ns}:{one(objects, 'ServiceAccount')['metadata']['name']}"
        assert len(find(objects, "Role", other_namespace)) == 1
        assert can_i(kube, subject, "get", "secrets", "-n", other_namespace)
        assert can_i(
            kube, subject, "patch", "speechendpoints.speech.azure-operator.io/status", "-n", other_namespace
        )
        assert not can_i(kube, subject, "get", "secrets", "-n", ns)
        assert not can_i(kube, subject, "get", "secrets", "-A")
        assert can_i(kube, subject, "list", "namespaces")
        assert can_i(kube, subject, "watch", "customresourcedefinitions.apiextensions.k8s.io")
    finally:
        cluster_helm.run("uninstall", release, "-n", ns, "--wait", check=False)


def test_a_wrong_value_fails_helm_install_and_installs_nothing(
    kube: Kube, cluster_helm: Helm, cluster_namespace: str
) -> None:
    release = unique_name("speech")
    proc = cluster_helm.run(
        "install", release, str(CHART), "-n", cluster_namespace, "--set", "replicas=two", check=False
    )
    assert proc.returncode != 0
    assert "at '/replicas': got string, want integer" in proc.stderr
    assert cluster_helm.run("list", "-n", cluster_namespace, "-q").stdout.strip() == ""
    assert kube.list("Deployment", cluster_namespace) == []
