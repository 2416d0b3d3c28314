"""Wire models: the JSON each Azure API version sends, as pydantic models.

They tolerate what Azure may add later: unknown fields are kept aside (extra="allow"), enum-like fields are
plain strings, and a timestamp Azure formats oddly becomes None rather than a failure. Version adapters turn
them into the version-neutral types in `types.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
)

_DATETIME = TypeAdapter(datetime)


def _lenient_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = value if isinstance(value, datetime) else _DATETIME.validate_python(value)
    except ValidationError:
        return None
    # Azure writes UTC (every example ends in Z); one without an offset is UTC too, never the local zone
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _lenient_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None}


def _lenient_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _lenient_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def split_url(url: str) -> tuple[SplitResult, int | None] | None:
    """`urlsplit(url)` and its port, or None where they refuse it (`https://[`, a port out of range). Their
    ValueError may quote the URL, which may be a SAS URL: callers raise their own error, unchained."""
    try:
        parts = urlsplit(url.strip())
        return parts, parts.port
    except ValueError:
        return None


def _url(value: str | None) -> str | None:
    """A URL the adapters split: one urlsplit refuses makes the entity unreadable here, so no ValueError can
    escape later from an id or a re-base."""
    if value is not None and split_url(value) is None:
        raise ValueError("not a URL")
    return value


When = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
Text = Annotated[str | None, BeforeValidator(_lenient_str)]
Url = Annotated[str, AfterValidator(_url)]
OptionalUrl = Annotated[str | None, BeforeValidator(_lenient_str), AfterValidator(_url)]
StringMap = Annotated[dict[str, str], BeforeValidator(_string_map)]
Flag = Annotated[bool | None, BeforeValidator(_lenient_bool)]
Count = Annotated[int | None, BeforeValidator(_lenient_int)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Page(Wire):
    """One page of a list: its raw entries (each validated on its own, so one unreadable entry cannot hide
    the others) and the link to the next page. Subclasses name both as their API spells them."""

    items: list[dict[str, Any]] = Field(default_factory=list)
    next_link: OptionalUrl = None


# ---------------------------------------------------------------------------------------------------------
# Errors (both shapes)


class SttInnerError(Wire):
    code: Text = None
    message: Text = None
    target: Text = None
    inner_error: SttInnerError | None = Field(default=None, alias="innerError")


class SttError(Wire):
    """Speech to text: the Error object is the whole body."""

    code: Text = None
    message: Text = None
    target: Text = None
    details: list[Any] | None = None
    inner_error: SttInnerError | None = Field(default=None, alias="innerError")


class CvInnerError(Wire):
    code: Text = None
    message: Text = None
    target: Text = None
    inner_error: CvInnerError | None = Field(default=None, alias="innererror")


class CvErrorDetail(Wire):
    code: Text = None
    message: Text = None
    target: Text = None
    details: list[Any] | None = None
    inner_error: CvInnerError | None = Field(default=None, alias="innererror")


class CvErrorResponse(Wire):
    """Custom voice: `{"error": {...}}`."""

    error: CvErrorDetail


# ---------------------------------------------------------------------------------------------------------
# Speech to text


class EntityReference(Wire):
    self_url: Url = Field(alias="self")


class WireEntityError(Wire):
    code: Text = None
    message: Text = None


class SttEndpointProperties(Wire):
    logging_enabled: Flag = Field(default=None, alias="loggingEnabled")
    time_to_live: Text = Field(default=None, alias="timeToLive")
    error: WireEntityError | None = None


class SttEndpoint(Wire):
    """Endpoint in v3.2, 2024-11-15 and 2025-10-15 (2024-11-15 has no project; v3.2 has text). The specs
    require only displayName and locale of an Endpoint, SharedModel or Project: `self` may be absent, and the
    adapter then takes the URL it asked (or a create's Location)."""

    self_url: OptionalUrl = Field(default=None, alias="self")
    display_name: Text = Field(default=None, alias="displayName")
    description: Text = None
    text: Text = None
    model: EntityReference | None = None
    project: EntityReference | None = None
    locale: Text = None
    custom_properties: StringMap = Field(default_factory=dict, alias="customProperties")
    links: StringMap = Field(default_factory=dict)
    properties: SttEndpointProperties | None = None
    status: Text = None
    created: When = Field(default=None, alias="createdDateTime")
    last_action: When = Field(default=None, alias="lastActionDateTime")


class SttPage(Page):
    """Speech to text pages (endpoints, log files): `values` and `@nextLink`."""

    items: list[dict[str, Any]] = Field(default_factory=list, alias="values")
    next_link: OptionalUrl = Field(default=None, alias="@nextLink")


class DeprecationDates(Wire):
    adaptation: When = Field(default=None, alias="adaptationDateTime")
    transcription: When = Field(default=None, alias="transcriptionDateTime")


class ModelFeatures(Wire):
    supports_endpoints: Flag = Field(default=None, alias="supportsEndpoints")


class ModelProperties(Wire):
    deprecation_dates: DeprecationDates | None = Field(default=None, alias="deprecationDates")
    features: ModelFeatures | None = None
    error: WireEntityError | None = None


class SttModel(Wire):
    """BaseModel or CustomModel (both extend SharedModel)."""

    self_url: OptionalUrl = Field(default=None, alias="self")
    display_name: Text = Field(default=None, alias="displayName")
    locale: Text = None
    description: Text = None
    status: Text = None
    base_model: EntityReference | None = Field(default=None, alias="baseModel")
    properties: ModelProperties | None = None
    custom_properties: StringMap = Field(default_factory=dict, alias="customProperties")
    created: When = Field(default=None, alias="createdDateTime")
    last_action: When = Field(default=None, alias="lastActionDateTime")


class SttProject(Wire):
    self_url: OptionalUrl = Field(default=None, alias="self")
    display_name: Text = Field(default=None, alias="displayName")
    description: Text = None
    locale: Text = None
    custom_properties: StringMap = Field(default_factory=dict, alias="customProperties")
    created: When = Field(default=None, alias="createdDateTime")


class FileLinks(Wire):
    content_url: SecretStr | None = Field(default=None, alias="contentUrl")


class FileProperties(Wire):
    size: Count = None
    duration: Text = None


class SttFile(Wire):
    self_url: OptionalUrl = Field(default=None, alias="self")
    name: Text = None
    kind: Text = None
    links: FileLinks | None = None
    properties: FileProperties | None = None
    created: When = Field(default=None, alias="createdDateTime")


# ---------------------------------------------------------------------------------------------------------
# Custom voice (2024-02-01-preview, 2026-01-01)


class CvEndpointProperties(Wire):
    kind: Text = None


class CvEndpoint(Wire):
    # not required by the spec (only projectId and modelId are): the caller knows the id it asked for
    id: Text = None
    display_name: Text = Field(default=None, alias="displayName")
    description: Text = None
    project_id: Text = Field(default=None, alias="projectId")
    model_id: Text = Field(default=None, alias="modelId")
    properties: CvEndpointProperties | None = None
    status: Text = None
    created: When = Field(default=None, alias="createdDateTime")
    last_action: When = Field(default=None, alias="lastActionDateTime")


class CvEndpointPage(Page):
    items: list[dict[str, Any]] = Field(default_factory=list, alias="value")
    next_link: OptionalUrl = Field(default=None, alias="nextLink")


class CvOperation(Wire):
    id: Text = None  # not required by the spec: the caller knows the id it asked for
    status: Text = None


class CvModel(Wire):
    id: Text = None
    voice_name: Text = Field(default=None, alias="voiceName")
    description: Text = None
    locale: Text = None
    project_id: Text = Field(default=None, alias="projectId")
    status: Text = None
    created: When = Field(default=None, alias="createdDateTime")
    last_action: When = Field(default=None, alias="lastActionDateTime")


class CvProject(Wire):
    id: Text = None
    display_name: Text = Field(default=None, alias="displayName")
    description: Text = None
    kind: Text = None
    locale: Text = None
    created: When = Field(default=None, alias="createdDateTime")


# ---------------------------------------------------------------------------------------------------------
# Custom voice v3.0 (retiring; get/suspend/resume only)


class IdRef(Wire):
    id: Text = None


class V3VoiceProperties(Wire):
    error: WireEntityError | None = None


class V3VoiceEndpoint(Wire):
    id: str
    name: Text = None
    description: Text = None
    locale: Text = None
    model: IdRef | None = None
    project: IdRef | None = None
    properties: V3VoiceProperties | None = None
    status: Text = None
    created: When = Field(default=None, alias="createdDateTime")
    last_action: When = Field(default=None, alias="lastActionDateTime")
