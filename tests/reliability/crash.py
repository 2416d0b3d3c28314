"""Crash consistency (issue 12 item 1): SpeechEndpoints and VoiceEndpoints created, redeployed, suspended,
resumed, swapped and deleted while the operator is SIGKILLed and restarted, and Azure loses answers to writes;
afterwards every live resource has exactly one Azure endpoint (two only inside a voice swap's grace period),
deleted ones none, and every resource converged.

Each round, from a seeded random generator (`--seed`, printed):
- changes: replacements for last round's deletions are created; each live SpeechEndpoint may get a model
  change (a PATCH that redeploys) or be deleted; each live VoiceEndpoint may be suspended or resumed,
  swapped to the other model (a PUT of a new endpoint, the old one deleted after `swapGracePeriod`) or
  deleted;
- lost answers: one `reset` fault, phase `after` (done in Azure, the answer lost), for every write operation;
- a kill at a deterministic point: the operator is SIGKILLed as soon as the simulator's request log shows the
  k-th create, PATCH, suspend, swap PUT or DELETE of the round committed (the point cycles through the five);
- a kill at a seeded random moment after that restart;
- then convergence is polled for, and the endpoints in Azure counted per resource.

`python -m tests.reliability.crash --resources 50 --rounds 20` runs it on a control plane of its own;
`tests/reliability/test_crash.py` runs it under pytest (short profile, `CRASH_PROFILE=full` for the full one).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure_speech_operator.azure.voice import deterministic_endpoint_id
from azure_speech_operator.simulator.seed import (
    BASE_EN_US_CURRENT,
    CUSTOM_EN_US_DEPLOYABLE,
    CUSTOM_EN_US_DEPLOYABLE_2,
    VOICE_MODEL,
    VOICE_MODEL_2,
)
from azure_speech_operator.speechendpoint.spec import MARKER_KEY

from tests.e2e.harness import (
    Kube,
    Operator,
    Simulator,
    wait_for,
)
from tests.e2e.test_speech_lifecycle import endpoints_of
from tests.e2e.test_speech_lifecycle import manifest as speech_manifest
from tests.e2e.test_voice_lifecycle import manifest as voice_manifest
from tests.e2e.test_voice_lifecycle import voice_endpoints

DESCRIPTION = "crash consistency of the operator under SIGKILL and lost answers (issue 12 item 1)"
DEFAULT_SEED = 20261206
SPEECH, VOICE = "SpeechEndpoint", "VoiceEndpoint"
SPEECH_MODELS = (
    {"baseModelId": BASE_EN_US_CURRENT},
    {"customModelId": CUSTOM_EN_US_DEPLOYABLE},
    {"customModelId": CUSTOM_EN_US_DEPLOYABLE_2},
)
VOICE_MODELS = (VOICE_MODEL, VOICE_MODEL_2)
GRACE = "2s"  # swapGracePeriod: short, so a swap's second endpoint is gone within a round
GRACE_SECONDS = 2.0
# voice endpoint ids a resource can name: deterministic_endpoint_id(uid, n), one n per deployment
VOICE_SEQUENCES = 64

# deterministic kill points: the simulator operations whose k-th committed request triggers the kill
POINTS: dict[str, tuple[str, ...]] = {
    "create": ("Endpoints_Create", "CustomVoice.Endpoints_Create"),
    "patch": ("Endpoints_Update",),
    "suspend": ("CustomVoice.Endpoints_Suspend",),
    "swap": ("CustomVoice.Endpoints_Create",),  # in a swap round no VoiceEndpoint is created: PUTs are swaps
    "delete": ("Endpoints_Delete", "CustomVoice.Endpoints_Delete"),
}
WRITES = (
    "Endpoints_Create",
    "Endpoints_Update",
    "Endpoints_Delete",
    "CustomVoice.Endpoints_Create",
    "CustomVoice.Endpoints_Suspend",
    "CustomVoice.Endpoints_Resume",
    "CustomVoice.Endpoints_Delete",
)


@dataclass(frozen=True)
class Profile:
    resources: int
    rounds: int
    seed: int = DEFAULT_SEED
    time_scale: float = 0.01
    max_random_kill: float = 4.0  # seconds after the deterministic kill's restart
    point_timeout: float = 60.0


PROFILES = {"short": Profile(resources=6, rounds=5), "full": Profile(resources=50, rounds=20)}


def profile_from_env(environ: dict[str, str] | None = None) -> Profile:
    """CRASH_PROFILE (short|full), CRASH_SEED, CRASH_RESOURCES, CRASH_ROUNDS."""
    env = os.environ if environ is None else environ
    name = env.get("CRASH_PROFILE", "short")
    if name not in PROFILES:
        raise ValueError(f"CRASH_PROFILE must be one of {sorted(PROFILES)}, not {name!r}")
    base = PROFILES[name]
    return Profile(
        resources=int(env.get("CRASH_RESOURCES", base.resources)),
        rounds=int(env.get("CRASH_ROUNDS", base.rounds)),
        seed=int(env.get("CRASH_SEED", base.seed)),
    )


@dataclass
class Resource:
    kind: str
    name: str
    model: int = 0
    suspended: bool = False
    uid: str = ""

    def manifest(self, simulator: Simulator) -> dict[str, Any]:
        if self.kind == SPEECH:
            return speech_manifest(simulator, self.name, model=SPEECH_MODELS[self.model])
        return voice_manifest(
            simulator,
            self.name,
            modelId=VOICE_MODELS[self.model],
            suspended=self.suspended,
            swapGracePeriod=GRACE,
        )


@dataclass
class Figures:
    seed: int
    resources: int
    rounds: int = 0
    created: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    points_missed: Counter[str] = field(default_factory=Counter)
    lost_answers: Counter[str] = field(default_factory=Counter)
    endpoints_per_resource: Counter[int] = field(default_factory=Counter)  # at each round's end
    two_in_grace: int = 0  # voice resources seen with two endpoints while converging (a swap's grace)
    leaks: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        def items(counter: Counter[Any]) -> str:
            return ", ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "none"

        return [
            f"crash consistency: seed={self.seed} resources={self.resources} rounds={self.rounds}",
            f"  resources created: {items(self.created)}",
            f"  changes: {items(self.actions)}",
            f"  kills ({sum(self.kills.values())}): {items(self.kills)}",
            f"  deterministic points not reached (no kill): {items(self.points_missed)}",
            f"  lost answers injected ({sum(self.lost_answers.values())}): {items(self.lost_answers)}",
            f"  endpoints per live resource at round ends: {items(self.endpoints_per_resource)}",
            f"  voice resources seen with two endpoints inside a swap's grace period: {self.two_in_grace}",
            f"  leaks={self.leaks} duplicates={self.duplicates}",
            f"  time: {self.seconds:.0f} s",
        ]


class Inconsistent(AssertionError):
    """An invariant broke: the message names the seed, the round and the last kill point."""


def committed(snapshot: dict[str, Any], operations: Iterable[str]) -> int:
    """Requests of these operations done in Azure: answered 2xx, or done and their answer reset."""
    counts = snapshot.get("operations") or {}
    return sum(
        n
        for op in operations
        for status, n in (counts.get(op) or {}).items()
        if status == "reset" or status.startswith("2")
    )


class CrashRun:
    def __init__(
        self,
        kube: Kube,
        simulator: Simulator,
        operator: Operator,
        namespace: str,
        profile: Profile,
        out: Callable[[str], None] = print,
    ) -> None:
        self.kube, self.simulator, self.operator = kube, simulator, operator
        self.namespace, self.profile, self.out = namespace, profile, out
        self.rng = random.Random(profile.seed)
        self.live: dict[str, Resource] = {}
        self.deleted_uids: set[str] = set()
        self.pending_creates: dict[str, int] = {SPEECH: 0, VOICE: 0}
        self.serial = 0
        self.figures = Figures(seed=profile.seed, resources=profile.resources)
        self.last_kill = "none"
        self._voice_ids: dict[str, str] = {}  # voice endpoint id -> uid

    # the run ---------------------------------------------------------------------------------------------

    def run(self) -> Figures:
        start = time.monotonic()
        self.out(f"crash consistency: seed {self.profile.seed} (CRASH_SEED / --seed to change)")
        half = self.profile.resources // 2
        self.pending_creates = {SPEECH: self.profile.resources - half, VOICE: half}
        points = list(POINTS)
        for number in range(self.profile.rounds):
            self.round(number, points[number % len(points)])
            self.figures.rounds += 1
        self.delete_all()
        self.figures.seconds = time.monotonic() - start
        return self.figures

    def round(self, number: int, point: str) -> None:
        started, rng = time.monotonic(), self.rng
        changes: Counter[str] = Counter()
        for kind in (SPEECH, VOICE):
            if point == "swap" and kind == VOICE:
                continue  # every voice PUT of this round is then a swap
            for _ in range(self.pending_creates[kind]):
                self.serial += 1
                name = f"{'s' if kind == SPEECH else 'v'}{self.serial:04d}"
                self.live[name] = Resource(kind, name, model=rng.randrange(2), uid="")
                changes[f"create {kind}"] += 1
            self.pending_creates[kind] = 0
        deletes: list[Resource] = []
        existing = [r for r in self.live.values() if r.uid]
        # first one change of the kind the kill point waits for, then a random draw for the other resources
        touched = self.ensure_point_happens(point, existing, deletes, changes)
        for resource in existing:
            if resource.name in touched:
                continue
            draw = rng.random()
            # one VoiceEndpoint stays running, so a suspend or swap round always has one to act on
            last_running = (
                resource.kind == VOICE and not resource.suspended and self.running_voices(deletes) == 1
            )
            if draw < 0.15 and not last_running:
                deletes.append(resource)
            elif resource.kind == SPEECH and draw < 0.6:
                resource.model = (resource.model + 1) % len(SPEECH_MODELS)
                changes["redeploy speech"] += 1
            elif resource.kind == VOICE and draw < 0.45 and not last_running:
                resource.suspended = not resource.suspended
                changes["suspend voice" if resource.suspended else "resume voice"] += 1
            elif resource.kind == VOICE and draw < 0.75 and not resource.suspended:
                resource.model = 1 - resource.model
                changes["swap voice"] += 1
            else:
                continue
            touched.add(resource.name)
        self.figures.actions.update(changes)
        for kind in (SPEECH, VOICE):
            self.figures.created[kind] += changes[f"create {kind}"]
        expected = {
            "create": changes[f"create {SPEECH}"] + changes[f"create {VOICE}"],
            "patch": changes["redeploy speech"],
            "suspend": changes["suspend voice"],
            "swap": changes["swap voice"],
            "delete": len(deletes),
        }[point]
        k = rng.randint(1, expected) if expected else 0
        pause = rng.uniform(0.0, self.profile.max_random_kill)
        self.out(
            f"round {number}: {dict(sorted(changes.items()))}, delete {len(deletes)}; "
            f"kill at {point} #{k}, then {pause:.2f} s after the restart"
        )

        self.simulator.clear_faults()
        for operation in WRITES:  # the first request of each write this round: done, then the answer lost
            self.simulator.add_fault(operation=operation, kind="reset", phase="after", count=1)
        baseline = self.simulator.requests()
        self.apply(deletes)

        target = committed(baseline, POINTS[point]) + k
        try:
            if not k:
                raise AssertionError("no resource could take the operation")
            wait_for(
                lambda: committed(self.simulator.requests(), POINTS[point]) >= target,
                self.profile.point_timeout,
                f"{point} #{k}",
                interval=0.02,  # quickly: the kill should land right after the write, not a pass later
            )
        except AssertionError:
            self.figures.points_missed[point] += 1
        else:
            self.kill(f"{point} #{k} (round {number})", point)
        time.sleep(pause)  # a seeded random moment: what it waits for is chance itself
        self.kill(f"random {pause:.2f} s (round {number})", "random moment")
        self.converge(number)
        self.simulator.clear_faults()
        self.out(f"round {number}: converged, {len(self.live)} live, {time.monotonic() - started:.0f} s")

    def running_voices(self, deletes: list[Resource]) -> int:
        return sum(r.kind == VOICE and not r.suspended and r not in deletes for r in self.live.values())

    def ensure_point_happens(
        self, point: str, existing: list[Resource], deletes: list[Resource], changes: Counter[str]
    ) -> set[str]:
        """One change of the operations the round's kill point waits for (when some resource can take it;
        else the round has no deterministic kill); returns the names of the resources it changed."""
        running = [r for r in existing if r.kind == VOICE and not r.suspended]
        speech = [r for r in existing if r.kind == SPEECH]
        chosen: Resource | None = None
        if point == "create" and not (changes[f"create {SPEECH}"] + changes[f"create {VOICE}"]):
            self.serial += 1
            self.live[f"s{self.serial:04d}"] = Resource(SPEECH, f"s{self.serial:04d}")
            changes[f"create {SPEECH}"] += 1
        elif point == "patch" and speech:
            chosen = self.rng.choice(speech)
            chosen.model = (chosen.model + 1) % len(SPEECH_MODELS)
            changes["redeploy speech"] += 1
        elif point == "suspend" and running:
            chosen = self.rng.choice(running)
            chosen.suspended = True
            changes["suspend voice"] += 1
        elif point == "swap" and running:
            chosen = self.rng.choice(running)
            chosen.model = 1 - chosen.model
            changes["swap voice"] += 1
        elif point == "delete" and existing:
            chosen = self.rng.choice([r for r in existing if r not in running] or existing)
            deletes.append(chosen)
        return {chosen.name} if chosen else set()

    def apply(self, deletes: list[Resource]) -> None:
        manifests = [r.manifest(self.simulator) for r in self.live.values() if r not in deletes]
        self.kube.apply(manifests, self.namespace)
        for resource in deletes:
            del self.live[resource.name]
            self.deleted_uids.add(resource.uid)
            self.pending_creates[resource.kind] += 1
        if deletes:
            names = [f"{r.kind.lower()}/{r.name}" for r in deletes]
            self.kube.kubectl("delete", "-n", self.namespace, *names, "--wait=false")
        uids = {
            obj["metadata"]["name"]: obj["metadata"]["uid"]
            for kind in (SPEECH, VOICE)
            for obj in self.kube.list(kind, self.namespace)
        }
        for resource in self.live.values():
            resource.uid = uids[resource.name]
            if resource.kind == VOICE:
                for n in range(VOICE_SEQUENCES):
                    self._voice_ids.setdefault(deterministic_endpoint_id(resource.uid, n), resource.uid)

    def kill(self, what: str, kind: str) -> None:
        self.operator.kill()
        self.figures.kills[kind] += 1
        self.last_kill = what
        self.operator.start()

    # the invariants --------------------------------------------------------------------------------------

    def endpoints(self) -> tuple[Counter[str], Counter[str], list[str]]:
        """Azure endpoints per uid, speech and voice, and those no resource ever named."""
        speech: Counter[str] = Counter()
        voice: Counter[str] = Counter()
        strangers: list[str] = []
        for endpoint in endpoints_of(self.simulator):
            uid = (endpoint.get("customProperties") or {}).get(MARKER_KEY)
            if uid:
                speech[uid] += 1
            else:
                strangers.append(endpoint["id"])
        for endpoint_id in voice_endpoints(self.simulator):
            if endpoint_id in self._voice_ids:
                voice[self._voice_ids[endpoint_id]] += 1
            else:
                strangers.append(endpoint_id)
        return speech, voice, strangers

    def problems(self, *, settled: bool) -> tuple[list[str], list[str]]:
        """Leaks and duplicates now. In flight, a resource may still have an endpoint to delete (its own
        deletion, a swap's grace period) or none yet; settled, each live resource has exactly one."""
        speech, voice, strangers = self.endpoints()
        leaks = [f"endpoint {e} of no resource" for e in strangers]
        duplicates = []
        if settled:
            for uid in self.deleted_uids:
                if speech[uid] or voice[uid]:
                    leaks.append(f"deleted resource {uid}: {speech[uid] + voice[uid]} endpoint(s) left")
        for resource in self.live.values():
            count = (speech if resource.kind == SPEECH else voice)[resource.uid]
            most = 1 if settled or resource.kind == SPEECH else 2
            if count > most:
                duplicates.append(f"{resource.kind} {resource.name} ({resource.uid}): {count} endpoints")
            elif settled and count == 0:
                leaks.append(f"{resource.kind} {resource.name} ({resource.uid}): no endpoint")
        return leaks, duplicates

    def unconverged(self) -> list[str]:
        objects = {
            (obj["kind"], obj["metadata"]["name"]): obj
            for kind in (SPEECH, VOICE)
            for obj in self.kube.list(kind, self.namespace)
        }
        waiting = [f"{kind} {name} still exists" for kind, name in objects if name not in self.live]
        for resource in self.live.values():
            obj = objects.get((resource.kind, resource.name))
            wanted = {"Ready": "True"}
            if resource.kind == VOICE:
                wanted["Suspended"] = "True" if resource.suspended else "False"
            generation = (obj or {}).get("metadata", {}).get("generation")
            for type_, status in wanted.items():
                condition = self.kube.condition(obj, type_) or {}
                current = condition.get("observedGeneration") in (None, generation)
                if condition.get("status") != status or not current:
                    waiting.append(f"{resource.kind} {resource.name}: {type_} {condition or 'missing'}")
        return waiting

    def converge(self, number: int) -> None:
        """Polls until every resource converged and Azure holds exactly its endpoints; a duplicate or an
        endpoint of no resource seen on the way fails at once (the operator never removes those)."""
        timeout = 120.0 + 4.0 * len(self.live)
        seen_two: set[str] = set()

        def converged() -> bool:
            leaks, duplicates = self.problems(settled=False)
            if leaks or duplicates:
                self.figures.leaks += len(leaks)
                self.figures.duplicates += len(duplicates)
                raise Inconsistent(self.explain(number, leaks + duplicates))
            _, voice, _ = self.endpoints()
            seen_two.update(uid for uid, n in voice.items() if n == 2)
            return not self.unconverged() and not any(self.problems(settled=True))

        try:
            wait_for(converged, timeout, f"round {number} to converge", interval=0.5)
        except Inconsistent:
            raise
        except AssertionError:
            leaks, duplicates = self.problems(settled=True)
            self.figures.leaks += len(leaks)
            self.figures.duplicates += len(duplicates)
            raise Inconsistent(self.explain(number, self.unconverged() + leaks + duplicates)) from None
        self.figures.two_in_grace += len(seen_two)
        speech, voice, _ = self.endpoints()
        for resource in self.live.values():
            self.figures.endpoints_per_resource[
                (speech if resource.kind == SPEECH else voice)[resource.uid]
            ] += 1
        self.tally_lost_answers()

    def explain(self, number: int, problems: list[str]) -> str:
        text = "\n  ".join(problems[:20])
        return f"seed {self.profile.seed}, round {number}, last kill at {self.last_kill}:\n  {text}"

    def tally_lost_answers(self) -> None:
        counts = self.simulator.requests().get("operations") or {}
        self.figures.lost_answers = Counter(
            {
                op: (counts.get(op) or {}).get("reset", 0)
                for op in WRITES
                if (counts.get(op) or {}).get("reset")
            }
        )

    def delete_all(self) -> None:
        """Every resource deleted (policy Delete): no endpoint may be left in Azure."""
        deletes = list(self.live.values())
        if deletes:
            self.kube.kubectl(
                "delete",
                "-n",
                self.namespace,
                *[f"{r.kind.lower()}/{r.name}" for r in deletes],
                "--wait=false",
            )
        for resource in deletes:
            del self.live[resource.name]
            self.deleted_uids.add(resource.uid)
        self.converge(self.figures.rounds)


def run_crash_suite(
    kube: Kube, workdir: Path, namespace: str, profile: Profile, out: Callable[[str], None] = print
) -> Figures:
    """The suite on `kube`: its own simulator and operator (watching `namespace` only), both stopped after."""
    workdir.mkdir(parents=True, exist_ok=True)
    simulator = Simulator(
        workdir,
        time_scale=profile.time_scale,
        # no rate limit or quota in the way: this suite is about crashes, the fault suite about throttling
        extra_args=[
            "--rate-limit",
            "0",
            "--quota",
            "1000",
            "--voice-quota",
            "1000",
            "--seed",
            str(profile.seed),
        ],
    ).start()
    kubeconfig = kube.operator_kubeconfig()  # deploy/'s namespace, ServiceAccount and ClusterRole first
    operator = Operator(
        workdir,
        kubeconfig,
        namespaces=[namespace],
        extra_args=["--azure-budget-requests", "1000"],
    )
    try:
        with kube.namespace_watch_granted():
            kube.apply(simulator.credentials_secret(namespace), namespace)
            operator.start()
            figures = CrashRun(kube, simulator, operator, namespace, profile, out).run()
    finally:
        operator.stop()
        simulator.stop()
    for line in figures.lines():
        out(line)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.crash", description=DESCRIPTION)
    base = profile_from_env()
    parser.add_argument("--resources", type=int, default=base.resources)
    parser.add_argument("--rounds", type=int, default=base.rounds)
    parser.add_argument("--seed", type=int, default=base.seed)
    parser.add_argument("--time-scale", type=float, default=base.time_scale)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="logs and the control plane (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    profile = Profile(args.resources, args.rounds, seed=args.seed, time_scale=args.time_scale)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crash-"))
    print(f"logs in {workdir}")
    kube = Kube(workdir).start()
    try:
        kube.apply_crds()
        namespace = kube.create_namespace(f"crash-{profile.seed}")
        figures = run_crash_suite(kube, workdir / "crash", namespace, profile)
    except Inconsistent as exc:
        print(f"INCONSISTENT: {exc}", file=sys.stderr)
        return 1
    finally:
        kube.stop()
    return 1 if figures.leaks or figures.duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
