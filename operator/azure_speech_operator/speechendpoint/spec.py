"""The SpeechEndpoint spec as the operator reads it.

This model mirrors `crds/speechendpoints.yaml` field by field (a unit test walks both and fails on any
difference). The API server already enforced the CRD's schema and CEL rules; validating again here guards
against objects stored before a rule existed and gives a clear error naming the field.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from azure_speech_operator.azure.speech import MARKER_KEY
from azure_speech_operator.azure.types import AzureTarget, ModelRef

GROUP = "speech.azure-operator.io"
VERSION = "v1alpha1"
PLURAL = "speechendpoints"
KIND = "SpeechEndpoint"

# The operator tags the endpoints it creates with customProperties[MARKER_KEY] = the resource's uid.
__all__ = ["MARKER_KEY", "DeletionSpec", "SpecError", "SpeechEndpointSpec", "parse_spec", "parse_stored_spec"]
MAX_USER_CUSTOM_PROPERTIES = 9  # Azure allows 10; the marker takes one

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"

ApiVersion = Literal["v3.2", "2024-11-15", "2025-10-15"]
DEFAULT_API_VERSION: ApiVersion = "2025-10-15"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class SecretKeyRef(_Model):
    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    key: str = Field(default="key", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class WorkloadIdentity(_Model):
    pass


class Credentials(_Model):
    secret_ref: SecretKeyRef | None = Field(default=None, alias="secretRef")
    workload_identity: WorkloadIdentity | None = Field(default=None, alias="workloadIdentity")

    @model_validator(mode="after")
    def _exactly_one(self) -> Credentials:
        if (self.secret_ref is None) == (self.workload_identity is None):
            raise ValueError("set exactly one of secretRef and workloadIdentity")
        return self


class AzureSpec(_Model):
    region: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9]+$")
    endpoint: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$",
    )
    api_version: ApiVersion = Field(default=DEFAULT_API_VERSION, alias="apiVersion")
    credentials: Credentials

    @model_validator(mode="after")
    def _exactly_one(self) -> AzureSpec:
        if (self.region is None) == (self.endpoint is None):
            raise ValueError("set exactly one of region and endpoint")
        return self

    def target(self) -> AzureTarget:
        if self.endpoint is not None:
            return AzureTarget(base_url=self.endpoint.rstrip("/"), api_version=self.api_version)
        assert self.region is not None  # the validator guarantees one of them
        return AzureTarget.for_region(self.region, self.api_version)


class ModelSpec(_Model):
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


class ExportTo(_Model):
    config_map_name: str = Field(alias="configMapName", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)


class DeletionSpec(_Model):
    """What deleting the resource's endpoint needs from its spec: where and with which credentials, the
    adopted endpoint, the locale (narrows a lookup by tag) and deletionPolicy. Read on its own, so that a spec
    failing the operator's other checks (stored before a rule existed) still deletes the endpoint it owns."""

    azure: AzureSpec
    locale: str | None = None
    endpoint_id: str | None = Field(default=None, alias="endpointId", pattern=UUID_PATTERN)
    deletion_policy: Literal["Delete", "Orphan"] = Field(default="Delete", alias="deletionPolicy")

    @property
    def adopted_endpoint_id(self) -> str | None:
        return self.endpoint_id.lower() if self.endpoint_id else None


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
        if self.azure.credentials.workload_identity is not None and self.azure.endpoint is None:
            raise ValueError("azure.credentials.workloadIdentity needs azure.endpoint (a custom domain)")
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


_Spec = TypeVar("_Spec", bound=DeletionSpec)


class SpecError(ValueError):
    """The stored spec does not validate: a message naming the field, safe to show on the resource."""


def parse_spec(raw: dict[str, Any]) -> SpeechEndpointSpec:
    return _parse(SpeechEndpointSpec, raw)


def parse_stored_spec(
    raw: dict[str, Any],
) -> tuple[SpeechEndpointSpec | None, str | None, DeletionSpec | None]:
    """The spec (None and the error naming the field if it does not validate) and what deletion needs of it
    (None only if that part does not validate either)."""
    try:
        spec = parse_spec(raw)
    except SpecError as exc:
        try:
            return None, str(exc), _parse(DeletionSpec, raw)
        except SpecError:
            return None, str(exc), None
    return spec, None, spec


def _parse(model: type[_Spec], raw: dict[str, Any]) -> _Spec:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_url=False, include_input=False):
            where = "spec." + ".".join(str(p) for p in error["loc"]) if error["loc"] else "spec"
            parts.append(f"{where}: {error['msg']}")
        raise SpecError("; ".join(parts)) from None
