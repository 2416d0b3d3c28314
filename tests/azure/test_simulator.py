"""The client against the Azure simulator (azure_speech_operator.simulator): every operation of every
version, scripted faults, and the request budget staying under the simulator's rate limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure_speech_operator.azure import (
    MARKER_KEY,
    ApiKey,
    AzureClient,
    AzureError,
    AzureTarget,
    ClientSettings,
    ErrorClass,
)
from azure_speech_operator.azure.types import (
    ModelRef,
    SpeechEndpointCreate,
    SpeechEndpointUpdate,
    VoiceEndpointCreate,
)
from azure_speech_operator.simulator.app import RunningSimulator, run_simulator
from azure_speech_operator.simulator.config import RateLimit, ResourceConfig, SimulatorConfig
from azure_speech_operator.simulator.seed import (
    BASE_EN_US_CURRENT,
    CUSTOM_EN_US_DEPLOYABLE,
    PROJECT_EN_US,
    VOICE_MODEL,
    VOICE_PROJECT,
)

from .helpers import CANARY

KEY = ApiKey(key=CANARY)
SIM_SETTINGS = ClientSettings(allowed_hosts=("127.0.0.1",), allow_http=True, read_timeout_s=15.0)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(time_scale=0.001, timeout_seconds=5.0, slow_seconds=0.05)
    async with run_simulator(config) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[AzureClient]:
    async with AzureClient(SIM_SETTINGS) as azure:
        yield azure


async def _control(sim: RunningSimulator, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=sim.url) as http:
        response = await http.request(method, f"/_sim{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None


async def _until(read: Any, status: str) -> Any:
    """Polls (the simulator runs at 1/1000 of Azure's durations) until the entity reaches `status`."""
    for _ in range(400):
        entity = await read()
        if entity.status == status:
            return entity
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {status}: {entity.status}")


def _create(marker: str, **extra: Any) -> SpeechEndpointCreate:
    return SpeechEndpointCreate(
        display_name="call center",
        locale="en-US",
        model=ModelRef(id=BASE_EN_US_CURRENT, kind="base"),
        custom_properties={MARKER_KEY: marker},
        **extra,
    )


@pytest.mark.parametrize("version", ["v3.2", "2024-11-15", "2025-10-15"])
async def test_speech_lifecycle(sim: RunningSimulator, client: AzureClient, version: str) -> None:
    speech = client.speech(AzureTarget(base_url=sim.url, api_version=version), KEY)
    extra = {} if version == "2024-11-15" else {"project_id": PROJECT_EN_US}
    created = await speech.create(_create("uid-a", **extra))
    assert created.status in ("NotStarted", "Running", "Succeeded")
    assert created.self_url.startswith(sim.url)
    assert created.custom_properties[MARKER_KEY] == "uid-a"

    got = await speech.get(created.id)
    assert got.id == created.id and got.model == ModelRef(id=BASE_EN_US_CURRENT, kind="base")
    assert (got.project_id == PROJECT_EN_US) == (version != "2024-11-15")

    await _until(lambda: speech.get(created.id), "Succeeded")
    updated = await speech.update(
        created.id,
        SpeechEndpointUpdate(
            display_name="renamed", model=ModelRef(id=CUSTOM_EN_US_DEPLOYABLE, kind="custom")
        ),
    )
    assert updated.display_name == "renamed"
    assert updated.model == ModelRef(id=CUSTOM_EN_US_DEPLOYABLE, kind="custom")

    listed = [e.id async for e in speech.list()]
    assert created.id in listed
    found = await speech.find_by_marker(MARKER_KEY, "uid-a", locale="en-US")
    assert found is not None and found.id == created.id
    assert await speech.find_by_marker(MARKER_KEY, "uid-nobody") is None

    base = await speech.get_model(ModelRef(id=BASE_EN_US_CURRENT, kind="base"))
    custom = await speech.get_model(ModelRef(id=CUSTOM_EN_US_DEPLOYABLE, kind="custom"))
    assert base.transcription_deprecation is not None and base.kind == "base"
    assert custom.transcription_deprecation is not None and custom.supports_endpoints
    if version != "2024-11-15":
        project = await speech.get_project(PROJECT_EN_US)
        assert project.id == PROJECT_EN_US and project.locale == "en-US"

    assert await speech.delete(created.id) is True
    assert await speech.delete(created.id) is False
    with pytest.raises(AzureError) as info:
        await speech.get(created.id)
    assert info.value.error_class is ErrorClass.NOT_FOUND


async def test_speech_validation_errors_are_fatal(sim: RunningSimulator, client: AzureClient) -> None:
    speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
    bad = SpeechEndpointCreate(
        display_name="x", locale="de-DE", model=ModelRef(id=BASE_EN_US_CURRENT, kind="base")
    )
    with pytest.raises(AzureError) as info:
        await speech.create(bad)
    assert info.value.status == 400 and info.value.error_class is ErrorClass.FATAL


async def test_content_logs_v32(sim: RunningSimulator, client: AzureClient, tmp_path: Path) -> None:
    speech = client.speech(AzureTarget(base_url=sim.url, api_version="v3.2"), KEY)
    created = await speech.create(_create("uid-logs", logging_enabled=True))
    files = [f async for f in speech.list_logs(created.id)]
    for file in files:
        assert file.content_url is not None
        size = await speech.download_log(file, tmp_path / file.name)
        assert (tmp_path / file.name).stat().st_size == size
    assert "sig=" not in repr(files)


@pytest.mark.parametrize(
    ("kind", "status", "reason", "unknown"),
    [
        ("429", 429, "TooManyRequests", False),
        ("500", 500, None, True),
        ("502", 502, None, True),
        ("503", 503, None, True),
        ("reset", None, "ConnectionFailed", True),
        ("malformed", 201, "InvalidResponse", True),
    ],
)
async def test_faults_are_classified(
    sim: RunningSimulator,
    client: AzureClient,
    kind: str,
    status: int | None,
    reason: str | None,
    unknown: bool,
) -> None:
    speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
    phase = "after" if kind in ("reset", "malformed") else "before"
    await _control(sim, "POST", "/faults", {"operation": "Endpoints_Create", "kind": kind, "phase": phase})
    with pytest.raises(AzureError) as info:
        await speech.create(_create(f"uid-{kind}"))
    error = info.value
    assert error.error_class is ErrorClass.TRANSIENT
    assert error.status == status
    assert reason is None or error.reason == reason
    assert error.outcome_unknown is unknown
    if kind == "429":
        assert error.retry_after is not None and error.retry_after >= 1
    # Whenever the outcome is unknown the marker tells what happened: created (fault after) or not (before).
    found = await speech.find_by_marker(MARKER_KEY, f"uid-{kind}")
    assert (found is not None) == (phase == "after")


async def test_a_timeout_after_sending_leaves_the_outcome_unknown(sim: RunningSimulator) -> None:
    settings = SIM_SETTINGS.model_copy(update={"read_timeout_s": 0.3})
    async with AzureClient(settings) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="v3.2"), KEY)
        await _control(sim, "POST", "/faults", {"operation": "Endpoints_Create", "kind": "timeout"})
        with pytest.raises(AzureError) as info:
            await speech.create(_create("uid-timeout"))
    assert info.value.reason == "Timeout" and info.value.outcome_unknown
    assert info.value.error_class is ErrorClass.TRANSIENT


@pytest.mark.parametrize("version", ["2026-01-01", "2024-02-01-preview"])
async def test_voice_lifecycle(sim: RunningSimulator, client: AzureClient, version: str) -> None:
    voice = client.voice(AzureTarget(base_url=sim.url, api_version=version), KEY)
    endpoint_id = str(uuid.uuid4())
    body = VoiceEndpointCreate(
        display_name="Jessica", project_id=VOICE_PROJECT, model_id=VOICE_MODEL, kind="HighPerformance"
    )
    endpoint, operation = await voice.create(endpoint_id, body, "create-op-1")
    assert endpoint.id == endpoint_id and operation.id == "create-op-1"
    assert operation.location and operation.location.startswith(
        sim.url + "/customvoice/operations/create-op-1"
    )
    again, same = await voice.create(endpoint_id, body, "create-op-1")  # idempotent: GET finds it
    assert again.id == endpoint_id and same.id == "create-op-1"

    for _ in range(200):
        if (await voice.get_operation("create-op-1")).status == "Succeeded":
            break
        await asyncio.sleep(0.02)
    assert (await voice.get(endpoint_id)).status == "Succeeded"

    suspended, op = await voice.suspend(endpoint_id, "suspend-op-1")
    assert suspended.status in ("Disabling", "Disabled") and op is not None
    for _ in range(200):
        if (await voice.get(endpoint_id)).status == "Disabled":
            break
        await asyncio.sleep(0.02)
    resumed, _ = await voice.resume(endpoint_id, "resume-op-1")
    assert resumed.status in ("Running", "Succeeded")

    assert endpoint_id in [e.id async for e in voice.list()]
    assert await voice.delete(endpoint_id) is True
    assert await voice.delete(endpoint_id) is False


async def test_voice_v3_get_suspend_resume(sim: RunningSimulator, client: AzureClient) -> None:
    new = client.voice(AzureTarget(base_url=sim.url, api_version="2026-01-01"), KEY)
    endpoint_id = str(uuid.uuid4())
    await new.create(
        endpoint_id, VoiceEndpointCreate(project_id=VOICE_PROJECT, model_id=VOICE_MODEL), "op-v3"
    )
    for _ in range(200):
        if (await new.get(endpoint_id)).status == "Succeeded":
            break
        await asyncio.sleep(0.02)
    old = client.voice(AzureTarget(base_url=sim.url, api_version="v3.0"), KEY)
    assert (await old.get(endpoint_id)).status == "Succeeded"
    suspended, operation = await old.suspend(endpoint_id, "unused")
    assert operation is None and suspended.status in ("Disabling", "Disabled")
    for _ in range(200):
        if (await old.get(endpoint_id)).status == "Disabled":
            break
        await asyncio.sleep(0.02)
    resumed, _ = await old.resume(endpoint_id, "unused")
    assert resumed.status in ("Running", "Succeeded")
    with pytest.raises(AzureError) as info:
        await old.delete(endpoint_id)
    assert info.value.reason == "NotSupportedByApiVersion"


async def test_a_burst_stays_under_the_budget_with_zero_429s() -> None:
    """The issue's "done when": 300 concurrent calls, budget 20 per 0.5 s (40/s), against a simulator that
    allows 24 per 0.5 s. Real time, about 7 seconds."""
    config = SimulatorConfig(rate_limit=RateLimit(requests=24, seconds=0.5))
    settings = SIM_SETTINGS.model_copy(
        update={"budget_requests": 20, "budget_window_s": 0.5, "read_timeout_s": 10}
    )
    async with run_simulator(config) as sim, AzureClient(settings) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
        created = await speech.create(_create("uid-burst"))
        await _control(sim, "POST", "/requests/reset")
        started = time.monotonic()
        results = await asyncio.gather(*(speech.get(created.id) for _ in range(300)), return_exceptions=True)
        elapsed = time.monotonic() - started
        log = await _control(sim, "GET", "/requests")
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    outcomes = log["operations"]["Endpoints_Get"]
    assert outcomes == {"200": 300}, outcomes
    assert elapsed >= (300 / 20 - 1) * 0.5 * 0.95  # the budget, not the simulator, paced the burst


async def test_voice_errors_in_the_wrapped_shape(sim: RunningSimulator, client: AzureClient) -> None:
    voice = client.voice(AzureTarget(base_url=sim.url, api_version="2026-01-01"), KEY)
    with pytest.raises(AzureError) as info:
        await voice.get(str(uuid.uuid4()))
    assert info.value.error_class is ErrorClass.NOT_FOUND and info.value.status == 404
    await _control(sim, "POST", "/faults", {"operation": "CustomVoice.Endpoints_Get", "kind": "503"})
    with pytest.raises(AzureError) as info:
        await voice.get(str(uuid.uuid4()))
    assert info.value.status == 503 and info.value.error_class is ErrorClass.TRANSIENT
    assert info.value.code  # read from the wrapped {"error": {...}} body or x-ms-error-code


async def test_the_simulators_429_pauses_the_limiter() -> None:
    """A budget larger than the simulator's limit: the 429 that follows pauses every caller of that
    (host, credential) for its Retry-After, and the next call then succeeds without another 429."""
    config = SimulatorConfig(rate_limit=RateLimit(requests=3, seconds=1.0), time_scale=0.001)
    async with run_simulator(config) as sim, AzureClient(SIM_SETTINGS) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
        # a delete of an endpoint that does not exist (False): a base model's answer would be shared, not
        # read again (Session.shared_read), and a read of a missing endpoint raises NotFound
        endpoint_id = "0f0e0d0c-0b0a-4909-8807-060504030201"
        throttled = None
        for _ in range(50):  # 4 calls unless the machine is so slow that 3 calls take a second
            try:
                await speech.delete(endpoint_id)
            except AzureError as exc:
                throttled = exc
                break
        assert throttled is not None and throttled.status == 429 and throttled.retry_after
        started = time.monotonic()
        assert await speech.delete(endpoint_id) is False
        assert time.monotonic() - started >= throttled.retry_after * 0.9
        log = await _control(sim, "GET", "/requests")
    assert log["operations"]["Endpoints_Delete"]["429"] == 1


REGIONAL_HOST = "westus.api.cognitive.microsoft.com"


@pytest.fixture
async def regional_sim() -> AsyncIterator[RunningSimulator]:
    """The custom-domain quirk: every URL the simulator returns names a regional host. Keys are checked."""
    config = SimulatorConfig(
        resources=(ResourceConfig(keys=(CANARY,), deployment_quota=200),),
        regional_host=REGIONAL_HOST,
        rate_limit=RateLimit(requests=0),
        time_scale=0.001,
    )
    async with run_simulator(config) as running:
        yield running


async def test_every_returned_url_is_rebased_onto_the_configured_host(regional_sim: RunningSimulator) -> None:
    """self, @nextLink, nextLink, Operation-Location and the v3.0 Location all come back naming
    westus.api.cognitive.microsoft.com; the client moves each onto the host it was configured with."""
    sim = regional_sim
    settings = SIM_SETTINGS.model_copy(update={"budget_requests": 10_000})
    async with AzureClient(settings) as client:
        speech = client.speech(AzureTarget(base_url=sim.url, api_version="2025-10-15"), KEY)
        created = [await speech.create(_create(f"uid-page-{i}")) for i in range(101)]  # a page is 100
        assert all(e.self_url.startswith(sim.url + "/speechtotext/endpoints/") for e in created)
        listed = [e.id async for e in speech.list()]  # the second page comes from a re-based @nextLink
        assert {e.id for e in created} <= set(listed)
        found = await speech.find_by_marker(MARKER_KEY, "uid-page-100")
        assert found is not None and found.id == created[-1].id

        voice = client.voice(AzureTarget(base_url=sim.url, api_version="2026-01-01"), KEY)
        endpoint_id = str(uuid.uuid4())
        body = VoiceEndpointCreate(project_id=VOICE_PROJECT, model_id=VOICE_MODEL)
        _, operation = await voice.create(endpoint_id, body, "regional-op")
        assert operation.location == f"{sim.url}/customvoice/operations/regional-op?api-version=2026-01-01"
        assert (await voice.get_operation("regional-op")).id == "regional-op"
        assert endpoint_id in [e.id async for e in voice.list()]
        await _until(lambda: voice.get(endpoint_id), "Succeeded")

        old = client.voice(AzureTarget(base_url=sim.url, api_version="v3.0"), KEY)
        suspended, _ = await old.suspend(endpoint_id, "unused")  # read back from the re-based Location
        assert suspended.id == endpoint_id and suspended.status in ("Disabling", "Disabled")
        assert suspended.retry_after is not None
        log = await _control(sim, "GET", "/requests")
    assert log["operations"]["TextToSpeechV3.Endpoints_Get"] == {"200": 1}


@pytest.mark.parametrize("version", ["2025-10-15", "2026-01-01"])
async def test_a_wrong_key_is_unauthorized(regional_sim: RunningSimulator, version: str) -> None:
    """The simulator answers like the gateway, `{"error": {"code": "401"}}`: the reason is the status name."""
    wrong = ApiKey(key="wrong-" + CANARY)
    target = AzureTarget(base_url=regional_sim.url, api_version=version)
    async with AzureClient(SIM_SETTINGS) as client:
        with pytest.raises(AzureError) as info:
            if version == "2026-01-01":
                await client.voice(target, wrong).get(str(uuid.uuid4()))
            else:
                await client.speech(target, wrong).get(str(uuid.uuid4()))
    error = info.value
    assert (error.status, error.reason, error.error_class) == (401, "Unauthorized", ErrorClass.BLOCKED)
    assert CANARY not in f"{error} {error!r}"
