"""Both Event APIs over one storage, as in kube-apiserver: objects are stored as core `v1` Events
and `events.k8s.io/v1` reads and writes are converted (`regarding` = `involvedObject`, `note` =
`message`, ...)."""

from __future__ import annotations

import copy
from typing import Any

# (events.k8s.io/v1 field, core/v1 field)
_RENAMES = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("deprecatedSource", "source"),
    ("reportingController", "reportingComponent"),
]


def to_core(event: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out["apiVersion"] = "v1"
    for new, old in _RENAMES:
        if new in out:
            out[old] = out.pop(new)
    out.setdefault("involvedObject", {})
    return out


def from_core(event: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out["apiVersion"] = "events.k8s.io/v1"
    source = out.get("source") or {}
    if not out.get("reportingComponent") and source.get("component"):
        out["reportingComponent"] = source["component"]
    if not out.get("reportingInstance") and source.get("host"):
        out["reportingInstance"] = source["host"]
    for new, old in _RENAMES:
        if old in out:
            value = out.pop(old)
            if value not in (None, {}, ""):
                out[new] = value
    return out
