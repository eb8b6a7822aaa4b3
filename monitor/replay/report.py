"""The replay report: a machine-readable JSON document and a readable summary.

The JSON schema is `docs/replay-report.schema.json`. The report holds no wall
clock and no absolute paths beyond what the user passed, keys are sorted and
floats are written by `repr`, so rerunning a replay gives a byte-identical
report: reports can be diffed to see what a threshold change does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.replay.runner import ReplayResult
from driftwarden.monitor.verdicts.charts import baseline_histograms
from driftwarden.monitor.verdicts.narrative import iso
from driftwarden.monitor.verdicts.record import json_ready, window_record
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict

if TYPE_CHECKING:  # the join loads only when outcomes are configured
    from driftwarden.monitor.outcomes.labelled import LabelledWindow
    from driftwarden.monitor.verdicts.performance import PerformanceVerdict

SCHEMA_ID = "driftwarden.replay-report/1"
FinalLabels = tuple["LabelledWindow", "PerformanceVerdict | None"]
"""A window whose labels became final and its realised verdict (`Engine.take_final_labels`)."""


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
                    "tier_since": {},
                    "windows": 0,
                    "statistic": None,
                    "max_value": None,
                },
            )
            entry["windows"] += 1
            entry["max_tier"] = max(entry["max_tier"], column.tier)
            entry["tier_since"].setdefault(column.tier.label, iso(verdict.window_end))
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
        return [json_ready(e) for e in out]


_WINDOWS_MARK = "\x00driftwarden-windows\x00"


@dataclass(slots=True)
class _ModelTally:
    """One model's windows: how many, how many evaluated, the sizes of the others."""

    windows: int = 0
    evaluated: int = 0
    small_min: int | None = None  # events of the smallest window not evaluated
    small_max: int | None = None

    def add(self, verdict: WindowVerdict) -> None:
        self.windows += 1
        if verdict.evaluated:
            self.evaluated += 1
            return
        n = verdict.events
        self.small_min = n if self.small_min is None else min(self.small_min, n)
        self.small_max = n if self.small_max is None else max(self.small_max, n)


@dataclass(frozen=True, slots=True)
class TierReached:
    """The first window whose model tier reached a tier, and its columns at that tier."""

    model_id: str
    start: str
    end: str
    tier: str
    columns: tuple[tuple[str, str], ...]  # (column, its tier)

    def text(self) -> str:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns) or "held"
        return f"{self.model_id} window {self.start} to {self.end} reached {self.tier} ({cols})"


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
        self._models: dict[str, _ModelTally] = {}
        self._reached: dict[Tier, TierReached] = {}
        self.windows = 0
        self.evaluated = 0
        self.by_tier = dict.fromkeys(Tier, 0)

    def add(self, verdict: WindowVerdict) -> None:
        self.windows += 1
        self.evaluated += int(verdict.evaluated)
        self.by_tier[verdict.tier] += 1
        self._models.setdefault(verdict.model_id, _ModelTally()).add(verdict)
        for tier in Tier:
            if Tier.NONE < tier <= verdict.tier and tier not in self._reached:
                self._reached[tier] = TierReached(
                    model_id=verdict.model_id,
                    start=iso(verdict.window_start),
                    end=iso(verdict.window_end),
                    tier=verdict.tier.label,
                    columns=tuple(
                        (c.column, c.tier.label)
                        for c in sorted(verdict.columns, key=lambda c: (-int(c.tier), c.column))
                        if c.tier >= tier
                    ),
                )
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

    def first_reaching(self, tier: Tier) -> TierReached | None:
        """The first window whose model tier was `tier` or higher (what a gate names)."""
        return self._reached.get(tier)

    def header(
        self,
        engine: Engine,
        result: ReplayResult,
        *,
        alerts: Sequence[Mapping[str, Any]],
        config_source: str | None,
        driftwarden_version: str,
        warnings: Sequence[str] = (),
        unknown_models: Sequence[str] = (),
        finals: Sequence[FinalLabels] | None = None,
    ) -> dict[str, Any]:
        """The report without its `windows` (which `write_report` streams in).

        `finals`: the windows whose labels became final, already taken from the engine
        (replay hands them to alerting first); None takes them here.
        """
        counts = engine.counts
        return {
            "schema": SCHEMA_ID,
            "driftwarden_version": driftwarden_version,
            "config": config_source,
            "baselines": [
                {
                    "model_id": layout.model_id,
                    "version": layout.baseline.version,
                    "window": json_ready(engine.policies[m].window.model_dump()),
                }
                for m, layout in sorted(engine.layouts.items())
            ],
            "histograms": baseline_histograms(engine.layouts, engine.policies),
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
                "by_model": self._by_model(engine),
                "drifted_columns": self._drifted.entries(),
                "warnings": list(warnings),
                "unknown_models_seen": list(unknown_models),
            },
            "alerts": [json_ready(dict(a)) for a in alerts],
            **({"outcomes": _outcomes(engine, finals)} if engine.outcomes is not None else {}),
        }

    def _by_model(self, engine: Engine) -> list[dict[str, Any]]:
        """Each model's windows, evaluated or not, and the sizes of the small ones."""
        by_model = []
        for model in sorted(engine.layouts):
            tally = self._models.get(model, _ModelTally())
            by_model.append(
                {
                    "model_id": model,
                    "windows": tally.windows,
                    "windows_evaluated": tally.evaluated,
                    "min_samples": engine.policies[model].significance.min_samples,
                    "unevaluated_events": None
                    if tally.small_min is None
                    else {"min": tally.small_min, "max": tally.small_max},
                }
            )
        return by_model


def write_report(out: BinaryIO, header: Mapping[str, Any], window_lines: Iterable[bytes]) -> None:
    """The whole report: `header` with the window records spliced in as `windows`."""
    doc = {**header, "windows": _WINDOWS_MARK}
    text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    before, after = text.split(json.dumps(_WINDOWS_MARK))
    out.write(before.encode("utf-8") + b"[")
    first = True
    final = final_performance(header)
    for line in window_lines:
        record = with_realised(line, final) if final else line
        out.write((b"\n  " if first else b",\n  ") + record.rstrip(b"\n"))
        first = False
    out.write((b"]" if first else b"\n ]") + after.encode("utf-8") + b"\n")


def _alert_line(notification: Mapping[str, Any]) -> str:
    head = f"  {notification.get('created_at', '')}  {notification.get('receiver', ''):<14}"
    alerts = notification.get("alerts")
    if not alerts:
        return f"{head} digest"
    titles = "; ".join(f"{a['status']} {a['title']}" for a in alerts)
    return f"{head} {titles}"


_REJECT_FIX = {
    "invalid_json": "the input is not JSON lines (one JSON event object per line)",
    "not_an_object": "each line must be one JSON object (an event), not an array or a value",
    "missing_model_id": "the events name no model: set events.model_id to the field that "
    "does, or events.default_model",
    "unknown_model": "the events name models that no --baseline describes",
    "bad_timestamp": "fix the timestamps (RFC 3339, epoch seconds or milliseconds) or "
    "events.timestamp",
    "bad_features": "the features must be a JSON object: check events.features",
    "bad_prediction": "the prediction must be a JSON object or one value: check events.prediction",
    "too_large": "the events are longer than events.max_event_bytes: raise it",
    "late": "the events arrive after their windows closed: sort the logs by time or raise "
    "policy.window.allowed_lateness",
    "duplicate": "the events repeat request ids: check events.dedup_window",
}


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _small_windows(entry: Mapping[str, Any]) -> str:
    """`48 windows below min_samples 500 (250 events each)`, for one model."""
    small = entry["unevaluated_events"]
    low, high = small["min"], small["max"]
    n = entry["windows"] - entry["windows_evaluated"]
    if low != high:
        sizes = f"{low:,} to {high:,} events"
    else:
        sizes = _plural(low, "event") + (" each" if n > 1 else "")
    return f"{_plural(n, 'window')} below min_samples {entry['min_samples']:,} ({sizes})"


def evidence_gaps(report: Mapping[str, Any]) -> list[str]:
    """Why models have no evaluated window, one line each with the fix; [] when all have one.

    A gate (`--fail-on`) cannot pass on these: a replay that judged nothing says
    nothing about drift.
    """
    counts = report["counts"]
    summary = report["summary"]
    if counts["read"] == 0:
        blank = counts["blank_lines"]
        several = len(report["inputs"]) > 1
        what = ("hold" if several else "holds") + " only blank lines" if blank else "empty"
        if not blank:
            what = ("are " if several else "is ") + what
        paths = ", ".join(i["path"] for i in report["inputs"])
        return [f"no events read: the input{'s' if several else ''} ({paths}) {what}"]
    gaps: list[str] = []
    if counts["accepted"] == 0:
        rejected = counts["rejected"]
        top = max(rejected, key=lambda r: rejected[r])
        reasons = ", ".join(f"{k} {v:,}" for k, v in rejected.items())
        fix = _REJECT_FIX.get(top, "see the dead-letter file for each event's reason")
        if top == "unknown_model":
            seen = summary.get("unknown_models_seen") or []
            known = ", ".join(repr(m["model_id"]) for m in summary["by_model"])
            if seen:
                fix = (
                    f"the events name {', '.join(map(repr, seen))} but the baselines are for "
                    f"{known}: pass the baseline of the events' model with --baseline"
                )
        events = "the event was" if counts["read"] == 1 else f"all {counts['read']:,} events were"
        return [f"{events} rejected ({reasons}): {fix}"]
    for entry in summary["by_model"]:
        if entry["windows_evaluated"]:
            continue
        model = entry["model_id"]
        if not counts["accepted_by_model"].get(model):
            gaps.append(
                f"{model}: none of the {counts['accepted']:,} accepted events is for this model; "
                f"pass only the baselines of the models in these logs"
            )
        else:
            gaps.append(
                f"{model}: {_small_windows(entry)}; lower policy.significance.min_samples or "
                f"use longer windows (policy.window.size)"
            )
    return gaps


def _tier_span(entry: Mapping[str, Any]) -> str:
    """`critical from 02:10 (info from 02:05)`: when each tier was first reached.

    The times are window ends, as the alerts' times are, so the prose and the
    alert list tell one story.
    """
    since = entry["tier_since"]
    top = entry["max_tier"]
    text = f"{top:<8} from {since[top]}"
    day = since[top].partition("T")[0]
    earlier = [
        f"{label} from {since[label].removeprefix(day + 'T')}"
        for label in ("info", "warning", "critical")
        if label in since and label != top and since[label] < since[top]
    ]
    return text + (f" ({', '.join(earlier)})" if earlier else "")


def _drifted_lines(summary: Mapping[str, Any]) -> list[str]:
    """One line per drifted column, or the one line that says why there are none."""
    drifted = summary["drifted_columns"]
    if not drifted:
        if summary["windows_evaluated"]:
            return ["no column drifted"]
        return ["no window was evaluated: no drift could be judged"]
    lines = ["drifted columns (tier from the end of its first window, windows, peak):"]
    for entry in drifted:
        peak = (
            f"{entry['statistic']} {entry['max_value']:.3f}"
            if entry["max_value"] is not None
            else "held"
        )
        lines.append(
            f"  {entry['model_id']:<16} {entry['column']:<20} {_tier_span(entry)}"
            f"  {entry['windows']:>4} windows  {peak}"
        )
    return lines


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
    gaps = evidence_gaps(report)
    lines.extend(f"  ! not evaluated: {gap}" for gap in gaps)
    lines.extend(
        f"  {entry['model_id']}: {_small_windows(entry)}, not evaluated"
        for entry in summary["by_model"]
        if entry["windows_evaluated"] and entry["unevaluated_events"]
    )
    lines.extend(f"  ! {warning}" for warning in summary["warnings"])
    unknown = counts["rejected"].get("unknown_model", 0)
    if unknown and counts["accepted"] and summary["unknown_models_seen"]:
        seen = ", ".join(map(repr, summary["unknown_models_seen"]))
        lines.append(
            f"  ! {_plural(unknown, 'event')} name models without a baseline (seen: {seen}); "
            f"pass their baselines with --baseline to judge them too"
        )
    lines.extend(_drifted_lines(summary))
    lines.extend(performance_lines(report))  # issue 14
    alerts = report["alerts"]
    if alerts:
        lines.append(f"alerts that would be sent: {len(alerts)}")
        lines.extend(_alert_line(alert) for alert in alerts[:20])
        if len(alerts) > 20:
            lines.append(f"  ... {len(alerts) - 20} more in the report")
    if counts["rejected_total"]:
        if dead_letter:
            lines.append(f"rejected events written to {dead_letter}")
        else:
            lines.append(
                f"{_plural(counts['rejected_total'], 'rejected event')} not kept: pass "
                f"--dead-letter FILE (or --report FILE) to keep them with their reasons"
            )
    return "\n".join(lines)


def _outcomes(engine: Engine, finals: Sequence[FinalLabels] | None) -> dict[str, Any]:
    """The join's accounting and each prediction window's labels (see monitor.outcomes)."""
    join = engine.outcomes
    assert join is not None
    counts = join.counts.to_dict()
    counts["reconciles"] = join.counts.reconciles()
    windows = []
    for window, performance in engine.take_final_labels() if finals is None else finals:
        summary = window.summary()
        if performance is not None:
            summary["performance"] = performance.to_record()
        windows.append(summary)
    return {"counts": counts, "windows": windows}


def final_performance(header: Mapping[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """Issue 14: each window's realised performance record, by (model, window index)."""
    outcomes = header.get("outcomes") or {}
    return {
        (w["model_id"], int(w["window"])): w["performance"]
        for w in outcomes.get("windows", [])
        if "performance" in w
    }


def with_realised(line: bytes, final: Mapping[tuple[str, int], Mapping[str, Any]]) -> bytes:
    """A window record with its realised performance beside the estimate at close.

    `performance.tier` becomes the higher of the two tracks' tiers for this window,
    `findings` both verdicts' findings.
    """
    record = json.loads(line)
    realised = final.get((record["model_id"], int(record["window_index"])))
    if realised is None:
        return line
    at_close = record.get("performance")
    merged = dict(realised)
    if at_close is not None:
        merged["estimated"] = at_close["estimated"]
        merged["estimate_reliable"] = at_close["estimate_reliable"]
        merged["estimate_reasons"] = at_close["estimate_reasons"]
        merged["findings"] = at_close["findings"] + realised["findings"]
        merged["tier"] = max(at_close["tier"], realised["tier"], key=Tier.parse)
    record["performance"] = merged
    return json.dumps(
        record, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode("utf-8")


def performance_reaching(report: Mapping[str, Any], tier: Tier) -> str | None:
    """Issue 14: the first final window whose realised performance reached `tier`, in words.

    A replay reads its outcome files after the predictions, so realised verdicts come
    after every window closed; `--fail-on` looks at them here.
    """
    for window in (report.get("outcomes") or {}).get("windows", []):
        performance = window.get("performance")
        if performance is None:
            continue
        where = f"{window['model_id']} window {window['window']}"
        if Tier.parse(performance["tier"]) >= tier:
            return (
                f"{where}: realised performance reached {performance['tier']} "
                f"({performance['what_happened']})"
            )
        coverage = performance.get("coverage_tier", "none")
        if Tier.parse(coverage) >= tier:  # the data-quality finding, in its own words
            return f"{where}: label coverage reached {coverage} ({performance['what_happened']})"
    return None


def performance_lines(report: Mapping[str, Any]) -> list[str]:
    """Issue 14: one line per final window whose realised performance raised a tier."""
    final = [w for w in (report.get("outcomes") or {}).get("windows", []) if w.get("performance")]
    if not final:
        return []
    raised = [w for w in final if w["performance"]["tier"] != "none"]
    low = [w for w in final if w["performance"].get("coverage_tier", "none") != "none"]
    lines = [
        f"performance: {_plural(len(final), 'window')} with final labels, "
        f"{len(raised)} with a realised performance tier, {len(low)} with a label coverage tier"
    ]
    shown = {(w["model_id"], w["window"]): w for w in [*raised, *low]}
    for _, w in sorted(shown.items())[:10]:
        performance = w["performance"]
        tier = max(performance["tier"], performance.get("coverage_tier", "none"), key=Tier.parse)
        lines.append(
            f"  {w['model_id']:<16} window {w['window']:<8} {tier:<8} "
            f"{_shorten(performance['what_happened'], 160)}"
        )
    return lines


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
