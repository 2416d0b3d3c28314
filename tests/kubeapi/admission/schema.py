"""Pruning, defaulting and openAPIV3Schema validation of custom objects, as the apiextensions-apiserver
does them.

Schemas are the CRD's JSONSchemaProps as plain dicts. Pruning and defaulting look only at the structural part
(never inside allOf/anyOf/oneOf/not); validation looks at everything.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .errors import (
    FieldError,
    duplicate,
    go_float,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
    type_invalid,
)
from .formats import check_format

Schema = dict[str, Any]
_META_KEYS = ("apiVersion", "kind", "metadata")


def _join(name: str, child: str) -> str:
    return f"{name}.{child}" if name else child


# ---------------------------------------------------------------- pruning


def prune(obj: Any, schema: Schema, *, is_resource_root: bool = True) -> list[str]:
    """Drops, in place, every field the schema does not specify; returns the dropped fields' paths.

    apiVersion/kind/metadata survive at the root and in x-kubernetes-embedded-resource objects.
    """
    dropped: list[str] = []
    _prune(obj, schema, "", is_resource_root, dropped)
    return dropped


def _prune(value: Any, schema: Schema | None, name: str, is_root: bool, dropped: list[str]) -> None:
    if isinstance(value, dict):
        if schema is None:
            return
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        keep_meta = is_root or schema.get("x-kubernetes-embedded-resource") is True
        props: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in list(value):
            child_name = _join(name, key)
            if keep_meta and key in _META_KEYS and (key == "metadata" or key not in props):
                continue
            if key in props:
                _prune(value[key], props[key], child_name, False, dropped)
            elif isinstance(additional, dict):
                _prune(value[key], additional, child_name, False, dropped)
            elif additional is True or preserve:
                continue
            else:
                del value[key]
                dropped.append(child_name)
    elif isinstance(value, list):
        if schema is None:
            return
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(item, items, f"{name}[{i}]", False, dropped)


# ---------------------------------------------------------------- defaulting


def apply_defaults(obj: Any, schema: Schema) -> None:
    """Fills in `default` for absent fields (and for nulls the schema does not allow), top-down, in place.

    Nulls of non-nullable fields without a default are dropped first, as the apiserver does.
    """
    _default(obj, schema)


def _default(value: Any, schema: Schema | None) -> None:
    if schema is None:
        return
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        for key, prop in props.items():
            present = key in value
            if present and value[key] is None and not prop.get("nullable"):
                if "default" in prop:
                    value[key] = copy.deepcopy(prop["default"])
                else:
                    del value[key]
            elif not present and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
        for key, child in value.items():
            if key in props:
                _default(child, props[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in list(value):
                if key in props:
                    continue
                if value[key] is None and not additional.get("nullable") and "default" in additional:
                    value[key] = copy.deepcopy(additional["default"])
                _default(value[key], additional)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                if item is None and not items.get("nullable") and "default" in items:
                    value[i] = copy.deepcopy(items["default"])
                _default(value[i], items)


# ---------------------------------------------------------------- validation


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value (what the apiserver quotes in type errors)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, schema: Schema) -> bool:
    if value is None:
        return bool(schema.get("nullable"))
    if schema.get("x-kubernetes-int-or-string"):
        return json_type(value) in ("integer", "string")
    want = schema.get("type")
    if not want:
        return True
    actual = json_type(value)
    if want == "number":
        return actual in ("integer", "number")
    return bool(actual == want)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


_PATTERNS: dict[str, re.Pattern[str]] = {}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _fmt_bound(value: float | int) -> str:
    return go_float(float(value))


Old = tuple[Any] | None  # the correlated old value of an update, boxed; None when there is none


def validate(value: Any, schema: Schema, name: str = "", *, old: Old = None) -> list[FieldError]:
    """All schema violations of value, each at its path, worded as kube-openapi + apiextensions word them.

    On an update (old given) validation ratchets as in Kubernetes 1.30+: a value equal to the old value at the
    same place (object properties and map values by key, list-type=map items by their keys) is not checked,
    so an object stored under an older, looser schema can still be updated elsewhere.
    """
    errors: list[FieldError] = []
    _validate(value, schema, name, errors, old)
    return errors


def unchanged(value: Any, old: Old) -> bool:
    return old is not None and type(value) is type(old[0]) and value == old[0]


def correlate_items(value: list[Any], old: Old, schema: Schema) -> list[Old]:
    """Each item's old counterpart: only items of x-kubernetes-list-type=map lists correlate, by key."""
    if old is None or not isinstance(old[0], list) or schema.get("x-kubernetes-list-type") != "map":
        return [None] * len(value)
    keys = schema.get("x-kubernetes-list-map-keys") or []

    def ident(item: Any) -> str | None:
        return _canonical([item.get(k) for k in keys]) if isinstance(item, dict) else None

    by_key = {ident(o): o for o in old[0] if ident(o) is not None}
    out: list[Old] = []
    for item in value:
        key = ident(item)
        out.append((by_key[key],) if key is not None and key in by_key else None)
    return out


def _child(old: Old, key: str) -> Old:
    if old is None or not isinstance(old[0], dict) or key not in old[0]:
        return None
    return (old[0][key],)


def _path(name: str) -> str:
    return name or "<nil>"


def _validate(value: Any, schema: Schema, name: str, errors: list[FieldError], old: Old = None) -> None:
    if unchanged(value, old):
        return
    path = _path(name)
    if not _type_ok(value, schema):
        if value is None and not schema.get("type") and not schema.get("x-kubernetes-int-or-string"):
            return
        want = schema.get("type") or "integer,string"
        actual = json_type(value)
        errors.append(
            type_invalid(path, actual, f"{name} in body must be of type {want}: {json.dumps(actual)}")
        )
        return
    if value is None:
        return
    _junctors(value, schema, name, errors)
    if isinstance(value, str):
        _string(value, schema, name, errors)
    number = _number(value)
    if number is not None:
        _numeric(number, schema, name, errors)
    if isinstance(value, list):
        _array(value, schema, name, errors, old)
    enum = schema.get("enum")
    if enum is not None and not any(_canonical(value) == _canonical(e) for e in enum):
        supported = [e if isinstance(e, str) else json.dumps(e) for e in enum]
        errors.append(not_supported(path, value, supported))
    if isinstance(value, dict):
        _object(value, schema, name, errors, old)


def _string(value: str, schema: Schema, name: str, errors: list[FieldError]) -> None:
    path = _path(name)
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        errors.append(too_long(path, max_length))
    min_length = schema.get("minLength")
    if min_length is not None and len(value) < min_length:
        errors.append(invalid(path, value, f"{name} in body should be at least {min_length} chars long"))
    pattern = schema.get("pattern")
    if pattern is not None and not compile_pattern(pattern).search(value):
        errors.append(invalid(path, value, f"{name} in body should match '{pattern}'"))
    fmt = schema.get("format")
    if fmt and not check_format(fmt, value):
        errors.append(invalid(path, value, f"{name} in body must be of type {fmt}: {json.dumps(value)}"))


def _numeric(value: float | int, schema: Schema, name: str, errors: list[FieldError]) -> None:
    path = _path(name)
    multiple = schema.get("multipleOf")
    if multiple:
        quotient = value / multiple
        if abs(quotient - round(quotient)) > 1e-9:
            errors.append(
                invalid(path, value, f"{name} in body should be a multiple of {_fmt_bound(multiple)}")
            )
    maximum = schema.get("maximum")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            errors.append(invalid(path, value, f"{name} in body should be less than {_fmt_bound(maximum)}"))
        elif value > maximum:
            detail = f"{name} in body should be less than or equal to {_fmt_bound(maximum)}"
            errors.append(invalid(path, value, detail))
    minimum = schema.get("minimum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            errors.append(
                invalid(path, value, f"{name} in body should be greater than {_fmt_bound(minimum)}")
            )
        elif value < minimum:
            detail = f"{name} in body should be greater than or equal to {_fmt_bound(minimum)}"
            errors.append(invalid(path, value, detail))


def _array(value: list[Any], schema: Schema, name: str, errors: list[FieldError], old: Old) -> None:
    path = _path(name)
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        errors.append(invalid(path, len(value), f"{name} in body should have at least {min_items} items"))
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        errors.append(too_many(path, len(value), max_items))
    if schema.get("uniqueItems"):
        seen = [_canonical(v) for v in value]
        if len(set(seen)) != len(seen):
            errors.append(invalid(path, value, f"{name} in body shouldn't contain duplicates"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, (item, old_item) in enumerate(zip(value, correlate_items(value, old, schema), strict=True)):
            _validate(item, items, f"{name}[{i}]", errors, old_item)


def _object(value: dict[str, Any], schema: Schema, name: str, errors: list[FieldError], old: Old) -> None:
    path = _path(name)
    max_props = schema.get("maxProperties")
    if max_props is not None and len(value) > max_props:
        errors.append(too_many(path, len(value), max_props))
    min_props = schema.get("minProperties")
    if min_props is not None and len(value) < min_props:
        errors.append(
            invalid(path, len(value), f"{name} in body should have at least {min_props} properties")
        )
    for key in schema.get("required") or []:
        if key not in value:
            errors.append(required(_join(name, key)))
    props: dict[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, child in value.items():
        if key in props:
            _validate(child, props[key], _join(name, key), errors, _child(old, key))
        elif isinstance(additional, dict):
            _validate(child, additional, _join(name, key), errors, _child(old, key))


def _junctors(value: Any, schema: Schema, name: str, errors: list[FieldError]) -> None:
    path = _path(name)
    shown: Any = value if not isinstance(value, dict | list) else json_type(value)
    for sub in schema.get("allOf") or []:
        _validate(value, sub, name, errors)
    any_of = schema.get("anyOf")
    if any_of:
        results = [validate(value, sub, name) for sub in any_of]
        if all(results):
            errors.append(invalid(path, shown, f"{name} in body must validate at least one schema (anyOf)"))
            for result in results:
                errors.extend(result)
    one_of = schema.get("oneOf")
    if one_of:
        results = [validate(value, sub, name) for sub in one_of]
        valid = sum(1 for r in results if not r)
        if valid == 0:
            detail = f"{name} in body must validate one and only one schema (oneOf)"
            errors.append(invalid(path, shown, detail))
            for result in results:
                errors.extend(result)
        elif valid > 1:
            detail = f"{name} in body must validate one and only one schema (oneOf). Found {valid} valid"
            detail += " alternatives"
            errors.append(invalid(path, shown, detail))
    not_schema = schema.get("not")
    if isinstance(not_schema, dict) and not validate(value, not_schema, name):
        errors.append(invalid(path, shown, f"{name} in body must not validate the schema (not)"))


# ---------------------------------------------------------------- list types


def validate_list_types(value: Any, schema: Schema, name: str = "") -> list[FieldError]:
    """x-kubernetes-list-type set/map: duplicate items (or map keys) are Duplicate value errors."""
    errors: list[FieldError] = []
    _list_types(value, schema, name, errors)
    return errors


def _list_types(value: Any, schema: Schema | None, name: str, errors: list[FieldError]) -> None:
    if schema is None or value is None:
        return
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if key in props:
                _list_types(child, props[key], _join(name, key), errors)
            elif isinstance(additional, dict):
                _list_types(child, additional, _join(name, key), errors)
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            seen: set[str] = set()
            for i, item in enumerate(value):
                key = _canonical(item)
                if key in seen:
                    errors.append(duplicate(f"{name}[{i}]", item))
                seen.add(key)
        elif list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen_keys: set[str] = set()
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                ident = {k: item[k] for k in keys if k in item}
                key = _canonical(ident)
                if key in seen_keys:
                    errors.append(duplicate(f"{name}[{i}]", ident))
                seen_keys.add(key)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _list_types(item, items, f"{name}[{i}]", errors)
