"""The runtime's direct writes to a resource: they land at once, not after the handler as kopf's `patch`
does, so that what must survive a crash mid-pass (the create-pending mark before an Azure POST, the new
endpoint id after it) is stored before the next step. Also the exported ConfigMap and the status."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.kube import (
    JSON_PATCH,
    KUBERNETES_FORBIDDEN,
    KubeApiError,
    as_operator_error,
    resource_version,
    without_managed_fields,
)
from azure_speech_operator.reconcile import CREATE_PENDING_ANNOTATION, ENDPOINT_ID_ANNOTATION
from azure_speech_operator.runtime.context import OperatorContext
from azure_speech_operator.runtime.export import export_config_map, remove_export
from azure_speech_operator.runtime.kind import Kind


def status_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) turning `previous` into `new`: changed values, removed keys as null,
    nested maps patched key by key (a merge patch merges them; a stale key would otherwise survive)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        old = previous.get(key)
        if old == value and key in previous:
            continue
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            patch[key] = status_patch(old, value)
        else:
            patch[key] = value
    patch.update({k: None for k in previous if k not in new})
    return patch


class KubeWriter:
    """The direct writes to one object of `kind` and its export (the engine's ResourceWriter)."""

    def __init__(self, ctx: OperatorContext, kind: Kind[Any, Any, Any, Any], obj: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.kind = kind
        self.obj = obj
        metadata = obj.get("metadata") or {}
        self.namespace = str(metadata["namespace"])
        self.name = str(metadata["name"])
        self.uid = str(metadata["uid"])
        # the newest answer to a write of this object: the object as it wrote it (handlers.current_object)
        self.written: Mapping[str, Any] | None = None

    def _written(self, answer: Mapping[str, Any] | None) -> None:
        version = resource_version(answer or {})
        newer = self.written is None or (version or 0) > (resource_version(self.written) or 0)
        if answer is not None and version is not None and newer:
            self.written = without_managed_fields(answer)

    async def _patch(self, patch: Any, what: str, **options: Any) -> Mapping[str, Any] | None:
        kind = self.kind
        with self._judging(kind.plural):
            try:
                answer = await self.ctx.kube.patch_object(
                    kind.plural,
                    self.namespace,
                    self.name,
                    patch,
                    group=kind.group,
                    version=kind.version,
                    **options,
                )
            except KubeApiError as exc:
                # every patch here tests the uid: a 422 says a same-named successor took its place
                raise as_operator_error(exc, what, invalid_is_refusal=False) from None
        self._written(answer)
        return answer

    @contextmanager
    def _judging(self, plural: str) -> Iterator[None]:
        """A refused write of `plural` is judged by the run of refusals it belongs to (transient at first,
        then blocked); one let through ends that run."""
        try:
            yield
        except OperatorError as exc:
            if exc.reason != KUBERNETES_FORBIDDEN:
                raise
            raise self.ctx.refusals.judge(exc, (plural, self.namespace), self.ctx.now()) from None
        self.ctx.refusals.allowed((plural, self.namespace))

    async def _patch_annotations(self, annotations: dict[str, str | None], what: str) -> None:
        # A JSON patch testing the uid: a same-named successor object must never get this object's marks.
        operations: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": self.uid}]
        current = (self.obj.get("metadata") or {}).get("annotations")
        if current is None:
            operations.append({"op": "add", "path": "/metadata/annotations", "value": {}})
        for key, value in annotations.items():
            path = "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1")
            if value is None:
                if key in (current or {}):
                    operations.append({"op": "remove", "path": path})
            else:
                operations.append({"op": "add", "path": path, "value": value})
        answer = await self._patch(operations, what, content_type=JSON_PATCH)
        if answer is None:
            # The pass ran on a copy of an object deleted since: nothing it would do next (a create above
            # all, which its mark must precede) may happen.
            raise OperatorError(
                "ResourceGone",
                f"{what} failed: the {self.kind.kind} is gone from the cluster",
                ErrorClass.FATAL,
            )
        self.obj = answer

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None:
        # when, and by which process: another process (after a restart, a hand-over) waits out a create that
        # may still be in flight before it looks for its endpoint (Planner.create_in_flight_until)
        mark = f"{self.ctx.now().isoformat()} {self.ctx.process}"
        changes: dict[str, str | None] = {CREATE_PENDING_ANNOTATION: mark}
        if forget_endpoint_id:
            changes[ENDPOINT_ID_ANNOTATION] = None
        await self._patch_annotations(changes, "marking the create as pending")

    async def clear_create_pending(self) -> None:
        await self._patch_annotations({CREATE_PENDING_ANNOTATION: None}, "dropping the create-pending mark")

    async def record_endpoint_id(self, endpoint_id: str) -> None:
        await self._patch_annotations(
            {ENDPOINT_ID_ANNOTATION: endpoint_id, CREATE_PENDING_ANNOTATION: None},
            "recording the new endpoint id",
        )
        # status.endpointId comes with the pass's status write: the annotation is what a crash must not lose

    async def note(self, changes: Mapping[str, str | None], why: str) -> None:
        await self._patch_annotations(dict(changes), why)

    def _owner(self) -> dict[str, Any]:
        metadata = self.obj.get("metadata") or {}
        return {"apiVersion": self.kind.api_version, "kind": self.kind.kind, "metadata": metadata}

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None:
        with self._judging("configmaps"):
            await export_config_map(self.ctx.kube, self._owner(), config_map_name, data)

    async def unexport(self, config_map_name: str) -> None:
        with self._judging("configmaps"):
            await remove_export(self.ctx.kube, self._owner(), config_map_name)

    async def write_status(self, previous: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """Patch the status from `previous` (as read) to `new`: only what changed. Raises KubeApiError."""
        kind = self.kind
        answer = await self.ctx.kube.patch_object(
            kind.plural,
            self.namespace,
            self.name,
            {"status": status_patch(previous, new)},
            subresource="status",
            group=kind.group,
            version=kind.version,
        )
        self._written(answer)
