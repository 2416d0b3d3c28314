"""`make demo`: the operator end to end on this machine, with no cluster and no Azure account.

Starts a real Kubernetes control plane (tests/controlplane: etcd, kube-apiserver, kube-controller-manager),
the Azure simulator and `azure-speech-operator run` under the ServiceAccount and RBAC of deploy/; applies
crds/ and examples/ (pointed at the simulator, with a credentials Secret holding the simulator's key); waits
until each example is Ready; prints `kubectl get` of the kinds the operator serves; then deletes the examples
(watching the operator remove their Azure endpoints: the demo fails if simulated Azure still holds one it
created) and stops everything.

`--keep` (`make demo KEEP=1`) leaves the processes running and prints how to point kubectl at them and
what to try;
`python -m tests.demo --stop` (`make demo-stop`) stops them later.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane import kubernetes_version
from tests.e2e.harness import REPO, HarnessError, Kube, Operator, Process, Simulator, wait_for

GROUP = "speech.azure-operator.io"
DEMO_NAMESPACE = "demo"
STATE = REPO / "demo-state"
# The example whose model the demo changes, and the simulator's second deployable en-US custom model.
REDEPLOY_EXAMPLE = "claims-en"
REDEPLOY_TO = "c0570008-0000-4000-8000-000000000008"
VOICE_EXAMPLE = "jessica"
VOICE_SWAP_TO = "JessicaV2"
# `make demo-stop`: clients before servers, etcd last
STOP_ORDER = ("operator", "simulator", "kube-controller-manager", "kube-apiserver", "etcd")


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


def load_examples(directory: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict))
    return docs


def point_at_simulator(docs: list[dict[str, Any]], simulator: Simulator) -> list[dict[str, Any]]:
    """The examples as the demo applies them: custom resources call the simulator (their `spec.azure`
    endpoint), and every credentials Secret they name exists and holds the simulator's key."""
    out = [copy.deepcopy(doc) for doc in docs]
    for doc in out:
        if doc.get("kind") != "Namespace":
            doc.setdefault("metadata", {}).setdefault("namespace", DEMO_NAMESPACE)
    secrets = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d for d in out if d.get("kind") == "Secret"
    }
    for doc in custom_resources(out):
        namespace = doc["metadata"]["namespace"]
        azure = doc.setdefault("spec", {}).setdefault("azure", {})
        azure.pop("region", None)
        azure["endpoint"] = simulator.url
        ref = (azure.get("credentials") or {}).get("secretRef")
        if not ref:
            continue
        key = ref.get("key", "key")
        secret = secrets.get((namespace, ref["name"]))
        if secret is None:
            secret = simulator.credentials_secret(namespace, ref["name"], key)
            secrets[(namespace, ref["name"])] = secret
            out.append(secret)
        else:
            secret.pop("data", None)
            secret["stringData"] = {**(secret.get("stringData") or {}), key: simulator.key}
    namespaces = {d["metadata"]["namespace"] for d in out if d.get("kind") != "Namespace"}
    declared = {d["metadata"]["name"] for d in out if d.get("kind") == "Namespace"}
    extra = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in sorted(namespaces - declared)
    ]
    # namespaces first, then Secrets, then the rest, as a user would apply them
    order = {"Namespace": 0, "Secret": 1}
    return sorted(extra + out, key=lambda d: order.get(d.get("kind", ""), 2))


def show_redeploy(kube: Kube, name: str, model_id: str, timeout: float) -> list[str]:
    """Patches the custom model and reports what the resource shows until the new model serves: Ready
    False (Redeploying) while Available stays True and status.servingModel names the old model."""
    patch = {"spec": {"model": {"customModelId": model_id}}}
    kube.kubectl(
        "patch", "speechendpoint", name, "-n", DEMO_NAMESPACE, "--type=merge", "-p", json.dumps(patch)
    )
    seen: list[str] = []
    started = time.monotonic()

    def observe() -> bool:
        obj = kube.get("SpeechEndpoint", name, DEMO_NAMESPACE) or {}
        status = obj.get("status", {})
        conditions = {c["type"]: c for c in status.get("conditions", [])}
        ready, available = conditions.get("Ready", {}), conditions.get("Available", {})
        serving = (status.get("servingModel") or status.get("model") or {}).get("id", "?")
        line = (
            f"Ready={ready.get('status')} ({ready.get('reason')})  Available={available.get('status')}  "
            f"azureStatus={status.get('azureStatus')}  serving={serving}"
        )
        if not seen or seen[-1].split("  [")[0] != line:
            seen.append(f"{line}  [{time.monotonic() - started:.1f}s]")
        current = status.get("observedGeneration") == obj.get("metadata", {}).get("generation")
        return bool(
            current and ready.get("status") == "True" and status.get("model", {}).get("id") == model_id
        )

    wait_for(observe, timeout=timeout, what=f"{name} to serve model {model_id}", interval=0.2)
    return seen


def patch_voice(kube: Kube, name: str, spec: dict[str, Any]) -> None:
    patch = json.dumps({"spec": spec})
    kube.kubectl("patch", "voiceendpoint", name, "-n", DEMO_NAMESPACE, "--type=merge", "-p", patch)


def get_vce(kube: Kube, name: str) -> list[str]:
    return kube.kubectl("get", "vce", name, "-n", DEMO_NAMESPACE).stdout.rstrip().splitlines()


def show_voice(kube: Kube, name: str, swap_to: str, timeout: float) -> list[tuple[str, list[str]]]:
    """Suspends, resumes and swaps the voice endpoint `name`, with `kubectl get vce` after each step; the
    swap's lines show status.endpointId staying on the old endpoint until the new one is Succeeded."""
    shown: list[tuple[str, list[str]]] = []
    patch_voice(kube, name, {"suspended": True})
    kube.wait_condition("VoiceEndpoint", name, DEMO_NAMESPACE, "Suspended", timeout=timeout)
    shown.append(("suspended: true -> Azure disables it (no charge while suspended)", get_vce(kube, name)))
    patch_voice(kube, name, {"suspended": False})
    kube.wait_condition("VoiceEndpoint", name, DEMO_NAMESPACE, "Ready", timeout=timeout)
    shown.append(("suspended: false -> resumed", get_vce(kube, name)))
    before = (kube.get("VoiceEndpoint", name, DEMO_NAMESPACE) or {}).get("status", {}).get("endpointId")
    patch_voice(kube, name, {"modelId": swap_to})
    seen: list[str] = []
    started = time.monotonic()

    def observe() -> bool:
        status = (kube.get("VoiceEndpoint", name, DEMO_NAMESPACE) or {}).get("status", {})
        ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
        new = status.get("newEndpoint") or {}
        line = (
            f"Ready={ready.get('status')} ({ready.get('reason')})  serving {status.get('endpointId')} "
            f"({status.get('modelId')})  new: {new.get('id', '-')} {new.get('azureStatus', '')}".rstrip()
        )
        if not seen or seen[-1].split("  [")[0] != line:
            seen.append(f"{line}  [{time.monotonic() - started:.1f}s]")
        return ready.get("status") == "True" and status.get("endpointId") not in (None, before)

    wait_for(observe, timeout=timeout, what=f"{name} to swap to model {swap_to}", interval=0.2)
    shown.append((f"modelId: {swap_to} -> blue/green swap", [*seen, "", *get_vce(kube, name)]))
    return shown


def served_kinds(operator: Operator) -> list[str]:
    match = re.search(r"operator started: serving (.*)", operator.logs())
    if not match:
        return []
    return [kind for kind in ("SpeechEndpoint", "VoiceEndpoint") if kind in match.group(1)]


def custom_resources(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if str(d.get("apiVersion", "")).startswith(GROUP + "/")]


def walkthrough(kube: Kube, simulator: Simulator, plurals: list[str], *, keep: bool) -> str:
    """What the demo did, and (only when it is left running) what to try with it."""
    happened = (
        "\nWhat just happened: the operator saw the examples, created their endpoints in the simulated Azure "
        f"Speech\nresource ({simulator.url}) and reports Azure's state back on each resource."
    )
    if not keep:
        return happened + " To try kubectl on it yourself: make demo KEEP=1"
    kinds = ",".join(plurals) or "crds"
    tries = [
        (f"export KUBECONFIG={kube.kubeconfig}", ""),
        (f"kubectl get {kinds} -A -o wide", "printer columns: Ready, Azure Status, Reason, Model, ..."),
        ("kubectl get azure -A", "every kind of this operator, by their category"),
        (f"kubectl describe spe -n {DEMO_NAMESPACE}", "conditions and events"),
        (
            f"kubectl annotate spe NAME -n {DEMO_NAMESPACE} "
            'speech.azure-operator.io/reconcile-requested-at="$(date -Is)"',
            "reconcile now",
        ),
        (f"kubectl delete spe NAME -n {DEMO_NAMESPACE}", "the operator deletes the Azure endpoint first"),
        (f"curl -s {simulator.url}/_sim/endpoints", "what the simulated Azure holds"),
        (f"curl -s {simulator.url}/_sim/requests", "every call the operator made"),
    ]
    width = max(len(command) for command, note in tries if note and len(command) < 70)
    lines = [f"  {command.ljust(width)}   # {note}" if note else f"  {command}" for command, note in tries]
    return (
        happened
        + " Try:\n\n"
        + "\n".join(lines)
        + "\n\nThe operator runs as the ServiceAccount azure-speech-operator/azure-speech-operator, "
        "with only the ClusterRole in deploy/."
    )


def stop_kept(state: Path) -> bool:
    """Stops a demo left running with --keep; False when none was (silent: `make demo` calls it first)."""
    pids_file = state / "pids.json"
    if not pids_file.exists():
        return False
    pids: dict[str, int] = json.loads(pids_file.read_text())
    for name in STOP_ORDER:
        pid = pids.get(name)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            say(f"stopped {name} (pid {pid})")
        except ProcessLookupError:
            pass
    for pid in pids.values():
        _wait_gone(pid)
    pids_file.unlink()
    return True


def _wait_gone(pid: int, timeout: float = 20.0) -> None:
    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    try:
        wait_for(gone, timeout, f"pid {pid} to exit", interval=0.1)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)


def run(keep: bool, state: Path, timeout: float, examples: Path = REPO / "examples") -> int:
    if shutil.which("kubectl") is None:
        say("kubectl is not on PATH: `make install` builds kubectl into .venv/bin")
        return 1
    stop_kept(state)
    Process.outlive_parent = keep  # KEEP=1: everything runs on after this command ends
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    kube = Kube(state)
    simulator = Simulator(state, time_scale=0.01)
    operator: Operator | None = None
    kept = False
    try:
        parts = "etcd, kube-apiserver, kube-controller-manager"
        step(f"Starting a Kubernetes {kubernetes_version()} control plane ({parts})")
        kube.start()
        say(f"    {kube.url}   kubeconfig: {kube.kubeconfig}")
        step("Starting the Azure Speech simulator (azure-speech-operator simulate-azure)")
        simulator.start()
        say(f"    {simulator.url}")
        seeded = endpoint_ids(simulator.endpoints())  # what Azure holds before the demo creates anything
        step("Applying the CRDs in crds/")
        for name in kube.apply_crds():
            say(f"    {name}: Established")
        step("Starting the operator (azure-speech-operator run, all namespaces) with the RBAC of deploy/")
        operator = Operator(state, kube.operator_kubeconfig())
        operator.start()
        kinds = served_kinds(operator)
        say(f"    ready; serving: {', '.join(kinds) or 'no kinds yet (no reconciler is built in)'}")
        docs = point_at_simulator(load_examples(examples), simulator)
        objects = custom_resources(docs)
        if docs:
            step("Applying examples/ (pointed at the simulator, with its key in the credentials Secret)")
            for line in kube.apply(docs).splitlines():
                say(f"    {line}")
        else:
            say("\n(examples/ holds no manifests yet)")
        for obj in objects:
            kind, meta = obj["kind"], obj["metadata"]
            label = f"{kind} {meta['namespace']}/{meta['name']}"
            if kind not in kinds:
                say(f"    {label}: not reconciled (this build has no {kind} reconciler yet)")
                continue
            started = time.monotonic()
            kube.wait_condition(kind, meta["name"], meta["namespace"], "Ready", timeout=timeout)
            say(f"    {label}: Ready after {time.monotonic() - started:.1f}s")
        if "SpeechEndpoint" in kinds and any(o["metadata"]["name"] == REDEPLOY_EXAMPLE for o in objects):
            step(f"Changing the model of {REDEPLOY_EXAMPLE}: Azure redeploys, the old model keeps serving")
            for line in show_redeploy(kube, REDEPLOY_EXAMPLE, REDEPLOY_TO, timeout):
                say(f"    {line}")
        if "VoiceEndpoint" in kinds and any(o["metadata"]["name"] == VOICE_EXAMPLE for o in objects):
            step(f"kubectl get vce {VOICE_EXAMPLE}: suspend, resume and a swap to model {VOICE_SWAP_TO}")
            for what, lines in show_voice(kube, VOICE_EXAMPLE, VOICE_SWAP_TO, timeout):
                say(f"  {what}")
                for line in lines:
                    say(f"    {line}")
        plurals = [
            crd["spec"]["names"]["plural"]
            for crd in kube.list("CustomResourceDefinition")
            if crd["spec"]["group"] == GROUP
        ]
        if plurals:
            step(f"kubectl get {','.join(plurals)} -A")
            say(kube.kubectl("get", ",".join(plurals), "-A").stdout.rstrip() or "    (none)")
        if objects:
            step(f"kubectl get events -n {DEMO_NAMESPACE} --sort-by=.lastTimestamp")
            events = kube.kubectl("get", "events", "-n", DEMO_NAMESPACE, "--sort-by=.lastTimestamp").stdout
            say(events.rstrip() or "    (none)")
        say(walkthrough(kube, simulator, plurals, keep=keep))
        if keep:
            processes = [simulator.process, operator.process, *kube.processes()]
            pids = {
                proc.name: proc.proc.pid for proc in processes if proc is not None and proc.proc is not None
            }
            (state / "pids.json").write_text(json.dumps(pids))
            kept = True
            step("Left running (KEEP=1)")
            say(f"    export KUBECONFIG={kube.kubeconfig}")
            say(f"    logs: {state}/{{simulator,operator}}.log, {state}/controlplane/*.log")
            say("    stop it with: make demo-stop")
            return 0
        if objects:
            step("Deleting the examples: the operator removes their Azure endpoints, then its finalizer")
            for obj in reversed(objects):
                kind, meta = obj["kind"], obj["metadata"]
                if kind not in kinds:
                    kube.kubectl(
                        "delete",
                        kind.lower() + "." + GROUP,
                        meta["name"],
                        "-n",
                        meta["namespace"],
                        "--wait=false",
                        check=False,
                    )
                    continue
                started = time.monotonic()
                kube.delete(kind, meta["name"], meta["namespace"], timeout=timeout)
                elapsed = time.monotonic() - started
                say(f"    {kind} {meta['namespace']}/{meta['name']}: gone after {elapsed:.1f}s")
            check_endpoints_gone(simulator, seeded)
            say(f"    simulated Azure now holds {len(endpoint_ids(simulator.endpoints()))} endpoint(s)")
        step("Demo finished: stopping the operator, the simulator and the control plane")
        return 0
    except (HarnessError, AssertionError) as exc:
        say(f"\nDEMO FAILED: {exc}")
        for name, text in (
            ("operator", operator.logs() if operator else ""),
            ("simulator", simulator.logs()),
            ("kube-apiserver", kube.logs()),
        ):
            say(f"\n--- last lines of the {name} log ---")
            say("\n".join(text.splitlines()[-40:]))
        return 1
    finally:
        if not kept:
            if operator is not None:
                operator.stop()
            simulator.stop()
            kube.stop()


def endpoint_ids(listing: Any) -> set[str]:
    """The endpoint ids in a `GET /_sim/endpoints` answer (`{"endpoints": [{"id": ...}, ...]}`)."""
    items = listing.get("endpoints") if isinstance(listing, dict) else None
    return {str(e["id"]) for e in items or [] if isinstance(e, dict) and "id" in e}


def leftover_endpoints(seeded: set[str], listing: Any) -> list[str]:
    """The endpoints in `listing` the demo created: every one not there before it applied the examples."""
    return sorted(endpoint_ids(listing) - seeded)


def check_endpoints_gone(simulator: Simulator, seeded: set[str], timeout: float = 15.0) -> None:
    """Fails the demo (AssertionError) if, after the examples were deleted, simulated Azure still holds an
    endpoint the demo created (a voice swap's old endpoint included): deleting a resource must delete its
    Azure endpoints. Waits a little: a deletion may still be on its way."""
    left: list[str] = []

    def gone() -> bool:
        left[:] = leftover_endpoints(seeded, simulator.endpoints())
        return not left

    try:
        wait_for(gone, timeout, "the demo's Azure endpoints to be deleted", interval=0.2)
    except AssertionError:
        raise AssertionError(
            f"simulated Azure still holds {len(left)} endpoint(s) the demo created after deleting the "
            f"examples: {', '.join(left)} (see {simulator.url}/_sim/endpoints)"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave everything running (make demo KEEP=1)")
    parser.add_argument("--stop", action="store_true", help="stop a demo left running with --keep")
    parser.add_argument(
        "--state-dir", type=Path, default=STATE, help="logs, kubeconfig and pids (demo-state/)"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each example")
    parser.add_argument("--examples", type=Path, default=REPO / "examples", help="manifests to apply")
    args = parser.parse_args(argv)
    if args.stop:
        if not stop_kept(args.state_dir):
            say(f"no demo is running (no {args.state_dir}/pids.json)")
        return 0
    return run(args.keep, args.state_dir, args.timeout, args.examples)


if __name__ == "__main__":
    sys.exit(main())
