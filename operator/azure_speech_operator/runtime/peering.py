"""The kopf peering object of `--peering NAME`, created at start when it is missing.

With mandatory peering, kopf keeps the operator paused until it sees its peering object, and never creates
one itself: a forgotten object would leave every replica paused and silent. So each replica creates it
(409, already there, is the normal case). Cluster-wide operators share a ClusterKopfPeering; an operator with
`--namespace` peers in a KopfPeering in each watched namespace, created here for the exact names (a glob's
namespaces are not known before kopf lists them: those objects are the installer's, docs/operations.md).

kopf keeps the operator paused, in every namespace, while a watched namespace has no peering object, and says
so only in a DEBUG line of its keep-alive: `missing_object_warnings` makes that a WARNING, once per namespace.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Final, Protocol

from azure_speech_operator.kube import JsonObject, KubeApiError, KubeConflictError

PEERING_GROUP: Final = "kopf.dev"
PEERING_VERSION: Final = "v1"
GLOB_CHARACTERS: Final = frozenset("*?[]!")

logger = logging.getLogger(__name__)


class Requester(Protocol):
    async def request(self, method: str, path: str, *, body: object = ...) -> JsonObject | None: ...


class PeeringMissing(RuntimeError):
    """kopf's peering CRDs are not installed: the operator cannot peer."""


def peering_objects(name: str, namespaces: Sequence[str]) -> list[tuple[str, JsonObject]]:
    """(collection path, object) of each peering object this operator can create."""
    base = f"/apis/{PEERING_GROUP}/{PEERING_VERSION}"
    api_version = f"{PEERING_GROUP}/{PEERING_VERSION}"
    if not namespaces:
        return [(f"{base}/clusterkopfpeerings", _body(api_version, "ClusterKopfPeering", name))]
    return [
        (f"{base}/namespaces/{namespace}/kopfpeerings", _body(api_version, "KopfPeering", name))
        for namespace in namespaces
        if not GLOB_CHARACTERS & set(namespace)
    ]


def _body(api_version: str, kind: str, name: str) -> JsonObject:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


async def ensure_peering_objects(kube: Requester, name: str, namespaces: Sequence[str]) -> None:
    """Create the missing peering objects. Raises PeeringMissing when kopf's CRDs are not installed; a
    namespace that does not exist yet is a WARNING (without peering the operator waits for it too)."""
    for path, body in peering_objects(name, namespaces):
        namespace = _namespace_of(path)
        try:
            await kube.request("POST", path, body=body)
        except KubeConflictError:
            continue  # another replica (or the installer) created it
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            if namespace is not None and _no_such_namespace(exc, namespace):
                logger.warning(
                    "--peering %s: namespace %s does not exist: no KopfPeering %s is created there, and "
                    "kopf pauses the operator while a namespace it watches has none: once the namespace "
                    "exists, restart the operator (it creates the KopfPeering at start) or create it",
                    name,
                    namespace,
                    name,
                )
                continue
            said = f" ({exc.message})" if exc.message else ""
            raise PeeringMissing(
                f"--peering {name}: cannot create {body['kind']} {name}{said}: are kopf's peering CRDs "
                "installed (deploy/peering/crds.yaml, or the chart's peering.installCRDs)?"
            ) from None
        logger.info("created %s %s for the peering", body["kind"], name)


_NAMESPACED_PATH = re.compile(r"/namespaces/(?P<namespace>[^/]+)/")


def _namespace_of(path: str) -> str | None:
    found = _NAMESPACED_PATH.search(path)
    return found["namespace"] if found else None


def _no_such_namespace(exc: KubeApiError, namespace: str) -> bool:
    """A create refused because its namespace does not exist: the API server's NotFound Status for the
    namespace (details.kind "namespaces"). A missing CRD is a bare `404 page not found`, no Status."""
    return exc.message == f'namespaces "{namespace}" not found'


# kopf's keep-alive found no peering object to write its record into (kopf/_core/engines/peering.py: touch).
KOPF_PEERING_LOGGER: Final = "kopf._core.engines.peering"
_KEEPALIVE_NOT_FOUND = re.compile(
    r"Keep-alive in '(?P<name>[^']*)' (in '(?P<namespace>[^']*)'|cluster-wide): not found\.$"
)


class MissingPeeringObject(logging.Filter):
    """On kopf's peering logger, opened to DEBUG for it: the first keep-alive per namespace that finds no
    peering object becomes a WARNING saying what to do; kopf's other records below `level` (the logger's
    level before) are dropped."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self._warned: set[str | None] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        found = _KEEPALIVE_NOT_FOUND.match(record.getMessage())
        if found is None or found["namespace"] in self._warned:
            return record.levelno >= self.level
        self._warned.add(found["namespace"])
        name, namespace = found["name"], found["namespace"]
        where = f"KopfPeering {name} in namespace {namespace}" if namespace else f"ClusterKopfPeering {name}"
        record.levelno, record.levelname, record.args = logging.WARNING, "WARNING", None
        record.msg = (
            f"peering: there is no {where}: kopf keeps the operator paused, in every namespace, until it "
            "exists (create it: docs/operations.md, Replicas and peering)"
        )
        return True


@contextlib.contextmanager
def missing_object_warnings() -> Iterator[None]:
    """While kopf runs with peering: a WARNING naming each peering object kopf's keep-alive cannot find."""
    kopf_logger = logging.getLogger(KOPF_PEERING_LOGGER)
    before = kopf_logger.level
    warner = MissingPeeringObject(kopf_logger.getEffectiveLevel())
    kopf_logger.setLevel(logging.DEBUG)
    kopf_logger.addFilter(warner)
    try:
        yield
    finally:
        kopf_logger.removeFilter(warner)
        kopf_logger.setLevel(before)
