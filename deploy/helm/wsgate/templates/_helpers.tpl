{{- define "wsgate.name" -}}{{ .Chart.Name }}{{- end -}}
{{- define "wsgate.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "wsgate.labels" -}}
app.kubernetes.io/name: {{ include "wsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "wsgate.selector" -}}
app.kubernetes.io/name: {{ include "wsgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "wsgate.secretName" -}}{{ default (include "wsgate.fullname" .) .Values.management.existingSecret }}{{- end -}}
{{- define "wsgate.hasCredentials" -}}{{ or .Values.management.existingSecret .Values.management.accessKeyId }}{{- end -}}
{{/* The config as wsgate reads it: the user's, with listen, store and credentials filled in. */}}
{{- define "wsgate.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $_ := set $c "listen" (printf "0.0.0.0:%d" (int .Values.port)) -}}
{{- if .Values.redis.url -}}
{{- $_ := set $c "store" (dict "type" "redis" "url" "${WSGATE_REDIS_URL}") -}}
{{- else -}}
{{- $_ := set $c "store" (dict "type" "memory") -}}
{{- end -}}
{{- if include "wsgate.hasCredentials" . -}}
{{- $_ := set $c "management" (dict "credentials" (list (dict "accessKeyId" "${WSGATE_ACCESS_KEY_ID}" "secretAccessKey" "${WSGATE_SECRET_ACCESS_KEY}"))) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}
