"""The SpeechEndpoint spec as the operator reads it.

This model mirrors `crds/speechendpoints.yaml` field by field (a unit test walks both and fails on any
difference; `spec.azure` is written into the CRD from the shared models in azurespec.py). The API server
already enforced the CRD's schema and CEL rules; validating again here guards against objects stored before a
rule existed and gives a clear error naming the field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from azure_speech_operator.azure.speech import MARKER_KEY
from azure_speech_operator.azure.types import ModelRef
from azure_speech_operator.azurespec import AzureSpecBase, SpecModel, api_version_field
from azure_speech_operator.resourcespec import (
    UUID_PATTERN,
    DeletionSpecBase,
    ExportTo,
    SpecError,
    SpecReader,
)

GROUP = "speech.azure-operator.io"
VERSION = "v1alpha1"
PLURAL = "speechendpoints"
KIND = "SpeechEndpoint"

# The operator tags the endpoints it creates with customProperties[MARKER_KEY] = the resource's uid.
__all__ = ["MARKER_KEY", "DeletionSpec", "SpecError", "SpeechEndpointSpec", "parse_spec", "parse_stored_spec"]
MAX_USER_CUSTOM_PROPERTIES = 9  # Azure allows 10; the marker takes one

ApiVersion = Literal["v3.2", "2024-11-15", "2025-10-15"]
DEFAULT_API_VERSION: ApiVersion = "2025-10-15"


class AzureSpec(AzureSpecBase):
    api_version: ApiVersion = api_version_field(ApiVersion, DEFAULT_API_VERSION, "Speech-to-text")


class ModelSpec(SpecModel):
    custom_model_id: str | None = Field(default=None, alias="customModelId", pattern=UUID_PATTERN)
    base_model_id: str | None = Field(default=None, alias="baseModelId", pattern=UUID_PATTERN)

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSpec:
        if (self.custom_model_id is None) == (self.base_model_id is None):
            raise ValueError("set exactly one of customModelId and baseModelId")
        return self

    def ref(self) -> ModelRef:
        if self.custom_model_id is not None:
            return ModelRef(id=self.custom_model_id.lower(), kind="custom")
        assert self.base_model_id is not None
        return ModelRef(id=self.base_model_id.lower(), kind="base")


class DeletionSpec(DeletionSpecBase[AzureSpec]):
    """What deletion needs (see DeletionSpecBase), and the locale (narrows a lookup by tag)."""

    locale: str | None = None


class SpeechEndpointSpec(DeletionSpec):
    display_name: str | None = Field(default=None, alias="displayName", min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)
    locale: str = Field(min_length=2, max_length=35, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
    model: ModelSpec
    project_id: str | None = Field(default=None, alias="projectId", pattern=UUID_PATTERN)
    logging_enabled: bool | None = Field(default=None, alias="loggingEnabled")
    custom_properties: dict[str, str] | None = Field(
        default=None, alias="customProperties", max_length=MAX_USER_CUSTOM_PROPERTIES
    )
    export_to: ExportTo | None = Field(default=None, alias="exportTo")

    @model_validator(mode="after")
    def _cross_field_rules(self) -> SpeechEndpointSpec:
        if self.project_id is not None and self.azure.api_version == "2024-11-15":
            raise ValueError("projectId is not supported by Azure API version 2024-11-15")
        for key, value in (self.custom_properties or {}).items():
            if not 1 <= len(key) <= 64:
                raise ValueError(f"customProperties key {key[:70]!r} must be 1 to 64 characters long")
            if len(value) > 256:
                raise ValueError(f"customProperties[{key!r}] must be at most 256 characters long")
            if key == MARKER_KEY:
                raise ValueError(
                    f"customProperties must not use the key {MARKER_KEY} (the operator's marker)"
                )
        return self


_READER = SpecReader(SpeechEndpointSpec, DeletionSpec)
parse_spec = _READER.parse
parse_stored_spec = _READER.parse_stored  # (spec or None, its error, what deletion needs or None)
