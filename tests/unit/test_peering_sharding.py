"""Settings and kopf configuration of peering (several replicas) and sharding (--label-selector)."""

from __future__ import annotations

import fnmatch
import logging
import random
from datetime import timedelta

import pytest
from azure_speech_operator.kube import JsonObject, KubeApiError, KubeConflictError
from azure_speech_operator.runner import (
    KUBE_API_BACKOFFS,
    build_kopf_settings,
    create_peering_objects,
    kopf_namespace_patterns,
    with_peering_priority,
)
from azure_speech_operator.runtime.peering import (
    KOPF_PEERING_LOGGER,
    PeeringMissing,
    ensure_peering_objects,
    missing_object_warnings,
    peering_objects,
)
from azure_speech_operator.settings import ENV_PREFIX, SettingsError
from hypothesis import given
from hypothesis import strategies as st
from kopf._cogs.structs import references
from kopf._cogs.structs.references import match_namespace
from kopf._core.engines import peering as kopf_peering

from tests.unit.test_settings import parse


def resource(group: str, plural: str) -> references.Resource:
    return references.Resource(group=group, version="v1alpha1", plural=plural, namespaced=True)


def test_the_default_is_standalone_and_unsharded() -> None:
    settings = parse([])
    assert (settings.peering, settings.peering_priority, settings.label_selector) == (None, None, None)
    assert settings.peering_lifetime == timedelta(seconds=60)
    kopf_settings = build_kopf_settings(with_peering_priority(settings, random.Random(1)))
    assert kopf_settings.peering.standalone is True
    for plural in ("speechendpoints", "voiceendpoints"):
        assert (
            list(kopf_settings.watching.label_selectors.collect(resource("speech.azure-operator.io", plural)))
            == []
        )


def test_peering_settings_reach_kopf() -> None:
    settings = parse(["--peering", "speech", "--peering-priority", "7", "--peering-lifetime", "15s"])
    kopf_settings = build_kopf_settings(with_peering_priority(settings, random.Random(1)))
    peering = kopf_settings.peering
    assert (peering.standalone, peering.mandatory, peering.name) == (False, True, "speech")
    assert (peering.priority, peering.lifetime, peering.stealth) == (7, 15, True)


def test_replicas_of_one_deployment_draw_distinct_priorities() -> None:
    """Same flags in every replica: a fixed priority would tie, and kopf pauses every operator of a tie."""
    settings = parse(["--peering", "speech"])
    drawn = {with_peering_priority(settings, random.Random(seed)).peering_priority for seed in range(20)}
    assert len(drawn) == 20 and all(p is not None and p >= 1 for p in drawn)
    # without peering nothing is drawn
    assert with_peering_priority(parse([]), random.Random(1)).peering_priority is None


def test_the_label_selector_filters_both_kinds_server_side_and_not_the_secrets() -> None:
    settings = parse([], {f"{ENV_PREFIX}LABEL_SELECTOR": "shard in (a,b),!legacy"})
    selectors = build_kopf_settings(settings).watching.label_selectors
    for plural in ("speechendpoints", "voiceendpoints"):
        assert list(selectors.collect(resource("speech.azure-operator.io", plural))) == [
            "shard in (a,b),!legacy"
        ]
    secrets = references.Resource(group="", version="v1", plural="secrets", namespaced=True)
    assert list(selectors.collect(secrets)) == ["speech.azure-operator.io/credentials=true"]


@pytest.mark.parametrize(
    "selector",
    [
        "shard=a",
        "shard==a",
        "shard!=a",
        "shard",
        "!shard",
        "shard in (a, b)",
        "tier notin (x),example.com/s=a",
        "shard>1",
        "generation < 10,shard",
    ],
)
def test_label_selectors_kubernetes_accepts_are_accepted(selector: str) -> None:
    assert parse(["--label-selector", selector]).label_selector == selector


@pytest.mark.parametrize(
    "selector", ["shard=a b", "=a", "shard in ()", "shard=a,", "sh@rd=a", "shard>a", "shard>=1"]
)
def test_bad_label_selectors_name_the_flag(selector: str) -> None:
    with pytest.raises(SettingsError, match="--label-selector"):
        parse(["--label-selector", selector])


def test_a_blank_label_selector_is_none() -> None:
    assert parse([], {f"{ENV_PREFIX}LABEL_SELECTOR": " "}).label_selector is None


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--peering-lifetime", "5s"], "--peering-lifetime"),
        (["--peering-lifetime", "10.5s"], "--peering-lifetime"),
        (["--peering-priority", "-1"], "--peering-priority"),
        (["--peering-priority", "high"], "--peering-priority"),
    ],
)
def test_bad_peering_values_name_the_flag(argv: list[str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        parse(argv)


class Recorder:
    def __init__(self, status: int | None = None) -> None:
        self.status = status
        self.posted: list[tuple[str, JsonObject]] = []

    async def request(self, method: str, path: str, *, body: object = None) -> JsonObject | None:
        assert method == "POST" and isinstance(body, dict)
        self.posted.append((path, body))
        if self.status == 409:
            raise KubeConflictError(409, "AlreadyExists", "exists", operation=f"POST {path}")
        if self.status is not None:
            raise KubeApiError(self.status, "NotFound", "the server could not find it", operation=path)
        return body


async def test_a_cluster_wide_operator_creates_its_cluster_peering_object() -> None:
    kube = Recorder()
    await ensure_peering_objects(kube, "speech", ())
    assert kube.posted == [
        (
            "/apis/kopf.dev/v1/clusterkopfpeerings",
            {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "speech"}},
        )
    ]
    await ensure_peering_objects(Recorder(409), "speech", ())  # there already: fine


def test_a_namespaced_operator_peers_in_each_named_namespace_globs_are_the_installers() -> None:
    paths = [path for path, _ in peering_objects("speech", ("team-a", "team-*", "!kube-system"))]
    assert paths == ["/apis/kopf.dev/v1/namespaces/team-a/kopfpeerings"]


async def test_missing_peering_crds_are_a_clear_error() -> None:
    with pytest.raises(PeeringMissing, match="peering CRDs"):
        await ensure_peering_objects(Recorder(404), "speech", ())


class Answering:
    """An API server answering each POST path with its error, or creating the object."""

    def __init__(self, errors: dict[str, KubeApiError]) -> None:
        self.errors = errors
        self.posted: list[str] = []

    async def request(self, method: str, path: str, *, body: object = None) -> JsonObject | None:
        self.posted.append(path)
        if path in self.errors:
            raise self.errors[path]
        return {}


def kopfpeerings(namespace: str) -> str:
    return f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings"


def not_found(path: str, message: str) -> KubeApiError:
    return KubeApiError(404, "NotFound" if message else "", message, operation=f"POST {path}")


async def test_a_namespace_that_does_not_exist_yet_is_a_warning_not_missing_crds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the API server's NotFound Status for the namespace; without peering kopf waits for it too
    later = kopfpeerings("team-later")
    kube = Answering({later: not_found(later, 'namespaces "team-later" not found')})
    await ensure_peering_objects(kube, "speech", ("team-later", "team-a"))
    assert kube.posted == [later, kopfpeerings("team-a")]  # and goes on
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(
        "--peering speech: namespace team-later does not exist: no KopfPeering speech is created there"
    )


async def test_a_missing_kopfpeering_crd_in_an_existing_namespace_is_still_missing_crds() -> None:
    # a path the API server does not serve: a bare `404 page not found`, so no message
    path = kopfpeerings("team-a")
    with pytest.raises(PeeringMissing) as info:
        await ensure_peering_objects(Answering({path: not_found(path, "")}), "speech", ("team-a",))
    assert str(info.value) == (
        "--peering speech: cannot create KopfPeering speech: are kopf's peering CRDs installed "
        "(deploy/peering/crds.yaml, or the chart's peering.installCRDs)?"
    )  # no empty "()" for the message the API server did not give


NAMESPACE_NAMES = st.sampled_from(["team-a", "team-b", "team-ab", "kube-system", "default", "prod"])
NAMESPACE_GLOBS = st.sampled_from(["team-*", "team-b", "team-?", "kube-*", "default", "*", "prod", "*-ab"])


@given(
    st.lists(st.tuples(st.booleans(), NAMESPACE_GLOBS), max_size=4),
    NAMESPACE_NAMES,
)
def test_namespace_exclusions_narrow_every_inclusive_glob(
    globs: list[tuple[bool, str]], namespace: str
) -> None:
    # `--namespace team-* --namespace !team-b` serves team-a, not team-b nor kube-system: kopf alone would
    # serve every namespace but team-b (a namespace matching any one of its patterns is served)
    values = [f"!{glob}" if excluded else glob for excluded, glob in globs]
    included = [glob for excluded, glob in globs if not excluded]
    excluded = [glob for excluded, glob in globs if excluded]
    wanted = (not included or any(fnmatch.fnmatchcase(namespace, g) for g in included)) and not any(
        fnmatch.fnmatchcase(namespace, g) for g in excluded
    )
    patterns = kopf_namespace_patterns(values)
    served = not patterns or any(match_namespace(namespace, p) for p in patterns)
    assert served == wanted


def test_a_shard_with_an_exclusion_serves_only_its_namespaces() -> None:
    patterns = kopf_namespace_patterns(["team-*", "!team-b"])
    assert patterns == ["team-*,!team-b"]
    # exact names stay exact (kopf serves them without listing namespaces), unless excluded
    assert kopf_namespace_patterns(["team-a", "team-b", "!team-b"]) == ["team-a", "team-b,!team-b"]
    served = {
        ns for ns in ("team-a", "team-b", "kube-system") if any(match_namespace(ns, p) for p in patterns)
    }
    assert served == {"team-a"}


async def kopf_keepalive_finds_nothing(namespace: str | None) -> None:
    """kopf's own keep-alive write of this operator's record into a peering object that is not there."""
    settings = build_kopf_settings(parse(["--peering", "speech", "--peering-priority", "5"]))
    plural = "kopfpeerings" if namespace else "clusterkopfpeerings"
    resource = references.Resource(group="kopf.dev", version="v1", plural=plural, namespaced=bool(namespace))
    identity = kopf_peering.Identity("replica-1")
    await kopf_peering.touch(identity=identity, settings=settings, resource=resource, namespace=namespace)


async def test_kopf_finding_no_peering_object_is_one_warning_per_namespace(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def patch_obj(**_: object) -> tuple[None, None]:
        return None, None  # kopf's answer for a 404

    monkeypatch.setattr(kopf_peering.patching, "patch_obj", patch_obj)
    caplog.set_level(logging.INFO)
    kopf_logger = logging.getLogger(KOPF_PEERING_LOGGER)
    with missing_object_warnings():
        for namespace in ("team-x1", "team-x1", "team-x2", None):
            await kopf_keepalive_finds_nothing(namespace)
        kopf_logger.debug("something else kopf says at DEBUG")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"peering: there is no {what}: kopf keeps the operator paused, in every namespace, until it "
            "exists (create it: docs/operations.md, Replicas and peering)",
        )
        for what in (
            "KopfPeering speech in namespace team-x1",
            "KopfPeering speech in namespace team-x2",
            "ClusterKopfPeering speech",
        )
    ]
    assert kopf_logger.level == logging.NOTSET  # as before


class Failing:
    """An API server failing the first `failures` requests with `status` (0: no answer at all)."""

    def __init__(self, status: int, failures: int) -> None:
        self.status, self.failures = status, failures
        self.posted = 0
        self.slept: list[float] = []

    async def request(self, method: str, path: str, *, body: object = None) -> JsonObject | None:
        self.posted += 1
        if self.posted <= self.failures:
            raise KubeApiError(self.status, "Failure", "down", operation=f"{method} {path}")
        return {}

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def create(kube: Failing, backoffs: tuple[float, ...] | None = (1.0, 2.0, 3.0)) -> None:
    settings = parse(["--peering", "speech"])
    await create_peering_objects(kube, settings, backoffs=backoffs, sleep=kube.sleep)


@pytest.mark.parametrize("status", [0, 429, 500, 503])
async def test_peering_objects_are_retried_as_kopf_retries_its_requests(status: int) -> None:
    # refused connections, throttling and an API server restarting: kopf's pauses, not an exit
    kube = Failing(status, failures=2)
    await create(kube)
    assert (kube.posted, kube.slept) == (3, [1.0, 2.0])


async def test_peering_retries_end_with_the_last_failure_after_about_5_minutes() -> None:
    kube = Failing(0, failures=100)
    with pytest.raises(KubeApiError, match="HTTP 0"):
        await create(kube, backoffs=None)
    assert kube.slept == list(KUBE_API_BACKOFFS) and 240 < sum(kube.slept) < 360
    assert kube.posted == len(KUBE_API_BACKOFFS) + 1


@pytest.mark.parametrize("status", [401, 403, 422])
async def test_a_refusal_is_not_retried(status: int) -> None:
    kube = Failing(status, failures=1)
    with pytest.raises(KubeApiError):
        await create(kube)
    assert (kube.posted, kube.slept) == (1, [])
