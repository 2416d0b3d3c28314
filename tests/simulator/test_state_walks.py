"""Random walks over the endpoint state machines, checked step by step against a reference model.

Deterministic (fixed seeds, fake clock): each step picks an action (wait, suspend, resume, PATCH, read); the
reference model says what the documented life cycle requires, and the simulator must agree on every answer.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pytest
from azure_speech_operator.simulator import seed as ids

from .conftest import Harness

V = "2026-01-01"
P = {"api-version": V}
QUEUE, DEPLOY, SUSPEND, RESUME = 10.0, 300.0, 5.0, 300.0


@dataclass
class VoiceModel:
    """Reference: (status, seconds left in it) per the documented life cycle and the default durations."""

    status: str = "NotStarted"
    left: float = QUEUE

    def advance(self, seconds: float) -> None:
        while seconds > 0 and self.left > 0:
            step = min(seconds, self.left)
            seconds -= step
            self.left -= step
            if self.left <= 1e-9:
                self.status, self.left = {
                    "NotStarted": ("Running", DEPLOY),
                    "Running": ("Succeeded", 0.0),
                    "Disabling": ("Disabled", 0.0),
                }[self.status]


@pytest.mark.parametrize("walk_seed", [1, 2, 3])
async def test_voice_walk(h: Harness, walk_seed: int) -> None:
    rng = random.Random(walk_seed)
    eid = str(uuid.uuid4())
    r = await h.client.put(
        f"/customvoice/endpoints/{eid}",
        params=P,
        json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
    )
    assert r.status_code == 201
    model = VoiceModel()
    accepted: set[str] = set()
    seen: set[str] = set()
    for step in range(120):
        action = rng.choice(["wait", "wait", "suspend", "resume", "get"])
        if action == "wait":
            seconds = rng.choice([1.0, 4.0, 9.0, 60.0, 299.0, 400.0])
            h.advance(seconds)
            model.advance(seconds)
            continue
        if action == "get":
            r = await h.client.get(f"/customvoice/endpoints/{eid}", params=P)
            assert r.json()["status"] == model.status, (step, model)
            seen.add(model.status)
            continue
        r = await h.client.post(f"/customvoice/endpoints/{eid}:{action}", params=P)
        allowed = (action == "suspend" and model.status == "Succeeded") or (
            action == "resume" and model.status == "Disabled"
        )
        assert (r.status_code == 202) == allowed, (step, action, model, r.text)
        if allowed:
            accepted.add(action)
            model.status, model.left = ("Disabling", SUSPEND) if action == "suspend" else ("Running", RESUME)
            assert r.json()["status"] == model.status
    assert accepted == {"suspend", "resume"}  # the walk went through the whole cycle
    assert {"Succeeded", "Disabled"} <= seen


@pytest.mark.parametrize("walk_seed", [4, 5, 6])
async def test_speech_walk(h: Harness, walk_seed: int) -> None:
    """Create, then random waits and model PATCHes: PATCH is refused exactly while a deployment runs, and a
    model change restarts the walk NotStarted -> Running -> Succeeded."""
    rng = random.Random(walk_seed)
    models = [ids.CUSTOM_EN_US_DEPLOYABLE, ids.CUSTOM_EN_US_DEPLOYABLE_2]
    current = 0
    r = await h.client.post(
        "/speechtotext/endpoints",
        params={"api-version": "2025-10-15"},
        json={
            "displayName": "walk",
            "locale": "en-US",
            "model": {"self": f"https://x/speechtotext/models/{models[0]}"},
        },
    )
    url = r.json()["self"]
    age = 0.0  # seconds since the current deployment started
    running = "deploy"
    outcomes: set[int] = set()
    for step in range(120):
        expected = (
            "NotStarted"
            if age < 30
            else "Running"
            if age < 30 + (300 if running == "deploy" else 180)
            else "Succeeded"
        )
        action = rng.choice(["wait", "wait", "patch", "get"])
        if action == "wait":
            seconds = rng.choice([1.0, 20.0, 100.0, 250.0])
            h.advance(seconds)
            age += seconds
        elif action == "get":
            assert (await h.client.get(url)).json()["status"] == expected, (step, age)
        else:
            r = await h.client.patch(
                url, json={"model": {"self": f"https://x/speechtotext/models/{models[1 - current]}"}}
            )
            outcomes.add(r.status_code)
            if expected == "Succeeded":
                assert r.status_code == 200 and r.json()["status"] == "NotStarted", (step, r.text)
                current = 1 - current
                age = 0.0
                running = "redeploy"
            else:
                assert r.status_code == 409, (step, age, r.text)
    assert outcomes == {200, 409}  # both answers happened
