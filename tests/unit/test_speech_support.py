"""The SpeechEndpoint CRD as data and objects to admit (crd_support evaluates defaults and CEL rules the way
the API server does)."""

from __future__ import annotations

from typing import Any

from .crd_support import ROOT, Crd

__all__ = ["CRD_PATH", "ROOT", "SPEECH", "admit", "load_crd", "root_schema", "speech_endpoint"]

SPEECH = Crd("speechendpoints.yaml", "SpeechEndpoint")
CRD_PATH = ROOT / "crds" / SPEECH.file
load_crd, root_schema, admit = SPEECH.load, SPEECH.schema, SPEECH.admit


def speech_endpoint(**spec_overrides: Any) -> dict[str, Any]:
    spec = {
        "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "speech-credentials"}}},
        "locale": "en-US",
        "model": {"baseModelId": "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"},
    }
    return SPEECH.object("call-center-en", spec, spec_overrides)
