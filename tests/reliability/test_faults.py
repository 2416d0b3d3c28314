"""Faults (issue 12 item 2, first short version): the same resources of both kinds brought to Ready twice, on
a fault-free simulator and on one answering 20 % of requests with mixed faults (429, 500, 502, 503, timeout,
reset, malformed body, slow). Every resource converges, none is ever Stalled (Stalled is for fatal errors; a
transient fault must be retried), the operator never exits or restarts, and the faulted run makes at most
2 x the Azure calls of the fault-free one. The figures are printed even under pytest's capture.
The Kubernetes API side (an apiserver restart, a window of 429/500 answers) is test_kube_faults.py."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.harness import Kube, Operator, Simulator, unique_name, wait_for
from tests.e2e.kinds import KINDS, resource, short

pytestmark = pytest.mark.e2e  # real processes: the operator, the simulator and the control plane

SEED = 20261206
PER_KIND = 3
FAULT_RATE = 0.2
FAULT_KINDS = "429,500,502,503,slow,timeout,reset,malformed"
# short hangs, and client limits shorter still, so a timeout fault costs seconds, not the defaults' minutes;
# the backoff keeps its default cap (5 min): it grows with the failed passes in a row, not with the polls
SIMULATOR_ARGS = ["--timeout-seconds", "3", "--slow-seconds", "1", "--fault-kinds", FAULT_KINDS]
OPERATOR_ARGS = ["--azure-read-timeout", "2s", "--azure-request-deadline", "10s"]


@dataclass
class Run:
    name: str
    calls: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    stalled: Counter[str] = field(default_factory=Counter)  # "<kind>/<name>: <reason>" seen Stalled
    seconds: float = 0.0


def bring_to_ready(kube: Kube, simulator: Simulator, namespace: str, run: Run, timeout: float = 90.0) -> None:
    """Creates PER_KIND resources of each kind in `namespace` and polls until all are Ready, recording every
    Stalled condition seen on the way; the simulator's counts are from this run only."""
    kube.apply(simulator.credentials_secret(namespace), namespace)
    simulator.reset_requests()
    start = time.monotonic()
    kube.apply(
        [resource(kind, f"{short(kind)}{i}", simulator) for kind in KINDS for i in range(PER_KIND)],
        namespace,
    )

    def all_ready() -> bool:
        objects = [obj for kind in KINDS for obj in kube.list(kind, namespace)]
        for obj in objects:
            stalled = kube.condition(obj, "Stalled") or {}
            if stalled.get("status") == "True":
                run.stalled[f"{obj['kind']}/{obj['metadata']['name']}: {stalled.get('reason')}"] += 1
        return len(objects) == PER_KIND * len(KINDS) and all(
            (kube.condition(obj, "Ready") or {}).get("status") == "True" for obj in objects
        )

    wait_for(all_ready, timeout, f"{run.name}: every resource Ready", interval=0.5)
    run.seconds = time.monotonic() - start
    counts = simulator.requests()
    run.calls = counts["total"]
    run.faults = Counter(counts.get("faults") or {})


@pytest.mark.timeout(300)
def test_mixed_faults_converge_within_twice_the_calls(
    kube: Kube, e2e_workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = e2e_workdir / unique_name("faults")
    workdir.mkdir(parents=True)
    clean_ns, faulted_ns = (kube.create_namespace(unique_name(n)) for n in ("faults-clean", "faults-on"))
    # no rate limit or quota in the way: the faults are the only trouble
    limits = ["--rate-limit", "0", "--quota", "1000", "--voice-quota", "1000", "--seed", str(SEED)]
    simulator = Simulator(workdir, extra_args=[*limits, *SIMULATOR_ARGS]).start()
    operator = Operator(
        workdir,
        kube.operator_kubeconfig(),
        namespaces=[clean_ns, faulted_ns],
        extra_args=["--azure-budget-requests", "1000", *OPERATOR_ARGS],
    )
    clean, faulted = Run("fault-free"), Run("faulted")
    try:
        with kube.namespace_watch_granted():
            operator.start()
            process = operator.process  # the same process object at the end: the same pid, never restarted
            bring_to_ready(kube, simulator, clean_ns, clean)
            simulator.configure(faultRate=FAULT_RATE)
            bring_to_ready(kube, simulator, faulted_ns, faulted)
            simulator.configure(faultRate=0)
            still_running = operator.process is process and operator.running and operator.starts == 1
            for namespace in (clean_ns, faulted_ns):  # while the operator runs, to release the finalizers
                kube.delete_namespace(namespace, wait=True, timeout=60)
    finally:
        operator.stop()
        simulator.stop()

    with capsys.disabled():
        print(f"\nfaults: seed {SEED}, {PER_KIND} of each kind ({', '.join(KINDS)}) per run", flush=True)
        print(f"  faults injected ({sum(faulted.faults.values())}): {dict(sorted(faulted.faults.items()))}")
        ratio = faulted.calls / clean.calls
        print(f"  Azure calls: fault-free {clean.calls}, faulted {faulted.calls}, ratio {ratio:.2f}")
        print(f"  time to Ready: fault-free {clean.seconds:.1f} s, faulted {faulted.seconds:.1f} s")
        print(f"  Stalled seen: {dict(clean.stalled) or 'none'} / {dict(faulted.stalled) or 'none'}")

    assert still_running, "the operator exited or was restarted"
    assert not clean.stalled and not faulted.stalled
    assert faulted.faults, "no fault was injected"
    assert faulted.calls <= 2 * clean.calls
