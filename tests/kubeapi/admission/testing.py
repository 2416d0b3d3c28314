"""Helpers for the admission tests: the fixture CRD and one-schema CRDs built on the fly."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .admit import CustomResourceAdmission

TESTDATA = Path(__file__).parent / "testdata"
GROUP = "test.admission.io"
VERSION = "v1alpha1"


@cache
def _transcriber_crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((TESTDATA / "transcribers.yaml").read_text())
    return loaded


def transcriber_crd() -> dict[str, Any]:
    """The fixture CRD (shaped like the project's SpeechEndpoint), a fresh copy each call."""
    return copy.deepcopy(_transcriber_crd())


def transcriber(**spec: Any) -> dict[str, Any]:
    """A valid Transcriber; keyword arguments replace spec fields."""
    body: dict[str, Any] = {
        "locale": "en-US",
        "model": {"baseModelId": "9e240dc1-1111-2222-3333-444455556666"},
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Transcriber",
        "metadata": {"name": "call-center", "namespace": "team-a"},
        "spec": body,
    }


def crd_with_schema(schema: dict[str, Any], *, kind: str = "Widget") -> dict[str, Any]:
    """A CRD with one served version whose openAPIV3Schema is schema."""
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def spec_admission(spec_schema: dict[str, Any]) -> CustomResourceAdmission:
    """Admission for a CRD whose spec has spec_schema."""
    return CustomResourceAdmission(
        crd_with_schema({"type": "object", "properties": {"spec": spec_schema, "status": {"type": "object"}}})
    )


def widget(spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"},
        "spec": spec,
    }
