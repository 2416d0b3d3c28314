"""The chart's values for several replicas (kopf peering) and for sharding (a label selector), rendered
offline: the default stays one standalone pod; peering brings kopf's CRDs (from deploy/peering/, kept on
uninstall) and rights on the peering objects only; the values reach the operator as it reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml

from tests.processes import REPO

from .chart import CHART, Helm, container_args, find, one
from .test_chart import settings_of

PEERING_GROUP = "kopf.dev"


def peering_rules(objects: list[dict[str, Any]]) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(kind, namespace, rule) of every RBAC rule on kopf's peering objects."""
    return [
        (o["kind"], o["metadata"].get("namespace"), rule)
        for o in objects
        if o["kind"] in ("ClusterRole", "Role")
        for rule in o.get("rules") or []
        if PEERING_GROUP in rule["apiGroups"]
    ]


def test_the_chart_ships_kopfs_peering_crds_from_deploy_peering() -> None:
    shipped = (CHART / "files" / "kopf-peering-crds.yaml").read_bytes()
    assert shipped == (REPO / "deploy" / "peering" / "crds.yaml").read_bytes(), (
        "run `cp deploy/peering/crds.yaml helm/azure-speech-operator/files/kopf-peering-crds.yaml`"
    )


def test_by_default_one_standalone_unsharded_pod_and_nothing_of_peering(helm: Helm) -> None:
    objects = helm.template()
    deployment = one(objects, "Deployment")
    assert (deployment["spec"]["replicas"], deployment["spec"]["strategy"]) == (1, {"type": "Recreate"})
    settings = settings_of(container_args(objects))
    assert (settings.peering, settings.label_selector) == (None, None)
    assert not find(objects, "CustomResourceDefinition") and not peering_rules(objects)


def test_more_replicas_need_peering(helm: Helm) -> None:
    proc = helm.run("template", "x", str(CHART), "--set", "replicas=2", check=False)
    assert proc.returncode != 0 and "replicas > 1 needs peering.enabled=true" in proc.stderr


def test_peering_values_reach_the_operator_with_the_crds_and_rights_it_needs(helm: Helm) -> None:
    objects = helm.template({"replicas": 2, "peering": {"enabled": True, "lifetime": "30s"}})
    deployment = one(objects, "Deployment")
    assert (deployment["spec"]["replicas"], deployment["spec"]["strategy"]) == (2, {"type": "Recreate"})
    settings = settings_of(container_args(objects))
    assert settings.peering == deployment["metadata"]["name"]  # the release's own: one per shard
    assert (settings.peering_priority, settings.peering_lifetime) == (None, timedelta(seconds=30))
    crds = find(objects, "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == [
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    ]
    assert all(c["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"} for c in crds)
    shipped = [d for d in yaml.safe_load_all((REPO / "deploy" / "peering" / "crds.yaml").read_text()) if d]
    assert [c["spec"] for c in crds] == [c["spec"] for c in shipped]
    assert peering_rules(objects) == [
        (
            "ClusterRole",
            None,
            {
                "apiGroups": ["kopf.dev"],
                "resources": ["clusterkopfpeerings"],
                "verbs": ["list", "watch", "patch", "create"],
            },
        )
    ]
    binding = next(
        b for b in find(objects, "ClusterRoleBinding") if b["roleRef"]["name"].endswith("-peering")
    )
    assert binding["subjects"][0]["name"] == one(objects, "ServiceAccount")["metadata"]["name"]


def test_a_namespaced_operator_peers_in_its_namespaces_and_crds_can_come_from_elsewhere(helm: Helm) -> None:
    values = {"watchNamespaces": ["team-a", "team-b"], "peering": {"enabled": True, "installCRDs": False}}
    objects = helm.template(values)
    assert not find(objects, "CustomResourceDefinition")
    rules = peering_rules(objects)
    assert [(kind, namespace) for kind, namespace, _ in rules] == [("Role", "team-a"), ("Role", "team-b")]
    assert all(rule["resources"] == ["kopfpeerings"] for _, _, rule in rules)
    assert not peering_rules(
        helm.template({**values, "rbac": {"create": False}, "serviceAccount": {"name": "x"}})
    )


def test_the_label_selector_reaches_the_operator(helm: Helm) -> None:
    args = container_args(helm.template({"labelSelector": "shard in (a,b)"}))
    assert settings_of(args).label_selector == "shard in (a,b)"
