"""Alert identity: the labels that name an incident and the hash of them.

The incident is "this model drifts in this environment, as this monitor sees
it". The fingerprint hashes only `alertname`, `model`, `environment` and
`monitor` (the daemon's consumer group id), never the tier or any value that
changes while the incident is open:

- `monitor` keeps two separately deployed monitors of one model apart (say a
  canary and the main deployment, or two teams reading different topics): each
  has its own consumer group, so its own incidents, and one never resolves the
  other's PagerDuty incident or Alertmanager alert. Replicas of ONE monitor share
  the group id and so the incident, on purpose: one member is active at a time
  and hands the incident to the next (`AlertPipeline.suspend`/`resume`). A
  pipeline built without a monitor id (library use, the docs' samples) leaves
  the label out and hashes as before.

- PagerDuty uses it as `dedup_key`, so warning -> critical is another trigger on
  the same key (an update of the open incident, not a second page), and a resolve
  closes it. After a resolve, PagerDuty opens a fresh incident for the next
  trigger on the same key, so one key per model serves every episode and survives
  a lost state file (a re-trigger updates the open incident instead of leaking it).
- A model has up to three incidents, one per `alertname` (issue 14), each opened,
  escalated and resolved on its own, so resolving one never resolves another:
  `DriftwardenModelDrift` (the window verdict at close: input and output drift,
  and the performance estimated from scores), `DriftwardenModelPerformance`
  (realised performance, judged when a window's labels are final) and
  `DriftwardenLabelCoverage` (too few labels: the outcome feed, not the model).
- Alertmanager identifies an alert by its whole label set, so its receiver sends
  `severity` as a label (for Alertmanager inhibition) and treats an escalation as
  "resolve the old severity, fire the new one"; see `receivers/alertmanager.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from driftwarden.monitor.verdicts.tier import Tier

ALERTNAME = "DriftwardenModelDrift"
PERFORMANCE_ALERTNAME = "DriftwardenModelPerformance"
COVERAGE_ALERTNAME = "DriftwardenLabelCoverage"
IDENTITY_LABELS: tuple[str, ...] = ("alertname", "environment", "model")
OPTIONAL_IDENTITY_LABELS: tuple[str, ...] = ("monitor",)
"""Part of the identity when present; absent, the fingerprint is the one of earlier releases."""


def alert_labels(
    *,
    model_id: str,
    environment: str,
    tier: Tier,
    baseline_version: int,
    monitor: str | None = None,
    alertname: str = ALERTNAME,
) -> dict[str, str]:
    """Labels routes, silences and inhibition rules match on.

    `tier` and `severity` carry the same value: `tier` is driftwarden's word,
    `severity` the one Alertmanager configs and runbooks already use.
    """
    labels = {
        "alertname": alertname,
        "model": model_id,
        "environment": environment,
        "tier": tier.label,
        "severity": tier.label,
        "baseline_version": str(baseline_version),
    }
    if monitor is not None:
        labels["monitor"] = monitor
    return labels


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits over the identity labels (length-prefixed, so no two label sets collide)."""
    digest = hashlib.sha256()
    present = [n for n in OPTIONAL_IDENTITY_LABELS if n in labels]
    for name in (*IDENTITY_LABELS, *present):
        value = labels.get(name, "")
        for part in (name, value):
            raw = part.encode("utf-8")
            digest.update(len(raw).to_bytes(4, "big"))
            digest.update(raw)
    return digest.hexdigest()[:16]
