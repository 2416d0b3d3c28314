"""Every failed Azure call becomes one `AzureError`, classified by the one table below (docs/errors.md).

Both error shapes are read: speech to text puts the Error object at the top level with `innerError`, custom
voice wraps it as `{"error": {..., "innererror": ...}}`. Real answers also carry detailed codes at the top
level, empty bodies, and HTML pages from gateways; none of that may crash classification.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any

from .retry_after import _wall_clock, retry_after_from_headers
from .scrub import scrub
from .types import AzureError, ErrorClass

# Azure codes (top-level or detailed) with a meaning of their own. Generic codes (InvalidRequest,
# InvalidArgument, BadRequest, BadArgument) are deliberately absent: the HTTP status decides for them.
CODE_CLASSES: dict[str, ErrorClass] = {
    # Azure is busy with the resource (a redeploy, a model still training): retried slowly.
    "EndpointNotUpdatable": ErrorClass.WAITING,
    "ModelDeploymentNotCompleteState": ErrorClass.WAITING,
    "InUseViolation": ErrorClass.WAITING,
    # A human must act outside the spec: quota, credentials, permissions, storage.
    "QuotaViolation": ErrorClass.BLOCKED,
    "SkuLimitsExist": ErrorClass.BLOCKED,
    "Unauthorized": ErrorClass.BLOCKED,
    "Forbidden": ErrorClass.BLOCKED,
    "NotAllowed": ErrorClass.BLOCKED,
    "InvalidSubscription": ErrorClass.BLOCKED,
    "SubscriptionNotFound": ErrorClass.BLOCKED,
    "InvalidPermissions": ErrorClass.BLOCKED,
    "InvalidProductId": ErrorClass.BLOCKED,
    "InaccessibleCustomerStorage": ErrorClass.BLOCKED,
    "DeployNotAllowed": ErrorClass.BLOCKED,
    "DeleteNotAllowed": ErrorClass.BLOCKED,
    "CredentialsNotFound": ErrorClass.BLOCKED,
    "CredentialsInvalid": ErrorClass.BLOCKED,
    "TokenUnavailable": ErrorClass.BLOCKED,
    "ResponseTooLarge": ErrorClass.BLOCKED,
    # The request itself is wrong: only a spec change (or a reconcile request) helps.
    "InvalidModel": ErrorClass.FATAL,
    "InvalidBaseModel": ErrorClass.FATAL,
    "InvalidModelUri": ErrorClass.FATAL,
    "ModelMismatch": ErrorClass.FATAL,
    "ModelDeprecated": ErrorClass.FATAL,
    "ModelNotDeployable": ErrorClass.FATAL,
    "DeployingFailedModel": ErrorClass.FATAL,
    "InvalidLocale": ErrorClass.FATAL,
    "UnsupportedLanguageCode": ErrorClass.FATAL,
    "InvalidPayload": ErrorClass.FATAL,
    "InvalidParameter": ErrorClass.FATAL,
    "InvalidParameterValue": ErrorClass.FATAL,
    "InvalidRequestBodyFormat": ErrorClass.FATAL,
    "EmptyRequest": ErrorClass.FATAL,
    "InvalidProject": ErrorClass.FATAL,
    "InvalidProjectKind": ErrorClass.FATAL,
    "InvalidPrerequisite": ErrorClass.FATAL,
    "EndpointWithoutLogging": ErrorClass.FATAL,
    "EndpointLoggingNotSupported": ErrorClass.FATAL,
    "UnsupportedFilter": ErrorClass.FATAL,
    "UnsupportedPagination": ErrorClass.FATAL,
    "UnsupportedMediaType": ErrorClass.FATAL,
    "UnprocessableEntity": ErrorClass.FATAL,
    "InvalidLogId": ErrorClass.FATAL,
    "InvalidSasValidityDuration": ErrorClass.FATAL,
    "HostNotAllowed": ErrorClass.FATAL,
    "EntraRequiresCustomDomain": ErrorClass.FATAL,
    "UnsupportedApiVersion": ErrorClass.FATAL,
    "NotSupportedByApiVersion": ErrorClass.FATAL,
    "InvalidEndpointUrl": ErrorClass.FATAL,
    "UnexpectedRedirect": ErrorClass.FATAL,
    # Azure's own trouble or contention: retried after Retry-After, else with backoff.
    "TooManyRequests": ErrorClass.TRANSIENT,
    "InternalServerError": ErrorClass.TRANSIENT,
    "ServiceUnavailable": ErrorClass.TRANSIENT,
    "PipelineError": ErrorClass.TRANSIENT,
    "InternalCommunicationFailed": ErrorClass.TRANSIENT,
    "UnexpectedError": ErrorClass.TRANSIENT,
    "Conflict": ErrorClass.TRANSIENT,
    "Timeout": ErrorClass.TRANSIENT,
    "ConnectionFailed": ErrorClass.TRANSIENT,
    "InvalidResponse": ErrorClass.TRANSIENT,
    "NotFound": ErrorClass.NOT_FOUND,
}

# Statuses that decide on their own, whatever code the body carries: a throttle is never a human's problem,
# and 404 is not-found (a 5xx too is transient whatever the code: `classify`).
_STATUS_FIRST = {429: ErrorClass.TRANSIENT, 404: ErrorClass.NOT_FOUND}


def class_for_status(status: int | None) -> ErrorClass:
    if status is None:
        return ErrorClass.TRANSIENT
    if status in _STATUS_FIRST:
        return _STATUS_FIRST[status]
    if status in (401, 403):
        return ErrorClass.BLOCKED
    if status in (408, 409, 423, 425) or status >= 500 or status < 300:
        return ErrorClass.TRANSIENT
    return ErrorClass.FATAL  # other 3xx/4xx: the request is wrong for this resource


def classify(status: int | None, code: str | None, detailed_code: str | None) -> ErrorClass:
    """The one table: a 429/404 status first, then the detailed code, the top-level code, the status."""
    if status in _STATUS_FIRST:
        return _STATUS_FIRST[status]
    # A 5xx is Azure's own trouble whatever code its body carries: a validation-looking code must not make
    # it fatal, nor a `NotFound` make a DELETE count as done (and the endpoint be left billed).
    if status is not None and status >= 500:
        return ErrorClass.TRANSIENT
    for candidate in (detailed_code, code):
        if candidate and candidate in CODE_CLASSES:
            found = CODE_CLASSES[candidate]
            # only a 404 says the thing is gone; a body's `NotFound` on another status is judged by the status
            if found is ErrorClass.NOT_FOUND and status is not None:
                return class_for_status(status)
            return found
    return class_for_status(status)


# The code of an answer whose body names none, or only a bare number (gateways answer `{"error": {"code":
# "401"}}`). Spelled out for the statuses Azure and its gateways send, so a Python release renaming an
# HTTPStatus member (413 and 422 were renamed in 3.13) cannot change a condition reason; docs/errors.md
# holds this table too.
STATUS_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    410: "Gone",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    423: "Locked",
    425: "TooEarly",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def status_code_name(status: int) -> str:
    """`BadGateway` for 502: the code of an answer whose body names none."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    try:
        name = HTTPStatus(status).name
    except ValueError:
        return f"Http{status}"
    return name.title().replace("_", "")


_CODE_WORDS = re.compile(r"[A-Za-z0-9]+")
_MAX_CODE = 80


def reason_code(raw: str | None, status: int) -> str | None:
    """Azure's code as a valid condition reason (`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`): a bare number
    (gateways send `"401"`) becomes the name of the answer's HTTP status (`Unauthorized`), a dotted or dashed
    code is joined in CamelCase (`Microsoft.Speech-quota` -> `MicrosoftSpeechQuota`), and a code that does
    not start with a letter is dropped (None): the caller falls back to the HTTP status."""
    if raw is None:
        return None
    text = raw.strip()
    if text.isascii() and text.isdigit():
        return status_code_name(status)
    code = "".join(word[:1].upper() + word[1:] for word in _CODE_WORDS.findall(text))[:_MAX_CODE]
    return code if code[:1].isalpha() else None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _inner_code(error: Mapping[str, Any]) -> str | None:
    """The most specific code in the innerError chain (either spelling) that the error table knows, else the
    most specific of all: a code Azure nests under a known one (`EndpointNotUpdatable` >
    `EndpointDeploymentInProgress`) must not hide the known one's class. Bounded against cycles/depth."""
    codes: list[str] = []
    node: Any = error
    for _ in range(8):
        inner = node.get("innerError", node.get("innererror")) if isinstance(node, Mapping) else None
        if not isinstance(inner, Mapping):
            break
        code = _str(inner.get("code"))
        if code:
            codes.append(code)
        node = inner
    known = [code for code in codes if code in CODE_CLASSES]
    chosen = known or codes
    return chosen[-1] if chosen else None


def parse_error_body(body: bytes, content_type: str | None) -> dict[str, str | None]:
    """code, detailed_code, message, target from either error shape; empty dict when unreadable."""
    if not body or not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(data, Mapping):
        return {}
    error: Any = data.get("error") if isinstance(data.get("error"), Mapping) else data
    if isinstance(data.get("error"), str) and not _str(data.get("code")):
        # Some gateways answer {"error": "text"} or {"statusCode": 401, "message": ...}.
        return {"code": None, "detailed_code": None, "message": _str(data["error"]), "target": None}
    return {
        "code": _str(error.get("code")),
        "detailed_code": _inner_code(error),
        "message": _str(error.get("message")) or _str(data.get("message")),
        "target": _str(error.get("target")),
    }


_REQUEST_ID_HEADERS = (
    "apim-request-id",
    "x-ms-request-id",
    "x-request-id",
    "request-id",
    "x-ms-client-request-id",
)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    operation: str | None = None,
    secrets: Iterable[str] = (),
    now: Callable[[], datetime] = _wall_clock,
) -> AzureError:
    """One typed, classified error from any non-2xx answer; never raises."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    content_type = lowered.get("content-type")
    parsed = parse_error_body(body, content_type)
    secrets = tuple(secrets)

    def clean(raw: str | None) -> str | None:
        return reason_code(scrub(raw, secrets), status) if raw else None

    code = (
        clean(parsed.get("code")) or clean(_str(lowered.get("x-ms-error-code"))) or status_code_name(status)
    )
    detailed = clean(parsed.get("detailed_code"))
    if detailed == code:
        detailed = None
    message = parsed.get("message")
    if not message:
        what = "an empty body" if not body.strip() else f"a body of type {(content_type or 'unknown')[:60]}"
        message = f"Azure answered HTTP {status} with {what} and no readable error"
    request_id = next((lowered[h] for h in _REQUEST_ID_HEADERS if h in lowered), None)
    target = parsed.get("target")
    return AzureError(
        status=status,
        code=code,
        detailed_code=detailed,
        message=scrub(message, secrets),
        error_class=classify(status, code, detailed),
        target=scrub(target, secrets) if target else None,
        request_id=scrub(request_id, secrets)[:100] if request_id else None,
        retry_after=retry_after_from_headers(lowered, now),
        operation=operation,
    )


def operator_error(
    reason: str, message: str, *, operation: str | None = None, status: int | None = None
) -> AzureError:
    """An error the client raises itself (HostNotAllowed, NotSupportedByApiVersion ...), classified by the
    same table so the reconcilers handle it like any Azure answer."""
    return AzureError(
        status=status,
        code=reason,
        message=message,
        error_class=CODE_CLASSES.get(reason, ErrorClass.FATAL),
        operation=operation,
    )
