{{/*
The pod template shared by the Deployment and the StatefulSet.

Security: the pod meets the Pod Security "restricted" profile and the fields below are
not overridable (only the UID/GID/fsGroup numbers are, for platforms that assign them).
The root filesystem is read-only; /tmp is an emptyDir with a size limit. The writable
volumes are the checkpoints' (StatefulSet) and the outcome store's (config.outcomes).
*/}}
{{- define "driftwarden.podTemplate" -}}
{{- $secretItems := (include "driftwarden.secretItems" . | fromYaml).items | default list -}}
metadata:
  labels:
    {{- include "driftwarden.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "driftwarden.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ add .Values.shutdown.gracePeriodSeconds .Values.shutdown.terminationMarginSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    {{- with .Values.securityContext.runAsUser }}
    runAsUser: {{ . }}
    {{- end }}
    {{- with .Values.securityContext.runAsGroup }}
    runAsGroup: {{ . }}
    {{- end }}
    {{- with .Values.securityContext.fsGroup }}
    fsGroup: {{ . }}
    {{- end }}
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: driftwarden
      image: {{ include "driftwarden.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - run
        - --config
        - {{ printf "%s/%s" (include "driftwarden.configDir" .) (include "driftwarden.configFile" .) }}
      {{- $staticMembership := and (include "driftwarden.stateful" .) .Values.checkpoint.staticGroupMembership }}
      {{- if or $staticMembership .Values.extraEnv }}
      env:
        {{- if $staticMembership }}
        - name: DRIFTWARDEN_KAFKA__GROUP_INSTANCE_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
      startupProbe:
        httpGet:
          path: /healthz
          port: metrics
        {{- toYaml .Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        capabilities:
          drop:
            - ALL
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: config
          mountPath: {{ include "driftwarden.configDir" . }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if $secretItems }}
        - name: secrets
          mountPath: {{ include "driftwarden.secretsDir" . }}
          readOnly: true
        {{- end }}
        {{- if or .Values.baselines.existingConfigMap .Values.baselines.volume }}
        - name: baselines
          mountPath: {{ .Values.baselines.mountPath }}
          readOnly: true
        {{- end }}
        {{- if include "driftwarden.stateful" . }}
        - name: checkpoints
          mountPath: {{ include "driftwarden.checkpointDir" . }}
        {{- end }}
        {{- if include "driftwarden.outcomes" . }}
        - name: outcomes
          mountPath: {{ include "driftwarden.outcomesDir" . }}
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "driftwarden.fullname" . }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- if $secretItems }}
    - name: secrets
      projected:
        defaultMode: 0440
        sources:
          {{- range $secret, $group := (include "driftwarden.secretItemsBySecret" . | fromYaml) }}
          - secret:
              name: {{ $secret }}
              items:
                {{- range $group.items }}
                - key: {{ .key | quote }}
                  path: {{ .path }}
                {{- end }}
          {{- end }}
    {{- end }}
    {{- if .Values.baselines.existingConfigMap }}
    - name: baselines
      configMap:
        name: {{ .Values.baselines.existingConfigMap }}
    {{- else if .Values.baselines.volume }}
    - name: baselines
      {{- toYaml .Values.baselines.volume | nindent 6 }}
    {{- end }}
    {{- if include "driftwarden.outcomes" . }}
    - name: outcomes
      persistentVolumeClaim:
        claimName: {{ include "driftwarden.outcomesClaim" . }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
secretItems grouped by Secret name: one projected source per Secret, so two keys of
one Secret (e.g. tls.crt and tls.key) share a source.
*/}}
{{- define "driftwarden.secretItemsBySecret" -}}
{{- $groups := dict }}
{{- range (include "driftwarden.secretItems" . | fromYaml).items }}
{{- $group := get $groups .secret | default (dict "items" list) }}
{{- $_ := set $group "items" (append $group.items .) }}
{{- $_ := set $groups .secret $group }}
{{- end }}
{{- toYaml $groups }}
{{- end }}
