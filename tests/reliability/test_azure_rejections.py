"""Azure-side rejections (issue 12 item 3, second half): each documented 400 that a valid spec can lead the
operator's writes into, for both kinds, ends Stalled with Azure's code, and no Azure write follows until the
spec changes or `reconcile-requested-at` gets a new value; counted from the simulator's request log. (The 400s
no valid spec can reach are listed in docs/reliability.md.)

Each case has a Speech resource of its own in the simulator (`--resource`, its own key and Secret), so the
request log's per-resource counts are that case's traffic alone (for quota, with the blocker resource's that
shares it), and every case runs at once under one operator. A case goes through its stages on its own clock:

1. the refused write: a create, or for `change` cases a change of a Ready resource (speech PATCH, voice
   swap); it must end Stalled with Azure's code (Ready False with it, Reconciling False; after a change
   the endpoint before it still Available);
2. a window of WINDOW_S (2.5 drift intervals at the operator's shortest, 10 s): Stalled throughout, zero
   writes (PUT/POST/PATCH/DELETE), reads counted;
3. a new `reconcile-requested-at`: exactly one write, refused (400), Stalled again, and no second write
   within SETTLE_S;
4. the fix: the spec changed (or, for quota, a slot freed by deleting another resource in the same Speech
   resource), then Ready.

Quota is `blocked`, not `fatal` (docs/errors.md): retried slowly by contract, after --blocked-retry-base
(60 s here, jittered to 30-60 s), so its window (25 s) has no retry, and its fix (a freed slot) becomes
Ready by that retry, with no user action. The figures are printed even under pytest's capture.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

import httpx
import pytest
from azure_speech_operator.reconcile import REQUESTED_ANNOTATION
from azure_speech_operator.simulator.seed import (
    BASE_DE_DE_CURRENT,
    BASE_EN_US_CURRENT,
    BASE_EN_US_EXPIRED,
    CUSTOM_DE_DE_DEPLOYABLE,
    CUSTOM_EN_US_DEPLOYABLE,
    CUSTOM_EN_US_FAILED,
    CUSTOM_EN_US_NOT_DEPLOYABLE,
    PROJECT_EN_US,
    VOICE_MODEL,
    VOICE_MODEL_2,
    VOICE_MODEL_DE,
    VOICE_MODEL_FAILED,
    VOICE_MODEL_TRAINING,
    VOICE_PROJECT,
)

from tests.e2e.harness import Kube, Operator, Simulator, unique_name
from tests.e2e.kinds import UNKNOWN_MODEL, resource

pytestmark = pytest.mark.e2e  # real processes: the operator, the simulator and the control plane

SPEECH, VOICE = "SpeechEndpoint", "VoiceEndpoint"
WINDOW_S = 25.0
SETTLE_S = 5.0  # after the requested pass: time for a second write to show (there must be none)
BLOCKED_RETRY = "60s"  # quota's slow retry: backoff in [0.5, 1] of it, so never inside the window
QUOTA = 50  # Azure's (and the simulator's default) custom deployments / voice endpoints per Speech resource
OPERATOR_ARGS = [
    "--drift-interval",
    "10s",  # the shortest the operator allows (runtime/handlers.py MIN_DRIFT_INTERVAL)
    "--transient-backoff-cap",
    "5s",
    "--waiting-retry-min",
    "5s",
    "--waiting-retry-max",
    "10s",
    "--blocked-retry-base",
    BLOCKED_RETRY,
    "--blocked-retry-cap",
    BLOCKED_RETRY,
    "--voice-swap-grace-period",
    "5s",
]
UNKNOWN_UUID = "00000000-0000-4000-8000-0000000000ab"


@dataclass(frozen=True)
class Case:
    kind: str
    name: str  # the resource's name, and its Speech resource's in the simulator
    code: str  # Azure's code for the refused write
    refused: dict[str, Any]  # spec fields of the refused write
    fix: dict[str, Any] | None = None  # spec fields that fix it; None: no spec change can (immutable field)
    change: bool = False  # Ready with the default spec first: the refused write is a change of it
    quota: bool = False  # the Speech resource is filled to QUOTA; deleting a blocker resource frees a slot
    error_class: str = "fatal"

    @property
    def write(self) -> str:
        if self.kind == SPEECH:
            return "PATCH" if self.change else "create (POST)"
        return "swap: create (PUT)" if self.change else "create (PUT)"

    @property
    def key(self) -> str:
        return f"{self.name}-key"


def _model(ref: str) -> dict[str, Any]:
    """`base:<id>` or `custom:<id>` as SpeechEndpoint spec fields."""
    kind, _, model_id = ref.partition(":")
    return {"model": {f"{kind}ModelId": model_id}}


BASE_EN, CUSTOM_EN = f"base:{BASE_EN_US_CURRENT}", f"custom:{CUSTOM_EN_US_DEPLOYABLE}"
NOT_DEPLOYABLE = f"custom:{CUSTOM_EN_US_NOT_DEPLOYABLE}"
# speech to text, Endpoints_Create (POST) and, for the `s-patch-` ones, Endpoints_Update (PATCH) of a Ready
# endpoint: (name, Azure's code, the refused model, the model that fixes it)
SPEECH_MODEL_CASES = [
    ("s-locale-mismatch", "ModelMismatch", f"base:{BASE_DE_DE_CURRENT}", BASE_EN),
    ("s-unknown-model", "InvalidModel", f"custom:{UNKNOWN_MODEL}", CUSTOM_EN),
    ("s-unknown-base-model", "InvalidBaseModel", f"base:{UNKNOWN_MODEL}", BASE_EN),
    ("s-not-deployable", "ModelNotDeployable", NOT_DEPLOYABLE, CUSTOM_EN),
    ("s-failed-model", "DeployingFailedModel", f"custom:{CUSTOM_EN_US_FAILED}", CUSTOM_EN),
    ("s-expired-model", "ModelDeprecated", f"base:{BASE_EN_US_EXPIRED}", BASE_EN),
    ("s-patch-locale-mismatch", "ModelMismatch", f"custom:{CUSTOM_DE_DE_DEPLOYABLE}", CUSTOM_EN),
    ("s-patch-unknown-model", "InvalidModel", f"custom:{UNKNOWN_MODEL}", CUSTOM_EN),
    ("s-patch-not-deployable", "ModelNotDeployable", NOT_DEPLOYABLE, CUSTOM_EN),
]
# custom voice, Endpoints_Create (PUT), for the `v-swap-` ones the new endpoint of a swap:
# (name, Azure's code, the refused spec fields, the fields that fix it)
VOICE_CASES = [
    ("v-unknown-project", "ProjectNotFound", {"projectId": "NoSuchProject"}, {"projectId": VOICE_PROJECT}),
    ("v-unknown-model", "ModelNotFound", {"modelId": "NoSuchModel"}, {"modelId": VOICE_MODEL}),
    ("v-model-of-other-project", "ModelNotInProject", {"modelId": VOICE_MODEL_DE}, {"modelId": VOICE_MODEL}),
    ("v-model-training", "ModelNotSucceeded", {"modelId": VOICE_MODEL_TRAINING}, {"modelId": VOICE_MODEL}),
    ("v-model-failed", "ModelNotSucceeded", {"modelId": VOICE_MODEL_FAILED}, {"modelId": VOICE_MODEL}),
    ("v-swap-unknown-model", "ModelNotFound", {"modelId": "NoSuchModel"}, {"modelId": VOICE_MODEL_2}),
]
UNKNOWN_PROJECT, PROJECT = {"projectId": UNKNOWN_UUID}, {"projectId": PROJECT_EN_US}
CASES = [
    *(
        Case(SPEECH, n, code, _model(bad), _model(good), "-patch-" in n)
        for n, code, bad, good in SPEECH_MODEL_CASES
    ),
    Case(SPEECH, "s-unknown-project", "InvalidProject", UNKNOWN_PROJECT, PROJECT),
    Case(SPEECH, "s-patch-unknown-project", "InvalidProject", UNKNOWN_PROJECT, PROJECT, change=True),
    Case(SPEECH, "s-unsupported-locale", "InvalidLocale", {"locale": "fr-FR"}),  # no fix: locale is immutable
    Case(SPEECH, "s-quota", "QuotaViolation", {}, quota=True, error_class="blocked"),
    *(Case(VOICE, n, code, bad, good, "-swap-" in n) for n, code, bad, good in VOICE_CASES),
    Case(VOICE, "v-quota", "QuotaViolation", {}, quota=True, error_class="blocked"),
    Case(VOICE, "v-swap-quota", "QuotaViolation", {"modelId": VOICE_MODEL_2}, None, True, True, "blocked"),
]


def is_write(operation: str) -> bool:
    """A write is every operation but a Get or List (`CustomVoice.Endpoints_Get`, `Models_GetBaseModel`,
    `Endpoints_ListSupportedLocales` are reads); an `Unknown` request counts as a write."""
    verb = operation.rsplit(".", 1)[-1].partition("_")[2]
    return not verb.startswith(("Get", "List"))


class Traffic(NamedTuple):
    """Requests a Speech resource has received, by the simulator's request log (every answer counted)."""

    writes: int = 0
    refused: int = 0  # writes answered 400
    reads: int = 0

    @classmethod
    def of(cls, snapshot: dict[str, Any], name: str) -> Traffic:
        operations: dict[str, dict[str, int]] = (snapshot.get("resources") or {}).get(name) or {}
        writes = [by_status for op, by_status in operations.items() if is_write(op)]
        total = sum(n for by_status in operations.values() for n in by_status.values())
        written = sum(n for by_status in writes for n in by_status.values())
        return cls(written, sum(by_status.get("400", 0) for by_status in writes), total - written)

    def since(self, earlier: Traffic) -> Traffic:
        return Traffic(*(now - then for now, then in zip(self, earlier, strict=True)))


NO_TRAFFIC: Final = Traffic()


@dataclass
class Figures:
    """What one case showed, stage by stage (times in seconds from the start)."""

    stage: str = "refusing"
    problems: list[str] = field(default_factory=list)
    stalled_at: float = 0.0
    at_stall: Traffic = NO_TRAFFIC
    window: Traffic = NO_TRAFFIC
    requested: str = ""
    at_request: Traffic = NO_TRAFFIC
    requested_seen_at: float = 0.0
    after_request: Traffic = NO_TRAFFIC
    fixed_at: float = 0.0
    at_fix: Traffic = NO_TRAFFIC
    result: str = "-"


class Suite:
    """The cases' resources in one namespace, each case moved through its stages by `step`."""

    def __init__(self, kube: Kube, simulator: Simulator, namespace: str) -> None:
        self.kube, self.simulator, self.namespace = kube, simulator, namespace
        self.start = time.monotonic()
        self.figures = {case.name: Figures() for case in CASES}

    def now(self) -> float:
        return time.monotonic() - self.start

    def manifest(self, case: Case, fields: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        return resource(case.kind, name or case.name, self.simulator, credentials=case.key, **fields)

    def objects(self) -> dict[str, dict[str, Any]]:
        listed = [o for kind in (SPEECH, VOICE) for o in self.kube.list(kind, self.namespace)]
        return {o["metadata"]["name"]: o for o in listed}

    def condition(self, obj: dict[str, Any], type_: str) -> dict[str, Any]:
        return self.kube.condition(obj, type_) or {}

    def stalled_problem(self, obj: dict[str, Any] | None, case: Case) -> str | None:
        """Why `obj` is not (yet) Stalled with the case's code at its generation; None when it is."""
        if obj is None:
            return "gone"
        stalled, ready = self.condition(obj, "Stalled"), self.condition(obj, "Ready")
        if stalled.get("status") != "True":
            return f"Stalled={stalled.get('status')} ({ready.get('reason')})"
        if stalled.get("observedGeneration") != obj["metadata"]["generation"]:
            return "Stalled for an older generation"
        error = (obj.get("status") or {}).get("error") or {}
        got = (stalled.get("reason"), ready.get("reason"), error.get("code"), error.get("class"))
        if got != (case.code, case.code, case.code, case.error_class):
            return f"Stalled/Ready reason, error code and class {got}"
        if self.condition(obj, "Reconciling").get("status") != "False":
            return "Reconciling is not False"
        if case.change and self.condition(obj, "Available").get("status") != "True":
            return "the endpoint before the change is no longer Available"
        return None

    def is_ready(self, obj: dict[str, Any] | None) -> bool:
        ready = self.condition(obj or {}, "Ready")
        return (
            obj is not None
            and ready.get("status") == "True"
            and (ready.get("observedGeneration") == obj["metadata"]["generation"])
        )

    def prepare(self) -> None:
        """Secrets; the resources to change and the quota blockers brought to Ready; quotas filled."""
        self.kube.apply([secret(self.namespace, case) for case in CASES], self.namespace)
        first = [self.manifest(c, {}) for c in CASES if c.change]
        first += [self.manifest(c, {}, f"{c.name}-blocker") for c in CASES if c.quota]
        self.kube.apply(first, self.namespace)
        names = {m["metadata"]["name"] for m in first}
        deadline = time.monotonic() + 90
        while not all(self.is_ready(self.objects().get(n)) for n in names):
            assert time.monotonic() < deadline, "the resources to change and the blockers did not get Ready"
            time.sleep(0.5)
        for case in CASES:
            if case.quota:
                fill_quota(self.simulator, case, used=2 if case.change else 1)

    def refuse(self) -> None:
        self.kube.apply([self.manifest(c, c.refused) for c in CASES], self.namespace)

    def step(self, case: Case, obj: dict[str, Any] | None, snapshot: dict[str, Any]) -> None:
        f, now, traffic = self.figures[case.name], self.now(), Traffic.of(snapshot, case.name)
        problem = self.stalled_problem(obj, case)
        if f.stage == "refusing" and problem is None:
            f.stage, f.stalled_at, f.at_stall = "window", now, traffic
        elif f.stage == "window":
            if problem is not None:
                f.problems.append(f"in the window at {now:.1f} s: {problem}")
            if now >= f.stalled_at + WINDOW_S:
                f.window, f.at_request = traffic.since(f.at_stall), traffic
                f.stage, f.requested = "requested", f"rejections-{uuid.uuid4().hex[:8]}"
                self.annotate(case, f.requested)
        elif f.stage == "requested":
            seen = ((obj or {}).get("status") or {}).get("reconcileRequestedAt")
            if seen == f.requested and problem is None:
                f.stage, f.requested_seen_at = "settling", now
        elif f.stage == "settling" and now >= f.requested_seen_at + SETTLE_S:
            if problem is not None:
                f.problems.append(f"after reconcile-requested-at: {problem}")
            f.after_request, f.fixed_at, f.at_fix = traffic.since(f.at_request), now, traffic
            f.stage = self.fix(case)
        elif f.stage == "fixing" and self.is_ready(obj):
            after = traffic.since(f.at_fix)
            f.result = f"Ready in {now - f.fixed_at:.1f} s ({after.writes} writes, {after.reads} reads)"
            f.stage = "done"

    def fix(self, case: Case) -> str:
        if case.quota:
            self.kube.delete(case.kind, f"{case.name}-blocker", self.namespace, wait=False)
            return "fixing"
        if case.fix is None:
            self.figures[case.name].result = "no fix: spec.locale is immutable"
            return "done"
        self.kube.apply(self.manifest(case, {**case.refused, **case.fix}), self.namespace)
        return "fixing"

    def annotate(self, case: Case, value: str) -> None:
        target = f"{case.kind.lower()}/{case.name}"
        self.kube.kubectl(
            "annotate", "--overwrite", "-n", self.namespace, target, f"{REQUESTED_ANNOTATION}={value}"
        )

    def run(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(f.stage != "done" for f in self.figures.values()) and time.monotonic() < deadline:
            objects, snapshot = self.objects(), self.simulator.requests()
            for case in CASES:
                self.step(case, objects.get(case.name), snapshot)
            time.sleep(0.5)
        objects = self.objects()
        for case in CASES:
            f = self.figures[case.name]
            if f.stage != "done":
                why = self.stalled_problem(objects.get(case.name), case)
                f.problems.append(f"stuck in stage {f.stage}: {why or 'Stalled as expected'}")

    def problems(self) -> list[str]:
        problems = [f"{name}: {p}" for name, f in self.figures.items() for p in f.problems]
        for case in CASES:
            f = self.figures[case.name]
            if f.window.writes:
                problems.append(f"{case.name}: {f.window.writes} writes in the window")
            if f.stage == "done" and (f.after_request.writes, f.after_request.refused) != (1, 1):
                problems.append(
                    f"{case.name}: after reconcile-requested-at {f.after_request}, not one write refused"
                )
            if (
                f.stage == "done"
                and (case.fix is not None or case.quota)
                and not f.result.startswith("Ready")
            ):
                problems.append(f"{case.name}: not Ready after the fix ({f.result})")
        return problems


def secret(namespace: str, case: Case) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": case.key, "namespace": namespace},
        "type": "Opaque",
        "data": {"key": base64.b64encode(case.key.encode()).decode()},
    }


def fill_quota(simulator: Simulator, case: Case, used: int) -> None:
    """Endpoints made outside the operator (as in Speech Studio) until the case's Speech resource is at
    QUOTA, `used` slots being the operator's."""
    headers = {"Ocp-Apim-Subscription-Key": case.key}
    with httpx.Client(base_url=simulator.url, headers=headers, timeout=10) as http:
        for i in range(QUOTA - used):
            if case.kind == SPEECH:
                model = f"{simulator.url}/speechtotext/models/base/{BASE_EN_US_CURRENT}"
                body = {"displayName": f"portal-{i}", "locale": "en-US", "model": {"self": model}}
                http.post("/speechtotext/endpoints?api-version=2025-10-15", json=body).raise_for_status()
            else:
                body = {"projectId": VOICE_PROJECT, "modelId": VOICE_MODEL, "displayName": f"portal-{i}"}
                path = f"/customvoice/endpoints/{uuid.uuid4()}?api-version=2026-01-01"
                http.put(path, json=body).raise_for_status()


def print_figures(suite: Suite, seconds: float) -> None:
    print(
        f"\nAzure rejections: {len(CASES)} cases, window {WINDOW_S:.0f} s, {seconds:.0f} s in all", flush=True
    )
    header = ("kind", "case", "write refused", "code (class)", "window: writes", "reads", "after rra: writes",
              "after the fix")  # fmt: skip
    rows = [header]
    for case in CASES:
        f = suite.figures[case.name]
        rows.append(
            (
                case.kind,
                case.name,
                case.write,
                f"{case.code} ({case.error_class})",
                str(f.window.writes),
                str(f.window.reads),
                f"{f.after_request.writes} ({f.after_request.refused} refused)",
                f.result,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@pytest.mark.timeout(400)
def test_azure_rejections_stall_without_writes_until_asked(
    kube: Kube, e2e_workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = e2e_workdir / unique_name("rejections")
    workdir.mkdir(parents=True)
    namespace = kube.create_namespace(unique_name("rejections"))
    resources = [arg for case in CASES for arg in ("--resource", f"{case.name}={case.key}")]
    simulator = Simulator(workdir, keys=["rejections-default"], extra_args=["--rate-limit", "0", *resources])
    simulator.start()
    operator = Operator(workdir, kube.operator_kubeconfig(), namespaces=[namespace], extra_args=OPERATOR_ARGS)
    suite = Suite(kube, simulator, namespace)
    try:
        with kube.namespace_watch_granted():
            operator.start()
            suite.prepare()
            suite.refuse()
            suite.run(timeout=240)
            seconds = suite.now()
            running = operator.running
            kube.delete_namespace(namespace, wait=True, timeout=120)  # while the operator runs (finalizers)
    finally:
        operator.stop()
        simulator.stop()

    with capsys.disabled():
        print_figures(suite, seconds)
    assert running, "the operator exited"
    problems = suite.problems()
    assert not problems, "\n".join(problems)
