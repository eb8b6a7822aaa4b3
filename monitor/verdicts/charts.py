"""The data a report's charts need: bins once per baseline column, counts per window.

A chart of "this window against the baseline" needs the baseline's bins (edges or
category names) and its shares, which never change, and the window's counts in
the same slots, which do. The report carries the first once per model and column
(`histograms`, beside the thresholds the over-time charts draw as lines) and the
second in each window's column record (`histogram`), so a window record stays
columns x bins whatever the traffic and a page can be drawn from the report alone.
Rows never enter the report: only counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from driftwarden.monitor.config import ModelPolicy, TierThresholds
from driftwarden.monitor.ingest.layout import ColumnSlot, ModelLayout
from driftwarden.monitor.verdicts.verdict import ColumnVerdict

SHARE_DIGITS = 6
"""Shares are rounded to this many decimals: a millionth of a window is below any chart's pixel."""

OTHER_LABEL = "(other)"
NEW_LABEL = "(new)"


def _tiers(thresholds: TierThresholds) -> dict[str, float]:
    return {"info": thresholds.info, "warning": thresholds.warning, "critical": thresholds.critical}


def shares(counts: Any) -> list[float]:
    """Each slot's share of the column's counted values (all zero for an empty column)."""
    values = [int(c) for c in counts]
    total = sum(values)
    if total == 0:
        return [0.0] * len(values)
    return [round(c / total, SHARE_DIGITS) for c in values]


def slot_labels(slot: ColumnSlot, categories: tuple[str, ...] = ()) -> list[str]:
    """One label per count slot, in the window arrays' order (see `ColumnSlot`)."""
    if slot.kind == "categorical":
        return [*categories, OTHER_LABEL, NEW_LABEL]
    assert slot.edges is not None
    edges = [f"{float(e):.6g}" for e in slot.edges]
    inner = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(edges)]
    if inner:
        inner[-1] = inner[-1][:-1] + "]"
    return [f"< {edges[0]}", *inner, f"> {edges[-1]}"]


def _column(layout: ModelLayout, slot: ColumnSlot, policy: ModelPolicy) -> dict[str, Any]:
    column = layout.baseline.columns[slot.index]
    column_policy = policy.column(slot.name)
    default = policy.effect_numeric if slot.kind == "numeric" else policy.effect_categorical
    effects = column_policy.effect or default
    quality = column_policy.quality
    categories: tuple[str, ...] = getattr(column, "categories", ())
    return {
        "role": slot.role,
        "kind": slot.kind,
        "edges": None if slot.edges is None else [float(e) for e in slot.edges],
        "labels": slot_labels(slot, categories),
        "baseline_counts": [int(c) for c in slot.reference],
        "baseline_shares": shares(slot.reference),
        "baseline_missing_rate": column.missing_rate,
        "effects": list(effects),
        "effect_thresholds": {e: _tiers(getattr(column_policy.thresholds, e)) for e in effects},
        "alpha": policy.significance.alpha,
        "quality_thresholds": {
            "missing_increase": _tiers(quality.missing_increase),
            "type_error_rate": _tiers(quality.type_error_rate),
            "out_of_range_rate": _tiers(quality.out_of_range_rate),
            "new_category_rate": _tiers(quality.new_category_rate),
        },
    }


def baseline_histograms(
    layouts: Mapping[str, ModelLayout], policies: Mapping[str, ModelPolicy]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per model, per column: its bins, the baseline's counts and shares, its thresholds."""
    return {
        model: {slot.name: _column(layout, slot, policies[model]) for slot in layout.columns}
        for model, layout in sorted(layouts.items())
    }


def window_histogram(column: ColumnVerdict) -> dict[str, Any]:
    """A window's counts in its column's slots; categorical columns add their shares."""
    record: dict[str, Any] = {"counts": list(column.counts)}
    if column.kind == "categorical":
        record["shares"] = shares(column.counts)
    return record
