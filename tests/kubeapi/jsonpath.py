"""The JSONPath subset CRD printer columns use (`.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.k=="v")].b`)."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-$]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*(==|!=)\s*[\"']?([^\"')]*)[\"']?\)\]|\['([^']+)'\]"
)


def evaluate(path: str, obj: Any) -> list[Any]:
    """All values the path selects (an empty list when nothing matches)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    nodes = [obj]
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            raise ValueError(f"unsupported JSONPath {path!r} at {pos}")
        pos = match.end()
        key, index, filter_key, filter_op, filter_value, quoted = match.groups()
        out: list[Any] = []
        for node in nodes:
            if key is not None or quoted is not None:
                name = key if key is not None else quoted
                if isinstance(node, dict) and name in node:
                    out.append(node[name])
            elif index is not None:
                if isinstance(node, list):
                    if index == "*":
                        out.extend(node)
                    elif int(index) < len(node):
                        out.append(node[int(index)])
                elif isinstance(node, dict) and index == "*":
                    out.extend(node.values())
            elif filter_key is not None and isinstance(node, list):
                for item in node:
                    actual = _lookup(item, filter_key)
                    if (str(actual) == filter_value if actual is not None else False) == (filter_op == "=="):
                        out.append(item)
        nodes = out
    return nodes


def _lookup(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
