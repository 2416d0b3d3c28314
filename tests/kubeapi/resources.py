"""Resource types the emulated API serves: the built-in ones and those registered by CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass
class ResourceType:
    """One resource (group/version/plural) with what discovery, tables and storage need to know."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    status_subresource: bool = False
    # Built-in types that keep a generation (CRDs; custom resources always do).
    has_generation: bool = False
    # Storage is shared by versions of one group/plural (and by the two Event APIs through `storage_key`).
    storage_key: tuple[str, str] | None = None
    custom: bool = False
    printer_columns: list[PrinterColumn] | None = None
    # field selectors a kube-apiserver accepts for this type, besides metadata.name and metadata.namespace
    selectable_fields: list[str] = field(default_factory=list)
    crd_name: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        return self.storage_key or (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def discovery(self) -> list[dict[str, Any]]:
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        if self.custom:
            main["storageVersionHash"] = ""
        out = [main]
        if self.status_subresource:
            out.append(
                {
                    "name": self.plural + "/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return out


def _object_reference_fields(prefix: str) -> list[str]:
    """The ObjectReference fields an Event can be selected by (the events' field label conversion)."""
    names = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]
    return [f"{prefix}.{name}" for name in names]


def builtin_types() -> list[ResourceType]:
    return [
        ResourceType(
            "",
            "v1",
            "namespaces",
            "namespace",
            "Namespace",
            False,
            short_names=["ns"],
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
            status_subresource=True,
            selectable_fields=["status.phase"],
        ),
        ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, short_names=["cm"]),
        ResourceType("", "v1", "secrets", "secret", "Secret", True, selectable_fields=["type"]),
        ResourceType(
            "",
            "v1",
            "events",
            "event",
            "Event",
            True,
            short_names=["ev"],
            storage_key=("", "events"),
            selectable_fields=[
                *_object_reference_fields("involvedObject"),
                "reason",
                "reportingComponent",
                "source",
                "type",
            ],
        ),
        ResourceType(
            "events.k8s.io",
            "v1",
            "events",
            "event",
            "Event",
            True,
            short_names=["ev"],
            storage_key=("", "events"),
            selectable_fields=[
                *_object_reference_fields("regarding"),
                "reason",
                "reportingController",
                "type",
            ],
        ),
        ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
        ResourceType(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            False,
            short_names=["crd", "crds"],
            categories=["api-extensions"],
            status_subresource=True,
            has_generation=True,
        ),
    ]


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of a CRD as resource types."""
    spec = crd["spec"]
    names = spec["names"]
    group = spec["group"]
    out = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        columns = [
            PrinterColumn(
                name=c["name"],
                type=c.get("type", "string"),
                json_path=c["jsonPath"],
                description=c.get("description", ""),
                format=c.get("format", ""),
                priority=int(c.get("priority", 0)),
            )
            for c in version.get("additionalPrinterColumns") or []
        ]
        out.append(
            ResourceType(
                group,
                version["name"],
                names["plural"],
                names.get("singular") or names["kind"].lower(),
                names["kind"],
                spec.get("scope", "Namespaced") == "Namespaced",
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                status_subresource="status" in subresources,
                has_generation=True,
                custom=True,
                printer_columns=columns,
                selectable_fields=[f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or []],
                crd_name=crd["metadata"]["name"],
            )
        )
    return out
