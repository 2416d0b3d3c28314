"""Field errors and the 422 Status body, worded as k8s.io/apimachinery's field package words them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

# Path segments: ("field", name) renders ".name", ("key", k) renders "[k]", ("index", i) renders "[i]".
PathSeg = tuple[str, Any]
Path = tuple[PathSeg, ...]

# The Go ErrorType -> (cause reason, canonical text); the reason is what Status causes carry.
_TYPES = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}
# Kinds whose body never shows the bad value.
_VALUELESS = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong", "InternalError"}


def render_path(path: Path) -> str:
    """field.Path.String(): the root (a nil path in the apiserver) prints as "<nil>"."""
    if not path:
        return "<nil>"
    out: list[str] = []
    for kind, value in path:
        if kind == "field":
            out.append(("." if out else "") + str(value))
        else:
            out.append(f"[{value}]")
    return "".join(out)


def go_quote(s: str) -> str:
    """Go's %q for the strings that appear in messages (printable unicode kept as is)."""
    return json.dumps(s, ensure_ascii=False)


def go_scalar(value: Any) -> str:
    """Go's %v of a decoded JSON scalar (int64, float64, bool, nil)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def go_float(value: float) -> str:
    """%v of a float64: shortest repr, exponent form from 1e21 as strconv.FormatFloat(f, 'g', -1, 64)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def go_sharp(value: Any) -> str:
    """Go's %#v of a decoded JSON value (what the apiserver prints for a list or map it rejects)."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp(v) for v in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"{go_quote(str(k))}:{go_sharp(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + items + "}"
    return go_scalar(value)


def _body_value(value: Any) -> str:
    if value is None:
        return '"null"'
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool | int | float):
        return go_scalar(value)
    return go_sharp(value)


@dataclass(frozen=True)
class FieldError:
    """One cause: field is the rendered path ("spec.locale"), type the Status cause reason."""

    field: str
    type: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


_OMIT = object()


def field_error(path: Path | str, type_: str, value: Any = _OMIT, detail: str = "") -> FieldError:
    """Builds the message exactly as field.Error.ErrorBody() does."""
    body = _TYPES[type_]
    if type_ not in _VALUELESS and value is not _OMIT:
        body = f"{body}: {_body_value(value)}"
    if detail:
        body = f"{body}: {detail}"
    rendered = path if isinstance(path, str) else render_path(path)
    return FieldError(field=rendered, type=type_, message=body)


def required(path: Path | str, detail: str = "") -> FieldError:
    return field_error(path, "FieldValueRequired", detail=detail)


def invalid(path: Path | str, value: Any, detail: str) -> FieldError:
    return field_error(path, "FieldValueInvalid", value, detail)


def type_invalid(path: Path | str, value: Any, detail: str) -> FieldError:
    return field_error(path, "FieldValueTypeInvalid", value, detail)


def forbidden(path: Path | str, detail: str) -> FieldError:
    return field_error(path, "FieldValueForbidden", detail=detail)


def duplicate(path: Path | str, value: Any) -> FieldError:
    return field_error(path, "FieldValueDuplicate", value)


def not_supported(path: Path | str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(go_quote(v) for v in supported) if supported else ""
    return field_error(path, "FieldValueNotSupported", value, detail)


def too_long(path: Path | str, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return field_error(path, "FieldValueTooLong", detail=f"may not be more than {max_length} {unit}")


def too_many(path: Path | str, actual: int, maximum: int) -> FieldError:
    return field_error(path, "FieldValueTooMany", actual, f"must have at most {maximum} items")


def aggregate_message(causes: list[FieldError]) -> str:
    """utilerrors.Aggregate.Error(): duplicates dropped, brackets only around more than one."""
    seen: list[str] = []
    for cause in causes:
        text = str(cause)
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def invalid_status(*, kind: str, group: str, name: str, causes: list[FieldError]) -> dict[str, Any]:
    """apierrors.NewInvalid(...) serialised: the 422 Status kubectl prints as `The Kind "name" is invalid`."""
    qualified = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": c.type, "message": c.message, "field": c.field} for c in causes]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"{qualified} {go_quote(name)} is invalid: {aggregate_message(causes)}",
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }


class AdmissionError(Exception):
    """A rejected object: each cause is one field error; status_body() is the apiserver's 422 answer."""

    def __init__(self, causes: list[FieldError]) -> None:
        self.causes = list(causes)
        super().__init__(aggregate_message(self.causes) if self.causes else "invalid")

    def status_body(self, *, kind: str, group: str, name: str) -> dict[str, Any]:
        return invalid_status(kind=kind, group=group, name=name, causes=self.causes)


class StructuralSchemaError(AdmissionError):
    """A CRD whose schemas are not structural (or otherwise invalid): answered with 422 Invalid as well.

    violations are the rendered "path: message" lines; status_body() works as for AdmissionError with
    kind="CustomResourceDefinition", group="apiextensions.k8s.io".
    """

    def __init__(self, causes: list[FieldError]) -> None:
        super().__init__(causes)
        self.violations = [str(c) for c in self.causes]
