"""Credentials on the wire: a key header, or a Microsoft Entra bearer token from azure-identity.

Tokens are cached until five minutes before they expire, per scope; azure-identity is imported lazily, so
key-only setups (and the simulator) never load it.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import SecretStr

from .config import REGIONAL_HOST_PATTERNS, host_allowed
from .errors import operator_error
from .scrub import MASK, scrub
from .types import ApiKey, AzureError, EntraIdentity

KEY_HEADER = "Ocp-Apim-Subscription-Key"
REFRESH_MARGIN_S = 300.0
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def header_value_problem(value: str) -> str | None:
    """Why a secret cannot be sent as an HTTP header value, or None. The words quote nothing of it, not even
    the offending character or its position (httpx's UnicodeEncodeError names both)."""
    if not value:
        return "is empty"
    if not _VISIBLE_ASCII.fullmatch(value):
        return (
            "holds a character other than visible ASCII (letters, digits, punctuation): it cannot be sent "
            "in an HTTP header"
        )
    return None


class TokenProvider(Protocol):
    """Gives a bearer token for a scope. The default uses azure-identity's DefaultAzureCredential, which
    covers AKS workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE)."""

    async def get_token(self, scope: str) -> tuple[str, float]:
        """The token and its expiry as a Unix timestamp."""
        ...

    async def close(self) -> None: ...


class AzureIdentityTokenProvider:
    def __init__(self, credential_factory: Callable[[], Any] | None = None) -> None:
        self._factory = credential_factory
        self._credential: Any = None

    async def get_token(self, scope: str) -> tuple[str, float]:
        if self._credential is None:
            if self._factory is not None:
                self._credential = self._factory()
            else:
                from azure.identity.aio import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
        token = await self._credential.get_token(scope)
        return str(token.token), float(token.expires_on)

    async def close(self) -> None:
        if self._credential is not None:
            await self._credential.close()
            self._credential = None


class CachingTokens:
    """One token per scope, refreshed shortly before expiry; concurrent callers share one refresh."""

    def __init__(self, provider: TokenProvider, wall_clock: Callable[[], float] = time.time) -> None:
        self._provider = provider
        self._clock = wall_clock
        self._cache: dict[str, tuple[SecretStr, float]] = {}
        self._lock = asyncio.Lock()

    async def token(self, scope: str) -> SecretStr:
        cached = self._cache.get(scope)
        if cached and cached[1] - REFRESH_MARGIN_S > self._clock():
            return cached[0]
        async with self._lock:
            cached = self._cache.get(scope)
            if cached and cached[1] - REFRESH_MARGIN_S > self._clock():
                return cached[0]
            failure: str | None = None
            answer: object = None
            try:
                answer = await self._provider.get_token(scope)
            except Exception as exc:  # azure-identity raises many types
                failure = _provider_failure(exc)
            token = _token_of(answer) if failure is None else None
            if token is None:  # raised outside the except: the provider's exception is not chained
                raise operator_error(
                    "TokenUnavailable",
                    f"no Microsoft Entra token for scope {scope}: "
                    + (failure or "the provider's answer is not a token with an expiry time"),
                )
            problem = header_value_problem(token[0].get_secret_value())
            if problem is not None:
                raise operator_error(
                    "TokenUnavailable", f"the Microsoft Entra token for scope {scope} {problem}"
                )
            self._cache[scope] = token
            return token[0]

    def forget(self, scope: str) -> None:
        """After a 401 the cached token may be revoked: the next call fetches a new one."""
        self._cache.pop(scope, None)

    async def close(self) -> None:
        await self._provider.close()


# Form fields of a token request that carry a credential: scrub's patterns know them only after a URL
# separator, and azure-identity's text may quote a request body or a field in a sentence.
_FORM_CREDENTIALS = re.compile(
    r"(?i)\b((?:client_assertion|assertion|client_secret|refresh_token|access_token|password)[\"']?\s*[=:]\s*"
    r"[\"']?)[^\s&\"',;}]+"
)  # form fields (a=b), and JSON or YAML ones ("a": "b", a: b)
# azure-identity's links to its troubleshooting guides, after each credential's words and at the end: the
# same for every failure, and they would push the credential's own reason past the length cap.
_TROUBLESHOOTING = re.compile(
    r"(?:Visit|To mitigate this issue, please refer to the troubleshooting guidelines here at) "
    r"https://aka\.ms/\S+?(?: to troubleshoot this issue)?\.(?=\s|$)"
)


def _provider_failure(exc: BaseException) -> str:
    """What a token provider's exception says, for status and events: its type and its message on one line,
    scrubbed of credentials and shortened. azure-identity's message names each credential it tried and why
    it failed (an AADSTS code, an unreachable endpoint), which is what a platform engineer needs; it is not
    meant to hold a secret, but it may quote a federated token or a client assertion, and spans lines."""
    try:
        text = str(exc)
    except Exception:  # a custom provider's exception may fail to print: its type still says something
        text = ""
    text = " ".join(_TROUBLESHOOTING.sub(" ", _FORM_CREDENTIALS.sub(rf"\1{MASK}", text)).split())
    return scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _token_of(answer: object) -> tuple[SecretStr, float] | None:
    """A provider's `(token, expires_on)`, checked: a custom provider may answer anything."""
    if not isinstance(answer, tuple) or len(answer) != 2:
        return None
    value, expires_on = answer
    if not isinstance(value, str) or isinstance(expires_on, bool) or not isinstance(expires_on, int | float):
        return None
    if not math.isfinite(expires_on):
        return None
    return SecretStr(value), float(expires_on)


def check_credential_sendable(credential: ApiKey | EntraIdentity) -> None:
    """A key goes into a header as it is: one httpx cannot encode must fail here, cleanly, not in httpx."""
    if isinstance(credential, ApiKey):
        problem = header_value_problem(credential.key.get_secret_value())
        if problem is not None:
            raise operator_error("CredentialsInvalid", f"the Speech resource key {problem}")


def check_credential_for_host(credential: ApiKey | EntraIdentity, host: str, port: int) -> None:
    """Entra needs a custom domain: refuse regional hosts before any request is sent."""
    if isinstance(credential, EntraIdentity) and host_allowed(REGIONAL_HOST_PATTERNS, host, port):
        raise operator_error(
            "EntraRequiresCustomDomain",
            f"Microsoft Entra authentication needs the Speech resource's custom domain "
            f"(https://NAME.cognitiveservices.azure.com), not the regional host {host}",
        )


def secrets_of(credential: ApiKey | EntraIdentity) -> tuple[str, ...]:
    if isinstance(credential, ApiKey):
        return (credential.key.get_secret_value(),)
    return ()


__all__ = [
    "KEY_HEADER",
    "AzureError",
    "AzureIdentityTokenProvider",
    "CachingTokens",
    "TokenProvider",
    "check_credential_for_host",
    "check_credential_sendable",
    "header_value_problem",
]
