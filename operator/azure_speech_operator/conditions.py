"""metav1.Condition bookkeeping and the condition truth table shared by both kinds
(docs/speechendpoint.md, Conditions).

The reconcilers describe the situation once, as a `Health`; `truth_table` turns it into the Ready,
Available, Reconciling, Stalled (and Suspended) conditions of the table, and `merge_conditions` folds them
into the previous list so that `lastTransitionTime` moves only when a status flips and an unchanged
situation gives byte-for-byte the same list (no status write).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from azure_speech_operator.azure.errors import STATUS_CODES

ConditionStatus = Literal["True", "False", "Unknown"]

READY = "Ready"
AVAILABLE = "Available"
RECONCILING = "Reconciling"
STALLED = "Stalled"
SUSPENDED = "Suspended"
MODEL_EXPIRING = "ModelExpiring"
MODEL_EXPIRED = "ModelExpired"

# The order conditions are listed in; types not named here keep their place after these.
CONDITION_ORDER = (READY, AVAILABLE, RECONCILING, STALLED, SUSPENDED, MODEL_EXPIRING, MODEL_EXPIRED)


class Phase(StrEnum):
    """The rows of the truth table."""

    DEPLOYING = "deploying"
    READY = "ready"
    REDEPLOYING = "redeploying"  # speech: new model deploying / voice: swapping
    RETRYING = "retrying"  # transient or waiting error, retried
    STALLED = "stalled"  # fatal or blocked error: progress needs a change
    SUSPENDING = "suspending"
    SUSPENDED = "suspended"
    RESUMING = "resuming"


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Health:
    """One situation of the truth table.

    `reason`/`message` describe it (the Ready reason when Ready is False; an error code for RETRYING and
    STALLED). `available` None means "as before" (errors leave availability as it was).
    """

    phase: Phase
    reason: str
    message: str = ""
    available: bool | None = None
    available_message: str = ""
    suspended: bool | None = None  # None: the kind has no Suspended condition


_READY_REASONS = {
    Phase.DEPLOYING: "Deploying",
    Phase.REDEPLOYING: "Redeploying",
    Phase.SUSPENDING: "Suspending",
    Phase.RESUMING: "Resuming",
}


def truth_table(health: Health, previous: Sequence[Mapping[str, Any]] = ()) -> list[Condition]:
    """Ready, Available, Reconciling, Stalled (and Suspended) for a situation, per the truth table."""
    phase = health.phase
    ready = phase in (Phase.READY, Phase.SUSPENDED)
    reconciling = phase in (
        Phase.DEPLOYING,
        Phase.REDEPLOYING,
        Phase.RETRYING,
        Phase.SUSPENDING,
        Phase.RESUMING,
    )
    stalled = phase is Phase.STALLED

    available_message = health.available_message
    if health.available is not None:
        available = health.available
    elif phase in (Phase.DEPLOYING, Phase.SUSPENDING, Phase.SUSPENDED, Phase.RESUMING):
        available = False
    elif phase in (Phase.READY, Phase.REDEPLOYING):
        available = True
    else:  # errors: as before, and said as before (a passing error must not blank it: a write for nothing)
        before = find_condition(previous, AVAILABLE, default_status="False")
        available = before.status == "True"
        available_message = available_message or before.message

    reason = health.reason or _READY_REASONS.get(phase, phase.value.capitalize())
    conditions = [
        Condition(READY, "True", "Ready", health.message)
        if ready
        else Condition(READY, "False", reason, health.message),
        Condition(AVAILABLE, "True", "Serving", available_message)
        if available
        else Condition(AVAILABLE, "False", "NotServing", available_message),
        Condition(RECONCILING, "True", reason, health.message)
        if reconciling
        else Condition(RECONCILING, "False", "Idle"),
        Condition(STALLED, "True", reason, health.message)
        if stalled
        else Condition(STALLED, "False", "NotStalled"),
    ]
    if health.suspended is not None:
        # errors leave it as before, like Available
        was = find_condition(previous, SUSPENDED, default_status="False").status == "True"
        if phase is Phase.SUSPENDED or (phase in (Phase.RETRYING, Phase.STALLED) and was):
            conditions.append(Condition(SUSPENDED, "True", "Suspended", "disabled in Azure, as asked"))
        else:
            conditions.append(Condition(SUSPENDED, "False", "NotSuspended"))
    check_invariants(conditions)
    return conditions


_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")  # metav1.Condition's reason format


def safe_reason(reason: str | None, fallback: str = "Unknown") -> str:
    """A reason the API server accepts (CamelCase, `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`): Azure
    sometimes sends a bare HTTP status ("401") or a dotted code as its error code."""
    if reason and _REASON.match(reason):
        return reason
    text = (reason or "").strip()
    if text.isascii() and text.isdigit() and int(text) in STATUS_CODES:
        return STATUS_CODES[int(text)]
    words = re.findall(r"[A-Za-z0-9]+", text)
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    camel = camel.lstrip("0123456789")
    return camel[:1024] if camel and _REASON.match(camel) else fallback


def check_invariants(conditions: Iterable[Condition | Mapping[str, Any]]) -> None:
    """Never Reconciling and Stalled True together (kstatus and Argo CD would disagree)."""
    true_types = {_field(c, "type") for c in conditions if _field(c, "status") == "True"}
    if {RECONCILING, STALLED} <= true_types:
        raise ValueError("Reconciling and Stalled cannot both be True")


def _field(condition: Condition | Mapping[str, Any], name: str) -> Any:
    return condition.get(name) if isinstance(condition, Mapping) else getattr(condition, name)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as metav1.Time serialises."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def find_condition(
    conditions: Sequence[Mapping[str, Any]] | None, type_: str, default_status: ConditionStatus = "Unknown"
) -> Condition:
    for condition in conditions or ():
        if condition.get("type") == type_:
            return Condition(
                type_,
                condition.get("status", "Unknown"),
                condition.get("reason", ""),
                condition.get("message", ""),
            )
    return Condition(type_, default_status, "", "")


def is_true(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> bool:
    return find_condition(conditions, type_).status == "True"


def merge_conditions(
    previous: Sequence[Mapping[str, Any]] | None,
    desired: Iterable[Condition],
    *,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The new condition list: `desired` replaces conditions of the same type, others are kept.

    `lastTransitionTime` is kept unless the status flips; `observedGeneration` is set on every desired
    condition. Order: CONDITION_ORDER first, then any other types in their previous order.
    """
    by_type: dict[str, dict[str, Any]] = {}
    for item in previous or ():
        if isinstance(item, Mapping) and "type" in item:
            by_type[str(item["type"])] = dict(item)
    stamp = format_time(now)
    for condition in desired:
        old = by_type.get(condition.type) or {}
        flipped = old.get("status") != condition.status or not old.get("lastTransitionTime")
        by_type[condition.type] = {
            "type": condition.type,
            "status": condition.status,
            "reason": safe_reason(condition.reason),
            "message": condition.message,
            "lastTransitionTime": stamp if flipped else old["lastTransitionTime"],
            "observedGeneration": generation,
        }
    ordered = [by_type.pop(t) for t in CONDITION_ORDER if t in by_type]
    ordered.extend(by_type.values())
    check_invariants(ordered)
    return ordered


def transitions(
    previous: Sequence[Mapping[str, Any]] | None, current: Sequence[Mapping[str, Any]]
) -> list[tuple[Condition | None, Condition]]:
    """(old, new) for each condition whose status or reason changed: what events are posted about."""
    changed: list[tuple[Condition | None, Condition]] = []
    old_types = {c.get("type") for c in previous or ()}
    for item in current:
        type_ = str(item["type"])
        new = find_condition(current, type_)
        old = find_condition(previous, type_) if type_ in old_types else None
        if old is None or (old.status, old.reason) != (new.status, new.reason):
            changed.append((old, new))
    return changed
