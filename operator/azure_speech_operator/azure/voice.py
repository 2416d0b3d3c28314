"""Custom voice endpoints at 2026-01-01 and 2024-02-01-preview (one adapter: same contract), and the
retiring v3.0 API (get/suspend/resume only) behind the one `VoiceEndpoints` interface.

Creation is idempotent by construction: the caller chooses the endpoint id and a deterministic
Operation-Id, and `create` GETs before it PUTs, so a retry after a crash or a lost answer never duplicates.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from .errors import operator_error
from .models import CvEndpoint, CvEndpointPage, CvOperation, V3VoiceEndpoint
from .speech import SPEC_FIELDS, _check_id, last_segment
from .transport import Reply, Session
from .types import (
    AzureError,
    EntityError,
    ErrorClass,
    Operation,
    VoiceEndpoint,
    VoiceEndpointCreate,
)

_OPERATION_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,62}[a-zA-Z0-9]$")
# What an existing endpoint's status says about the operation that created (or last changed) it.
OPERATION_STATUS = {
    "NotStarted": "NotStarted",
    "Running": "Running",
    "Disabling": "Running",
    "Succeeded": "Succeeded",
    "Disabled": "Succeeded",
    "Failed": "Failed",
}


def _check_operation_id(value: str) -> str:
    if not _OPERATION_ID.match(value):
        raise operator_error(
            "InvalidParameter",
            f"operation id {value!r} must be 3-64 characters of letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
        )
    return value


class VoiceAdapter:
    """`VoiceEndpoints` for the custom voice API (2026-01-01, 2024-02-01-preview)."""

    prefix = "/customvoice"

    def __init__(self, session: Session, api_version: str) -> None:
        self.api_version = api_version
        self._session = session
        self._params = {"api-version": api_version}

    def __repr__(self) -> str:
        return f"VoiceAdapter({self._session.origin.url}, {self.api_version})"

    def _url(self, path: str) -> str:
        return self._session.url(self.prefix + path)

    def operation_location(self, operation_id: str) -> str:
        """Rebuilt on the configured host from the Operation-Id (Azure answers with regional hosts)."""
        return self._url(f"/operations/{operation_id}") + f"?api-version={self.api_version}"

    @staticmethod
    def _endpoint(wire: CvEndpoint, retry_after: float | None, asked: str) -> VoiceEndpoint:
        """`asked`: the id in the request's path, the endpoint's when the body leaves its id out."""
        return VoiceEndpoint(
            id=wire.id or asked,
            display_name=wire.display_name,
            description=wire.description,
            project_id=wire.project_id,
            model_id=wire.model_id,
            kind=wire.properties.kind if wire.properties else None,
            status=wire.status or "Unknown",
            created_at=wire.created,
            last_action_at=wire.last_action,
            retry_after=retry_after,
        )

    def _operation(self, reply: Reply, requested_id: str, op: str) -> Operation:
        """The operation a 201/202 started, named by its Operation-Id and Operation-Location headers. The
        location is re-based onto the configured host (Azure names a regional host even when called on a
        custom domain); one outside the operations path, or none, is rebuilt from the id."""
        header = reply.headers.get("operation-location")
        location: str | None = None
        if header:
            try:
                location = self._session.rebase(header, f"{self.prefix}/operations/", op)
            except AzureError:
                location = None
        op_id = reply.headers.get("operation-id") or (last_segment(location) if location else requested_id)
        if not _OPERATION_ID.match(op_id):
            op_id = requested_id
        if location is None or last_segment(location) != op_id:
            location = self.operation_location(op_id)
        return Operation(id=op_id, status="NotStarted", location=location)

    async def get(self, endpoint_id: str) -> VoiceEndpoint:
        op = "CustomVoice.Endpoints_Get"
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}")
        reply = await self._session.request(op, "GET", url, params=self._params)
        wire = self._session.parse(CvEndpoint, reply, op, keep=SPEC_FIELDS)
        return self._endpoint(wire, reply.retry_after, endpoint_id)

    async def create(
        self, endpoint_id: str, body: VoiceEndpointCreate, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation]:
        _check_id(endpoint_id, "endpoint id")
        _check_operation_id(operation_id)
        try:
            existing = await self.get(endpoint_id)
        except AzureError as exc:
            if exc.error_class is not ErrorClass.NOT_FOUND:
                raise
        else:
            status = OPERATION_STATUS.get(existing.status, existing.status)
            return existing, Operation(
                id=operation_id, status=status, location=self.operation_location(operation_id)
            )
        op = "CustomVoice.Endpoints_Create"
        wire: dict[str, Any] = {"projectId": body.project_id, "modelId": body.model_id}
        if body.display_name is not None:
            wire["displayName"] = body.display_name
        if body.description is not None:
            wire["description"] = body.description
        if body.kind is not None:
            wire["properties"] = {"kind": body.kind}
        reply = await self._session.request(
            op,
            "PUT",
            self._url(f"/endpoints/{endpoint_id}"),
            params=self._params,
            json=wire,
            headers={"Operation-Id": operation_id},
            expect=(201, 200),
        )
        endpoint = self._endpoint(
            self._session.parse(CvEndpoint, reply, op, written=True, keep=SPEC_FIELDS),
            reply.retry_after,
            endpoint_id,
        )
        return endpoint, self._operation(reply, operation_id, op)

    async def delete(self, endpoint_id: str) -> bool:
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}")
        return await self._session.delete("CustomVoice.Endpoints_Delete", url, self._params)

    async def _action(
        self, action: str, endpoint_id: str, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation | None]:
        op = f"CustomVoice.Endpoints_{action.capitalize()}"
        _check_operation_id(operation_id)
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}:{action}")
        reply = await self._session.request(
            op, "POST", url, params=self._params, headers={"Operation-Id": operation_id}, expect=(202, 200)
        )
        endpoint = self._endpoint(
            self._session.parse(CvEndpoint, reply, op, written=True, keep=SPEC_FIELDS),
            reply.retry_after,
            endpoint_id,
        )
        return endpoint, self._operation(reply, operation_id, op)

    async def suspend(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        return await self._action("suspend", endpoint_id, operation_id)

    async def resume(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        return await self._action("resume", endpoint_id, operation_id)

    async def get_operation(self, operation_id: str) -> Operation:
        op = "CustomVoice.Operations_Get"
        url = self._url(f"/operations/{_check_operation_id(operation_id)}")
        reply = await self._session.request(op, "GET", url, params=self._params)
        wire = self._session.parse(CvOperation, reply, op)
        return Operation(
            id=wire.id or operation_id,
            status=wire.status or "Unknown",
            location=self.operation_location(operation_id),
        )

    async def list(self, filter: str | None = None) -> AsyncIterator[VoiceEndpoint]:
        op = "CustomVoice.Endpoints_List"
        params = {**self._params, "filter": filter} if filter else self._params
        url = self._url("/endpoints")
        async for reply, page in self._session.pages(
            op, url, params, CvEndpointPage, self.prefix, self._params, keep=SPEC_FIELDS
        ):
            for item in page.items:
                try:
                    wire = CvEndpoint.model_validate(item)
                except ValueError:
                    continue
                if wire.id:  # a listed endpoint without its id names nothing the operator can use
                    yield self._endpoint(wire, reply.retry_after, wire.id)


class VoiceV3Adapter:
    """The retiring v3.0 API on `{region}.customvoice.api.speech.microsoft.com`: get/suspend/resume."""

    api_version = "v3.0"
    prefix = "/api/texttospeech/v3.0"

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"VoiceV3Adapter({self._session.origin.url})"

    def _unsupported(self, what: str) -> AzureError:
        return operator_error(
            "NotSupportedByApiVersion",
            f"{what} is not supported by custom voice API version v3.0 (only get, suspend and resume)",
        )

    @staticmethod
    def _endpoint(wire: V3VoiceEndpoint, retry_after: float | None) -> VoiceEndpoint:
        error = wire.properties.error if wire.properties else None
        return VoiceEndpoint(
            id=wire.id,
            display_name=wire.name,
            description=wire.description,
            project_id=wire.project.id if wire.project else None,
            model_id=wire.model.id if wire.model else None,
            status=wire.status or "Unknown",
            error=EntityError(code=error.code, message=error.message) if error else None,
            created_at=wire.created,
            last_action_at=wire.last_action,
            retry_after=retry_after,
        )

    def _endpoint_url(self, endpoint_id: str) -> str:
        return self._session.url(f"{self.prefix}/endpoints/{_check_id(endpoint_id, 'endpoint id')}")

    async def get(self, endpoint_id: str) -> VoiceEndpoint:
        return await self._get_url(self._endpoint_url(endpoint_id))

    async def _get_url(self, url: str) -> VoiceEndpoint:
        op = "TextToSpeechV3.Endpoints_Get"
        reply = await self._session.request(op, "GET", url)
        return self._endpoint(self._session.parse(V3VoiceEndpoint, reply, op), reply.retry_after)

    async def _read_back(self, reply: Reply, endpoint_id: str) -> VoiceEndpoint:
        url = self._endpoint_url(endpoint_id)
        location = reply.headers.get("location")
        if location:
            try:
                rebased = self._session.rebase(
                    location, f"{self.prefix}/endpoints/", "TextToSpeechV3.Endpoints_Get"
                )
            except AzureError:
                rebased = url  # a Location elsewhere is never followed; the id names the endpoint too
            if last_segment(rebased) == endpoint_id:
                url = rebased
        return await self._get_url(url)

    async def _action(self, action: str, endpoint_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        op = f"TextToSpeechV3.Endpoints_{action.capitalize()}"
        url = f"{self._endpoint_url(endpoint_id)}/{action}"
        reply = await self._session.request(
            op,
            "POST",
            url,
            headers={"Content-Length": "0", "Content-Type": "application/json"},  # as the v3.0 docs send it
            expect=(202, 200),
        )
        if reply.body.strip():
            try:
                wire = self._session.parse(V3VoiceEndpoint, reply, op, written=True)
            except AzureError:
                pass  # read back below
            else:
                return self._endpoint(wire, reply.retry_after), None
        # The 202 carries no body: the state is read back from its Location, re-based onto the configured
        # host; the Retry-After of the 202 is what counts.
        endpoint = await self._read_back(reply, endpoint_id)
        if reply.retry_after is not None:
            endpoint = endpoint.model_copy(update={"retry_after": reply.retry_after})
        return endpoint, None

    async def suspend(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        return await self._action("suspend", endpoint_id)

    async def resume(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]:
        return await self._action("resume", endpoint_id)

    async def create(
        self, endpoint_id: str, body: VoiceEndpointCreate, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation]:
        raise self._unsupported("creating an endpoint")

    async def delete(self, endpoint_id: str) -> bool:
        raise self._unsupported("deleting an endpoint")

    async def get_operation(self, operation_id: str) -> Operation:
        raise self._unsupported("reading an operation")

    async def list(self, filter: str | None = None) -> AsyncIterator[VoiceEndpoint]:
        raise self._unsupported("listing endpoints")
        yield  # an async generator, like the others  # pragma: no cover


# Client-chosen ids make voice creation idempotent: the same resource (uid) and deployment sequence always
# give the same endpoint id, and the same (endpoint, action, attempt) the same Operation-Id.
_ID_NAMESPACE = uuid.UUID("5d9b1c52-6f8e-4c1a-9a43-0b7e2a51c0de")


def deterministic_endpoint_id(uid: str, sequence: int = 0) -> str:
    """The voice endpoint id (a UUID, as the API requires) for a resource's `sequence`-th deployment."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"voice-endpoint/{uid}/{sequence}"))


def deterministic_operation_id(endpoint_id: str, action: str, attempt: int | str = 0) -> str:
    """An Operation-Id within Azure's pattern (3-64 characters) for one action on one endpoint."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"operation/{endpoint_id}/{action}/{attempt}"))
