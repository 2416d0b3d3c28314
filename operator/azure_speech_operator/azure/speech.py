"""Speech to text endpoints at v3.2, 2024-11-15 and 2025-10-15 behind the one `SpeechEndpoints` interface.

The versions differ in where the version goes (path for v3.2, `api-version` query after), whether projects
exist (not in 2024-11-15) and whether content logs can be listed (v3.2 only). Everything else is shared.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import operator_error
from .models import SttEndpoint, SttFile, SttModel, SttPage, SttProject, split_url
from .transport import Reply, Session, unreadable
from .types import (
    AzureError,
    EntityError,
    ErrorClass,
    LogFile,
    ModelRef,
    SpeechEndpoint,
    SpeechEndpointCreate,
    SpeechEndpointUpdate,
    SpeechModel,
    SpeechProject,
)

# customProperties key tagging endpoints this operator created (value: the resource's uid). Azure allows
# keys up to 64 characters and values up to 256; the CRD forbids users from setting this key.
MARKER_KEY = "azure-speech-operator-uid"
_UUIDISH = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Written from the spec and compared with it for drift, never shown: read verbatim (`Session.parse` scrubs
# the rest), or a description holding a credential look-alike (`; code=7`) would be "repaired" on every check.
SPEC_FIELDS = ("displayName", "description", "customProperties")


def last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def model_ref_from_url(url: str) -> ModelRef:
    path = urlsplit(url).path
    kind = "base" if "/models/base/" in path else "custom"
    return ModelRef(id=last_segment(url), kind=kind)


def _check_id(value: str, field: str) -> str:
    if not _UUIDISH.match(value):
        raise operator_error("InvalidParameter", f"{field} {value!r} is not a valid Azure id")
    return value


class SpeechAdapter:
    """`SpeechEndpoints` for one Speech resource at one speech to text API version."""

    def __init__(self, session: Session, api_version: str) -> None:
        """`api_version` is one of SPEECH_API_VERSIONS (`AzureClient.speech` checks it before any session)."""
        self.api_version = api_version
        self._session = session
        self._legacy = api_version.startswith("v3")
        self.prefix = f"/speechtotext/{api_version}" if self._legacy else "/speechtotext"
        self._params: dict[str, str] = {} if self._legacy else {"api-version": api_version}

    def __repr__(self) -> str:
        return f"SpeechAdapter({self._session.origin.url}, {self.api_version})"

    @property
    def has_projects(self) -> bool:
        return self.api_version != "2024-11-15"

    @property
    def has_logs(self) -> bool:
        return self._legacy

    def _url(self, path: str) -> str:
        return self._session.url(self.prefix + path)

    def _ref_url(self, path: str) -> str:
        """An EntityReference `self` as this version writes it (with api-version for 2024-11-15+)."""
        query = f"?api-version={self.api_version}" if not self._legacy else ""
        return self._url(path) + query

    def model_url(self, ref: ModelRef) -> str:
        _check_id(ref.id, "model id")
        return self._ref_url(f"/models/base/{ref.id}" if ref.kind == "base" else f"/models/{ref.id}")

    def _project_ref(self, project_id: str, operation: str) -> dict[str, str]:
        if not self.has_projects:
            raise self._unsupported_projects(operation)
        return {"self": self._ref_url(f"/projects/{_check_id(project_id, 'project id')}")}

    def _unsupported(self, what: str, operation: str) -> AzureError:
        return operator_error(
            "NotSupportedByApiVersion",
            f"{what} is not supported by speech to text API version {self.api_version}"
            " (content logs exist only in v3.x; later versions keep logs in the customer's storage)",
            operation=operation,
        )

    # -- conversions ----------------------------------------------------------------------------------

    def _endpoint(
        self, wire: SttEndpoint, retry_after: float | None, operation: str, self_url: str
    ) -> SpeechEndpoint:
        """`self_url`: the endpoint's (`wire.self_url`, else what `_self_url` found)."""
        props = wire.properties
        error = props.error if props else None
        return SpeechEndpoint(
            id=last_segment(self_url),
            self_url=self._session.rebase(self_url, self.prefix, operation),
            display_name=wire.display_name or "",
            description=wire.description,
            locale=wire.locale or "",
            model=model_ref_from_url(wire.model.self_url) if wire.model else None,
            project_id=last_segment(wire.project.self_url) if wire.project else None,
            custom_properties=wire.custom_properties,
            logging_enabled=bool(props and props.logging_enabled),
            status=wire.status or "Unknown",
            error=EntityError(code=error.code, message=error.message) if error else None,
            links=wire.links,
            created_at=wire.created,
            last_action_at=wire.last_action,
            retry_after=retry_after,
        )

    @staticmethod
    def _self_url(wire: SttEndpoint, known: str | None, reply: Reply, operation: str, written: bool) -> str:
        """The endpoint's URL: its `self`, else `known` (the URL asked, or a create's Location header); with
        neither the answer names no endpoint, and is unreadable as any other (outcome unknown for a write)."""
        url = wire.self_url or (known if known and split_url(known) is not None else None)
        if url is None:
            raise unreadable(reply, operation, ["self"], written=written)
        return url

    def _create_body(self, body: SpeechEndpointCreate) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "displayName": body.display_name,
            "locale": body.locale,
            "model": {"self": self.model_url(body.model)},
            "properties": {"loggingEnabled": body.logging_enabled},
        }
        if body.description is not None:
            wire["description"] = body.description
        if body.custom_properties:
            wire["customProperties"] = dict(body.custom_properties)
        if body.project_id:
            wire["project"] = self._project_ref(body.project_id, "Endpoints_Create")
        return wire

    def _update_body(self, changes: SpeechEndpointUpdate) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        if changes.display_name is not None:
            wire["displayName"] = changes.display_name
        if changes.description is not None:
            wire["description"] = changes.description
        if changes.model is not None:
            wire["model"] = {"self": self.model_url(changes.model)}
        if changes.project_id is not None:
            wire["project"] = self._project_ref(changes.project_id, "Endpoints_Update")
        if changes.custom_properties is not None:
            wire["customProperties"] = dict(changes.custom_properties)
        if changes.logging_enabled is not None:
            # The write name differs from the read name (`loggingEnabled`) in every version.
            wire["properties"] = {"contentLoggingEnabled": changes.logging_enabled}
        return wire

    # -- operations -----------------------------------------------------------------------------------

    async def create(self, body: SpeechEndpointCreate) -> SpeechEndpoint:
        op = "Endpoints_Create"
        reply = await self._session.request(
            op,
            "POST",
            self._url("/endpoints"),
            params=self._params,
            json=self._create_body(body),
            expect=(201, 200),
        )
        try:
            wire = self._session.parse(SttEndpoint, reply, op, written=True, keep=SPEC_FIELDS)
            self_url = self._self_url(wire, reply.headers.get("location"), reply, op, written=True)
            return self._endpoint(wire, reply.retry_after, op, self_url)
        except AzureError as exc:
            # Azure said it created one (a 2xx): whatever in the answer is unusable (a `self` off the
            # version's path), the endpoint may exist, and only a lookup by its tag may tell.
            exc.outcome_unknown = True
            raise

    async def get(self, endpoint_id: str) -> SpeechEndpoint:
        op = "Endpoints_Get"
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}")
        reply = await self._session.request(op, "GET", url, params=self._params)
        wire = self._session.parse(SttEndpoint, reply, op, keep=SPEC_FIELDS)
        self_url = self._self_url(wire, url, reply, op, written=False)
        return self._endpoint(wire, reply.retry_after, op, self_url)

    async def update(self, endpoint_id: str, changes: SpeechEndpointUpdate) -> SpeechEndpoint:
        if changes.is_empty():
            return await self.get(endpoint_id)
        op = "Endpoints_Update"
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}")
        reply = await self._session.request(
            op, "PATCH", url, params=self._params, json=self._update_body(changes), expect=(200,)
        )
        wire = self._session.parse(SttEndpoint, reply, op, written=True, keep=SPEC_FIELDS)
        return self._endpoint(wire, reply.retry_after, op, self._self_url(wire, url, reply, op, written=True))

    async def delete(self, endpoint_id: str) -> bool:
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}")
        return await self._session.delete("Endpoints_Delete", url, self._params)

    async def list(self, filter: str | None = None) -> AsyncIterator[SpeechEndpoint]:
        op = "Endpoints_List"
        params = {**self._params, "filter": filter} if filter else self._params
        pages = self._session.pages(
            op, self._url("/endpoints"), params, SttPage, self.prefix, self._params, keep=SPEC_FIELDS
        )
        async for reply, page in pages:
            for item in page.items:
                try:
                    wire = SttEndpoint.model_validate(item)
                    if not wire.self_url:  # a listed endpoint without `self` names no endpoint
                        continue
                    listed = self._endpoint(wire, reply.retry_after, op, wire.self_url)
                except (ValueError, AzureError):
                    continue  # one unreadable entry (a `self` outside this API) must not hide the others
                yield listed

    async def find_by_marker(
        self, key: str, value: str, *, locale: str | None = None
    ) -> SpeechEndpoint | None:
        """Pages through all endpoints (optionally narrowed by locale, a documented filter field) and returns
        the one tagged `customProperties[key] == value`. A narrowing filter Azure refuses falls back to the
        full list, so correctness never depends on filter support."""
        if locale:
            try:
                async for endpoint in self.list(filter=f"locale eq '{locale.replace(chr(39), '')}'"):
                    if endpoint.custom_properties.get(key) == value:
                        return endpoint
                return None
            except AzureError as exc:
                if exc.error_class is not ErrorClass.FATAL:
                    raise
        async for endpoint in self.list():
            if endpoint.custom_properties.get(key) == value:
                return endpoint
        return None

    async def get_model(self, ref: ModelRef) -> SpeechModel:
        """A model; a base model's answer is shared by the endpoints that read it within moments (the
        base models change seldom, and an apply of many endpoints of one model would read it once each)."""
        url = self.model_url(ref).split("?", 1)[0]
        if ref.kind == "base":
            return await self._session.shared_read(
                "Models_GetBaseModel", url, lambda: self._read_model(ref, url)
            )
        return await self._read_model(ref, url)

    async def _read_model(self, ref: ModelRef, url: str) -> SpeechModel:
        op = "Models_GetBaseModel" if ref.kind == "base" else "Models_GetCustomModel"
        reply = await self._session.request(op, "GET", url, params=self._params)
        wire = self._session.parse(SttModel, reply, op)
        props = wire.properties
        dates = props.deprecation_dates if props else None
        return SpeechModel(
            id=(last_segment(wire.self_url) if wire.self_url else None) or ref.id,
            kind=ref.kind,
            locale=wire.locale or "",
            display_name=wire.display_name,
            status=wire.status,
            supports_endpoints=props.features.supports_endpoints if props and props.features else None,
            transcription_deprecation=dates.transcription if dates else None,
            adaptation_deprecation=dates.adaptation if dates else None,
            retry_after=reply.retry_after,
        )

    async def get_project(self, project_id: str) -> SpeechProject:
        op = "Projects_Get"
        if not self.has_projects:
            raise self._unsupported_projects(op)
        url = self._url(f"/projects/{_check_id(project_id, 'project id')}")
        reply = await self._session.request(op, "GET", url, params=self._params)
        wire = self._session.parse(SttProject, reply, op)
        return SpeechProject(
            id=(last_segment(wire.self_url) if wire.self_url else None) or project_id,
            display_name=wire.display_name,
            description=wire.description,
            locale=wire.locale,
            custom_properties=wire.custom_properties,
            created_at=wire.created,
        )

    def _unsupported_projects(self, op: str) -> AzureError:
        return operator_error(
            "NotSupportedByApiVersion",
            f"projects are not supported by speech to text API version {self.api_version}",
            operation=op,
        )

    async def list_logs(self, endpoint_id: str) -> AsyncIterator[LogFile]:
        op = "Endpoints_ListLogs"
        if not self.has_logs:
            raise self._unsupported("listing content logs", op)
        url = self._url(f"/endpoints/{_check_id(endpoint_id, 'endpoint id')}/files/logs")
        # v3.x has no api-version query; the skipToken travels inside @nextLink.
        # contentUrl is a SAS URL: kept whole to download from, but only ever held as a SecretStr.
        async for _, page in self._session.pages(op, url, {}, SttPage, self.prefix, {}, keep=("contentUrl",)):
            for item in page.items:
                try:
                    wire = SttFile.model_validate(item)
                except ValueError:
                    continue
                yield LogFile(
                    id=last_segment(wire.self_url) if wire.self_url else (wire.name or ""),
                    name=wire.name or (last_segment(wire.self_url) if wire.self_url else ""),
                    kind=wire.kind,
                    content_url=wire.links.content_url if wire.links else None,
                    created_at=wire.created,
                    size=wire.properties.size if wire.properties else None,
                )

    async def download_log(self, file: LogFile, dest: Path) -> int:
        """Saves one log file (fetched from its SAS URL, no key sent) to `dest`; returns its size."""
        op = "Endpoints_DownloadLog"
        if file.content_url is None:
            raise operator_error("InvalidResponse", f"log file {file.name} has no content URL", operation=op)
        safe_name = quote(file.name, safe="._-")
        return await self._session.download(op, file.content_url, dest, name=safe_name)
