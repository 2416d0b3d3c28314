"""Fixtures: an in-process simulator on a fake clock, and a client whose every response is checked against
the official spec of the operation it belongs to."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from azure_speech_operator.simulator.app import RunningSimulator, run_simulator
from azure_speech_operator.simulator.config import RateLimit, ResourceConfig, SimulatorConfig
from azure_speech_operator.simulator.seed import Seed
from azure_speech_operator.simulator.state import FakeClock

from .swagger import check_response

KEY = "test-key-1"
KEY2 = "test-key-2"


@dataclass
class SpecAudit:
    """Every response that belongs to a spec operation, validated; failures collected for the test's end."""

    seen: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        if response.headers.get("x-simulator-fault") in ("malformed", "502"):
            return  # not the API's answer on purpose (a broken body, a gateway's HTML page)
        checked = check_response(response)
        if checked is None:
            return
        op, errors = checked
        self.seen.setdefault((op.folder, op.operation_id), set()).add(response.status_code)
        for error in errors:
            self.failures.append(
                f"{op.folder} {op.operation_id} {response.request.method} {response.request.url} "
                f"-> {response.status_code}: {error}"
            )


@dataclass
class Harness:
    sim: RunningSimulator
    clock: FakeClock
    client: httpx.AsyncClient
    audit: SpecAudit

    @property
    def url(self) -> str:
        return self.sim.url

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


def sim_config(**overrides: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "resources": (ResourceConfig(name="default", keys=(KEY, KEY2)),),
        "rate_limit": RateLimit(requests=0),
    }
    return SimulatorConfig.model_validate(base | overrides)


def ipv6_loopback() -> bool:
    """Whether this machine can listen on ::1 (tests of IPv6 listen addresses skip without it)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HarnessFactory = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
def make_harness() -> HarnessFactory:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def factory(
        config: SimulatorConfig | None = None,
        seed: Seed | None = None,
        key: str = KEY,
        clock: FakeClock | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Harness]:
        clock = clock or FakeClock()
        audit = SpecAudit()
        async with run_simulator(config or sim_config(), clock=clock, seed=seed, **kwargs) as sim:
            headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
            async with httpx.AsyncClient(
                base_url=sim.url, headers=headers, event_hooks={"response": [audit]}, timeout=10
            ) as client:
                harness = Harness(sim=sim, clock=clock, client=client, audit=audit)
                yield harness
        assert not audit.failures, "responses that do not match the spec:\n" + "\n".join(audit.failures)

    return factory


@pytest.fixture
async def h(make_harness: HarnessFactory) -> AsyncIterator[Harness]:
    async with make_harness() as harness:
        yield harness
