"""Seed data: the models and projects every simulated Speech resource starts with.

Dates are relative to the simulator's clock at start (`transcriptionInDays: 20` = 20 days after start), so
"expiring within 30 days" stays true whenever the simulator runs. Overridable from a YAML or JSON file with
the same (camelCase) keys; `azure-speech-operator simulate-azure --print-seed` prints the effective seed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel, to_snake

from .config import json_kind, problems

SpeechStatus = Literal["NotStarted", "Running", "Succeeded", "Failed"]
# A custom model's `customModelWeightPercent` when its creator set none: the spec says the service then
# chooses a suitable value (and a GET shows it); every spec example shows 30.
DEFAULT_MODEL_WEIGHT_PERCENT = 30
_RESOURCE_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,62}[a-zA-Z0-9]$")
# Seed dates are days from the simulator's start: a century either way (docs/simulator.md, "Limits").
MAX_SEED_DAYS = 36500.0


@dataclass(frozen=True)
class VoiceRecipe:
    """A custom voice training recipe (Models_ListRecipes); Models_Create takes only these kinds. The values
    are those of the official get_recipes example."""

    kind: str
    version: str
    description: str
    min_utterance_count: int
    min_duration_seconds: float
    dataset_locales: tuple[str, ...]
    min_style_utterance_count: int | None = None
    max_custom_style_num: int | None = None
    # locale -> preset styles of a male and a female voice (the same list for both, as in the example)
    preset_styles: tuple[tuple[str, tuple[str, ...]], ...] = ()


VOICE_RECIPES = (
    VoiceRecipe(
        kind="Default",
        version="V7.2023.03",
        description="Model updated with a robust vocoder for higher audio quality. "
        "15-50 compute hours estimated for each training.",
        min_utterance_count=300,
        min_duration_seconds=3600.0,
        dataset_locales=("en-US", "en-GB", "fr-FR", "it-IT"),
    ),
    VoiceRecipe(
        kind="MultiStyle",
        version="V3.2023.06",
        description="Basic version to adapt the voice to speak with multiple emotional styles, or create "
        "your own speaking style with custom style training data. 25-50 computer hours estimated for each "
        "training. Style degree tuning supported.",
        min_utterance_count=300,
        min_duration_seconds=3600.0,
        dataset_locales=("en-US", "ja-JP"),
        min_style_utterance_count=100,
        max_custom_style_num=5,
        preset_styles=(
            (
                "en-US",
                (
                    "angry",
                    "excited",
                    "cheerful",
                    "friendly",
                    "hopeful",
                    "sad",
                    "shouting",
                    "terrified",
                    "unfriendly",
                    "whispering",
                ),
            ),
            ("ja-JP", ("angry", "cheerful", "sad")),
        ),
    ),
)
RECIPE_KINDS = tuple(recipe.kind for recipe in VOICE_RECIPES)


class SeedFileError(ValueError):
    """A seed file that cannot be used: the message names the file and the problem on one line (the command
    prefixes `--seed-file:`)."""


def _resource_id(value: str) -> str:
    if not _RESOURCE_ID.match(value):
        raise ValueError(f"voice id {value!r} must match {_RESOURCE_ID.pattern}")
    return value


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


def _optional_uuid(value: str | None) -> str | None:
    """A reference to a seeded id, written as the ids are kept (lower case), so that it resolves."""
    return None if value is None else _uuid(value)


class _Seed(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, allow_inf_nan=False
    )

    @field_validator("*")
    @classmethod
    def _days_bounded(cls, value: Any) -> Any:
        if isinstance(value, float) and abs(value) > MAX_SEED_DAYS:
            raise ValueError(f"days must be between -{MAX_SEED_DAYS:g} and {MAX_SEED_DAYS:g}")
        return value


class SeedBaseModel(_Seed):
    id: str
    locale: str
    display_name: str
    description: str = ""
    adaptation_in_days: float = 365
    transcription_in_days: float = 730
    created_days_ago: float = 300
    supports_endpoints: bool = True
    deploy_fails: bool = False

    _id = field_validator("id")(_uuid)


class SeedCustomModel(_Seed):
    id: str
    locale: str
    display_name: str
    description: str = ""
    status: SpeechStatus = "Succeeded"
    supports_endpoints: bool = True
    base_model: str | None = None
    project: str | None = None
    transcription_in_days: float = 730
    created_days_ago: float = 30
    deploy_fails: bool = False
    custom_properties: dict[str, str] = Field(default_factory=dict)
    datasets: list[str] = Field(default_factory=list)  # dataset URLs (only kept, datasets are not simulated)
    custom_model_weight_percent: int = Field(default=DEFAULT_MODEL_WEIGHT_PERCENT, ge=1, le=100)

    _id = field_validator("id")(_uuid)
    _references = field_validator("base_model", "project")(_optional_uuid)


class SeedProject(_Seed):
    id: str
    locale: str
    display_name: str
    description: str = ""
    foundry_project_name: str | None = None  # 2025-10-15 only
    custom_properties: dict[str, str] = Field(default_factory=dict)
    created_days_ago: float = 60

    _id = field_validator("id")(_uuid)


class SeedSpeechEndpoint(_Seed):
    """An endpoint that already exists when the simulator starts (adoption tests, demos)."""

    id: str
    display_name: str
    locale: str
    model: str
    description: str = ""
    status: SpeechStatus = "Succeeded"
    logging_enabled: bool = False
    custom_properties: dict[str, str] = Field(default_factory=dict)
    project: str | None = None
    created_days_ago: float = 10

    _id = field_validator("id", "model")(_uuid)
    _project = field_validator("project")(_optional_uuid)


class SeedVoiceProject(_Seed):
    id: str
    kind: Literal["ProfessionalVoice", "PersonalVoice"] = "ProfessionalVoice"
    display_name: str = ""
    description: str = ""
    locale: str = "en-US"
    created_days_ago: float = 90

    _id = field_validator("id")(_resource_id)


class SeedVoiceModel(_Seed):
    id: str
    project_id: str
    locale: str = "en-US"
    voice_name: str = ""
    description: str = ""
    status: Literal["NotStarted", "Running", "Succeeded", "Failed"] = "Succeeded"
    deploy_fails: bool = False
    created_days_ago: float = 45
    consent_id: str | None = None
    training_set_id: str | None = None
    recipe_kind: str = "Default"
    preset_styles: list[str] = Field(default_factory=list)
    style_training_set_ids: dict[str, str] = Field(default_factory=dict)

    _id = field_validator("id", "project_id")(_resource_id)

    @field_validator("recipe_kind")
    @classmethod
    def _known_recipe(cls, value: str) -> str:
        if value not in RECIPE_KINDS:
            raise ValueError(f"recipe kind must be one of {', '.join(RECIPE_KINDS)}")
        return value


class SeedVoiceBaseModel(_Seed):
    name: str
    description: str = ""
    release_days_ago: float = 700
    expiration_in_days: float | None = None
    capabilities: list[str] = Field(default_factory=list)


class SeedVoiceEndpoint(_Seed):
    id: str
    project_id: str
    model_id: str
    description: str = ""
    display_name: str = ""
    kind: Literal["HighPerformance", "FastResume"] = "HighPerformance"
    status: Literal["Succeeded", "Disabled", "Failed"] = "Succeeded"
    created_days_ago: float = 10

    _id = field_validator("id")(_uuid)


class Seed(_Seed):
    base_models: list[SeedBaseModel] = Field(default_factory=list)
    custom_models: list[SeedCustomModel] = Field(default_factory=list)
    projects: list[SeedProject] = Field(default_factory=list)
    speech_endpoints: list[SeedSpeechEndpoint] = Field(default_factory=list)
    voice_projects: list[SeedVoiceProject] = Field(default_factory=list)
    voice_models: list[SeedVoiceModel] = Field(default_factory=list)
    voice_base_models: list[SeedVoiceBaseModel] = Field(default_factory=list)
    voice_endpoints: list[SeedVoiceEndpoint] = Field(default_factory=list)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# Fixed ids other tests, examples and docs refer to (listed in docs/simulator.md).
BASE_EN_US_CURRENT = "ba5e0001-0000-4000-8000-000000000001"
BASE_EN_US_EXPIRING = "ba5e0002-0000-4000-8000-000000000002"
BASE_EN_US_EXPIRED = "ba5e0003-0000-4000-8000-000000000003"
BASE_DE_DE_CURRENT = "ba5e0004-0000-4000-8000-000000000004"
CUSTOM_EN_US_DEPLOYABLE = "c0570001-0000-4000-8000-000000000001"
CUSTOM_EN_US_NOT_DEPLOYABLE = "c0570002-0000-4000-8000-000000000002"
CUSTOM_EN_US_TRAINING = "c0570003-0000-4000-8000-000000000003"
CUSTOM_EN_US_FAILED = "c0570004-0000-4000-8000-000000000004"
CUSTOM_DE_DE_DEPLOYABLE = "c0570005-0000-4000-8000-000000000005"
CUSTOM_EN_US_DEPLOY_FAILS = "c0570006-0000-4000-8000-000000000006"
CUSTOM_EN_US_EXPIRING = "c0570007-0000-4000-8000-000000000007"
CUSTOM_EN_US_DEPLOYABLE_2 = "c0570008-0000-4000-8000-000000000008"
PROJECT_EN_US = "9f0e0001-0000-4000-8000-000000000001"
PROJECT_DE_DE = "9f0e0002-0000-4000-8000-000000000002"
VOICE_PROJECT = "Jessica"
VOICE_MODEL = "Jessica"
VOICE_MODEL_2 = "JessicaV2"
VOICE_MODEL_TRAINING = "JessicaTraining"
VOICE_MODEL_FAILED = "JessicaFailed"
VOICE_MODEL_DEPLOY_FAILS = "JessicaDeployFails"
VOICE_PROJECT_DE = "Hans"
VOICE_MODEL_DE = "Hans"


def default_seed() -> Seed:
    return Seed(
        base_models=[
            SeedBaseModel(
                id=BASE_EN_US_CURRENT,
                locale="en-US",
                display_name="20250115 (current)",
                adaptation_in_days=300,
                transcription_in_days=665,
                created_days_ago=300,
            ),
            SeedBaseModel(
                id=BASE_EN_US_EXPIRING,
                locale="en-US",
                display_name="20231015 (transcription ends in 20 days)",
                adaptation_in_days=-345,
                transcription_in_days=20,
                created_days_ago=710,
            ),
            SeedBaseModel(
                id=BASE_EN_US_EXPIRED,
                locale="en-US",
                display_name="20220415 (expired)",
                adaptation_in_days=-400,
                transcription_in_days=-35,
                created_days_ago=1090,
            ),
            SeedBaseModel(
                id=BASE_DE_DE_CURRENT,
                locale="de-DE",
                display_name="20250115 (current)",
                adaptation_in_days=300,
                transcription_in_days=665,
                created_days_ago=300,
            ),
        ],
        custom_models=[
            SeedCustomModel(
                id=CUSTOM_EN_US_DEPLOYABLE,
                locale="en-US",
                display_name="Contoso call center (en-US)",
                base_model=BASE_EN_US_CURRENT,
                project=PROJECT_EN_US,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_DEPLOYABLE_2,
                locale="en-US",
                display_name="Contoso call center v2 (en-US)",
                base_model=BASE_EN_US_CURRENT,
                project=PROJECT_EN_US,
                created_days_ago=5,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_NOT_DEPLOYABLE,
                locale="en-US",
                display_name="Batch-only model (supportsEndpoints=false)",
                supports_endpoints=False,
                base_model=BASE_EN_US_CURRENT,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_TRAINING,
                locale="en-US",
                display_name="Still training",
                status="Running",
                base_model=BASE_EN_US_CURRENT,
                created_days_ago=0.1,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_FAILED,
                locale="en-US",
                display_name="Training failed",
                status="Failed",
                base_model=BASE_EN_US_CURRENT,
            ),
            SeedCustomModel(
                id=CUSTOM_DE_DE_DEPLOYABLE,
                locale="de-DE",
                display_name="Contoso Kundendienst (de-DE)",
                base_model=BASE_DE_DE_CURRENT,
                project=PROJECT_DE_DE,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_DEPLOY_FAILS,
                locale="en-US",
                display_name="Deploys always fail (simulator flag deployFails)",
                base_model=BASE_EN_US_CURRENT,
                deploy_fails=True,
            ),
            SeedCustomModel(
                id=CUSTOM_EN_US_EXPIRING,
                locale="en-US",
                display_name="Old custom model (transcription ends in 20 days)",
                base_model=BASE_EN_US_EXPIRING,
                transcription_in_days=20,
                created_days_ago=710,
            ),
        ],
        projects=[
            SeedProject(id=PROJECT_EN_US, locale="en-US", display_name="Contoso speech (en-US)"),
            SeedProject(id=PROJECT_DE_DE, locale="de-DE", display_name="Contoso Sprache (de-DE)"),
        ],
        voice_projects=[
            SeedVoiceProject(id=VOICE_PROJECT, display_name="Jessica", description="Professional voice"),
            SeedVoiceProject(id=VOICE_PROJECT_DE, display_name="Hans", locale="de-DE"),
        ],
        voice_models=[
            SeedVoiceModel(id=VOICE_MODEL, project_id=VOICE_PROJECT, voice_name="JessicaNeural"),
            SeedVoiceModel(id=VOICE_MODEL_2, project_id=VOICE_PROJECT, voice_name="JessicaV2Neural"),
            SeedVoiceModel(
                id=VOICE_MODEL_TRAINING, project_id=VOICE_PROJECT, voice_name="JessicaT", status="Running"
            ),
            SeedVoiceModel(
                id=VOICE_MODEL_FAILED, project_id=VOICE_PROJECT, voice_name="JessicaF", status="Failed"
            ),
            SeedVoiceModel(
                id=VOICE_MODEL_DEPLOY_FAILS,
                project_id=VOICE_PROJECT,
                voice_name="JessicaD",
                deploy_fails=True,
            ),
            SeedVoiceModel(
                id=VOICE_MODEL_DE, project_id=VOICE_PROJECT_DE, locale="de-DE", voice_name="HansNeural"
            ),
        ],
        voice_base_models=[
            SeedVoiceBaseModel(
                name="PhoenixV2Neural", description="Phoenix V2 base model", release_days_ago=700
            ),
            SeedVoiceBaseModel(
                name="PhoenixLatestNeural",
                description="Phoenix latest base model",
                release_days_ago=120,
                capabilities=["PersonalVoice"],
            ),
            SeedVoiceBaseModel(
                name="PhoenixV1Neural", description="retiring", release_days_ago=1200, expiration_in_days=25
            ),
        ],
    )


def load_seed(path: Path) -> Seed:
    """Read a seed file (YAML, or JSON by suffix). A SeedFileError names the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SeedFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SeedFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise SeedFileError(
            f"{path}: the seed must be a mapping with keys like baseModels, customModels, "
            f"not {'an empty document' if data is None else json_kind(data)}"
        )
    # Each list the file names replaces the built-in list; lists it leaves out keep the built-in data.
    merged = default_seed().dump() | data
    try:
        seed = Seed.model_validate(merged)
    except ValidationError as exc:
        raise SeedFileError(f"{path}: {problems(exc)}") from None
    unresolved = reference_problems(seed)
    if unresolved:
        raise SeedFileError(f"{path}: {'; '.join(unresolved)}")
    return seed


# The lists whose entries others refer to by id, grouped by the namespace an id is looked up in: a speech
# endpoint's `model` may name a base or a custom model, so those two lists share one.
_ID_NAMESPACES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("baseModels", "id"), ("customModels", "id")),
    (("projects", "id"),),
    (("speechEndpoints", "id"),),
    (("voiceProjects", "id"),),
    (("voiceModels", "id"),),
    (("voiceBaseModels", "name"),),
    (("voiceEndpoints", "id"),),
)


def reference_problems(seed: Seed) -> list[str]:
    """What a seed names without having it, and ids it has twice, each as `list.index.field: problem`.
    The simulator would otherwise start with entities it cannot resolve: an endpoint of a model that does
    not exist, or of another locale than its model, which Azure never has."""
    return [*_duplicates(seed), *_speech_references(seed), *_voice_references(seed)]


def _entries(seed: Seed, alias: str) -> list[Any]:
    entries: list[Any] = getattr(seed, to_snake(alias))
    return entries


def _duplicates(seed: Seed) -> list[str]:
    found = []
    for namespace in _ID_NAMESPACES:
        first: dict[str, str] = {}
        for alias, key in namespace:
            for index, entry in enumerate(_entries(seed, alias)):
                value = getattr(entry, key)
                if value in first:
                    found.append(f"{alias}.{index}.{key}: {value!r} is also the {key} of {first[value]}")
                else:
                    first[value] = f"{alias}.{index}"
    return found


def _speech_references(seed: Seed) -> list[str]:
    base = {m.id: m for m in seed.base_models}
    models: dict[str, SeedBaseModel | SeedCustomModel] = {**base, **{m.id: m for m in seed.custom_models}}
    projects = {p.id for p in seed.projects}
    found = []
    for index, custom in enumerate(seed.custom_models):
        where = f"customModels.{index}"
        if custom.base_model is not None:
            found += _model_problems(where, "baseModel", custom.base_model, custom.locale, base, "baseModels")
        found += _missing(where, "project", custom.project, projects, "projects")
    for index, endpoint in enumerate(seed.speech_endpoints):
        where = f"speechEndpoints.{index}"
        found += _model_problems(
            where, "model", endpoint.model, endpoint.locale, models, "baseModels or customModels"
        )
        found += _missing(where, "project", endpoint.project, projects, "projects")
    return found


def _missing(where: str, field: str, value: str | None, known: Container[str], lists: str) -> list[str]:
    if value is None or value in known:
        return []
    return [f"{where}.{field}: no {lists} entry has the id {value!r}"]


def _model_problems(
    where: str,
    field: str,
    model_id: str,
    locale: str,
    models: Mapping[str, SeedBaseModel | SeedCustomModel],
    lists: str,
) -> list[str]:
    model = models.get(model_id)
    if model is None:
        return _missing(where, field, model_id, models, lists)
    if model.locale != locale:
        return [f"{where}.locale: {locale!r} is not the locale of its {field} {model_id} ({model.locale})"]
    return []


def _voice_references(seed: Seed) -> list[str]:
    projects = {p.id for p in seed.voice_projects}
    models = {m.id: m for m in seed.voice_models}
    found = []
    for index, model in enumerate(seed.voice_models):
        found += _missing(f"voiceModels.{index}", "projectId", model.project_id, projects, "voiceProjects")
    for index, endpoint in enumerate(seed.voice_endpoints):
        where = f"voiceEndpoints.{index}"
        found += _missing(where, "projectId", endpoint.project_id, projects, "voiceProjects")
        found += _missing(where, "modelId", endpoint.model_id, models, "voiceModels")
        used = models.get(endpoint.model_id)
        if used is not None and used.project_id != endpoint.project_id:
            found.append(
                f"{where}.modelId: {endpoint.model_id!r} is a model of project {used.project_id!r}, "
                f"not of {endpoint.project_id!r}"
            )
    return found


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedFileError(
                f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise SeedFileError(f"{path}: not valid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise SeedFileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
