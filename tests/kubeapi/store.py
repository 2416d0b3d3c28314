"""Storage: one resourceVersion counter for everything, objects indexed by resource and namespace, a bounded
history per resource for watches that resume from a resourceVersion, and the fan-out to open watches.

Every mutation runs synchronously on the server's event loop, so events reach each watch in resourceVersion
order without locks.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (group, plural) of the storage


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    # the state before this event (None for ADDED), so filtered watches see objects leave their selection
    prev: dict[str, Any] | None = None


@dataclass(eq=False)
class Watcher:
    key: Key
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def offer(self, event: Event) -> None:
        if self.namespace is not None and event.obj["metadata"].get("namespace") != self.namespace:
            return
        self.queue.put_nowait(event)


class Store:
    def __init__(self, history_limit: int = 2000) -> None:
        self.rv = 1
        self.history_limit = history_limit
        self._objects: dict[Key, dict[str, dict[str, dict[str, Any]]]] = {}
        self._history: dict[Key, list[Event]] = {}
        self._history_rvs: dict[Key, list[int]] = {}
        # Events up to and including this resourceVersion are no longer retained for the resource.
        self._compacted: dict[Key, int] = {}
        self._watchers: dict[Key, set[Watcher]] = {}
        self._by_uid: dict[str, tuple[Key, str, str]] = {}
        self._dependents: dict[str, set[str]] = {}
        self._namespace_members: dict[str, int] = {}

    # --- reads ---------------------------------------------------------------------------------------

    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(key, {}).get(namespace, {}).get(name)

    def iter(self, key: Key, namespace: str | None) -> Iterator[dict[str, Any]]:
        """Objects of a resource in (namespace, name) order, as etcd lists them."""
        by_ns = self._objects.get(key, {})
        namespaces = [namespace] if namespace is not None else sorted(by_ns)
        for ns in namespaces:
            objects = by_ns.get(ns, {})
            for name in sorted(objects):
                yield objects[name]

    def count(self, key: Key) -> int:
        return sum(len(v) for v in self._objects.get(key, {}).values())

    def by_uid(self, uid: str) -> dict[str, Any] | None:
        where = self._by_uid.get(uid)
        if where is None:
            return None
        return self.get(*where)

    def key_of_uid(self, uid: str) -> Key | None:
        where = self._by_uid.get(uid)
        return where[0] if where else None

    def dependents(self, uid: str) -> list[tuple[Key, dict[str, Any]]]:
        out = []
        for dep_uid in sorted(self._dependents.get(uid, ())):
            where = self._by_uid.get(dep_uid)
            if where is not None:
                obj = self.get(*where)
                if obj is not None:
                    out.append((where[0], obj))
        return out

    def namespace_members(self, namespace: str) -> int:
        return self._namespace_members.get(namespace, 0)

    def resource_keys(self) -> list[Key]:
        return list(self._objects)

    # --- writes --------------------------------------------------------------------------------------

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, key: Key, obj: dict[str, Any], event_type: str) -> dict[str, Any]:
        """Stores the object under a new resourceVersion and tells the watches; returns the stored copy."""
        meta = obj["metadata"]
        rv = self.next_rv()
        meta["resourceVersion"] = str(rv)
        namespace = meta.get("namespace", "")
        objects = self._objects.setdefault(key, {}).setdefault(namespace, {})
        old = objects.get(meta["name"])
        if old is None and namespace:
            self._namespace_members[namespace] = self._namespace_members.get(namespace, 0) + 1
        if old is not None:
            self._unindex_owners(old)
        objects[meta["name"]] = obj
        self._by_uid[meta["uid"]] = (key, namespace, meta["name"])
        for ref in meta.get("ownerReferences") or []:
            self._dependents.setdefault(ref.get("uid", ""), set()).add(meta["uid"])
        self._record(key, Event(rv, event_type, obj, old))
        return obj

    def remove(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        objects = self._objects.get(key, {}).get(namespace, {})
        old = objects.pop(meta["name"], None)
        if old is not None:
            self._unindex_owners(old)
            if namespace:
                self._namespace_members[namespace] -= 1
        self._by_uid.pop(meta["uid"], None)
        rv = self.next_rv()
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(rv)
        self._record(key, Event(rv, "DELETED", obj, old))
        return obj

    def drop_resource(self, key: Key) -> None:
        self._objects.pop(key, None)

    def _unindex_owners(self, obj: dict[str, Any]) -> None:
        uid = obj["metadata"]["uid"]
        for ref in obj["metadata"].get("ownerReferences") or []:
            deps = self._dependents.get(ref.get("uid", ""))
            if deps is not None:
                deps.discard(uid)
                if not deps:
                    self._dependents.pop(ref.get("uid", ""), None)

    def _record(self, key: Key, event: Event) -> None:
        history = self._history.setdefault(key, [])
        rvs = self._history_rvs.setdefault(key, [])
        history.append(event)
        rvs.append(event.rv)
        if len(history) > 2 * self.history_limit:
            cut = len(history) - self.history_limit
            self._compacted[key] = rvs[cut - 1]
            del history[:cut]
            del rvs[:cut]
        for watcher in list(self._watchers.get(key, ())):
            watcher.offer(event)

    # --- watches -------------------------------------------------------------------------------------

    def compacted_rv(self, key: Key) -> int:
        return self._compacted.get(key, 0)

    def history_since(self, key: Key, rv: int) -> list[Event]:
        """Retained events after `rv`; the caller checks `compacted_rv` first."""
        rvs = self._history_rvs.get(key, [])
        start = bisect.bisect_right(rvs, rv)
        return self._history.get(key, [])[start:]

    def add_watcher(self, watcher: Watcher) -> None:
        self._watchers.setdefault(watcher.key, set()).add(watcher)

    def remove_watcher(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.key, set()).discard(watcher)

    def close_watchers(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)
