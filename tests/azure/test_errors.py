"""Classification of every non-2xx answer: both error shapes, odd bodies, and property tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from azure_speech_operator.azure import CODE_CLASSES, ErrorClass, classify, error_from_response
from azure_speech_operator.azure.errors import (
    STATUS_CODES,
    parse_error_body,
    reason_code,
    scrub,
    status_code_name,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import CANARY


def _err(status: int, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_response(status, headers or {}, raw, operation="Endpoints_Get")


def test_speech_to_text_shape_with_detailed_code() -> None:
    error = _err(
        400,
        {
            "code": "InvalidRequest",
            "message": "The model is not valid.",
            "target": "model",
            "innerError": {"code": "InvalidModel", "message": "inner"},
        },
        {"apim-request-id": "req-1", "Retry-After": "3"},
    )
    assert (error.status, error.code, error.detailed_code) == (400, "InvalidRequest", "InvalidModel")
    assert error.reason == "InvalidModel"
    assert error.error_class is ErrorClass.FATAL
    assert (error.message, error.target, error.request_id, error.retry_after) == (
        "The model is not valid.",
        "model",
        "req-1",
        3.0,
    )
    assert "HTTP 400 InvalidModel (Endpoints_Get)" in str(error)


def test_custom_voice_wrapped_shape_and_header_code() -> None:
    error = _err(
        403,
        {"error": {"code": "Forbidden", "message": "no", "innererror": {"code": "InvalidPermissions"}}},
        {"x-ms-request-id": "r2", "x-ms-error-code": "Forbidden"},
    )
    assert (error.code, error.detailed_code, error.error_class) == (
        "Forbidden",
        "InvalidPermissions",
        ErrorClass.BLOCKED,
    )
    assert error.request_id == "r2"


def test_detailed_code_at_the_top_level() -> None:
    error = _err(400, {"code": "InvalidPayload", "message": "$.customProperties.retryCount: invalid"})
    assert error.reason == "InvalidPayload" and error.error_class is ErrorClass.FATAL


def test_header_code_when_the_body_has_none() -> None:
    error = _err(409, b"", {"x-ms-error-code": "Conflict"})
    assert error.code == "Conflict" and error.error_class is ErrorClass.TRANSIENT


@pytest.mark.parametrize(
    ("status", "body", "code", "error_class"),
    [
        (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "BadGateway", ErrorClass.TRANSIENT),
        (503, b"", "ServiceUnavailable", ErrorClass.TRANSIENT),
        (500, b"{truncated", "InternalServerError", ErrorClass.TRANSIENT),
        (401, b"[1, 2]", "Unauthorized", ErrorClass.BLOCKED),
        (404, b"null", "NotFound", ErrorClass.NOT_FOUND),
        (418, b"\xff\xfe", "ImATeapot", ErrorClass.FATAL),
        (599, b"", "Http599", ErrorClass.TRANSIENT),
    ],
)
def test_odd_bodies(status: int, body: bytes, code: str, error_class: ErrorClass) -> None:
    error = _err(status, body, {"Content-Type": "text/html"})
    assert error.code == code
    assert error.error_class is error_class
    assert f"HTTP {status}" in error.message
    assert "<html>" not in error.message


def test_gateway_json_without_azure_shape() -> None:
    error = _err(401, {"statusCode": 401, "message": "Access denied due to invalid subscription key."})
    assert error.code == "Unauthorized" and error.message.startswith("Access denied")
    assert _err(401, {"error": "invalid key"}).message == "invalid key"


@pytest.mark.parametrize(
    ("status", "code", "detailed", "expected"),
    [
        (429, "TooManyRequests", None, ErrorClass.TRANSIENT),
        (429, "QuotaViolation", None, ErrorClass.TRANSIENT),  # a throttle is never a human's problem
        (404, "InvalidModel", None, ErrorClass.NOT_FOUND),
        (400, "InvalidRequest", "EndpointNotUpdatable", ErrorClass.WAITING),
        (400, "InvalidRequest", "ModelDeploymentNotCompleteState", ErrorClass.WAITING),
        (403, "Forbidden", "QuotaViolation", ErrorClass.BLOCKED),
        (400, "InvalidRequest", "SkuLimitsExist", ErrorClass.BLOCKED),
        (400, "InvalidRequest", None, ErrorClass.FATAL),
        (400, "InvalidArgument", "ModelMismatch", ErrorClass.FATAL),
        (409, "Conflict", None, ErrorClass.TRANSIENT),
        (500, "InvalidRequest", "InvalidPayload", ErrorClass.TRANSIENT),
        (None, "Timeout", None, ErrorClass.TRANSIENT),
        (400, "SomethingNew", "AlsoNew", ErrorClass.FATAL),
        (503, "SomethingNew", None, ErrorClass.TRANSIENT),
        # a 5xx is Azure's trouble whatever its body says: a DELETE answered so is not done
        (500, "InternalServerError", "NotFound", ErrorClass.TRANSIENT),
        (503, "NotFound", None, ErrorClass.TRANSIENT),
        (502, "Unauthorized", None, ErrorClass.TRANSIENT),
        (500, "InternalServerError", "QuotaViolation", ErrorClass.TRANSIENT),
        (500, "InternalServerError", "EndpointNotUpdatable", ErrorClass.TRANSIENT),
        (400, "NotFound", None, ErrorClass.FATAL),  # only a 404 says the thing is gone
        (None, "NotFound", None, ErrorClass.NOT_FOUND),
    ],
)
def test_the_table(status: int | None, code: str, detailed: str | None, expected: ErrorClass) -> None:
    assert classify(status, code, detailed) is expected


def test_table_covers_the_design_examples() -> None:
    for code in ("InvalidModel", "ModelMismatch", "InvalidLocale", "InvalidPayload", "ModelNotDeployable"):
        assert CODE_CLASSES[code] is ErrorClass.FATAL
    for code in ("QuotaViolation", "SkuLimitsExist", "Unauthorized", "Forbidden", "CredentialsNotFound"):
        assert CODE_CLASSES[code] is ErrorClass.BLOCKED
    assert CODE_CLASSES["HostNotAllowed"] is ErrorClass.FATAL


def test_status_names() -> None:
    assert status_code_name(429) == "TooManyRequests"
    assert status_code_name(502) == "BadGateway"
    assert status_code_name(413) == "RequestEntityTooLarge"  # HTTPStatus calls it CONTENT_TOO_LARGE in 3.13
    assert status_code_name(422) == "UnprocessableEntity"
    assert status_code_name(777) == "Http777"


# metav1.Condition's reason pattern: every reason the client produces must pass the API server.
CONDITION_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


@pytest.mark.parametrize(
    ("status", "expected", "error_class"),
    [
        (401, "Unauthorized", ErrorClass.BLOCKED),
        (403, "Forbidden", ErrorClass.BLOCKED),
        (404, "NotFound", ErrorClass.NOT_FOUND),
        (429, "TooManyRequests", ErrorClass.TRANSIENT),
        (500, "InternalServerError", ErrorClass.TRANSIENT),
        (502, "BadGateway", ErrorClass.TRANSIENT),
        (503, "ServiceUnavailable", ErrorClass.TRANSIENT),
    ],
)
@pytest.mark.parametrize("wrapped", [True, False])
def test_a_bare_numeric_code_becomes_the_status_name(
    status: int, expected: str, error_class: ErrorClass, wrapped: bool
) -> None:
    """The gateway's 401 (and the simulator's) reads `{"error": {"code": "401", ...}}`."""
    inner = {"code": str(status), "message": "Access denied due to invalid subscription key."}
    error = _err(status, {"error": inner} if wrapped else inner)
    assert (error.code, error.reason, error.error_class) == (expected, expected, error_class)
    assert error.message.startswith("Access denied")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("InvalidModel", "InvalidModel"),
        ("Microsoft.Speech-quota", "MicrosoftSpeechQuota"),
        ("invalid_payload", "InvalidPayload"),
        (" 401 ", "Unauthorized"),
        ("40x", None),
        ("---", None),
        ("", None),
        ("Quota exceeded!", "QuotaExceeded"),
    ],
)
def test_reason_code(raw: str, expected: str | None) -> None:
    assert reason_code(raw, 401) == expected


def test_missing_or_numeric_codes_fall_back_to_the_status_name() -> None:
    assert _err(403, {"message": "no role"}).code == "Forbidden"
    assert _err(403, {"code": 403, "message": "no role"}).code == "Forbidden"
    assert _err(429, {"error": {"code": None, "message": "slow"}}).code == "TooManyRequests"
    assert _err(400, b"", {"x-ms-error-code": "400"}).code == "BadRequest"
    numeric_inner = _err(400, {"code": "InvalidRequest", "innerError": {"code": "1234"}})
    assert (numeric_inner.code, numeric_inner.detailed_code) == ("InvalidRequest", "BadRequest")


def test_scrub_removes_keys_and_sas_signatures() -> None:
    text = f"key {CANARY} at https://a.blob.core.windows.net/x.wav?sv=1&sig=SECRET%3D&se=2"
    cleaned = scrub(text, [CANARY])
    assert CANARY not in cleaned and "SECRET" not in cleaned
    assert "a.blob.core.windows.net/x.wav" in cleaned


def test_messages_echoing_the_key_are_scrubbed() -> None:
    body = {"code": "Unauthorized", "message": f"key {CANARY} is invalid", "target": CANARY}
    error = error_from_response(401, {"apim-request-id": CANARY}, json.dumps(body).encode(), secrets=[CANARY])
    for text in (str(error), repr(error), error.message, error.target or "", error.request_id or ""):
        assert CANARY not in text


def test_http_date_retry_after_uses_the_injected_clock() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    error = error_from_response(503, {"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}, b"", now=lambda: now)
    assert error.retry_after == 30.0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_error_like = st.fixed_dictionaries(
    {},
    optional={
        "code": _json_values,
        "message": _json_values,
        "target": _json_values,
        "innerError": _json_values,
        "innererror": _json_values,
        "error": _json_values,
    },
)
_bodies = (
    st.binary(max_size=200)
    | _json_values.map(lambda v: json.dumps(v).encode())
    | _error_like.map(lambda v: json.dumps(v).encode())
)
_headers = st.dictionaries(
    st.sampled_from(
        ["Retry-After", "retry-after-ms", "x-ms-error-code", "apim-request-id", "Content-Type", "X-Other"]
    ),
    st.text(max_size=40),
    max_size=5,
)


@settings(max_examples=400, deadline=None)
@given(status=st.integers(min_value=100, max_value=999), headers=_headers, body=_bodies)
def test_classification_never_crashes(status: int, headers: dict[str, str], body: bytes) -> None:
    error = error_from_response(status, headers, body, operation="Op", secrets=[CANARY])
    assert error.error_class in ErrorClass
    assert CONDITION_REASON.match(error.reason), error.reason
    assert CONDITION_REASON.match(error.code), error.code
    assert error.detailed_code is None or CONDITION_REASON.match(error.detailed_code)
    assert error.retry_after is None or 0 <= error.retry_after <= 3600
    str(error), repr(error)


@settings(max_examples=200, deadline=None)
@given(body=_bodies)
def test_parse_error_body_never_crashes(body: bytes) -> None:
    parsed = parse_error_body(body, "application/json")
    assert all(v is None or isinstance(v, str) for v in parsed.values())


_with_canary = st.builds(
    lambda before, after, field, wrap: json.dumps(
        {"error": {field: before + CANARY + after}} if wrap else {field: before + CANARY + after}
    ).encode(),
    st.text(max_size=30),
    st.text(max_size=30),
    st.sampled_from(["code", "message", "target"]),
    st.booleans(),
) | st.builds(
    lambda before, after: (before + CANARY + after).encode(), st.text(max_size=600), st.text(max_size=30)
)


@settings(max_examples=200, deadline=None)
@given(status=st.integers(min_value=300, max_value=599), body=_with_canary, in_header=st.booleans())
def test_a_key_echoed_anywhere_never_reaches_the_error(status: int, body: bytes, in_header: bool) -> None:
    headers = {"x-ms-error-code": CANARY, "apim-request-id": f"id-{CANARY}"} if in_header else {}
    error = error_from_response(status, headers, body, operation="Op", secrets=[CANARY])
    for text in (
        str(error),
        repr(error),
        error.code,
        error.reason,
        error.target or "",
        error.request_id or "",
    ):
        assert CANARY not in text


def test_error_models_read_both_shapes() -> None:
    from azure_speech_operator.azure.models import CvErrorResponse, SttError

    stt = SttError.model_validate(
        {
            "code": "InvalidRequest",
            "message": "m",
            "innerError": {"code": "InvalidModel", "innerError": {"code": "X"}},
        }
    )
    assert stt.inner_error is not None and stt.inner_error.code == "InvalidModel"
    assert stt.inner_error.inner_error is not None and stt.inner_error.inner_error.code == "X"
    cv = CvErrorResponse.model_validate(
        {
            "error": {
                "code": "BadRequest",
                "message": "m",
                "innererror": {"code": "InvalidOperationId"},
                "new": 1,
            }
        }
    )
    assert cv.error.inner_error is not None and cv.error.inner_error.code == "InvalidOperationId"


def test_every_status_name_is_a_condition_reason() -> None:
    for status, name in STATUS_CODES.items():
        assert CONDITION_REASON.match(name) and status_code_name(status) == name
    for status in range(100, 1000):
        assert CONDITION_REASON.match(status_code_name(status)), status


def test_every_code_in_the_table_is_a_condition_reason() -> None:
    """The client's own reasons (HostNotAllowed, Timeout ...) are table entries too."""
    assert all(CONDITION_REASON.match(code) for code in CODE_CLASSES)


@pytest.mark.parametrize(
    ("chain", "detailed", "error_class"),
    [
        # a code Azure nests under a known one does not hide the known one's class
        (["EndpointNotUpdatable", "DeploymentInProgress"], "EndpointNotUpdatable", ErrorClass.WAITING),
        (["QuotaViolation", "MaxEndpointsReached"], "QuotaViolation", ErrorClass.BLOCKED),
        # the innermost known code wins over an outer known one
        (["InvalidPayload", "QuotaViolation"], "QuotaViolation", ErrorClass.BLOCKED),
        # none known: the innermost, as before
        (["Unheard", "Unheard2"], "Unheard2", ErrorClass.FATAL),
    ],
)
def test_the_inner_error_chain_is_classified_by_its_most_specific_known_code(
    chain: list[str], detailed: str, error_class: ErrorClass
) -> None:
    inner: dict[str, object] = {}
    for code in reversed(chain):
        inner = {"code": code, **({"innerError": inner} if inner else {})}
    for body in (
        {"code": "InvalidRequest", "message": "m", "innerError": inner},
        {"error": {"code": "BadRequest", "message": "m", "innererror": inner}},
    ):
        error = _err(400, body)
        assert (error.detailed_code, error.error_class) == (detailed, error_class)
