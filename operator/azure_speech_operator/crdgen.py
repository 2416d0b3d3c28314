"""Writes the blocks the CRDs in crds/ share, so that they cannot drift apart:

    python -m azure_speech_operator.crdgen          # rewrite the generated blocks in crds/*.yaml
    python -m azure_speech_operator.crdgen --check  # exit 1 (and name the files) if one differs

The CRD files stay hand-written YAML (users apply them with `kubectl apply -f crds/`), except between

    # BEGIN generated spec.azure ...
    # END generated spec.azure

where this module writes `spec.azure` from the models in azurespec.py, with the kind's own `apiVersion`
field (versions, default, description) and its name in the CEL messages. A unit test fails when a file
differs from what this produces.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic.fields import FieldInfo

from azure_speech_operator.azurespec import AZURE_DESCRIPTION, AzureSpecBase, CelRule, SpecModel
from azure_speech_operator.speechendpoint import spec as speech
from azure_speech_operator.voiceendpoint import spec as voice

CRDS = Path(__file__).resolve().parents[2] / "crds"
# As crds/ was written by hand: a description stays on its line up to ONE_LINE columns, else it is folded
# into lines of up to FOLD_WIDTH columns.
ONE_LINE = 122
FOLD_WIDTH = 118
GENERATOR = "python -m azure_speech_operator.crdgen"

_BEGIN = re.compile(r"^(?P<indent> *)# BEGIN generated (?P<block>[\w.]+)")
_END = "# END generated {block}"


@dataclass(frozen=True)
class Crd:
    file: str
    kind: str
    azure: type[AzureSpecBase]  # the kind's spec.azure model (its own apiVersion field)


KINDS = (
    Crd("speechendpoints.yaml", speech.KIND, speech.AzureSpec),
    Crd("voiceendpoints.yaml", voice.KIND, voice.VoiceAzureSpec),
)


class GeneratorError(Exception):
    pass


# --- models -> OpenAPI schema ------------------------------------------------------------------------------


def azure_schema(crd: Crd) -> dict[str, Any]:
    """The `spec.azure` property of `crd`'s schema."""
    return _object(crd.azure, AZURE_DESCRIPTION, crd.kind)


def _object(model: type[SpecModel], description: str, kind: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object", "description": description}
    required = [_name(name, field) for name, field in model.model_fields.items() if field.is_required()]
    if required:
        node["required"] = required
    if model.crd_rules:
        node["x-kubernetes-validations"] = [_validation(rule, kind) for rule in model.crd_rules]
    properties = {_name(name, field): _property(field, kind) for name, field in model.model_fields.items()}
    if properties:
        node["properties"] = properties
    return node


def _validation(rule: CelRule, kind: str) -> dict[str, str]:
    """As crds/ writes a rule: rule, fieldPath and reason when set, message."""
    entry = {"rule": rule.rule}
    if rule.field_path is not None:
        entry["fieldPath"] = rule.field_path
    if rule.reason is not None:
        entry["reason"] = rule.reason
    entry["message"] = rule.message.format(kind=kind)
    return entry


def _name(name: str, field: FieldInfo) -> str:
    return field.alias or name


def _property(field: FieldInfo, kind: str) -> dict[str, Any]:
    if not field.description:
        raise GeneratorError(f"{field!r} has no description (every CRD field is described)")
    annotation = without_none(field.annotation)
    if isinstance(annotation, type) and issubclass(annotation, SpecModel):
        return _object(annotation, field.description, kind)
    node: dict[str, Any]
    if get_origin(annotation) is Literal:
        node = {"type": "string", "description": field.description}
        enum = list(get_args(annotation))
    elif annotation is str:
        node, enum = {"type": "string", "description": field.description}, []
    else:
        raise GeneratorError(f"{field!r}: no OpenAPI type for {annotation!r}")
    if not field.is_required() and field.default is not None:
        node["default"] = field.default
    for attr, key in (("min_length", "minLength"), ("max_length", "maxLength"), ("pattern", "pattern")):
        value = next((getattr(m, attr) for m in field.metadata if getattr(m, attr, None) is not None), None)
        if value is not None:
            node[key] = value
    if enum:
        node["enum"] = enum
    return node


def without_none(annotation: Any) -> Any:
    """`X` for `X | None`, else the annotation as it is."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


# --- schema -> YAML in the style of crds/ ------------------------------------------------------------------


def render(key: str, value: Any, indent: int) -> list[str]:
    """`key: value` as YAML lines at `indent`: block mappings, flow lists of scalars, block lists of
    mappings, descriptions folded (`>-`) when they do not fit on the line."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{key}: {{}}"]
        return [f"{pad}{key}:"] + [line for k, v in value.items() for line in render(k, v, indent + 2)]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value) and value:
        lines = [f"{pad}{key}:"]
        for item in value:
            item_lines = [line for k, v in item.items() for line in render(k, v, indent + 4)]
            lines += [f"{pad}  - {item_lines[0].lstrip()}", *item_lines[1:]]
        return lines
    if isinstance(value, list):
        quote = any(_needs_quotes(item) for item in value)
        return [f"{pad}{key}: [{', '.join(_scalar(item, quote) for item in value)}]"]
    line = f"{pad}{key}: {_scalar(value)}"
    if key == "description" and len(line) > ONE_LINE and not _needs_quotes(value):
        body = textwrap.wrap(value, FOLD_WIDTH - indent - 2, break_long_words=False, break_on_hyphens=False)
        if " ".join(body) == value:  # folding joins the lines with one space: only then is it the same text
            return [f"{pad}{key}: >-", *(f"{pad}  {part}" for part in body)]
    return [line]


def _needs_quotes(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return bool(yaml.safe_load(f"k: {value}") != {"k": value})
    except yaml.YAMLError:
        return True


def _scalar(value: Any, quote: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (quote or _needs_quotes(value)):
        return _ASTRAL.sub(_astral, json.dumps(value))
    return str(value)


# A JSON string is a YAML double-quoted scalar, except that YAML spells a character beyond U+FFFF \UXXXXXXXX
# where JSON writes its two UTF-16 halves (which YAML would read as two broken characters).
_ASTRAL = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _astral(match: re.Match[str]) -> str:
    high, low = int(match[1], 16), int(match[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


# --- the files ---------------------------------------------------------------------------------------------


def blocks(crd: Crd) -> dict[str, tuple[str, Any]]:
    """The generated blocks of `crd`'s file: name -> (key, value)."""
    return {"spec.azure": ("azure", azure_schema(crd))}


def generate(crd: Crd, text: str) -> str:
    """`text` (the CRD file) with every generated block written anew."""
    known = blocks(crd)
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        begin = _BEGIN.match(lines[i])
        i += 1
        if not begin:
            continue
        block, indent = begin["block"], len(begin["indent"])
        if block not in known:
            raise GeneratorError(f"{crd.file}: unknown generated block {block!r} (known: {', '.join(known)})")
        end = " " * indent + _END.format(block=block)
        try:
            stop = lines.index(end, i)
        except ValueError:
            raise GeneratorError(f"{crd.file}: no {end.strip()!r} after line {i}") from None
        out += render(*known[block], indent)
        i = stop
    return "\n".join(out) + "\n"


def run(directory: Path = CRDS, check: bool = False) -> list[str]:
    """Rewrites (or, with `check`, only compares) the CRD files; returns the names of those that differ."""
    differ = []
    for crd in KINDS:
        path = directory / crd.file
        text = path.read_text()
        wanted = generate(crd, text)
        if wanted != text:
            differ.append(crd.file)
            if not check:
                path.write_text(wanted)
    return differ


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    parser.add_argument("--crds", type=Path, default=CRDS, help="the folder of the CRD files (crds/)")
    args = parser.parse_args(argv)
    try:
        differ = run(args.crds, check=args.check)
    except OSError as exc:  # a missing or unreadable --crds folder or file
        print(f"{GENERATOR}: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 2
    except GeneratorError as exc:
        print(f"{GENERATOR}: {exc}", file=sys.stderr)
        return 2
    for name in differ:
        print(f"{name}: {'differs from the generator' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if differ and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
