"""Credentials of a resource (`spec.azure.credentials`) and the watch that retries resources at once when a
labelled credentials Secret changes.

The Secret is read on every pass (one read shared by the passes of the same moment, runtime/secrets.py), so
a rotated key takes effect without a restart. The last key read for
each Secret is also kept in the process's memory (`KeyMemory`), used only by a deletion that finds the Secret
gone: deleting a namespace deletes its Secrets at once while its resources wait for the operator's finalizer,
and without the remembered key their endpoints could not be deleted. Key values only ever travel wrapped in
`SecretStr`/`SecretBytes`; messages name the Secret and key, never the value.

Retrying at once: the watch on Secrets labelled `speech.azure-operator.io/credentials: "true"` finds the
resources in the Secret's namespace that reference it and are not Ready, and sets the annotation
`operator.speech.azure-operator.io/credentials-rotated-at` on them. That annotation lies outside kopf's
storage prefix, so kopf sees a change and runs the resource's update handler; the handler treats it like a new
chance for a blocked error (as `reconcile-requested-at` does), see docs/operations.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import kopf
from pydantic import BaseModel, SecretStr

from azure_speech_operator.azure.auth import header_value_problem
from azure_speech_operator.azure.types import ApiKey, Credential, EntraIdentity, ErrorClass, OperatorError
from azure_speech_operator.kube import (
    SPEECH_GROUP,
    SPEECH_VERSION,
    JsonObject,
    KubeApiError,
    unreachable_reason,
)
from azure_speech_operator.reconcile import CREDENTIALS_LABEL
from azure_speech_operator.runtime.context import get_context
from azure_speech_operator.runtime.refusals import Refusals
from azure_speech_operator.runtime.secrets import SecretReader
from azure_speech_operator.settings import OperatorSettings

ROTATED_ANNOTATION: Final = "operator.speech.azure-operator.io/credentials-rotated-at"
DEFAULT_SECRET_KEY: Final = "key"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class WorkloadIdentityRef:
    pass


CredentialsRef = SecretKeyRef | WorkloadIdentityRef


class ResourcePatcher(Protocol):
    async def list_objects(
        self,
        plural: str,
        namespace: str,
        *,
        group: str = ...,
        version: str = ...,
        label_selector: str | None = ...,
    ) -> list[JsonObject]: ...

    async def patch_object(
        self,
        plural: str,
        namespace: str,
        name: str,
        patch: JsonObject,
        *,
        group: str = ...,
        version: str = ...,
    ) -> JsonObject | None: ...


def parse_credentials(credentials: Mapping[str, Any] | BaseModel | CredentialsRef | None) -> CredentialsRef:
    """`spec.azure.credentials` (a dict as stored, a pydantic model of it, or a ref) -> a ref."""
    if isinstance(credentials, SecretKeyRef | WorkloadIdentityRef):
        return credentials
    if isinstance(credentials, BaseModel):
        credentials = credentials.model_dump(by_alias=True, exclude_none=True)
    credentials = credentials or {}
    secret_ref = credentials.get("secretRef")
    workload = credentials.get("workloadIdentity")
    if secret_ref is not None and workload is not None:
        raise _invalid("spec.azure.credentials: give either secretRef or workloadIdentity, not both")
    if workload is not None:
        return WorkloadIdentityRef()
    if not isinstance(secret_ref, Mapping):
        raise _invalid("spec.azure.credentials: secretRef or workloadIdentity is required")
    name, key = secret_ref.get("name"), secret_ref.get("key", DEFAULT_SECRET_KEY)  # the CRD's default
    if not isinstance(name, str) or not name:
        raise _invalid("spec.azure.credentials.secretRef.name is required")
    if not isinstance(key, str) or not key:
        raise _invalid("spec.azure.credentials.secretRef.key must not be empty")
    return SecretKeyRef(name=name, key=key)


def _invalid(message: str) -> OperatorError:
    return OperatorError("InvalidSpec", message, ErrorClass.FATAL)


# (namespace, Secret name, key) -> the key last read there
KeyMemory = MutableMapping[tuple[str, str, str], ApiKey]


async def resolve_credentials(
    kube: SecretReader,
    namespace: str,
    credentials: Mapping[str, Any] | BaseModel | CredentialsRef | None,
    settings: OperatorSettings,
    *,
    memory: KeyMemory | None = None,
    deleting: bool = False,
    refusals: Refusals | None = None,
    now: datetime | None = None,
) -> Credential:
    """The credential to call Azure with, read now (and remembered in `memory`). When `deleting` and the
    Secret or its key is gone, the key last read from it in this process is used instead. `refusals` (with
    `now`) judges a refusal to read it (runtime/refusals.py). Raises OperatorError:

    - CredentialsNotFound (blocked): the Secret or its key is missing;
    - CredentialsInvalid (blocked): the key is empty, not text, or not sendable in a header (visible
      ASCII only);
    - WorkloadIdentityNotAllowed (fatal): workloadIdentity in a namespace the settings do not list;
    - SecretNotReadable: the API refused (blocked, or as `refusals` judge it);
    - KubernetesApiError (transient): the API failed.
    """
    ref = parse_credentials(credentials)
    if isinstance(ref, WorkloadIdentityRef):
        if not settings.workload_identity_allowed(namespace):
            raise OperatorError(
                "WorkloadIdentityNotAllowed",
                f"workloadIdentity is not allowed in namespace {namespace!r}: the operator's "
                "--workload-identity-namespaces setting must list it",
                ErrorClass.FATAL,
            )
        return EntraIdentity()
    where = f"key {ref.key!r} of Secret {ref.name!r} in namespace {namespace!r}"
    try:
        data = await kube.read_secret(namespace, ref.name)
    except KubeApiError as exc:
        if exc.status in (401, 403):
            refusal = OperatorError(
                "SecretNotReadable",
                f"the operator may not read Secret {ref.name!r} in namespace {namespace!r} "
                f"(HTTP {exc.status})",
                ErrorClass.BLOCKED,
            )
            if refusals is not None and now is not None:
                refusal = refusals.judge(refusal, ("secrets", namespace), now)
            raise refusal from None
        why = (
            f"the Kubernetes API server did not answer ({unreachable_reason(exc)})"
            if exc.status == 0
            else f"HTTP {exc.status} {exc.reason}"
        )
        raise OperatorError(
            "KubernetesApiError",
            f"reading Secret {ref.name!r} in namespace {namespace!r} failed: {why}",
            ErrorClass.TRANSIENT,
        ) from None
    if refusals is not None:
        refusals.allowed(("secrets", namespace))
    slot = (namespace, ref.name, ref.key)
    value = None if data is None else data.get(ref.key)
    if value is None:
        remembered = memory.get(slot) if memory is not None and deleting else None
        if remembered is not None:
            logger.info("%s is gone: deleting with the key last read from it", where)
            return remembered
        missing = (
            f"Secret {ref.name!r} not found in namespace {namespace!r}"
            if data is None
            else f"{where} not found"
        )
        raise OperatorError("CredentialsNotFound", missing, ErrorClass.BLOCKED)
    text: str | None = None
    # Not raised while handling: the decode error (its `object` is the whole key) would be the __context__.
    with contextlib.suppress(UnicodeDecodeError):
        text = value.get_secret_value().decode("utf-8").strip()
    problem = "is not UTF-8 text" if text is None else header_value_problem(text)
    if problem is not None or text is None:
        raise OperatorError("CredentialsInvalid", f"{where} {problem}", ErrorClass.BLOCKED)
    key = ApiKey(key=SecretStr(text))
    if memory is not None:
        memory[slot] = key
    return key


# ---------------------------------------------------------------------------------------------------------
# The labelled-Secret watch


def references_secret(resource: Mapping[str, Any], secret_name: str) -> bool:
    secret_ref = (((resource.get("spec") or {}).get("azure") or {}).get("credentials") or {}).get("secretRef")
    return isinstance(secret_ref, Mapping) and secret_ref.get("name") == secret_name


def is_ready(resource: Mapping[str, Any]) -> bool:
    for condition in (resource.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def secret_digest(secret: Mapping[str, Any]) -> str:
    """A digest of a Secret's data, to tell a content change from a metadata-only update (memory only)."""
    payload = json.dumps(
        {"data": secret.get("data") or {}, "stringData": secret.get("stringData") or {}}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class SecretWatch:
    """Decides, per Secret event, which resources get a new pass, and marks them."""

    def __init__(
        self,
        plurals: Sequence[str],
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
        label_selector: str | None = None,
    ) -> None:
        self.plurals = tuple(plurals)
        self.group = group
        self.version = version
        self.label_selector = label_selector  # the operator's shard: other shards' resources are not ours
        self._seen: dict[tuple[str, str], str] = {}

    async def handle(
        self,
        kube: ResourcePatcher,
        event_type: str | None,
        secret: Mapping[str, Any],
        now: Callable[[], datetime],
    ) -> list[tuple[str, str]]:
        """React to one watch event; returns the (plural, name) of the resources marked."""
        metadata = secret.get("metadata") or {}
        namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
        key = (namespace, name)
        if event_type == "DELETED":
            self._seen.pop(key, None)
            return []
        digest = secret_digest(secret)
        previous = self._seen.get(key)
        self._seen[key] = digest
        # The initial listing (type None) is the state at start, not a change; an unchanged digest is a
        # metadata-only update (labels, annotations).
        if event_type is None or previous == digest:
            return []
        stamp = now().isoformat()
        marked = []
        for plural in self.plurals:
            for resource in await kube.list_objects(
                plural,
                namespace,
                group=self.group,
                version=self.version,
                label_selector=self.label_selector,
            ):
                resource_name = str((resource.get("metadata") or {}).get("name") or "")
                if not references_secret(resource, name) or is_ready(resource):
                    continue
                patch = {"metadata": {"annotations": {ROTATED_ANNOTATION: stamp}}}
                answer = await kube.patch_object(
                    plural, namespace, resource_name, patch, group=self.group, version=self.version
                )
                if answer is not None:
                    marked.append((plural, resource_name))
        return marked


def register_secret_watch(
    registry: kopf.OperatorRegistry,
    plurals: Sequence[str],
    *,
    group: str = SPEECH_GROUP,
    version: str = SPEECH_VERSION,
    label_selector: str | None = None,
) -> SecretWatch:
    """Watch labelled credential Secrets (needs list/watch on Secrets) and retry the resources using them
    (only those matching `label_selector`, the operator's shard, when given)."""
    watch = SecretWatch(plurals, group=group, version=version, label_selector=label_selector)

    @kopf.on.event("", "v1", "secrets", labels={CREDENTIALS_LABEL: "true"}, registry=registry)
    async def credentials_secret_changed(
        event: Mapping[str, Any], body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
    ) -> None:
        ctx = get_context(memo)
        metadata = body.get("metadata") or {}
        # before the marks: the passes they start must read the Secret as it is now
        ctx.secrets.forget(str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        try:
            marked = await watch.handle(ctx.kube, event.get("type"), body, ctx.now)
        except KubeApiError as exc:
            # Not fatal: the slow credentials retry still reaches the resources. A refusal is a missing RBAC
            # rule (someone must act); anything else is a moment of the API server's.
            level = logging.WARNING if exc.status in (401, 403) else logging.INFO
            logger.log(level, "could not mark the resources using this Secret for a retry: %s", exc)
            return
        for plural, name in marked:
            ctx.metrics.credential_triggers.labels(plural).inc()
            logger.info("credentials changed: %s/%s gets a new pass", plural, name)

    return watch
