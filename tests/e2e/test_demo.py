"""`make demo` end to end (python -m tests.demo), and how it points the examples at the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.demo import VOICE_EXAMPLE, VOICE_SWAP_TO, leftover_endpoints, point_at_simulator

from .harness import REPO, Simulator, kubectl_path


class FakeSimulator(Simulator):
    def __init__(self) -> None:
        self.url = "http://127.0.0.1:9999"
        self.key = "sim-key"


def test_examples_are_pointed_at_the_simulator_with_its_key() -> None:
    docs = [
        {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": "SpeechEndpoint",
            "metadata": {"name": "a"},
            "spec": {"azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "creds"}}}},
        },
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"key": "paste"}},
        {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": "SpeechEndpoint",
            "metadata": {"name": "b", "namespace": "other"},
            "spec": {"azure": {"region": "x", "credentials": {"secretRef": {"name": "more", "key": "k"}}}},
        },
    ]
    out = point_at_simulator(docs, FakeSimulator())
    kinds = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in out]
    assert kinds == [
        ("Namespace", None, "demo"),
        ("Namespace", None, "other"),
        ("Secret", "demo", "creds"),
        ("Secret", "other", "more"),
        ("SpeechEndpoint", "demo", "a"),
        ("SpeechEndpoint", "other", "b"),
    ]
    assert out[2]["stringData"] == {"key": "sim-key"}
    assert out[3]["data"] == {"k": "c2ltLWtleQ=="}
    assert out[4]["spec"]["azure"] == {
        "endpoint": "http://127.0.0.1:9999",
        "credentials": {"secretRef": {"name": "creds"}},
    }
    assert docs[0]["spec"]["azure"]["region"] == "westeurope"  # the input is left alone


def test_endpoints_the_demo_left_in_azure_are_found() -> None:
    listing = {"endpoints": [{"id": "seeded", "status": "Succeeded"}, {"id": "made", "status": "Running"}]}
    assert leftover_endpoints({"seeded"}, listing) == ["made"]
    assert leftover_endpoints({"seeded"}, {"endpoints": [{"id": "seeded"}]}) == []


def test_demo_runs_to_its_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.demo", "--state-dir", str(tmp_path / "state"), "--timeout", "120"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    # Exit 0 also means Azure holds none of the endpoints the demo created once it deleted the examples:
    # tests/demo.py (check_endpoints_gone) fails the demo, non-zero, when one is left.
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Established" in out
    assert "Demo finished" in out
    assert "simulated Azure now holds 0 endpoint(s)" in out  # the check ran (the default seed has none)
    # nothing to try once it is torn down: the kubectl hints come only with --keep (make demo KEEP=1)
    assert "export KUBECONFIG" not in out and "make demo KEEP=1" in out
    for path in sorted((REPO / "examples").glob("*.yaml")):
        if "kind: SpeechEndpoint" in path.read_text():
            assert ": Ready after" in out
    if f"name: {VOICE_EXAMPLE}" in (REPO / "examples" / "voiceendpoint.yaml").read_text():
        _check_voice_section(out)
    assert not list((tmp_path / "state").glob("pids.json"))


def _check_voice_section(out: str) -> None:
    """The VoiceEndpoint part of the demo (tests/demo.py show_voice): `kubectl get vce` after suspend,
    resume and swap, and the swap's status lines naming the old endpoint until the new one serves."""
    heading = f"==> kubectl get vce {VOICE_EXAMPLE}: suspend, resume and a swap to model {VOICE_SWAP_TO}"
    assert heading in out, out[-6000:]
    section = out.split(heading, 1)[1].split("\n==> ", 1)[0]
    parts = re.split(r"^  (?=\S)", section, flags=re.MULTILINE)
    steps = {part.splitlines()[0]: [line.strip() for line in part.splitlines()[1:]] for part in parts[1:]}
    suspended, resumed, swap = (
        steps.get("suspended: true -> Azure disables it (no charge while suspended)"),
        steps.get("suspended: false -> resumed"),
        steps.get(f"modelId: {VOICE_SWAP_TO} -> blue/green swap"),
    )
    assert suspended and resumed and swap, section

    first = _vce_row(suspended)
    assert (first["READY"], first["AZURE STATUS"], first["SUSPENDED"]) == ("True", "Disabled", "True"), first
    old = first["ENDPOINT"]
    assert _vce_row(resumed) | {"AGE": "", "MESSAGE": ""} == first | {
        "AZURE STATUS": "Succeeded",
        "SUSPENDED": "False",
        "AGE": "",
        "MESSAGE": "",
    }, resumed

    # status lines while swapping, then `kubectl get vce` once it is done
    lines, table = swap[: swap.index("")], swap[swap.index("") + 1 :]
    serving = [re.search(r"serving (\S+) \((\S+)\)", line) for line in lines]
    assert all(serving) and len(lines) >= 2, lines
    endpoints = [m.group(1) for m in serving if m]
    new = endpoints[-1]
    assert endpoints[0] == old and new != old, lines
    # the old endpoint serves until the switch, the new one from then on: never anything else
    switch = endpoints.index(new)
    assert set(endpoints[:switch]) == {old} and set(endpoints[switch:]) == {new}, lines
    assert any("(Redeploying)" in line and f"new: {new}" in line for line in lines[:switch]), lines
    assert lines[-1].startswith("Ready=True (Ready)") and f"({VOICE_SWAP_TO})" in lines[-1], lines
    last = _vce_row(table)
    assert (last["READY"], last["AZURE STATUS"], last["SUSPENDED"], last["ENDPOINT"]) == (
        "True",
        "Succeeded",
        "False",
        new,
    ), table


def _vce_row(table: list[str]) -> dict[str, str]:
    """The one row of a `kubectl get vce NAME` table, by its column headings."""
    assert len(table) == 2 and table[0].startswith("NAME"), table
    header, row = table
    starts = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    ends = [start for start, _ in starts[1:]] + [len(row)]
    return {name: row[start:end].strip() for (start, name), end in zip(starts, ends, strict=True)}


def test_kept_demo_serves_kubectl_until_stopped(tmp_path: Path) -> None:
    """`make demo KEEP=1` then `make demo-stop` (with no examples, so it does not wait for deployments)."""
    state = tmp_path / "state"
    (tmp_path / "none").mkdir()
    demo = [sys.executable, "-m", "tests.demo", "--state-dir", str(state)]
    kept = subprocess.run(
        [*demo, "--keep", "--examples", str(tmp_path / "none")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert kept.returncode == 0, kept.stdout[-4000:] + kept.stderr[-2000:]
    kubeconfig = state / "controlplane" / "admin.kubeconfig"
    assert f"export KUBECONFIG={kubeconfig}" in kept.stdout and "make demo-stop" in kept.stdout
    assert "kubectl get azure -A" in kept.stdout and "both kinds" not in kept.stdout  # one kind is built
    pids = json.loads((state / "pids.json").read_text())
    assert sorted(pids) == ["etcd", "kube-apiserver", "kube-controller-manager", "operator", "simulator"]
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(tmp_path / "cache"))
    listed = subprocess.run(
        [kubectl_path(), "get", "crd", "-o", "name"], env=env, capture_output=True, text=True
    )
    assert "speechendpoints.speech.azure-operator.io" in listed.stdout, listed.stderr
    stopped = subprocess.run([*demo, "--stop"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not (state / "pids.json").exists()
    assert not [pid for pid in pids.values() if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return "(zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
