"""The Helm chart rendered offline by the pinned helm: lint, schema, the operator's own settings parser on
the rendered flags, least-privilege RBAC, and agreement with crds/ and deploy/. What the apiserver says of
the rendered objects is in test_chart_cluster.py."""

from __future__ import annotations

import argparse
import re
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_speech_operator import __version__
from azure_speech_operator.settings import OperatorSettings, add_arguments, load_settings

from tests.argocd import configmap_data
from tests.controlplane import helm_version
from tests.processes import REPO

from .chart import (
    CHART,
    NAMESPACE,
    VALUE_SETS,
    Helm,
    container_args,
    deploy_objects,
    find,
    helm_labels_dropped,
    one,
)

WATCHED = ["team-a", "team-b"]
SPEECH_GROUP = "speech.azure-operator.io"


def settings_of(args: list[str]) -> OperatorSettings:
    """The settings `azure-speech-operator run` takes from these flags (no environment)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_settings(parser.parse_args(args), {})


def crd_files(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((REPO / folder).glob("*.yaml"))}


# --- the tool and the chart as a whole --------------------------------------------------------------------


def test_helm_is_the_pinned_build(helm: Helm) -> None:
    assert helm.run("version", "--template", "{{.Version}}").stdout == helm_version()


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict(helm: Helm, value_set: str) -> None:
    proc = helm.run("lint", "--strict", str(CHART), values=VALUE_SETS[value_set](WATCHED))
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


def test_the_chart_ships_every_crd_of_crds_unchanged() -> None:
    """crds/ is the single source; the chart's crds/ is a copy (Helm installs CRDs only from its own
    folder)."""
    assert crd_files("helm/azure-speech-operator/crds") == crd_files("crds"), (
        "helm/azure-speech-operator/crds/ differs from crds/: "
        "run `cp crds/*.yaml helm/azure-speech-operator/crds/` (and delete copies of CRDs removed from crds/)"
    )


def test_the_packaged_chart_carries_the_crds_and_templates(helm: Helm, tmp_path: Path) -> None:
    """`helm package` (what a chart repository or OCI registry holds) keeps what `helm install` needs."""
    helm.run("package", str(CHART), "--destination", str(tmp_path))
    (package,) = tmp_path.glob("azure-speech-operator-*.tgz")
    with tarfile.open(package) as archive:
        shipped = {
            Path(member.name).name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if Path(member.name).parent.name == "crds"
        }
    assert shipped == crd_files("crds")
    rendered = helm.run("template", "x", str(package)).stdout
    assert "kind: Deployment" in rendered and "kind: ClusterRole" in rendered


def test_chart_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert chart["appVersion"] == __version__ == pyproject["project"]["version"]


def test_the_readme_documents_every_value() -> None:
    """Every value in values.yaml has a row in the chart README's table, and every row is a value."""
    free_form = {"resources", "podSecurityContext", "securityContext", "affinity", "nodeSelector"}

    def paths(node: dict[str, Any], prefix: str = "") -> list[str]:
        found = []
        for key, value in node.items():
            path = prefix + key
            if isinstance(value, dict) and value and key not in free_form:
                found += paths(value, path + ".")
            else:
                found.append(path)
        return found

    values = paths(yaml.safe_load((CHART / "values.yaml").read_text()))
    rows = re.findall(r"^\| `([^`]+)` \|", (CHART / "README.md").read_text(), re.MULTILINE)
    assert sorted(rows) == sorted(values)


# --- values.schema.json -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("replicas=two", "at '/replicas': got string, want integer"),
        # the refusal says why, and which value allows more
        ("replicas=2", "missing property 'replicas > 1 needs peering.enabled=true'"),
        ("replicas=2", "at '/peering/enabled': value must be true"),
        ("driftInterval=often", "at '/driftInterval': 'often' does not match pattern"),
        ("watchNamespaces={Team_A}", "at '/watchNamespaces/0': 'Team_A' does not match pattern"),
        ("logLevel=loud", "at '/logLevel': value must be one of 'debug', 'info', 'warning', 'error'"),
        ("watchCredentialSecrets=maybe", "at '/watchCredentialSecrets': got string, want boolean"),
        ("azureBudget.requests=0", "at '/azureBudget/requests': minimum: got 0, want 1"),
        ("metrics.port=http", "at '/metrics/port': got string, want integer"),
        ("replica=1", "at '': additional properties 'replica' not allowed"),
        ("extraArgs={run}", "at '/extraArgs/0': 'run' does not match pattern '^--'"),
        ("argocd.healthChecks.enabled=yes", "at '/argocd/healthChecks/enabled': got string, want boolean"),
        # the operator refuses a lifetime of zero: so does the schema, before the pods would crash-loop
        ("peering.lifetime=0h", "at '/peering/lifetime': '0h' does not match pattern '[1-9]'"),
        # selectors and ports the operator refuses (test_chart_operator_agreement.py has many more)
        ("labelSelector=shard=a=b", "at '/labelSelector': 'shard=a=b' does not match pattern"),
        ("allowedHosts={https://x.com:99999}", "at '/allowedHosts/0': 'https://x.com:99999' does not match"),
        # the operator refuses durations of zero where it needs time to pass
        ("driftInterval=0s", "at '/driftInterval': '0s' does not match pattern '[1-9]'"),
        ("azureBudget.window=0m", "at '/azureBudget/window': '0m' does not match pattern '[1-9]'"),
        # host patterns the operator refuses at start: an unknown scheme, a port that is no number
        ("allowedHosts={ftp://x}", "at '/allowedHosts/0': 'ftp://x' does not match pattern"),
        ("allowedHosts={host:abc}", "at '/allowedHosts/0': 'host:abc' does not match pattern"),
        # plain http to Azure's own domains
        ("allowedHosts={http://*.cognitiveservices.azure.com}", "at '/allowedHosts/0': 'not' failed"),
    ],
)
def test_a_wrong_value_fails_with_a_message_naming_it(helm: Helm, setting: str, message: str) -> None:
    proc = helm.run("template", "x", str(CHART), "--set", setting, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize("replicas", [0, 1, 2, 5])
def test_any_replica_count_with_peering(helm: Helm, replicas: int) -> None:
    values = {"replicas": replicas, "peering": {"enabled": True}}
    assert one(helm.template(values), "Deployment")["spec"]["replicas"] == replicas


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        # sums of a duration's parts, beyond a JSON-schema pattern: the templates check them
        ("peering.lifetime=5s", "peering.lifetime: 5s must be whole seconds, at least 10s"),
        ("peering.lifetime=10.5s", "peering.lifetime: 10.5s must be whole seconds, at least 10s"),
        ("driftInterval=999999d", "driftInterval: 999999d is too long; at most 36500d"),
        (
            "voiceSwapGracePeriod=20000d20000d",
            "voiceSwapGracePeriod: 20000d20000d is too long; at most 36500d",
        ),
        ("azureBudget.window=0.0001ms", "azureBudget.window: 0.0001ms must be longer than zero"),
    ],
)
def test_a_duration_the_operator_refuses_fails_with_a_message_naming_it(
    helm: Helm, setting: str, message: str
) -> None:
    proc = helm.run("template", "x", str(CHART), "--set", setting, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


# --- the operator's flags ---------------------------------------------------------------------------------


def test_the_defaults_are_the_operators_defaults_but_for_the_metrics_address(helm: Helm) -> None:
    """The chart's default flags change nothing but the bind address (a probe cannot reach loopback)."""
    settings = settings_of(container_args(helm.template()))
    assert settings == OperatorSettings(metrics_address="0.0.0.0")


def test_every_value_reaches_the_operator_as_it_reads_it(helm: Helm) -> None:
    values = VALUE_SETS["everything"](WATCHED)
    settings = settings_of(container_args(helm.template(values)))
    expected = OperatorSettings(
        namespaces=("team-a",),
        allowed_hosts=("westeurope.api.cognitive.microsoft.com:443", "*.cognitiveservices.azure.com:443"),
        azure_budget_requests=40,
        azure_budget_window=settings_of(["--azure-budget-window=20s"]).azure_budget_window,
        azure_max_concurrency=4,
        max_passes_in_flight=32,
        drift_interval=settings_of(["--drift-interval=15m"]).drift_interval,
        model_expiry_window=settings_of(["--model-expiry-window=14d"]).model_expiry_window,
        voice_swap_grace_period=settings_of(["--voice-swap-grace-period=2h"]).voice_swap_grace_period,
        deletion_credentials_wait=settings_of(["--deletion-credentials-wait=20m"]).deletion_credentials_wait,
        workload_identity_namespaces=("team-*", "!team-untrusted"),
        watch_credential_secrets=False,
        metrics_port=9090,
        metrics_address="0.0.0.0",
        log_level="debug",
        log_format="json",
    )
    assert settings == expected


def test_large_whole_numbers_reach_the_operator_as_written(helm: Helm) -> None:
    # a values file's numbers are floats to Helm, printed as 1e+06 unless the template makes them integers
    values = {"maxPassesInFlight": 1500000, "azureBudget": {"requests": 1000000, "maxConcurrency": 2000000}}
    settings = settings_of(container_args(helm.template(values)))
    assert settings.max_passes_in_flight == 1500000
    assert (settings.azure_budget_requests, settings.azure_max_concurrency) == (1000000, 2000000)


@pytest.mark.parametrize("lifetime", ["10s", "60s", "2m", "1m30s", "0m10s", "1h", "1d", "5s5s", "10000ms"])
def test_every_peering_lifetime_the_schema_takes_the_operator_takes(helm: Helm, lifetime: str) -> None:
    values = {"peering": {"enabled": True, "lifetime": lifetime}}
    assert settings_of(container_args(helm.template(values))).peering_lifetime.total_seconds() >= 10


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_value_set_renders_flags_the_operator_accepts(helm: Helm, value_set: str) -> None:
    settings_of(container_args(helm.template(VALUE_SETS[value_set](WATCHED))))


# --- the Deployment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_one_pod_recreated_probed_and_locked_down(helm: Helm, value_set: str) -> None:
    deployment = one(helm.template(VALUE_SETS[value_set](WATCHED)), "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "metrics")
    assert f"--metrics-port={port}" in container["args"] and "--metrics-address=0.0.0.0" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_the_pod_values_reach_the_pod(helm: Helm) -> None:
    values = VALUE_SETS["everything"](WATCHED)
    deployment = one(helm.template(values), "Deployment")
    template = deployment["spec"]["template"]
    pod = template["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"{values['image']['repository']}@{values['image']['digest']}"
    assert container["env"] == values["extraEnv"]
    assert container["resources"] == values["resources"]
    assert template["metadata"]["annotations"] == values["podAnnotations"]
    assert values["podLabels"].items() <= template["metadata"]["labels"].items()
    for key in ("priorityClassName", "nodeSelector", "tolerations", "affinity", "imagePullSecrets"):
        assert pod[key] == values[key], key
    assert pod["serviceAccountName"] == "speech-op"
    account = one(helm.template(values), "ServiceAccount")
    assert account["metadata"]["annotations"] == values["serviceAccount"]["annotations"]


def test_pod_labels_cannot_take_the_pod_out_of_its_selector(helm: Helm) -> None:
    values = {"podLabels": {"app.kubernetes.io/name": "other", "team": "speech"}}
    text = helm.run(
        "template", "x", str(CHART), "--show-only", "templates/deployment.yaml", values=values
    ).stdout
    # the Deployment's, its selector's and its pod's: no duplicate key in the pod's labels
    assert text.count("app.kubernetes.io/name:") == 3
    template = one(helm.template(values), "Deployment")["spec"]["template"]
    selector = one(helm.template(values), "Deployment")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert template["metadata"]["labels"]["team"] == "speech"


def test_the_image_tag_defaults_to_the_app_version(helm: Helm) -> None:
    (container,) = one(helm.template(), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"azure-speech-operator:{__version__}"
    (container,) = one(helm.template({"image": {"tag": "dev"}}), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["image"] == "azure-speech-operator:dev"


def test_the_metrics_service_and_service_monitor_reach_the_pod(helm: Helm) -> None:
    values = VALUE_SETS["everything"](WATCHED)
    objects = helm.template(values)
    deployment, service = one(objects, "Deployment"), one(objects, "Service")
    monitor = one(objects, "ServiceMonitor")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 80, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert find(helm.template(), "ServiceMonitor") == []  # off by default


def test_a_long_release_name_still_gives_names_the_api_server_takes(helm: Helm) -> None:
    release = "speech-operator-production-westeurope1"  # 38 characters, without the chart's name
    for obj in helm.template(VALUE_SETS["everything"](WATCHED), release=release):
        name = obj["metadata"]["name"]
        # a Service's name is a DNS label; the others are DNS subdomains
        limit = 63 if obj["kind"] == "Service" else 253
        assert len(name) <= limit and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name


def test_the_notes_name_the_metrics_service(helm: Helm) -> None:
    """A full name too long for the `-metrics` suffix shortens the Service name: the notes give that name."""
    values = {"fullnameOverride": "a" * 60}
    (service,) = find(helm.template(values), "Service")
    url = f"http://{service['metadata']['name']}.{NAMESPACE}.svc:8080/metrics"
    assert url in helm.notes(values)


def test_the_argocd_health_checks_are_the_scripts_in_argo_cds_namespace(helm: Helm) -> None:
    """The argocd-cm keys of examples/argocd/health-checks.yaml, in a ConfigMap of their own to merge
    (docs/argocd.md)."""
    assert find(helm.template(), "ConfigMap") == []  # off by default
    on = {"argocd": {"healthChecks": {"enabled": True}}}
    (configmap,) = find(helm.template(on, release="rel"), "ConfigMap")
    assert configmap["metadata"]["name"] == "rel-azure-speech-operator-argocd-health"
    assert configmap["metadata"]["namespace"] == "argocd"
    assert configmap["data"] == configmap_data()
    moved = {"argocd": {"healthChecks": {"enabled": True}, "namespace": "gitops"}}
    (elsewhere,) = find(helm.template(moved), "ConfigMap")
    assert elsewhere["metadata"]["namespace"] == "gitops"


# --- RBAC -------------------------------------------------------------------------------------------------


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every rule, expanded."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_no_wildcards_and_every_crd_served(helm: Helm) -> None:
    rules = one(helm.template(), "ClusterRole")["rules"]
    assert not any(
        "*" in item for rule in rules for key in ("apiGroups", "resources", "verbs") for item in rule[key]
    )
    granted = grants(rules)
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        plural = crd["spec"]["names"]["plural"]
        assert {(SPEECH_GROUP, plural, "watch"), (SPEECH_GROUP, f"{plural}/status", "patch")} <= granted, (
            path.name
        )


def test_secrets_are_listed_only_for_the_labelled_secret_watch(helm: Helm) -> None:
    secrets = {
        (g, r, v) for g, r, v in grants(one(helm.template(), "ClusterRole")["rules"]) if r == "secrets"
    }
    assert secrets == {("", "secrets", "get"), ("", "secrets", "list"), ("", "secrets", "watch")}
    off = helm.template({"watchCredentialSecrets": False})
    assert {g for g in grants(one(off, "ClusterRole")["rules"]) if g[1] == "secrets"} == {
        ("", "secrets", "get")
    }
    assert "--no-watch-credential-secrets" in container_args(off)


NAMESPACES_LIST_WATCH = {("", "namespaces", "list"), ("", "namespaces", "watch")}


def test_cluster_wide_namespaces_are_only_read_one_by_one_and_status_only_patched(helm: Helm) -> None:
    """kopf lists and watches namespaces only when given --namespace; nothing reads the /status
    subresources (tests/e2e/test_rbac_rules.py shows both on the apiserver)."""
    granted = grants(one(helm.template(), "ClusterRole")["rules"])
    assert {g for g in granted if g[1] == "namespaces"} == {("", "namespaces", "get")}
    assert {g for g in granted if g[1].endswith("/status")} == {
        (SPEECH_GROUP, f"{plural}/status", "patch") for plural in ("speechendpoints", "voiceendpoints")
    }


def test_watched_namespaces_get_roles_and_the_cluster_role_keeps_what_kopf_reads_cluster_wide(
    helm: Helm,
) -> None:
    everywhere = grants(one(helm.template(), "ClusterRole")["rules"])
    objects = helm.template(VALUE_SETS["namespaced"](WATCHED))
    cluster = grants(one(objects, "ClusterRole")["rules"])
    assert cluster == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("", "namespaces", "get"),
        *NAMESPACES_LIST_WATCH,  # kopf follows which of the given namespaces exist
    }
    account = one(objects, "ServiceAccount")["metadata"]
    for namespace in WATCHED:
        (role,) = find(objects, "Role", namespace)
        (binding,) = find(objects, "RoleBinding", namespace)
        assert cluster | grants(role["rules"]) == everywhere | NAMESPACES_LIST_WATCH
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        ]
    assert len(find(objects, "Role")) == len(WATCHED)


def test_without_rbac_and_service_account_the_chart_uses_the_named_one(helm: Helm) -> None:
    objects = helm.template(VALUE_SETS["existing-service-account"](WATCHED))
    assert {o["kind"] for o in objects} == {"Deployment", "Service"}
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "speech-operator"


# --- deploy/ is the chart with its defaults ---------------------------------------------------------------


def test_deploy_is_the_chart_rendered_with_its_defaults(helm: Helm) -> None:
    """Same objects, names, rules, bindings and Deployment; deploy/ adds its Namespace and lacks only the
    labels Helm sets for its own bookkeeping."""
    rendered = {(o["kind"], o["metadata"]["name"]): helm_labels_dropped(o) for o in helm.template()}
    deployed = {(o["kind"], o["metadata"]["name"]): o for o in deploy_objects()}
    namespace = deployed.pop(("Namespace", "azure-speech-operator"))
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert sorted(deployed) == sorted(rendered)
    for key, obj in deployed.items():
        assert obj == rendered[key], f"deploy/ {key} differs from the chart's"
