"""The kind-independent operator machinery: the context handlers share, credentials, the exported ConfigMap,
metrics, the operator's log, and the wake-up of sleeping handlers."""
