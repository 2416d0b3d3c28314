"""SpeechEndpoint: spec model, pure reconcile logic, kopf handlers."""
