"""Evaluate the SpeechEndpoint CRD's defaults and CEL rules the way the API server does, with celpy.

Kept small on purpose: defaults, then every `x-kubernetes-validations` rule on every node present in the
object, transition rules (those naming `oldSelf`) only where the node also exists in the old object.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import celpy
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "speechendpoints.yaml"


def load_crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


def root_schema(crd: dict[str, Any] | None = None) -> dict[str, Any]:
    crd = crd or load_crd()
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in list(value):
                if name not in props:
                    value[name] = apply_defaults(extra, value[name])
    return value


_env = celpy.Environment()


def _evaluate(rule: str, new: Any, old: Any) -> bool:
    activation = {"self": celpy.json_to_cel(new)}
    if old is not None:
        activation["oldSelf"] = celpy.json_to_cel(old)
    result = _env.program(_env.compile(rule)).evaluate(activation)
    assert isinstance(result, celpy.celtypes.BoolType), f"rule {rule!r} gave {result!r}"
    return bool(result)


def cel_errors(schema: dict[str, Any], new: Any, old: Any = None, path: str = "") -> list[str]:
    errors: list[str] = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule and old is None:
            continue
        if not _evaluate(rule, new, old):
            errors.append(f"{path or '<root>'}: {validation['message']}")
    if isinstance(new, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in new:
                old_sub = old.get(name) if isinstance(old, dict) else None
                errors += cel_errors(sub, new[name], old_sub, f"{path}.{name}" if path else name)
    return errors


def admit(obj: dict[str, Any], old: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Default and CEL-check a SpeechEndpoint (as a create, or as an update of `old`)."""
    schema = root_schema()
    new = apply_defaults(schema, copy.deepcopy(obj))
    old_defaulted = apply_defaults(schema, copy.deepcopy(old)) if old is not None else None
    return new, cel_errors(schema, new, old_defaulted)


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
