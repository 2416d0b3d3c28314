"""Helpers for the CRD tests of both kinds.

- `Crd`: one CRD file of crds/ as data, admitting objects of its kind (`load_crd`, `root_schema`, `walk`).
- `schema_problems`: what the tests forbid in any CRD's schema.
- `admit`: default and CEL-check an object the way the API server does, with celpy. Kept small on purpose:
  defaults, then every `x-kubernetes-validations` rule on every node present in the object, transition rules
  (those naming `oldSelf`) only where the node also exists in the old object.
- `compare`: the differences between a pydantic spec model and the CRD's spec schema.
- `dry_run`, `refusal`, `in_namespace`: `kubectl apply --dry-run=server` on the session's real apiserver.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import celpy
import yaml
from azure_speech_operator.crdgen import without_none
from pydantic import BaseModel

from tests.e2e.harness import Kube

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_crd(name: str) -> dict[str, Any]:
    """crds/`name` (e.g. speechendpoints.yaml)."""
    return yaml.safe_load((ROOT / "crds" / name).read_text())  # type: ignore[no-any-return]


def root_schema(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Crd:
    """One CRD file of crds/, and objects of its kind."""

    file: str  # e.g. speechendpoints.yaml
    kind: str

    def load(self) -> dict[str, Any]:
        return load_crd(self.file)

    def schema(self) -> dict[str, Any]:
        return root_schema(self.load())

    def admit(
        self, obj: dict[str, Any], old: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """Default and CEL-check `obj` (as a create, or as an update of `old`)."""
        return admit(self.schema(), obj, old)

    def object(self, name: str, spec: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """An object of this kind in namespace team-a: `spec` with top-level `overrides` (None removes)."""
        spec = copy.deepcopy(spec)
        for key, value in overrides.items():
            if value is None:
                spec.pop(key, None)
            else:
                spec[key] = value
        return {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": self.kind,
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": spec,
        }


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """What the tests forbid in a CRD's schema: a node without a type (not structural); a field without a
    description, or forbidding unknown fields (metadata and map values aside); a spec field naming a namespace
    (a resource reads Secrets from its own namespace only); a CEL rule calling anything but has, size, all,
    filter and split (what `admit` evaluates as the API server does); a CEL rule about one field (its
    message starts with that field: `spec.locale is immutable`) that the API server would report elsewhere,
    at the node it sits on, for want of a fieldPath naming the field."""
    problems = []
    for path, node in walk(schema):
        if "type" not in node:
            problems.append(f"{path} has no type (not structural)")
        if path != ".metadata" and not path.endswith(".*"):
            if not node.get("description"):
                problems.append(f"{path} has no description")
            if node.get("additionalProperties") is False:
                problems.append(f"{path}: structural schemas cannot forbid fields")
        if path.startswith(".spec") and path.lower().endswith("namespace"):
            problems.append(f"{path} names a namespace")
        for validation in node.get("x-kubernetes-validations", []):
            called = set(re.findall(r"([A-Za-z_]+)\(", validation["rule"])) - _CEL_FUNCTIONS
            if called:
                problems.append(f"{path}: rule {validation['rule']!r} calls {sorted(called)}")
            about = _ABOUT_ONE_FIELD.match(validation["message"])
            reported = path + validation.get("fieldPath", "")
            if about and f".{about[1]}" != reported:
                problems.append(
                    f"{path}: rule {validation['rule']!r} is about {about[1]}, reported at {reported}"
                )
    return problems


# A CEL message that starts with a field and says something of it alone (not "spec.a and spec.b must ...").
_ABOUT_ONE_FIELD = re.compile(r"(spec(?:\.\w+)+) (?!and )")


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, node) of every node of `schema`; `.*` for additionalProperties, `[]` for items."""
    nodes = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        nodes += walk(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        nodes += walk(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        nodes += walk(schema["items"], f"{path}[]")
    return nodes


# --- spec.azure.endpoint (the same block in every CRD) ------------------------------------------------------

# What the contract, docs, examples, tests and the demo write (a custom domain, Azure's regional hosts, the
# simulator on 127.0.0.1 or localhost over http), and the edges of DNS names and ports.
VALID_ENDPOINTS = [
    "https://my-speech.cognitiveservices.azure.com",
    "https://my-speech.cognitiveservices.azure.com/",
    "https://westeurope.api.cognitive.microsoft.com",
    "https://eastus.customvoice.api.speech.microsoft.com",
    "https://My-Speech.CognitiveServices.Azure.com",
    "http://127.0.0.1:8081",
    "http://localhost:65535",
    "https://speech.contoso.example:1",
    f"https://{'a' * 63}.cognitiveservices.azure.com",
    "https://a.b-c.d",
]
# (endpoint, what is wrong with it)
INVALID_ENDPOINTS = [
    ("https://my-speech.cognitiveservices.azure.com:99999", "port beyond 65535"),
    ("https://my-speech.cognitiveservices.azure.com:65536", "port beyond 65535"),
    ("https://my-speech.cognitiveservices.azure.com:0", "port 0"),
    ("https://my-speech.cognitiveservices.azure.com:", "empty port"),
    ("https://a..b.com", "empty label"),
    ("https://.a.com", "empty first label"),
    ("https://a.com.", "empty last label"),
    ("https://-a.com", "label starting with a hyphen"),
    ("https://a-.com", "label ending with a hyphen"),
    (f"https://{'a' * 64}.com", "label of 64 characters"),
    ("https://a_b.com", "underscore"),
    ("ftp://a.com", "scheme"),
    ("https://a.com/speechtotext", "path"),
]


# --- defaults and CEL, as the API server applies them ------------------------------------------------------


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name in list(value):
                if name not in props:
                    value[name] = apply_defaults(extra, value[name])
    return value


_env = celpy.Environment()


def _split(text: celpy.celtypes.StringType, separator: celpy.celtypes.StringType) -> celpy.celtypes.ListType:
    """The Kubernetes CEL strings library's `split`, which celpy lacks."""
    return celpy.celtypes.ListType(celpy.celtypes.StringType(part) for part in text.split(separator))


_EXTENSIONS = {"split": _split}
# what the rules may call: CEL's own has, size and the all/filter macros, and the extensions above
_CEL_FUNCTIONS = {"has", "size", "all", "filter", *_EXTENSIONS}


def _evaluate(rule: str, new: Any, old: Any) -> bool:
    activation = {"self": celpy.json_to_cel(new)}
    if old is not None:
        activation["oldSelf"] = celpy.json_to_cel(old)
    result = _env.program(_env.compile(rule), functions=_EXTENSIONS).evaluate(activation)
    assert isinstance(result, celpy.celtypes.BoolType), f"rule {rule!r} gave {result!r}"
    return bool(result)


def cel_errors(schema: dict[str, Any], new: Any, old: Any = None, path: str = "") -> list[str]:
    errors: list[str] = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule and old is None:
            continue
        try:
            valid = _evaluate(rule, new, old)
        except celpy.evaluation.CELEvalError as exc:  # e.g. a required field missing: refused too
            errors.append(f"{path or '<root>'}: {rule} could not be evaluated: {exc.args[0]}")
            continue
        if not valid:  # reported at the rule's fieldPath, as the API server does
            errors.append(f"{path + validation.get('fieldPath', '') or '<root>'}: {validation['message']}")
    if isinstance(new, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in new:
                old_sub = old.get(name) if isinstance(old, dict) else None
                errors += cel_errors(sub, new[name], old_sub, f"{path}.{name}" if path else name)
    return errors


def admit(
    schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Default and CEL-check `obj` against a CRD's root `schema` (as a create, or as an update of `old`)."""
    new = apply_defaults(schema, copy.deepcopy(obj))
    old_defaulted = apply_defaults(schema, copy.deepcopy(old)) if old is not None else None
    return new, cel_errors(schema, new, old_defaulted)


# --- the pydantic spec models against the CRD ---------------------------------------------------------------


def compare(model: type[BaseModel], schema: dict[str, Any], path: str = "spec") -> list[str]:
    """Where `model` and the CRD `schema` (its spec node) disagree: fields, required, types, defaults,
    patterns, lengths and enums, recursively."""
    problems: list[str] = []
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    seen = set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        seen.add(key)
        where = f"{path}.{key}"
        if key not in props:
            problems.append(f"{where}: in the model, not in the CRD")
            continue
        node = props[key]
        if field.is_required() != (key in required):
            problems.append(f"{where}: required differs (model {field.is_required()}, CRD {key in required})")
        crd_default = node.get("default")
        model_default = None if field.is_required() else field.get_default(call_default_factory=True)
        if crd_default != model_default:
            problems.append(f"{where}: default differs ({model_default!r} vs {crd_default!r})")
        for attr, crd_key in (
            ("pattern", "pattern"),
            ("min_length", "minLength"),
            ("max_length", "maxLength"),
        ):
            model_value = next((getattr(m, attr) for m in field.metadata if hasattr(m, attr)), None)
            crd_value = node.get(crd_key)
            if crd_key == "maxLength" and node.get("type") == "object":
                crd_value = node.get("maxProperties")
            if model_value != crd_value:
                problems.append(f"{where}: {crd_key} differs ({model_value!r} vs {crd_value!r})")
        annotation = without_none(field.annotation)
        literal = get_args(annotation) if get_origin(annotation) is Literal else None
        if sorted(literal or []) != sorted(node.get("enum", [])):
            problems.append(f"{where}: enum differs ({literal!r} vs {node.get('enum')!r})")
        wanted_type = _openapi_type(annotation)
        if wanted_type != node.get("type"):
            problems.append(f"{where}: type differs ({wanted_type} vs {node.get('type')})")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            problems += compare(annotation, node, where)
    for key in props:
        if key not in seen:
            problems.append(f"{path}.{key}: in the CRD, not in the model")
    return problems


def _openapi_type(annotation: Any) -> str:
    if annotation is bool:
        return "boolean"
    if annotation is str or get_origin(annotation) is Literal:
        return "string"
    if get_origin(annotation) is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "object"
    raise AssertionError(f"no OpenAPI type known for {annotation!r}")


# --- the real apiserver ------------------------------------------------------------------------------------


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    return obj


def dry_run(kube: Kube, obj: dict[str, Any], *flags: str, verb: str = "apply") -> dict[str, Any]:
    """What the apiserver would store for `kubectl <verb> --dry-run=server <flags> -f -` of `obj`."""
    out = kube.kubectl(verb, "--dry-run=server", "-o", "json", *flags, "-f", "-", input=json.dumps(obj))
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# The causes the apiserver prints after the field it reports an error at (`spec.locale: Invalid value: ...`).
_CAUSES = "Invalid value|Required value|Forbidden|Unsupported value|Too long|Too many|Duplicate value"


def reported_at(message: str, field: str) -> bool:
    """Whether kubectl's `message` has an error reported at `field` itself (`spec.azure.region: Invalid
    value: ...`, or strict decoding's `unknown field "spec.azure.bogus"`), not merely naming it in the text
    of an error reported at its parent."""
    at = re.escape(field)
    return re.search(rf'(?<![\w.]){at}: ({_CAUSES})|unknown field "{at}"', message) is not None


def refusal(kube: Kube, obj: dict[str, Any], *flags: str) -> str:
    """kubectl's error for a `kubectl apply --dry-run=server` of `obj` the apiserver refuses."""
    proc = kube.kubectl("apply", "--dry-run=server", *flags, "-f", "-", input=json.dumps(obj), check=False)
    assert proc.returncode != 0, f"admitted:\n{proc.stdout}"
    return proc.stderr
