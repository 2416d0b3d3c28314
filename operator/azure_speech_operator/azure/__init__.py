"""Typed async client for the Azure Speech endpoint APIs. Knows nothing of Kubernetes."""
