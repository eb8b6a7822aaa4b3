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
from typing import Any, BinaryIO

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
        "statistics": _clean(_shallow(column.statistics)),
        "findings": [_clean(_shallow(f)) for f in column.findings],
    }


def _shallow(record: Any) -> dict[str, Any]:
    """A flat dataclass's fields as a dict: `dataclasses.asdict` deep-copies every
    value and cost more than the window's evaluation (these hold scalars only)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


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


class DriftedColumns:
    """Per (model, column): highest tier, first window end, windows drifting, peak statistic.

    Built incrementally so a report over months of windows needs memory for the
    columns only, never for the windows.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, verdict: WindowVerdict) -> None:
        for column in verdict.columns:
            if column.tier == Tier.NONE:
                continue
            key = (verdict.model_id, column.column)
            entry = self._entries.setdefault(
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

    def entries(self) -> list[dict[str, Any]]:
        out = sorted(
            self._entries.values(),
            key=lambda e: (e["model_id"], -int(e["max_tier"]), e["column"]),
        )
        return [_clean(e) for e in out]


_WINDOWS_MARK = "\x00driftwarden-windows\x00"


class ReportBuilder:
    """Accumulates a replay report window by window, in constant memory.

    Each closed window's record is written as one compact JSON line to
    `windows_file` (when a report is wanted) and only aggregates stay in memory;
    `write_report` then splices the lines into the final document. The output is
    deterministic: sorted keys, no wall clock, floats by `repr`.
    """

    def __init__(self, windows_file: BinaryIO | None = None) -> None:
        self._windows_file = windows_file
        self._drifted = DriftedColumns()
        self.windows = 0
        self.evaluated = 0
        self.by_tier = dict.fromkeys(Tier, 0)

    def add(self, verdict: WindowVerdict) -> None:
        self.windows += 1
        self.evaluated += int(verdict.evaluated)
        self.by_tier[verdict.tier] += 1
        self._drifted.add(verdict)
        if self._windows_file is not None:
            line = json.dumps(
                window_record(verdict),
                sort_keys=True,
                ensure_ascii=False,
                allow_nan=False,
                separators=(",", ":"),
            )
            self._windows_file.write(line.encode("utf-8") + b"\n")

    @property
    def max_tier(self) -> Tier:
        return max((t for t, n in self.by_tier.items() if n), default=Tier.NONE)

    def header(
        self,
        engine: Engine,
        result: ReplayResult,
        *,
        alerts: Sequence[Mapping[str, Any]],
        config_source: str | None,
        driftwarden_version: str,
    ) -> dict[str, Any]:
        """The report without its `windows` (which `write_report` streams in)."""
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
                "windows": self.windows,
                "windows_evaluated": self.evaluated,
                "max_tier": self.max_tier.label,
                "windows_by_tier": {t.label: n for t, n in self.by_tier.items()},
                "drifted_columns": self._drifted.entries(),
            },
            "alerts": [_clean(dict(a)) for a in alerts],
        }


def write_report(out: BinaryIO, header: Mapping[str, Any], window_lines: Iterable[bytes]) -> None:
    """The whole report: `header` with the window records spliced in as `windows`."""
    doc = {**header, "windows": _WINDOWS_MARK}
    text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    before, after = text.split(json.dumps(_WINDOWS_MARK))
    out.write(before.encode("utf-8") + b"[")
    first = True
    for line in window_lines:
        out.write((b"\n  " if first else b",\n  ") + line.rstrip(b"\n"))
        first = False
    out.write((b"]" if first else b"\n ]") + after.encode("utf-8") + b"\n")


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
