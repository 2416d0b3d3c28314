"""What kube-apiserver does behind each verb: metadata, preconditions, generation, status subresource,
finalizers and deletion, garbage collection, namespace and CRD life cycles, and admission of custom objects.

HTTP lives in `server.py`; everything here is synchronous and runs on the server's event loop.
"""

from __future__ import annotations

import builtins
import copy
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors, eventsapi, patches
from .admission import AdmissionError, CustomResourceAdmission, StructuralSchemaError, check_structural
from .errors import ApiError
from .resources import ResourceType, builtin_types, types_from_crd
from .selectors import field_matcher, label_matcher
from .store import Key, Store

CRD_KEY: Key = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY: Key = ("", "namespaces")
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND = "foregroundDeletion"
DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]
IMMORTAL_NAMESPACES = {"default", "kube-system", "kube-public"}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Result:
    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    created: bool = False
    # set when a delete removed the object at once (the answer is then a Status)
    removed: bool = False


class Registry:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        history_limit: int = 2000,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.store = Store(history_limit)
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}
        self._admission: dict[str, tuple[str, Any]] = {}
        self._applied: dict[tuple[Key, str, str, str], dict[str, Any]] = {}
        for rtype in builtin_types():
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype
        for name in DEFAULT_NAMESPACES:
            self.create(self.resolve("", "v1", "namespaces"), None, {"metadata": {"name": name}})

    # --- types ---------------------------------------------------------------------------------------

    def resolve(self, group: str, version: str, plural: str) -> ResourceType:
        rtype = self._types.get((group, version, plural))
        if rtype is None:
            raise errors.page_not_found(plural)
        return rtype

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Served versions per group, the preferred (first) version first, in registration order."""
        out: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            versions = out.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        for group, versions in out.items():
            crd_versions = self._crd_version_order(group)
            if crd_versions:
                versions.sort(key=lambda v: crd_versions.index(v) if v in crd_versions else len(crd_versions))
        return out

    def _crd_version_order(self, group: str) -> list[str]:
        for crd in self.store.iter(CRD_KEY, ""):
            if crd["spec"]["group"] == group:
                return _sorted_versions([v["name"] for v in crd["spec"]["versions"] if v.get("served", True)])
        return []

    def crds(self) -> list[dict[str, Any]]:
        return list(self.store.iter(CRD_KEY, ""))

    # --- views ---------------------------------------------------------------------------------------

    def view(self, rtype: ResourceType, stored: dict[str, Any]) -> dict[str, Any]:
        """A stored object as the given resource version presents it."""
        if rtype.group == "events.k8s.io":
            out = eventsapi.from_core(stored)
        else:
            out = copy.deepcopy(stored)
            out["apiVersion"] = rtype.api_version
        out["kind"] = rtype.kind
        return out

    def _to_storage(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rtype.group == "events.k8s.io":
            return eventsapi.to_core(obj)
        return obj

    # --- reads ---------------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        stored = self.store.get(rtype.key, namespace or "", name)
        if stored is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        return self.view(rtype, stored)

    def list(
        self,
        rtype: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        labels = label_matcher(label_selector)
        fields = field_matcher(field_selector, rtype.selectable_fields, rtype.kind)
        start_after: tuple[str, str] | None = None
        if continue_token:
            start_after = _decode_continue(continue_token)
        items: list[dict[str, Any]] = []
        more = False
        last: tuple[str, str] | None = None
        for stored in self.store.iter(rtype.key, namespace):
            meta = stored["metadata"]
            position = (meta.get("namespace", ""), meta["name"])
            if start_after is not None and position <= start_after:
                continue
            if not labels(stored):  # labels read the same in every view: filter before copying
                continue
            obj = self.view(rtype, stored)
            if not fields(obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(obj)
            last = position
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if more and last is not None:
            metadata["continue"] = _encode_continue(last)
        return {
            "kind": rtype.list_kind,
            "apiVersion": rtype.api_version,
            "metadata": metadata,
            "items": items,
        }

    # --- create --------------------------------------------------------------------------------------

    def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        body: dict[str, Any],
        *,
        dry_run: bool = False,
        field_validation: str = "",
    ) -> Result:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_kind(rtype, body)
        obj = self._to_storage(rtype, copy.deepcopy(body))
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    self.rng.choice(_GENERATE_ALPHABET) for _ in range(5)
                )
            else:
                raise errors.invalid(
                    rtype.kind,
                    rtype.group,
                    "",
                    [
                        (
                            "metadata.name",
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
        name = meta["name"]
        if self.store.get(rtype.key, meta.get("namespace", "") or "", name) is not None:
            raise errors.already_exists(rtype.group, rtype.plural, name)
        if rtype.namespaced:
            self._check_namespace_open(rtype, namespace or "", name)
        for server_field in _SERVER_FIELDS:
            meta.pop(server_field, None)
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)
        meta["uid"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        meta["creationTimestamp"] = rfc3339(self.clock())
        if rtype.has_generation:
            meta["generation"] = 1
        obj["apiVersion"] = rtype.api_version
        obj["kind"] = rtype.kind
        if rtype.group == "events.k8s.io":
            obj["apiVersion"] = "v1"
        warnings: list[str] = []
        if rtype.custom and rtype.status_subresource:
            obj.pop("status", None)
        obj = self._prepare(rtype, obj, None, None, field_validation, warnings)
        self._validate_meta(rtype, obj)
        if dry_run:
            meta = obj["metadata"]
            meta.pop("resourceVersion", None)
            return Result(self.view(rtype, obj), warnings, created=True)
        stored = self.store.put(rtype.key, obj, "ADDED")
        self._after_write(rtype.key, stored)
        return Result(self.view(rtype, stored), warnings, created=True)

    def _check_kind(self, rtype: ResourceType, body: dict[str, Any]) -> None:
        kind = body.get("kind")
        if kind and kind != rtype.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )
        api_version = body.get("apiVersion")
        if api_version and api_version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rtype.api_version})"
            )

    def _check_namespace_open(self, rtype: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACE_KEY, "", namespace)
        if ns is None:
            raise errors.not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rtype.group,
                rtype.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )

    # --- update and patch ----------------------------------------------------------------------------

    def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "",
    ) -> Result:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_kind(rtype, body)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if rtype.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        current = self.store.get(rtype.key, namespace or "", name)
        if current is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        if not meta.get("resourceVersion") and rtype.custom:
            raise errors.invalid(
                rtype.kind,
                rtype.group,
                name,
                [
                    (
                        "metadata.resourceVersion",
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        return self._replace(rtype, current, body, subresource, dry_run, field_validation)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        field_validation: str = "",
    ) -> Result:
        current = self.store.get(rtype.key, namespace or "", name)
        if content_type in (patches.APPLY_PATCH, patches.APPLY_PATCH_CBOR):
            return self._apply(
                rtype, namespace, name, current, body, subresource, dry_run, field_manager or ""
            )
        if current is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        view = self.view(rtype, current)
        if content_type == patches.JSON_PATCH:
            patched = patches.json_patch(view, body)
        elif content_type == patches.MERGE_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("merge patch must be a JSON object")
            patched = patches.merge_patch(view, body)
        elif content_type == patches.STRATEGIC_PATCH:
            if rtype.custom:
                raise errors.unsupported_media_type(content_type, _PATCH_TYPES_CUSTOM)
            if not isinstance(body, dict):
                raise errors.bad_request("strategic merge patch must be a JSON object")
            patched = patches.strategic_merge_patch(view, body)
        else:
            raise errors.unsupported_media_type(content_type, _PATCH_TYPES_CUSTOM)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        patched.setdefault("metadata", {})
        if not isinstance(patched["metadata"], dict):
            raise errors.bad_request("metadata must be an object")
        patched["metadata"]["name"] = name
        if rtype.namespaced:
            patched["metadata"]["namespace"] = namespace
        if not patched["metadata"].get("resourceVersion"):
            patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self._replace(rtype, current, patched, subresource, dry_run, field_validation)

    def _apply(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        current: dict[str, Any] | None,
        body: Any,
        subresource: str | None,
        dry_run: bool,
        manager: str,
    ) -> Result:
        if not manager:
            raise errors.bad_request("PATCH request for apply is missing a fieldManager")
        if not isinstance(body, dict):
            raise errors.bad_request("apply patch must be an object")
        body = copy.deepcopy(body)
        body.setdefault("metadata", {})
        if body["metadata"].get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({body['metadata']['name']}) does not match the name on the URL "
                f"({name})"
            )
        body["metadata"]["name"] = name
        if not body.get("apiVersion") or not body.get("kind"):
            raise errors.bad_request("apply patches must set apiVersion and kind")
        where = (rtype.key, namespace or "", name, manager)
        if current is None:
            if subresource:
                raise errors.not_found(rtype.group, rtype.plural, name)
            result = self.create(rtype, namespace, body, dry_run=dry_run)
        else:
            view = self.view(rtype, current)
            merged = patches.apply_merge(view, body, self._applied.get(where))
            merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            result = self._replace(rtype, current, merged, subresource, dry_run, "")
        if not dry_run:
            self._applied[where] = body
        return result

    def _replace(
        self,
        rtype: ResourceType,
        current: dict[str, Any],
        body: dict[str, Any],
        subresource: str | None,
        dry_run: bool,
        field_validation: str,
    ) -> Result:
        name = current["metadata"]["name"]
        new = self._to_storage(rtype, copy.deepcopy(body))
        meta = new.setdefault("metadata", {})
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.group, rtype.plural, name)
        old_meta = current["metadata"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(current)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
        else:
            for server_field in _SERVER_FIELDS:
                if server_field in old_meta:
                    meta[server_field] = old_meta[server_field]
                else:
                    meta.pop(server_field, None)
            meta["name"] = name
            if old_meta.get("namespace"):
                meta["namespace"] = old_meta["namespace"]
            else:
                meta.pop("namespace", None)
            if rtype.status_subresource:
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                else:
                    new.pop("status", None)
            if old_meta.get("deletionTimestamp"):
                added = [
                    f for f in meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])
                ]
                if added:
                    raise errors.invalid(
                        rtype.kind,
                        rtype.group,
                        name,
                        [
                            (
                                "metadata.finalizers",
                                "FieldValueForbidden",
                                "Forbidden: no new finalizers can be added if the object is being deleted, "
                                f"found new finalizers {_go_strings(added)}",
                            )
                        ],
                    )
        new["apiVersion"] = rtype.api_version if rtype.group != "events.k8s.io" else "v1"
        new["kind"] = rtype.kind
        meta["resourceVersion"] = old_meta["resourceVersion"]
        warnings: list[str] = []
        new = self._prepare(rtype, new, current, subresource, field_validation, warnings)
        self._validate_meta(rtype, new)
        if rtype.has_generation and _spec_part(new, rtype) != _spec_part(current, rtype):
            new["metadata"]["generation"] = int(old_meta.get("generation", 1)) + 1
        current_cmp = dict(current, apiVersion=new["apiVersion"])
        if new == current_cmp:
            # kube-apiserver skips writes that change nothing: no new resourceVersion, no watch event
            return Result(self.view(rtype, current), warnings)
        if dry_run:
            return Result(self.view(rtype, new), warnings)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            removed = self._remove(rtype.key, new)
            return Result(self.view(rtype, removed), warnings)
        stored = self.store.put(rtype.key, new, "MODIFIED")
        self._after_write(rtype.key, stored)
        return Result(self.view(rtype, stored), warnings)

    # --- per-type preparation (admission) ------------------------------------------------------------

    def _prepare(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        subresource: str | None,
        field_validation: str,
        warnings: builtins.list[str],
    ) -> dict[str, Any]:
        _drop_empty(obj["metadata"], _OMIT_EMPTY_META)
        if rtype.custom:
            return self._admit_custom(rtype, obj, old, subresource, field_validation, warnings)
        # Go's `omitempty` drops empty maps and lists of built-in types when they are stored
        _drop_empty(obj, [k for k, v in obj.items() if k not in ("metadata", "spec", "status") and not v])
        if rtype.key == ("", "secrets"):
            _prepare_secret(rtype, obj)
        if rtype.key in (("", "secrets"), ("", "configmaps")) and old is not None:
            _check_immutable_data(rtype, obj, old)
        if rtype.key == NAMESPACE_KEY:
            if old is None:
                obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif rtype.key == CRD_KEY:
            self._prepare_crd(rtype, obj, old)
        return obj

    def _admit_custom(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        subresource: str | None,
        field_validation: str,
        warnings: builtins.list[str],
    ) -> dict[str, Any]:
        admission = self._admission_for(rtype)
        if admission is None:
            return obj
        view_old = self.view(rtype, old) if old is not None else None
        try:
            admitted: dict[str, Any] = admission.admit(rtype.version, obj, view_old, subresource=subresource)
        except AdmissionError as exc:
            raise ApiError(
                422,
                "Invalid",
                "",
                body=exc.status_body(
                    kind=rtype.kind, group=rtype.group, name=obj["metadata"].get("name", "")
                ),
            ) from None
        unknown = [p for p in _pruned_paths(obj, admitted, "") if not p.startswith("metadata")]
        if unknown and field_validation == "Strict":
            listed = ", ".join(f'unknown field "{p}"' for p in unknown)
            raise errors.bad_request(
                f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                f"strict decoding error: {listed}"
            )
        if unknown and field_validation == "Warn":
            warnings.extend(f'unknown field "{p}"' for p in unknown)
        admitted["metadata"] = obj["metadata"]
        return admitted

    def _admission_for(self, rtype: ResourceType) -> Any:
        if rtype.crd_name is None:
            return None
        crd = self.store.get(CRD_KEY, "", rtype.crd_name)
        if crd is None:
            return None
        cached = self._admission.get(rtype.crd_name)
        rv = crd["metadata"]["resourceVersion"]
        if cached is None or cached[0] != rv:
            cached = (rv, CustomResourceAdmission(crd))
            self._admission[rtype.crd_name] = cached
        return cached[1]

    def _prepare_crd(self, rtype: ResourceType, crd: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = crd.get("spec") or {}
        name = crd["metadata"]["name"]
        causes: list[tuple[str, str, str]] = []
        group = spec.get("group", "")
        names = spec.get("names") or {}
        plural = names.get("plural", "")
        if not group:
            causes.append(("spec.group", "FieldValueRequired", "Required value"))
        if not plural:
            causes.append(("spec.names.plural", "FieldValueRequired", "Required value"))
        if not names.get("kind"):
            causes.append(("spec.names.kind", "FieldValueRequired", "Required value"))
        if group and plural and name != f"{plural}.{group}":
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                )
            )
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(
                (
                    "spec.scope",
                    "FieldValueNotSupported",
                    f'Unsupported value: "{spec.get("scope", "")}": '
                    'supported values: "Cluster", "Namespaced"',
                )
            )
        versions = spec.get("versions") or []
        if not versions:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: null: must have exactly one version marked as storage version",
                )
            )
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueInvalid",
                    f"Invalid value: {_go_versions(versions)}: "
                    "must have exactly one version marked as storage version",
                )
            )
        if old is not None and old["spec"].get("group") != group:
            causes.append(
                ("spec.group", "FieldValueInvalid", f'Invalid value: "{group}": field is immutable')
            )
        if not causes:
            try:
                check_structural(crd)
            except StructuralSchemaError as exc:
                causes.extend((c.field, c.type, c.message) for c in exc.causes)
        if causes:
            raise errors.invalid(rtype.kind, rtype.group, name, causes)
        accepted = dict(names)
        accepted.setdefault("singular", names["kind"].lower())
        accepted.setdefault("listKind", names["kind"] + "List")
        now = rfc3339(self.clock())
        storage_version = next(v["name"] for v in versions if v.get("storage"))
        previous = (old or {}).get("status") or {}
        stored_versions = list(previous.get("storedVersions") or [])
        if storage_version not in stored_versions:
            stored_versions.append(storage_version)
        conditions = [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": now,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": now,
            },
        ]
        old_conditions = {c["type"]: c for c in previous.get("conditions") or []}
        for condition in conditions:
            before = old_conditions.get(condition["type"])
            if before and before.get("status") == condition["status"]:
                condition["lastTransitionTime"] = before["lastTransitionTime"]
        if crd["metadata"].get("deletionTimestamp"):
            conditions.append(
                {
                    "type": "Terminating",
                    "status": "True",
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResourceDefinition marked for deletion; instance deletion in progress",
                    "lastTransitionTime": (old_conditions.get("Terminating") or {}).get(
                        "lastTransitionTime", now
                    ),
                }
            )
        crd["status"] = {
            "conditions": conditions,
            "acceptedNames": accepted,
            "storedVersions": stored_versions,
        }
        if old is None:
            finalizers = crd["metadata"].setdefault("finalizers", [])
            if CRD_CLEANUP not in finalizers:
                finalizers.append(CRD_CLEANUP)
        spec.setdefault("conversion", {"strategy": "None"})
        for version in versions:
            version.setdefault("served", True)

    def _validate_meta(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        name = meta.get("name", "")
        causes: list[tuple[str, str, str]] = []
        if rtype.key == NAMESPACE_KEY:
            if len(name) > 63 or not _DNS_LABEL.match(name):
                causes.append(
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case '
                        "alphanumeric characters or '-', and must start and end with an alphanumeric "
                        "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                    )
                )
        elif rtype.key != ("", "events") and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                    "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'example.com', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                )
            )
        for key, value in (meta.get("labels") or {}).items():
            if not _valid_qualified_key(key):
                causes.append(
                    ("metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": invalid label key')
                )
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
                causes.append(
                    (
                        "metadata.labels",
                        "FieldValueInvalid",
                        f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                        "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                        "alphanumeric character",
                    )
                )
        annotations = meta.get("annotations") or {}
        for key, value in annotations.items():
            if not _valid_qualified_key(key):
                causes.append(
                    (
                        "metadata.annotations",
                        "FieldValueInvalid",
                        f'Invalid value: "{key}": invalid annotation key',
                    )
                )
            if not isinstance(value, str):
                raise errors.bad_request(f"annotation {key} must be a string")
        total = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
        if total > 256 * 1024:
            causes.append(
                ("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes")
            )
        refs = meta.get("ownerReferences") or []
        controllers = [ref for ref in refs if ref.get("controller")]
        if len(controllers) > 1:
            causes.append(
                (
                    "metadata.ownerReferences",
                    "FieldValueInvalid",
                    f"Invalid value: {_go_owner_refs(refs)}: "
                    "Only one reference can have Controller set to true. "
                    f'Found "true" in references for {" and ".join(_owner_name(r) for r in controllers)}',
                )
            )
        for index, ref in enumerate(refs):
            for required in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(required):
                    causes.append(
                        (
                            f"metadata.ownerReferences[{index}].{required}",
                            "FieldValueRequired",
                            "Required value",
                        )
                    )
        if causes:
            raise errors.invalid(rtype.kind, rtype.group, name, causes)

    # --- delete --------------------------------------------------------------------------------------

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> Result:
        options = options or {}
        current = self.store.get(rtype.key, namespace or "", name)
        if current is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        preconditions = options.get("preconditions") or {}
        meta = current["metadata"]
        if preconditions.get("uid") and preconditions["uid"] != meta["uid"]:
            raise errors.conflict(
                rtype.group,
                rtype.plural,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {meta['uid']}",
            )
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != meta["resourceVersion"]
        ):
            raise errors.conflict(
                rtype.group,
                rtype.plural,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{preconditions['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [
                    (
                        "propagationPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": '
                        'supported values: "Foreground", "Background", "Orphan", "nil"',
                    )
                ],
            )
        if rtype.key == NAMESPACE_KEY and name in IMMORTAL_NAMESPACES:
            # the NamespaceLifecycle admission plugin
            raise errors.forbidden("", "namespaces", name, "this namespace may not be deleted")
        if dry_run:
            return Result(self.view(rtype, current))
        if policy == "Orphan":
            self._orphan_dependents(meta["uid"])
        obj = copy.deepcopy(current)
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if (
            policy == "Foreground"
            and self.store.dependents(meta["uid"])
            and FOREGROUND not in finalizers
            and not meta.get("deletionTimestamp")
        ):
            finalizers.append(FOREGROUND)
            obj["metadata"]["finalizers"] = finalizers
        if rtype.key == NAMESPACE_KEY:
            return Result(self.view(rtype, self._delete_namespace(obj)))
        if not finalizers:
            removed = self._remove(rtype.key, obj)
            return Result(self.view(rtype, removed), removed=True)
        if meta.get("deletionTimestamp") and obj == current:
            return Result(self.view(rtype, current))
        self._mark_deleted(obj)
        stored = self.store.put(rtype.key, obj, "MODIFIED")
        self._after_write(rtype.key, stored)
        if FOREGROUND in finalizers:
            for dep_key, dependent in self.store.dependents(meta["uid"]):
                self._delete_quietly(dep_key, dependent)
            self._release_foreground(meta["uid"])
            stored = self.store.get(rtype.key, namespace or "", name) or stored
        if rtype.key == CRD_KEY:
            self._cleanup_crd(stored)
            stored = self.store.get(rtype.key, "", name) or stored
        return Result(self.view(rtype, stored))

    def delete_collection(
        self,
        rtype: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None,
        field_selector: str | None,
        options: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        listed = self.list(rtype, namespace, label_selector=label_selector, field_selector=field_selector)
        items = []
        for item in listed["items"]:
            meta = item["metadata"]
            try:
                result = self.delete(rtype, meta.get("namespace"), meta["name"], options, dry_run=dry_run)
            except ApiError as exc:
                if exc.code == 404:
                    continue
                raise
            items.append(result.obj)
        listed["items"] = items
        listed["metadata"]["resourceVersion"] = str(self.store.rv)
        return listed

    def _mark_deleted(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = rfc3339(self.clock())
            meta["deletionGracePeriodSeconds"] = 0
            if meta.get("generation"):
                meta["generation"] = int(meta["generation"]) + 1

    def _delete_quietly(self, key: Key, obj: dict[str, Any]) -> None:
        rtype = self._type_for_key(key)
        meta = obj["metadata"]
        if rtype is None:
            return
        try:
            self.delete(rtype, meta.get("namespace") or None, meta["name"])
        except ApiError as exc:
            if exc.code != 404:
                raise

    def _type_for_key(self, key: Key) -> ResourceType | None:
        for rtype in self._types.values():
            if rtype.key == key and rtype.group != "events.k8s.io":
                return rtype
        return None

    def _remove(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        removed = self.store.remove(key, obj)
        meta = removed["metadata"]
        for applied_key in [
            k for k in self._applied if k[:3] == (key, meta.get("namespace", ""), meta["name"])
        ]:
            del self._applied[applied_key]
        self._after_removed(key, removed)
        return removed

    def _after_write(self, key: Key, stored: dict[str, Any]) -> None:
        if key == CRD_KEY:
            self._register_crd(stored)
        refs = stored["metadata"].get("ownerReferences") or []
        if refs and all(self.store.by_uid(ref["uid"]) is None for ref in refs):
            # the garbage collector deletes dependents whose owners are all gone, also at creation
            self._delete_quietly(key, stored)

    def _after_removed(self, key: Key, removed: dict[str, Any]) -> None:
        meta = removed["metadata"]
        uid = meta["uid"]
        if key == CRD_KEY:
            self._unregister_crd(removed)
        for dep_key, dependent in self.store.dependents(uid):
            owners = dependent["metadata"].get("ownerReferences") or []
            if all(self.store.by_uid(ref["uid"]) is None for ref in owners):
                self._delete_quietly(dep_key, dependent)
        for ref in meta.get("ownerReferences") or []:
            self._release_foreground(ref["uid"])
        namespace = meta.get("namespace")
        if namespace and self.store.namespace_members(namespace) == 0:
            ns = self.store.get(NAMESPACE_KEY, "", namespace)
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self._finalize_namespace(ns)
        crd_name = f"{key[1]}.{key[0]}"
        if key[0] and key != CRD_KEY and self.store.count(key) == 0:
            crd = self.store.get(CRD_KEY, "", crd_name)
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                self._drop_finalizer(CRD_KEY, crd, CRD_CLEANUP)

    def _release_foreground(self, owner_uid: str) -> None:
        owner = self.store.by_uid(owner_uid)
        if owner is None or FOREGROUND not in (owner["metadata"].get("finalizers") or []):
            return
        if not self.store.dependents(owner_uid):
            key = self.store.key_of_uid(owner_uid)
            if key is not None:
                self._drop_finalizer(key, owner, FOREGROUND)

    def _drop_finalizer(self, key: Key, obj: dict[str, Any], finalizer: str) -> None:
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
            if new["metadata"].get("deletionTimestamp"):
                self._remove(key, new)
                return
        self.store.put(key, new, "MODIFIED")

    def _orphan_dependents(self, uid: str) -> None:
        for dep_key, dependent in self.store.dependents(uid):
            new = copy.deepcopy(dependent)
            refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self.store.put(dep_key, new, "MODIFIED")

    # --- namespaces and CRDs -------------------------------------------------------------------------

    def _delete_namespace(self, ns: dict[str, Any]) -> dict[str, Any]:
        name = ns["metadata"]["name"]
        if not ns["metadata"].get("deletionTimestamp"):
            self._mark_deleted(ns)
            ns["status"] = {
                "phase": "Terminating",
                "conditions": [
                    {
                        "type": "NamespaceDeletionContentFailure",
                        "status": "False",
                        "reason": "ContentDeleted",
                        "message": "All content successfully deleted, may be waiting on finalization",
                        "lastTransitionTime": rfc3339(self.clock()),
                    }
                ],
            }
            self.store.put(NAMESPACE_KEY, ns, "MODIFIED")
            for key in self.store.resource_keys():
                for obj in list(self.store.iter(key, name)):
                    self._delete_quietly(key, obj)
        current = self.store.get(NAMESPACE_KEY, "", name)
        if current is not None and self.store.namespace_members(name) == 0:
            self._finalize_namespace(current)
            current = self.store.get(NAMESPACE_KEY, "", name)
        return current or ns

    def _finalize_namespace(self, ns: dict[str, Any]) -> None:
        new = copy.deepcopy(ns)
        new.setdefault("spec", {})["finalizers"] = []
        if new["metadata"].get("finalizers"):
            self.store.put(NAMESPACE_KEY, new, "MODIFIED")
        else:
            self._remove(NAMESPACE_KEY, new)

    def _register_crd(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        for rtype in self._crd_types.pop(name, []):
            self._types.pop((rtype.group, rtype.version, rtype.plural), None)
        rtypes = types_from_crd(crd)
        self._crd_types[name] = rtypes
        for rtype in rtypes:
            self._types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        for rtype in self._crd_types.pop(name, []):
            self._types.pop((rtype.group, rtype.version, rtype.plural), None)
        self._admission.pop(name, None)
        spec = crd["spec"]
        self.store.drop_resource((spec["group"], spec["names"]["plural"]))

    def _cleanup_crd(self, crd: dict[str, Any]) -> None:
        key = (crd["spec"]["group"], crd["spec"]["names"]["plural"])
        for obj in list(self.store.iter(key, None)):
            self._delete_quietly(key, obj)
        current = self.store.get(CRD_KEY, "", crd["metadata"]["name"])
        if current is not None and self.store.count(key) == 0:
            self._drop_finalizer(CRD_KEY, current, CRD_CLEANUP)


_PATCH_TYPES_CUSTOM = [patches.JSON_PATCH, patches.MERGE_PATCH, patches.APPLY_PATCH, patches.APPLY_PATCH_CBOR]


_OMIT_EMPTY_META = ["labels", "annotations", "finalizers", "ownerReferences", "managedFields", "generateName"]


def _drop_empty(mapping: dict[str, Any], keys: list[str]) -> None:
    for key in keys:
        if key in mapping and mapping[key] in ({}, [], "", None):
            del mapping[key]


def _prepare_secret(rtype: ResourceType, obj: dict[str, Any]) -> None:
    import base64
    import binascii

    obj.setdefault("type", "Opaque")
    data = obj.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise errors.bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data for key {key!r}'
            ) from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        obj["data"] = data


def _check_immutable_data(rtype: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> None:
    causes: list[tuple[str, str, str]] = []
    if old.get("immutable"):
        if not new.get("immutable"):
            causes.append(
                ("immutable", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set")
            )
        for field_name in ("data", "binaryData"):
            if new.get(field_name) != old.get(field_name):
                causes.append(
                    (
                        field_name,
                        "FieldValueForbidden",
                        "Forbidden: field is immutable when `immutable` is set",
                    )
                )
    if rtype.plural == "secrets" and new.get("type") != old.get("type"):
        causes.append(
            ("type", "FieldValueInvalid", f'Invalid value: "{new.get("type")}": field is immutable')
        )
    if causes:
        raise errors.invalid(rtype.kind, rtype.group, new["metadata"]["name"], causes)


def _owner_name(ref: dict[str, Any]) -> str:
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _go_owner_refs(refs: list[dict[str, Any]]) -> str:
    return (
        "[]v1.OwnerReference{"
        + ", ".join(
            f'v1.OwnerReference{{Kind:"{r.get("kind", "")}", Name:"{r.get("name", "")}"}}' for r in refs
        )
        + "}"
    )


def _spec_part(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    skip = {"metadata", "apiVersion", "kind"}
    if rtype.status_subresource or not rtype.custom:
        skip.add("status")
    return {k: v for k, v in obj.items() if k not in skip}


def _pruned_paths(before: Any, after: Any, prefix: str) -> list[str]:
    out: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            path = f"{prefix}.{key}" if prefix else key
            if key not in after:
                out.append(path)
            else:
                out.extend(_pruned_paths(value, after[key], path))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            out.extend(_pruned_paths(b, a, f"{prefix}[{index}]"))
    return out


def _valid_qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def _go_strings(values: list[str]) -> str:
    return "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"


def _go_versions(versions: list[dict[str, Any]]) -> str:
    return "[]apiextensions.CustomResourceDefinitionVersion{...}" if versions else "null"


def _sorted_versions(versions: list[str]) -> list[str]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first, others alphabetically last."""

    def rank(version: str) -> tuple[int, int, int, str]:
        match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
        if not match:
            return (3, 0, 0, version)
        stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
        return (stage, -int(match.group(1)), -int(match.group(3) or 0), version)

    return sorted(versions, key=rank)


def _encode_continue(position: tuple[str, str]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    import base64
    import binascii
    import json

    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return (str(namespace), str(name))
    except (ValueError, binascii.Error, TypeError):
        raise errors.bad_request("continue key is not valid") from None
