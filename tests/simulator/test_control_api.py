"""The control API (/_sim/...): what each route accepts and refuses; its changes reach the state file."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure_speech_operator.simulator import app as sim_app
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.app import RunningSimulator, run_simulator
from azure_speech_operator.simulator.config import SimulatorConfig

from .conftest import KEY, Harness, HarnessFactory, ipv6_loopback, sim_config

P = {"api-version": "2025-10-15"}
CREATE = {
    "displayName": "ep",
    "locale": "en-US",
    "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
}


async def _patch(h: Harness, body: Any) -> httpx.Response:
    return await h.client.patch("/_sim/config", json=body)


async def _raw(client: httpx.AsyncClient, method: str, path: str, text: str) -> httpx.Response:
    """A body sent as written: JSON numbers like 1e400 or NaN that json.dumps never writes."""
    return await client.request(method, path, content=text, headers={"Content-Type": "application/json"})


async def _create(client: httpx.AsyncClient, **kwargs: Any) -> str:
    r = await client.post("/speechtotext/endpoints", params=P, json=CREATE, **kwargs)
    assert r.status_code == 201, r.text
    return httpx.URL(r.json()["self"]).path.rsplit("/", 1)[1]


def _error(r: httpx.Response) -> str:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.text
    return str(r.json()["error"])


# -- PATCH /_sim/config: every documented spelling, nothing unknown ----------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "field", "shown"),
    [
        ("timeScale", 0.5, "timeScale", 0.5),
        ("time_scale", 0.5, "timeScale", 0.5),
        ("time-scale", 0.5, "timeScale", 0.5),
        ("--time-scale", 0.5, "timeScale", 0.5),
        ("faultRate", 0.25, "faultRate", 0.25),
        ("fault-rate", 0.25, "faultRate", 0.25),
        ("deployFailureProbability", 0.5, "deployFailureProbability", 0.5),
        ("deploy_failure_probability", 0.5, "deployFailureProbability", 0.5),
        ("deploy_failure_rate", 0.5, "deployFailureProbability", 0.5),
        ("deploy-failure-rate", 0.5, "deployFailureProbability", 0.5),
        ("rate-limit", "5/1", "rateLimit", "5/1"),
        ("rate_limit", {"requests": 5, "seconds": 2}, "rateLimit", "5/2"),
        ("slow-seconds", 0, "slowSeconds", 0),
        ("timeout_seconds", 1, "timeoutSeconds", 1),
        ("fault-kinds", ["500"], "faultKinds", ["500"]),
        (
            "regional-host",
            "westus.api.cognitive.microsoft.com",
            "regionalHost",
            "westus.api.cognitive.microsoft.com",
        ),
        ("seed", 9, "seed", 9),
    ],
)
async def test_config_patch_takes_camel_snake_and_flag_spellings(
    h: Harness, key: str, value: Any, field: str, shown: Any
) -> None:
    r = await _patch(h, {key: value})
    assert r.status_code == 200, r.text
    assert r.json()[field] == shown


async def test_config_patch_durations_in_every_spelling(h: Harness) -> None:
    body = {
        "durations": {
            "speechDeploy": 7,
            "speech_redeploy": 8,
            "voice-deploy-seconds": 9,
            "voiceQueueSeconds": 1,
        },
        "speech-queue-seconds": 3,  # a duration flag at the top level
    }
    r = await _patch(h, body)
    assert r.status_code == 200, r.text
    durations = r.json()["durations"]
    assert (durations["speech_deploy"], durations["speech_redeploy"]) == (7, 8)
    assert (durations["voice_deploy"], durations["voice_queue"], durations["speech_queue"]) == (9, 1, 3)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"bogus": 1}, "'bogus'"),
        ({"timeScale": 0.5, "bogus": 1}, "'bogus'"),
        ({"durations": {"bogus": 1}}, "durations.bogus"),
        ({"durations": {"speechDeploy": 1, "speech-deploy-secs": 2}}, "durations.speech-deploy-secs"),
        ({"rateLimit": {"requests": 5, "window": 60}}, "rateLimit.window"),
        ({"timeScale": 1, "time_scale": 2}, "'time_scale' and 'timeScale'"),
        ({"durations": {"speechDeploy": 1}, "speech-deploy-seconds": 2}, "speech-deploy-seconds"),
    ],
)
async def test_config_patch_refuses_unknown_keys_naming_them(h: Harness, body: Any, named: str) -> None:
    before = (await h.client.get("/_sim/config")).json()
    assert named in _error(await _patch(h, body))
    assert (await h.client.get("/_sim/config")).json() == before  # nothing of it applied


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"timeScale": True}, "timeScale: must be a number, not a boolean"),
        ({"timeScale": "2"}, "timeScale: must be a number, not a string"),
        ({"seed": 1.5}, "seed: must be an integer"),
        ({"seed": True}, "seed: must be an integer"),
        ({"region": 5}, "region: must be a string"),
        ({"region": ""}, "region: region must be a region name"),
        ({"faultKinds": "500"}, "faultKinds: must be a list"),
        ({"faultKinds": ["teapot"]}, "faultKinds.0:"),
        ({"faultKinds": []}, "faultKinds: at least one fault kind is needed"),
        ({"durations": [1]}, "durations: must be an object"),
        ({"durations": {"speechDeploy": "1"}}, "durations.speechDeploy: must be a number of seconds"),
        (
            {"durations": {"speechDeploy": -1}},
            "durations.speechDeploy: Input should be greater than or equal",
        ),
        ({"rateLimit": True}, "rateLimit: must be"),
        ({"rateLimit": "lots"}, "rateLimit: rate limit must look like N/S"),
        ({"rateLimit": {"requests": 5, "seconds": 0}}, "rateLimit.seconds: Input should be greater than 0"),
        ({"faultRate": 2}, "faultRate: Input should be less than or equal to 1"),
    ],
)
async def test_config_patch_refuses_wrong_types_naming_the_key(h: Harness, body: Any, named: str) -> None:
    assert named in _error(await _patch(h, body))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"seed": 1.5}, "invalid config: seed: must be an integer, not 1.5"),
        ({"seed": "1"}, "invalid config: seed: must be an integer, not a string"),
        (
            {"rateLimit": 5},
            'invalid config: rateLimit: must be "N/S", "0" or {"requests": N, "seconds": S}, not 5',
        ),
        ({"rateLimit": 0}, None),
    ],
)
async def test_a_value_refused_for_itself_is_named_not_its_kind(
    h: Harness, body: Any, error: str | None
) -> None:
    # "seed: must be an integer, not a number" would contradict itself: the number is named instead
    answer = await _patch(h, body)
    assert (_error(answer) if error else answer.status_code) == (error or 200)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"timeScale": 1e400}', "timeScale: Input should be a finite number"),
        ('{"timeScale": NaN}', "timeScale: Input should be a finite number"),
        ('{"timeScale": 5000}', "timeScale: Input should be less than or equal to 1000"),
        (
            '{"durations": {"speechDeploy": 1e12}}',
            "durations.speechDeploy: Input should be less than or equal",
        ),
        ('{"speech-deploy-seconds": Infinity}', "speech-deploy-seconds: Input should be a finite number"),
        ('{"slowSeconds": 1e9}', "slowSeconds: Input should be less than or equal to 3600"),
        ('{"timeout-seconds": 1e400}', "timeout-seconds: Input should be a finite number"),
        ('{"faultRate": NaN}', "faultRate: Input should be a finite number"),
        ('{"rateLimit": {"requests": 1, "seconds": 1e400}}', "rateLimit.seconds: Input should be a finite"),
        ('{"rateLimit": "1/999999"}', "rateLimit: rate limit must look like N/S"),
    ],
)
async def test_config_patch_refuses_infinite_and_absurd_numbers(h: Harness, text: str, named: str) -> None:
    assert named in _error(await _raw(h.client, "PATCH", "/_sim/config", text))
    r = await h.client.get("/_sim/config")
    assert r.status_code == 200 and "Infinity" not in r.text and "NaN" not in r.text


# -- bodies that are not objects, wrong types --------------------------------------------------------------


@pytest.mark.parametrize("text", ["[1]", '"x"', "null", "5", "true", "{not json"])
@pytest.mark.parametrize(("method", "path"), [("POST", "/_sim/clock"), ("PATCH", "/_sim/config")])
async def test_control_routes_answer_a_body_that_is_not_an_object_with_a_json_400(
    h: Harness, method: str, path: str, text: str
) -> None:
    message = _error(await _raw(h.client, method, path, text))
    assert "JSON object" in message or "not JSON" in message


@pytest.mark.parametrize("text", ["[1]", '"x"', "null", "5", "{not json"])
async def test_forcing_a_failure_with_a_body_that_is_not_an_object_is_a_json_400(
    h: Harness, text: str
) -> None:
    eid = await _create(h.client)
    message = _error(await _raw(h.client, "POST", f"/_sim/endpoints/{eid}/fail", text))
    assert "JSON object" in message or "not JSON" in message
    assert (await h.client.get(f"/speechtotext/endpoints/{eid}", params=P)).json()["status"] == "NotStarted"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": 5}, "code: must be a non-empty string, not a number"),
        ({"message": None}, "message: must be a non-empty string, not null"),
        ({"code": ""}, "code: must be a non-empty string"),  # not "..., not a string"
        ({"reason": "x"}, "unknown key 'reason'; known: code, message"),
    ],
)
async def test_forcing_a_failure_refuses_wrong_fields(h: Harness, body: Any, error: str) -> None:
    eid = await _create(h.client)
    assert _error(await h.client.post(f"/_sim/endpoints/{eid}/fail", json=body)) == error
    ok = await h.client.post(f"/_sim/endpoints/{eid}/fail", json={"code": "Boom", "message": "forced"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('"x"', "a rule is a JSON object, not a string"),
        ("null", "a rule is a JSON object, not null"),
        ("[1]", "rule 1: a rule is a JSON object, not a number"),
        ('[{"kind": "500"}, {"kind": "teapot"}]', "rule 2: kind:"),
        ('{"kind": "500", "count": 0}', "count:"),
    ],
)
async def test_fault_rules_that_are_not_objects_or_wrong_are_refused(
    h: Harness, body: str, named: str
) -> None:
    assert named in _error(await _raw(h.client, "POST", "/_sim/faults", body))
    assert (await h.client.get("/_sim/faults")).json() == {"faults": []}  # all or nothing


# -- fault rules that could never fire ---------------------------------------------------------------------


async def test_a_fault_rule_for_an_operation_the_simulator_does_not_serve_is_refused(h: Harness) -> None:
    message = _error(
        await h.client.post("/_sim/faults", json={"kind": "500", "operation": "Endpoints_Suspend"})
    )
    # the voice operations carry a prefix: the message points at them
    assert "'Endpoints_Suspend'" in message
    assert "CustomVoice.Endpoints_Suspend" in message and "TextToSpeechV3.Endpoints_Suspend" in message
    message = _error(await h.client.post("/_sim/faults", json={"kind": "500", "operation": "Frobnicate"}))
    assert "known operations:" in message and "Endpoints_Create" in message
    message = _error(await h.client.post("/_sim/faults", json={"kind": "500", "operation": "Unknown"}))
    assert "'Unknown'" in message  # requests that match no operation are refused before any fault
    assert (await h.client.get("/_sim/faults")).json() == {"faults": []}
    ok = await h.client.post(
        "/_sim/faults", json={"kind": "500", "operation": "CustomVoice.Endpoints_Suspend"}
    )
    assert ok.status_code == 201


async def test_a_fault_rule_for_an_unknown_resource_is_refused(h: Harness) -> None:
    message = _error(await h.client.post("/_sim/faults", json={"kind": "500", "resource": "other"}))
    assert "unknown resource 'other'" in message and "default" in message
    assert (
        await h.client.post("/_sim/faults", json={"kind": "500", "resource": "default"})
    ).status_code == 201


# -- injected answers are marked ---------------------------------------------------------------------------


async def test_slow_fault_answers_carry_the_fault_header(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(slow_seconds=0)) as h:
        await h.client.post("/_sim/faults", json=[{"kind": "slow"}, {"kind": "slow", "phase": "after"}])
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert r.status_code == 200 and r.headers["x-simulator-fault"] == "slow"
        r = await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
        assert r.status_code == 201 and r.headers["x-simulator-fault"] == "slow"
        r = await h.client.get("/speechtotext/endpoints", params=P)
        assert "x-simulator-fault" not in r.headers  # the rules are used up: a real answer, unmarked


# -- the clock ---------------------------------------------------------------------------------------------


@pytest.fixture
async def real_clock_sim(tmp_path: Path) -> AsyncIterator[RunningSimulator]:
    """A simulator on its own clock (advanceable by POST /_sim/clock), with a state file."""
    async with run_simulator(sim_config(state_file=tmp_path / "state.json")) as sim:
        yield sim


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"advance": 1e400}', "advance: the body must be"),
        ('{"advance": NaN}', "advance: the body must be"),
        ('{"advance": -1}', "advance: the body must be"),
        ('{"advance": true}', "advance: the body must be"),
        ('{"advance": "60"}', "advance: the body must be"),
        ("{}", "advance: the body must be"),
        ('{"advance": 60, "by": 1}', "unknown key 'by'"),
        ('{"advance": 1e12}', "advance: at most"),
        ('{"advance": 10000000000000000000000000000000}', "advance: at most"),
    ],
)
async def test_clock_refuses_infinite_absurd_and_wrong_advances(
    real_clock_sim: RunningSimulator, text: str, named: str
) -> None:
    async with httpx.AsyncClient(base_url=real_clock_sim.url) as c:
        before = (await c.get("/_sim/clock")).json()["epoch"]
        assert named in _error(await _raw(c, "POST", "/_sim/clock", text))
        r = await c.get("/_sim/clock")
        assert r.status_code == 200 and r.json()["epoch"] - before < 60
        assert (await c.post("/_sim/clock", json={"advance": 3600})).status_code == 200


async def test_the_clock_cannot_be_pushed_past_its_limit_in_steps(real_clock_sim: RunningSimulator) -> None:
    year = 365 * 86400
    async with httpx.AsyncClient(base_url=real_clock_sim.url) as c:
        for _ in range(10):
            assert (await c.post("/_sim/clock", json={"advance": 10 * year})).status_code == 200
        assert "advance: at most" in _error(await c.post("/_sim/clock", json={"advance": year}))
        r = await c.get("/speechtotext/endpoints", params=P, headers={"Ocp-Apim-Subscription-Key": KEY})
        assert r.status_code == 200


# -- control changes reach the state file ------------------------------------------------------------------


def _count_saves(sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """An event set after each state file write (the writes still happen)."""
    saved = asyncio.Event()
    real_save = sim.world.save

    def save(path: Path) -> None:
        real_save(path)
        saved.set()

    monkeypatch.setattr(sim.world, "save", save)
    return saved


async def test_advancing_the_clock_is_saved_without_another_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Saved while the simulator runs (a kill -9 keeps it), not only at a clean exit.
    monkeypatch.setattr(sim_app, "SAVE_DELAY", 0.05)
    state = tmp_path / "state.json"
    async with run_simulator(sim_config(state_file=state)) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        saved = _count_saves(sim, monkeypatch)
        assert (await c.post("/_sim/clock", json={"advance": 7200})).status_code == 200
        await asyncio.wait_for(saved.wait(), 5)
        offset = json.loads(await asyncio.to_thread(state.read_text))["clockOffset"]
        assert 7200 <= offset < 7300


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/_sim/config", {"faultRate": 0.1}),
        ("POST", "/_sim/faults", {"kind": "500"}),
        ("DELETE", "/_sim/faults", None),
        ("POST", "/_sim/endpoints/{id}/fail", {}),
        ("POST", "/_sim/clock", {"advance": 5}),
    ],
)
async def test_control_changes_schedule_a_save_like_azure_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: Any
) -> None:
    monkeypatch.setattr(sim_app, "SAVE_DELAY", 0.05)
    config: SimulatorConfig = sim_config(state_file=tmp_path / "state.json")
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as c:
        saved = _count_saves(sim, monkeypatch)
        eid = await _create(c, headers={"Ocp-Apim-Subscription-Key": KEY})
        await asyncio.wait_for(saved.wait(), 5)  # the create's own save
        saved.clear()
        r = await c.request(method, path.format(id=eid), json=body)
        assert r.status_code < 300, r.text
        await asyncio.wait_for(saved.wait(), 5)  # a TimeoutError: the change scheduled no save


async def test_refused_control_calls_do_not_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_app, "SAVE_DELAY", 0.01)
    async with (
        run_simulator(sim_config(state_file=tmp_path / "s.json")) as sim,
        httpx.AsyncClient(base_url=sim.url) as c,
    ):
        assert (await c.patch("/_sim/config", json={"bogus": 1})).status_code == 400
        assert (await c.post(f"/_sim/endpoints/{uuid.uuid4()}/fail")).status_code == 404
        await asyncio.sleep(0.1)
        assert not (tmp_path / "s.json").exists()


# -- the simulator's own base URL --------------------------------------------------------------------------


@pytest.mark.skipif(not ipv6_loopback(), reason="needs IPv6 on the loopback")
async def test_an_ipv6_listen_address_is_bracketed_in_the_url() -> None:
    async with run_simulator(sim_config(), host="::1") as sim:
        assert sim.url.startswith("http://[::1]:")
        async with httpx.AsyncClient(base_url=sim.url, headers={"Ocp-Apim-Subscription-Key": KEY}) as c:
            assert (await c.get("/_sim/health")).json() == {"ok": True}
            r = await c.post("/speechtotext/endpoints", params=P, json=CREATE)
            assert r.headers["Location"].startswith(f"{sim.url}/speechtotext/endpoints/")


async def test_an_ipv6_regional_host_is_bracketed_in_links(make_harness: HarnessFactory) -> None:
    async with make_harness(sim_config(regional_host="::1")) as h:
        r = await h.client.post("/speechtotext/endpoints", params=P, json=CREATE)
        assert r.headers["Location"].startswith("https://[::1]/speechtotext/endpoints/")
        r = await h.client.put(
            f"/customvoice/endpoints/{uuid.uuid4()}",
            params={"api-version": "2026-01-01"},
            json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
        )
        assert r.headers["Operation-Location"].startswith("https://[::1]/customvoice/operations/")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/_sim/nothing", 404), ("PUT", "/_sim/config", 405), ("GET", "/_sim/endpoints/x/fail", 405)],
)
async def test_unknown_control_paths_and_methods_answer_json(
    h: Harness, method: str, path: str, status: int
) -> None:
    r = await h.client.request(method, path)
    assert r.status_code == status
    assert path in r.json()["error"]
