"""An in-memory stand-in for `azure_speech_operator.kube.KubeApi`, for unit tests of the runtime helpers."""

from __future__ import annotations

import base64
import copy
import itertools
import socket
from typing import Any

from azure_speech_operator.kube import (
    SPEECH_GROUP,
    SPEECH_VERSION,
    JsonObject,
    KubeConflictError,
    SecretData,
    decode_secret_data,
)


class FakeKube:
    """Secrets, ConfigMaps and custom objects in dicts; records every write."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], JsonObject] = {}
        self.config_maps: dict[tuple[str, str], JsonObject] = {}
        self.objects: dict[tuple[str, str, str], JsonObject] = {}
        self.writes: list[tuple[str, str, str]] = []
        self.secret_reads = 0
        self._versions = itertools.count(1)

    # setup helpers
    def put_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> JsonObject:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        }
        self.secrets[(namespace, name)] = secret
        return secret

    def put_object(self, plural: str, body: JsonObject) -> None:
        md = body["metadata"]
        self.objects[(plural, md["namespace"], md["name"])] = copy.deepcopy(body)

    # the KubeApi surface
    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.secret_reads += 1
        secret = self.secrets.get((namespace, name))
        return None if secret is None else decode_secret_data(secret)

    async def get_config_map(self, namespace: str, name: str) -> JsonObject | None:
        cm = self.config_maps.get((namespace, name))
        return copy.deepcopy(cm) if cm is not None else None

    async def create_config_map(self, namespace: str, body: JsonObject) -> JsonObject:
        name = body["metadata"]["name"]
        if (namespace, name) in self.config_maps:
            raise KubeConflictError(409, "AlreadyExists", "exists", operation="POST")
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        stored["metadata"]["uid"] = f"uid-{name}"
        self.config_maps[(namespace, name)] = stored
        self.writes.append(("create", namespace, name))
        return copy.deepcopy(stored)

    async def replace_config_map(self, namespace: str, name: str, body: JsonObject) -> JsonObject:
        current = self.config_maps[(namespace, name)]
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise KubeConflictError(409, "Conflict", "changed", operation="PUT")
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        self.config_maps[(namespace, name)] = stored
        self.writes.append(("replace", namespace, name))
        return copy.deepcopy(stored)

    async def delete_config_map(self, namespace: str, name: str, *, uid: str | None = None) -> bool:
        cm = self.config_maps.get((namespace, name))
        if cm is None:
            return False
        if uid is not None and cm["metadata"].get("uid") != uid:
            raise KubeConflictError(409, "Conflict", "uid precondition", operation="DELETE")
        del self.config_maps[(namespace, name)]
        self.writes.append(("delete", namespace, name))
        return True

    async def list_objects(
        self,
        plural: str,
        namespace: str,
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
        label_selector: str | None = None,
    ) -> list[JsonObject]:
        return [
            copy.deepcopy(o)
            for (p, ns, _), o in sorted(self.objects.items())
            if p == plural and ns == namespace
        ]

    async def patch_object(
        self,
        plural: str,
        namespace: str,
        name: str,
        patch: Any,
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
        **_: Any,
    ) -> JsonObject | None:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            return None
        _merge(obj, patch)
        self.writes.append(("patch", namespace, name))
        return copy.deepcopy(obj)


def _merge(target: JsonObject, patch: JsonObject) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
