"""The demo's last check (tests/demo.py): once the examples are deleted, simulated Azure must hold no endpoint
the demo created. Run here on the simulator's real `GET /_sim/endpoints` answer, without a cluster."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure_speech_operator.simulator import seed as ids
from azure_speech_operator.simulator.seed import SeedSpeechEndpoint, default_seed

from tests.demo import check_endpoints_gone, endpoint_ids, leftover_endpoints

from .conftest import HarnessFactory

SEEDED = "5eed0001-0000-4000-8000-000000000001"
CREATE = {
    "displayName": "demo",
    "locale": "en-US",
    "model": {"self": f"https://x/speechtotext/models/{ids.CUSTOM_EN_US_DEPLOYABLE}"},
}


class Listing:
    """Stands for tests/e2e/harness.Simulator: `endpoints()` answers what the simulator answered."""

    url = "http://simulator"

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def endpoints(self) -> Any:
        return self.answer


async def test_endpoints_the_demo_created_and_left_fail_the_demo(make_harness: HarnessFactory) -> None:
    seed = default_seed().model_copy(
        update={
            "speech_endpoints": [
                SeedSpeechEndpoint(
                    id=SEEDED, display_name="adopted", locale="en-US", model=ids.CUSTOM_EN_US_DEPLOYABLE
                )
            ]
        }
    )
    async with make_harness(seed=seed) as h:
        before = (await h.client.get("/_sim/endpoints")).json()
        seeded = endpoint_ids(before)
        assert seeded == {SEEDED}
        made = await h.client.post(
            "/speechtotext/endpoints", params={"api-version": "2025-10-15"}, json=CREATE
        )
        voice = str(uuid.uuid4())
        await h.client.put(
            f"/customvoice/endpoints/{voice}",
            params={"api-version": "2026-01-01"},
            json={"projectId": ids.VOICE_PROJECT, "modelId": ids.VOICE_MODEL},
        )
        speech = made.json()["self"].split("?")[0].rsplit("/", 1)[1]
        after = (await h.client.get("/_sim/endpoints")).json()

    assert leftover_endpoints(seeded, after) == sorted([speech, voice])
    with pytest.raises(AssertionError) as info:
        check_endpoints_gone(Listing(after), seeded, timeout=0.1)  # type: ignore[arg-type]
    message = str(info.value)
    assert "still holds 2 endpoint(s) the demo created" in message
    assert speech in message and voice in message and SEEDED not in message
    # once the demo's endpoints are gone (the seeded one stays: not the demo's), the check passes
    check_endpoints_gone(Listing(before), seeded, timeout=0.1)  # type: ignore[arg-type]
