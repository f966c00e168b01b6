{{/*
Expand the name of the chart.
*/}}
{{- define "tau.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "tau.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "tau.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "tau.labels" -}}
helm.sh/chart: {{ include "tau.chart" . }}
{{ include "tau.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: only name and instance, since a StatefulSet's selector can't change after install.
*/}}
{{- define "tau.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tau.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The headless Service governing the StatefulSet (stable pod DNS names).
*/}}
{{- define "tau.headlessServiceName" -}}
{{- printf "%s-headless" (include "tau.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "tau.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tau.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding the certificate: the user's existingSecret or the chart's own.
*/}}
{{- define "tau.secretName" -}}
{{- if .Values.certificate.existingSecret }}
{{- .Values.certificate.existingSecret }}
{{- else }}
{{- printf "%s-certificate" (include "tau.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tau.secretKey" -}}
{{- if .Values.certificate.existingSecret }}
{{- .Values.certificate.existingSecretKey }}
{{- else -}}
certificate
{{- end }}
{{- end }}

{{/*
Where the certificate Secret is mounted, and the file TAU_CERTIFICATE_FILE names. The Secret is
mounted as a directory (never subPath) so that a rotated Secret reaches the running pod.
*/}}
{{- define "tau.certificateDir" -}}
/etc/tau/certificate
{{- end }}

{{- define "tau.certificateFile" -}}
{{ include "tau.certificateDir" . }}/certificate
{{- end }}

{{/*
The data directory: the PVC mount (TAU_DATA_DIR).
*/}}
{{- define "tau.dataDir" -}}
/var/lib/tau
{{- end }}

{{- define "tau.configMapName" -}}
{{- printf "%s-config" (include "tau.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The server image; a digest wins over the tag, the tag defaults to the chart's appVersion.
*/}}
{{- define "tau.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The `helm test` image: the server's unless tests.image is set (it holds /usr/local/bin/tau).
*/}}
{{- define "tau.testImage" -}}
{{- if .Values.tests.image.repository }}
{{- printf "%s:%s" .Values.tests.image.repository (.Values.tests.image.tag | default .Chart.AppVersion) }}
{{- else }}
{{- include "tau.image" . }}
{{- end }}
{{- end }}

{{/*
Seconds in a Go duration ("20s", "1m30s", "1500ms", "1h"); used to check the grace period.
*/}}
{{- define "tau.durationSeconds" -}}
{{- $total := 0.0 }}
{{- range $part := regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" (toString .) -1 }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $part | float64 }}
{{- $unit := regexReplaceAll "^[0-9]+(\\.[0-9]+)?" $part "" }}
{{- $scale := get (dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0) $unit }}
{{- $total = addf $total (mulf $num $scale) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
Fail on settings the server or Kubernetes would reject later, with one clear message.
*/}}
{{- define "tau.validate" -}}
{{- $shutdown := include "tau.durationSeconds" .Values.config.shutdownTimeout | float64 }}
{{- if le (float64 .Values.terminationGracePeriodSeconds) $shutdown }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be longer than config.shutdownTimeout (%s), or the kubelet kills the server before in-flight requests finish" .Values.terminationGracePeriodSeconds .Values.config.shutdownTimeout) }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (eq (toString .Values.podDisruptionBudget.minAvailable) "")) (not (eq (toString .Values.podDisruptionBudget.maxUnavailable) "")) }}
{{- fail "podDisruptionBudget: set only one of minAvailable and maxUnavailable" }}
{{- end }}
{{- if and .Values.certificate.existingSecret .Values.certificate.value }}
{{- fail "certificate: set only one of existingSecret and value" }}
{{- end }}
{{- if and .Values.certificate.existingSecret .Values.certificate.next }}
{{- fail "certificate.next needs the chart's Secret: with existingSecret, write the second certificate as the second line of its key (hack/k8s/gen-cert.sh -p)" }}
{{- end }}
{{- if and .Values.certificate.next (eq (lower .Values.certificate.next) (lower .Values.certificate.value)) }}
{{- fail "certificate.next equals certificate.value: a rotation needs a new certificate" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (not .Values.tls.certManager.issuerRef.name) }}
{{- fail "tls.enabled needs a pair: set tls.existingSecret, or tls.certManager.issuerRef.name for a cert-manager Certificate" }}
{{- end }}
{{- if and (not .Values.tls.enabled) (or .Values.tls.clientAuth .Values.tls.http) }}
{{- fail "tls.clientAuth and tls.http need tls.enabled" }}
{{- end }}
{{- end }}

{{/*
Labels of the `helm test` pod: not the server's selector labels, so neither the Services nor
the StatefulSet ever select it.
*/}}
{{- define "tau.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "tau.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
TLS (values tls): the kubernetes.io/tls Secret, the user's or the one cert-manager writes for
the chart's Certificate, and where it is mounted (as a directory, so a renewal reaches the pod).
*/}}
{{- define "tau.tlsSecretName" -}}
{{- if .Values.tls.existingSecret }}
{{- .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "tau.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tau.tlsDir" -}}
/etc/tau/tls
{{- end }}

{{/*
The client CA bundle of mutual TLS: its own Secret's key, mounted apart, or the TLS Secret's
ca.crt.
*/}}
{{- define "tau.clientCAFile" -}}
{{- if .Values.tls.clientCA.existingSecret -}}
/etc/tau/client-ca/{{ .Values.tls.clientCA.key }}
{{- else -}}
{{ include "tau.tlsDir" . }}/ca.crt
{{- end }}
{{- end }}
