from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure_speech_operator.azure import parse_retry_after
from azure_speech_operator.azure.retry_after import MAX_RETRY_AFTER_S, retry_after_from_headers
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2026, 11, 21, 6, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("10", 10.0),
        (" 7 ", 7.0),
        ('"5"', 5.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("nan", None),
        ("soon", None),
        ("99999999", MAX_RETRY_AFTER_S),
        ("Sat, 21 Nov 2026 06:00:45 GMT", 45.0),
        ("Sat, 21 Nov 2026 05:00:00 GMT", 0.0),
        ("Sat, 21 Nov 2026 06:00:45", 45.0),
    ],
)
def test_forms(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, lambda: NOW) == expected


def test_headers_prefer_milliseconds_and_ignore_case() -> None:
    assert retry_after_from_headers({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_from_headers({"x-ms-retry-after-ms": "bad", "RETRY-AFTER": "9"}) == 9.0
    assert retry_after_from_headers({}) is None


@given(st.text(max_size=60))
def test_never_crashes(value: str) -> None:
    result = parse_retry_after(value, lambda: NOW)
    assert result is None or 0.0 <= result <= MAX_RETRY_AFTER_S
