"""`spec.azure`, the same for every kind: which Speech resource, at which REST API version, with which
credentials.

These models are the one source of that block: `crdgen` writes `spec.azure` of every CRD in crds/ from them
(descriptions, patterns, lengths, defaults and the CEL rules in `crd_rules`), and each kind narrows only
`apiVersion` to its own versions and default. The API server enforces the CRD; the validators here give
objects stored before a rule existed the same answer, naming the field.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from azure_speech_operator.azure.types import AzureTarget

# RFC 1123 subdomain, as Kubernetes checks object names: dot-separated labels, none empty, none starting or
# ending with a hyphen (a looser pattern let `a..b` through, a name no ConfigMap or Secret can have)
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# A Secret data key as Kubernetes allows it: letters, digits, `-`, `_`, `.`; not `.`, nor starting with `..`
SECRET_KEY = r"^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$"

AZURE_DESCRIPTION = (
    "Which Azure AI Speech resource to use, at which REST API version, with which credentials."
)


# RFC 1123 DNS names (labels of 1-63 letters, digits and inner hyphens; no empty label) and an optional port
# 1-65535, for spec.azure.endpoint. An IPv4 address is such a name too (the simulator's http://127.0.0.1:PORT).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
ENDPOINT_PATTERN = rf"^https?://{_LABEL}(\.{_LABEL})*(:{_PORT})?/?$"


class CelRule(NamedTuple):
    """An `x-kubernetes-validations` entry; `{kind}` in the message is the CRD's kind. A rule about one field
    names it in `field_path` (relative to the node, e.g. `.region`), so that the API server reports the
    refusal at that field rather than at the node; `reason` is the API server's FieldValue* cause (Invalid
    when unset)."""

    rule: str
    message: str
    field_path: str | None = None
    reason: str | None = None


class SpecModel(BaseModel):
    """A part of a stored spec: read-only, by its camelCase names, ignoring what a newer CRD may add."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")
    crd_rules: ClassVar[tuple[CelRule, ...]] = ()


class SecretKeyRef(SpecModel):
    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of the Secret in this resource's namespace.",
    )
    key: str = Field(
        default="key",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key in the Secret's data holding the Speech resource key.",
    )


class WorkloadIdentity(SpecModel):
    pass


class Credentials(SpecModel):
    crd_rules = (
        CelRule(
            "has(self.secretRef) != has(self.workloadIdentity)",
            "set exactly one of spec.azure.credentials.secretRef and spec.azure.credentials.workloadIdentity",
        ),
    )

    secret_ref: SecretKeyRef | None = Field(
        default=None,
        alias="secretRef",
        description=(
            "A key of a Secret in the SAME namespace holding the Speech resource key (there is no namespace "
            "field on purpose). Read on every pass, so rotation needs no restart."
        ),
    )
    workload_identity: WorkloadIdentity | None = Field(
        default=None,
        alias="workloadIdentity",
        description=(
            "Use the operator pod's Microsoft Entra identity (scope "
            "https://cognitiveservices.azure.com/.default). Allowed only in namespaces the operator's "
            "settings list, and needs a custom-domain spec.azure.endpoint."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Credentials:
        if (self.secret_ref is None) == (self.workload_identity is None):
            raise ValueError("set exactly one of secretRef and workloadIdentity")
        return self


def _immutable(field: str) -> CelRule:
    """Neither set, removed nor changed (a transition rule: checked on updates only)."""
    same = f"has(self.{field}) == has(oldSelf.{field})"
    equal = f"(!has(self.{field}) || self.{field} == oldSelf.{field})"
    return CelRule(
        f"{same} && {equal}",
        f"spec.azure.{field} is immutable (the endpoint lives in that Speech resource); "
        "create a new {kind} to move",
        field_path=f".{field}",
    )


def api_version_field(versions: Any, default: str, api: str, note: str = "") -> Any:
    """A kind's `spec.azure.apiVersion`, declared as `api_version: <versions> = api_version_field(...)`:
    `versions` (the Literal of the kind's API versions, which is also the field's type) says what is allowed,
    `default` what an object without it gets, `api` and `note` what the description adds for the kind."""
    if default not in get_args(versions):
        raise ValueError(f"default apiVersion {default!r} is not one of {get_args(versions)}")
    words = (
        f"{api} REST API version the operator uses for this endpoint. Defaulted here (not by the operator) "
        "so that an operator upgrade never changes the payload contract silently."
    )
    return Field(default=default, alias="apiVersion", description=f"{words} {note}".strip())


class AzureSpecBase(SpecModel):
    """`spec.azure` without its `apiVersion`: each kind's subclass declares that field (its versions, its
    default, its description, with `api_version_field`) and nothing else."""

    crd_rules = (
        CelRule(
            "has(self.region) != has(self.endpoint)",
            "set exactly one of spec.azure.region and spec.azure.endpoint",
        ),
        _immutable("region"),
        _immutable("endpoint"),
        CelRule(
            "!has(self.credentials.workloadIdentity) || has(self.endpoint)",
            "spec.azure.credentials.workloadIdentity needs spec.azure.endpoint "
            "(Microsoft Entra authentication requires a custom domain)",
            field_path=".credentials.workloadIdentity",
            reason="FieldValueForbidden",
        ),
    )

    region: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9]+$",
        description=(
            "Azure region of the Speech resource, e.g. westeurope; the operator calls "
            "https://{region}.api.cognitive.microsoft.com (or where the operator's --region-url says; the "
            "custom voice API version v3.0: https://{region}.customvoice.api.speech.microsoft.com). Exactly "
            "one of region and endpoint. Immutable."
        ),
    )
    endpoint: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=ENDPOINT_PATTERN,
        description=(
            "Scheme and host of the Speech resource's custom domain, e.g. "
            "https://my-speech.cognitiveservices.azure.com, with no path. The host is a DNS name (labels of "
            "1-63 letters, digits or inner hyphens), the port optional (1-65535). Exactly one of region and "
            "endpoint. Required for workloadIdentity. Only hosts on the operator's allow-list are called, "
            "over http only if the operator allows it. Immutable."
        ),
    )
    api_version: str = Field(alias="apiVersion")
    credentials: Credentials = Field(
        description="How the operator authenticates to Azure. Exactly one of secretRef and workloadIdentity."
    )

    @model_validator(mode="after")
    def _where_and_how(self) -> AzureSpecBase:
        if (self.region is None) == (self.endpoint is None):
            raise ValueError("set exactly one of region and endpoint")
        if self.credentials.workload_identity is not None and self.endpoint is None:
            raise ValueError(
                "spec.azure.credentials.workloadIdentity needs spec.azure.endpoint (a custom domain)"
            )
        return self

    def target(self) -> AzureTarget:
        if self.endpoint is not None:
            return AzureTarget(base_url=self.endpoint.rstrip("/"), api_version=self.api_version)
        assert self.region is not None  # the validator guarantees one of them
        return AzureTarget.for_region(self.region, self.api_version)
