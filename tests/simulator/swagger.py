"""Validate simulator responses against the vendored Swagger 2.0 specs (specs/azure-specs/).

Swagger 2.0 is not JSON Schema: `x-nullable` becomes a null type, `allOf` parts are merged so undeclared
properties can be refused (the simulator must not invent fields a version lacks), `x-ms-enum` error codes
with modelAsString stay open (the API gateway answers `"code": "401"`), and `format`s are checked by hand.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs" / "azure-specs"

# (spec folder, URL prefix, api-version or None when the version is in the path)
FAMILIES = {
    "stt-v3.2": ("/speechtotext/v3.2", None),
    "stt-2024-11-15": ("/speechtotext", "2024-11-15"),
    "stt-2025-10-15": ("/speechtotext", "2025-10-15"),
    "cv-2024-02-01-preview": ("/customvoice", "2024-02-01-preview"),
    "cv-2026-01-01": ("/customvoice", "2026-01-01"),
}
OPEN_ENUMS = {"ErrorCode", "DetailedErrorCode"}
# Error bodies stay open: the API gateway's 401 `{"error": {"code": "401", ...}}` reaches every API as it is.
OPEN_OBJECTS = {"Error", "InnerError", "ErrorResponse"}


def spec_file(folder: str) -> Path:
    name = "speechtotext.json" if folder.startswith("stt") else "texttospeech.json"
    return SPECS / folder / name


@cache
def load_spec(folder: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(spec_file(folder).read_text())
    return spec


def _strict(schema: Any, definitions: dict[str, Any], name: str | None = None) -> Any:
    if isinstance(schema, list):
        return [_strict(s, definitions) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v, definitions) for k, v in schema.items() if k not in ("example", "x-ms-client-name")}
    if "allOf" in out:
        merged_props: dict[str, Any] = dict(out.get("properties", {}))
        required: list[str] = list(out.get("required", []))
        for part in schema["allOf"]:
            target = part
            while "$ref" in target:
                target = definitions[target["$ref"].split("/")[-1]]
            merged = _strict(target, definitions)
            merged_props.update(merged.get("properties", {}))
            required.extend(merged.get("required", []))
        out.pop("allOf")
        out["properties"] = merged_props
        if required:
            out["required"] = sorted(set(required))
        out["type"] = "object"
    if out.get("x-nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if name in OPEN_ENUMS:
        out.pop("enum", None)
    open_object = name in OPEN_OBJECTS
    if (
        (out.get("type") == "object" or "properties" in out)
        and "additionalProperties" not in out
        and not open_object
    ):
        out["additionalProperties"] = False
    return out


@cache
def _registry(folder: str) -> tuple[Registry, str]:
    spec = load_spec(folder)
    definitions = spec["definitions"]
    strict = {"definitions": {n: _strict(d, definitions, n) for n, d in definitions.items()}}
    uri = f"urn:spec:{folder}"
    registry: Registry = Registry().with_resource(
        uri, Resource.from_contents(strict, default_specification=DRAFT4)
    )
    return registry, uri


def _check_formats(value: Any, schema: dict[str, Any], folder: str, path: str, errors: list[str]) -> None:
    """Walk the instance with the (resolved) schema and check date-time, uuid and uri formats."""
    registry, uri = _registry(folder)
    while "$ref" in schema:
        ref = schema["$ref"]
        target = ref if not ref.startswith("#") else uri + ref
        schema = registry.resolver().lookup(target).contents
    fmt = schema.get("format")
    if isinstance(value, str) and fmt:
        if fmt == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                errors.append(f"{path}: {value!r} is not a date-time")
        elif fmt == "uuid":
            try:
                uuid.UUID(value)
            except ValueError:
                errors.append(f"{path}: {value!r} is not a uuid")
        elif fmt == "uri" and not re.match(r"^(https?|wss)://[^/\s]+", value):
            errors.append(f"{path}: {value!r} is not an absolute uri")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key, item in value.items():
            sub = props.get(key) or schema.get("additionalProperties")
            if isinstance(sub, dict):
                _check_formats(item, sub, folder, f"{path}.{key}", errors)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check_formats(item, schema["items"], folder, f"{path}[{i}]", errors)


def _schema_ref(folder: str, schema: dict[str, Any]) -> dict[str, Any]:
    _, uri = _registry(folder)
    text = json.dumps(schema).replace('"#/definitions/', f'"{uri}#/definitions/')
    converted: dict[str, Any] = json.loads(text)
    return converted


def validate_body(folder: str, schema: dict[str, Any], body: Any) -> list[str]:
    registry, _ = _registry(folder)
    root = _schema_ref(folder, copy.deepcopy(schema))
    validator = jsonschema.Draft4Validator(root, registry=registry)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    _check_formats(body, root, folder, "$", errors)
    return errors


@dataclass(frozen=True)
class Operation:
    folder: str
    operation_id: str
    method: str
    template: str
    spec: dict[str, Any]


@cache
def operations(folder: str) -> list[Operation]:
    spec = load_spec(folder)
    ops = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            ops.append(Operation(folder, op["operationId"], method.upper(), template, op))
    return ops


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+?" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def match_operation(method: str, url: httpx.URL) -> Operation | None:
    path = url.path
    version = url.params.get("api-version")
    for folder, (prefix, api_version) in FAMILIES.items():
        if api_version != version or not path.startswith(prefix + "/"):
            continue
        if folder.startswith("stt") and api_version and path.startswith("/speechtotext/v3."):
            continue
        rest = path[len(prefix) :]
        candidates = [
            op
            for op in operations(folder)
            if op.method == method and _template_regex(op.template).match(rest)
        ]
        if candidates:
            return max(candidates, key=lambda op: len(re.sub(r"\{[^}]+\}", "", op.template)))
    return None


def check_response(response: httpx.Response) -> tuple[Operation, list[str]] | None:
    """Validate one response against its operation; None when the request is not a spec operation."""
    op = match_operation(response.request.method, response.request.url)
    if op is None:
        return None
    responses = op.spec["responses"]
    declared = responses.get(str(response.status_code)) or responses.get("default")
    errors: list[str] = []
    if declared is None:
        return op, [f"status {response.status_code} is not declared"]
    if str(response.status_code) not in responses and response.status_code < 400:
        errors.append(
            f"success status {response.status_code} is not declared (declared: {sorted(responses)})"
        )
    schema = declared.get("schema")
    if schema is None:
        if response.content:
            errors.append(f"status {response.status_code} declares no body but got {response.content[:80]!r}")
    else:
        if not response.headers.get("content-type", "").startswith("application/json"):
            errors.append(f"content-type {response.headers.get('content-type')!r} is not JSON")
        try:
            body = response.json()
        except ValueError:
            return op, [*errors, "body is not JSON"]
        errors.extend(validate_body(op.folder, schema, body))
    for name, header in declared.get("headers", {}).items():
        value = response.headers.get(name)
        if value is None:
            if name in ("Location", "Operation-Location", "Operation-Id", "x-ms-error-code"):
                errors.append(f"header {name} is missing")
            continue
        if header.get("type") == "integer" and not value.isdigit():
            errors.append(f"header {name}={value!r} is not an integer")
        if header.get("format") == "uri" and not re.match(r"^https?://", value):
            errors.append(f"header {name}={value!r} is not a uri")
    return op, errors
