"""Version-neutral view of the Azure Speech endpoint APIs: what the reconcilers see.

The version adapters translate each API version's payloads to and from these types, so the reconcile logic
never knows which version a resource uses. Nothing here knows about Kubernetes.

Statuses are kept as Azure's raw strings: an enum value Azure adds later is surfaced as it is (and treated as
unknown by the logic), never a parse failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# The statuses both APIs' endpoints and operations have: not done yet, and the two ends.
IN_PROGRESS = ("NotStarted", "Running")
SUCCEEDED = "Succeeded"
FAILED = "Failed"

# ---------------------------------------------------------------------------------------------------------
# Errors


class ErrorClass(StrEnum):
    """How the operator reacts to an error; the table lives in `azure/errors.py` and docs/errors.md."""

    TRANSIENT = "transient"  # retry after Retry-After, else capped exponential backoff
    WAITING = "waiting"  # Azure is busy with something else (redeploy, training): retry slowly
    BLOCKED = "blocked"  # quota, auth, missing credentials: Stalled, retried slowly
    FATAL = "fatal"  # validation: Stalled until the spec changes or a reconcile is requested
    NOT_FOUND = "not-found"


class OperatorError(Exception):
    """An error the reconcilers classify and show: a CamelCase `reason` (condition reason, event reason), a
    human message, an error class deciding the retry, and an optional delay. Azure errors and the operator's
    own (CredentialsNotFound, HostNotAllowed, ConfigMapNotOwned ...) share it, so one code path reports both.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        error_class: ErrorClass,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self._reason = reason
        self.message = message
        self.error_class = error_class
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        return self._reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class AzureError(OperatorError):
    """Every failed Azure call ends as one of these: a non-2xx answer, a timeout or a broken connection.

    The text never holds a key, a token or a SAS URL: only Azure's code and message.
    """

    def __init__(
        self,
        *,
        status: int | None,
        code: str,
        message: str,
        error_class: ErrorClass,
        detailed_code: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        operation: str | None = None,
    ) -> None:
        super().__init__(detailed_code or code, message, error_class, retry_after=retry_after)
        self.status = status
        self.code = code
        self.detailed_code = detailed_code
        self.target = target
        self.request_id = request_id
        # True when the request may have taken effect although no usable answer came back (timeout after
        # sending, reset connection, unreadable 2xx): a create must then be looked up before it is retried.
        self.outcome_unknown = outcome_unknown
        self.operation = operation

    @property
    def reason(self) -> str:
        """The CamelCase word shown as a condition reason: the most specific Azure code there is."""
        return self.detailed_code or self.code

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        return f"{status}{self.reason}{where}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"AzureError(status={self.status!r}, code={self.code!r}, detailed_code={self.detailed_code!r}, "
            f"class={self.error_class.value!r}, retry_after={self.retry_after!r})"
        )


# ---------------------------------------------------------------------------------------------------------
# Where and how to call


class ApiKey(BaseModel):
    """A Speech resource key, as read from a Kubernetes Secret. It never prints."""

    model_config = ConfigDict(frozen=True)
    key: SecretStr


class EntraIdentity(BaseModel):
    """Microsoft Entra tokens for the operator's own identity (workload identity / DefaultAzureCredential)."""

    model_config = ConfigDict(frozen=True)
    scope: str = "https://cognitiveservices.azure.com/.default"


Credential = ApiKey | EntraIdentity


class AzureTarget(BaseModel):
    """One Speech resource at one API version. `base_url` is scheme + host, e.g.
    `https://westeurope.api.cognitive.microsoft.com` or a custom domain."""

    model_config = ConfigDict(frozen=True)
    base_url: str
    api_version: str
    # Named by a region: the client may send it elsewhere (ClientSettings.region_url, for sovereign clouds
    # or a simulator); base_url is then the public cloud's host.
    region: str | None = None

    @classmethod
    def for_region(cls, region: str, api_version: str) -> AzureTarget:
        return cls(
            base_url=f"https://{region}.api.cognitive.microsoft.com", api_version=api_version, region=region
        )

    @classmethod
    def for_voice_v3(cls, region: str) -> AzureTarget:
        base_url = f"https://{region}.customvoice.api.speech.microsoft.com"
        return cls(base_url=base_url, api_version="v3.0", region=region)


# ---------------------------------------------------------------------------------------------------------
# Speech to text


SPEECH_API_VERSIONS = ("v3.2", "2024-11-15", "2025-10-15")
SpeechStatus = str  # NotStarted | Running | Succeeded | Failed, or whatever Azure adds


class ModelRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    kind: Literal["base", "custom"]


class EntityError(BaseModel):
    code: str | None = None
    message: str | None = None


class SpeechEndpoint(BaseModel):
    """A speech to text endpoint as Azure reports it, whatever the API version."""

    id: str
    self_url: str
    display_name: str
    description: str | None = None
    locale: str
    model: ModelRef | None = None
    project_id: str | None = None
    custom_properties: dict[str, str] = Field(default_factory=dict)
    logging_enabled: bool = False
    status: SpeechStatus
    error: EntityError | None = None
    links: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    last_action_at: datetime | None = None
    # The Retry-After Azure sent with this answer (seconds), if any.
    retry_after: float | None = None


class SpeechEndpointCreate(BaseModel):
    display_name: str
    description: str | None = None
    locale: str
    model: ModelRef
    project_id: str | None = None
    custom_properties: dict[str, str] = Field(default_factory=dict)
    logging_enabled: bool = False


class SpeechEndpointUpdate(BaseModel):
    """A PATCH: only the fields that are set are sent. `custom_properties` replaces the whole map."""

    display_name: str | None = None
    description: str | None = None
    model: ModelRef | None = None
    project_id: str | None = None
    custom_properties: dict[str, str] | None = None
    logging_enabled: bool | None = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class SpeechModel(BaseModel):
    """A base or custom speech model: what deploying and expiry warnings need."""

    id: str
    kind: Literal["base", "custom"]
    locale: str
    display_name: str | None = None
    status: str | None = None
    supports_endpoints: bool | None = None
    transcription_deprecation: datetime | None = None
    adaptation_deprecation: datetime | None = None
    retry_after: float | None = None


class LogFile(BaseModel):
    """One content log file. `content_url` is a SAS URL: a secret, never printed or logged whole."""

    id: str
    name: str
    kind: str | None = None
    content_url: SecretStr | None = None
    created_at: datetime | None = None
    size: int | None = None


class SpeechProject(BaseModel):
    """A speech to text project (v3.2 and 2025-10-15; 2024-11-15 has none)."""

    id: str
    display_name: str | None = None
    description: str | None = None
    locale: str | None = None
    custom_properties: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None


class SpeechEndpoints(Protocol):
    """Speech to text endpoints of one Speech resource, at one API version."""

    api_version: str

    async def create(self, body: SpeechEndpointCreate) -> SpeechEndpoint: ...

    async def get(self, endpoint_id: str) -> SpeechEndpoint: ...

    async def update(self, endpoint_id: str, changes: SpeechEndpointUpdate) -> SpeechEndpoint: ...

    async def delete(self, endpoint_id: str) -> bool:
        """True if deleted, False if it was already gone (404)."""
        ...

    def list(self, filter: str | None = None) -> AsyncIterator[SpeechEndpoint]: ...

    async def find_by_marker(
        self, key: str, value: str, *, locale: str | None = None
    ) -> SpeechEndpoint | None:
        """The endpoint whose customProperties[key] == value, paging through the whole list. `locale` only
        narrows the listing (a documented filter field); correctness never depends on it."""
        ...

    async def get_model(self, ref: ModelRef) -> SpeechModel: ...

    async def get_project(self, project_id: str) -> SpeechProject: ...

    def list_logs(self, endpoint_id: str) -> AsyncIterator[LogFile]: ...

    async def download_log(self, file: LogFile, dest: Path) -> int:
        """Saves one content log file from its SAS URL to `dest`; returns the bytes written."""
        ...


# ---------------------------------------------------------------------------------------------------------
# Custom voice


VOICE_API_VERSIONS = ("2026-01-01", "2024-02-01-preview", "v3.0")
VoiceStatus = str  # NotStarted | Running | Succeeded | Failed | Disabling | Disabled, or newer


class VoiceEndpoint(BaseModel):
    id: str
    display_name: str | None = None
    description: str | None = None
    project_id: str | None = None
    model_id: str | None = None
    kind: str | None = None
    status: VoiceStatus
    error: EntityError | None = None  # only the retiring v3.0 API reports one
    created_at: datetime | None = None
    last_action_at: datetime | None = None
    retry_after: float | None = None


class VoiceEndpointCreate(BaseModel):
    display_name: str | None = None
    description: str | None = None
    project_id: str
    model_id: str
    kind: str | None = None


class Operation(BaseModel):
    id: str
    status: str  # NotStarted | Running | Succeeded | Failed
    location: str | None = None  # re-based onto the configured host


class VoiceEndpoints(Protocol):
    """Custom voice endpoints of one Speech resource, at one API version."""

    api_version: str

    async def get(self, endpoint_id: str) -> VoiceEndpoint: ...

    async def create(
        self, endpoint_id: str, body: VoiceEndpointCreate, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation]: ...

    async def delete(self, endpoint_id: str) -> bool: ...

    async def suspend(
        self, endpoint_id: str, operation_id: str
    ) -> tuple[VoiceEndpoint, Operation | None]: ...

    async def resume(self, endpoint_id: str, operation_id: str) -> tuple[VoiceEndpoint, Operation | None]: ...

    async def get_operation(self, operation_id: str) -> Operation: ...

    def list(self, filter: str | None = None) -> AsyncIterator[VoiceEndpoint]: ...
