"""Decoding of the protobuf bodies kubectl's imperative commands send (`kubectl create namespace|configmap|
secret`) for the three kinds that need it here. Other kinds in protobuf are answered 415.

Wire format: the magic `k8s\\x00`, then a `runtime.Unknown` (1: TypeMeta{1: apiVersion, 2: kind}, 2: raw
object, 3: contentEncoding, 4: contentType); the raw object follows k8s.io/api's generated.proto.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            yield number, data[pos : pos + length]
            pos += length
        elif wire == 1:
            yield number, data[pos : pos + 8]
            pos += 8
        elif wire == 5:
            yield number, data[pos : pos + 4]
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a string")
    return value.decode()


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError("expected bytes")
    return value


def _map_entry(value: int | bytes) -> tuple[str, bytes]:
    key, item = "", b""
    for number, field_value in fields(_bytes(value)):
        if number == 1:
            key = _text(field_value)
        elif number == 2:
            item = _bytes(field_value)
    return key, item


def _time(value: int | bytes) -> str:
    seconds = 0
    for number, field_value in fields(_bytes(value)):
        if number == 1 and isinstance(field_value, int):
            seconds = field_value
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(value: int | bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    flags = {6: "controller", 7: "blockOwnerDeletion"}
    ref: dict[str, Any] = {}
    for number, field_value in fields(_bytes(value)):
        if number in names:
            ref[names[number]] = _text(field_value)
        elif number in flags:
            ref[flags[number]] = bool(field_value)
    return ref


def object_meta(data: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, value in fields(data):
        if number in strings:
            meta[strings[number]] = _text(value)
        elif number == 7 and isinstance(value, int):
            meta["generation"] = value
        elif number == 8:
            meta["creationTimestamp"] = _time(value)
        elif number in (11, 12):
            key, item = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = item.decode()
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(value))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _namespace(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace"}
    for number, value in fields(raw):
        if number == 1:
            obj["metadata"] = object_meta(_bytes(value))
        elif number == 2:
            finalizers = [_text(v) for n, v in fields(_bytes(value)) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


# ConfigMap and Secret are flat: field number -> (JSON key, wire form) as k8s.io/api's generated.proto has it
_FLAT_LAYOUTS: dict[str, dict[int, tuple[str, str]]] = {
    "ConfigMap": {2: ("data", "text map"), 3: ("binaryData", "base64 map"), 4: ("immutable", "bool")},
    "Secret": {
        2: ("data", "base64 map"),
        3: ("type", "text"),
        4: ("stringData", "text map"),
        5: ("immutable", "bool"),
    },
}


def _flat(kind: str) -> Callable[[bytes], dict[str, Any]]:
    layout = _FLAT_LAYOUTS[kind]

    def decode_flat(raw: bytes) -> dict[str, Any]:
        obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind}
        for number, value in fields(raw):
            if number == 1:
                obj["metadata"] = object_meta(_bytes(value))
            elif number in layout:
                key, form = layout[number]
                if form == "bool":
                    obj[key] = bool(value)
                elif form == "text":
                    obj[key] = _text(value)
                else:
                    entry, item = _map_entry(value)
                    text = item.decode() if form == "text map" else base64.b64encode(item).decode()
                    obj.setdefault(key, {})[entry] = text
        return obj

    return decode_flat


DECODERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("v1", "Namespace"): _namespace,
    ("v1", "ConfigMap"): _flat("ConfigMap"),
    ("v1", "Secret"): _flat("Secret"),
}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Namespace, ConfigMap or Secret; ProtobufError for anything else."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for number, value in fields(body[len(MAGIC) :]):
        if number == 1:
            for type_number, type_value in fields(_bytes(value)):
                if type_number == 1:
                    api_version = _text(type_value)
                elif type_number == 2:
                    kind = _text(type_value)
        elif number == 2:
            raw = _bytes(value)
    decoder = DECODERS.get((api_version, kind))
    if decoder is None:
        raise ProtobufError(f"protobuf bodies of {api_version}/{kind} are not supported")
    return decoder(raw)
