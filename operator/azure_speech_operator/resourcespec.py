"""What the specs of both kinds share besides `spec.azure`: adoption and deletion fields, `exportTo`, and
reading a stored spec into a model with errors that name the field."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import Field, ValidationError

from azure_speech_operator.azurespec import DNS_SUBDOMAIN, AzureSpecBase, SpecModel

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

AzureT = TypeVar("AzureT", bound=AzureSpecBase)


class ExportTo(SpecModel):
    config_map_name: str = Field(alias="configMapName", min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)


class DeletionSpecBase(SpecModel, Generic[AzureT]):
    """What deleting the resource's endpoint needs from its spec: where and with which credentials, the
    adopted endpoint and deletionPolicy. Each kind adds what else its deletion reads; a spec failing the
    kind's other checks still deletes the endpoint it owns."""

    azure: AzureT
    endpoint_id: str | None = Field(default=None, alias="endpointId", pattern=UUID_PATTERN)
    deletion_policy: Literal["Delete", "Orphan"] = Field(default="Delete", alias="deletionPolicy")

    @property
    def adopted_endpoint_id(self) -> str | None:
        return self.endpoint_id.lower() if self.endpoint_id else None


class SpecError(ValueError):
    """The stored spec does not validate: a message naming the field, safe to show on the resource."""


_Model = TypeVar("_Model", bound=SpecModel)
_Deletion = TypeVar("_Deletion", bound=SpecModel)


def parse_model(model: type[_Model], raw: dict[str, Any]) -> _Model:
    """`raw` (a stored spec) as `model`, or SpecError naming each failing field (`spec.a.b: ...`)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_url=False, include_input=False):
            where = "spec." + ".".join(str(p) for p in error["loc"]) if error["loc"] else "spec"
            parts.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise SpecError("; ".join(parts)) from None


class SpecReader(Generic[_Model, _Deletion]):
    """Reads one kind's stored spec: as its whole `model`, and as what its `deletion` needs."""

    def __init__(self, model: type[_Model], deletion: type[_Deletion]) -> None:
        self.model = model
        self.deletion = deletion

    def parse(self, raw: dict[str, Any]) -> _Model:
        return parse_model(self.model, raw)

    def parse_stored(
        self, raw: dict[str, Any]
    ) -> tuple[_Model | None, str | None, _Model | _Deletion | None]:
        """The spec (None and the error naming the field if it does not validate) and what deletion needs of
        it (None only if that part does not validate either)."""
        try:
            spec = self.parse(raw)
        except SpecError as exc:
            try:
                return None, str(exc), parse_model(self.deletion, raw)
            except SpecError:
                return None, str(exc), None
        return spec, None, spec
