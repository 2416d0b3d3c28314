"""crdgen: the CRDs in crds/ carry exactly the spec.azure the shared models generate, the same in every kind
but for its API versions; the renderer writes YAML that reads back as the schema."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from azure_speech_operator import crdgen
from hypothesis import given, settings
from hypothesis import strategies as st

from .crd_support import ROOT, load_crd, root_schema


def azure_of(crd_file: str) -> dict[str, Any]:
    return root_schema(load_crd(crd_file))["properties"]["spec"]["properties"]["azure"]  # type: ignore[no-any-return]


def test_the_crd_files_are_what_the_generator_writes() -> None:
    assert crdgen.run(check=True) == [], f"run `{crdgen.GENERATOR}` and commit crds/"


def test_every_crd_file_is_generated() -> None:
    assert sorted(p.name for p in (ROOT / "crds").glob("*.yaml")) == sorted(crd.file for crd in crdgen.KINDS)


def test_spec_azure_is_the_same_in_every_kind_but_its_api_versions() -> None:
    def kind_neutral(crd: crdgen.Crd) -> dict[str, Any]:
        azure = copy.deepcopy(azure_of(crd.file))
        del azure["properties"]["apiVersion"]
        return yaml.safe_load(yaml.safe_dump(azure).replace(crd.kind, "KIND"))  # type: ignore[no-any-return]

    speech, voice = crdgen.KINDS
    assert kind_neutral(speech) == kind_neutral(voice)
    assert "create a new VoiceEndpoint to move" in yaml.safe_dump(azure_of(voice.file))


@pytest.mark.parametrize("crd", crdgen.KINDS, ids=[crd.kind for crd in crdgen.KINDS])
def test_api_version_comes_from_the_kinds_model(crd: crdgen.Crd) -> None:
    node = azure_of(crd.file)["properties"]["apiVersion"]
    field = crd.azure.model_fields["api_version"]
    assert node["enum"] == list(get_args(field.annotation))
    assert node["default"] == field.default
    assert node["description"] == " ".join((field.description or "").split())


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=300))
def test_rendered_descriptions_and_messages_read_back_as_written(text: str) -> None:
    rules = [{"rule": text, "message": text}]
    value = {"type": "string", "description": text, "x-kubernetes-validations": rules}
    rendered = "\n".join(crdgen.render("field", value, 6))
    assert yaml.safe_load(rendered) == {"field": value}


def test_rendered_schemas_read_back_as_the_schema() -> None:
    for crd in crdgen.KINDS:
        schema = crdgen.azure_schema(crd)
        assert yaml.safe_load("\n".join(crdgen.render("azure", schema, 0))) == {"azure": schema}


def test_check_names_a_hand_edited_file_and_a_run_restores_it(tmp_path: Path, capsys: Any) -> None:
    shutil.copytree(ROOT / "crds", tmp_path, dirs_exist_ok=True)
    path = tmp_path / "voiceendpoints.yaml"
    original = path.read_text()
    path.write_text(original.replace("pattern: ^[a-z0-9]+$", "pattern: ^[a-z]+$", 1))
    assert crdgen.main(["--check", "--crds", str(tmp_path)]) == 1
    assert "voiceendpoints.yaml: differs from the generator" in capsys.readouterr().err
    assert crdgen.main(["--crds", str(tmp_path)]) == 0
    assert path.read_text() == original


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda text: text.replace("BEGIN generated spec.azure", "BEGIN generated spec.other"), "unknown"),
        (lambda text: text.replace("# END generated spec.azure", "# end"), "no '# END generated spec.azure'"),
    ],
    ids=["unknown-block", "no-end"],
)
def test_broken_markers_are_named(edit: Any, words: str) -> None:
    speech = crdgen.KINDS[0]
    text = edit((ROOT / "crds" / speech.file).read_text())
    with pytest.raises(crdgen.GeneratorError, match=words):
        crdgen.generate(speech, text)
