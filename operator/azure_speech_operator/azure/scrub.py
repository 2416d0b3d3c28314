"""Scrubbing of Azure's text: whatever Azure answers may echo a credential, and whatever the client reads ends
up in status, events, ConfigMaps, metrics or logs. The client scrubs every answer once, where it reads it:
error answers in `errors.error_from_response`, successful ones in `transport.Session.parse` (every string of
the JSON, keys included, before the wire models see it; only values the client needs whole, and fields the
operator writes from the spec and never shows, are read verbatim).

Removed: the secrets of the request (the key, the bearer token) in any letter case and URL-encoded; SAS
signatures (`sig=` anywhere, raw or percent-encoded once or twice); credential query parameters and
connection-string fields (`?key=`, `&access_token=`, `;AccountKey=` ...); `Bearer` tokens and JWTs; values
after credential header names (`Ocp-Apim-Subscription-Key: ...`, `Authorization: ...`). Terminal control
characters (escape sequences) become U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_MIN_SECRET = 4  # a shorter "secret" would mask ordinary words
_MAX_TEXT = 500

# A URL separator or `=`, raw or percent-encoded (a URL quoted inside another URL is encoded once more).
_SEP = r"(?:[?&;#]|%(?:25)*(?:3f|26|3b|23))"
_EQ = r"(?:=|%(?:25)*3d)"
# Until the next separator: a percent-encoded `&` is swallowed too (masking too much is the safe side).
_VALUE = r"[^&#;\s\"'<>]*"
_CREDENTIAL_PARAMS = (
    "sig|signature|key|subscription-key|subscription_key|ocp-apim-subscription-key|api-key|api_key|apikey|"
    "access_token|access-token|id_token|refresh_token|token|code|client_secret|password|pwd|secret|"
    "accountkey|sharedaccesskey|sharedaccesssignature|"
    # the rest of a SAS: not secret alone, but no use to anyone without the signature
    "se|st|sp|sv|sr|spr|sip|skoid|sktid|ske|sks|skv"
)
_PATTERNS = (
    re.compile(rf"(?i)({_SEP}(?:{_CREDENTIAL_PARAMS}){_EQ}){_VALUE}"),
    # A SAS signature wherever it sits (`sig=` after any non-word character, or at the start).
    re.compile(rf"(?i)((?<![a-z0-9_])sig{_EQ}){_VALUE}"),
    re.compile(
        r"(?i)((?:ocp-apim-subscription-key|subscription-key|api-key|x-api-key|authorization)[\"']?\s*[:=]\s*"
        r"[\"']?)(?:(?:bearer|basic|sharedkey)\s+)?[^\s\"',;&]+"
    ),
    re.compile(r"(?i)(\bbearer(?:\s|%20|\+)+)[A-Za-z0-9._~+/=-]+"),
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET:
            forms.update((secret, quote(secret, safe=""), quote(secret), quote_plus(secret)))
    if not forms:
        return None
    # Longest first, so a form containing another is masked whole.
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.IGNORECASE)


def _redact_once(text: str, secrets: re.Pattern[str] | None) -> str:
    if secrets is not None:
        text = secrets.sub(MASK, text)
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\1{MASK}", text)
    text = _JWT.sub(MASK, text)
    return _CONTROLS.sub("\ufffd", text)


def _redact(text: str, secrets: re.Pattern[str] | None) -> str:
    # Until nothing changes: masking one thing must not leave another one readable.
    for _ in range(8):
        cleaned = _redact_once(text, secrets)
        if cleaned == text:
            break
        text = cleaned
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every credential and terminal control character masked, at full length."""
    return _redact(text, _secret_pattern(secrets))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`redact`, shortened to 500 characters: for text shown in a message."""
    text = redact(text, secrets)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def redact_json(value: Any, secrets: Iterable[str] = (), *, keep: Collection[str] = ()) -> Any:
    """A decoded JSON answer with every string redacted, object keys included, except the values (whole) of
    the keys in `keep`, wherever they sit: URLs the client needs as they are (a SAS URL it downloads, held as
    a SecretStr; a next link it follows) and fields the operator writes from the spec and compares for
    drift, which are never shown. Iterative: an answer nested past the recursion limit must not crash it."""
    pattern = _secret_pattern(secrets)

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return _redact(item, pattern)
        if isinstance(item, dict):
            return {}
        if isinstance(item, list):
            return []
        return item

    root = clean(value)
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        if isinstance(source, dict):
            for key, child in source.items():
                if key in keep:
                    target[key] = child
                    continue
                copy = clean(child)
                target[_redact(key, pattern) if isinstance(key, str) else key] = copy
                if isinstance(child, dict | list):
                    stack.append((child, copy))
        elif isinstance(source, list):
            for child in source:
                copy = clean(child)
                target.append(copy)
                if isinstance(child, dict | list):
                    stack.append((child, copy))
    return root
