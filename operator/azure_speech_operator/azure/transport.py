"""The one place where requests leave: allow-list, budget, auth, timeouts, size limits, error mapping,
observation. Adapters describe *what* to call; a `Session` decides whether and how.

The client never retries by itself: the reconcilers decide from the error class and `retry_after`. A 429
pauses the (host, credential) limiter, so every resource sharing that budget backs off together.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ..shared_reads import SharedReads
from .auth import (
    KEY_HEADER,
    CachingTokens,
    check_credential_for_host,
    check_credential_sendable,
    secrets_of,
)
from .config import ClientSettings, http_allowed, is_azure_host, matching_pattern
from .errors import error_from_response, operator_error
from .lending import while_waiting
from .limiter import Clock, PausedTooLong, Sleep, SlidingWindowLimiter, Slot
from .models import Page, split_url
from .retry_after import retry_after_from_headers
from .scrub import redact_json, scrub
from .types import ApiKey, AzureError, AzureTarget, Credential, EntraIdentity, ErrorClass

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=Page)
T = TypeVar("T")
MAX_PAGES = 10_000  # a nextLink loop from a broken server must end
_NEXT_LINK_KEYS = ("@nextLink", "nextLink")


class RequestObserver(Protocol):
    """Told about every request once it ends: the spec operationId, method, host, HTTP status (or
    `timeout` / `connection-error` / `too-large`), and seconds spent on the wire (not waiting for budget);
    and about every request the budget held back (`budget_waited`: the seconds before it could leave).
    The client never retries, so each 429 Azure sends is one `observe` with status 429."""

    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None: ...

    def budget_waited(self, operation: str, seconds: float) -> None: ...


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = self.host if ":" not in self.host or self.host.startswith("[") else f"[{self.host}]"
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"


def parse_origin(url: str, what: str = "endpoint", reason: str = "InvalidEndpointUrl") -> Origin:
    """scheme, host and port of `url`; `reason` is the code of the error when it is not a URL the client
    can send to (InvalidResponse for URLs Azure returned)."""
    split = split_url(url)
    if split is None:
        raise operator_error(reason, f"{what} URL is not a valid URL")
    parts, port = split
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise operator_error(reason, f"{what} URL must be http(s)://HOST, got scheme {parts.scheme!r}")
    if parts.username or parts.password:
        raise operator_error(reason, f"{what} URL must not carry user information")
    origin = Origin(parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80))
    if not _buildable(origin.url):
        # The URL syntax allows host names IDNA refuses (`xn--a`): httpx would raise while building.
        raise operator_error(reason, f"{what} URL's host {origin.host!a} is not a valid host name")
    return origin


def _buildable(url: str) -> bool:
    """Whether httpx can build a request to `url` (its errors may quote the URL: never shown)."""
    try:
        httpx.Request("GET", url)
    except Exception:
        return False
    return True


def check_origin(origin: Origin, settings: ClientSettings, patterns: tuple[str, ...] | None = None) -> str:
    """The allow-list and https check, before any request. Returns the pattern that admitted the origin: the
    observer's `host` label (bounded by the settings, whatever hosts tenants choose)."""
    allowed = settings.allowed_hosts if patterns is None else patterns
    pattern = matching_pattern(allowed, origin.host, origin.port)
    if pattern is None:
        raise operator_error(
            "HostNotAllowed",
            f"host {origin.hostport} is not on the operator's allow-list ({', '.join(allowed) or 'empty'})",
        )
    if origin.scheme != "https" and not http_allowed(allowed, settings.allow_http, origin.host, origin.port):
        why = (
            "Azure's hosts are https only"
            if is_azure_host(origin.host)
            else "https only unless an allow-list pattern says http://HOST, or with --allow-http"
        )
        raise operator_error("HostNotAllowed", f"plain http to {origin.host} is refused: {why}")
    return pattern.text


def validate_target(target: AzureTarget, settings: ClientSettings) -> tuple[Origin, str]:
    """The target's origin, allowed, and the pattern that allowed it."""
    origin = parse_origin(target.base_url)  # first: it refuses what urlsplit cannot read
    parts = urlsplit(target.base_url.strip())
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise operator_error(
            "InvalidEndpointUrl",
            "endpoint URL must be scheme and host only (e.g. https://NAME.cognitiveservices.azure.com)",
        )
    return origin, check_origin(origin, settings)


class _RedactSas(logging.Filter):
    """httpx logs every request URL at INFO; a log download's URL carries a SAS signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_SAS_FILTER = _RedactSas()


def install_log_redaction() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _SAS_FILTER not in logger.filters:
            logger.addFilter(_SAS_FILTER)


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    retry_after: float | None
    # The key or token the request carried: scrubbed from whatever the answer echoes.
    secrets: tuple[str, ...] = field(default=(), repr=False)


# (origin, credential_key or None): what one connection pool serves (Transport.http)
PoolKey = tuple[Origin, str | None]


def credential_key(credential: Credential) -> str:
    """Identifies a credential for limiter sharing without holding or printing it."""
    if isinstance(credential, ApiKey):
        digest = hashlib.sha256(credential.key.get_secret_value().encode()).hexdigest()[:16]
        return f"key:{digest}"
    return f"entra:{credential.scope}"


@dataclass
class Gate:
    """Budget and concurrency for one (host, credential)."""

    limiter: SlidingWindowLimiter
    concurrency: asyncio.Semaphore

    @asynccontextmanager
    async def admitted(self, *, first: bool, max_pause: float | None = None) -> AsyncIterator[Slot]:
        """A place in the budget, then a connection: the budget first, so that a write waiting for the
        budget goes before the reads (limiter), which it could not if reads queued for the budget held every
        connection. A request that has to wait for either enters the caller's `while_waiting` for the wait
        (azure.lending)."""
        lend = while_waiting.get()
        if lend is None or (self.limiter.has_room(first=first) and not self.concurrency.locked()):
            async with self.limiter.hold(first=first, max_pause=max_pause) as at_once, self.concurrency:
                yield at_once
            return
        slot: Slot | None = None
        connected = False
        try:
            async with lend():
                slot = await self.limiter.acquire(first=first, max_pause=max_pause)
                await self.concurrency.acquire()
                connected = True
            yield slot
        finally:
            if connected:
                self.concurrency.release()
            if slot is not None:
                self.limiter.release(slot)


# Seconds an answer read through Session.shared_read is shared for.
SHARED_READ_FRESHNESS = 30.0


POOL_CONNECTIONS = 4


def pool_size(settings: ClientSettings) -> int:
    """Connections of one pool, i.e. of one Speech resource's origin and credential: at most the requests
    its gate lets fly, and a few, as a connection carries several requests a second within the budget
    (90 per 10 s) and a large fleet must stay far below the process's open-files limit (100 Speech
    resources: 400 sockets at most, idle ones closed after httpx's keep-alive expiry)."""
    return max(1, min(settings.max_concurrency, POOL_CONNECTIONS))


class Transport:
    """Shared by every session of one `AzureClient`: the connection pools, the gates, the hooks."""

    def __init__(
        self,
        settings: ClientSettings,
        http_factory: Callable[[], httpx.AsyncClient],
        observer: RequestObserver | None,
        tokens: CachingTokens | None,
        clock: Clock,
        sleep: Sleep,
        wall_clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.observer = observer
        self.tokens = tokens
        self.clock = clock
        self.sleep = sleep
        self.wall_clock = wall_clock
        self._http_factory = http_factory
        self._pools: dict[PoolKey, httpx.AsyncClient] = {}
        self._slots: dict[PoolKey, asyncio.Semaphore] = {}
        # answers shared by the sessions of one origin and credential (Session.shared_read)
        self.reads: SharedReads[Hashable, Any] = SharedReads(SHARED_READ_FRESHNESS)
        self._gates: dict[tuple[str, str], Gate] = {}

    def http(self, origin: Origin, credential: str | None = None) -> httpx.AsyncClient:
        """The connection pool of one origin and credential (`credential_key`; None for a signed download
        URL), i.e. of one Speech resource: a host that stalls fills its own pools, never the ones other
        tenants' requests wait for. httpcore checks every connection of a pool at each request's start and
        end, so pools stay small: one pool of 64 connections per origin, shared by the 20 Speech resources
        of the N = 1,000 benchmark, took a fifth of the operator's event loop."""
        key = (origin, credential)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._http_factory()
        return pool

    def slot(self, origin: Origin, credential: str | None = None) -> asyncio.Semaphore:
        """A connection of that pool, taken before a request is handed to it: httpcore's pool also scans
        its whole queue at each request's start and end, so requests wait here instead, in a queue that
        costs nothing."""
        key = (origin, credential)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(pool_size(self.settings))
        return slot

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    def gate(self, origin: Origin, credential: Credential) -> Gate:
        key = (origin.hostport, credential_key(credential))
        gate = self._gates.get(key)
        if gate is None:
            limiter = SlidingWindowLimiter(
                self.settings.budget_requests,
                self.settings.budget_window_s,
                clock=self.clock,
                sleep=self.sleep,
            )
            gate = Gate(limiter, asyncio.Semaphore(self.settings.max_concurrency))
            self._gates[key] = gate
        return gate

    def observe(self, operation: str, method: str, host: str, status: int | str, seconds: float) -> None:
        self._tell(lambda observer: observer.observe(operation, method, host, status, seconds))

    def budget_waited(self, operation: str, seconds: float) -> None:
        self._tell(lambda observer: observer.budget_waited(operation, seconds))

    def _tell(self, call: Callable[[RequestObserver], None]) -> None:
        if self.observer is None:
            return
        try:
            call(self.observer)
        except Exception:  # metrics must never break a reconcile
            logging.getLogger(__name__).exception("request observer failed")


class Session:
    """Requests to one Speech resource with one credential; adapters build on it."""

    def __init__(self, transport: Transport, target: AzureTarget, credential: Credential) -> None:
        self.transport = transport
        self.settings = transport.settings
        self.origin, self.host_label = validate_target(target, transport.settings)
        check_credential_for_host(credential, self.origin.host, self.origin.port)
        check_credential_sendable(credential)
        self.credential = credential
        self.gate = transport.gate(self.origin, credential)
        self._pool = credential_key(credential)
        self._secrets = secrets_of(credential)

    def __repr__(self) -> str:
        return f"Session({self.origin.url})"

    # -- URLs -----------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.origin.url + path

    def rebase(self, url: str, prefix: str, operation: str) -> str:
        """A URL Azure returned (self, Location, nextLink ...) moved onto the configured host: Azure answers
        with regional hosts even when called on a custom domain, and we never follow it anywhere else."""
        split = split_url(url)
        if split is None:  # a header Azure sent (Location, Operation-Location) that is not a URL
            raise operator_error(
                "InvalidResponse",
                f"Azure returned a URL for {operation} that is not a URL",
                operation=operation,
            )
        path = split[0].path or "/"
        if not path.startswith(prefix):
            raise operator_error(
                "InvalidResponse",
                f"Azure returned a URL outside {prefix} for {operation}",
                operation=operation,
            )
        rebased = self.origin.url + path + (f"?{split[0].query}" if split[0].query else "")
        if not _buildable(rebased):
            raise operator_error(
                "InvalidResponse",
                f"Azure returned a URL for {operation} that cannot be requested",
                operation=operation,
            )
        return rebased

    # -- requests -------------------------------------------------------------------------------------

    async def _auth_headers(self) -> dict[str, str]:
        if isinstance(self.credential, ApiKey):
            return {KEY_HEADER: self.credential.key.get_secret_value()}
        if self.transport.tokens is None:
            raise operator_error("TokenUnavailable", "no Microsoft Entra token provider is configured")
        token = await self.transport.tokens.token(self.credential.scope)
        return {"Authorization": f"Bearer {token.get_secret_value()}"}

    async def shared_read(self, operation: str, url: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """`fetch()`'s answer, shared with the other sessions of this origin and credential that read the
        same `url` with the same operation within SHARED_READ_FRESHNESS seconds (see shared_reads.py): for
        what many endpoints ask at once and rarely changes, such as the base model they deploy."""
        key = (self.origin, credential_key(self.credential), operation, url)
        lend = while_waiting.get()
        if lend is None:
            answer: T = await self.transport.reads.read(key, fetch)
            return answer
        # The read runs in a task of its own, which holds no place of the caller's (runtime/passes.py): the
        # callers waiting for it lend theirs meanwhile, as for a wait for the budget of their own request.
        async with lend():
            answer = await self.transport.reads.read(key, fetch)
        return answer

    async def request(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        content_type: str = "application/json",
    ) -> Reply:
        """Sends one request and returns its answer when the status is expected; raises AzureError otherwise.
        A 404 is raised too (class not-found): callers that accept it catch it."""
        origin = parse_origin(url, "request")
        if origin != self.origin:  # adapters only build URLs on the target; a bug must not leak the key
            raise operator_error("HostNotAllowed", f"refusing to send {operation} to {origin.hostport}")
        all_headers = {"Accept": "application/json", **(headers or {}), **(await self._auth_headers())}
        if json is not None:
            all_headers["Content-Type"] = content_type
        request = self._build(operation, method, url, params, json, all_headers)
        secrets = self._secrets + (
            (all_headers["Authorization"].removeprefix("Bearer "),) if "Authorization" in all_headers else ()
        )
        paused = self.gate.limiter.paused_for
        if paused > self.settings.max_pause_wait_s:
            raise self._throttled(operation, method, paused)
        try:
            async with self.gate.admitted(
                first=method != "GET", max_pause=self.settings.max_pause_wait_s
            ) as slot:
                return await self._sent(operation, method, request, slot, expect, secrets)
        except PausedTooLong as exc:  # a 429 answered while this call waited for the budget
            raise self._throttled(operation, method, exc.seconds) from None

    def _throttled(self, operation: str, method: str, paused: float) -> AzureError:
        """A call not sent: the host is paused (a 429's Retry-After) for longer than a pass should wait."""
        self.transport.observe(operation, method, self.host_label, "throttled", 0.0)
        return AzureError(
            status=None,
            code="TooManyRequests",
            message=f"{operation} not sent: {self.origin.host} throttled, calls resume in {paused:.0f} s",
            error_class=ErrorClass.TRANSIENT,
            retry_after=paused,
            operation=operation,
        )

    async def _sent(
        self,
        operation: str,
        method: str,
        request: httpx.Request,
        slot: Slot,
        expect: Collection[int],
        secrets: tuple[str, ...],
    ) -> Reply:
        """Sends a request admitted to the budget (`slot`) and judges its answer."""
        if slot.waited is not None:
            self.transport.budget_waited(operation, slot.waited)
        started = self.transport.clock()
        try:
            reply = await self._send(operation, request)
        except AzureError as exc:
            self.transport.observe(
                operation, method, self.host_label, _outcome(exc), self.transport.clock() - started
            )
            raise
        self.transport.observe(
            operation, method, self.host_label, reply.status, self.transport.clock() - started
        )
        if reply.status == 429:
            self.gate.limiter.pause(
                reply.retry_after if reply.retry_after is not None else self.settings.throttle_pause_s
            )
        reply.secrets = secrets
        if reply.status in expect:
            return reply
        if (
            reply.status == 401
            and self.transport.tokens is not None
            and isinstance(self.credential, EntraIdentity)
        ):
            self.transport.tokens.forget(self.credential.scope)
        if 300 <= reply.status < 400:
            raise _redirect_error(reply.status, operation)
        error = error_from_response(
            reply.status,
            reply.headers,
            reply.body,
            operation=operation,
            secrets=secrets,
            now=self.transport.wall_clock,
        )
        # A 5xx (a gateway's 502/504 ...) may follow work already done, and a 2xx the call does not expect (a
        # 202 or 204 to a create) says work was done: either way a write's outcome is unknown.
        done_or_maybe = reply.status >= 500 or 200 <= reply.status < 300
        error.outcome_unknown = method not in ("GET", "HEAD") and done_or_maybe
        raise error

    def _build(
        self,
        operation: str,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        json: Any,
        headers: Mapping[str, str],
    ) -> httpx.Request:
        failure: AzureError | None = None
        try:
            # Merged into the URL's own query (httpx's `params=` would replace it, losing a nextLink's skip).
            target_url = httpx.URL(url).copy_merge_params(dict(params)) if params else httpx.URL(url)
            http = self.transport.http(self.origin, self._pool)
            return http.build_request(method, target_url, json=json, headers=headers)
        except Exception:  # its text may quote a header value (the key): raised below, unchained
            failure = operator_error(
                "InvalidParameter",
                f"{operation} could not be built into an HTTP request (a value httpx cannot encode)",
                operation=operation,
            )
        raise failure

    async def _send(self, operation: str, request: httpx.Request) -> Reply:
        # Failures are raised after the `except` blocks, not inside them: the httpx exception (its request
        # holds the key header) must not even be the error's __context__.
        subject = f"{operation} on {self.origin.host}"
        deadline = self.settings.request_deadline_s
        response: httpx.Response | None = None
        body = b""
        failure: AzureError | None = None
        sent = False  # the deadline counts the wait for a connection too: until then nothing reached Azure
        try:
            async with asyncio.timeout(deadline), self.transport.slot(self.origin, self._pool):
                sent = True
                response = await self.transport.http(self.origin, self._pool).send(request, stream=True)
                try:
                    body = await self._read_limited(response, self.settings.max_response_bytes)
                finally:
                    await response.aclose()
        except _TooLarge:
            failure = AzureError(
                status=response.status_code if response is not None else None,
                code="ResponseTooLarge",
                message=f"Azure's answer to {operation} exceeded {self.settings.max_response_bytes} bytes",
                error_class=ErrorClass.BLOCKED,
                operation=operation,
                outcome_unknown=request.method not in ("GET", "HEAD"),
            )
        except Exception as exc:
            reading = response is not None
            failure = _wire_error(
                subject, operation, request.method, exc, reading=reading, sent=sent, deadline_s=deadline
            )
        if failure is not None:
            raise failure
        assert response is not None
        retry_after = retry_after_from_headers(response.headers, self.transport.wall_clock)
        return Reply(response.status_code, response.headers, body, retry_after)

    @staticmethod
    async def _read_limited(response: httpx.Response, limit: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def parse(
        self,
        model: type[M],
        reply: Reply,
        operation: str,
        *,
        written: bool = False,
        keep: Collection[str] = (),
    ) -> M:
        """A 2xx body as a wire model, every string in it scrubbed first (Azure may echo the key, a token or a
        SAS URL even in a success) but the values of the keys in `keep`; an unreadable one is a retryable
        error whose outcome is unknown for writes (the create may have happened)."""
        fields = ["body"]
        try:
            return model.model_validate(redact_json(json.loads(reply.body), reply.secrets, keep=keep))
        except ValidationError as exc:  # its text quotes the body, which may echo a secret: not chained
            fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})[:5]
        except (ValueError, RecursionError):  # not JSON, or not UTF-8, or nested past the recursion limit
            pass
        raise unreadable(reply, operation, fields, written=written)

    async def delete(self, operation: str, url: str, params: Mapping[str, str]) -> bool:
        """True when deleted, False when it was already gone (404)."""
        try:
            await self.request(operation, "DELETE", url, params=params, expect=(204, 200, 202))
        except AzureError as exc:
            if exc.error_class is ErrorClass.NOT_FOUND:
                return False
            raise
        return True

    async def pages(
        self,
        operation: str,
        url: str,
        params: Mapping[str, str],
        page_model: type[P],
        prefix: str,
        version_params: Mapping[str, str],
        *,
        keep: Collection[str] = (),
    ) -> AsyncIterator[tuple[Reply, P]]:
        """Every page of a list, following its next links re-based onto the configured host. A next link
        carries the whole query (skip, skipToken, filter); `version_params` are added only if Azure left
        them out. A link seen before ends the listing instead of looping. Next links are followed as Azure
        wrote them (never shown); `keep` names more keys whose values `parse` leaves whole."""
        seen: set[str] = set()
        keep = {*keep, *_NEXT_LINK_KEYS}
        for _ in range(MAX_PAGES):
            reply = await self.request(operation, "GET", url, params=params)
            page = self.parse(page_model, reply, operation, keep=keep)
            yield reply, page
            if not page.next_link or page.next_link in seen:
                return
            seen.add(page.next_link)
            url = self.rebase(page.next_link, prefix, operation)
            params = {} if "api-version=" in url else version_params
        raise operator_error(
            "InvalidResponse", f"{operation} returned more than {MAX_PAGES} pages", operation=operation
        )

    # -- log downloads --------------------------------------------------------------------------------

    async def download(self, operation: str, sas_url: SecretStr, dest: Path, *, name: str) -> int:
        """Fetches a SAS URL to `dest` (no key sent: the signature is the credential). Returns bytes written.
        The URL never appears in errors or logs."""
        url = sas_url.get_secret_value()
        origin = parse_origin(url, "log download", reason="InvalidResponse")
        label = check_origin(
            origin, self.settings, self.settings.log_download_hosts + self.settings.allowed_hosts
        )
        limit = self.settings.max_log_download_bytes
        subject = f"downloading log file {name}"
        deadline = self.settings.download_deadline_s
        started = self.transport.clock()
        status: int | str = "connection-error"
        tmp = dest.with_name(dest.name + ".part")
        failure: AzureError | None = None
        size = 0
        try:
            async with asyncio.timeout(deadline), self.transport.http(origin).stream("GET", url) as response:
                status = response.status_code
                if 300 <= response.status_code < 400:
                    raise _redirect_error(response.status_code, operation)
                if response.status_code != 200:
                    body = await self._read_limited(response, 64 * 1024)
                    raise error_from_response(
                        response.status_code, response.headers, body, operation=operation, secrets=(url,)
                    )
                handle = await asyncio.to_thread(tmp.open, "wb")
                try:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            status = "too-large"
                            raise AzureError(
                                status=200,
                                code="ResponseTooLarge",
                                message=f"log file {name} exceeds {limit} bytes",
                                error_class=ErrorClass.BLOCKED,
                                operation=operation,
                            )
                        await asyncio.to_thread(handle.write, chunk)
                finally:
                    await asyncio.to_thread(handle.close)
            await asyncio.to_thread(tmp.replace, dest)
        except AzureError:
            raise
        except OSError as exc:
            if not isinstance(
                exc, TimeoutError
            ):  # the deadline's is below; the file system's are the caller's
                raise
            failure = _wire_error(subject, operation, "GET", exc, reading=True, deadline_s=deadline)
            status = _outcome(failure)
        except Exception as exc:  # raised below: httpx's exception (its request) holds the SAS URL
            reading = status != "connection-error"
            failure = _wire_error(subject, operation, "GET", exc, reading=reading, deadline_s=deadline)
            status = _outcome(failure)
        finally:
            self.transport.observe(operation, "GET", label, status, self.transport.clock() - started)
            if tmp.exists():
                await asyncio.to_thread(tmp.unlink, True)
        if failure is not None:
            raise failure
        return size


class _TooLarge(Exception):
    pass


def _redirect_error(status: int, operation: str) -> AzureError:
    return AzureError(
        status=status,
        code="UnexpectedRedirect",
        message=f"Azure answered {operation} with a redirect, which the operator never follows",
        error_class=ErrorClass.FATAL,
        operation=operation,
    )


def _outcome(error: AzureError) -> str:
    """The observer's status for a request that got no usable answer."""
    return {"Timeout": "timeout", "ResponseTooLarge": "too-large", "InvalidResponse": "invalid-response"}.get(
        error.code, "connection-error"
    )


def unreadable(reply: Reply, operation: str, fields: Collection[str], *, written: bool) -> AzureError:
    """A 2xx answer the client cannot use (`fields`: what is missing or wrong): retryable, its outcome
    unknown for a write (the create may have happened)."""
    return AzureError(
        status=reply.status,
        code="InvalidResponse",
        message=f"Azure's answer to {operation} could not be read (fields: {', '.join(fields)})",
        error_class=ErrorClass.TRANSIENT,
        operation=operation,
        outcome_unknown=written,
        retry_after=reply.retry_after,
    )


def _wire_error(
    subject: str,
    operation: str,
    method: str,
    exc: Exception,
    *,
    reading: bool,
    deadline_s: float,
    sent: bool = True,
) -> AzureError:
    """Any exception from sending a request or reading its answer, as a transient error. Its outcome is
    unknown when a write may have reached Azure: anything after the connection was made (`sent`: it had
    its connection slot). Only the exception's type is named, and it is never chained: its request holds
    the key header or SAS URL."""
    written = method not in ("GET", "HEAD")
    kind = type(exc).__name__
    if isinstance(exc, TimeoutError) and not sent:
        code, what, unknown = "Timeout", f"no connection free within the deadline of {deadline_s:g} s", False
    elif isinstance(exc, TimeoutError):  # the overall deadline (asyncio.timeout), not one of httpx's timeouts
        code, what, unknown = (
            "Timeout",
            f"no complete answer within the deadline of {deadline_s:g} s",
            written,
        )
    elif isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        code, what, unknown = "Timeout", "connecting timed out", False
    elif isinstance(exc, httpx.ConnectError):
        code, what, unknown = "ConnectionFailed", f"could not connect ({kind})", False
    elif isinstance(exc, httpx.TimeoutException):
        code, what, unknown = "Timeout", "the answer stalled" if reading else "no answer in time", written
    elif isinstance(exc, httpx.DecodingError):
        code, what, unknown = "InvalidResponse", f"the answer could not be decoded ({kind})", written
    elif isinstance(exc, httpx.TransportError):
        broke = "the answer broke off" if reading else "the connection broke"
        code, what, unknown = "ConnectionFailed", f"{broke} ({kind})", written
    else:  # anything else from the HTTP stack: nothing says the request did not reach Azure
        code, what, unknown = "ConnectionFailed", f"the request failed unexpectedly ({kind})", written
    return AzureError(
        status=None,
        code=code,
        message=f"{subject}: {what}",
        error_class=ErrorClass.TRANSIENT,
        operation=operation,
        outcome_unknown=unknown,
    )
