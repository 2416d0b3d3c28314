"""In-memory stand-ins for the runtime's unit tests: `FakeKube` for `azure_speech_operator.kube.KubeApi`, and
`GADGET`, a kind that is not about speech (its plan does what the object's script annotation lists), with
`FakeAzure`, its Azure."""

from __future__ import annotations

import base64
import copy
import itertools
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from azure_speech_operator.azure.types import Credential, OperatorError
from azure_speech_operator.conditions import Health, Phase, merge_conditions, truth_table
from azure_speech_operator.kube import (
    SPEECH_GROUP,
    SPEECH_VERSION,
    JsonObject,
    KubeApiError,
    KubeConflictError,
    SecretData,
    decode_secret_data,
)
from azure_speech_operator.reconcile import (
    FINALIZER,
    ClearCreatePending,
    Event,
    Export,
    MarkCreatePending,
    ObservedBase,
    Outcome,
    Pass,
    RecordEndpointId,
    ResourceBase,
    ResourceStep,
    Retry,
    Unexport,
    metadata_fields,
)
from azure_speech_operator.runtime.kind import Kind


def secret_body(namespace: str, name: str, data: dict[str, bytes]) -> JsonObject:
    """A Secret as the API server stores it (values base64-encoded)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def _selected(obj: JsonObject, label_selector: str | None) -> bool:
    """The API server's label filter, for the `key=value,...` selectors the tests use."""
    labels = obj["metadata"].get("labels") or {}
    for requirement in (label_selector or "").split(","):
        if requirement:
            key, value = requirement.split("=")
            if labels.get(key) != value:
                return False
    return True


class FakeKube:
    """Secrets, ConfigMaps and custom objects in dicts; records every write."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], JsonObject] = {}
        self.config_maps: dict[tuple[str, str], JsonObject] = {}
        self.objects: dict[tuple[str, str, str], JsonObject] = {}
        self.writes: list[tuple[str, str, str]] = []
        self.patches: list[tuple[str, str, Any, str | None]] = []  # plural, name, patch, subresource
        self.secret_reads = 0
        self.object_reads = 0
        self.terminating: set[str] = set()  # namespaces being deleted
        self._versions = itertools.count(1)

    # setup helpers
    def put_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> JsonObject:
        secret = secret_body(namespace, name, data)
        self.secrets[(namespace, name)] = secret
        return secret

    def put_object(self, plural: str, body: JsonObject) -> None:
        md = body["metadata"]
        self.objects[(plural, md["namespace"], md["name"])] = copy.deepcopy(body)

    # the KubeApi surface
    async def get_object(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        group: str = SPEECH_GROUP,
        version: str = SPEECH_VERSION,
    ) -> JsonObject | None:
        self.object_reads += 1
        obj = self.objects.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    async def namespace_terminating(self, namespace: str) -> bool:
        return namespace in self.terminating

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
            if p == plural and ns == namespace and _selected(o, label_selector)
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
        **options: Any,
    ) -> JsonObject | None:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            return None
        self.patches.append((plural, name, copy.deepcopy(patch), options.get("subresource")))
        if isinstance(patch, list):
            _json_patch(obj, patch)
        else:
            _merge(obj, patch)
        self.writes.append(("patch", namespace, name))
        if "resourceVersion" in obj["metadata"]:  # versioned by the test that put it
            obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(obj)


def _merge(target: JsonObject, patch: JsonObject) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _json_patch(target: JsonObject, operations: list[JsonObject]) -> None:
    """RFC 6902, the operations the runtime sends (test, add, remove), on paths of plain keys."""
    for operation in operations:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
        node = target
        for key in parents:
            node = node[key]
        if operation["op"] == "test":
            if node.get(last) != operation["value"]:
                raise KubeApiError(422, "Invalid", f"test of {operation['path']} failed", operation="PATCH")
        elif operation["op"] == "add":
            node[last] = copy.deepcopy(operation["value"])
        elif operation["op"] == "remove":
            del node[last]
        else:
            raise NotImplementedError(operation["op"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------------------
# A kind that is not about speech


GADGET_GROUP, GADGET_VERSION, GADGET_PLURAL, GADGET_KIND = "test.azure-operator.io", "v1", "gadgets", "Gadget"
SCRIPT = "test.azure-operator.io/script"


@dataclass(frozen=True, kw_only=True)
class Gadget(ResourceBase):
    """The object's script (annotation `SCRIPT`, comma-separated): what its plan does, in this order."""

    script: tuple[str, ...] = ()


def build_gadget(obj: Mapping[str, Any]) -> Gadget:
    fields = metadata_fields(obj)
    script = tuple(word for word in fields["annotations"].get(SCRIPT, "").split(",") if word)
    return Gadget(**fields, script=script)


@dataclass(frozen=True)
class GadgetObserved(ObservedBase):
    poked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Poke:
    """The gadget's only Azure step."""

    name: str


GadgetStep = Poke | ResourceStep


class FakeAzure:
    """The gadget's Azure: records pokes (and when, by `clock`); a poke of `name` raises `fail[name]`."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.pokes: list[str] = []
        self.times: list[datetime] = []  # of the pokes, by `clock`
        self.fail: dict[str, OperatorError] = {}
        self.credentials: list[object] = []
        self.clock = clock

    async def poke(self, name: str) -> None:
        if name in self.fail:
            raise self.fail[name]
        self.pokes.append(name)
        if self.clock is not None:
            self.times.append(self.clock())

    async def aclose(self) -> None:
        pass


def _step(word: str) -> GadgetStep:
    verb, _, argument = word.partition(":")
    steps: dict[str, GadgetStep] = {
        "poke": Poke(argument),
        "mark": MarkCreatePending(forget_endpoint_id=argument == "forget"),
        "clear": ClearCreatePending(),
        "record": RecordEndpointId(argument),
        "export": Export(argument, {"gadget": "yes"}),
        "unexport": Unexport(argument),
    }
    return steps[verb]


def _done(step: GadgetStep, observed: GadgetObserved) -> bool:
    if isinstance(step, Poke):
        return step.name in observed.poked
    if isinstance(step, MarkCreatePending):
        return observed.marked
    if isinstance(step, ClearCreatePending):
        return observed.unmarked
    if isinstance(step, RecordEndpointId):
        return observed.recorded_id is not None
    if isinstance(step, Export):
        return observed.exported
    return observed.unexported


def gadget_plan(resource: Gadget, observed: GadgetObserved, pass_: Pass) -> GadgetStep | Outcome:
    """Does the script's steps; `retry:S` comes back after S seconds, `stall` is Stalled (blocked). An error
    ends the pass Stalled with its code; deletion releases the object after its script."""
    failure = observed.credentials_error or observed.error
    words = [w for w in resource.script if not w.startswith(("retry:", "stall"))]
    if failure is None:
        for word in words:
            step = _step(word)
            if not _done(step, observed):
                return step
    events = tuple(Event("Normal", "Poked", f"poked {name}") for name in observed.poked)
    if resource.deleting:
        return Outcome(status=dict(resource.status), events=events, release=True)
    retry = next(
        (Retry(float(w.split(":")[1]), "scripted") for w in resource.script if w.startswith("retry:")), None
    )
    if failure is not None:
        health = Health(Phase.STALLED, failure.reason, failure.message)
    elif "stall" in resource.script:
        health = Health(Phase.STALLED, "Scripted", "stalled as scripted")
    else:
        health = Health(Phase.READY, "Ready", "ready")
    previous = list(resource.status.get("conditions") or [])
    conditions = merge_conditions(
        previous, truth_table(health, previous), generation=resource.generation, now=pass_.now
    )
    status = {"conditions": conditions, "observedGeneration": resource.generation}
    return Outcome(status=status, events=events, retry=retry)


async def run_gadget_step(step: GadgetStep, observed: GadgetObserved, azure: FakeAzure) -> GadgetObserved:
    assert isinstance(step, Poke)
    await azure.poke(step.name)
    return replace(observed, poked=(*observed.poked, step.name))


def connect_gadget(azure: Any, resource: Gadget, credential: Credential) -> FakeAzure:
    assert isinstance(azure, FakeAzure)
    azure.credentials.append(credential)
    return azure


GADGET: Kind[Gadget, GadgetObserved, GadgetStep, FakeAzure] = Kind(
    kind=GADGET_KIND,
    group=GADGET_GROUP,
    version=GADGET_VERSION,
    plural=GADGET_PLURAL,
    logger="tests.gadget",
    build_resource=build_gadget,
    observed=GadgetObserved,
    plan=gadget_plan,
    run_step=run_gadget_step,
    connect=connect_gadget,
    describe_write=lambda step: f"poking {step.name}" if isinstance(step, Poke) else None,
)


def gadget(namespace: str, name: str, *script: str, uid: str = "uid-1", **metadata: Any) -> JsonObject:
    """A stored Gadget whose credentials are the Secret `creds` (key `key`)."""
    return {
        "apiVersion": f"{GADGET_GROUP}/{GADGET_VERSION}",
        "kind": GADGET_KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "generation": 1,
            "annotations": {SCRIPT: ",".join(script)},
            "finalizers": [FINALIZER],
            **metadata,
        },
        "spec": {"azure": {"credentials": {"secretRef": {"name": "creds", "key": "key"}}}},
    }


class RefusingSecrets(FakeKube):
    """Answers reads of Secrets 403 while `refuse` (an RBAC gap, or an API server whose authorizer is not
    ready yet)."""

    refuse = True

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        if self.refuse:
            raise KubeApiError(403, "Forbidden", "secrets is forbidden", operation="GET")
        return await super().read_secret(namespace, name)
