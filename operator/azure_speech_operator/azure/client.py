"""`AzureClient`: the factory the reconcilers use. One `httpx.AsyncClient` (connection pool) per origin, one
limiter per (host, credential), one token cache; adapters chosen by the target's API version.

    async with AzureClient(ClientSettings()) as client:
        endpoints = client.speech(AzureTarget.for_region("westeurope", "2025-10-15"), ApiKey(key=key))
        endpoint = await endpoints.get(endpoint_id)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

import httpx

from .auth import AzureIdentityTokenProvider, CachingTokens, TokenProvider
from .config import ClientSettings
from .errors import operator_error
from .limiter import Clock, Sleep
from .speech import SpeechAdapter
from .transport import RequestObserver, Session, Transport, install_log_redaction, pool_size
from .types import (
    SPEECH_API_VERSIONS,
    VOICE_API_VERSIONS,
    AzureTarget,
    Credential,
    SpeechEndpoints,
    VoiceEndpoints,
)
from .voice import VoiceAdapter, VoiceV3Adapter


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_version(api: str, version: str, supported: tuple[str, ...]) -> None:
    """Before any session: an unsupported version is named, with the supported ones."""
    if version not in supported:
        raise operator_error(
            "UnsupportedApiVersion",
            f"{api} API version {version!r} is not supported (supported: {', '.join(supported)})",
        )


class AzureClient:
    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        observer: RequestObserver | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], datetime] = _utc_now,
        token_provider: TokenProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`clock`/`sleep` drive the limiters (tests inject fakes), `wall_clock` reads HTTP-date Retry-After,
        `token_provider` replaces azure-identity, `transport` replaces the network (httpx.MockTransport)."""
        self.settings = settings or ClientSettings()
        install_log_redaction()
        settings_ = self.settings
        # One TLS context for every pool: each loads the CA store, about 20 ms of CPU and 0.8 MB each, and
        # a fleet on 100 Speech resources has 100 pools.
        tls: list[ssl.SSLContext] = []

        def pool() -> httpx.AsyncClient:
            # One per origin and credential (Transport.http), so its limit is per Speech resource.
            if not tls:
                tls.append(httpx.create_ssl_context())
            return httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                verify=tls[0],
                transport=transport,
                timeout=httpx.Timeout(
                    connect=settings_.connect_timeout_s,
                    read=settings_.read_timeout_s,
                    write=settings_.read_timeout_s,
                    pool=settings_.read_timeout_s,
                ),
                # every idle connection kept: past the keep-alive limit httpcore checks each idle one
                # against all the others at every request
                limits=httpx.Limits(
                    max_connections=pool_size(settings_), max_keepalive_connections=pool_size(settings_)
                ),
            )

        self._tokens = CachingTokens(
            token_provider or AzureIdentityTokenProvider(), lambda: wall_clock().timestamp()
        )
        self._transport = Transport(self.settings, pool, observer, self._tokens, clock, sleep, wall_clock)

    async def __aenter__(self) -> AzureClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()
        await self._tokens.close()

    def __repr__(self) -> str:
        return f"AzureClient(allowed_hosts={list(self.settings.allowed_hosts)!r})"

    def session(self, target: AzureTarget, credential: Credential) -> Session:
        if target.region is not None:
            voice_v3 = target.api_version == "v3.0"
            base_url = self.settings.regional_base_url(target.region, voice_v3=voice_v3)
            target = target.model_copy(update={"base_url": base_url})
        return Session(self._transport, target, credential)

    def speech(self, target: AzureTarget, credential: Credential) -> SpeechEndpoints:
        """Speech to text endpoints of one resource. Raises AzureError (FATAL) for an unsupported version,
        a host off the allow-list (HostNotAllowed) or Entra on a regional host (EntraRequiresCustomDomain)."""
        _check_version("speech to text", target.api_version, SPEECH_API_VERSIONS)
        return SpeechAdapter(self.session(target, credential), target.api_version)

    def voice(self, target: AzureTarget, credential: Credential) -> VoiceEndpoints:
        """Custom voice endpoints of one resource; `v3.0` supports only get/suspend/resume."""
        _check_version("custom voice", target.api_version, VOICE_API_VERSIONS)
        session = self.session(target, credential)
        if target.api_version == "v3.0":
            return VoiceV3Adapter(session)
        return VoiceAdapter(session, target.api_version)
