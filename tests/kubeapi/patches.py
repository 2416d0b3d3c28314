"""The patch formats of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902), the subset
of strategic merge patch kubectl sends for the built-in types served here, and server-side apply."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request, unprocessable

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise unprocessable(f"JSON pointer must start with '/': {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise unprocessable(f'doc is missing path: "{path}": missing value')
            node = node[token]
        elif isinstance(node, list):
            index = _index(token, len(node), path)
            node = node[index]
        else:
            raise unprocessable(f'doc is missing path: "{path}": missing value')
    return node


def _index(token: str, length: int, path: str, *, allow_end: bool = False) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit():
        raise unprocessable(f"invalid array index {token!r} in {path}")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise unprocessable(f"Unable to access invalid index: {index}")
    return index


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise unprocessable(f'doc is missing path: "{path}": missing value')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), path)]
    raise unprocessable(f'doc is missing path: "{path}": missing value')


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise unprocessable(f"Unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(last, len(parent), path))
    raise unprocessable(f'doc is missing path: "{path}": missing value')


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise unprocessable(f"doc is missing key: {path}: missing value")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(last, len(parent), path)] = value
        else:
            parent.insert(_index(last, len(parent), path, allow_end=True), value)
    else:
        raise unprocessable(f'doc is missing path: "{path}": missing value')
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise unprocessable(f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=True)
        elif kind == "move":
            value = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            try:
                actual = _get(doc, path)
            except ApiError:
                actual = None
            if actual != op.get("value"):
                raise unprocessable(f"testing value {path} failed: test failed")
        else:
            raise unprocessable(f"Unexpected kind: {kind}")
    return doc


# Lists of the served built-in types that strategic merge patch merges instead of replacing, all in
# metadata (Namespace spec.finalizers, for one, is atomic); admission/openapi.py publishes the same strategies
# to kubectl, which computes its patches from them.
_MERGE_KEYS: dict[str, str] = {"ownerReferences": "uid"}
_PRIMITIVE_MERGE = {"finalizers"}


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge patch for the built-in types served here (ConfigMap, Secret, Namespace, Event, Lease,
    CRD): maps merge, lists (CRD spec.versions among them) are replaced except `metadata.ownerReferences`
    (merged by uid) and `metadata.finalizers` (merged as a set); `$patch`, `$retainKeys`,
    `$setElementOrder/...` and `$deleteFromPrimitiveList/...` directives are honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    merged = field == "metadata"
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value, key)
            if result[key] is None:
                result.pop(key)
        elif (
            merged
            and key in _PRIMITIVE_MERGE
            and isinstance(value, list)
            and isinstance(result.get(key), list)
        ):
            result[key] = result[key] + [v for v in value if v not in result[key]]
        elif merged and key in _MERGE_KEYS and isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_by_key(result[key], value, _MERGE_KEYS[key])
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        for key in list(result):
            if key not in retain and key not in patch:
                result.pop(key)
    return result


def _merge_by_key(current: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    out = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request("strategic merge patch: list items must be maps")
        directive = item.get("$patch")
        existing = next((i for i, o in enumerate(out) if o.get(merge_key) == item.get(merge_key)), None)
        if directive == "delete":
            if existing is not None:
                out.pop(existing)
        elif existing is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[existing] = strategic_merge_patch(out[existing], item)
    return out


def apply_merge(target: Any, applied: Any, previous: Any = None) -> Any:
    """Server-side apply without field ownership across managers: the applied configuration is merged into
    the live object (maps merge, lists are replaced), and fields this manager applied last time but no longer
    applies are removed (`previous` is its last applied configuration)."""
    if not isinstance(applied, dict):
        return copy.deepcopy(applied)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    if isinstance(previous, dict):
        for key in previous:
            if key not in applied:
                result.pop(key, None)
    for key, value in applied.items():
        prev = previous.get(key) if isinstance(previous, dict) else None
        result[key] = apply_merge(result.get(key), value, prev)
    return result
