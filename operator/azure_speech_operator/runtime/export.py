"""`spec.exportTo.configMapName`: a ConfigMap, owned by the resource, that tells applications where the
endpoint is (id, host, links ... whatever the caller passes as `data`).

Ownership is the safety rule: the ConfigMap carries an ownerReference (controller) to the resource's uid, so
Kubernetes garbage-collects it with the resource, and a ConfigMap that exists without that reference (an
application's own, another resource's) is never overwritten: `ConfigMapNotOwned`, a blocked error naming it
(retried with backoff: deleting that ConfigMap needs no change of the resource, so nothing else would tell).
Nothing is written when the data is already as wanted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, Protocol

from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.kube import JsonObject, KubeApiError, KubeConflictError, as_operator_error

MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "azure-speech-operator"}


class ConfigMapStore(Protocol):
    async def get_config_map(self, namespace: str, name: str) -> JsonObject | None: ...

    async def create_config_map(self, namespace: str, body: JsonObject) -> JsonObject: ...

    async def replace_config_map(self, namespace: str, name: str, body: JsonObject) -> JsonObject: ...

    async def delete_config_map(self, namespace: str, name: str, *, uid: str | None = None) -> bool: ...


def owner_reference(owner: Mapping[str, Any]) -> JsonObject:
    """The controller reference to `owner` (a resource body). No blockOwnerDeletion: setting it needs
    extra RBAC (update on the owner's finalizers) and the operator does not need foreground deletion."""
    metadata = owner.get("metadata") or {}
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
    }


def is_owned_by(obj: Mapping[str, Any], owner_uid: str) -> bool:
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, Mapping) and ref.get("uid") == owner_uid for ref in references)


def _not_owned(
    name: str, namespace: str, owner: Mapping[str, Any], existing: Mapping[str, Any]
) -> OperatorError:
    kind = owner.get("kind", "resource")
    owner_name = (owner.get("metadata") or {}).get("name")
    references = (existing.get("metadata") or {}).get("ownerReferences") or []
    controller = next((r for r in references if isinstance(r, Mapping) and r.get("controller")), None)
    if controller is not None:
        # another resource's export: deleting the ConfigMap would only start a fight over it
        held = f"it is {controller.get('kind')} {controller.get('name')!r}'s export"
        remedy = "choose another spec.exportTo.configMapName, or move that one's exportTo first"
    else:
        held = "it was not made by the operator"
        remedy = "choose another spec.exportTo.configMapName or delete that ConfigMap"
    return OperatorError(
        "ConfigMapNotOwned",
        f"ConfigMap {name!r} in namespace {namespace!r} exists and is not owned by {kind} {owner_name!r} "
        f"({held}): it is never overwritten; {remedy}",
        ErrorClass.BLOCKED,
    )


async def export_config_map(
    kube: ConfigMapStore, owner: Mapping[str, Any], name: str, data: Mapping[str, str]
) -> bool:
    """Make ConfigMap `name` (in the owner's namespace) hold exactly `data`. True if something was written.

    Raises OperatorError: ConfigMapNotOwned (blocked), or a Kubernetes API failure (transient / blocked).
    """
    metadata = owner.get("metadata") or {}
    namespace, owner_uid = str(metadata["namespace"]), str(metadata["uid"])
    wanted = {str(k): str(v) for k, v in data.items()}
    what = f"exporting to ConfigMap {name!r} in namespace {namespace!r}"
    try:
        existing = await kube.get_config_map(namespace, name)
        if existing is None:
            body: JsonObject = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": dict(MANAGED_BY),
                    "ownerReferences": [owner_reference(owner)],
                },
                "data": wanted,
            }
            try:
                await kube.create_config_map(namespace, body)
                return True
            except KubeConflictError:
                # Created meanwhile by someone else: judge the one that exists now.
                existing = await kube.get_config_map(namespace, name)
                if existing is None:
                    raise OperatorError(
                        "KubernetesConflict",
                        f"{what}: created and deleted concurrently",
                        ErrorClass.TRANSIENT,
                    ) from None
        if not is_owned_by(existing, owner_uid):
            raise _not_owned(name, namespace, owner, existing)
        if (existing.get("data") or {}) == wanted:
            return False
        replacement = copy.deepcopy(existing)
        replacement["data"] = wanted  # resourceVersion stays: a concurrent change gives 409, retried
        await kube.replace_config_map(namespace, name, replacement)
        return True
    except KubeApiError as exc:
        raise as_operator_error(exc, what) from None


async def remove_export(kube: ConfigMapStore, owner: Mapping[str, Any], name: str) -> bool:
    """Delete ConfigMap `name` if this owner owns it (e.g. after spec.exportTo changed). True if deleted.

    On the owner's own deletion nothing needs doing: Kubernetes garbage-collects owned ConfigMaps.
    """
    metadata = owner.get("metadata") or {}
    namespace, owner_uid = str(metadata["namespace"]), str(metadata["uid"])
    try:
        existing = await kube.get_config_map(namespace, name)
        if existing is None or not is_owned_by(existing, owner_uid):
            return False
        uid = (existing.get("metadata") or {}).get("uid")
        return await kube.delete_config_map(namespace, name, uid=str(uid) if uid else None)
    except KubeApiError as exc:
        raise as_operator_error(exc, f"deleting ConfigMap {name!r} in namespace {namespace!r}") from None
