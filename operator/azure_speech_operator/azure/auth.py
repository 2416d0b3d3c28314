"""Credentials on the wire: a key header, or a Microsoft Entra bearer token from azure-identity.

Tokens are cached until five minutes before they expire, per scope; azure-identity is imported lazily, so
key-only setups (and the simulator) never load it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import SecretStr

from .config import REGIONAL_HOST_PATTERNS, host_allowed
from .errors import operator_error
from .types import ApiKey, AzureError, EntraIdentity

KEY_HEADER = "Ocp-Apim-Subscription-Key"
REFRESH_MARGIN_S = 300.0


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
            try:
                value, expires_on = await self._provider.get_token(scope)
            except Exception as exc:  # azure-identity raises many types; their text may hold anything
                failure = type(exc).__name__
            if failure is not None:  # raised outside the except: the provider's exception is not chained
                raise operator_error(
                    "TokenUnavailable", f"no Microsoft Entra token for scope {scope}: {failure}"
                )
            secret = SecretStr(value)
            self._cache[scope] = (secret, expires_on)
            return secret

    def forget(self, scope: str) -> None:
        """After a 401 the cached token may be revoked: the next call fetches a new one."""
        self._cache.pop(scope, None)

    async def close(self) -> None:
        await self._provider.close()


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
]
