"""No RBAC rule the operator is given is dead weight: with one rule (or one verb group of a rule, or one kind)
taken out, the operator fails visibly doing what users ask of it, and with the whole role it does all of it.
Both ways the rules are shipped: deploy/'s ClusterRole (cluster-wide, the chart's default), and the chart's
watchNamespaces mode (a ClusterRole for what kopf reads cluster-wide, a Role in each watched namespace, the
operator run with --namespace), applied as the chart renders them.

Each case restarts the operator under the reduced role and runs one scenario that calls everything the
operator calls: a SpeechEndpoint and a VoiceEndpoint, each exporting to a ConfigMap (the speech one's exists
already, owned by it but stale), created before their credentials Secret; the labelled Secret arrives and
the watch on it brings both to Ready at once (the slow retry is minutes away); events are posted; the speech
endpoint's export moves to another ConfigMap (the old one deleted); a third resource that never had a Secret
is released at once when its namespace is deleted (not in the watchNamespaces mode: that deletion takes
the Role with it, docs/install.md, "Uninstalling"). "Visibly" is a step that does not happen within its
timeout, /readyz not answering within a step's time, or the operator's log showing a refusal (Forbidden,
kopf's "Not enough permissions", or the operator's SecretNotReadable or KubernetesForbidden); a refusal ends
the case at once. The full role is restored after each case. About 13 s per case (5 of them the test
namespace's deletion).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.install.chart import Helm, find, one
from tests.install.test_chart import grants
from tests.install.test_chart_cluster import can_i
from tests.processes import REPO, HarnessError

from .harness import Kube, Operator, Simulator, wait_for
from .test_rbac import SUBJECT
from .test_speech_lifecycle import manifest as speech_manifest
from .test_voice_lifecycle import manifest as voice_manifest

RBAC = REPO / "deploy" / "rbac.yaml"
GROUP = "speech.azure-operator.io"
STEP_TIMEOUT = 20.0
RELEASE_TIMEOUT = 15.0
# Twice the release step: a deletion waiting for credentials, which the namespace get would have released at
# once, shows as the resource not going within the step
DELETION_WAIT = "30s"
# the apiserver's and kopf's words, and the reasons the operator gives a refusal (docs/operations.md, "RBAC")
REFUSED = re.compile(r"forbidden|not enough permissions|SecretNotReadable|KubernetesForbidden", re.IGNORECASE)

Triple = tuple[str, str, str]  # (apiGroup, resource, verb)


def cluster_role() -> dict[str, Any]:
    (role,) = [d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["kind"] == "ClusterRole"]
    return role


def triples(role: dict[str, Any]) -> set[Triple]:
    return grants(role["rules"])


@dataclass(frozen=True)
class Grants:
    """The RBAC objects a case runs under: a ClusterRole (named and bound as deploy/'s) and, in the chart's
    watchNamespaces mode, the Role and RoleBinding it renders in the watched namespace."""

    cluster_role: dict[str, Any]
    namespaced: tuple[dict[str, Any], ...] = ()

    def everything(self) -> set[Triple]:
        """What the operator may do in the watched namespace."""
        return triples(self.cluster_role).union(*(triples(o) for o in self.namespaced if o["kind"] == "Role"))


def deploy_grants() -> Grants:
    return Grants(cluster_role())


def watched_namespace_grants(namespace: str, home: Path) -> Grants:
    """The chart with watchNamespaces=[namespace], rendered under deploy/'s names (same ServiceAccount)."""
    objects = Helm(home).template({"watchNamespaces": [namespace]})
    cluster = one(objects, "ClusterRole")
    assert cluster["metadata"]["name"] == cluster_role()["metadata"]["name"]
    return Grants(cluster, (*find(objects, "Role", namespace), *find(objects, "RoleBinding", namespace)))


@dataclass(frozen=True)
class Removal:
    """What one case takes out of the ClusterRole: `verbs` of the rules naming `resources` (all verbs of
    those resources when `verbs` is empty: a kind taken out)."""

    group: str
    resources: frozenset[str]
    verbs: frozenset[str] = frozenset()
    # under the chart's watchNamespaces RBAC, the operator run with --namespace
    watched_namespace: bool = False

    def apply(self, role: dict[str, Any]) -> dict[str, Any]:
        reduced = copy.deepcopy(role)
        rules = []
        for rule in reduced["rules"]:
            if self.group in rule["apiGroups"] and self.resources & set(rule["resources"]):
                if self.verbs:
                    rule["verbs"] = [v for v in rule["verbs"] if v not in self.verbs]
                else:
                    rule["resources"] = [r for r in rule["resources"] if r not in self.resources]
            if rule["verbs"] and rule["resources"]:
                rules.append(rule)
        reduced["rules"] = rules
        assert reduced != role, f"{self} removes nothing from the ClusterRole"
        return reduced


KINDS = frozenset({"speechendpoints", "voiceendpoints"})
STATUS = frozenset({"speechendpoints/status", "voiceendpoints/status"})
CRDS = frozenset({"customresourcedefinitions"})
LIST_WATCH = frozenset({"list", "watch"})


def core(resource: str, *verbs: str) -> Removal:
    return Removal("", frozenset({resource}), frozenset(verbs))


CASES: dict[str, Removal] = {
    "crds list,watch": Removal("apiextensions.k8s.io", CRDS, LIST_WATCH),
    "namespaces get": core("namespaces", "get"),
    # kopf lists and watches namespaces only when given --namespace (which the chart's mode passes): without
    # them it retries for about a minute at each start, then assumes that the names given exist and warns
    # (a glob would match nothing at all)
    "namespaces list,watch with --namespace": Removal(
        "", frozenset({"namespaces"}), LIST_WATCH, watched_namespace=True
    ),
    "endpoints list,watch": Removal(GROUP, KINDS, LIST_WATCH),
    "endpoints patch": Removal(GROUP, KINDS, frozenset({"patch"})),
    "status patch": Removal(GROUP, STATUS, frozenset({"patch"})),
    "speechendpoints": Removal(GROUP, frozenset({"speechendpoints", "speechendpoints/status"})),
    "voiceendpoints": Removal(GROUP, frozenset({"voiceendpoints", "voiceendpoints/status"})),
    "events create": core("events", "create"),
    "secrets get": core("secrets", "get"),
    "secrets list,watch": core("secrets", *LIST_WATCH),
    "configmaps get": core("configmaps", "get"),
    "configmaps create": core("configmaps", "create"),
    "configmaps update": core("configmaps", "update"),
    "configmaps delete": core("configmaps", "delete"),
}


def switch(kube: Kube, before: Grants, after: Grants, namespace: str) -> None:
    """Puts `after` in force (in place of `before`) and waits until the apiserver's authorizer answers by it,
    in `namespace`, for everything that differs."""
    kube.apply([after.cluster_role, *after.namespaced])
    granted = after.everything()
    for group, resource, verb in sorted(before.everything() ^ granted):
        name, slash, sub = resource.partition("/")
        qualified = f"{name}.{group}{slash}{sub}" if group else resource
        expected = (group, resource, verb) in granted
        wait_for(
            lambda v=verb, q=qualified, e=expected: can_i(kube, SUBJECT, v, q, "-n", namespace) is e,
            10,
            f"RBAC in force for {verb} {qualified}",
        )


# --- the scenario -------------------------------------------------------------------------------------------


class StepFailed(AssertionError):
    pass


@dataclass
class Scenario:
    kube: Kube
    simulator: Simulator
    operator: Operator
    namespace: str
    operator_args: Sequence[str]
    start_timeout: float
    since: int = 0  # the operator's log from here on is this scenario's

    def refusal(self) -> str | None:
        """The first line of the operator's log since this scenario started that shows a refusal."""
        return next((ln for ln in self.operator.logs(self.since).splitlines() if REFUSED.search(ln)), None)

    def step(self, what: str, check: Callable[[], Any], timeout: float = STEP_TIMEOUT) -> None:
        """Waits for `check`; StepFailed when it does not happen in time, or at once when a refusal is logged
        (the case is then decided: no need to wait for what it prevents)."""

        def done() -> Any:
            return "refused" if self.refusal() else check()

        try:
            seen = wait_for(done, timeout, what, interval=0.25)
        except AssertionError:
            raise StepFailed(what) from None
        if seen == "refused":
            raise StepFailed(f"{what}: a refusal was logged")

    def condition_is(self, kind: str, name: str, type_: str, reason: str | None = None) -> Callable[[], bool]:
        def check() -> bool:
            obj = self.kube.get(kind, name, self.namespace)
            condition = self.kube.condition(obj, type_)
            return (
                obj is not None
                and condition is not None
                and condition["status"] == "True"
                and reason in (None, condition.get("reason"))
                and condition.get("observedGeneration") == obj["metadata"]["generation"]
            )

        return check

    def exported(self, kind: str, name: str, config_map: str) -> Callable[[], bool]:
        def check() -> bool:
            data = (self.kube.get("ConfigMap", config_map, self.namespace) or {}).get("data") or {}
            obj = self.kube.get(kind, name, self.namespace) or {}
            return bool(data) and data.get("endpointId") == (obj.get("status") or {}).get("endpointId")

        return check

    def run(self) -> None:
        """Everything the operator calls Kubernetes for; raises StepFailed naming the first step that did
        not happen (or HarnessError when the operator never became ready)."""
        kube, simulator, operator, namespace = self.kube, self.simulator, self.operator, self.namespace
        exports = {
            ("SpeechEndpoint", "speech"): "speech-endpoint",
            ("VoiceEndpoint", "voice"): "voice-endpoint",
        }
        operator.stop()
        self.since = operator.log_size()
        kube.apply(
            speech_manifest(simulator, "speech", exportTo={"configMapName": "speech-endpoint"}), namespace
        )
        kube.apply(
            voice_manifest(simulator, "voice", exportTo={"configMapName": "voice-endpoint"}), namespace
        )
        # its Secret goes before the namespace, when the operator no longer remembers the key
        own_key = speech_manifest(simulator, "own-key")
        own_key["spec"]["azure"]["credentials"]["secretRef"]["name"] = "own-credentials"
        kube.apply(own_key, namespace)
        owner = kube.get("SpeechEndpoint", "speech", namespace)
        assert owner is not None
        kube.apply(owned_config_map(owner, "speech-endpoint", {"endpointId": "stale"}), namespace)
        args = ["--deletion-credentials-wait", DELETION_WAIT, *self.operator_args]
        operator.start(extra_args=args, timeout=self.start_timeout)

        for kind, name in exports:
            self.step(
                f"{kind} Stalled on CredentialsNotFound",
                self.condition_is(kind, name, "Stalled", "CredentialsNotFound"),
            )
        for name in ("speech-credentials", "own-credentials"):
            secret = simulator.credentials_secret(namespace, name)
            secret["metadata"]["labels"] = {f"{GROUP}/credentials": "true"}
            kube.apply(secret, namespace)
        for (kind, name), config_map in exports.items():
            self.step(f"{kind} Ready once its labelled Secret exists", self.condition_is(kind, name, "Ready"))
            self.step(f"{kind} exported to {config_map}", self.exported(kind, name, config_map))
            self.step(f"{kind} has events", lambda n=name: kube.events(namespace, involved_name=n))

        kube.apply(speech_manifest(simulator, "speech", exportTo={"configMapName": "moved"}), namespace)
        self.step("the export moved to another ConfigMap", self.exported("SpeechEndpoint", "speech", "moved"))
        self.step(
            "the old ConfigMap deleted", lambda: kube.get("ConfigMap", "speech-endpoint", namespace) is None
        )
        self.step(
            "SpeechEndpoint Ready after the move", self.condition_is("SpeechEndpoint", "speech", "Ready")
        )

        self.step("the other SpeechEndpoint Ready", self.condition_is("SpeechEndpoint", "own-key", "Ready"))
        if self.operator_args:
            # a watched namespace's deletion takes the operator's Role with it, and its resources then stay
            # Terminating (docs/install.md, "Uninstalling"): the namespace goes after deploy/'s role is back
            return
        operator.stop()  # it forgets the keys it read
        kube.kubectl("delete", "secret", "own-credentials", "-n", namespace)
        operator.start(extra_args=args, timeout=self.start_timeout)
        kube.delete_namespace(namespace)
        # (the namespace itself goes when kube-controller-manager looks again, seconds later)
        self.step(
            "the resources released as their namespace goes (the one without a key at once)",
            lambda: not any(kube.get(k, n, namespace) for k, n in [*exports, ("SpeechEndpoint", "own-key")]),
            RELEASE_TIMEOUT,
        )


def owned_config_map(owner: dict[str, Any], name: str, data: dict[str, str]) -> dict[str, Any]:
    reference = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "controller": True}
    reference |= {"name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    metadata = {"name": name, "ownerReferences": [reference]}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


@dataclass
class Verdict:
    failed_step: str | None
    refusals: list[str]

    @property
    def visible(self) -> bool:
        return self.failed_step is not None or bool(self.refusals)

    def __str__(self) -> str:
        lines = [f"failed step: {self.failed_step}"] if self.failed_step else ["every step happened"]
        lines += [f"log: {line[:300]}" for line in self.refusals[:3]] or ["log: no refusal"]
        return "; ".join(lines)


def run_case(
    kube: Kube,
    simulator: Simulator,
    operator: Operator,
    namespace: str,
    removal: Removal,
    helm_home: Path,
) -> Verdict:
    deploy = deploy_grants()
    full = watched_namespace_grants(namespace, helm_home) if removal.watched_namespace else deploy
    reduced = Grants(removal.apply(full.cluster_role), full.namespaced) if removal.resources else full
    switch(kube, deploy, reduced, namespace)
    args = ("--namespace", namespace) if removal.watched_namespace else ()
    # the operator's readiness is a step too, when a rule is missing (with the whole role, the harness's)
    start_timeout = STEP_TIMEOUT if removal.resources else 60.0
    scenario = Scenario(kube, simulator, operator, namespace, args, start_timeout)
    failed: str | None = None
    try:
        scenario.run()
    except StepFailed as exc:
        failed = str(exc)
    except HarnessError as exc:  # the operator never became ready
        failed = f"/readyz: {str(exc).splitlines()[0]}"
    finally:
        switch(kube, reduced, deploy, namespace)
    refusals = [line for line in operator.logs(scenario.since).splitlines() if REFUSED.search(line)]
    if failed:
        # a fresh start under the whole role: kopf does not look again at what it was refused (namespaces,
        # CRDs), and the namespace's deletion needs an operator that serves it
        operator.ensure_defaults()
    clear(kube, simulator, namespace)
    return Verdict(failed, refusals)


def clear(kube: Kube, simulator: Simulator, namespace: str) -> None:
    """Deletes the scenario's resources, with their credentials, unless their namespace is going already: a
    namespace whose content is gone goes at once, while kube-controller-manager looks again at one whose
    content held finalizers only seconds after they are released."""
    found = kube.get("Namespace", namespace)
    if found is None or found["metadata"].get("deletionTimestamp"):
        return
    for name in ("speech-credentials", "own-credentials"):
        kube.apply(simulator.credentials_secret(namespace, name), namespace)
    kube.kubectl("delete", "speechendpoints,voiceendpoints", "--all", "-n", namespace, "--timeout=60s")


@pytest.fixture
def restored(kube: Kube, operator_process: Operator) -> Iterator[Operator]:
    """The operator_process fixture; afterwards with deploy/'s role, running (so that namespaces go)."""
    yield operator_process
    kube.apply(cluster_role())
    operator_process.ensure_running()


@pytest.fixture(scope="module")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm-home")


@pytest.mark.parametrize("watched_namespace", [False, True], ids=["cluster-wide", "watched-namespace"])
def test_with_the_whole_role_every_step_happens_and_nothing_is_refused(
    kube: Kube,
    simulator: Simulator,
    restored: Operator,
    namespace: str,
    helm_home: Path,
    watched_namespace: bool,
) -> None:
    removal = Removal("", frozenset(), watched_namespace=watched_namespace)
    verdict = run_case(kube, simulator, restored, namespace, removal, helm_home)
    assert not verdict.visible, str(verdict)


@pytest.mark.parametrize("case", CASES)
def test_without_a_rule_the_operator_fails_visibly(
    kube: Kube,
    simulator: Simulator,
    restored: Operator,
    namespace: str,
    helm_home: Path,
    case: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = run_case(kube, simulator, restored, namespace, CASES[case], helm_home)
    with capsys.disabled():
        print(f"\n[rbac] without {case}: {verdict}")
    assert verdict.visible, f"without {case} the operator did everything: is the rule needed? ({verdict})"


def test_the_cases_cover_every_rule_and_verb(helm_home: Path) -> None:
    """Each verb of each rule of deploy/rbac.yaml is taken out by some case, and so is each the chart's
    watchNamespaces mode adds (the rest of its ClusterRole and its Roles are deploy/'s rules,
    tests/install/test_chart.py); each case takes out something by itself."""
    deploy = cluster_role()
    watched = watched_namespace_grants("watched", helm_home)
    for full, added, in_mode in (
        (deploy, triples(deploy), False),
        (watched.cluster_role, watched.everything() - triples(deploy), True),
    ):
        removals = [r for r in CASES.values() if r.watched_namespace is in_mode]
        removed = set().union(*(triples(full) - triples(r.apply(full)) for r in removals))
        assert removed == added
