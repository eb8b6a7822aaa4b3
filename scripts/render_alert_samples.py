# ruff: noqa: PLR0917 - sample tables read best positionally
"""Write docs/alerts.md from the real alert rendering code, so the samples stay true.

    uv run python scripts/render_alert_samples.py          # rewrite docs/alerts.md
    uv run python scripts/render_alert_samples.py --check  # exit 1 if it is out of date

The verdicts below are hand-built but realistic (statistics and sample sizes);
their words come from the engine's `verdicts.narrative`, and everything after is the code
path the daemon uses: AlertPipeline -> groups -> Slack blocks / PagerDuty event.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any, Literal

from driftwarden.monitor.alerting import AlertPipeline, Notification
from driftwarden.monitor.alerting.receivers.pagerduty import event
from driftwarden.monitor.alerting.receivers.slack import slack_message
from driftwarden.monitor.config import AlertingSettings
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import (
    ColumnStatistics,
    ColumnVerdict,
    Finding,
    FindingKind,
    WindowVerdict,
)

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "alerts.md"
T0 = 1_795_428_000.0  # 2026-11-23T10:00:00Z
RUNBOOK = "https://runbooks.example.com/models/credit-risk"
NEXT_STEPS = (
    "Check recent deploys and upstream data pipelines feeding this model.",
    "If the model's outputs moved too, consider rolling back or routing traffic to a fallback.",
)


def col(
    name: str,
    tier: Tier,
    kind: FindingKind,
    stat: str,
    value: float,
    threshold: float,
    current: str,
    baseline: str,
    *,
    role: Literal["feature", "output"] = "feature",
    ctype: Literal["numeric", "categorical"] = "numeric",
    moved: float = 0.05,
) -> ColumnVerdict:
    return ColumnVerdict(
        column=name,
        role=role,
        kind=ctype,
        tier=tier,
        condition=tier,
        statistics=ColumnStatistics(
            n_current=4_812,
            n_reference=120_000,
            missing=3,
            type_errors=0,
            total_variation=moved,
        ),
        findings=(
            Finding(
                kind=kind,
                statistic=stat,
                value=value,
                threshold=threshold,
                condition=tier,
                p_value=1e-9,
                current=current,
                baseline=baseline,
            ),
        ),
    )


def window(
    index: int,
    tier: Tier,
    previous: Tier,
    columns: tuple[ColumnVerdict, ...],
    affected: float,
    moved: bool,
) -> WindowVerdict:
    return WindowVerdict(
        model_id="credit-risk",
        baseline_version=7,
        window_index=index,
        window_start=T0 + index * 300,
        window_end=T0 + (index + 1) * 300,
        events=4_812,
        tier=tier,
        previous_tier=previous,
        columns=columns,
        traffic_affected=affected,
        outputs_moved=moved,
        min_samples=500,
        next_steps=NEXT_STEPS,
        runbook_url=RUNBOOK,
    )


INFO = window(
    0,
    Tier.INFO,
    Tier.NONE,
    (col("age", Tier.INFO, "drift", "psi", 0.112, 0.1, "mean 41.8", "mean 40.2", moved=0.06),),
    0.06,
    False,
)
WARNING = window(
    1,
    Tier.WARNING,
    Tier.INFO,
    (
        col(
            "income",
            Tier.WARNING,
            "drift",
            "psi",
            0.187,
            0.1,
            "median 52.1k",
            "median 47.9k",
            moved=0.14,
        ),
        col(
            "employment_type",
            Tier.WARNING,
            "new_category",
            "new_category_rate",
            0.034,
            0.01,
            "3.4% unseen (e.g. 'gig<platform>')",
            "0.0%",
            ctype="categorical",
        ),
        col("age", Tier.INFO, "drift", "psi", 0.121, 0.1, "mean 41.9", "mean 40.2"),
    ),
    0.14,
    False,
)
CRITICAL = window(
    2,
    Tier.CRITICAL,
    Tier.WARNING,
    (
        col(
            "income",
            Tier.CRITICAL,
            "drift",
            "psi",
            0.412,
            0.25,
            "median 61.3k",
            "median 47.9k",
            moved=0.31,
        ),
        col(
            "score",
            Tier.CRITICAL,
            "drift",
            "ks",
            0.231,
            0.2,
            "mean 0.58",
            "mean 0.44",
            role="output",
        ),
        col(
            "employment_type",
            Tier.WARNING,
            "new_category",
            "new_category_rate",
            0.041,
            0.01,
            "4.1% unseen (e.g. 'gig<platform>')",
            "0.0%",
            ctype="categorical",
        ),
        col("age", Tier.INFO, "drift", "psi", 0.118, 0.1, "mean 41.9", "mean 40.2"),
    ),
    0.31,
    True,
)
RESOLVED = window(9, Tier.NONE, Tier.CRITICAL, (), 0.0, False)

SETTINGS = AlertingSettings.model_validate(
    {
        "report_url": "https://reports.example.com/{model}/{environment}.html#window={window_end}",
        "receivers": [
            {"name": "log", "type": "log"},
            {"name": "team-chat", "type": "slack"},
            {"name": "pager", "type": "pagerduty"},
        ],
        "route": {
            "receiver": "log",
            "group_by": ["model"],
            "group_wait": 0,
            "group_interval": 0.1,
            "routes": [
                {
                    "matchers": ['tier=~"info|warning|critical"'],
                    "receiver": "pager",
                    "continue": True,
                },
                {"matchers": ['tier=~"info|warning|critical"'], "receiver": "team-chat"},
            ],
        },
    }
)


def slack_as_text(body: dict[str, Any]) -> str:
    """What the Slack message shows, block by block (header, sections, context)."""
    lines: list[str] = []
    for block in body["blocks"]:
        if block["type"] == "header":
            lines.append(f"# {block['text']['text']}")
        elif block["type"] == "section":
            lines.append(block["text"]["text"])
        elif block["type"] == "context":
            lines.append("_" + " ".join(e["text"] for e in block["elements"]) + "_")
        elif block["type"] == "divider":
            lines.append("---")
    return "\n\n".join(lines)


def samples() -> list[tuple[str, Notification, Notification]]:
    pipeline = AlertPipeline(
        SETTINGS,
        environment="production",
        clock=lambda: T0,
        state_dir=None,
        real_receivers=False,
        rng=random.Random(0),
    )
    out = []
    for label, verdict in (
        ("Info", INFO),
        ("Warning (escalated from info)", WARNING),
        ("Critical (escalated from warning)", CRITICAL),
        ("Resolved", RESOLVED),
    ):
        notes = {n.receiver: n for n in pipeline.observe(verdict)}
        out.append((label, notes["team-chat"], notes["pager"]))
    return out


HEADER = """\
# Alerts: what driftwarden sends, and why it looks like this

<!-- Generated by scripts/render_alert_samples.py from the real rendering code; do not edit.
     Regenerate with: uv run python scripts/render_alert_samples.py -->

One **alert per model** (never one per column): the drifting columns travel inside it. Every
alert, on every receiver, has the same three parts: **what happened** (window, sample sizes,
baseline version, then one line per drifting column with its statistic, the threshold it
crossed and the current vs baseline value), **why it matters** (share of traffic affected,
whether the model's outputs moved) and **what to do** (runbook link first, then the HTML report
page of the window when `alerting.report_url` is set, as in these samples (docs/config.md), then
first steps).

## Tiers and where they go (shipped policy, `examples/alerting.yaml`)

| tier | Slack | PagerDuty | other |
|---|---|---|---|
| info | - | - | metrics, log, hourly/daily digest (file or webhook) |
| warning | team channel (the engine already requires it to be sustained) | - | log |
| critical | team channel (new message "Escalated from warning") | page | action webhook |

## Identity, escalation and resolution

- **Fingerprint** = hash of `alertname`, `model`, `environment` and `monitor` (not the tier). It
  is PagerDuty's `dedup_key`: warning -> critical is another trigger on the same key, i.e. an
  update of the open incident, never a second page; the resolve closes it. After a resolve, the
  next episode's first trigger opens a new incident (PagerDuty's documented behaviour).
- **Three incidents per model** (issue 14), told apart by `alertname`, so each has its own
  fingerprint, PagerDuty `dedup_key` and Alertmanager label set, and resolving one never
  resolves another: `DriftwardenModelDrift` (the window verdict at close: drifting inputs and
  outputs, and performance estimated from scores), `DriftwardenModelPerformance` (realised
  performance, judged when a window's labels are final, days after it closed) and
  `DriftwardenLabelCoverage` (a window final with too few labels: the outcome feed, not the
  model; its title says "label coverage 42% below outcomes.low_coverage 50% on window ...",
  never "performance dropped"). Routes and silences can match `alertname` to send coverage to
  a data team rather than the pager. Notifications of the last two carry no columns.
- **`monitor`** is the daemon's `kafka.group_id` (a label on every alert, so routes and silences
  can match it). Two separately deployed monitors of one model (a canary and the main one, two
  teams) have different consumer groups, hence different incidents: one never resolves the
  other's page. Replicas of one monitor share the group id and so the incident, on purpose: one
  member is active at a time (see "Where alert state lives"). Upgrading from a release without
  the label changes every fingerprint once: an incident open during the upgrade is paged again
  under the new key and its old PagerDuty incident must be resolved by hand.
- **Alertmanager** identifies alerts by label set, so its receiver sends `severity` as a label and
  turns an escalation into "new severity firing + old severity ended" in one request. Labels hold
  only `alertname`, `model`, `environment`, `monitor`, `severity`; statistics and text are
  annotations.
  Firing alerts are re-posted every `resend_interval` with `endsAt = now + 4 x resend_interval`.
- **Routes per tier**: when an incident drops below a route's matchers (critical -> warning), that
  route's receivers get a resolve (`resolution: below_route`): the page ends, the chat keeps the
  incident. When the engine's tier reaches none (after `policy.clear_after` clean windows), every
  receiver that saw it firing gets a resolve.
- **Timers** (`group_wait`, `group_interval`, `repeat_interval`), silences and mute intervals run
  on **event time** (the verdicts' window ends), so `driftwarden replay` produces exactly the
  notifications a live run would. Timers shorter than a window act at the next window.
- **Delivery**: persistent outbox (one stored piece per notification), exponential back-off
  with full jitter honouring `Retry-After`, per-receiver circuit breaker, permanent errors
  (400/401/403/404/410) dropped with one log line naming the config to fix. Per receiver and
  alert, only the latest state is queued: a trigger that is still queued when its resolve
  arrives is dropped, so a trigger is never delivered after its resolve, and a resolve for
  something the receiver never saw is not sent. Metrics:
  `driftwarden_alerts_sent_total{receiver,outcome}` and
  `driftwarden_alert_outbox_pending{receiver}`. A failure's reason (the answer's body, or the
  httpx error) is scrubbed of the receiver's URL parts and secrets and cut to 200 characters
  before it is logged or stored as the outbox entry's `last_error`
  (`monitor/alerting/redaction.py`).
- **Silences**: `driftwarden silence add -m 'model="credit-risk"' -d 2h -c "deploy"`,
  `driftwarden silence list`, `driftwarden silence expire ID`, or `alerting.silences` in config.
  The CLI writes where the daemon keeps its alert state (give it the daemon's `--config`; with
  the Kafka backend it needs to reach Kafka), and a running daemon picks the change up within
  about 2 s, without a restart. Silences compare with event time: for old data pass `--start`.

## Where alert state lives, and what survives what

Alert state is open incidents, group timers, what each receiver has received, the outbox
(one piece per pending notification) and the CLI's silences. It lives where the window
checkpoints live, so it survives exactly what they survive:

- `checkpoint.backend: kafka` (the chart's Deployment): records of the checkpoint topic, keys
  `alerting/<group id>/state`, `.../silences` and `.../outbox/<seq>` (a delete is a tombstone).
  Survives pod restarts, reschedules and node loss; nothing is written to the pod's disk.
- `checkpoint.backend: directory` (the chart's StatefulSet): `alerting/` beside the checkpoint
  directory (the chart sets `alerting.state_directory` on the volume). Survives restarts and
  reschedules that keep the PVC.
- `alerting.state_directory` set: that directory (`alerting-state.json`, `outbox/<seq>.json`,
  `silences.json`), whatever the checkpoint backend. Survives what that directory survives.
- `driftwarden replay`: memory only; a replay never touches a daemon's state.

The checkpoint loader ignores the alerting keys and the alert store ignores checkpoints; each
monitor (group id) reads only its own keys. The daemon reads the whole state at start (the topic
to its end) and writes each change before it acts on the next verdict or delivery outcome, so a
SIGKILL neither pages again nor forgets an open incident, and a silence set before it still holds.

**Replicas and handovers.** Only the member that owns partitions delivers: the pipeline starts
suspended and resumes (reads the whole state back) when the member is given partitions;
when it loses them it stops dispatching, waits for the one delivery in flight, writes
everything and forgets it. A standby delivers and writes nothing. Guarantee: during a handover
(or after a SIGKILL) **at most one notification that was in flight may be sent again** (its send
completed, its removal from the outbox was not yet written). Paging receivers absorb it:
PagerDuty dedups on `dedup_key` (the fingerprint: a repeated trigger updates the open incident),
Alertmanager on the label set; webhooks carry a stable `webhook-id`; a chat receiver may show the
message twice.

**Faults degrade, never stop monitoring.** A write of alert state that fails (ENOSPC, EMFILE,
EIO, a Kafka write not acknowledged) is logged (`alert_state_write_failed`), counted and reported
to the daemon's fault hook (component `alert_state`), kept in memory and retried with back-off
(0.5 s doubling to 30 s) at the next verdict or dispatcher round; delivery goes on from memory
and the consumer keeps consuming. `alert_state_write_recovered` says when it caught up. A crash
during the fault loses the changes since the last successful write (an open incident may be
paged once more, a resolve may be missed). A piece that cannot be read at start is set aside,
logged loudly and reported (component `alert_state_corrupt`, an event), and the daemon
starts that piece empty: a file is renamed `<name>.corrupt-<UTC time>`, a Kafka record is
skipped and tombstoned. What is lost: for `state`, open incidents (one still open is
notified again once, a resolve for a forgotten one is not sent); for an outbox entry, that
notification; for `silences`, every CLI silence (add them again). If the store cannot be
read at all (Kafka unreachable at start), the daemon does not start delivering from an empty
state: it fails and is restarted.

## Rendered samples

One drift episode of `credit-risk` in `production`: info, then warning, then critical, then
resolved. This sample routes every tier to both receivers so each tier can be shown; the shipped
policy sends info to neither.
"""


def render() -> str:
    parts = [HEADER]
    for label, chat, page in samples():
        (alert,) = page.alerts
        pd = event(alert, routing_key="<routing key>")
        parts.append(f"\n### {label}\n")
        parts.append("\n**Slack** (Block Kit, shown block by block):\n")
        parts.append("\n```text\n" + slack_as_text(slack_message(chat)) + "\n```\n")
        if pd["event_action"] == "trigger":
            parts.append(
                f"\n**PagerDuty** `event_action: trigger`, `severity: {pd['payload']['severity']}`"
                f", `dedup_key: {pd['dedup_key']}`; `payload.summary`:\n"
            )
            parts.append("\n```text\n" + pd["payload"]["summary"] + "\n```\n")
        else:
            parts.append(
                f"\n**PagerDuty** `event_action: resolve`, `dedup_key: {pd['dedup_key']}` "
                "(the same key as every trigger above).\n"
            )
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/alerts.md is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date; run scripts/render_alert_samples.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
