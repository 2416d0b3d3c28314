import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import kopf
import pytest
from azure_speech_operator.azure.types import ApiKey, EntraIdentity, ErrorClass, OperatorError
from azure_speech_operator.kube import KubeApiError
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.credentials import (
    ROTATED_ANNOTATION,
    SecretKeyRef,
    SecretWatch,
    WorkloadIdentityRef,
    parse_credentials,
    register_secret_watch,
    resolve_credentials,
)
from azure_speech_operator.runtime.refusals import Refusals
from azure_speech_operator.settings import OperatorSettings
from pydantic import BaseModel, ConfigDict, Field

from tests.unit.runtime_fakes import FakeKube, RefusingSecrets

CANARY = "canary-key-0123456789abcdef"
SECRET_REF = {"secretRef": {"name": "speech-credentials", "key": "key"}}


async def test_good_key_is_read_and_wrapped() -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"key": f"{CANARY}\n".encode()})
    credential = await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert isinstance(credential, ApiKey)
    assert credential.key.get_secret_value() == CANARY  # trailing newline from `echo` stripped
    assert CANARY not in repr(credential) and CANARY not in str(credential)


async def test_missing_secret_is_blocked_and_named() -> None:
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(FakeKube(), "team-a", SECRET_REF, OperatorSettings())
    assert info.value.reason == "CredentialsNotFound"
    assert info.value.error_class is ErrorClass.BLOCKED
    assert "speech-credentials" in info.value.message and "team-a" in info.value.message


async def test_missing_key_names_secret_and_key_never_values() -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"other": CANARY.encode()})
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert info.value.reason == "CredentialsNotFound"
    assert "'key'" in info.value.message and "speech-credentials" in info.value.message
    assert CANARY not in str(info.value)


@pytest.mark.parametrize("value", [b"", b"  \n", b"\xff\xfe"])
async def test_empty_or_binary_key_is_invalid(value: bytes) -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"key": value})
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert info.value.reason == "CredentialsInvalid"
    assert info.value.error_class is ErrorClass.BLOCKED


@pytest.mark.parametrize(
    "value", [f"clé-{CANARY}".encode(), f"{CANARY}\u200b".encode(), f"{CANARY[:8]}\n{CANARY[8:]}".encode()]
)
async def test_a_key_that_cannot_be_a_header_is_invalid_and_named_without_its_text(value: bytes) -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"key": value})
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert info.value.reason == "CredentialsInvalid" and info.value.error_class is ErrorClass.BLOCKED
    assert "'key'" in info.value.message and "speech-credentials" in info.value.message
    assert "visible ASCII" in info.value.message and "position" not in info.value.message
    assert CANARY not in str(info.value) and "é" not in str(info.value) and "\u200b" not in str(info.value)


async def test_a_binary_key_leaves_nothing_of_itself_behind_the_error() -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"key": CANARY.encode() + b"\xff"})
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert info.value.reason == "CredentialsInvalid"
    # A UnicodeDecodeError as __context__ would hold the whole key in its `object`.
    assert info.value.__context__ is None and info.value.__cause__ is None


async def test_rotation_takes_effect_on_the_next_pass() -> None:
    kube = FakeKube()
    kube.put_secret("team-a", "speech-credentials", {"key": b"old-key"})
    first = await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    kube.put_secret("team-a", "speech-credentials", {"key": b"new-key"})
    second = await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings())
    assert isinstance(first, ApiKey) and isinstance(second, ApiKey)
    assert (first.key.get_secret_value(), second.key.get_secret_value()) == ("old-key", "new-key")
    assert kube.secret_reads == 2  # read per pass, never cached


async def test_workload_identity_only_where_settings_allow() -> None:
    spec = {"workloadIdentity": {}}
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(FakeKube(), "team-a", spec, OperatorSettings())
    assert info.value.reason == "WorkloadIdentityNotAllowed"
    assert info.value.error_class is ErrorClass.FATAL
    allowed = OperatorSettings(workload_identity_namespaces=("team-*",))
    assert isinstance(await resolve_credentials(FakeKube(), "team-a", spec, allowed), EntraIdentity)


async def test_api_failures_are_classified() -> None:
    class Failing(FakeKube):
        def __init__(self, status: int) -> None:
            super().__init__()
            self.status = status

        async def read_secret(self, namespace: str, name: str) -> None:
            raise KubeApiError(self.status, "Forbidden", "no", operation="GET")

    with pytest.raises(OperatorError) as info:
        await resolve_credentials(Failing(403), "team-a", SECRET_REF, OperatorSettings())
    assert (info.value.reason, info.value.error_class) == ("SecretNotReadable", ErrorClass.BLOCKED)
    with pytest.raises(OperatorError) as info:
        await resolve_credentials(Failing(500), "team-a", SECRET_REF, OperatorSettings())
    assert info.value.error_class is ErrorClass.TRANSIENT


async def test_an_api_server_that_does_not_answer_is_said_so_not_http_0() -> None:
    class Unreachable(FakeKube):
        async def read_secret(self, namespace: str, name: str) -> None:
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except OSError as exc:
                raise KubeApiError(0, "ConnectionError", str(exc), operation="GET") from None

    with pytest.raises(OperatorError) as info:
        await resolve_credentials(Unreachable(), "team-a", SECRET_REF, OperatorSettings())
    assert info.value.error_class is ErrorClass.TRANSIENT
    assert "HTTP 0" not in str(info.value)
    assert "the Kubernetes API server did not answer (Connection refused)" in str(info.value)


async def test_refusals_are_transient_for_30_s_from_the_first_then_blocked_until_a_read_succeeds() -> None:
    # an API server that has just started answers 403 until its authorizer is ready: not a missing RBAC
    # rule yet, whatever failed before it (the outage's own errors)
    kube = RefusingSecrets()
    kube.put_secret("team-a", "speech-credentials", {"key": CANARY.encode()})
    refusals = Refusals()
    start = datetime(2026, 12, 7, tzinfo=UTC)

    async def error_class(after: float) -> ErrorClass:
        with pytest.raises(OperatorError) as info:
            now = start + timedelta(seconds=after)
            await resolve_credentials(
                kube, "team-a", SECRET_REF, OperatorSettings(), refusals=refusals, now=now
            )
        assert info.value.reason == "SecretNotReadable"
        return info.value.error_class

    assert await error_class(0) is ErrorClass.TRANSIENT
    assert await error_class(29.9) is ErrorClass.TRANSIENT
    assert await error_class(30) is ErrorClass.BLOCKED
    assert await error_class(300) is ErrorClass.BLOCKED
    kube.refuse = False
    key = await resolve_credentials(
        kube, "team-a", SECRET_REF, OperatorSettings(), refusals=refusals, now=start + timedelta(seconds=301)
    )
    assert isinstance(key, ApiKey) and len(refusals) == 0
    kube.refuse = True
    assert await error_class(400) is ErrorClass.TRANSIENT  # a new run of refusals


def test_parse_accepts_dicts_models_and_refs() -> None:
    class Ref(BaseModel):
        name: str
        key: str

    class Creds(BaseModel):
        model_config = ConfigDict(populate_by_name=True)
        secret_ref: Ref | None = Field(default=None, alias="secretRef")
        workload_identity: dict[str, str] | None = Field(default=None, alias="workloadIdentity")

    assert parse_credentials(SECRET_REF) == SecretKeyRef("speech-credentials", "key")
    assert parse_credentials({"secretRef": {"name": "s"}}) == SecretKeyRef("s", "key")  # the CRD default
    assert parse_credentials(Creds(secretRef=Ref(name="s", key="k"))) == SecretKeyRef("s", "k")
    assert parse_credentials(Creds(workloadIdentity={})) == WorkloadIdentityRef()
    for bad in (
        None,
        {},
        {"secretRef": {"key": "k"}},
        {"secretRef": {"name": "s", "key": ""}},
        {"secretRef": {"name": "s", "key": "k"}, "workloadIdentity": {}},
    ):
        with pytest.raises(OperatorError) as info:
            parse_credentials(bad)
        assert info.value.error_class is ErrorClass.FATAL


# ---------------------------------------------------------------------------------------------------------
# The labelled-Secret watch

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def resource(name: str, secret: str, *, ready: str | None) -> dict[str, object]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": "X"}]
    return {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {"azure": {"credentials": {"secretRef": {"name": secret, "key": "key"}}}},
        "status": {"conditions": conditions},
    }


async def test_watch_marks_unready_resources_using_the_secret() -> None:
    kube = FakeKube()
    kube.put_object("speechendpoints", resource("blocked", "creds", ready="False"))
    kube.put_object("speechendpoints", resource("new", "creds", ready=None))
    kube.put_object("speechendpoints", resource("fine", "creds", ready="True"))
    kube.put_object("speechendpoints", resource("other", "other-creds", ready="False"))
    watch = SecretWatch(["speechendpoints", "voiceendpoints"])
    secret = kube.put_secret("team-a", "creds", {"key": b"k1"})

    assert await watch.handle(kube, None, secret, lambda: NOW) == []  # initial listing: not a change
    secret = kube.put_secret("team-a", "creds", {"key": b"k2"})
    marked = await watch.handle(kube, "MODIFIED", secret, lambda: NOW)
    assert marked == [("speechendpoints", "blocked"), ("speechendpoints", "new")]
    annotations = kube.objects[("speechendpoints", "team-a", "blocked")]["metadata"]["annotations"]
    assert annotations == {ROTATED_ANNOTATION: NOW.isoformat()}
    assert "annotations" not in kube.objects[("speechendpoints", "team-a", "fine")]["metadata"]


async def test_watch_marks_only_the_resources_of_its_shard() -> None:
    """With --label-selector, another shard's resources are that shard operator's, even when they use the
    same Secret."""
    kube = FakeKube()
    ours, theirs = resource("ours", "creds", ready="False"), resource("theirs", "creds", ready="False")
    ours["metadata"]["labels"] = {"shard": "a"}  # type: ignore[index]
    theirs["metadata"]["labels"] = {"shard": "b"}  # type: ignore[index]
    kube.put_object("speechendpoints", ours)
    kube.put_object("speechendpoints", theirs)
    watch = SecretWatch(["speechendpoints"], label_selector="shard=a")
    secret = kube.put_secret("team-a", "creds", {"key": b"k1"})
    assert await watch.handle(kube, "ADDED", secret, lambda: NOW) == [("speechendpoints", "ours")]


async def test_watch_ignores_metadata_only_updates_and_deletions() -> None:
    kube = FakeKube()
    kube.put_object("speechendpoints", resource("blocked", "creds", ready="False"))
    watch = SecretWatch(["speechendpoints"])
    secret = kube.put_secret("team-a", "creds", {"key": b"k1"})
    assert await watch.handle(kube, "ADDED", secret, lambda: NOW) == [("speechendpoints", "blocked")]
    relabelled = dict(secret, metadata={**secret["metadata"], "labels": {"x": "y"}})
    assert await watch.handle(kube, "MODIFIED", relabelled, lambda: NOW) == []
    assert await watch.handle(kube, "DELETED", secret, lambda: NOW) == []
    # Re-created with the same content after a deletion: that is a change for the resources waiting on it.
    assert await watch.handle(kube, "ADDED", secret, lambda: NOW) == [("speechendpoints", "blocked")]


async def test_a_deletion_that_finds_the_secret_gone_uses_the_key_last_read() -> None:
    """Deleting a namespace deletes its Secrets at once, while its resources wait for the operator: their
    endpoints are still deleted with the key the operator last read."""
    kube, memory = FakeKube(), {}
    kube.put_secret("team-a", "speech-credentials", {"key": CANARY.encode()})
    read = await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings(), memory=memory)
    kube.secrets.clear()
    remembered = await resolve_credentials(
        kube, "team-a", SECRET_REF, OperatorSettings(), memory=memory, deleting=True
    )
    assert remembered == read
    assert CANARY not in repr(memory)


async def test_only_a_deletion_falls_back_to_the_remembered_key() -> None:
    kube, memory = FakeKube(), {}
    kube.put_secret("team-a", "speech-credentials", {"key": CANARY.encode()})
    await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings(), memory=memory)
    kube.secrets.clear()
    with pytest.raises(OperatorError, match="not found"):
        await resolve_credentials(kube, "team-a", SECRET_REF, OperatorSettings(), memory=memory)
    with pytest.raises(OperatorError, match="not found"):  # another namespace's Secret of that name
        await resolve_credentials(
            kube, "team-b", SECRET_REF, OperatorSettings(), memory=memory, deleting=True
        )


@pytest.mark.parametrize(("status", "level"), [(503, "INFO"), (403, "WARNING")])
async def test_a_secret_watch_that_cannot_mark_logs_warning_only_for_a_refusal(
    status: int, level: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the slow credentials retry still reaches the resources: a moment of the API server's is no one's to
    # act on, a refusal is a missing RBAC rule
    class Failing(FakeKube):
        async def list_objects(self, plural: str, namespace: str, **options: Any) -> list[Any]:
            raise KubeApiError(status, "Failed", "no", operation="GET")

    registry = kopf.OperatorRegistry()
    register_secret_watch(registry, ["speechendpoints"])
    (handler,) = registry._watching.get_all_handlers()
    ctx = OperatorContext(settings=OperatorSettings(), kube=Failing(), azure=None)  # type: ignore[arg-type]
    secret = FakeKube().put_secret("team-a", "creds", {"key": b"k2"})
    with caplog.at_level(logging.INFO):
        await handler.fn(
            event={"type": "MODIFIED"},
            body=kopf.Body(secret),
            memo=SimpleNamespace(ctx=ctx),
            logger=logging.getLogger("test.secret-watch"),
        )
    (record,) = [r for r in caplog.records if "could not mark" in r.getMessage()]
    assert record.levelname == level


def test_a_run_of_refusals_without_a_refusal_for_an_hour_is_over() -> None:
    refusals = Refusals()
    error = OperatorError("KubernetesForbidden", "may not", ErrorClass.BLOCKED)
    start = datetime(2026, 12, 7, tzinfo=UTC)
    key = ("configmaps", "team-a")
    assert refusals.judge(error, key, start).error_class is ErrorClass.TRANSIENT
    # a missing rule, asked again by the blocked retries (every 5 to 30 min): blocked each time
    for minutes in (1, 10, 40, 70):
        judged = refusals.judge(error, key, start + timedelta(minutes=minutes))
        assert judged.error_class is ErrorClass.BLOCKED
    # nothing asked for more than an hour (its resources gone): a refusal now starts a new run
    assert refusals.judge(error, key, start + timedelta(minutes=131)).error_class is ErrorClass.TRANSIENT
