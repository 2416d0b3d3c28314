"""HTTP plumbing shared by the API families: errors in each family's shape, operation tagging, URLs."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode

from aiohttp import web

from .state import ResourceState, World

Family = Literal["stt", "voice", "tts3"]
_T = TypeVar("_T")

STT_VERSIONS = ("v3.2", "2024-11-15", "2025-10-15")
STT_DATED = ("2024-11-15", "2025-10-15")
VOICE_VERSIONS = ("2024-02-01-preview", "2026-01-01")

# What a write operation `consumes` (the spec's list): creates take JSON, updates a merge patch too.
# A UUID as the specs' `format: uuid` writes it (8-4-4-4-12 hex digits): uuid.UUID() also takes braces,
# `urn:uuid:` and hyphens anywhere, which no Azure id ever has.
UUID_TEXT = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID = re.compile(UUID_TEXT)

JSON = ("application/json",)
JSON_OR_MERGE_PATCH = ("application/json", "application/merge-patch+json")

WORLD: web.AppKey[World] = web.AppKey("world", World)

# The body Azure's API gateway answers a bad or missing key with (the same for every Cognitive Services API).
UNAUTHORIZED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)


class ApiError(Exception):
    """An error answer; the middleware renders it in the calling API family's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: str | None = None,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.target = target
        self.headers = headers or {}


# Each family's top-level code for a status, where the caller did not name one.
_STT_CODES = {
    400: "InvalidRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "NotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "InternalCommunicationFailed",
    503: "ServiceUnavailable",
}
_VOICE_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "BadRequest",
    409: "BadRequest",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "InternalServerError",
    503: "ServiceUnavailable",
}
_V3_CODES = {"BadRequest": "InvalidRequest", "BadArgument": "InvalidArgument"}
FAULT_MESSAGES = {
    429: "The rate limit has been reached. The timeout in seconds can be found in the Retry-After header.",
    500: "An unexpected error occurred. Please try again later.",
    502: "The upstream service did not answer in time.",
    503: "The service is temporarily unavailable. Please try again later.",
}


def default_code(family: Family, status: int) -> str:
    table = _VOICE_CODES if family == "voice" else _STT_CODES
    return table.get(status, "InternalServerError")


def error_response(family: Family, api_version: str | None, err: ApiError) -> web.Response:
    """STT and v3.0 TTS: unwrapped `{code, message, innerError}`; custom voice: `{error: {...}}`."""
    headers = dict(err.headers)
    body: dict[str, Any]
    if family == "voice" and api_version == "2026-01-01":
        headers["x-ms-error-code"] = err.code
    if err.status == 401 and err.code == "401":
        body = {"error": {"code": "401", "message": err.message}}
    elif family == "voice":
        inner: dict[str, Any] = {"code": err.code, "message": err.message}
        if err.target:
            inner["target"] = err.target
        if err.detail:
            inner["innererror"] = {"code": err.detail, "message": err.message}
        body = {"error": inner}
    else:
        # The v3.0 text to speech API shares the voice handlers but speaks the v3 (unwrapped) dialect.
        code = _V3_CODES.get(err.code, err.code) if family == "tts3" else err.code
        body = {"code": code, "message": err.message}
        if err.target:
            body["target"] = err.target
        if err.detail:
            body["innerError"] = {"code": err.detail, "message": err.message}
    return json_response(body, status=err.status, headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


@dataclass
class Ctx:
    """What a handler needs besides the request."""

    world: World
    resource: ResourceState
    version: str
    host: str  # scheme + host used in self/Location/nextLink URLs
    request_host: str  # scheme + host the request really came in on (for simulator-served blob URLs)
    now: float


CTX: web.RequestKey[Ctx] = web.RequestKey("sim_ctx", Ctx)

Handler = Callable[[web.Request, Ctx], Awaitable[web.StreamResponse]]


def query_string(params: Mapping[str, str | int]) -> str:
    """A query for the URLs the API hands out (`self`, `@nextLink`, `Location`): percent-encoded as in
    every spec example (`filter=createdDateTime%20ge%202018-01-24T09:54:39Z`), not form-encoded with `+`
    for a space; colons stay as the examples show them."""
    return urlencode(params, quote_via=quote, safe=":")


def url_host(host: str) -> str:
    """`host` as a URL writes it: an IPv6 literal in brackets (`http://[::1]:8081`), anything else as is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if address.version == 6 else host


def canonical_uuid(raw: str) -> str | None:
    """`raw` in lower case if it is a UUID in the 8-4-4-4-12 form (either case), else None."""
    return raw.lower() if _UUID.fullmatch(raw) else None


def check_content_type(request: web.Request, consumes: tuple[str, ...]) -> None:
    """415 for a body declared in a media type the operation does not consume. A request that declares none
    is let through: its body is judged on its own (an empty or non-JSON body is still a 400)."""
    if not consumes or not request.headers.get("Content-Type"):
        return
    if request.content_type not in consumes:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"Content-Type '{request.content_type}' is not supported; use {' or '.join(consumes)}.",
        )


@dataclass
class Op:
    """A route's handler tagged with the API family, the spec's operationId, for writes with a body the
    media types the spec says it consumes, and the check of the path's `{id}` (an ApiError when malformed):
    routes take any segment as the id, so a malformed one is the operation's validation error, counted and
    faulted under its name, not a path that matches nothing."""

    family: Family
    name: str
    fn: Handler
    versions: tuple[str, ...]
    consumes: tuple[str, ...] = ()
    check_id: Callable[[str], None] | None = None

    @property
    def log_name(self) -> str:
        if self.family == "voice":
            return f"CustomVoice.{self.name}"
        if self.family == "tts3":
            return f"TextToSpeechV3.{self.name}"
        return self.name

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        ctx = request[CTX]
        if ctx.version not in self.versions:
            raise ApiError(
                404, "NotFound", f"The operation {self.name} does not exist in API version {ctx.version}."
            )
        # Before the handler, as a service framework does: the media type is refused before ids are looked up.
        check_content_type(request, self.consumes)
        path_id = request.match_info.get("id")
        if self.check_id is not None and path_id is not None:
            self.check_id(path_id)
        return await self.fn(request, ctx)


def family_of(path: str) -> Family | None:
    if path.startswith("/speechtotext/"):
        return "stt"
    if path.startswith("/customvoice/"):
        return "voice"
    if path.startswith("/api/texttospeech/"):
        return "tts3"
    return None


def version_of(request: web.Request, family: Family) -> str:
    """The API version a request asks for; an ApiError when it is missing or not simulated."""
    if family == "tts3":
        return "v3.0"
    if family == "stt" and request.path.startswith("/speechtotext/v3."):
        in_path = request.path.split("/")[2]
        if in_path not in STT_VERSIONS:
            raise _unsupported_version(family, in_path)
        return in_path
    supported = STT_DATED if family == "stt" else VOICE_VERSIONS
    version = request.query.get("api-version")
    if not version:
        raise ApiError(
            400,
            "InvalidRequest" if family == "stt" else "BadRequest",
            "The api-version query parameter is required.",
            detail="InvalidParameterValue" if family == "stt" else "MissingApiVersionParameter",
            target="api-version",
        )
    if version not in supported:
        raise _unsupported_version(family, version)
    return version


def _unsupported_version(family: Family, version: str) -> ApiError:
    """A version Azure does not serve (v3.1 in the path included): 400, in the family's error shape. STT's
    detailed codes are the spec's DetailedErrorCode values, which have InvalidParameterValue and no
    UnsupportedApiVersionValue; custom voice's inner code is free text and takes Azure's usual name."""
    supported = STT_VERSIONS if family == "stt" else VOICE_VERSIONS
    return ApiError(
        400,
        "InvalidRequest" if family == "stt" else "BadRequest",
        f"The API version '{version}' is not supported. Supported versions: {', '.join(supported)}.",
        detail="InvalidParameterValue" if family == "stt" else "UnsupportedApiVersionValue",
        target="api-version",
    )


def found(table: Mapping[str, _T], request: web.Request, what: str, *, lower: bool = False) -> _T:
    """The entity the path's `{id}` names (STT ids compare lower-case), or the 404 for an unknown id."""
    raw = request.match_info["id"]
    entity = table.get(raw.lower() if lower else raw)
    if entity is None:
        raise ApiError(404, "NotFound", f"The {what} {raw} does not exist.")
    return entity


async def read_json_object(
    request: web.Request, family: Family, *, allow_empty: bool = False
) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise _payload_error(family, "The request body is empty.", "EmptyRequest")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _payload_error(
            family, "The request body is not valid JSON.", "InvalidRequestBodyFormat"
        ) from None
    if not isinstance(data, dict):
        raise _payload_error(family, "The request body must be a JSON object.", "InvalidRequestBodyFormat")
    return data


def _payload_error(family: Family, message: str, detail: str) -> ApiError:
    if family == "voice":
        return ApiError(400, "BadRequest", message, detail=detail)
    return ApiError(400, "InvalidRequest", message, detail=detail)


# The specs' paging and SAS parameters are int32.
INT32_MAX = 2**31 - 1
# An integer as a query writes it: Python's int() also takes `1_0`, `+5`, ` 5` and non-ASCII digits.
_INTEGER = re.compile(r"-?[0-9]+")


def query_int(
    request: web.Request,
    name: str,
    default: int,
    family: Family,
    *,
    minimum: int = 0,
    detail: str = "InvalidParameterValue",
) -> int:
    """An integer query parameter from `minimum` to the int32 maximum, else a 400 in the family's shape:
    speech to text `InvalidRequest` with the detailed code `detail` (a DetailedErrorCode of the spec), as
    every other STT validation error; custom voice `BadArgument`, as its other malformed arguments."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if _INTEGER.fullmatch(raw) else minimum - 1
    except ValueError:  # more digits than int() converts (4300): far out of range anyway
        value = minimum - 1
    if not minimum <= value <= INT32_MAX:
        message = (
            f"The query parameter '{name}' must be an integer from {minimum} to {INT32_MAX}, got '{raw}'."
        )
        if family == "voice":
            raise ApiError(400, "BadArgument", message, target=name)
        raise ApiError(400, "InvalidRequest", message, detail=detail, target=name)
    return value
