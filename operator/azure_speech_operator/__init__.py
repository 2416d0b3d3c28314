"""Kubernetes operator for Azure AI Speech custom endpoints."""

__version__ = "0.1.0"

GROUP = "speech.azure-operator.io"
VERSION = "v1alpha1"
