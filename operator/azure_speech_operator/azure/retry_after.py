"""Retry-After in every form Azure sends it: integer seconds, a string of seconds (the retiring custom voice
API declares it as a string), an HTTP date, and the millisecond variants some Azure gateways add."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# An answer asking us to wait longer than this is capped: a typo on Azure's side must not park a resource
# for a week. The reconcilers still back off on their own on repeated errors.
MAX_RETRY_AFTER_S = 3600.0


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: Callable[[], datetime] = _wall_clock) -> float | None:
    """Seconds to wait, or None when the value is absent or unreadable (absent means no hint)."""
    if value is None:
        return None
    text = value.strip().strip('"').strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if math.isnan(seconds):
            return None
        return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - now()).total_seconds()
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


def retry_after_from_headers(
    headers: Mapping[str, str], now: Callable[[], datetime] = _wall_clock
) -> float | None:
    """The delay Azure asks for: `retry-after-ms`/`x-ms-retry-after-ms` (finer) before `Retry-After`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            millis = float(raw.strip())
        except ValueError:
            continue
        if not math.isnan(millis):
            return min(max(millis / 1000.0, 0.0), MAX_RETRY_AFTER_S)
    return parse_retry_after(lowered.get("retry-after"), now)
