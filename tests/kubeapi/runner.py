"""Starting and stopping the emulated API: in a background thread (for tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from .registry import Registry
from .server import KubeApi, ServerOptions

T = TypeVar("T")


def kubeconfig(url: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulated", "cluster": {"server": url}}],
        "users": [{"name": "emulated", "user": {}}],
        "contexts": [
            {
                "name": "emulated",
                "context": {"cluster": "emulated", "user": "emulated", "namespace": namespace},
            }
        ],
        "current-context": "emulated",
        "preferences": {},
    }


def write_kubeconfig(path: str | Path, url: str, namespace: str = "default") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(url, namespace), sort_keys=False))
    return path


async def start_site(api: KubeApi, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(api.app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound_port = sockets[0].getsockname()[1] if sockets else port
    return runner, f"http://{host}:{bound_port}"


class BackgroundApi:
    """The emulated API served from a thread with its own event loop (for in-process tests).

    `call(fn)` runs `fn(registry)` on the server's loop, so tests can inspect or seed storage safely.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        registry: Registry | None = None,
        options: ServerOptions | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubeapi", daemon=True)
        self._thread.start()
        self.api = asyncio.run_coroutine_threadsafe(self._make(registry, options), self._loop).result()
        self._runner, self.url = asyncio.run_coroutine_threadsafe(
            start_site(self.api, host, port), self._loop
        ).result()

    async def _make(self, registry: Registry | None, options: ServerOptions | None) -> KubeApi:
        return KubeApi(registry, options)

    @property
    def registry(self) -> Registry:
        return self.api.registry

    def call(self, fn: Callable[[Registry], T]) -> T:
        async def run() -> T:
            return fn(self.api.registry)

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout=30)

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        return write_kubeconfig(path, self.url, namespace)

    def stop(self) -> None:
        if not self._loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
