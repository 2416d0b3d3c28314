"""The `filter` query subset the simulator understands: `field op value` clauses joined by `and`.

Operators: eq, ne on every field; gt, ge, lt, le on date-times. Values: 'quoted strings' (a doubled quote
escapes one) or ISO 8601 date-times. Anything else is refused as Azure does, with UnsupportedFilter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z][A-Za-z0-9]*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>'(?:[^']|'')*'|[0-9][0-9T:.\-+Z]*)\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class FilterError(ValueError):
    pass


def _as_time(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise FilterError(f"'{value}' is not a date-time") from None


def compile_filter(text: str | None, fields: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over an entity's field values. `fields` maps field names to 'str' or 'time'."""
    if text is None or not text.strip():
        return lambda _: True
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for part in _AND.split(text.strip()):
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise FilterError(f"cannot parse the filter clause '{part}'")
        field, op, raw = match.group("field"), match.group("op").lower(), match.group("value")
        kind = fields.get(field)
        if kind is None:
            raise FilterError(
                f"filtering on '{field}' is not supported; supported: {', '.join(sorted(fields))}"
            )
        checks.append(_clause(field, op, raw, kind))
    return lambda entity: all(check(entity) for check in checks)


def _clause(field: str, op: str, raw: str, kind: str) -> Callable[[Mapping[str, Any]], bool]:
    quoted = raw.startswith("'")
    text = raw[1:-1].replace("''", "'") if quoted else raw
    if kind == "time":
        bound = _as_time(text)
        ops: dict[str, Callable[[float, float], bool]] = {
            "eq": lambda a, b: a == b,
            "ne": lambda a, b: a != b,
            "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b,
        }
        compare = ops[op]
        return lambda entity: entity.get(field) is not None and compare(float(entity[field]), bound)
    if op not in ("eq", "ne"):
        raise FilterError(f"'{op}' works on date-times only; '{field}' supports eq and ne")
    if not quoted:
        raise FilterError(f"the value for '{field}' must be a quoted string")
    if op == "eq":
        return lambda entity: entity.get(field) == text
    return lambda entity: entity.get(field) != text
