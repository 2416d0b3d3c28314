"""A fault-injecting HTTPS proxy in front of kube-apiserver, for the Kubernetes half of the faults suite
(tests/reliability/test_kube_faults.py): a client whose kubeconfig names the proxy talks to the real
apiserver through it, with its own credentials (the Authorization header is passed on), until `faults()`
opens a window in which a seeded fraction of requests is answered as an overloaded or failing apiserver
answers: 429 `TooManyRequests` with Retry-After, or 500 `InternalError`, each with a metav1.Status body.

It serves with the apiserver's own certificate (valid for 127.0.0.1 on any port), so the client's CA and
TLS checks stay as they are. Watches are streamed through chunk by chunk; opening a window ends the open
ones (as an apiserver ends a watch), so the client's re-list and re-watch meet the faults too.

Runs in a thread of the test process with its own event loop; the counts are read from the test thread.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

# hop-by-hop and framing headers: each side of the proxy sets its own
_NOT_FORWARDED = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer"}
)
FAULT_KINDS = ("429", "500")


def status_body(code: int, reason: str, message: str, **details: object) -> bytes:
    """A metav1.Status failure, as kube-apiserver sends it."""
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }
    return json.dumps(status).encode()


class FaultyProxy:
    def __init__(
        self,
        upstream: str,
        *,
        ca_cert: Path,
        serving_cert: Path,
        serving_key: Path,
        seed: int,
        retry_after: int = 1,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.retry_after = retry_after
        self._rng = random.Random(seed)
        self._rate = 0.0
        self._kinds: Sequence[str] = FAULT_KINDS
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # by method, and "watch" for watch requests
        self.in_window: Counter[str] = Counter()  # the same, while a window was open
        self.injected: Counter[str] = Counter()  # by "<code> <method>"
        self._client_tls = ssl.create_default_context(cafile=str(ca_cert))
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(serving_cert, serving_key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-proxy", daemon=True)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._streams: set[aiohttp.ClientResponse] = set()

    # control, from the test's thread --------------------------------------------------------------------

    def start(self) -> FaultyProxy:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        self.url = f"https://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def faults(self, rate: float, kinds: Sequence[str] = FAULT_KINDS) -> None:
        """From now on answer `rate` of the requests with a fault drawn from `kinds`; 0 ends the window.
        Opening a window ends the watches in flight, so that their reconnection meets it."""
        with self._lock:
            opening = rate > 0 and self._rate == 0
            self._rate, self._kinds = rate, tuple(kinds)
        if opening:
            self._loop.call_soon_threadsafe(self._end_streams)

    # the proxy, in its own loop -------------------------------------------------------------------------

    async def _start(self) -> int:
        # no total timeout: a watch lasts as long as the apiserver keeps it
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10))
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._server_tls)
        await site.start()
        server = site._server  # aiohttp names no public accessor for the bound port
        assert isinstance(server, asyncio.Server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _stop(self) -> None:
        self._end_streams()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _end_streams(self) -> None:
        for response in list(self._streams):
            response.close()

    def _draw(self) -> str | None:
        with self._lock:
            if self._rate and self._rng.random() < self._rate:
                return self._rng.choice(self._kinds)
            return None

    def _fault(self, kind: str, request: web.Request) -> web.Response:
        with self._lock:
            self.injected[f"{kind} {request.method}"] += 1
        if kind == "429":
            body = status_body(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                retryAfterSeconds=self.retry_after,
            )
            headers = {"Retry-After": str(self.retry_after)}
        else:
            body = status_body(500, "InternalError", "Internal error occurred: injected by the test proxy")
            headers = {}
        return web.Response(status=int(kind), body=body, content_type="application/json", headers=headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        watch = request.query.get("watch") in ("true", "1")
        with self._lock:
            for counts in (self.requests, self.in_window) if self._rate else (self.requests,):
                counts[request.method] += 1
                counts["watch"] += watch
        kind = self._draw()
        if kind is not None:
            return self._fault(kind, request)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        body = await request.read()
        upstream = await self._session.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=body or None,
            ssl=self._client_tls,
            allow_redirects=False,
            auto_decompress=False,
        )
        self._streams.add(upstream)
        try:
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _NOT_FORWARDED:
                    answer.headers.add(key, value)
            await answer.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await answer.write(chunk)
                await answer.write_eof()
            except (aiohttp.ClientError, asyncio.IncompleteReadError):
                await answer.write_eof()  # we ended the upstream (a window opened): end the client's too
            except ConnectionResetError:
                pass  # the client went away
            return answer
        finally:
            self._streams.discard(upstream)
            upstream.release()
