"""The replay report: a machine-readable JSON document and a readable summary.

The JSON schema is `docs/replay-report.schema.json`. The report holds no wall
clock and no absolute paths beyond what the user passed, keys are sorted and
floats are written by `repr`, so rerunning a replay gives a byte-identical
report: reports can be diffed to see what a threshold change does.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from monitor.engine import Engine
from monitor.narrative import iso
from monitor.replay import ReplayResult
from monitor.tier import Tier
from monitor.verdict import ColumnVerdict, WindowVerdict

SCHEMA_ID = "driftwarden.replay-report/1"


def _clean(value: Any) -> Any:
    """JSON-ready data: tiers as names, non-finite floats as None."""
    if isinstance(value, Tier):
        return value.label
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def column_record(column: ColumnVerdict) -> dict[str, Any]:
    return {
        "column": column.column,
        "role": column.role,
        "kind": column.kind,
        "tier": column.tier.label,
        "condition": column.condition.label,
        "runbook_url": column.runbook_url,
        "statistics": _clean(dataclasses.asdict(column.statistics)),
        "findings": [_clean(dataclasses.asdict(f)) for f in column.findings],
    }


def window_record(verdict: WindowVerdict) -> dict[str, Any]:
    return {
        "model_id": verdict.model_id,
        "baseline_version": verdict.baseline_version,
        "window_index": verdict.window_index,
        "start": iso(verdict.window_start),
        "end": iso(verdict.window_end),
        "events": verdict.events,
        "unknown_features": verdict.unknown_features,
        "evaluated": verdict.evaluated,
        "tier": verdict.tier.label,
        "previous_tier": verdict.previous_tier.label,
        "traffic_affected": _clean(verdict.traffic_affected),
        "outputs_moved": verdict.outputs_moved,
        "what_happened": verdict.what_happened,
        "why_it_matters": verdict.why_it_matters,
        "what_to_do": list(verdict.what_to_do),
        "trend_columns": list(verdict.trend_columns),
        "columns": [column_record(c) for c in verdict.columns],
    }


def drifted_columns(verdicts: Iterable[WindowVerdict]) -> list[dict[str, Any]]:
    """Per (model, column): the highest tier reached, when first, for how many windows."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for verdict in verdicts:
        for column in verdict.columns:
            if column.tier == Tier.NONE:
                continue
            key = (verdict.model_id, column.column)
            entry = seen.setdefault(
                key,
                {
                    "model_id": verdict.model_id,
                    "column": column.column,
                    "role": column.role,
                    "max_tier": Tier.NONE,
                    "first_window_end": iso(verdict.window_end),
                    "windows": 0,
                    "statistic": None,
                    "max_value": None,
                },
            )
            entry["windows"] += 1
            entry["max_tier"] = max(entry["max_tier"], column.tier)
            for finding in column.findings:
                if finding.kind == "trend":
                    continue
                if entry["max_value"] is None or (
                    finding.statistic == entry["statistic"] and finding.value > entry["max_value"]
                ):
                    entry["statistic"], entry["max_value"] = finding.statistic, finding.value
    out = sorted(seen.values(), key=lambda e: (e["model_id"], -int(e["max_tier"]), e["column"]))
    return [_clean(e) for e in out]


def build_report(
    engine: Engine,
    result: ReplayResult,
    *,
    alerts: Sequence[Mapping[str, Any]],
    config_source: str | None,
    driftwarden_version: str,
) -> dict[str, Any]:
    verdicts = result.verdicts
    counts = engine.counts
    return {
        "schema": SCHEMA_ID,
        "driftwarden_version": driftwarden_version,
        "config": config_source,
        "baselines": [
            {
                "model_id": layout.model_id,
                "version": layout.baseline.version,
                "window": _clean(engine.policies[m].window.model_dump()),
            }
            for m, layout in sorted(engine.layouts.items())
        ],
        "inputs": [dataclasses.asdict(i) for i in result.inputs],
        "counts": {
            "read": counts.read,
            "accepted": counts.accepted,
            "rejected": dict(sorted(counts.rejected.items())),
            "rejected_total": counts.rejected_total,
            "accepted_by_model": dict(sorted(counts.accepted_by_model.items())),
            "blank_lines": sum(i.blank_lines for i in result.inputs),
            "reconciles": counts.reconciles(),
        },
        "summary": {
            "windows": len(verdicts),
            "windows_evaluated": sum(1 for v in verdicts if v.evaluated),
            "max_tier": max((v.tier for v in verdicts), default=Tier.NONE).label,
            "windows_by_tier": {t.label: sum(1 for v in verdicts if v.tier == t) for t in Tier},
            "drifted_columns": drifted_columns(verdicts),
        },
        "windows": [window_record(v) for v in verdicts],
        "alerts": [_clean(dict(a)) for a in alerts],
    }


def encode_report(report: Mapping[str, Any]) -> bytes:
    return (
        json.dumps(report, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")


def _alert_line(notification: Mapping[str, Any]) -> str:
    head = f"  {notification.get('created_at', '')}  {notification.get('receiver', ''):<14}"
    alerts = notification.get("alerts")
    if not alerts:
        return f"{head} digest"
    titles = "; ".join(f"{a['status']} {a['title']}" for a in alerts)
    return f"{head} {titles}"


def summary_text(report: Mapping[str, Any], *, dead_letter: str | None) -> str:
    counts = report["counts"]
    rejected = ", ".join(f"{k} {v:,}" for k, v in counts["rejected"].items()) or "none"
    lines = [
        f"driftwarden replay: {len(report['inputs'])} input(s), {counts['read']:,} events read, "
        f"{counts['accepted']:,} accepted, {counts['rejected_total']:,} rejected ({rejected})"
    ]
    lines.extend(
        f"  ! {item['path']}: stopped at line {item['lines']:,}: {item['error']}"
        for item in report["inputs"]
        if item["error"]
    )
    summary = report["summary"]
    by_tier = summary["windows_by_tier"]
    lines.append(
        f"windows: {summary['windows']:,} closed, {summary['windows_evaluated']:,} evaluated; "
        f"by model tier: none {by_tier['none']}, info {by_tier['info']}, "
        f"warning {by_tier['warning']}, critical {by_tier['critical']}"
    )
    drifted = summary["drifted_columns"]
    if drifted:
        lines.append("drifted columns (highest tier, first window end, windows, peak statistic):")
        for entry in drifted:
            peak = (
                f"{entry['statistic']} {entry['max_value']:.3f}"
                if entry["max_value"] is not None
                else "held"
            )
            lines.append(
                f"  {entry['model_id']:<16} {entry['column']:<20} {entry['max_tier']:<8} "
                f"from {entry['first_window_end']}  {entry['windows']:>4} windows  {peak}"
            )
    else:
        lines.append("no column drifted")
    alerts = report["alerts"]
    if alerts:
        lines.append(f"alerts that would be sent: {len(alerts)}")
        lines.extend(_alert_line(alert) for alert in alerts[:20])
        if len(alerts) > 20:
            lines.append(f"  ... {len(alerts) - 20} more in the report")
    if dead_letter and counts["rejected_total"]:
        lines.append(f"rejected events written to {dead_letter}")
    return "\n".join(lines)
