"""The apiextensions-apiserver's checks of a CRD's schemas: structural rules, v1 restrictions, CEL
compilation.

Paths and wording follow ValidateStructural, validateStructuralCompleteness and
ValidateCustomResourceDefinitionOpenAPISchema, so a rejected CRD reads as on a real cluster.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .cel import CelCompileError, CelValidator
from .errors import FieldError, StructuralSchemaError, forbidden, invalid, not_supported, required
from .schema import prune, validate

Schema = dict[str, Any]

_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_UNSUPPORTED = {
    "$ref": "$ref is not supported",
    "id": "id is not supported",
    "$schema": "$schema is not supported",
    "definitions": "definitions is not supported",
    "dependencies": "dependencies is not supported",
    "additionalItems": "additionalItems is not supported",
    "patternProperties": "patternProperties is not supported",
}
_JUNCTORS = ("allOf", "anyOf", "oneOf")
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]

ROOT, ITEM, FIELD = "root", "item", "field"


def check_structural(crd: dict[str, Any]) -> None:
    """Raises StructuralSchemaError listing every violation in every version's schema."""
    errors: list[FieldError] = []
    versions = (crd.get("spec") or {}).get("versions") or []
    for i, version in enumerate(versions):
        base = f"spec.versions[{i}].schema.openAPIV3Schema"
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            errors.append(required(base, "schemas are required"))
            continue
        errors.extend(schema_violations(schema, base))
    if errors:
        raise StructuralSchemaError(errors)


def schema_violations(schema: Schema, base: str) -> list[FieldError]:
    """Violations of one openAPIV3Schema; base is its path in the CRD (for the messages)."""
    errors: list[FieldError] = []
    _v1_restrictions(schema, base, errors)
    structural: list[FieldError] = []
    _invariants(schema, ROOT, base, structural)
    _completeness(schema, base, structural)
    errors.extend(sorted(structural, key=str))
    if not errors:
        try:
            CelValidator(schema, base)
        except CelCompileError as exc:
            errors.append(
                forbidden(exc.path, exc.detail) if exc.forbidden else invalid(exc.path, exc.value, exc.detail)
            )
            _defaults(schema, base, errors, is_root=True, with_rules=False)
        else:
            _defaults(schema, base, errors, is_root=True, with_rules=True)
    return errors


# ---------------------------------------------------------------- v1 restrictions


def _children(schema: Schema, path: str) -> list[tuple[Schema, str]]:
    out: list[tuple[Schema, str]] = []
    for key, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict):
            out.append((prop, f"{path}.properties[{key}]"))
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out.append((additional, f"{path}.additionalProperties"))
    items = schema.get("items")
    if isinstance(items, dict):
        out.append((items, f"{path}.items"))
    for junctor in _JUNCTORS:
        for i, sub in enumerate(schema.get(junctor) or []):
            if isinstance(sub, dict):
                out.append((sub, f"{path}.{junctor}[{i}]"))
    if isinstance(schema.get("not"), dict):
        out.append((schema["not"], f"{path}.not"))
    return out


def _v1_restrictions(schema: Schema, path: str, errors: list[FieldError]) -> None:
    for key, detail in _UNSUPPORTED.items():
        if key in schema:
            errors.append(forbidden(f"{path}.{key}", detail))
    kind = schema.get("type")
    if kind is not None and kind != "" and kind not in _TYPES:
        errors.append(not_supported(f"{path}.type", kind, _TYPES))
    if schema.get("uniqueItems") is True:
        detail = "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        errors.append(forbidden(f"{path}.uniqueItems", detail))
    additional = schema.get("additionalProperties")
    if additional is False:
        errors.append(
            forbidden(f"{path}.additionalProperties", "additionalProperties cannot be set to false")
        )
    elif additional is not None and schema.get("properties"):
        detail = "additionalProperties and properties are mutual exclusive"
        errors.append(forbidden(f"{path}.additionalProperties", detail))
    if isinstance(schema.get("items"), list):
        errors.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if schema.get("x-kubernetes-preserve-unknown-fields") is False:
        errors.append(
            invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined")
        )
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            detail = f"must be a valid regular expression, but isn't: {exc}"
            errors.append(invalid(f"{path}.pattern", pattern, detail))
    _list_type(schema, path, errors)
    map_type = schema.get("x-kubernetes-map-type")
    if map_type is not None and map_type not in ("granular", "atomic"):
        errors.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["granular", "atomic"]))
    for child, child_path in _children(schema, path):
        _v1_restrictions(child, child_path, errors)


def _list_type(schema: Schema, path: str, errors: list[FieldError]) -> None:
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys")
    if list_type is None:
        if keys:
            detail = 'must not be set if x-kubernetes-list-type is not "map"'
            errors.append(forbidden(f"{path}.x-kubernetes-list-map-keys", detail))
        return
    if list_type not in ("atomic", "set", "map"):
        errors.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
        return
    if schema.get("type") != "array":
        errors.append(
            invalid(f"{path}.type", schema.get("type"), "must be array if x-kubernetes-list-type is set")
        )
        return
    items: Schema = schema["items"] if isinstance(schema.get("items"), dict) else {}
    if list_type == "map":
        if not keys:
            detail = 'must not be empty if x-kubernetes-list-type is "map"'
            errors.append(required(f"{path}.x-kubernetes-list-map-keys", detail))
        if items.get("type") != "object":
            detail = 'must be object if parent array\'s x-kubernetes-list-type is "map"'
            errors.append(invalid(f"{path}.items.type", items.get("type"), detail))
        else:
            props = items.get("properties") or {}
            required_keys = set(items.get("required") or [])
            for i, key in enumerate(keys or []):
                prop = props.get(key)
                if prop is None:
                    errors.append(
                        invalid(f"{path}.x-kubernetes-list-map-keys[{i}]", key, "must be a property")
                    )
                elif key not in required_keys and "default" not in prop:
                    detail = "all map keys must be required or have a default value"
                    errors.append(required(f"{path}.items.required", detail))
    elif list_type == "set" and items.get("type") == "object":
        detail = 'must be atomic if parent array\'s x-kubernetes-list-type is "set"'
        errors.append(
            invalid(f"{path}.items.x-kubernetes-map-type", items.get("x-kubernetes-map-type"), detail)
        )


# ---------------------------------------------------------------- structural invariants


def _invariants(s: Schema, level: str, path: str, errors: list[FieldError]) -> None:
    kind = s.get("type") or ""
    if kind == "array" and "items" not in s:
        errors.append(required(f"{path}.items", "must be specified"))
    if isinstance(s.get("items"), dict):
        _invariants(s["items"], ITEM, f"{path}.items", errors)
    for key, prop in (s.get("properties") or {}).items():
        if isinstance(prop, dict):
            _invariants(prop, FIELD, f"{path}.properties[{key}]", errors)
    additional = s.get("additionalProperties")
    if additional is not None:
        if level == ROOT:
            errors.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(additional, dict):
            _invariants(additional, FIELD, f"{path}.additionalProperties", errors)
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if int_or_string and preserve:
        detail = "must be false if x-kubernetes-int-or-string is true"
        errors.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True, detail))
    if int_or_string and embedded:
        detail = "must be false if x-kubernetes-int-or-string is true"
        errors.append(invalid(f"{path}.x-kubernetes-embedded-resource", True, detail))

    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    all_of = s.get("allOf") or []
    skip_first_all_of_any_of = (
        bool(all_of) and isinstance(all_of[0], dict) and (all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF)
    )
    _value_validation(s, skip_any_of, skip_first_all_of_any_of, level, path, errors)

    if embedded and kind != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        if not kind:
            errors.append(required(f"{path}.type", detail))
        else:
            errors.append(invalid(f"{path}.type", kind, detail))
    elif not kind and not int_or_string and not preserve:
        detail = {
            ROOT: "must not be empty at the root",
            ITEM: "must not be empty for specified array items",
            FIELD: "must not be empty for specified object fields",
        }[level]
        errors.append(required(f"{path}.type", detail))
    if embedded and additional is not None:
        detail = "must not be used if x-kubernetes-embedded-resource is set"
        errors.append(forbidden(f"{path}.additionalProperties", detail))
    if level == ROOT and kind and kind != "object":
        errors.append(invalid(f"{path}.type", kind, "must be object at the root"))

    props: dict[str, Schema] = s.get("properties") or {}
    check_metadata = level == ROOT or embedded
    if check_metadata:
        for key, want in (("kind", "string"), ("apiVersion", "string"), ("metadata", "object")):
            if key in props and (props[key].get("type") or "") != want:
                detail = f"must be {want}"
                errors.append(invalid(f"{path}.properties[{key}].type", props[key].get("type") or "", detail))
    if "metadata" in props and level == ROOT and not _metadata_ok(props["metadata"]):
        detail = (
            "must not specify anything other than name and generateName, but metadata is implicitly specified"
        )
        errors.append(forbidden(f"{path}.properties[metadata]", detail))
    if embedded and not preserve and not props:
        detail = (
            "must not be empty if x-kubernetes-embedded-resource is true "
            "without x-kubernetes-preserve-unknown-fields"
        )
        errors.append(required(f"{path}.properties", detail))


def _metadata_ok(metadata: Schema) -> bool:
    rest = dict(metadata)
    rest.pop("type", None)
    rest.pop("default", None)  # checked with the other defaults
    props = rest.get("properties")
    if props is not None:
        names = set(props)
        if names and names <= {"name", "generateName"}:
            rest.pop("properties")
    return not rest


def _value_validation(
    s: Schema,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    level: str,
    path: str,
    errors: list[FieldError],
) -> None:
    if not skip_any_of:
        for i, sub in enumerate(s.get("anyOf") or []):
            _nested(sub, False, level, f"{path}.anyOf[{i}]", errors)
    for i, sub in enumerate(s.get("allOf") or []):
        _nested(sub, skip_first_all_of_any_of and i == 0, level, f"{path}.allOf[{i}]", errors)
    for i, sub in enumerate(s.get("oneOf") or []):
        _nested(sub, False, level, f"{path}.oneOf[{i}]", errors)
    if isinstance(s.get("not"), dict):
        _nested(s["not"], False, level, f"{path}.not", errors)


_FORBIDDEN_IN_JUNCTORS = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)


def _nested(v: Any, skip_any_of: bool, level: str, path: str, errors: list[FieldError]) -> None:
    if not isinstance(v, dict):
        return
    _value_validation(v, skip_any_of, False, level, path, errors)
    if isinstance(v.get("items"), dict):
        _nested(v["items"], False, level, f"{path}.items", errors)
    for key, prop in (v.get("properties") or {}).items():
        _nested(prop, False, FIELD, f"{path}.properties[{key}]", errors)
    for key, detail in _FORBIDDEN_IN_JUNCTORS:
        present = v.get(key)
        if present in (None, False, "", [], {}):
            continue
        errors.append(forbidden(f"{path}.{key}", detail))
    if "metadata" in (v.get("properties") or {}):
        errors.append(forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))


# ---------------------------------------------------------------- completeness


def _completeness(s: Schema, path: str, errors: list[FieldError]) -> None:
    _junctor_completeness(s, s, path, path, errors)
    for key, prop in (s.get("properties") or {}).items():
        if isinstance(prop, dict):
            _completeness(prop, f"{path}.properties[{key}]", errors)
    if isinstance(s.get("additionalProperties"), dict):
        _completeness(s["additionalProperties"], f"{path}.additionalProperties", errors)
    if isinstance(s.get("items"), dict):
        _completeness(s["items"], f"{path}.items", errors)


def _junctor_completeness(v: Schema, s: Schema, s_path: str, v_path: str, errors: list[FieldError]) -> None:
    for junctor in _JUNCTORS:
        for i, sub in enumerate(v.get(junctor) or []):
            _nested_completeness(sub, s, s_path, f"{v_path}.{junctor}[{i}]", errors)
    if isinstance(v.get("not"), dict):
        _nested_completeness(v["not"], s, s_path, f"{v_path}.not", errors)


def _nested_completeness(
    v: Any, s: Schema | None, s_path: str, v_path: str, errors: list[FieldError]
) -> None:
    if not isinstance(v, dict):
        return
    if s is None:
        errors.append(required(s_path, f"because it is defined in {v_path}"))
        return
    _junctor_completeness(v, s, s_path, v_path, errors)
    if isinstance(v.get("items"), dict):
        items = s.get("items") if isinstance(s.get("items"), dict) else None
        _nested_completeness(v["items"], items, f"{s_path}.items", f"{v_path}.items", errors)
    s_props: dict[str, Schema] = s.get("properties") or {}
    additional = s.get("additionalProperties")
    for key, prop in (v.get("properties") or {}).items():
        if key in s_props:
            _nested_completeness(
                prop, s_props[key], f"{s_path}.properties[{key}]", f"{v_path}.properties[{key}]", errors
            )
        elif isinstance(additional, dict):
            _nested_completeness(
                prop, additional, f"{s_path}.additionalProperties", f"{v_path}.properties[{key}]", errors
            )
        else:
            detail = f"because it is defined in {v_path}.properties[{key}]"
            errors.append(required(f"{s_path}.properties[{key}]", detail))


# ---------------------------------------------------------------- defaults


def _defaults(
    s: Schema, path: str, errors: list[FieldError], *, is_root: bool = False, with_rules: bool
) -> None:
    """Each default must be pruned, validate against its schema and pass its rules (old value = itself)."""
    if "default" in s and not is_root:
        default = s["default"]
        if default is None and not s.get("nullable"):
            errors.append(invalid(f"{path}.default", None, "must not be null for a non-nullable field"))
        else:
            pruned = json.loads(json.dumps(default))
            dropped = prune(pruned, s, is_resource_root=False)
            if dropped:
                detail = f"must not have unknown fields: {', '.join(dropped)}"
                errors.append(invalid(f"{path}.default", "object", detail))
            schema_errors = validate(default, s, "default")
            for cause in schema_errors:
                errors.append(
                    FieldError(field=f"{path}.{cause.field}", type=cause.type, message=cause.message)
                )
            if with_rules and not schema_errors and default is not None:
                for cause in CelValidator(s, path).validate(default, default, has_old=True, ratchet=False):
                    errors.append(
                        FieldError(
                            field=_under(f"{path}.default", cause.field),
                            type=cause.type,
                            message=cause.message,
                        )
                    )
    for key, prop in (s.get("properties") or {}).items():
        if isinstance(prop, dict):
            if key == "metadata" and is_root:
                continue
            _defaults(prop, f"{path}.properties[{key}]", errors, with_rules=with_rules)
    if isinstance(s.get("additionalProperties"), dict):
        _defaults(s["additionalProperties"], f"{path}.additionalProperties", errors, with_rules=with_rules)
    if isinstance(s.get("items"), dict):
        _defaults(s["items"], f"{path}.items", errors, with_rules=with_rules)


def _under(base: str, field: str) -> str:
    if field == "<nil>":
        return base
    return base + field if field.startswith("[") else f"{base}.{field}"
