"""The example Argo CD Applications (examples/argocd/application.yaml and the three it syncs, apps/): the sync
waves put the CRDs before the operator and the operator before the endpoints, what they point at is in this
repository, nothing lets Argo CD delete the CRDs, and Argo CD's own Application CRD (from its Go module, the
version tests/controlplane/argocdbuild pins) admits them on the real kube-apiserver, strict about unknown
fields. The operator's Helm values go through the chart's values.schema.json."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.controlplane.build import ARGOCD_HEALTH
from tests.e2e.harness import Kube
from tests.processes import REPO

from .chart import CHART, Helm

EXAMPLE = REPO / "examples" / "argocd"
APPS = EXAMPLE / "apps"
WAVE = "argocd.argoproj.io/sync-wave"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
APPLICATION_CRD = "applications.argoproj.io"


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def children() -> dict[str, dict[str, Any]]:
    """The Applications the parent syncs, by the path they install from."""
    apps = [app for path in sorted(APPS.glob("*.yaml")) for app in load(path)]
    return {app["spec"]["source"]["path"]: app for app in apps}


def every_application() -> list[dict[str, Any]]:
    return load(EXAMPLE / "application.yaml") + list(children().values())


def wave(app: dict[str, Any]) -> int:
    return int(app["metadata"].get("annotations", {}).get(WAVE, "0"))


def test_waves_put_the_crds_before_the_operator_before_the_endpoints() -> None:
    apps = children()
    assert set(apps) == {"crds", "helm/azure-speech-operator", "endpoints"}
    assert wave(apps["crds"]) < wave(apps["helm/azure-speech-operator"]) < wave(apps["endpoints"])
    assert all(WAVE in app["metadata"]["annotations"] for app in apps.values())  # said, not defaulted
    # Argo CD without a health check for Applications moves on at once: a wave that ran early is retried
    assert all(app["spec"]["syncPolicy"]["retry"]["limit"] > 0 for app in apps.values())


def test_the_parent_syncs_the_apps_folder_into_argo_cds_namespace() -> None:
    (parent,) = load(EXAMPLE / "application.yaml")
    assert parent["spec"]["source"]["path"].endswith("/apps")
    assert {app["metadata"]["namespace"] for app in every_application()} == {
        parent["spec"]["destination"]["namespace"]
    }
    assert len({app["metadata"]["name"] for app in every_application()}) == 4


def test_the_operator_and_its_crds_come_from_this_repository_at_one_release() -> None:
    apps = children()
    crds, operator = apps["crds"], apps["helm/azure-speech-operator"]
    for app in (crds, operator):
        assert (REPO / app["spec"]["source"]["path"]).is_dir()
    assert crds["spec"]["source"]["repoURL"] == operator["spec"]["source"]["repoURL"]
    assert crds["spec"]["source"]["targetRevision"] == operator["spec"]["source"]["targetRevision"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert operator["spec"]["source"]["targetRevision"] == f"v{chart['version']}"
    assert operator["spec"]["destination"]["namespace"] == "azure-speech-operator"


def test_argo_cd_never_deletes_or_replaces_the_crds() -> None:
    """The CRDs' Application has no resources finalizer and does not prune; the chart's copies are skipped
    (one owner); and no Application replaces objects (that drops the operator's finalizer and marks)."""
    apps = children()
    crds = apps["crds"]
    assert FINALIZER not in crds["metadata"].get("finalizers", [])
    assert crds["spec"]["syncPolicy"]["automated"]["prune"] is False
    assert "ServerSideApply=true" in crds["spec"]["syncPolicy"]["syncOptions"]
    assert apps["helm/azure-speech-operator"]["spec"]["source"]["helm"]["skipCrds"] is True
    for app in every_application():
        assert "Replace=true" not in app["spec"].get("syncPolicy", {}).get("syncOptions", [])
    # the endpoints go while the operator runs: deleting their Application deletes them first
    assert FINALIZER in apps["endpoints"]["metadata"]["finalizers"]


def test_the_operators_values_pass_the_charts_schema_and_render_no_crd(helm: Helm) -> None:
    operator = children()["helm/azure-speech-operator"]
    values = operator["spec"]["source"]["helm"]["valuesObject"]
    objects = helm.template(values, release=operator["spec"]["source"]["helm"]["releaseName"])
    assert "CustomResourceDefinition" not in {o["kind"] for o in objects}
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith(values["image"]["repository"] + ":")


# --- on the real kube-apiserver, with Argo CD's Application CRD ---------------------------------------------


@pytest.fixture(scope="module")
def application_crd(kube: Kube) -> Iterator[None]:
    """Argo CD's Application CRD as its release ships it (manifests/crds/ of its Go module), installed for
    the module's tests: nothing on the test cluster runs Argo CD, so its objects are only stored."""
    source = ARGOCD_HEALTH.source_of("github.com/argoproj/argo-cd/v3")
    # server-side: the CRD is bigger than the annotation client-side apply would keep
    kube.kubectl("apply", "--server-side", "-f", str(source / "manifests" / "crds" / "application-crd.yaml"))
    # polled: `kubectl wait` errs on a CRD whose status is not written yet
    kube.wait_condition("CustomResourceDefinition", APPLICATION_CRD, None, "Established", timeout=30)
    yield


def admitted(kube: Kube, app: dict[str, Any], namespace: str) -> Any:
    """`kubectl apply --dry-run=server --validate=strict` of the Application, in the test's namespace."""
    app = copy.deepcopy(app)
    app["metadata"]["namespace"] = namespace
    args = ["apply", "--dry-run=server", "--validate=strict", "-f", "-"]
    return kube.kubectl(*args, input=yaml.safe_dump(app), check=False)


@pytest.mark.parametrize("app", every_application(), ids=lambda app: app["metadata"]["name"])
def test_argo_cds_application_crd_admits_each_application(
    kube: Kube, application_crd: None, cluster_namespace: str, app: dict[str, Any]
) -> None:
    result = admitted(kube, app, cluster_namespace)
    assert result.returncode == 0, result.stderr
    assert "(server dry run)" in result.stdout
    # no warning (about a field the schema does not know ...) but the apiserver's advice on Argo CD's own
    # finalizer name, which Argo CD chose
    warnings = [w for w in result.stderr.splitlines() if w and "prefer a domain-qualified finalizer" not in w]
    assert not warnings, result.stderr


def test_a_misspelled_field_is_refused(kube: Kube, application_crd: None, cluster_namespace: str) -> None:
    """So the test above would see a typo: Argo CD's schema is strict here."""
    app = copy.deepcopy(children()["helm/azure-speech-operator"])
    app["spec"]["source"]["helm"]["skipCRDs"] = app["spec"]["source"]["helm"].pop("skipCrds")
    result = admitted(kube, app, cluster_namespace)
    assert result.returncode != 0
    assert 'unknown field "spec.source.helm.skipCRDs"' in result.stderr
