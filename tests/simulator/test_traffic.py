"""Auth, rate limits, injected faults (scripted and random), the request log and the control API."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.config import RateLimit, ResourceConfig
from azure_speech_operator.simulator.state import FakeClock
from azure_speech_operator.simulator.traffic import RateLimiter

from .conftest import KEY2, Harness, HarnessFactory, sim_config

V = "2025-10-15"
P = {"api-version": V}
CREATE = {
    "displayName": "ep",
    "locale": "en-US",
    "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
}


async def test_auth_rejects_wrong_and_missing_keys(h: Harness) -> None:
    for headers in ({"Ocp-Apim-Subscription-Key": "wrong"}, {"Ocp-Apim-Subscription-Key": ""}):
        r = await h.client.get("/speechtotext/endpoints", params=P, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "401"
        assert "invalid subscription key" in r.json()["error"]["message"]
    r = await h.client.get(
        "/customvoice/endpoints",
        params={"api-version": "2026-01-01"},
        headers={"Ocp-Apim-Subscription-Key": "x"},
    )
    assert r.status_code == 401
    # The second key of the resource works too.
    r = await h.client.get("/speechtotext/endpoints", params=P, headers={"Ocp-Apim-Subscription-Key": KEY2})
    assert r.status_code == 200


async def test_any_key_when_none_configured_and_bearer_tokens(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(resources=(ResourceConfig(),)), key="whatever") as h:
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200
        r = await h.client.get("/speechtotext/endpoints", params=P, headers={"Ocp-Apim-Subscription-Key": ""})
        assert r.status_code == 401
    config = sim_config(resources=(ResourceConfig(keys=("k",), bearer_tokens=("tok",)),))
    async with make_harness(config, key="") as h:
        r = await h.client.get("/speechtotext/endpoints", params=P, headers={"Authorization": "Bearer tok"})
        assert r.status_code == 200
        r = await h.client.get("/speechtotext/endpoints", params=P, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401


async def test_rate_limit_per_resource_sliding_window(make_harness: HarnessFactory) -> None:
    now = [1000.0]
    config = sim_config(
        resources=(ResourceConfig(name="a", keys=("ka",)), ResourceConfig(name="b", keys=("kb",))),
        rate_limit=RateLimit(requests=3, seconds=10),
    )
    async with make_harness(config, key="ka", monotonic=lambda: now[0]) as h:
        for _ in range(3):
            assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200
            now[0] += 1
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert r.status_code == 429
        assert r.json()["code"] == "TooManyRequests"
        assert r.headers["Retry-After"] == "7"  # the oldest (t=1000) leaves at t=1010
        # The other resource has its own window.
        r = await h.client.get(
            "/speechtotext/endpoints", params=P, headers={"Ocp-Apim-Subscription-Key": "kb"}
        )
        assert r.status_code == 200
        now[0] += 7.5  # the first request leaves the window
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 429
        counts = (await h.client.get("/_sim/requests")).json()
        assert counts["operations"]["Endpoints_List"] == {"200": 5, "429": 2}
        assert counts["resources"]["a"]["Endpoints_List"] == {"200": 4, "429": 2}
        # The control API can turn it off.
        r = await h.client.patch("/_sim/config", json={"rateLimit": "0"})
        assert r.json()["rateLimit"] == "0"
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200


async def test_voice_rate_limit_error_is_wrapped(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(rate_limit=RateLimit(requests=1, seconds=60))) as h:
        await h.client.get("/customvoice/endpoints", params={"api-version": "2026-01-01"})
        r = await h.client.get("/customvoice/endpoints", params={"api-version": "2026-01-01"})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "TooManyRequests"
        assert r.headers["x-ms-error-code"] == "TooManyRequests"
        assert int(r.headers["Retry-After"]) >= 1


async def test_scripted_fault_after_create_takes_effect(h: Harness) -> None:
    r = await h.client.post(
        "/_sim/faults", json={"operation": "Endpoints_Create", "kind": "reset", "phase": "after"}
    )
    assert r.status_code == 201
    with pytest.raises(httpx.TransportError):
        await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
    listed = (await h.client.get("/speechtotext/endpoints", params=P)).json()["values"]
    assert len(listed) == 1  # the create happened although the answer was lost
    counts = (await h.client.get("/_sim/requests")).json()
    assert counts["operations"]["Endpoints_Create"] == {"reset": 1}
    assert counts["faults"] == {"reset": 1}
    # The rule was used up.
    assert (await h.client.get("/_sim/faults")).json() == {"faults": []}


async def test_scripted_fault_before_does_not_take_effect(h: Harness) -> None:
    await h.client.post("/_sim/faults", json={"operation": "Endpoints_Create", "kind": "503", "count": 2})
    for _ in range(2):
        r = await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
        assert r.status_code == 503
        assert r.json()["code"] == "ServiceUnavailable"
        assert "Retry-After" in r.headers
    assert (await h.client.get("/speechtotext/endpoints", params=P)).json()["values"] == []
    assert (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).status_code == 201


async def test_next_n_requests_get_429_and_clear(h: Harness) -> None:
    await h.client.post("/_sim/faults", json={"kind": "429", "count": 20})
    statuses = [(await h.client.get("/speechtotext/endpoints", params=P)).status_code for _ in range(3)]
    assert statuses == [429, 429, 429]
    assert (await h.client.delete("/_sim/faults")).status_code == 204
    assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200


async def test_status_faults_use_family_shape(h: Harness) -> None:
    await h.client.post("/_sim/faults", json={"kind": "500", "operation": "CustomVoice.Endpoints_List"})
    r = await h.client.get("/customvoice/endpoints", params={"api-version": "2026-01-01"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "InternalServerError"
    assert r.headers["x-simulator-fault"] == "500"


async def test_502_is_a_gateway_page(h: Harness) -> None:
    await h.client.post("/_sim/faults", json={"kind": "502"})
    r = await h.client.get("/speechtotext/endpoints", params=P)
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in r.text


async def test_malformed_and_slow_faults(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(slow_seconds=0.05)) as h:
        await h.client.post("/_sim/faults", json=[{"kind": "malformed"}, {"kind": "slow"}])
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert r.status_code == 200 and r.json() == {"values": []}


async def test_timeout_fault(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(timeout_seconds=5)) as h:
        await h.client.post("/_sim/faults", json={"kind": "timeout"})
        with pytest.raises(httpx.ReadTimeout):
            await h.client.get("/speechtotext/endpoints", params=P, timeout=0.2)


async def test_faults_matching_resource_and_endpoint(h: Harness) -> None:
    a = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()["self"]
    b = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()["self"]
    b_id = b.split("?")[0].rsplit("/", 1)[1]
    await h.client.post("/_sim/faults", json={"kind": "500", "endpointId": b_id, "resource": "default"})
    await h.client.post("/_sim/faults", json={"kind": "503", "endpoint_id": b_id})  # snake_case works too
    assert (await h.client.get(a)).status_code == 200
    assert (await h.client.get(b)).status_code == 500
    assert (await h.client.get(a)).status_code == 200
    assert (await h.client.get(b)).status_code == 503
    r = await h.client.post("/_sim/faults", json={"kind": "teapot"})
    assert r.status_code == 400


async def _random_run(make_harness: HarnessFactory, seed: int) -> list[Any]:
    config = sim_config(fault_rate=0.3, fault_kinds=("429", "500", "503", "malformed"), seed=seed)
    async with make_harness(config) as h:
        out = []
        for _ in range(40):
            r = await h.client.get("/speechtotext/endpoints", params=P)
            out.append(
                r.status_code if r.status_code != 200 or r.content.startswith(b'{"values"') else "malformed"
            )
        counts = (await h.client.get("/_sim/requests")).json()
        assert counts["total"] == 40
        return out


async def test_random_faults_replay_exactly(make_harness: HarnessFactory) -> None:
    first = await _random_run(make_harness, 11)
    second = await _random_run(make_harness, 11)
    other = await _random_run(make_harness, 12)
    assert first == second
    assert first != other
    faulted = [s for s in first if s != 200]
    assert 4 <= len(faulted) <= 24


async def test_requests_reset_and_unknown_paths(h: Harness) -> None:
    await h.client.get("/speechtotext/endpoints", params=P)
    r = await h.client.get("/speechtotext/nothing-here", params=P)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    counts = (await h.client.get("/_sim/requests")).json()
    assert counts["total"] == 2 and counts["operations"]["Unknown"] == {"404": 1}
    r = await h.client.post("/_sim/requests/reset")
    assert r.json()["total"] == 0


async def test_config_patch(h: Harness) -> None:
    r = await h.client.patch(
        "/_sim/config",
        json={"timeScale": 0.01, "durations": {"speech_deploy": 100}, "deployFailureProbability": 1.0},
    )
    assert r.status_code == 200, r.text
    assert r.json()["timeScale"] == 0.01
    assert r.json()["durations"]["speech_deploy"] == 100
    created = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()
    h.advance(1.31)
    assert (await h.client.get(created["self"])).json()["status"] == "Failed"
    assert (await h.client.patch("/_sim/config", json={"timeScale": -1})).status_code == 400
    r = await h.client.patch(
        "/_sim/config", json={"time_scale": 2, "deploy_failure_rate": 0, "rate_limit": "5/1"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["timeScale"], r.json()["deployFailureProbability"], r.json()["rateLimit"]) == (
        2,
        0,
        "5/1",
    )
    assert (await h.client.patch("/_sim/config", json={"bogus": 1})).status_code == 400


async def test_clock_endpoint_refuses_injected_clock(h: Harness) -> None:
    r = await h.client.post("/_sim/clock", json={"advance": 10})
    assert r.status_code == 400


async def test_state_file_round_trip(make_harness: HarnessFactory, tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    eid = str(uuid.uuid4())
    async with make_harness(sim_config(state_file=state)) as h:
        created = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()
        r = await h.client.put(
            f"/customvoice/endpoints/{eid}",
            params={"api-version": "2026-01-01"},
            json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
        )
        assert r.status_code == 201
    assert state.exists()
    async with make_harness(sim_config(state_file=state)) as h:
        r = await h.client.get(httpx.URL(created["self"]).copy_with(scheme=None, host=None, port=None))
        assert r.status_code == 200
        assert r.json()["displayName"] == "ep"
        r = await h.client.get(f"/customvoice/endpoints/{eid}", params={"api-version": "2026-01-01"})
        assert r.status_code == 200


async def _endpoint_outcomes(make_harness: HarnessFactory, interleave: bool) -> list[int]:
    """Statuses of 30 GETs of one endpoint under random faults, with or without traffic on another."""
    async with make_harness(sim_config(fault_kinds=("500", "503"), seed=5)) as h:
        a = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()["self"]
        b = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()["self"]
        await h.client.patch("/_sim/config", json={"faultRate": 0.4})
        out = []
        for _ in range(30):
            if interleave:
                await h.client.get(a)
            out.append((await h.client.get(b)).status_code)
        return out


async def test_random_faults_count_per_endpoint(make_harness: HarnessFactory) -> None:
    # Requests to one endpoint do not shift the faults another endpoint sees: the counter is per endpoint.
    alone = await _endpoint_outcomes(make_harness, interleave=False)
    crowded = await _endpoint_outcomes(make_harness, interleave=True)
    assert alone == crowded
    assert {200, 500} <= set(alone) or {200, 503} <= set(alone)


async def _lossy_creates(make_harness: HarnessFactory) -> tuple[int, list[str]]:
    async with make_harness(sim_config(fault_rate=1.0, fault_kinds=("reset",), seed=3)) as h:
        for _ in range(12):
            with pytest.raises(httpx.TransportError):
                await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
        for _ in range(4):  # a read is never answered late: nothing to lose
            with pytest.raises(httpx.TransportError):
                await h.client.get("/speechtotext/endpoints", params=P)
        await h.client.patch("/_sim/config", json={"faultRate": 0})
        created = (await h.client.get("/speechtotext/endpoints", params=P)).json()["values"]
        return len(created), [e["self"].split("?")[0].rsplit("/", 1)[1] for e in created]


async def test_random_faults_on_writes_sometimes_strike_after_the_effect(
    make_harness: HarnessFactory,
) -> None:
    count, selfs = await _lossy_creates(make_harness)
    assert 0 < count < 12  # some creates happened although every answer was lost, some did not
    assert await _lossy_creates(make_harness) == (count, selfs)  # and a rerun loses the same ones


async def test_a_resource_can_have_its_own_rate_limit(make_harness: HarnessFactory) -> None:
    config = sim_config(
        resources=(
            ResourceConfig(name="a", keys=("ka",), rate_limit=RateLimit(requests=1, seconds=60)),
            ResourceConfig(name="b", keys=("kb",)),
        ),
        rate_limit=RateLimit(requests=0),
    )
    async with make_harness(config, key="ka") as h:
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 429
        b = {"Ocp-Apim-Subscription-Key": "kb"}
        for _ in range(3):  # the simulator-wide limit (off) applies to b
            assert (await h.client.get("/speechtotext/endpoints", params=P, headers=b)).status_code == 200


async def test_state_file_keeps_in_flight_deployments_progressing(
    make_harness: HarnessFactory, tmp_path: Any
) -> None:
    # Statuses are stored as start times on the wall clock, so the time the simulator was down counts.
    state, clock = tmp_path / "state.json", FakeClock()
    voice = f"/customvoice/endpoints/{uuid.uuid4()}"
    vp = {"api-version": "2026-01-01"}
    async with make_harness(sim_config(state_file=state), clock=clock) as h:
        speech = (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).json()["self"]
        body = {"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL}
        assert (await h.client.put(voice, params=vp, json=body)).status_code == 201
        h.advance(5)
        assert (await h.client.get(speech)).json()["status"] == "NotStarted"
    speech = httpx.URL(speech).copy_with(scheme=None, host=None, port=None)
    clock.advance(60)  # down for a minute: the speech queue (30 s) and the voice queue (10 s) are over
    async with make_harness(sim_config(state_file=state), clock=clock) as h:
        assert (await h.client.get(speech)).json()["status"] == "Running"
        assert (await h.client.get(voice, params=vp)).json()["status"] == "Running"
    clock.advance(400)
    async with make_harness(sim_config(state_file=state), clock=clock) as h:
        assert (await h.client.get(speech)).json()["status"] == "Succeeded"
        assert (await h.client.get(voice, params=vp)).json()["status"] == "Succeeded"


async def test_rate_limit_stays_in_real_seconds_whatever_the_time_scale(make_harness: HarnessFactory) -> None:
    now = [0.0]
    config = sim_config(time_scale=0.001, rate_limit=RateLimit(requests=1, seconds=10))
    async with make_harness(config, monotonic=lambda: now[0]) as h:
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200
        h.advance(3600)  # an hour of simulated time is not a second of real time
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert r.status_code == 429 and r.headers["Retry-After"] == "10"
        now[0] += 10
        assert (await h.client.get("/speechtotext/endpoints", params=P)).status_code == 200


async def test_state_file_written_once_after_a_burst_of_writes(
    make_harness: HarnessFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.json"
    async with make_harness(sim_config(state_file=state)) as h:
        world = h.sim.world
        saves: list[int] = []
        saved = asyncio.Event()
        real_save = world.save

        def counting_save(path: Any) -> None:
            saves.append(len(world.resources["default"].speech_endpoints))
            real_save(path)
            saved.set()

        monkeypatch.setattr(world, "save", counting_save)
        for _ in range(10):
            assert (await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)).status_code == 201
        await asyncio.wait_for(saved.wait(), 10)
        assert saves == [10]  # one write for the burst, with everything in it
        assert len(json.loads(state.read_text())["resources"]["default"]["speech_endpoints"]) == 10


def _admitted_exactly_after_reported_wait(first: float, later: float, seconds: float) -> bool:
    """One request at `first` fills a 1-per-`seconds` window; the one at `later` is told to wait; does a
    request at `later + wait` (the limiter's own clock and units) pass?"""
    now = [first]
    limiter = RateLimiter(lambda: now[0])
    limit = RateLimit(requests=1, seconds=seconds)
    assert limiter.check("r", limit) is None
    now[0] = later
    wait = limiter.check("r", limit)
    assert wait is not None and wait > 0, (first, later, seconds)
    now[0] = later + wait
    return limiter.check("r", limit) is None


@pytest.mark.parametrize(
    ("first", "later", "seconds"),
    [
        # The first four were refused on return by the old pair of expressions (expire on `w0 <= now - s`,
        # report `w0 + s - now`), since `now + wait - s` rounds below `w0` there; the large-clock ones guard
        # the ulp-sized gaps a long-running monotonic clock has.
        (3.7961522332372777, 3.899397778688936, 1.1),
        (5.875806061435594, 7.991299607506376, 2.5),
        (1.6859429703830597, 2.7662272716754472, 1.1),
        (19 * 0.1, 19 * 0.1 + 0.01, 0.1),
        (1e9 + 0.1, 1e9 + 0.15, 0.1),
        (1e9 + 0.3, 1e9 + 0.35, 0.1),
    ],
)
def test_rate_limiter_admits_a_request_exactly_after_the_reported_wait(
    first: float, later: float, seconds: float
) -> None:
    assert _admitted_exactly_after_reported_wait(first, later, seconds)


def test_rate_limiter_reported_wait_is_never_early_across_clock_values() -> None:
    # A sweep over values where float rounding bites: small windows and large monotonic clocks.
    for base in (0.0, 1e3, 1e6, 1e9):
        for seconds in (0.1, 0.3, 0.7, 1.1, 2.5, 60.0):
            for step in range(1, 40):
                first = base + step * 0.1
                later = first + seconds * step / 41
                assert _admitted_exactly_after_reported_wait(first, later, seconds), (base, seconds, step)


async def test_a_configured_bearer_token_is_the_only_token_accepted(make_harness: HarnessFactory) -> None:
    # Without keys any key is still accepted (docs: `--keys` none), but tokens must be the configured ones.
    config = sim_config(resources=(ResourceConfig(bearer_tokens=("tok",)),))
    async with make_harness(config, key="") as h:
        for token, status in (("tok", 200), ("nope", 401)):
            headers = {"Authorization": f"Bearer {token}"}
            r = await h.client.get("/speechtotext/endpoints", params=P, headers=headers)
            assert r.status_code == status, token
        any_key = {"Ocp-Apim-Subscription-Key": "k"}
        assert (await h.client.get("/speechtotext/endpoints", params=P, headers=any_key)).status_code == 200
    async with make_harness(sim_config(resources=(ResourceConfig(),)), key="") as h:
        r = await h.client.get("/speechtotext/endpoints", params=P, headers={"Authorization": "Bearer any"})
        assert r.status_code == 200  # nothing configured at all: any token too


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/speechtotext/endpoints", {"api-version": "2023-01-01"}),
        ("/speechtotext/endpoints", {}),
        ("/speechtotext/v3.1/endpoints", {}),
        ("/customvoice/endpoints", {"api-version": "2023-12-01-preview"}),
        ("/customvoice/endpoints", {}),
    ],
)
async def test_a_bad_key_is_refused_before_the_api_version_is_looked_at(
    h: Harness, path: str, params: dict[str, str]
) -> None:
    r = await h.client.get(path, params=params, headers={"Ocp-Apim-Subscription-Key": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "401"
    r = await h.client.get(path, params=params)
    assert r.status_code == 400  # the right key: then the version is refused


async def test_a_bad_key_on_custom_voice_2026_01_01_keeps_its_error_code_header(h: Harness) -> None:
    r = await h.client.get(
        "/customvoice/endpoints",
        params={"api-version": "2026-01-01"},
        headers={"Ocp-Apim-Subscription-Key": "wrong"},
    )
    assert r.status_code == 401 and r.headers["x-ms-error-code"] == "401"
