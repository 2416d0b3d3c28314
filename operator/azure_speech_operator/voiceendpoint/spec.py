"""The VoiceEndpoint spec as the operator reads it.

This model mirrors `crds/voiceendpoints.yaml` field by field (a unit test walks both and fails on any
difference; `spec.azure` is written into the CRD from the shared models in azurespec.py). The API server
already enforced the CRD's schema and CEL rules; validating again here guards against objects stored before a
rule existed and gives a clear error naming the field. Rules about changes (immutable fields) need the old
object and live only in the CRD.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from azure_speech_operator.azure.types import AzureTarget
from azure_speech_operator.azurespec import AzureSpecBase, SpecModel, api_version_field
from azure_speech_operator.kube import SPEECH_GROUP as GROUP
from azure_speech_operator.kube import SPEECH_VERSION as VERSION
from azure_speech_operator.resourcespec import (
    DeletionSpecBase,
    ExportTo,
    SpecError,
    SpecReader,
)
from azure_speech_operator.settings import parse_duration
from azure_speech_operator.voiceendpoint import schedule

PLURAL = "voiceendpoints"
KIND = "VoiceEndpoint"

__all__ = [
    "GROUP",
    "VERSION",
    "SpecError",
    "VoiceDeletionSpec",
    "VoiceEndpointSpec",
    "parse_spec",
    "parse_stored_spec",
]

ApiVersion = Literal["2026-01-01", "2024-02-01-preview", "v3.0"]
DEFAULT_API_VERSION: ApiVersion = "2026-01-01"
# Adopt-only: the retiring v3.0 API gets, suspends and resumes endpoints; it cannot create or delete them.
V3 = "v3.0"

# Azure's ResourceId (projects, models): 3-64 letters, digits, '.', '_' or '-', a letter or digit at each end.
RESOURCE_ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,62}[a-zA-Z0-9]$"
# Five fields; cronsim checks the rest (schedule.check_cron).
CRON_PATTERN = r"^[0-9A-Za-z*,/#-]+( +[0-9A-Za-z*,/#-]+){4}$"
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
# As the drift-interval annotation writes durations: days, hours, minutes, seconds, in that order.
DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"

EndpointKind = Literal["HighPerformance", "FastResume"]


class VoiceAzureSpec(AzureSpecBase):
    api_version: ApiVersion = api_version_field(
        ApiVersion,
        DEFAULT_API_VERSION,
        "Custom voice",
        "v3.0 (retiring) can only read, suspend and resume an existing endpoint, on "
        "https://{region}.customvoice.api.speech.microsoft.com.",
    )

    def target(self) -> AzureTarget:
        if self.api_version == V3:
            if self.region is None:
                raise ValueError("custom voice API version v3.0 needs spec.azure.region")
            return AzureTarget.for_voice_v3(self.region)
        return super().target()


class ScheduleSpec(SpecModel):
    suspend: str = Field(max_length=128, pattern=CRON_PATTERN)
    resume: str = Field(max_length=128, pattern=CRON_PATTERN)
    time_zone: str = Field(default="UTC", alias="timeZone", max_length=64, pattern=TIME_ZONE_PATTERN)

    @field_validator("suspend", "resume")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            return schedule.check_cron(value, "")
        except schedule.ScheduleError as exc:
            raise ValueError(exc.problem) from None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            schedule.check_time_zone(value)
        except schedule.ScheduleError as exc:
            raise ValueError(exc.problem) from None
        return value

    @model_validator(mode="after")
    def _differ(self) -> ScheduleSpec:
        # as the CRD's rule compares them: field by field, so that spacing alone does not make them differ
        if self.suspend.split() == self.resume.split():
            raise ValueError("suspend and resume must differ (field by field, spacing aside)")
        return self


class VoiceDeletionSpec(DeletionSpecBase[VoiceAzureSpec]):
    """What deletion needs (see DeletionSpecBase)."""


class VoiceEndpointSpec(VoiceDeletionSpec):
    project_id: str = Field(alias="projectId", min_length=3, max_length=64, pattern=RESOURCE_ID_PATTERN)
    model_id: str = Field(alias="modelId", min_length=3, max_length=64, pattern=RESOURCE_ID_PATTERN)
    display_name: str | None = Field(default=None, alias="displayName", min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)
    kind: EndpointKind | None = None
    suspended: bool | None = None
    schedule: ScheduleSpec | None = None
    swap_grace_period: str | None = Field(
        default=None, alias="swapGracePeriod", min_length=2, max_length=32, pattern=DURATION_PATTERN
    )
    export_to: ExportTo | None = Field(default=None, alias="exportTo")

    @field_validator("swap_grace_period")
    @classmethod
    def _grace_within_bounds(cls, value: str | None) -> str | None:
        if value:
            parse_duration(value)  # a ValueError (too long) names the field
        return value

    @model_validator(mode="after")
    def _v3_is_adopt_only(self) -> VoiceEndpointSpec:
        if self.azure.api_version == V3:
            if self.azure.region is None:
                raise ValueError("azure.region is required with API version v3.0 (it has no custom domains)")
            if self.endpoint_id is None:
                raise ValueError("endpointId is required with API version v3.0 (it cannot create endpoints)")
            if self.deletion_policy != "Orphan":
                raise ValueError("deletionPolicy must be Orphan with API version v3.0 (it cannot delete)")
        return self

    def swap_grace(self, default: timedelta) -> timedelta:
        """How long the previous endpoint lives after a swap: swapGracePeriod, else the operator's default."""
        return parse_duration(self.swap_grace_period) if self.swap_grace_period else default


_READER = SpecReader(VoiceEndpointSpec, VoiceDeletionSpec)
parse_spec = _READER.parse
parse_stored_spec = _READER.parse_stored  # (spec or None, its error, what deletion needs or None)
