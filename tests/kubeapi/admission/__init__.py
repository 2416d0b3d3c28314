"""Admission of custom objects as kube-apiserver does it, for the emulated Kubernetes API.

check_structural(crd) vets a CRD's schemas; CustomResourceAdmission(crd).admit(...) prunes, defaults,
validates and runs the CEL rules of one object; AdmissionError.status_body(...) is the apiserver's 422
Status;
openapi_v3_documents / openapi_v2_document feed kubectl's client-side validation.
"""

from .admit import CustomResourceAdmission
from .errors import AdmissionError, FieldError, StructuralSchemaError
from .openapi import openapi_v2_document, openapi_v3_documents
from .structural import check_structural

__all__ = [
    "AdmissionError",
    "CustomResourceAdmission",
    "FieldError",
    "StructuralSchemaError",
    "check_structural",
    "openapi_v2_document",
    "openapi_v3_documents",
]
