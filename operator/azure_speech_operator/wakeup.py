"""Wake a sleeping handler when its object changes.

kopf does not re-run a handler that is waiting out a `TemporaryError(delay=...)` when the object changes
meanwhile: the change waits until the delay ends (kopf's handler state is "sleeping", and a new diff does not
reset it). A resource blocked for 30 minutes would then ignore a fixed spec, a `reconcile-requested-at`
or a rotated-credentials mark for up to 30 minutes.

This module watches the served kinds with an event handler. When an object's essence (what kopf diffs:
spec, labels, annotations outside kopf's storage prefix) differs from the essence seen at its previous event
and a handler of it is sleeping, it clears that handler's `delayed` in kopf's progress record (through kopf's
own `patch`, applied at the end of the cycle). The resulting event finds the handler awake and kopf runs it
with the new diff. One wake per distinct change: the woken handler may sleep again without being woken again.
The initial listing (type None) only records the essence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import kopf

# The fields of kopf's ProgressRecord (kopf/_cogs/configs/progress.py).
PROGRESS_KEYS = frozenset(
    {"started", "stopped", "delayed", "purpose", "retries", "success", "failure", "message", "subrefs"}
)


def essence_digest(kopf_settings: kopf.OperatorSettings, body: kopf.Body) -> str:
    """A digest of the part of the object that kopf's diff looks at, with kopf's own storages."""
    persistence = kopf_settings.persistence
    essence = persistence.progress_storage.clear(essence=persistence.diffbase_storage.build(body=body))
    return hashlib.sha256(json.dumps(essence, sort_keys=True, default=str).encode()).hexdigest()


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


def wake_annotations(annotations: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The progress annotations to write so that every sleeping handler is awake."""
    woken = {}
    for key, record in sleeping_records(annotations, prefix).items():
        awake = {k: v for k, v in record.items() if k != "delayed"}
        woken[key] = json.dumps(awake, separators=(",", ":"))
    return woken


def register_wakeup(
    registry: kopf.OperatorRegistry,
    kopf_settings: kopf.OperatorSettings,
    prefix: str,
    group: str,
    version: str,
    plural: str,
) -> None:
    @kopf.on.event(group, version, plural, id=f"wakeup-{plural}", registry=registry)
    async def wake_on_change(
        event: Mapping[str, Any], body: kopf.Body, patch: kopf.Patch, memo: Any, logger: kopf.Logger, **_: Any
    ) -> None:
        if event.get("type") in (None, "DELETED"):
            memo.wakeup_digest = essence_digest(kopf_settings, body)
            return
        digest = essence_digest(kopf_settings, body)
        previous = getattr(memo, "wakeup_digest", None)
        memo.wakeup_digest = digest
        if previous is None or previous == digest:
            return
        woken = wake_annotations(body.metadata.annotations, prefix)
        for key, value in woken.items():
            patch.metadata.annotations[key] = value
        if woken:
            logger.info("changed while waiting to retry: retrying now")
