{{/*
Names, labels and the daemon configuration shared by every template.
*/}}

{{- define "driftwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-<name>, or the release name alone when it already contains the
chart name. Truncated to 63 characters (DNS label limit).
*/}}
{{- define "driftwarden.fullname" -}}
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

{{- define "driftwarden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Recommended labels (app.kubernetes.io/*) on every resource. */}}
{{- define "driftwarden.labels" -}}
helm.sh/chart: {{ include "driftwarden.chart" . }}
{{ include "driftwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | quote }}
app.kubernetes.io/component: monitor
app.kubernetes.io/part-of: driftwarden
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "driftwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "driftwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "driftwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "driftwarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "driftwarden.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* StatefulSet when checkpoints live on a local volume, Deployment otherwise. */}}
{{- define "driftwarden.stateful" -}}
{{- if eq .Values.checkpoint.backend "directory" }}true{{ end }}
{{- end }}

{{/* Fixed paths inside the container; the config references them. */}}
{{- define "driftwarden.configDir" -}}/etc/driftwarden{{- end }}
{{- define "driftwarden.configFile" -}}driftwarden.yaml{{- end }}
{{- define "driftwarden.secretsDir" -}}/run/secrets/driftwarden{{- end }}
{{- define "driftwarden.checkpointDir" -}}/var/lib/driftwarden/checkpoints{{- end }}
{{- define "driftwarden.outcomesDir" -}}/var/lib/driftwarden/outcomes{{- end }}

{{/*
The outcome join (docs/outcomes.md) is on when config.outcomes is a mapping (`{}` keeps
the daemon's defaults), as the daemon reads it. Its SQLite store lives on one claim.
*/}}
{{- define "driftwarden.outcomes" -}}
{{- $cfg := .Values.config | default dict }}
{{- if kindIs "map" (get $cfg "outcomes") }}true{{ end }}
{{- end }}

{{- define "driftwarden.outcomesClaim" -}}
{{- .Values.outcomes.persistence.existingClaim | default (printf "%s-outcomes" (include "driftwarden.fullname" .)) }}
{{- end }}

{{/*
Receiver type -> the config field that reads its secret from a file.
*/}}
{{- define "driftwarden.receiverSecretFields" -}}
slack: webhook_url_file
pagerduty: routing_key_file
webhook: secret_file
{{- end }}

{{/*
Secret items mounted into the projected volume at secretsDir, as a YAML list of
{secret, key, path, field} plus `section` (kafka.sasl / kafka.tls) or `receiver`. The config template points the *_file settings at these paths,
and the pod template mounts exactly these items, so the two cannot drift apart.
*/}}
{{- define "driftwarden.secretItems" -}}
{{- $items := list }}
{{- with .Values.kafka.sasl }}
{{- if .existingSecret }}
{{- $items = append $items (dict "secret" .existingSecret "key" .passwordKey "path" "kafka/sasl-password" "section" "sasl" "field" "password_file") }}
{{- end }}
{{- end }}
{{- with .Values.kafka.tls }}
{{- if .existingSecret }}
{{- range $field, $spec := dict "cafile" (list .caKey "kafka/ca.crt") "certfile" (list .certKey "kafka/tls.crt") "keyfile" (list .keyKey "kafka/tls.key") "password_file" (list .keyPasswordKey "kafka/tls-key-password") }}
{{- if index $spec 0 }}
{{- $items = append $items (dict "secret" $.Values.kafka.tls.existingSecret "key" (index $spec 0) "path" (index $spec 1) "section" "tls" "field" $field) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.baselines.verifyKey }}
{{- if .existingSecret }}
{{- $items = append $items (dict "secret" .existingSecret "key" .key "path" "baselines/verify-key" "setting" "baseline_verify_key_file") }}
{{- end }}
{{- end }}
{{- $fields := include "driftwarden.receiverSecretFields" . | fromYaml }}
{{- $receivers := dict }}
{{- range $r := (dig "alerting" "receivers" list (.Values.config | default dict)) }}
{{- $_ := set $receivers (toString $r.name) (toString $r.type) }}
{{- end }}
{{- range $name, $ref := .Values.alertingSecrets }}
{{- $type := get $receivers $name }}
{{- if not $type }}
{{- fail (printf "alertingSecrets.%s: no receiver named %q in config.alerting.receivers; add the receiver or fix the name (defined: %s)" $name $name (keys $receivers | sortAlpha | join ", ")) }}
{{- end }}
{{- $field := get $fields $type }}
{{- if not $field }}
{{- fail (printf "alertingSecrets.%s: receivers of type %q take no secret; remove the entry (secrets exist for slack, pagerduty and webhook receivers)" $name $type) }}
{{- end }}
{{- $items = append $items (dict "secret" $ref.existingSecret "key" $ref.key "path" (printf "receivers/%s/%s" $name (trimSuffix "_file" $field | replace "_" "-")) "field" $field "receiver" $name) }}
{{- end }}
{{- toYaml (dict "items" $items) }}
{{- end }}

{{/*
The daemon's configuration: values.config plus the settings the chart owns because
the pod spec must agree with them. Fails with a message naming the value to fix.
*/}}
{{- define "driftwarden.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $secretsDir := include "driftwarden.secretsDir" . }}
{{- $items := (include "driftwarden.secretItems" . | fromYaml).items | default list }}
{{- /* Kafka security: the protocol in config and the Secrets in values must agree. */}}
{{- $kafka := get $cfg "kafka" | default dict }}
{{- $protocol := get $kafka "security_protocol" | default "PLAINTEXT" }}
{{- $saslEnv := false }}
{{- range .Values.extraEnv }}
{{- if eq .name "DRIFTWARDEN_KAFKA__SASL__PASSWORD" }}{{ $saslEnv = true }}{{ end }}
{{- end }}
{{- if hasPrefix "SASL" $protocol }}
{{- if not (dig "sasl" "username" "" $kafka) }}
{{- fail (printf "config.kafka.security_protocol is %s: set config.kafka.sasl.username (and mechanism)" $protocol) }}
{{- end }}
{{- if not (or .Values.kafka.sasl.existingSecret $saslEnv (dig "sasl" "password_file" "" $kafka)) }}
{{- fail (printf "config.kafka.security_protocol is %s: set kafka.sasl.existingSecret to the Secret holding the SASL password" $protocol) }}
{{- end }}
{{- else if .Values.kafka.sasl.existingSecret }}
{{- fail (printf "kafka.sasl.existingSecret is set but config.kafka.security_protocol is %s; set it to SASL_SSL or SASL_PLAINTEXT, or remove the Secret reference" $protocol) }}
{{- end }}
{{- if and .Values.kafka.tls.existingSecret (not (hasSuffix "SSL" $protocol)) }}
{{- fail (printf "kafka.tls.existingSecret is set but config.kafka.security_protocol is %s; set it to SSL or SASL_SSL, or remove the Secret reference" $protocol) }}
{{- end }}
{{- /* The Kafka client library (docs/config.md): librdkafka runs one member per group. */}}
{{- if eq .Values.kafka.client "librdkafka" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail "kafka.client librdkafka runs one member per consumer group (librdkafka cannot run the active/standby assignor): set replicaCount 1, or kafka.client kafka-python for hot standbys" }}
{{- end }}
{{- if eq (toString (dig "type" "" .Values.deploymentStrategy)) "RollingUpdate" }}
{{- fail "kafka.client librdkafka runs one member per consumer group, so a RollingUpdate's new pod cannot join while the old one runs: set deploymentStrategy.type Recreate" }}
{{- end }}
{{- $_ := set $kafka "client" "librdkafka" }}
{{- end }}
{{- range $items }}
{{- if .section }}
{{- $settings := get $kafka .section | default dict }}
{{- $_ := set $settings .field (printf "%s/%s" $secretsDir .path) }}
{{- $_ := set $kafka .section $settings }}
{{- end }}
{{- end }}
{{- $_ := set $cfg "kafka" $kafka }}
{{- range $items }}
{{- if .setting }}{{ $_ := set $cfg .setting (printf "%s/%s" $secretsDir .path) }}{{ end }}
{{- end }}
{{- /* Receivers: point each referenced receiver at its mounted secret file. */}}
{{- $byReceiver := dict }}
{{- range $items }}
{{- if .receiver }}{{ $_ := set $byReceiver .receiver . }}{{ end }}
{{- end }}
{{- if $byReceiver }}
{{- $alerting := get $cfg "alerting" }}
{{- $receivers := list }}
{{- range $r := $alerting.receivers }}
{{- $r := deepCopy $r }}
{{- with get $byReceiver (toString $r.name) }}
{{- $_ := set $r .field (printf "%s/%s" $secretsDir .path) }}
{{- end }}
{{- $receivers = append $receivers $r }}
{{- end }}
{{- $_ := set $alerting "receivers" $receivers }}
{{- end }}
{{- /* Checkpoints: a Kafka topic (stateless pods) or the StatefulSet's volume. */}}
{{- /* Alert state lives with the checkpoints: records of the topic, or a directory on the volume. */}}
{{- if include "driftwarden.stateful" . }}
{{- $_ := set $cfg "checkpoint" (dict "backend" "directory" "directory" (include "driftwarden.checkpointDir" .) "interval" .Values.checkpoint.interval) }}
{{- $alertingCfg := get $cfg "alerting" | default dict }}
{{- if not (hasKey $alertingCfg "state_directory") }}
{{- $_ := set $alertingCfg "state_directory" (printf "%s/alerting" (include "driftwarden.checkpointDir" .)) }}
{{- end }}
{{- $_ := set $cfg "alerting" $alertingCfg }}
{{- else }}
{{- $_ := set $cfg "checkpoint" (dict "backend" "kafka" "topic" .Values.checkpoint.topic "interval" .Values.checkpoint.interval) }}
{{- end }}
{{- include "driftwarden.outcomesConfig" (dict "root" . "cfg" $cfg) }}
{{- /* How the group shares the work (issue 17): the partials topic's settings as values. */}}
{{- $_ := set $cfg "group" (dict "mode" .Values.group.mode "partials_topic" .Values.group.partials.topic "partials_partitions" (int .Values.group.partials.partitions) "partials_retention" .Values.group.partials.retention "merge_timeout" .Values.group.mergeTimeout) }}
{{- /* Baselines: file names under the mounted directory. */}}
{{- $baselines := list }}
{{- range .Values.baselines.files }}
{{- $baselines = append $baselines (printf "%s/%s" (trimSuffix "/" $.Values.baselines.mountPath) .) }}
{{- end }}
{{- if and $baselines (not (or .Values.baselines.existingConfigMap .Values.baselines.volume)) }}
{{- fail "baselines.files is set but nothing provides the files; set baselines.existingConfigMap or baselines.volume" }}
{{- end }}
{{- if and .Values.baselines.existingConfigMap .Values.baselines.volume }}
{{- fail "set only one of baselines.existingConfigMap and baselines.volume" }}
{{- end }}
{{- $_ := set $cfg "baselines" $baselines }}
{{- $_ := set $cfg "metrics" (dict "enabled" true "host" "0.0.0.0" "port" (int .Values.metrics.port)) }}
{{- $_ := set $cfg "shutdown" (dict "grace_period" (int .Values.shutdown.gracePeriodSeconds)) }}
{{- toYaml $cfg }}
{{- end }}

{{/*
Outcomes (issue 14): point config.outcomes.directory at the store's volume, and refuse
what would start a member without the store. The store is one pod's SQLite file and is
part of the checkpointed state: a member that takes over without it is refused at start
("store behind its checkpoint"), and two members must never open it.
*/}}
{{- define "driftwarden.outcomesConfig" -}}
{{- $ := .root }}
{{- $cfg := .cfg }}
{{- $topics := dig "kafka" "outcome_topics" list $cfg }}
{{- if include "driftwarden.outcomes" $ }}
{{- if gt (int $.Values.replicaCount) 1 }}
{{- fail (printf "config.outcomes is set and replicaCount is %d: the outcome join's store is one pod's volume (outcomes.persistence), so a standby would take over without it and a second pod must not open it; set replicaCount 1 (failover then is the pod's restart with its volume), or remove config.outcomes and config.kafka.outcome_topics for hot standbys" (int $.Values.replicaCount)) }}
{{- end }}
{{- if eq $.Values.group.mode "partitioned" }}
{{- fail "config.outcomes is set and group.mode is partitioned: the outcome join's store is one pod's volume and cannot move with the partitions; set group.mode active-standby with replicaCount 1, or remove config.outcomes and config.kafka.outcome_topics" }}
{{- end }}
{{- if and (not (include "driftwarden.stateful" $)) (eq (toString (dig "type" "" $.Values.deploymentStrategy)) "RollingUpdate") }}
{{- fail "config.outcomes is set and deploymentStrategy.type is RollingUpdate: the new pod would start beside the old one on the same outcome store; set deploymentStrategy.type Recreate" }}
{{- end }}
{{- $outcomes := deepCopy (get $cfg "outcomes") }}
{{- $_ := set $outcomes "directory" (include "driftwarden.outcomesDir" $) }}
{{- $_ := set $cfg "outcomes" $outcomes }}
{{- else }}
{{- $_ := unset $cfg "outcomes" }}
{{- if $topics }}
{{- fail "config.kafka.outcome_topics is set but config.outcomes is not: add config.outcomes (e.g. {horizon: 7d}, docs/outcomes.md) or remove config.kafka.outcome_topics" }}
{{- end }}
{{- end }}
{{- end }}
