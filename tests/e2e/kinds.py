"""Both kinds behind one interface, for suites that run every case for SpeechEndpoint and VoiceEndpoint
alike (tests/e2e/test_reliability_secrets.py, test_namespace_deletion.py): a manifest on any endpoint and
Secret, and the Azure endpoints a resource owns as the simulator lists them."""

from __future__ import annotations

from typing import Any

from . import test_speech_lifecycle as speech
from . import test_voice_lifecycle as voice
from .harness import Simulator

KINDS = ("SpeechEndpoint", "VoiceEndpoint")
# an id no simulator knows: Azure refuses a create naming it as a model
UNKNOWN_MODEL = "00000000-0000-4000-8000-00000000dead"


def short(kind: str) -> str:
    return kind.removesuffix("Endpoint").lower()


def resource(
    kind: str,
    name: str,
    simulator: Simulator,
    *,
    endpoint: str | None = None,
    credentials: str = "speech-credentials",
    **spec: Any,
) -> dict[str, Any]:
    """The kind's e2e manifest (test_speech_lifecycle / test_voice_lifecycle) on `endpoint` (the simulator by
    default) with the key of Secret `credentials`."""
    body = (speech.manifest if kind == "SpeechEndpoint" else voice.manifest)(simulator, name, **spec)
    body["spec"]["azure"] = {
        "endpoint": endpoint or simulator.url,
        "credentials": {"secretRef": {"name": credentials}},
    }
    return body


def unknown_model(kind: str) -> dict[str, Any]:
    """Spec fields naming a model Azure does not know (its create is refused: Stalled, nothing in Azure)."""
    if kind == "SpeechEndpoint":
        return {"model": {"customModelId": UNKNOWN_MODEL}}
    return {"modelId": UNKNOWN_MODEL}


def owned_endpoints(simulator: Simulator, kind: str, uid: str) -> list[str]:
    """Ids of the Azure endpoints the resource `uid` owns, as the simulator lists them."""
    if kind == "SpeechEndpoint":
        return [e["id"] for e in speech.endpoints_of(simulator, uid)]
    return sorted(voice.ours(simulator, uid))


def delete_in_azure(simulator: Simulator, kind: str, endpoint_id: str) -> None:
    """Cleans up an endpoint a test left in Azure on purpose."""
    if kind == "SpeechEndpoint":
        speech.azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
    else:
        voice.voice_http(simulator, "DELETE", f"endpoints/{endpoint_id}")
