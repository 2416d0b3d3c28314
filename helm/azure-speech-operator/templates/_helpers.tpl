{{/* Names and labels, the usual Helm way. */}}
{{- define "azure-speech-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "azure-speech-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "azure-speech-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "azure-speech-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "azure-speech-operator.labels" -}}
{{ include "azure-speech-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "azure-speech-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "azure-speech-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "azure-speech-operator.subjects" -}}
- kind: ServiceAccount
  name: {{ include "azure-speech-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{- define "azure-speech-operator.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* A Service's name is a DNS label (at most 63 characters): the suffix must fit beside the full name. */}}
{{- define "azure-speech-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "azure-speech-operator.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "azure-speech-operator.peeringName" -}}
{{- default (include "azure-speech-operator.fullname" .) .Values.peering.name }}
{{- end }}

{{/*
A duration value, returned as written once the operator would take it: values.schema.json checks the syntax,
but a JSON-schema pattern cannot add up parts (1h30m, 5s5s), and the operator refuses at start (the pod would
crash-loop) a sum over 36500d, one that rounds to no time at all (it counts in microseconds) where time must
pass ("positive"), and a peering lifetime that is not whole seconds from 10s ("lifetime"). The arithmetic is
settings.parse_duration's. Call with (list VALUE-NAME VALUE RULE); RULE is "positive", "lifetime" or "".
*/}}
{{- define "azure-speech-operator.duration" -}}
{{- $name := index . 0 }}
{{- $value := index . 1 }}
{{- $rule := index . 2 }}
{{- $units := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 }}
{{- $text := lower $value }}
{{- $seconds := 0.0 }}
{{- if regexMatch "^[0-9.]+$" $text }}
{{- $seconds = float64 $text }}
{{- else }}
{{- range regexFindAll "[0-9.]+(ms|s|m|h|d)" $text -1 }}
{{- $unit := regexFind "(ms|s|m|h|d)$" . }}
{{- $seconds = addf $seconds (mulf (trimSuffix $unit . | float64) (get $units $unit)) }}
{{- end }}
{{- end }}
{{- $micro := mulf $seconds 1000000.0 }}
{{- if gt $seconds 3153600000.0 }}
{{- fail (printf "%s: %s is too long; at most 36500d" $name $value) }}
{{- else if and (eq $rule "positive" "lifetime") (le $micro 0.5) }}
{{- fail (printf "%s: %s must be longer than zero (it counts in microseconds)" $name $value) }}
{{- else if and (eq $rule "lifetime") (or (lt $micro 10000000.0) (ne (mod (round $micro 0 | int64) 1000000) 0)) }}
{{- fail (printf "%s: %s must be whole seconds, at least 10s" $name $value) }}
{{- end }}
{{- $value }}
{{- end }}

{{/*
The flags of `azure-speech-operator run` (the image's entrypoint), one per setting the chart exposes.
The metrics server binds all interfaces: the kubelet's probes and Prometheus reach the pod from outside
its loopback. Whole numbers go through int64: Helm reads a values file's numbers as floats and would
print 1000000 as 1e+06, which the operator refuses.
*/}}
{{- define "azure-speech-operator.args" -}}
- --metrics-address=0.0.0.0
- --metrics-port={{ .Values.metrics.port | int64 }}
{{- range .Values.watchNamespaces }}
- --namespace={{ . }}
{{- end }}
- --log-level={{ .Values.logLevel }}
- --log-format={{ .Values.logFormat }}
- --allowed-hosts={{ join "," .Values.allowedHosts }}
- --azure-budget-requests={{ .Values.azureBudget.requests | int64 }}
- --azure-budget-window={{ include "azure-speech-operator.duration" (list "azureBudget.window" .Values.azureBudget.window "positive") }}
- --azure-max-concurrency={{ .Values.azureBudget.maxConcurrency | int64 }}
- --max-passes-in-flight={{ .Values.maxPassesInFlight | int64 }}
- --drift-interval={{ include "azure-speech-operator.duration" (list "driftInterval" .Values.driftInterval "positive") }}
- --model-expiry-window={{ include "azure-speech-operator.duration" (list "modelExpiryWindow" .Values.modelExpiryWindow "") }}
- --voice-swap-grace-period={{ include "azure-speech-operator.duration" (list "voiceSwapGracePeriod" .Values.voiceSwapGracePeriod "") }}
{{- with .Values.workloadIdentityNamespaces }}
- --workload-identity-namespaces={{ join "," . }}
{{- end }}
- --{{ if not .Values.watchCredentialSecrets }}no-{{ end }}watch-credential-secrets
{{- with .Values.labelSelector }}
- --label-selector={{ . }}
{{- end }}
{{- /* checked with peering off too: turning it on later must not be what brings the refusal */}}
{{- $lifetime := include "azure-speech-operator.duration" (list "peering.lifetime" .Values.peering.lifetime "lifetime") }}
{{- if .Values.peering.enabled }}
- --peering={{ include "azure-speech-operator.peeringName" . }}
- --peering-lifetime={{ $lifetime }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
RBAC: what the operator calls and nothing else (docs/operations.md, "RBAC"). deploy/rbac.yaml holds the
same rules for the default values; a test checks that the two agree.
*/}}
{{- define "azure-speech-operator.clusterRules" -}}
# kopf discovers the kinds it serves (cluster-scoped, so a ClusterRole even for a few namespaces)
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- if .Values.watchNamespaces }}
# get: a deletion whose Secret is gone asks whether its namespace is being deleted (then it cannot come
# back); list, watch: given namespaces (--namespace), kopf follows which of them exist
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- else }}
# a deletion whose Secret is gone asks whether its namespace is being deleted (then it cannot come back)
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
{{- end }}
{{- end }}

{{- define "azure-speech-operator.namespacedRules" -}}
# the resources: the finalizer, kopf's bookkeeping annotations and the operator's own marks are patches;
# no get: a pass runs on the watch's copy or on the answer to the operator's own last write
- apiGroups: [speech.azure-operator.io]
  resources: [speechendpoints, voiceendpoints]
  verbs: [list, watch, patch]
# status is written as a patch; nothing reads the subresource (the object carries it)
- apiGroups: [speech.azure-operator.io]
  resources: [speechendpoints/status, voiceendpoints/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- if .Values.watchCredentialSecrets }}
# credentials: read per pass; list/watch serve the labelled-Secret watch (--watch-credential-secrets)
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
{{- else }}
# credentials: read per pass (the labelled-Secret watch is off)
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}
# spec.exportTo; the operator deletes only ConfigMaps its resource owns
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, update, delete]
{{- end }}
