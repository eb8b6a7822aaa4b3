"""A report reshaped for its page: per model and column, one array per series.

The report is window-major (one record per window, streamable); charts are
column-major (one series per column over the windows). `PageData` turns the
first into the second one window at a time, so the page is built from the
replay's spooled window records or from a report file without holding the
report's text. Numbers are rounded to what a chart can show (4 significant
digits; p-values 3), which with the gzip of `render` keeps a 1,000-window x
20-column page under 2 MB. Window prose is kept for windows that left tier none
only: the others read "no column drifting".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

TIERS = ("none", "info", "warning", "critical")
_TIER_CODE = {label: code for code, label in enumerate(TIERS)}

QUALITY_SERIES = ("missing_rate", "type_error_rate", "out_of_range_rate", "new_category_rate")


def _round(value: Any, digits: int = 4) -> float | None:
    """`value` to `digits` significant digits; None stays None (not applicable)."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number == 0.0:
        return 0.0 if number == 0.0 else None
    return float(f"{number:.{digits}g}")


class _ColumnSeries:
    """One column's series over its model's windows."""

    def __init__(self, name: str, bins: Mapping[str, Any]) -> None:
        self.name = name
        self.bins = bins
        self.effect = str(bins["effects"][0])
        self.tier: list[int] = []
        self.counts: list[int] = []
        self.effect_values: list[float | None] = []
        self.p_values: list[float | None] = []
        self.quality: dict[str, list[float | None]] = {q: [] for q in QUALITY_SERIES}

    def add(self, column: Mapping[str, Any] | None) -> None:
        slots = len(self.bins["labels"])
        if column is None:  # a window written without this column (another baseline)
            self.tier.append(0)
            self.counts.extend([0] * slots)
            self.effect_values.append(None)
            self.p_values.append(None)
            for series in self.quality.values():
                series.append(None)
            return
        stats = column["statistics"]
        self.tier.append(_TIER_CODE[column["tier"]])
        counts = list(column.get("histogram", {}).get("counts", ()))
        self.counts.extend(counts if len(counts) == slots else [0] * slots)
        self.effect_values.append(_round(stats.get(self.effect)))
        # The adjusted p-value gates drift; a column below min_samples has only its raw one.
        p_value = next(
            (
                stats[k]
                for k in ("drift_p_value_adjusted", "ks_p_value", "chi_square_p_value")
                if stats.get(k) is not None
            ),
            None,
        )
        self.p_values.append(_round(p_value, 3))
        for name, series in self.quality.items():
            series.append(_round(stats.get(name)))

    def to_dict(self) -> dict[str, Any]:
        bins = self.bins
        return {
            "name": self.name,
            "role": bins["role"],
            "kind": bins["kind"],
            "labels": list(bins["labels"]),
            "baseline": [_round(s) for s in bins["baseline_shares"]],
            "baseline_missing_rate": _round(bins["baseline_missing_rate"]),
            "effect": self.effect,
            "effect_thresholds": dict(bins["effect_thresholds"][self.effect]),
            "alpha": bins["alpha"],
            "quality_thresholds": dict(bins["quality_thresholds"]),
            "tier": self.tier,
            "counts": self.counts,
            "effect_values": self.effect_values,
            "p_values": self.p_values,
            "quality": self.quality,
        }


class _ModelSeries:
    def __init__(self, model_id: str, columns: Mapping[str, Mapping[str, Any]]) -> None:
        self.model_id = model_id
        self.baseline_version: int | None = None
        # By name: a report file sorts its keys, so baseline order cannot survive it.
        self.columns = {n: _ColumnSeries(n, bins) for n, bins in sorted(columns.items())}
        self.start: list[str] = []
        self.end: list[str] = []
        self.events: list[int] = []
        self.tier: list[int] = []
        self.evaluated: list[int] = []
        self.prose: dict[int, list[Any]] = {}  # window position -> [what, why, steps]
        self.performance: list[Any] = []

    def add(self, window: Mapping[str, Any]) -> None:
        position = len(self.tier)
        self.baseline_version = int(window["baseline_version"])
        self.start.append(window["start"])
        self.end.append(window["end"])
        self.events.append(int(window["events"]))
        self.tier.append(_TIER_CODE[window["tier"]])
        self.evaluated.append(int(bool(window["evaluated"])))
        if window["tier"] != "none" or not window["evaluated"]:
            self.prose[position] = [
                window["what_happened"],
                window["why_it_matters"],
                list(window["what_to_do"]),
            ]
        self.performance.append(window.get("performance"))
        by_name = {c["column"]: c for c in window["columns"]}
        for name, series in self.columns.items():
            series.add(by_name.get(name))

    def to_dict(self) -> dict[str, Any]:
        performance = self.performance if any(p is not None for p in self.performance) else None
        return {
            "model_id": self.model_id,
            "baseline_version": self.baseline_version,
            "windows": {
                "start": self.start,
                "end": self.end,
                "events": self.events,
                "tier": self.tier,
                "evaluated": self.evaluated,
            },
            "prose": {str(k): v for k, v in self.prose.items()},
            "columns": [c.to_dict() for c in self.columns.values()],
            "performance": performance,
        }


class PageData:
    """Accumulates a report's windows into the page's column-major data."""

    def __init__(self, header: Mapping[str, Any]) -> None:
        self._header = header
        histograms: Mapping[str, Mapping[str, Any]] = header.get("histograms") or {}
        self._models = {m: _ModelSeries(m, cols) for m, cols in sorted(histograms.items())}

    def add(self, window: Mapping[str, Any]) -> None:
        model = self._models.get(window["model_id"])
        if model is not None:
            model.add(window)

    def extend(self, windows: Iterable[Mapping[str, Any]]) -> PageData:
        for window in windows:
            self.add(window)
        return self

    def to_dict(self) -> dict[str, Any]:
        header = self._header
        summary = header["summary"]
        return {
            "schema": header["schema"],
            "driftwarden_version": header["driftwarden_version"],
            "inputs": [i["path"] for i in header["inputs"]],
            "counts": header["counts"],
            "summary": {
                "windows": summary["windows"],
                "windows_evaluated": summary["windows_evaluated"],
                "max_tier": summary["max_tier"],
                "windows_by_tier": summary["windows_by_tier"],
                "drifted_columns": summary["drifted_columns"],
                "warnings": summary["warnings"],
            },
            "alerts": [_alert(a) for a in header["alerts"]],
            "models": [m.to_dict() for m in self._models.values()],
        }


def _alert(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the page lists of an alert: when, who, and its what / why / what to do."""
    if "alerts" not in document:  # a digest
        return {"created_at": document.get("created_at"), "receiver": document.get("receiver")}
    return {
        "created_at": document.get("created_at"),
        "receiver": document.get("receiver"),
        "alerts": [
            {
                "title": a["title"],
                "status": a["status"],
                "tier": a["tier"],
                "model": a.get("labels", {}).get("model"),
                "window_end": a.get("window", {}).get("end"),
                "what_happened": a["what_happened"],
                "why_it_matters": a["why_it_matters"],
                "what_to_do": a["what_to_do"],
                "runbook_url": a.get("runbook_url"),
            }
            for a in document["alerts"]
        ],
    }
