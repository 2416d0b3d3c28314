"""OpenAPI documents for the emulated API: /openapi/v3/<api|apis/G>/<V> and /openapi/v2.

kubectl 1.32 needs little from them, but needs it exactly: before `apply`/`create` it looks in the v3 document
of the object's group/version for a PATCH operation tagged with the object's x-kubernetes-group-version-kind
that lists a `fieldValidation` parameter; when it finds one it leaves validation to the server (which answers
fieldValidation=Strict with 400 `unknown field "spec.foo"`), otherwise it validates client-side against the v2
document, which it fetches as protobuf only. For built-in kinds `kubectl apply` computes its strategic merge
patch from these v3 schemas, so they name every field it may descend into (else it warns "error calculating
patch from openapi v3 spec: unable to find api field" and falls back) and carry kube's patch strategies.
`kubectl explain` reads the v3 components, so CRD schemas are published with their descriptions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
OBJECT_META = f"{META}.ObjectMeta"
LIST_META = f"{META}.ListMeta"
STATUS = f"{META}.Status"
DELETE_OPTIONS = f"{META}.DeleteOptions"
PATCH = f"{META}.Patch"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    schema: Schema
    definition: str
    status_subresource: bool = False

    @property
    def gv_key(self) -> str:
        return f"apis/{self.group}/{self.version}" if self.group else f"api/{self.version}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def gvk(self) -> dict[str, str]:
        return {"group": self.group, "version": self.version, "kind": self.kind}


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split("."))) if group else ""


def _definition_name(group: str, version: str, kind: str) -> str:
    return f"{_reverse_group(group)}.{version}.{kind}"


# ---------------------------------------------------------------- shared meta schemas

_DESCRIPTIONS = {
    "apiVersion": (
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
        "recognized schemas to the latest internal value, and may reject unrecognized values."
    ),
    "kind": (
        "Kind is a string value representing the REST resource this object represents. Servers may infer "
        "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase."
    ),
    "metadata": "Standard object's metadata.",
}

_META_SCHEMAS: dict[str, Schema] = {
    OBJECT_META: {
        "description": "ObjectMeta is metadata that all persisted resources must have.",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}},
            "finalizers": {
                "type": "array",
                "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge",
            },
            "ownerReferences": {
                "type": "array",
                "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            },
            "managedFields": {
                "type": "array",
                "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
    LIST_META: {
        "description": "ListMeta describes metadata that synthetic resources must have.",
        "type": "object",
        "properties": {
            "resourceVersion": {"type": "string"},
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
        },
    },
    STATUS: {
        "description": "Status is a return value for calls that don't return other objects.",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    DELETE_OPTIONS: {
        "description": "DeleteOptions may be provided when deleting an API object.",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    PATCH: {
        "description": "Patch is provided to give a concrete name and type to the PATCH request body.",
        "type": "object",
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# ---------------------------------------------------------------- built-in kinds
# kubectl apply computes a strategic merge patch for built-in kinds from these schemas: every map it descends
# into must list the fields it finds there (else "unable to find api field"), and lists carry kube's patch
# strategy. The shapes and list annotations follow kube's published v3 document; validation stays with the
# server, so leaves are loose.

_STRING: Schema = {"type": "string"}
_BOOL: Schema = {"type": "boolean"}
_ANY: Schema = {"x-kubernetes-preserve-unknown-fields": True}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
_BYTES_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}}


def _obj(**props: Schema) -> Schema:
    return {"type": "object", "properties": props}


def _atomic(items: Schema) -> Schema:
    return {"type": "array", "items": items, "x-kubernetes-list-type": "atomic"}


def _string_list() -> Schema:
    return _atomic({"type": "string", "default": ""})


def _conditions(*, patch_merge: bool) -> Schema:
    schema: Schema = {
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    }
    if patch_merge:
        schema.update({"x-kubernetes-patch-merge-key": "type", "x-kubernetes-patch-strategy": "merge"})
    return schema


_CRD_NAMES = _obj(
    plural=_STRING,
    singular=_STRING,
    shortNames=_string_list(),
    kind=_STRING,
    listKind=_STRING,
    categories=_string_list(),
)
_CRD_VERSION = _obj(
    name=_STRING,
    served=_BOOL,
    storage=_BOOL,
    deprecated=_BOOL,
    deprecationWarning=_STRING,
    schema=_obj(openAPIV3Schema=_ANY),
    subresources=_obj(status=_ANY, scale=_ANY),
    additionalPrinterColumns=_atomic(_ANY),
    selectableFields=_atomic(_ANY),
)
_CRD_CONVERSION = _obj(
    strategy=_STRING,
    webhook=_obj(
        clientConfig=_obj(
            url=_STRING,
            caBundle={"type": "string", "format": "byte"},
            service=_obj(namespace=_STRING, name=_STRING, path=_STRING, port={"type": "integer"}),
        ),
        conversionReviewVersions=_string_list(),
    ),
)
_CRD_SPEC = _obj(
    group=_STRING,
    names=_CRD_NAMES,
    scope=_STRING,
    versions=_atomic(_CRD_VERSION),
    conversion=_CRD_CONVERSION,
    preserveUnknownFields=_BOOL,
)
_CRD_STATUS = _obj(
    conditions=_conditions(patch_merge=False), acceptedNames=_CRD_NAMES, storedVersions=_string_list()
)

_EVENT_SOURCE = _obj(component=_STRING, host=_STRING)
_OBJECT_REFERENCE = _obj(
    kind=_STRING,
    namespace=_STRING,
    name=_STRING,
    uid=_STRING,
    apiVersion=_STRING,
    resourceVersion=_STRING,
    fieldPath=_STRING,
)
_EVENT_SERIES = _obj(count={"type": "integer"}, lastObservedTime=_STRING)
_MICRO_TIME: Schema = {"type": "string", "format": "date-time"}


def _builtin(group: str, version: str, kind: str, plural: str, namespaced: bool, props: Schema) -> Resource:
    schema = {
        "description": f"{kind} ({group or 'core'}/{version}); served by the emulated API, validated there.",
        "type": "object",
        "properties": props,
    }
    prefix = {
        "": "io.k8s.api.core",
        "events.k8s.io": "io.k8s.api.events",
        "coordination.k8s.io": "io.k8s.api.coordination",
        "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    }[group]
    return Resource(group, version, kind, plural, namespaced, schema, f"{prefix}.{version}.{kind}")


BUILTINS: list[Resource] = [
    _builtin(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        {
            "spec": _obj(finalizers=_string_list()),
            "status": _obj(phase=_STRING, conditions=_conditions(patch_merge=True)),
        },
    ),
    _builtin(
        "",
        "v1",
        "Secret",
        "secrets",
        True,
        {"data": _BYTES_MAP, "stringData": _STRING_MAP, "type": _STRING, "immutable": _BOOL},
    ),
    _builtin(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        True,
        {"data": _STRING_MAP, "binaryData": _BYTES_MAP, "immutable": _BOOL},
    ),
    _builtin(
        "",
        "v1",
        "Event",
        "events",
        True,
        {
            "involvedObject": _OBJECT_REFERENCE,
            "reason": _STRING,
            "message": _STRING,
            "source": _EVENT_SOURCE,
            "firstTimestamp": _MICRO_TIME,
            "lastTimestamp": _MICRO_TIME,
            "count": {"type": "integer"},
            "type": _STRING,
            "eventTime": _MICRO_TIME,
            "series": _EVENT_SERIES,
            "action": _STRING,
            "related": _OBJECT_REFERENCE,
            "reportingComponent": _STRING,
            "reportingInstance": _STRING,
        },
    ),
    _builtin(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        True,
        {
            "eventTime": _MICRO_TIME,
            "series": _EVENT_SERIES,
            "reportingController": _STRING,
            "reportingInstance": _STRING,
            "action": _STRING,
            "reason": _STRING,
            "regarding": _OBJECT_REFERENCE,
            "related": _OBJECT_REFERENCE,
            "note": _STRING,
            "type": _STRING,
            "deprecatedSource": _EVENT_SOURCE,
            "deprecatedFirstTimestamp": _MICRO_TIME,
            "deprecatedLastTimestamp": _MICRO_TIME,
            "deprecatedCount": {"type": "integer"},
        },
    ),
    _builtin(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        True,
        {
            "spec": _obj(
                holderIdentity=_STRING,
                leaseDurationSeconds={"type": "integer"},
                acquireTime=_MICRO_TIME,
                renewTime=_MICRO_TIME,
                leaseTransitions={"type": "integer"},
                strategy=_STRING,
                preferredHolder=_STRING,
            )
        },
    ),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        {"spec": _CRD_SPEC, "status": _CRD_STATUS},
    ),
]


def crd_resources(crd: dict[str, Any]) -> list[Resource]:
    """One Resource per served version of a CRD."""
    spec = crd.get("spec") or {}
    group = spec.get("group", "")
    names = spec.get("names") or {}
    out: list[Resource] = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        out.append(
            Resource(
                group=group,
                version=version["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                schema=schema,
                definition=_definition_name(group, version["name"], names.get("kind", "")),
                status_subresource="status" in (version.get("subresources") or {}),
            )
        )
    return out


# ---------------------------------------------------------------- schemas


def _object_schema(resource: Resource) -> Schema:
    schema = copy.deepcopy(resource.schema)
    props = schema.setdefault("properties", {})
    for key in ("apiVersion", "kind"):
        props[key] = {"description": _DESCRIPTIONS[key], "type": "string", **(props.get(key) or {})}
    metadata = {"description": _DESCRIPTIONS["metadata"], "allOf": [_ref(OBJECT_META)]}
    if "default" in (props.get("metadata") or {}):
        metadata["default"] = props["metadata"]["default"]
    props["metadata"] = metadata
    schema["x-kubernetes-group-version-kind"] = [resource.gvk()]
    return schema


def _list_schema(resource: Resource) -> Schema:
    return {
        "description": f"{resource.kind}List is a list of {resource.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _DESCRIPTIONS["apiVersion"], "type": "string"},
            "items": {"type": "array", "items": _ref(resource.definition)},
            "kind": {"description": _DESCRIPTIONS["kind"], "type": "string"},
            "metadata": {"description": "Standard list metadata.", "allOf": [_ref(LIST_META)]},
        },
        "x-kubernetes-group-version-kind": [{**resource.gvk(), "kind": f"{resource.kind}List"}],
    }


# ---------------------------------------------------------------- operations


def _query(name: str, description: str, kind: str = "string") -> Schema:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted.")
_FIELD_MANAGER = _query(
    "fieldManager", "fieldManager is a name associated with the actor making these changes."
)
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or "
    "duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
)
_FORCE = _query("force", "Force is going to force Apply requests.", "boolean")
_PRETTY = _query("pretty", "If 'true', then the output is pretty printed.")
_LIST_PARAMS = [
    _query("allowWatchBookmarks", "requests watch events with type BOOKMARK.", "boolean"),
    _query("continue", "The continue option should be set when retrieving more results from the server."),
    _query("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
    _query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
    _query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    _query("resourceVersion", "constrains what resource versions a request may be served from."),
    _query("resourceVersionMatch", "how resourceVersion is applied to list calls."),
    _query("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query("watch", "Watch for changes to the described resources.", "boolean"),
]  # fmt: skip

_JSON_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
_PATCH_TYPES = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
]


def _content(schema: Schema, types: list[str]) -> Schema:
    return {t: {"schema": schema} for t in types}


def _responses(ok: Schema, *codes: str) -> Schema:
    out: Schema = {}
    for code in codes:
        out[code] = {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code]}
        out[code]["content"] = _content(ok, _JSON_TYPES)
    out["401"] = {"description": "Unauthorized"}
    return out


def _op_id(verb: str, resource: Resource, suffix: str = "") -> str:
    group = "".join(part.capitalize() for part in resource.group.replace("-", ".").split(".")) or "Core"
    scope = "Namespaced" if resource.namespaced and verb not in ("list_all",) else ""
    verb_name = {"list_all": "list"}.get(verb, verb)
    return f"{verb_name}{group}{resource.version.capitalize()}{scope}{resource.kind}{suffix}"


def _operation(resource: Resource, verb: str, action: str, params: list[Schema], **extra: Any) -> Schema:
    op: Schema = {
        "tags": [f"{resource.group or 'core'}_{resource.version}"],
        "description": f"{action} {resource.kind}",
        "operationId": _op_id(verb, resource, extra.pop("suffix", "")),
        "parameters": params,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": resource.gvk(),
    }
    op.update(extra)
    return op


def _path_param(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _paths(resource: Resource) -> dict[str, Schema]:
    prefix = f"/{resource.gv_key}"
    base = (
        f"{prefix}/namespaces/{{namespace}}/{resource.plural}"
        if resource.namespaced
        else (f"{prefix}/{resource.plural}")
    )
    obj_ref = _ref(resource.definition)
    list_ref = _ref(f"{resource.definition}List")
    # not advertised (custom kinds refuse it with 415); kubectl 1.32 still sends one for built-in kinds,
    # computed from their schemas above
    patch_types = _PATCH_TYPES
    name_param = _path_param("name", "name of the resource")
    ns_param = _path_param("namespace", "object name and auth scope, such as for teams and projects")
    common = [ns_param, _PRETTY] if resource.namespaced else [_PRETTY]
    write = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    paths: dict[str, Schema] = {
        base: {
            "get": _operation(
                resource, "list", "list", _LIST_PARAMS, suffix="", responses=_responses(list_ref, "200")
            ),
            "post": _operation(
                resource, "create", "post", write,
                requestBody={"content": _content(obj_ref, ["*/*"]), "required": True},
                responses=_responses(obj_ref, "200", "201", "202"),
            ),
            "delete": _operation(
                resource, "deletecollection", "deletecollection", [*_LIST_PARAMS, _DRY_RUN],
                suffix="", responses=_responses(_ref(STATUS), "200"),
            ),
            "parameters": common,
        },
        f"{base}/{{name}}": {
            "get": _operation(resource, "read", "get", [], responses=_responses(obj_ref, "200")),
            "put": _operation(
                resource, "replace", "put", write,
                requestBody={"content": _content(obj_ref, ["*/*"]), "required": True},
                responses=_responses(obj_ref, "200", "201"),
            ),
            "patch": _operation(
                resource, "patch", "patch", [*write, _FORCE],
                requestBody={"content": _content(_ref(PATCH), patch_types), "required": True},
                responses=_responses(obj_ref, "200", "201"),
            ),
            "delete": _operation(
                resource, "delete", "delete", [_DRY_RUN],
                responses=_responses(_ref(STATUS), "200", "202"),
            ),
            "parameters": [name_param, *common],
        },
    }  # fmt: skip
    if resource.status_subresource:
        paths[f"{base}/{{name}}/status"] = {
            "get": _operation(
                resource, "read", "get", [], suffix="Status", responses=_responses(obj_ref, "200")
            ),
            "put": _operation(
                resource, "replace", "put", write, suffix="Status",
                requestBody={"content": _content(obj_ref, ["*/*"]), "required": True},
                responses=_responses(obj_ref, "200", "201"),
            ),
            "patch": _operation(
                resource, "patch", "patch", [*write, _FORCE], suffix="Status",
                requestBody={"content": _content(_ref(PATCH), patch_types), "required": True},
                responses=_responses(obj_ref, "200", "201"),
            ),
            "parameters": [name_param, *common],
        }  # fmt: skip
    if resource.namespaced:
        paths[f"{prefix}/{resource.plural}"] = {
            "get": _operation(
                resource, "list_all", "list", _LIST_PARAMS, suffix="ForAllNamespaces",
                responses=_responses(list_ref, "200"),
            ),
            "parameters": [_PRETTY],
        }  # fmt: skip
    return paths


# ---------------------------------------------------------------- documents


def _all_resources(crds: list[dict[str, Any]]) -> list[Resource]:
    resources = list(BUILTINS)
    for crd in crds:
        resources.extend(crd_resources(crd))
    return resources


def openapi_v3_documents(crds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{"api/v1": doc, "apis/<group>/<version>": doc, ...}: built-in kinds and every served CRD version."""
    docs: dict[str, dict[str, Any]] = {}
    for resource in _all_resources(crds):
        doc = docs.setdefault(
            resource.gv_key,
            {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": "unversioned"},
                "paths": {},
                "components": {"schemas": copy.deepcopy(_META_SCHEMAS)},
            },
        )
        doc["paths"].update(_paths(resource))
        schemas = doc["components"]["schemas"]
        schemas[resource.definition] = _object_schema(resource)
        schemas[f"{resource.definition}List"] = _list_schema(resource)
    return docs


def _to_v2(schema: Any) -> Any:
    """Swagger 2.0 has no nullable/anyOf/oneOf/not: the apiserver drops them; $refs point at definitions."""
    if isinstance(schema, list):
        return [_to_v2(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {}
    for key, value in schema.items():
        if key in ("nullable", "anyOf", "oneOf", "not", "x-kubernetes-validations"):
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/components/schemas/", "#/definitions/")
        elif key in ("properties",):
            out[key] = {k: _to_v2(v) for k, v in value.items()}
        else:
            out[key] = _to_v2(value)
    if schema.get("nullable") and "type" in out and out["type"] != "array":
        # a nullable field has no type in v2, so that null passes client-side validation
        del out["type"]
    return out


def openapi_v2_document(crds: list[dict[str, Any]]) -> dict[str, Any]:
    """One Swagger 2.0 document (definitions only; kubectl reads /openapi/v2 as protobuf, see module doc)."""
    definitions: dict[str, Any] = {name: _to_v2(s) for name, s in _META_SCHEMAS.items()}
    for resource in _all_resources(crds):
        definitions[resource.definition] = _to_v2(_object_schema(resource))
        definitions[f"{resource.definition}List"] = _to_v2(_list_schema(resource))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": {},
        "definitions": definitions,
    }
