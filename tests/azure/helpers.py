"""Shared test helpers: examples from the vendored specs, a fake clock, a client on httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from azure_speech_operator.azure import AzureClient, AzureError, AzureTarget, ClientSettings, EntraIdentity

SPECS = Path(__file__).resolve().parents[2] / "specs" / "azure-specs"
CANARY = "canary-5f3c9a1e7d2b4c6a8e0f1b3d5c7a9e2f"


def example(folder: str, name: str, status: str = "200") -> Any:
    return json.loads((SPECS / folder / "examples" / f"{name}.json").read_text())["responses"][status]["body"]


class FakeClock:
    """Monotonic time that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


def always(answer: object) -> Handler:
    """A handler giving the same answer to every request: a response, or an exception raised."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    return handler


def mock_client(handler: Handler, settings: ClientSettings | None = None, **kwargs: Any) -> AzureClient:
    return AzureClient(settings, transport=httpx.MockTransport(handler), **kwargs)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class StaticTokens:
    """A token provider giving one answer to every call: `(token, expires_on)`, or an exception raised."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    async def get_token(self, scope: str) -> tuple[str, float]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[return-value]

    async def close(self) -> None:
        pass


async def entra_get_error(tokens: StaticTokens, handler: Handler) -> AzureError:
    """The AzureError of an Endpoints_Get on a custom domain with Entra tokens from `tokens`."""
    async with mock_client(handler, token_provider=tokens) as client:
        adapter = client.speech(
            AzureTarget(base_url="https://my.cognitiveservices.azure.com", api_version="2025-10-15"),
            EntraIdentity(),
        )
        try:
            await adapter.get("afa0669c-a01e-4693-ae3a-93baf40f26d6")
        except AzureError as exc:
            return exc
    raise AssertionError("the request succeeded")
