"""e2e fixtures: the Azure simulator,
the operator as a subprocess, a namespace per test, and the three logs attached to a failing test's report.

Every test under tests/e2e is marked `e2e`. See docs/testing.md for the fixture API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Kube, Operator, Simulator, unique_name, wait_for

# processes started in this session, by report section name (their logs go to failing tests' reports)
_STARTED: dict[str, Kube | Simulator | Operator] = {}
_LOG_MARKS = pytest.StashKey[dict[str, int]]()
_LOG_TAIL = 30_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def simulator(e2e_workdir: Path) -> Iterator[Simulator]:
    """The Azure simulator (`simulate-azure --time-scale 0.01` unless E2E_SIM_TIME_SCALE says otherwise)."""
    sim = Simulator(e2e_workdir, time_scale=float(os.environ.get("E2E_SIM_TIME_SCALE", "0.01"))).start()
    _STARTED["simulator log"] = sim
    try:
        yield sim
    finally:
        _STARTED.pop("simulator log", None)
        sim.stop()


@pytest.fixture(scope="session")
def operator_process(kube: Kube, simulator: Simulator, e2e_workdir: Path) -> Iterator[Operator]:
    """The operator under the ServiceAccount and ClusterRole of deploy/ (not as a cluster admin)."""
    op = Operator(e2e_workdir, kube.operator_kubeconfig())
    if kube.is_local:  # a real cluster's apiserver log is not ours to read
        _STARTED["kube-apiserver log"] = kube
    _STARTED["operator log"] = op
    try:
        op.start()
        yield op
    finally:
        if not kube.is_local and not os.environ.get("E2E_KEEP_NAMESPACES"):
            # the operator must release its finalizers, or the test namespaces stay Terminating for good
            op.ensure_running()
            left = kube.wait_namespaces_gone()
            if left:
                print(f"e2e: namespaces still terminating on the real cluster: {', '.join(left)}")
        _STARTED.pop("operator log", None)
        _STARTED.pop("kube-apiserver log", None)
        op.stop()


@pytest.fixture
def operator(operator_process: Operator) -> Operator:
    """The operator, running with the default settings and watching all namespaces: restarted if an earlier
    test killed or stopped it, or left it running with other flags or environment."""
    return operator_process.ensure_defaults()


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test; deleted afterwards, and waited for: on a real cluster the
    operator deletes the namespace's Azure endpoints then, and that traffic must not land in the next test's
    counts. The operator is started for it if the test left it stopped (its finalizers hold the namespace)."""
    name = kube.create_namespace(unique_name(request.node.name.removeprefix("test_")))
    yield name
    if os.environ.get("E2E_KEEP_NAMESPACES"):
        return
    if "operator_process" in request.fixturenames:
        request.getfixturevalue("operator_process").ensure_running()
    kube.delete_namespace(name, wait=True, timeout=180)


@pytest.fixture
def wait() -> Callable[..., Any]:
    """`wait(fn, timeout=30, what="...")`: polls fn until truthy (see harness.wait_for)."""
    return wait_for


@pytest.fixture(autouse=True)
def _mark_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    request.node.stash[_LOG_MARKS] = {name: proc.log_size() for name, proc in _STARTED.items()}
    yield
    sim = _STARTED.get("simulator log")
    if isinstance(sim, Simulator) and sim.process.running:
        sim.clear_faults()  # a fault rule a test left behind must not leak into the next test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed:
        return
    marks = item.stash.get(_LOG_MARKS, {})
    for name, proc in _STARTED.items():
        text = proc.logs(marks.get(name, 0))
        if len(text) > _LOG_TAIL:
            text = f"[... {len(text) - _LOG_TAIL} characters cut ...]\n" + text[-_LOG_TAIL:]
        report.sections.append((f"{name} (during this test)", text or "(empty)"))
