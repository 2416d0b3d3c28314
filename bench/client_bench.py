"""Benchmarks of the Azure client layer: error classification, wire-model parsing, the limiter's overhead,
round trips against the simulator, and how closely a burst keeps to the request budget."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from azure_speech_operator.azure import ApiKey, AzureClient, AzureTarget, ClientSettings, error_from_response
from azure_speech_operator.azure.limiter import SlidingWindowLimiter
from azure_speech_operator.azure.models import SttEndpoint
from azure_speech_operator.azure.types import ModelRef, SpeechEndpointCreate
from azure_speech_operator.simulator.app import run_simulator
from azure_speech_operator.simulator.config import RateLimit, SimulatorConfig
from azure_speech_operator.simulator.seed import BASE_EN_US_CURRENT

SPECS = Path(__file__).resolve().parents[1] / "specs" / "azure-specs"
KEY = ApiKey(key="bench-key-0000000000000000")
SIM_SETTINGS = ClientSettings(allowed_hosts=("127.0.0.1",), allow_http=True)

Report = Callable[[str, str], None]


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s ({count} in {seconds:.2f} s)"


def bench_classification(report: Report) -> None:
    bodies = [
        (400, b'{"code":"InvalidRequest","message":"m","innerError":{"code":"InvalidModel"}}'),
        (403, b'{"error":{"code":"Forbidden","message":"no","innererror":{"code":"QuotaViolation"}}}'),
        (429, b'{"code":"TooManyRequests","message":"slow down"}'),
        (502, b"<html><body>Bad Gateway</body></html>"),
        (503, b""),
    ]
    headers = {"Retry-After": "5", "apim-request-id": "r", "Content-Type": "application/json"}
    rounds = 4000
    start = time.perf_counter()
    for _ in range(rounds):
        for status, body in bodies:
            error_from_response(status, headers, body, operation="Endpoints_Get", secrets=("k" * 32,))
    report("error classification", _rate(rounds * len(bodies), time.perf_counter() - start))


def bench_parsing(report: Report) -> None:
    raw = json.dumps(
        json.loads((SPECS / "stt-v3.2" / "examples" / "get_endpoint.json").read_text())["responses"]["200"][
            "body"
        ]
    ).encode()
    rounds = 10_000
    start = time.perf_counter()
    for _ in range(rounds):
        SttEndpoint.model_validate_json(raw)
    report("Endpoint wire-model parse", _rate(rounds, time.perf_counter() - start))


async def bench_limiter(report: Report) -> None:
    limiter = SlidingWindowLimiter(1_000_000, 10.0)
    rounds = 20_000
    start = time.perf_counter()
    for _ in range(rounds):
        async with limiter.hold():
            pass
    report("limiter acquire+release, uncontended", _rate(rounds, time.perf_counter() - start))


async def bench_round_trips(report: Report) -> None:
    config = SimulatorConfig(rate_limit=RateLimit(requests=0), time_scale=0.001)
    settings = SIM_SETTINGS.model_copy(update={"budget_requests": 100_000})
    async with run_simulator(config) as sim, AzureClient(settings) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
        created = await speech.create(
            SpeechEndpointCreate(
                display_name="b", locale="en-US", model=ModelRef(id=BASE_EN_US_CURRENT, kind="base")
            )
        )
        latencies = []
        for _ in range(300):
            started = time.perf_counter()
            await speech.get(created.id)
            latencies.append(time.perf_counter() - started)
        quantiles = statistics.quantiles(latencies, n=20)
        report(
            "Endpoints_Get round trip (simulator, sequential)",
            f"p50 {statistics.median(latencies) * 1000:.2f} ms, p95 {quantiles[18] * 1000:.2f} ms",
        )
        start = time.perf_counter()
        await asyncio.gather(*(speech.get(created.id) for _ in range(600)))
        report("Endpoints_Get throughput (simulator, 16 in flight)", _rate(600, time.perf_counter() - start))


async def bench_budget(report: Report) -> None:
    """The issue's "done when" figure: a burst at 20 per 0.5 s against a simulator allowing 24 per 0.5 s."""
    config = SimulatorConfig(rate_limit=RateLimit(requests=24, seconds=0.5), time_scale=0.001)
    settings = SIM_SETTINGS.model_copy(update={"budget_requests": 20, "budget_window_s": 0.5})
    calls = 300
    async with run_simulator(config) as sim, AzureClient(settings) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
        created = await speech.create(
            SpeechEndpointCreate(
                display_name="b", locale="en-US", model=ModelRef(id=BASE_EN_US_CURRENT, kind="base")
            )
        )
        async with httpx.AsyncClient(base_url=sim.url) as control:
            await control.post("/_sim/requests/reset")
            start = time.perf_counter()
            results = await asyncio.gather(
                *(speech.get(created.id) for _ in range(calls)), return_exceptions=True
            )
            elapsed = time.perf_counter() - start
            log = (await control.get("/_sim/requests")).json()
    outcomes = log["operations"].get("Endpoints_Get", {})
    failures = sum(1 for r in results if isinstance(r, BaseException))
    report(
        "burst of 300 under 20/0.5 s budget (simulator allows 24/0.5 s)",
        f"{calls / elapsed:.1f} req/s achieved (budget 40/s), 429s: {outcomes.get('429', 0)}, "
        f"client errors: {failures}, {elapsed:.1f} s",
    )


async def run(report: Report) -> None:
    bench_classification(report)
    bench_parsing(report)
    await bench_limiter(report)
    await bench_round_trips(report)
    await bench_budget(report)
