"""The SpeechEndpoint CRD as data and an object to admit (crd_support evaluates defaults and CEL rules the way
the API server does)."""

from __future__ import annotations

from typing import Any

from . import crd_support
from .crd_support import ROOT

__all__ = ["CRD_PATH", "ROOT", "admit", "load_crd", "root_schema", "speech_endpoint"]

CRD_PATH = ROOT / "crds" / "speechendpoints.yaml"


def load_crd() -> dict[str, Any]:
    return crd_support.load_crd(CRD_PATH.name)


def root_schema(crd: dict[str, Any] | None = None) -> dict[str, Any]:
    return crd_support.root_schema(crd or load_crd())


def admit(obj: dict[str, Any], old: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Default and CEL-check a SpeechEndpoint (as a create, or as an update of `old`)."""
    return crd_support.admit(root_schema(), obj, old)


def speech_endpoint(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "azure": {"region": "westeurope", "credentials": {"secretRef": {"name": "speech-credentials"}}},
        "locale": "en-US",
        "model": {"baseModelId": "ae8d1643-53a9-4ef0-9c46-6ae7d6bbc2c6"},
    }
    for key, value in spec_overrides.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return {
        "apiVersion": "speech.azure-operator.io/v1alpha1",
        "kind": "SpeechEndpoint",
        "metadata": {"name": "call-center-en", "namespace": "team-a"},
        "spec": spec,
    }
