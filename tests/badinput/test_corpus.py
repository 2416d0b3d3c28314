"""The bad-input corpus: invalid manifests of each kind, in speech/ and voice/, one case a file.

Each file starts with comment lines saying what refuses it:

    # field: spec.locale          the field the apiserver reports the refusal at (required)
    # message: should match       words of the apiserver's message (required)
    # model: ...                  what the operator's spec model says (optional; see below)

and holds one manifest (refused on create), or two documents naming the same object: the first is valid and
created, the second, an update of it, is refused (transition rules). `kubectl apply -n NS -f FILE` shows it.

The cluster test applies a kind's whole folder in ONE `kubectl apply -f` (kubectl goes on past each refusal
and names the file in its error, an update file's two documents in order) and checks that every file is
refused once, with an error reported at its field (`spec.locale: Invalid value: ...`; not at `spec` with the
field named only in the text: a CEL rule about one field says which with its fieldPath), that the refusals
together exercise every constraint of the CRD's spec schema and every CEL rule, and that only the valid first
documents of the update files are stored, unchanged.

The model test hands each spec to the operator's own `parse_spec`: it must raise SpecError naming the field
(or the `# model:` words), unless the file says `# model: accepts (why)`: unknown fields (the model ignores
them) and transition rules (it sees one spec, never the change) are the CRD's alone.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_speech_operator.resourcespec import SpecError
from azure_speech_operator.speechendpoint import spec as speech_spec
from azure_speech_operator.voiceendpoint import spec as voice_spec

from tests.e2e.harness import Kube
from tests.unit.crd_support import Crd, reported_at, walk
from tests.unit.test_speech_support import SPEECH
from tests.unit.test_voice_support import VOICE

HERE = Path(__file__).parent
MINIMUM_CASES = 40
_HEADER = re.compile(r"^# (field|message|model): (.+)$")


@dataclass(frozen=True)
class Case:
    path: Path
    field: str
    message: str
    model: str | None  # None: the model's error names `field`; "accepts (why)"; else words of its error
    documents: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def old(self) -> dict[str, Any] | None:
        """The object an update case creates first."""
        return self.documents[0] if len(self.documents) == 2 else None

    @property
    def invalid(self) -> dict[str, Any]:
        return self.documents[-1]

    @property
    def model_accepts(self) -> bool:
        return self.model is not None and self.model.startswith("accepts")


def load_case(path: Path) -> Case:
    text = path.read_text()
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if match := _HEADER.match(line):
            header[match[1]] = match[2].strip()
    assert {"field", "message"} <= set(header), f"{path.name}: no '# field:' or '# message:' line"
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    assert len(documents) in (1, 2), f"{path.name}: one manifest, or an object and its update"
    for doc in documents:
        assert doc["metadata"]["name"] == path.stem, f"{path.name}: metadata.name is not the file's name"
    return Case(path, header["field"], header["message"], header.get("model"), documents)


@dataclass(frozen=True)
class Kind:
    folder: Path
    crd: Crd
    plural: str
    parse_spec: Callable[[Any], object]

    def cases(self) -> list[Case]:
        return [load_case(path) for path in sorted(self.folder.glob("*.yaml"))]


KINDS = {
    "speech": Kind(HERE / "speech", SPEECH, speech_spec.PLURAL, speech_spec.parse_spec),
    "voice": Kind(HERE / "voice", VOICE, voice_spec.PLURAL, voice_spec.parse_spec),
}


# --- what kubectl says ------------------------------------------------------------------------------------

_ERROR_START = re.compile(r"^(?=Error from server|error: )", re.MULTILINE)
# `error when creating "FILE": MESSAGE`, or for an update the patch kubectl sent (which quotes the manifest),
# then `for: "FILE": error when patching "FILE": MESSAGE`: only what follows the last file name counts
_FILE = re.compile(r'"([^"]+\.yaml)": ')


def refusals(stderr: str) -> tuple[dict[str, list[str]], list[str]]:
    """kubectl's errors by the file they name (the apiserver's message only), and any naming none."""
    by_file: dict[str, list[str]] = {}
    unattributed = []
    for block in filter(str.strip, _ERROR_START.split(stderr)):
        files = list(_FILE.finditer(block))
        if files:
            by_file.setdefault(files[-1][1], []).append(block[files[-1].end() :].strip())
        else:
            unattributed.append(block.strip())
    return by_file, unattributed


def constraints(schema: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """What the refusals must show between them, from a CRD's root schema: for every node under spec a
    wrong type, each of its pattern, lengths, enum, required fields and property count, an unknown field on
    every object that declares its fields, and every CEL rule's message."""
    wanted = [
        ("spec required", r"(^|[\s\[])spec: Required value"),
        ("unknown top-level field", 'unknown field "'),
    ]
    for path, node in walk(schema["properties"]["spec"], "spec"):
        at = re.escape(path).replace(r"\.\*", r"\.[^\s.:]+")
        wanted.append((f"{path} type", rf"{at} in body must be of type {node['type']}"))
        if "pattern" in node:
            wanted.append((f"{path} pattern", rf"{at} in body should match"))
        if "minLength" in node:
            wanted.append(
                (f"{path} minLength", rf"{at} in body should be at least {node['minLength']} chars")
            )
        if "maxLength" in node:
            wanted.append((f"{path} maxLength", rf"{at}: Too long: may not be more than {node['maxLength']}"))
        if "maxProperties" in node:
            wanted.append((f"{path} maxProperties", rf"{at}: Too many: .* at most {node['maxProperties']}"))
        if "enum" in node:
            wanted.append((f"{path} enum", rf"{at}: Unsupported value"))
        for name in node.get("required", []):
            wanted.append((f"{path}.{name} required", rf"{at}\.{name}: Required value"))
        if node["type"] == "object" and "additionalProperties" not in node:
            wanted.append((f"{path} unknown field", rf'unknown field "{at}\.[^."]+"'))
        for rule in node.get("x-kubernetes-validations", []):
            wanted.append((f"{path} rule {rule['rule']!r}", re.escape(rule["message"])))
    return [(what, re.compile(pattern)) for what, pattern in wanted]


# --- the tests --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_corpus_holds_enough_well_formed_cases(kind: str) -> None:
    cases = KINDS[kind].cases()
    assert len(cases) >= MINIMUM_CASES
    for case in cases:
        assert {doc["kind"] for doc in case.documents} == {KINDS[kind].crd.kind}, case.name
        if case.old is not None:
            assert case.model_accepts, f"{case.name}: an update is a transition rule, the model cannot see it"


@pytest.mark.parametrize("kind", KINDS)
def test_the_operators_spec_model_refuses_each_case_naming_the_field(kind: str) -> None:
    problems = []
    for case in KINDS[kind].cases():
        for doc in case.documents:
            try:
                KINDS[kind].parse_spec(doc.get("spec"))
            except SpecError as exc:
                error = str(exc)
                if doc is not case.invalid or case.model_accepts:
                    problems.append(f"{case.name}: the model refuses what it should accept: {error}")
                elif case.model is not None and case.model not in error:
                    problems.append(f"{case.name}: {case.model!r} not in {error!r}")
                elif (
                    case.model is None
                    and case.field not in error
                    and case.field.removeprefix("spec.") not in error
                ):
                    problems.append(f"{case.name}: {case.field} not named in {error!r}")
            else:
                if doc is case.invalid and not case.model_accepts:
                    problems.append(f"{case.name}: the model accepts it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_kubectl_apply_refuses_each_case_naming_the_field_and_stores_nothing(
    kube: Kube, cluster_namespace: str, kind: str, figure: Callable[[str], None]
) -> None:
    spec = KINDS[kind]
    cases = spec.cases()
    started = time.monotonic()
    applied = kube.kubectl("apply", "-n", cluster_namespace, "-f", str(spec.folder), check=False)
    seconds = time.monotonic() - started
    by_file, unattributed = refusals(applied.stderr)
    problems = [f"an error naming no case: {block}" for block in unattributed]
    messages = []
    for case in cases:
        found = by_file.pop(str(case.path), [])
        messages += found
        if len(found) != 1:
            problems.append(f"{case.name}: {len(found)} refusals, not 1: {found}")
        elif not reported_at(found[0], case.field) or case.message not in found[0]:
            problems.append(
                f"{case.name}: not reported at {case.field!r}, or {case.message!r} not in {found[0]!r}"
            )
    problems += [f"{name}: refused, but not a case: {found}" for name, found in by_file.items()]
    shown = "\n".join(messages)
    problems += [
        f"no case shows {what}" for what, rx in constraints(spec.crd.schema()) if not rx.search(shown)
    ]

    # stored: the valid first documents of the update cases and nothing else, as they were applied
    olds = {case.name: case.old for case in cases if case.old is not None}
    created = re.findall(r"/(\S+) created", applied.stdout)
    problems += [f"{name}: created" for name in created if name not in olds]
    stored = json.loads(kube.kubectl("get", spec.plural, "-n", cluster_namespace, "-o", "json").stdout)
    items = {item["metadata"]["name"]: item for item in stored["items"]}
    problems += [f"{name}: stored" for name in sorted(set(items) - set(olds))]
    for name, old in olds.items():
        defaulted, _ = spec.crd.admit(old)
        if name not in items:
            problems.append(f"{name}: the valid first document was not stored")
        elif items[name]["spec"] != defaulted["spec"] or items[name]["metadata"]["generation"] != 1:
            problems.append(f"{name}: the refused update changed the stored object: {items[name]['spec']}")
    assert not problems, "\n".join(problems)

    accepted_by_model = sum(case.model_accepts for case in cases)
    figure(
        f"{spec.crd.kind}: {len(cases)} invalid manifests ({len(cases) - len(olds)} creates, "
        f"{len(olds)} updates), {len(cases)} refused by one kubectl apply ({seconds:.1f} s) naming "
        "the field, none stored; "
        f"{len(cases) - accepted_by_model} refused by the operator's spec model too "
        f"({accepted_by_model} CRD-only: unknown fields, transition rules)"
    )
