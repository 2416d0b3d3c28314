"""Admission of one custom object: prune, default, validate against the schema, then run the CEL rules."""

from __future__ import annotations

import copy
import json
from typing import Any

from .cel import CelValidator
from .errors import AdmissionError, FieldError, invalid
from .schema import apply_defaults, prune, validate, validate_list_types

Schema = dict[str, Any]

# Schema errors after which the apiserver does not run CEL rules (their cost estimates would not hold).
BLOCKING_TYPES = frozenset(
    {
        "FieldValueTypeInvalid",
        "FieldValueRequired",
        "FieldValueNotSupported",
        "FieldValueTooLong",
        "FieldValueTooMany",
    }
)
BLOCKING_DETAIL = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


class _Version:
    def __init__(self, name: str, schema: Schema, status_subresource: bool) -> None:
        self.name = name
        self.schema = schema
        self.status_subresource = status_subresource
        self.cel = CelValidator(schema, "openAPIV3Schema")


class CustomResourceAdmission:
    """What the apiserver does to a custom object of one CRD between decoding the body and storing it.

    Built once per CRD (rules are compiled here), then admit() per request.
    """

    def __init__(self, crd: dict[str, Any]) -> None:
        # a private copy: compiled rules are bound to schema nodes, which the caller must not be able to swap;
        # the JSON round trip also unshares nodes that YAML anchors made one object
        crd = json.loads(json.dumps(crd))
        spec = crd.get("spec") or {}
        self.group: str = spec.get("group", "")
        self.kind: str = (spec.get("names") or {}).get("kind", "")
        self._versions: dict[str, _Version] = {}
        for version in spec.get("versions") or []:
            schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
            has_status = "status" in (version.get("subresources") or {})
            self._versions[version["name"]] = _Version(version["name"], schema, has_status)

    def schema(self, version: str) -> Schema:
        return self._version(version).schema

    def _version(self, version: str) -> _Version:
        try:
            return self._versions[version]
        except KeyError:
            raise KeyError(f"{self.kind}.{self.group} has no version {version!r}") from None

    def unknown_fields(self, version: str, obj: dict[str, Any]) -> list[str]:
        """The fields pruning would drop, as `fieldValidation=Strict|Warn` reports them (`spec.foo`)."""
        return prune(copy.deepcopy(obj), self._version(version).schema)

    def prune_and_default(self, version: str, obj: dict[str, Any]) -> dict[str, Any]:
        """What reading an object back from storage does: prune, then default (no validation)."""
        out = copy.deepcopy(obj)
        schema = self._version(version).schema
        prune(out, schema)
        apply_defaults(out, schema)
        return out

    def admit(
        self,
        version: str,
        obj: dict[str, Any],
        old: dict[str, Any] | None = None,
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Returns the pruned and defaulted object, or raises AdmissionError with every field error.

        Transition rules (oldSelf) run only when old is given (an update). The whole object is validated for
        a status update as well, as the apiserver's status strategy does; subresource is accepted for that
        symmetry and does not narrow validation.
        """
        del subresource
        v = self._version(version)
        out = self.prune_and_default(version, obj)
        old_out = self.prune_and_default(version, old) if old is not None else None
        errors: list[FieldError] = validate(out, v.schema, old=(old_out,) if old_out is not None else None)
        errors.extend(validate_list_types(out, v.schema))
        if v.cel.rule_count:
            if any(e.type in BLOCKING_TYPES for e in errors):
                errors.append(invalid("<nil>", None, BLOCKING_DETAIL))
            else:
                errors.extend(v.cel.validate(out, old_out, has_old=old_out is not None))
        if errors:
            raise AdmissionError(errors)
        return out
