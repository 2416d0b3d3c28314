"""Crash consistency under pytest (issue 12 item 1): the short profile by default (6 resources, 5 rounds, one
kill point of each kind), `CRASH_PROFILE=full` for 50 resources and 20 rounds; `CRASH_SEED` changes the seed.
The figures are printed even under pytest's capture. See tests/reliability/crash.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Kube, unique_name

from .crash import profile_from_env, run_crash_suite

pytestmark = pytest.mark.e2e  # real processes: the operator, the simulator and the control plane


@pytest.mark.timeout(3600)
def test_crash_consistency(kube: Kube, e2e_workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = profile_from_env()
    namespace = kube.create_namespace(unique_name("crash"))

    def out(line: str) -> None:
        with capsys.disabled():
            print(line, flush=True)

    figures = run_crash_suite(kube, e2e_workdir / f"crash-{namespace}", namespace, profile, out)
    assert figures.leaks == 0 and figures.duplicates == 0
    assert figures.endpoints_per_resource and set(figures.endpoints_per_resource) == {1}
    assert figures.rounds == profile.rounds
    assert not figures.points_missed, f"kill points never reached: {dict(figures.points_missed)}"
    kube.delete_namespace(namespace)  # empty by now: every resource was deleted and released
