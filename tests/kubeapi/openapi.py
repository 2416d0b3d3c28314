"""OpenAPI documents: enough for `kubectl apply` to validate on the server (`fieldValidation=Strict`) and to
pick the patch type the real server would accept (strategic merge for built-in kinds, JSON merge for custom
resources). Schemas of custom resources come from the admission package when it is present.

kubectl looks for a PATCH operation tagged with the kind's `x-kubernetes-group-version-kind` that declares a
`fieldValidation` query parameter (cli-runtime's `queryParamVerifierV3`); with it, kubectl leaves validation
to the server and needs no `--validate=false`.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from .admission import openapi_v2_document, openapi_v3_documents
from .resources import ResourceType

if TYPE_CHECKING:
    from .registry import Registry

_QUERY = ["dryRun", "fieldManager", "fieldValidation", "pretty"]


def _gv_path(rtype: ResourceType) -> str:
    return f"apis/{rtype.group}/{rtype.version}" if rtype.group else f"api/{rtype.version}"


def _patch_types(rtype: ResourceType) -> list[str]:
    types = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    if not rtype.custom:
        types.insert(2, "application/strategic-merge-patch+json")
    return types


def _operation(rtype: ResourceType, verb: str, action: str, body_types: list[str] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{verb}{rtype.kind}",
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
            for name in _QUERY
        ],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rtype.group,
            "version": rtype.version,
            "kind": rtype.kind,
        },
    }
    if body_types:
        op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in body_types}}
    return op


def _paths(rtypes: list[ResourceType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rtype in rtypes:
        prefix = "/" + _gv_path(rtype) + ("/namespaces/{namespace}" if rtype.namespaced else "")
        collection = f"{prefix}/{rtype.plural}"
        item = f"{collection}/{{name}}"
        paths[collection] = {
            "get": _operation(rtype, "list", "list", None),
            "post": _operation(rtype, "create", "post", ["*/*"]),
        }
        paths[item] = {
            "get": _operation(rtype, "read", "get", None),
            "put": _operation(rtype, "replace", "put", ["*/*"]),
            "patch": _operation(rtype, "patch", "patch", _patch_types(rtype)),
            "delete": _operation(rtype, "delete", "delete", None),
        }
        if rtype.status_subresource:
            paths[item + "/status"] = {
                "get": _operation(rtype, "read", "get", None),
                "put": _operation(rtype, "replace", "put", ["*/*"]),
                "patch": _operation(rtype, "patch", "patch", _patch_types(rtype)),
            }
    return paths


def _by_group_version(registry: Registry) -> dict[str, list[ResourceType]]:
    out: dict[str, list[ResourceType]] = {}
    for rtype in registry.types():
        out.setdefault(_gv_path(rtype), []).append(rtype)
    return out


def v3_document(registry: Registry, gv_path: str) -> dict[str, Any] | None:
    rtypes = _by_group_version(registry).get(gv_path)
    if not rtypes:
        return None
    doc: dict[str, Any] = {}
    doc = dict(openapi_v3_documents(registry.crds()).get(gv_path) or {})
    doc.setdefault("openapi", "3.0.0")
    doc.setdefault("info", {"title": "Kubernetes", "version": "v1.32.0-emulated"})
    doc.setdefault("components", {"schemas": {}})
    paths = dict(doc.get("paths") or {})
    paths.update(_paths(rtypes))
    doc["paths"] = paths
    return doc


def v3_index(registry: Registry) -> dict[str, Any]:
    paths = {}
    for gv_path in sorted(_by_group_version(registry)):
        doc = v3_document(registry, gv_path)
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
        paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    doc = dict(openapi_v2_document(registry.crds()))
    doc.setdefault("paths", {})
    return doc
