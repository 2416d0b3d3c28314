"""Refusals (HTTP 401/403) of the Kubernetes API: transient for a grace from the first of a run, then blocked.

An API server that has just started answers 403 until its authorizer's caches are filled (a few seconds, seen
in tests/reliability/test_kube_faults.py). That is no missing RBAC rule: the resources it touches stay
Reconciling and are retried with the transient backoff, not Stalled for the blocked retry's minutes. A missing
rule refuses for longer than the grace and is then blocked as before. A run is kept per resource type and
namespace (what an RBAC rule grants); it ends with the first request of that kind that is let through, or
after an hour without a refusal (nothing asked meanwhile: the resources that met it are gone; a missing
rule is asked again well within the hour, by the blocked retries, so it stays blocked).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from azure_speech_operator.azure.types import ErrorClass, OperatorError

REFUSAL_GRACE: Final = timedelta(seconds=30)
RUN_EXPIRY: Final = timedelta(hours=1)

# (resource type, e.g. "secrets", namespace)
Refused = tuple[str, str]


class Refusals:
    """When the current run of refusals of each resource type and namespace began, in this process."""

    def __init__(self, grace: timedelta = REFUSAL_GRACE) -> None:
        self.grace = grace
        self._runs: dict[Refused, tuple[datetime, datetime]] = {}  # first and last refusal of the run

    def judge(self, error: OperatorError, refused: Refused, now: datetime) -> OperatorError:
        """The refusal `error` (blocked) as it is reported `now`: transient within the grace of its run."""
        first, last = self._runs.get(refused, (now, now))
        if now - last > RUN_EXPIRY:
            first = now
        self._runs[refused] = (first, now)
        if now - first >= self.grace:
            return error
        return OperatorError(error.reason, error.message, ErrorClass.TRANSIENT)

    def allowed(self, refused: Refused) -> None:
        """A request of this kind was let through: a later refusal starts a new run."""
        self._runs.pop(refused, None)

    def __len__(self) -> int:
        return len(self._runs)
