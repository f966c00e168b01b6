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
Cluster mode (values cluster): "true" with replicaCount 3 or 5, or cluster.enabled; else empty.
*/}}
{{- define "tau.clusterMode" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.cluster.enabled -}}
true
{{- end }}
{{- end }}

{{/*
The founding members: cluster.initialMembers (0: replicaCount) pods, by name.
*/}}
{{- define "tau.initialMembers" -}}
{{- .Values.cluster.initialMembers | default .Values.replicaCount | int }}
{{- end }}

{{/*
TAU_INITIAL_CLUSTER: name=host:port of every founding member, its peer address under the
headless Service (resolvable before the pod is ready: publishNotReadyAddresses).
*/}}
{{- define "tau.initialCluster" -}}
{{- $fullname := include "tau.fullname" . }}
{{- $headless := include "tau.headlessServiceName" . }}
{{- $members := list }}
{{- range $i := until (include "tau.initialMembers" . | int) }}
{{- $members = append $members (printf "%s-%d=%s-%d.%s.%s.svc.%s:%d" $fullname $i $fullname $i $headless $.Release.Namespace $.Values.clusterDomain (int $.Values.cluster.peerPort)) }}
{{- end }}
{{- join "," $members }}
{{- end }}

{{/*
The PodDisruptionBudget is made with podDisruptionBudget.enabled, and always with replicaCount
3 or 5: a drain that took a majority of the members at once would stop the cluster.
*/}}
{{- define "tau.pdbEnabled" -}}
{{- if or .Values.podDisruptionBudget.enabled (gt (int .Values.replicaCount) 1) -}}
true
{{- end }}
{{- end }}

{{/*
The pods' affinity: the values' affinity, plus in cluster mode an anti-affinity spreading the
members over nodes (kubernetes.io/hostname), unless the values set a podAntiAffinity of their own.
*/}}
{{- define "tau.affinity" -}}
{{- $affinity := deepCopy .Values.affinity }}
{{- if and (include "tau.clusterMode" .) (not (hasKey $affinity "podAntiAffinity")) }}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "tau.selectorLabels" . | fromYaml)) }}
{{- if eq .Values.cluster.antiAffinity "hard" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
{{- else }}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) }}
{{- end }}
{{- end }}
{{- if $affinity }}
{{- toYaml $affinity }}
{{- end }}
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
{{- if include "tau.pdbEnabled" . }}
{{- $min := toString .Values.podDisruptionBudget.minAvailable }}
{{- $max := toString .Values.podDisruptionBudget.maxUnavailable }}
{{- if and (ne $min "") (ne $max "") }}
{{- fail "podDisruptionBudget: set only one of minAvailable and maxUnavailable" }}
{{- end }}
{{- if and (eq $min "") (eq $max "") (gt (int .Values.replicaCount) 1) }}
{{- fail "podDisruptionBudget: with replicaCount 3 or 5 set one of minAvailable and maxUnavailable" }}
{{- end }}
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
{{- if include "tau.clusterMode" . }}
{{- include "tau.validateCluster" . }}
{{- end }}
{{- end }}

{{/*
Cluster mode's own checks: what Raft or the server would refuse later.
*/}}
{{- define "tau.validateCluster" -}}
{{- $n := int .Values.replicaCount }}
{{- if eq .Values.config.fsync "interval" }}
{{- fail (printf "config.fsync=interval with replicaCount %d: a cluster member must fsync before it answers (config.fsync=always), or a crash can lose a vote or an entry and Raft is then unsafe" $n) }}
{{- end }}
{{- $members := include "tau.initialMembers" . | int }}
{{- if eq $members 0 }}
{{- fail "cluster.enabled with replicaCount 0: set cluster.initialMembers to the founding members' count (3 or 5), so TAU_INITIAL_CLUSTER stays the same when the cluster is scaled up again" }}
{{- end }}
{{- if and (gt $n 0) (gt $members $n) }}
{{- fail (printf "cluster.initialMembers (%d) is more than replicaCount (%d): every founding member must have its pod" $members $n) }}
{{- end }}
{{- $peer := int .Values.cluster.peerPort }}
{{- if or (eq $peer (int .Values.containerPorts.tau)) (eq $peer (int .Values.containerPorts.http)) }}
{{- fail (printf "cluster.peerPort (%d) must differ from containerPorts.tau and containerPorts.http" $peer) }}
{{- end }}
{{- if gt $n 1 }}
{{- /* The PodDisruptionBudget must leave a majority up: at most (n-1)/2 members away. */}}
{{- $most := div (sub $n 1) 2 }}
{{- $maxUnavailable := toString .Values.podDisruptionBudget.maxUnavailable }}
{{- $minAvailable := toString .Values.podDisruptionBudget.minAvailable }}
{{- if or (contains "%" $maxUnavailable) (contains "%" $minAvailable) }}
{{- fail "podDisruptionBudget: with replicaCount 3 or 5 give minAvailable or maxUnavailable as a number of members, not a percentage" }}
{{- end }}
{{- if and (ne $maxUnavailable "") (gt (int $maxUnavailable) $most) }}
{{- fail (printf "podDisruptionBudget.maxUnavailable (%s) would let a drain take a majority of the %d members at once: at most %d" $maxUnavailable $n $most) }}
{{- end }}
{{- if and (ne $minAvailable "") (lt (int $minAvailable) (sub $n $most)) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%s) would let a drain take a majority of the %d members at once: at least %d" $minAvailable $n (sub $n $most)) }}
{{- end }}
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
