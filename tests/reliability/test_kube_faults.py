"""Kubernetes API faults (issue 12 item 2, the Kubernetes half): the operator's API server goes away or
fails for a while, with resources of both kinds Ready and others mid-deployment in Azure.

- `test_apiserver_restart`: the real kube-apiserver is stopped (SIGTERM) for OUTAGE seconds and started
  again on the same port; right after, one SpeechEndpoint's model is changed, one VoiceEndpoint suspended and
  one of each kind deleted.
- `test_apiserver_429_500`: the operator talks to the apiserver through a proxy (tests/reliability/
  kubeproxy.py) that for WINDOW seconds answers a seeded FAULT_RATE of its requests 429 (Retry-After) or 500
  with a metav1.Status body; the same changes are made in the middle of the window.

Both check: the operator process never exits or restarts; every resource converges (Ready at its generation,
suspended as asked, the deleted ones gone); exactly one Azure endpoint per live resource and none for the
deleted ones; the changes are acted on (kopf's watches resumed: nothing else brings them); no resource is
ever seen Stalled; the operator logs no ERROR or WARNING. The figures are printed even under pytest's
capture. `KUBE_FAULTS_OUTAGE=75` tries a longer outage (past kopf's own 54 s of request retries).

The suite runs on a control plane of its own (about 3 s to start): stopping the session's shared apiserver
mid-session would put every later test at the mercy of the restart, and here the operator can watch every
namespace without touching other tests' resources.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_speech_operator.simulator.seed import CUSTOM_EN_US_DEPLOYABLE

from tests.e2e.harness import Kube, Operator, Simulator, unique_name, wait_for
from tests.e2e.kinds import KINDS, owned_endpoints, resource, short

from .kubeproxy import FaultyProxy

pytestmark = pytest.mark.e2e  # real processes: the operator, the simulator and a control plane

SEED = 20261206
PER_KIND = 3  # per batch: one batch Ready before the fault, one mid-deployment when it strikes
# seconds from the apiserver's SIGTERM until it is started again (KUBE_FAULTS_OUTAGE to try others)
OUTAGE = float(os.environ.get("KUBE_FAULTS_OUTAGE", "15"))
KILL_AFTER = 5.0  # it stops listening at once but holds its watches open until it exits: SIGKILL then
WINDOW = 15.0  # seconds the proxy answers faults
FAULT_RATE = 0.5
# Deployments of the second batch take about 15 s (time scale 0.05), so they finish in Azure while the
# operator cannot write their status; the first batch deploys in about 3 s (0.01).
READY_SCALE, DEPLOYING_SCALE = 0.01, 0.05
# well under the slow retry intervals (2 min and up): a transient fault taken for a lasting one fails here
CONVERGE_TIMEOUT = 60.0
LOG_LEVEL = re.compile(r"\[(ERROR|WARNING|CRITICAL)\]")


@dataclass
class Figures:
    fault: str
    outage: float = 0.0  # seconds the API was down, or the window lasted
    deploying_at_fault: int = 0  # resources whose Azure endpoint was still deploying when the fault began
    converge_after: float = 0.0  # from the end of the fault (the API back, the window closed) to converged
    calls: dict[str, int] = field(default_factory=dict)  # Azure calls from the fault on, by operation
    endpoints_per_resource: Counter[int] = field(default_factory=Counter)
    left_by_deleted: int = 0  # Azure endpoints of the resources deleted around the fault
    stalled: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    log_lines: list[str] = field(default_factory=list)  # the operator's ERROR and WARNING lines
    proxy: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        per_op = ", ".join(f"{op} {n}" for op, n in sorted(self.calls.items())) or "none"
        levels = Counter(m.group(1) for line in self.log_lines if (m := LOG_LEVEL.search(line)))
        out = [
            f"kube faults, {self.fault}: seed {SEED}, {2 * PER_KIND} of each kind ({', '.join(KINDS)})",
            f"  outage {self.outage:.1f} s; {self.deploying_at_fault} resources deploying when it began",
            f"  converged {self.converge_after:.1f} s after the fault ended",
            f"  Azure calls from the fault's start on ({sum(self.calls.values())}): {per_op}",
            f"  endpoints per live resource: {dict(sorted(self.endpoints_per_resource.items()))}; "
            f"left by the deleted ones: {self.left_by_deleted}",
            f"  Stalled seen: {dict(self.stalled) or 'none'}; operator restarts: {self.restarts}",
            f"  operator log: {levels.get('ERROR', 0)} ERROR, {levels.get('WARNING', 0)} WARNING",
        ]
        if self.proxy:
            out.insert(2, f"  proxy: {self.proxy}")
        out += [f"    {line[:300]}" for line in self.log_lines[:20]]
        return out


@pytest.fixture(scope="module")
def own_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    cluster = Kube(tmp_path_factory.mktemp("kube-faults")).start()
    try:
        cluster.apply_crds()
        yield cluster
    finally:
        cluster.stop()


class Scenario:
    """One run: a simulator and an operator on `kubeconfig`, two batches of resources, a fault, changes."""

    def __init__(self, kube: Kube, workdir: Path, kubeconfig: Path, fault: str) -> None:
        self.kube, self.workdir = kube, workdir
        self.namespace = kube.create_namespace(unique_name("kube-faults"))
        limits = ["--rate-limit", "0", "--quota", "1000", "--voice-quota", "1000", "--seed", str(SEED)]
        self.simulator = Simulator(workdir, time_scale=READY_SCALE, extra_args=limits)
        self.operator = Operator(workdir, kubeconfig, extra_args=["--azure-budget-requests", "1000"])
        self.figures = Figures(fault)
        self.uids: dict[str, str] = {}  # "<kind>/<name>" -> uid
        self.deleted: set[str] = set()
        self.suspended: set[str] = set()

    def names(self, batch: int) -> list[tuple[str, str]]:
        return [(kind, f"{short(kind)}{batch * PER_KIND + i}") for kind in KINDS for i in range(PER_KIND)]

    def create(self, batch: int) -> None:
        self.kube.apply(
            [resource(kind, name, self.simulator) for kind, name in self.names(batch)], self.namespace
        )
        for kind, name in self.names(batch):
            obj = self.kube.get(kind, name, self.namespace)
            assert obj is not None
            self.uids[f"{kind}/{name}"] = obj["metadata"]["uid"]

    def endpoints(self) -> dict[str, list[str]]:
        """The Azure endpoints of every resource created, by "<kind>/<name>": speech ones found by their tag
        in Azure's own list (counted by the simulator as Azure calls, so read at the end only)."""
        return {
            key: owned_endpoints(self.simulator, key.split("/")[0], uid) for key, uid in self.uids.items()
        }

    def unconverged(self) -> list[str]:
        """What is not converged yet; a Stalled condition seen is recorded on the way. Azure is read through
        the simulator's control API (not counted): every endpoint there must be the one a live resource's
        status names, one per live resource (voice ids are derived from the resource's uid: any of them)."""
        waiting = []
        named: dict[str, str] = {}  # endpoint id -> the resource whose status names it
        for key in self.uids:
            kind, name = key.split("/")
            obj = self.kube.get(kind, name, self.namespace)
            if key in self.deleted:
                if obj is not None:
                    waiting.append(f"{key} still exists")
                continue
            status = (obj or {}).get("status") or {}
            if status.get("endpointId"):
                named[status["endpointId"]] = key
            stalled = self.kube.condition(obj, "Stalled") or {}
            if stalled.get("status") == "True":
                self.figures.stalled[f"{key}: {stalled.get('reason')}"] += 1
            wanted = {"Ready": "True"}
            if kind == "VoiceEndpoint":
                wanted["Suspended"] = "True" if key in self.suspended else "False"
            generation = (obj or {}).get("metadata", {}).get("generation")
            for type_, value in wanted.items():
                condition = self.kube.condition(obj, type_) or {}
                if condition.get("status") != value or condition.get("observedGeneration") != generation:
                    waiting.append(f"{key}: {type_} {condition or 'missing'}")
        in_azure = set(self.azure_states())
        waiting += [f"endpoint {e} in Azure is no live resource's" for e in sorted(in_azure - set(named))]
        waiting += [f"{key}: endpoint {e} not in Azure" for e, key in named.items() if e not in in_azure]
        return waiting

    def converge(self, what: str) -> None:
        last: list[str] = []

        def done() -> bool:
            last[:] = self.unconverged()
            return not last

        try:
            wait_for(done, CONVERGE_TIMEOUT, what, interval=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nnot converged:\n  " + "\n  ".join(last)) from None

    def change(self) -> None:
        """A model change, a suspend and a deletion of each kind, on resources Ready before the fault."""
        model = {"customModelId": CUSTOM_EN_US_DEPLOYABLE, "baseModelId": None}  # a merge patch
        for target, spec in (
            ("speechendpoint/speech0", {"model": model}),
            ("voiceendpoint/voice0", {"suspended": True}),
        ):
            patch = json.dumps({"spec": spec})
            self.kube.kubectl("patch", "-n", self.namespace, target, "--type", "merge", "-p", patch)
        self.suspended.add("VoiceEndpoint/voice0")
        self.kube.kubectl(
            "delete", "-n", self.namespace, "speechendpoint/speech1", "voiceendpoint/voice1", "--wait=false"
        )
        self.deleted |= {"SpeechEndpoint/speech1", "VoiceEndpoint/voice1"}

    def run(self, fault: Callable[[Scenario], None]) -> Figures:
        """`fault` strikes (and calls `change` when it fits) and returns when the API is healthy again."""
        self.simulator.start()
        try:
            self.kube.apply(self.simulator.credentials_secret(self.namespace), self.namespace)
            self.operator.start()
            process = self.operator.process
            self.create(0)
            self.converge("the first batch Ready")
            self.simulator.configure(timeScale=DEPLOYING_SCALE)
            self.create(1)
            ids = wait_for(self.second_batch_in_azure, 60, "the second batch's creates in Azure")
            states = self.azure_states()
            self.figures.deploying_at_fault = sum(states.get(i) != "Succeeded" for i in ids)
            self.simulator.reset_requests()
            fault(self)
            back = time.monotonic()
            self.converge("every resource converged after the fault")
            self.figures.converge_after = time.monotonic() - back
            served = self.simulator.requests().get("operations") or {}
            self.figures.calls = {op: sum(by_status.values()) for op, by_status in served.items()}
            owned = self.endpoints()
            self.figures.endpoints_per_resource = Counter(
                len(ids) for key, ids in owned.items() if key not in self.deleted
            )
            self.figures.left_by_deleted = sum(len(owned[key]) for key in self.deleted)
            self.check_acted_on()
            running = self.operator.running and self.operator.process is process
            self.figures.restarts = self.operator.starts - 1 + (not running)
        finally:
            self.operator.stop()
            self.simulator.stop()
            self.figures.log_lines = [
                line for line in self.operator.logs().splitlines() if LOG_LEVEL.search(line)
            ]
        return self.figures

    def azure_states(self) -> dict[str, str]:
        """Every endpoint in Azure and its status, from the simulator's control API (not counted)."""
        return {e["id"]: e["status"] for e in self.simulator.endpoints()["endpoints"]}

    def second_batch_in_azure(self) -> list[str] | None:
        """The second batch's endpoint ids once each is in Azure (the operator writes the id to the status
        right after the create)."""
        ids = []
        for kind, name in self.names(1):
            obj = self.kube.get(kind, name, self.namespace) or {}
            ids.append((obj.get("status") or {}).get("endpointId"))
        in_azure = self.azure_states()
        return ids if all(i in in_azure for i in ids) else None

    def check_acted_on(self) -> None:
        """The changes made around the fault reached Azure."""
        obj = self.kube.get("SpeechEndpoint", "speech0", self.namespace)
        assert obj is not None and obj["status"]["model"]["id"] == CUSTOM_EN_US_DEPLOYABLE
        views = {e["id"]: e for e in self.simulator.endpoints()["endpoints"]}
        (speech0,) = self.endpoints()["SpeechEndpoint/speech0"]
        assert views[speech0]["servingModel"] == CUSTOM_EN_US_DEPLOYABLE
        (voice0,) = self.endpoints()["VoiceEndpoint/voice0"]
        assert views[voice0]["status"] == "Disabled"


def report(figures: Figures, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(figures.lines()), flush=True)
    assert figures.restarts == 0, "the operator exited or was restarted"
    assert not figures.stalled, f"Stalled seen: {dict(figures.stalled)}"
    assert set(figures.endpoints_per_resource) == {1} and figures.left_by_deleted == 0
    # ERROR is for someone who must act, WARNING for a resource that needs a person: neither here
    assert not figures.log_lines, "logged for a transient API fault:\n" + "\n".join(figures.log_lines)


@pytest.mark.timeout(300)
def test_apiserver_restart(own_kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    control_plane = own_kube.control_plane
    assert control_plane is not None
    scenario = Scenario(own_kube, tmp_path, own_kube.operator_kubeconfig(), "apiserver restart")

    def restart(run: Scenario) -> None:
        started = time.monotonic()
        control_plane.stop_apiserver(grace=KILL_AFTER)
        time.sleep(max(0.0, started + OUTAGE - time.monotonic()))  # the outage itself: nothing to poll for
        control_plane.start_apiserver()
        run.figures.outage = time.monotonic() - started
        run.change()  # right after it is back: only a resumed watch tells the operator

    report(scenario.run(restart), capsys)


@pytest.mark.timeout(300)
def test_apiserver_429_500(own_kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    control_plane = own_kube.control_plane
    assert control_plane is not None and control_plane.pki is not None
    pki = control_plane.pki
    proxy = FaultyProxy(
        own_kube.url,
        ca_cert=pki.ca_cert,
        serving_cert=pki.serving_cert,
        serving_key=pki.serving_key,
        seed=SEED,
    ).start()
    config = yaml.safe_load(own_kube.operator_kubeconfig().read_text())
    config["clusters"][0]["cluster"]["server"] = proxy.url
    kubeconfig = tmp_path / "proxied.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kubeconfig.chmod(0o600)
    scenario = Scenario(own_kube, tmp_path, kubeconfig, f"apiserver answers {FAULT_RATE:.0%} 429/500")

    def window(run: Scenario) -> None:
        started = time.monotonic()
        proxy.faults(FAULT_RATE)
        time.sleep(WINDOW / 2)  # the window's length is the fault itself: nothing to poll for
        run.change()  # in the window: the operator hears of it through the faulty API
        time.sleep(max(0.0, started + WINDOW - time.monotonic()))
        proxy.faults(0)
        run.figures.outage = time.monotonic() - started

    try:
        figures = scenario.run(window)
    finally:
        proxy.stop()
    figures.proxy = {
        "requests": dict(proxy.requests),
        "in the window": dict(proxy.in_window),
        "injected": dict(sorted(proxy.injected.items())),
    }
    report(figures, capsys)
    assert proxy.injected, "no fault was injected"
