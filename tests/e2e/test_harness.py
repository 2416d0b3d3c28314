"""The harness itself: the control plane, the simulator and the operator start, the CRDs are established,
a test gets its namespace, and waits fail with what they waited for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .harness import REPO, Kube, Operator, Simulator, unique_name, wait_for


def _crd_names() -> list[str]:
    return [
        doc["metadata"]["name"]
        for path in sorted((REPO / "crds").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "CustomResourceDefinition"
    ]


def test_kube_serves_the_project_crds(kube: Kube) -> None:
    for name in _crd_names():
        condition = kube.condition(kube.get("CustomResourceDefinition", name), "Established")
        assert condition is not None and condition["status"] == "True"


def test_namespace_fixture_gives_a_fresh_namespace(kube: Kube, namespace: str) -> None:
    assert kube.get("Namespace", namespace)["status"]["phase"] == "Active"  # type: ignore[index]
    # a real cluster publishes its CA into every namespace; nothing else is there
    assert [c["metadata"]["name"] for c in kube.list("ConfigMap", namespace)] in ([], ["kube-root-ca.crt"])


def test_apply_and_get_round_trip(kube: Kube, namespace: str) -> None:
    out = kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}}, namespace
    )
    assert "configmap/cm created" in out
    assert kube.get("ConfigMap", "cm", namespace)["data"] == {"a": "1"}  # type: ignore[index]
    kube.delete("ConfigMap", "cm", namespace)
    assert kube.get("ConfigMap", "cm", namespace) is None


def test_simulator_answers_its_control_api(simulator: Simulator) -> None:
    assert simulator.http.get("/_sim/health").json() == {"ok": True}
    assert simulator.requests() is not None


def test_operator_is_ready_and_restartable(operator: Operator) -> None:
    assert operator.running
    starts = operator.starts
    operator.kill()
    assert not operator.running
    operator.start()
    assert operator.running and operator.starts == starts + 1
    assert "operator started" in operator.logs()


def test_wait_for_reports_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="waiting for the impossible; last seen: 0"):
        wait_for(lambda: 0, timeout=0.3, what="the impossible", interval=0.05)
    assert wait_for(iter([0, 0, 7]).__next__, timeout=5, interval=0.01) == 7


def test_wait_condition_times_out_with_status(kube: Kube, namespace: str, wait: Callable[..., Any]) -> None:
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, namespace)
    with pytest.raises(AssertionError, match="condition Ready=True"):
        kube.wait_condition("ConfigMap", "cm", namespace, "Ready", timeout=0.5)


def test_unique_names_are_dns_labels() -> None:
    name = unique_name("Test_Something[With Params]" * 3)
    assert len(name) <= 40 and name.replace("-", "").isalnum() and name == name.lower()


def test_operator_defaults_are_restored_for_the_next_test(operator: Operator) -> None:
    operator.restart(extra_args=["--drift-interval", "30s"], env={"AZURE_SPEECH_OPERATOR_LOG_LEVEL": "debug"})
    assert "--drift-interval" in operator.argv()
    starts = operator.starts
    operator.ensure_defaults()
    assert "--drift-interval" not in operator.argv() and operator.extra_env == {}
    assert operator.running and operator.starts == starts + 1
    operator.ensure_defaults()
    assert operator.starts == starts + 1  # already the defaults: no restart


def test_a_given_kubeconfig_is_used_as_a_real_cluster(kube: Kube, tmp_path: Path) -> None:
    """The E2E_KUBECONFIG path: nothing started, the current context's server used, CRDs applied,
    namespaces deleted at the end (here the "real cluster" is the session's control plane, given by path)."""
    config = yaml.safe_load(kube.kubeconfig.read_text())
    config["clusters"].insert(0, {"name": "elsewhere", "cluster": {"server": "https://192.0.2.1:6443"}})
    path = tmp_path / "real-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    cluster = Kube(tmp_path, path).start()
    assert not cluster.is_local and cluster.control_plane is None
    assert cluster.url == kube.url and cluster.logs() == ""
    assert cluster.apply_crds() == _crd_names()
    made = cluster.create_namespace(unique_name("real"))
    assert cluster.wait_namespaces_gone(timeout=60) == []
    assert cluster.get("Namespace", made) is None
