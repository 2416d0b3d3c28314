"""Label and field selectors in the syntax of the Kubernetes API (`labels.Parse`, `fields.ParseSelector`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    requirements = []
    for part in _split_top_level(text or ""):
        match = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", part)
        if match:
            key, op, values = match.group(1), match.group(2), match.group(3)
            requirements.append(
                Requirement(_check_key(key), op, tuple(v.strip() for v in values.split(",") if v.strip()))
            )
            continue
        match = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", part)
        if match:
            op = "!=" if match.group(2) == "!=" else "="
            requirements.append(Requirement(_check_key(match.group(1)), op, (match.group(3),)))
            continue
        if part.startswith("!"):
            requirements.append(Requirement(_check_key(part[1:].strip()), "!"))
            continue
        requirements.append(Requirement(_check_key(part), "exists"))
    return requirements


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise bad_request(f'unable to parse requirement: invalid label key "{key}"')
    return key


def label_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    requirements = parse_label_selector(text or "")
    if not requirements:
        return lambda obj: True

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return match


def field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, dict):
        # `source` on core events selects by its component
        return str(node.get("component", ""))
    return str(node)


def field_matcher(text: str | None, allowed: list[str], kind: str) -> Callable[[dict[str, Any]], bool]:
    terms: list[tuple[str, str, str]] = []
    for part in _split_top_level(text or ""):
        term = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", part)
        if not term:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        key, op, value = term.group(1).strip(), term.group(2), term.group(3).strip()
        if key not in ("metadata.name", "metadata.namespace", *allowed):
            raise ApiError(400, "BadRequest", f"field label not supported: {key}")
        terms.append((key, "!=" if op == "!=" else "=", value))
    if not terms:
        return lambda obj: True

    def match(obj: dict[str, Any]) -> bool:
        for key, op, value in terms:
            actual = field_value(obj, key)
            if (actual == value) != (op == "="):
                return False
        return True

    return match


def exact_name(text: str | None) -> str | None:
    """The name a field selector pins with `metadata.name=X` (used to serve single-object watches cheaply)."""
    for part in _split_top_level(text or ""):
        match = re.fullmatch(r"metadata\.name(==|=)(.*)", part.strip())
        if match:
            return match.group(2).strip()
    return None
