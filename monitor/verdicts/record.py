"""A verdict's serialised form: the JSON record of one closed window.

The replay report lists these records and the daemon's verdict log appends
them, so both stay one format. The record holds no wall clock and writes tiers
as names and non-finite floats as null, so a rerun gives the same record.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from driftwarden.monitor.verdicts.charts import window_histogram
from driftwarden.monitor.verdicts.narrative import iso, what_happened, what_to_do, why_it_matters
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnVerdict, WindowVerdict


def json_ready(value: Any) -> Any:
    """JSON-ready data: tiers as names, non-finite floats as None."""
    if isinstance(value, Tier):
        return value.label
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def _shallow(record: Any) -> dict[str, Any]:
    """A flat dataclass's fields as a dict: `dataclasses.asdict` deep-copies every
    value and cost more than the window's evaluation (these hold scalars only)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def column_record(column: ColumnVerdict) -> dict[str, Any]:
    return {
        "column": column.column,
        "role": column.role,
        "kind": column.kind,
        "tier": column.tier.label,
        "condition": column.condition.label,
        "runbook_url": column.runbook_url,
        "statistics": json_ready(_shallow(column.statistics)),
        "findings": [json_ready(_shallow(f)) for f in column.findings],
        "histogram": window_histogram(column),
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
        "traffic_affected": json_ready(verdict.traffic_affected),
        "outputs_moved": verdict.outputs_moved,
        "what_happened": what_happened(verdict),
        "why_it_matters": why_it_matters(verdict),
        "what_to_do": list(what_to_do(verdict)),
        "trend_columns": list(verdict.trend_columns),
        "columns": [column_record(c) for c in verdict.columns],
        # Issue 14: the estimate at close; realised values join it in `write_report`.
        **({"performance": verdict.performance.to_record()} if verdict.performance else {}),
    }
