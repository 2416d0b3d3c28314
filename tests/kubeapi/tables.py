"""`meta.k8s.io/v1` Table responses, which `kubectl get` asks for to print columns (CRD printer columns
too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .jsonpath import evaluate
from .resources import PrinterColumn, ResourceType

_NAME = PrinterColumn("Name", "string", ".metadata.name", "Name must be unique within a namespace.", "name")
_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "CreationTimestamp is a timestamp.")

_BUILTIN_COLUMNS: dict[tuple[str, str], list[PrinterColumn]] = {
    ("", "namespaces"): [_NAME, PrinterColumn("Status", "string", ".status.phase"), _AGE],
    ("", "configmaps"): [_NAME, PrinterColumn("Data", "integer", "@count:.data"), _AGE],
    ("", "secrets"): [
        _NAME,
        PrinterColumn("Type", "string", ".type"),
        PrinterColumn("Data", "integer", "@count:.data"),
        _AGE,
    ],
    ("", "events"): [
        PrinterColumn("Last Seen", "date", "@lastseen"),
        PrinterColumn("Type", "string", ".type"),
        PrinterColumn("Reason", "string", ".reason"),
        PrinterColumn("Object", "string", "@object"),
        PrinterColumn("Message", "string", "@message"),
    ],
    ("coordination.k8s.io", "leases"): [
        _NAME,
        PrinterColumn("Holder", "string", ".spec.holderIdentity"),
        _AGE,
    ],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        _NAME,
        PrinterColumn("Created At", "date", ".metadata.creationTimestamp"),
    ],
}


def columns_for(rtype: ResourceType) -> list[PrinterColumn]:
    if rtype.custom:
        if rtype.printer_columns:
            return [_NAME, *rtype.printer_columns]
        return [_NAME, _AGE]
    return _BUILTIN_COLUMNS.get(rtype.key, [_NAME, _AGE])


def human_duration(seconds: float) -> str:
    """apimachinery's `duration.HumanDuration`, which kube-apiserver uses for date cells."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(value: Any, now: datetime) -> Any:
    if not isinstance(value, str):
        return "<unknown>" if value is None else value
    try:
        moment = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return "<invalid>"
    return human_duration((now - moment).total_seconds())


def _cell(column: PrinterColumn, obj: dict[str, Any], now: datetime) -> Any:
    if column.type == "date":
        return _age(_raw_cell(column, obj), now)
    return _raw_cell(column, obj)


def _raw_cell(column: PrinterColumn, obj: dict[str, Any]) -> Any:
    path = column.json_path
    if path.startswith("@count:"):
        return len(obj.get(path[len("@count:") :].lstrip(".")) or {})
    if path == "@object":
        ref = obj.get("involvedObject") or obj.get("regarding") or {}
        return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"
    if path == "@message":  # one printer for both Event APIs, as kube-apiserver's internal Event has
        return obj.get("message") or obj.get("note")
    if path == "@lastseen":
        return (
            obj.get("lastTimestamp")
            or obj.get("deprecatedLastTimestamp")
            or obj.get("eventTime")
            or obj["metadata"].get("creationTimestamp")
        )
    try:
        values = evaluate(path, obj)
    except ValueError:
        return None
    if not values:
        return None
    value = values[0] if len(values) == 1 else values
    if column.type == "string" and not isinstance(value, str):
        return (
            json.dumps(value)
            if isinstance(value, dict | list)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
    if column.type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column.type == "boolean":
        return bool(value)
    return value


def _definition(column: PrinterColumn) -> dict[str, Any]:
    return {
        "name": column.name,
        "type": column.type,
        "format": column.format,
        "description": column.description,
        "priority": column.priority,
    }


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(
    rtype: ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: str,
    include_object: str = "PartialObjectMetadata",
    list_meta: dict[str, Any] | None = None,
    now: datetime | None = None,
    no_headers: bool = False,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    columns = columns_for(rtype)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [_cell(c, obj, now) for c in columns]}
        row_object = _row_object(obj, include_object)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    metadata = dict(list_meta or {})
    metadata["resourceVersion"] = resource_version
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [] if no_headers else [_definition(c) for c in columns],
        "rows": rows,
    }
