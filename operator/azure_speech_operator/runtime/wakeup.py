"""Wake a sleeping handler when its object changes.

kopf does not re-run a handler that is waiting out a `TemporaryError(delay=...)` when the object changes
meanwhile: the change waits until the delay ends (kopf's handler state is "sleeping", and a new diff does not
reset it). A resource blocked for 30 minutes would then ignore a fixed spec, a `reconcile-requested-at`
or a rotated-credentials mark for up to 30 minutes.

This module watches the served kinds with an event handler, which kopf runs in every processing cycle of
an object. It follows the object's essence (what kopf diffs: spec, labels, annotations outside kopf's storage
prefix) from cycle to cycle. When a sleeping progress record appears, the handler slept on an essence it saw
in one of the cycles since the object was last idle (essence equal to kopf's last-handled one) or since the
previous sleep; the earliest of those is taken, so that a change made while the handler ran is never lost.
Whenever the object's essence differs from the one a sleeping handler slept on, that record's `delayed` is
cleared through kopf's own `patch` (applied at the end of the cycle); the resulting event finds the handler
awake and kopf runs it with the new diff. A handler that sleeps again on the essence it ran with stays
asleep: one wake per change, never a loop.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import kopf

from azure_speech_operator.reconcile import KOPF_PREFIX

# kopf's records of the operator (runner.build_kopf_settings): progress and the last-handled essence, as
# annotations under the operator's prefix, outside kopf's diff.
PROGRESS_STORAGE = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX, v1=False)
DIFFBASE_STORAGE = kopf.AnnotationsDiffBaseStorage(prefix=KOPF_PREFIX, v1=False)

# The fields of kopf's ProgressRecord (kopf/_cogs/configs/progress.py).
PROGRESS_KEYS = frozenset(
    {"started", "stopped", "delayed", "purpose", "retries", "success", "failure", "message", "subrefs"}
)


def _digest(essence: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(essence, sort_keys=True, default=str).encode()).hexdigest()


def essence_digest(body: kopf.Body) -> str:
    """A digest of the part of the object that kopf's diff looks at, with kopf's own storages."""
    return _digest(PROGRESS_STORAGE.clear(essence=DIFFBASE_STORAGE.build(body=_diffed_part(body))))


def _diffed_part(body: kopf.Body) -> kopf.Body:
    """The part of the object kopf's essence is built from: all but the status and the metadata other than
    labels and annotations. kopf's `build` deep-copies what it is given before dropping those, and the
    status is most of an object; this runs for every event."""
    metadata = body.get("metadata") or {}
    part = {key: value for key, value in body.items() if key not in ("metadata", "status")}
    part["metadata"] = {
        key: metadata[key] for key in ("name", "namespace", "labels", "annotations") if key in metadata
    }
    return kopf.Body(cast(kopf.RawBody, part))


def last_handled_digest(body: kopf.Body) -> str | None:
    """The digest of the essence kopf last handled completely (its diff base), None if there is none."""
    stored = DIFFBASE_STORAGE.fetch(body=body)
    return None if stored is None else _digest(PROGRESS_STORAGE.clear(essence=stored))


def sleeping_records(annotations: Mapping[str, str], prefix: str) -> dict[str, dict[str, Any]]:
    """kopf progress records (annotations under `prefix`) of handlers waiting for a delay."""
    sleeping = {}
    for key, value in annotations.items():
        if not key.startswith(f"{prefix}/"):
            continue
        try:
            record = json.loads(value)
        except (TypeError, ValueError):
            continue  # the operator's own marks under the prefix are plain strings
        if not isinstance(record, dict) or not PROGRESS_KEYS.issuperset(record) or "started" not in record:
            continue
        if record.get("delayed") and not record.get("success") and not record.get("failure"):
            sleeping[key] = record
    return sleeping


def awake(record: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in record.items() if k != "delayed"}, separators=(",", ":"))


@dataclass
class WakeTracker:
    """Per object: which essence each sleeping record slept on."""

    prefix: str
    # The earliest essence of the cycles, since the object was last idle or a handler last went to sleep,
    # in which a handler could run: a handler that goes to sleep next ran with this essence or a newer one.
    candidate: str | None = None
    sleeps: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (raw record, essence)

    def observe(self, essence: str, annotations: Mapping[str, str], *, idle: bool) -> dict[str, str]:
        """One processing cycle: the progress annotations to write to wake the handlers that must wake.

        `idle`: the essence equals kopf's last-handled one (nothing left to handle)."""
        sleeping = sleeping_records(annotations, self.prefix)
        woken = {}
        for key, record in sleeping.items():
            raw = annotations[key]
            known = self.sleeps.get(key)
            if known is None or known[0] != raw:
                slept_on = self.candidate if self.candidate is not None else essence
                self.sleeps[key] = known = (raw, slept_on)
                self.candidate = None
            if known[1] != essence:
                woken[key] = awake(record)
        for key in set(self.sleeps) - set(sleeping):
            del self.sleeps[key]
        # A handler can run in this cycle (or the next, once woken) only if none is left asleep.
        if idle:
            self.candidate = None
        elif self.candidate is None and set(sleeping) <= set(woken):
            self.candidate = essence
        return woken


def forget_managed_fields(body: kopf.Body) -> None:
    """Drops `metadata.managedFields` from kopf's copy of the object, in place. The server's field ownership
    is over half of an object in memory (about 15 of 26 KB with four field managers), and neither kopf nor
    the operator reads it: kopf's patches are built from handlers' changes, never from this copy. The
    per-event handler runs first in every processing cycle, so kopf's copy (kept while the object has
    events), the passes' copies and the drift schedule's frozen one never hold it."""
    metadata = body.get("metadata")
    if isinstance(metadata, dict):  # kopf's own parsed dict, which a view's item access returns as it is
        metadata.pop("managedFields", None)


def register_wakeup(
    registry: kopf.OperatorRegistry | None,
    group: str,
    version: str,
    plural: str,
    also: Callable[[Mapping[str, Any], kopf.Body, Any], None] | None = None,
) -> None:
    """The kind's one per-event handler (kopf runs it first in every processing cycle of every object, and
    its per-handler work once): drops managedFields from kopf's copy, calls `also` (runtime/handlers.py
    feeds the drift schedule) with the event, kopf's copy and the memo, and wakes the handlers that must
    wake."""

    @kopf.on.event(group, version, plural, id=f"wakeup-{plural}", registry=registry)
    async def wake_on_change(
        event: Mapping[str, Any], body: kopf.Body, patch: kopf.Patch, memo: Any, logger: kopf.Logger, **_: Any
    ) -> None:
        forget_managed_fields(body)
        if also is not None:
            also(event, body, memo)
        if event.get("type") == "DELETED":
            return
        tracker = getattr(memo, "wakeup_tracker", None)
        if not isinstance(tracker, WakeTracker):
            tracker = memo.wakeup_tracker = WakeTracker(KOPF_PREFIX)
        essence = essence_digest(body)
        idle = last_handled_digest(body) == essence
        woken = tracker.observe(essence, body.metadata.annotations, idle=idle)
        for key, value in woken.items():
            patch.metadata.annotations[key] = value
        if woken:
            logger.debug("changed while waiting to retry: retrying now")
