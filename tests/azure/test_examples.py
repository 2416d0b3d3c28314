"""Every official example response in specs/azure-specs/ that concerns endpoints, models, projects, logs or
operations parses into the wire models (the adapter tests feed the same examples through the adapters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure_speech_operator.azure import models as m
from pydantic import BaseModel

SPECS = Path(__file__).resolve().parents[2] / "specs" / "azure-specs"

ENTITY: dict[str, type[BaseModel]] = {
    "create_endpoint": m.SttEndpoint,
    "get_endpoint": m.SttEndpoint,
    "update_endpoint": m.SttEndpoint,
    "create_model": m.SttModel,
    "create_model_with_weight": m.SttModel,
    "get_model": m.SttModel,
    "get_model_with_weight": m.SttModel,
    "update_model": m.SttModel,
    "get_base_model": m.SttModel,
    "create_project": m.SttProject,
    "create_project_with_foundry": m.SttProject,
    "get_project": m.SttProject,
    "update_project": m.SttProject,
    "update_project_with_foundry": m.SttProject,
    "get_model_file": m.SttFile,
}
PAGES: dict[str, type[BaseModel]] = {
    "get_endpoints": m.SttEndpoint,
    "get_not_started_endpoints": m.SttEndpoint,
    "get_project_endpoints": m.SttEndpoint,
    "get_running_models": m.SttModel,
    "get_english_base_models": m.SttModel,
    "get_project_models": m.SttModel,
    "get_projects": m.SttProject,
    "get_projects_from_2018_and_2019": m.SttProject,
    "get_projects_with_foundry": m.SttProject,
    "get_endpoint_logs": m.SttFile,
    "get_base_model_logs": m.SttFile,
    "get_model_files": m.SttFile,
}
CV_ENTITY: dict[str, type[BaseModel]] = {
    "create_endpoint": m.CvEndpoint,
    "get_endpoint": m.CvEndpoint,
    "suspend_endpoint": m.CvEndpoint,
    "resume_endpoint": m.CvEndpoint,
    "get_operation": m.CvOperation,
    "create_model": m.CvModel,
    "create_multi_style_model": m.CvModel,
    "get_model": m.CvModel,
    "create_project": m.CvProject,
    "get_project": m.CvProject,
}
CV_PAGES: dict[str, type[BaseModel]] = {
    "get_endpoints": m.CvEndpoint,
    "get_models": m.CvModel,
    "get_projects": m.CvProject,
    "get_base_models": m.Wire,
}
# Examples of operations the operator never calls (transcription, copying models, manifests, datasets,
# evaluations, locale lists): listed so that a newly vendored example forces a decision.
OUT_OF_SCOPE = {
    "copy_model_with_authorization",
    "create_copy_model_authorization",
    "get_base_model_manifest",
    "get_model_manifest",
    "get_operation_copy_model",
    "get_operation_copy_model_pending",
    "get_supported_endpoint_locales",
    "get_supported_project_locales",
    "get_project_datasets",
    "get_project_evaluations",
    "get_project_transcriptions",
    "transcribe_enhanced_model_options",
}


def _examples() -> list[tuple[str, str, str, Any]]:
    found = []
    for path in sorted(SPECS.glob("*/examples/*.json")):
        data = json.loads(path.read_text())
        for status, response in data["responses"].items():
            found.append((path.parent.parent.name, path.stem, status, response.get("body")))
    return found


EXAMPLES = _examples()


def test_examples_are_vendored() -> None:
    assert len(EXAMPLES) > 100


@pytest.mark.parametrize(("folder", "name", "status", "body"), EXAMPLES, ids=lambda v: str(v)[:40])
def test_example_parses(folder: str, name: str, status: str, body: Any) -> None:
    if body is None:
        assert status in ("202", "204")
        return
    if name in OUT_OF_SCOPE:
        return
    voice = folder.startswith("cv-")
    entity, pages = (CV_ENTITY, CV_PAGES) if voice else (ENTITY, PAGES)
    if name in entity:
        parsed = entity[name].model_validate(body)
        assert parsed.model_dump(by_alias=True, exclude_none=True)
        return
    assert name in pages, f"{folder}/{name}: example not mapped to a model"
    items = body["value"] if voice else body["values"]
    assert items, "an example page without entries proves nothing"
    for item in items:
        pages[name].model_validate(item)
