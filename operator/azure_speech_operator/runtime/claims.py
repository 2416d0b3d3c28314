"""Which resource records which Azure endpoint as its own (created, or adopted and taken over: its
bookkeeping annotations), per kind, from the objects this process sees. An endpoint another live resource
records is not adopted through spec.endpointId: two owners would each delete it with their own deletion,
cutting the other's service.

Fed by every event of each kind (`handlers.feed_drift`); an object's claims go with its DELETED event. What
another operator (another shard) serves is not seen here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class EndpointClaims:
    def __init__(self) -> None:
        # (kind, endpoint id) -> {uid: "Kind namespace/name"} of the objects recording it
        self._owners: dict[tuple[str, str], dict[str, str]] = {}
        # (kind, uid) -> the endpoint ids that object records
        self._held: dict[tuple[str, str], frozenset[str]] = {}

    def update(self, kind: str, uid: str, ref: str, endpoints: Iterable[str]) -> None:
        """The endpoints object `uid` (shown as `ref`) records now."""
        new = frozenset(e.lower() for e in endpoints)
        old = self._held.get((kind, uid), frozenset())
        for endpoint_id in old - new:
            owners = self._owners.get((kind, endpoint_id), {})
            owners.pop(uid, None)
            if not owners:
                self._owners.pop((kind, endpoint_id), None)
        for endpoint_id in new:
            self._owners.setdefault((kind, endpoint_id), {})[uid] = ref
        if new:
            self._held[(kind, uid)] = new
        else:
            self._held.pop((kind, uid), None)

    def forget(self, kind: str, uid: str) -> None:
        self.update(kind, uid, "", ())

    def others(self, kind: str, endpoint_id: str | None, uid: str) -> Mapping[str, str]:
        """{endpoint id: the other object recording it} when an object other than `uid` records
        `endpoint_id`, else empty."""
        if not endpoint_id:
            return {}
        owners = self._owners.get((kind, endpoint_id.lower()), {})
        other = next((ref for owner, ref in sorted(owners.items()) if owner != uid), None)
        return {endpoint_id.lower(): other} if other is not None else {}
