"""The `filter` query language of the specs: `field op value` clauses combined with `and`, `or`, `not` and
parentheses (`not` binds tightest, then `and`, then `or`).

Operators: eq, ne on every field; gt, ge, lt, le on date-times. Values: 'quoted strings' (a doubled quote
escapes one) or ISO 8601 date-times; an entity's date-time is compared at the whole seconds the API shows.
Anything else is refused as Azure does, with UnsupportedFilter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .state import shown_seconds

Predicate = Callable[[Mapping[str, Any]], bool]

# A quoted string is one token, so "displayName eq 'rock and roll'" is one clause, not two.
_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<quoted>'(?:[^']|'')*')|(?P<word>[A-Za-z0-9][A-Za-z0-9:.+\-]*))"
)
_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")


class FilterError(ValueError):
    pass


def _as_time(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise FilterError(f"'{value}' is not a date-time") from None


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise FilterError(f"cannot parse the filter at '{text[pos:].strip()}'")
        out.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return out


def compile_filter(text: str | None, fields: Mapping[str, str]) -> Predicate:
    """A predicate over an entity's field values. `fields` maps field names to 'str' or 'time'."""
    if text is None or not text.strip():
        return lambda _: True
    return _Parser(_tokens(text), fields).parse()


class _Parser:
    """Recursive descent over the tokens: or-expression of and-expressions of (not) atoms."""

    def __init__(self, tokens: list[str], fields: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.fields = fields
        self.pos = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected '{self.tokens[self.pos]}' in the filter")
        return predicate

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _next(self, what: str) -> str:
        if self.pos >= len(self.tokens):
            raise FilterError(f"the filter ends where {what} was expected")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek().lower() == "or":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda e: any(p(e) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._peek().lower() == "and":
            self.pos += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else lambda e: all(p(e) for p in parts)

    def _not(self) -> Predicate:
        if self._peek().lower() == "not":
            self.pos += 1
            inner = self._not()
            return lambda e: not inner(e)
        if self._peek() == "(":
            self.pos += 1
            inner = self._or()
            if self._next("')'") != ")":
                raise FilterError("a '(' in the filter is not closed")
            return inner
        return self._clause()

    def _clause(self) -> Predicate:
        field = self._next("a field name")
        kind = self.fields.get(field)
        if kind is None:
            raise FilterError(
                f"filtering on '{field}' is not supported; supported: {', '.join(sorted(self.fields))}"
            )
        op = self._next("an operator").lower()
        if op not in _OPERATORS:
            raise FilterError(f"'{op}' is not a filter operator; supported: {', '.join(_OPERATORS)}")
        return _clause(field, op, self._next("a value"), kind)


def _clause(field: str, op: str, raw: str, kind: str) -> Predicate:
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
        # The client filters on the time it was shown (whole seconds); the bound keeps what it wrote.
        return lambda entity: (
            entity.get(field) is not None and compare(shown_seconds(float(entity[field])), bound)
        )
    if op not in ("eq", "ne"):
        raise FilterError(f"'{op}' works on date-times only; '{field}' supports eq and ne")
    if not quoted:
        raise FilterError(f"the value for '{field}' must be a quoted string")
    if op == "eq":
        return lambda entity: entity.get(field) == text
    return lambda entity: entity.get(field) != text
