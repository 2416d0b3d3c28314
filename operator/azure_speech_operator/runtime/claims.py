"""Which resource records which Azure endpoint as its own (created, or adopted and taken over: its
bookkeeping annotations), per kind, from the objects this process sees. An endpoint another live resource
records is not adopted through spec.endpointId: two owners would each delete it with their own deletion,
cutting the other's service. Where two already record one (taken over before this check, or in a race), the
resource that created it keeps it, else the older one; the other is refused as if it had never taken it over.

Fed by every event of each kind (`handlers.feed_drift`); an object's claims go with its DELETED event. What
another operator (another shard) serves is not seen here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Claim:
    """How strong an object's claim on an endpoint is: lower wins."""

    adopted: bool  # False: the operator created it for that object
    created_at: str  # the object's creationTimestamp (RFC 3339 in UTC: ordered as text)
    uid: str
    ref: str = ""  # "Kind namespace/name", as messages name it


class EndpointClaims:
    def __init__(self) -> None:
        # (kind, endpoint id) -> {uid: its claim} of the objects recording it
        self._owners: dict[tuple[str, str], dict[str, Claim]] = {}
        # (kind, uid) -> the endpoint ids that object records
        self._held: dict[tuple[str, str], frozenset[str]] = {}

    def update(
        self,
        kind: str,
        uid: str,
        ref: str,
        endpoints: Iterable[str],
        *,
        adopted: str | None = None,
        created_at: str = "",
    ) -> None:
        """The endpoints object `uid` (shown as `ref`, created at `created_at`) records now; `adopted`: the
        one of them it adopted."""
        new = frozenset(e.lower() for e in endpoints)
        old = self._held.get((kind, uid), frozenset())
        for endpoint_id in old - new:
            owners = self._owners.get((kind, endpoint_id), {})
            owners.pop(uid, None)
            if not owners:
                self._owners.pop((kind, endpoint_id), None)
        taken = adopted.lower() if adopted else None
        for endpoint_id in new:
            claim = Claim(endpoint_id == taken, created_at, uid, ref)
            self._owners.setdefault((kind, endpoint_id), {})[uid] = claim
        if new:
            self._held[(kind, uid)] = new
        else:
            self._held.pop((kind, uid), None)

    def forget(self, kind: str, uid: str) -> None:
        self.update(kind, uid, "", ())

    def others(self, kind: str, endpoint_id: str | None, uid: str) -> Mapping[str, str]:
        """{endpoint id: the object whose claim on it wins over `uid`'s} (any other object's, when `uid`
        records none), else empty."""
        if not endpoint_id:
            return {}
        owners = self._owners.get((kind, endpoint_id.lower()), {})
        own = owners.get(uid)
        rivals = sorted(claim for owner, claim in owners.items() if owner != uid)
        if rivals and (own is None or rivals[0] < own):
            return {endpoint_id.lower(): rivals[0].ref}
        return {}
