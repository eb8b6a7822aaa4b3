"""The periodic digest: every model that left tier none during the period.

Info-tier drift is not worth a message on its own; the digest gathers it (and
the louder tiers, for context) per `alerting.digest.interval` of event time,
aligned to multiples of the interval (hourly digests close on the hour, daily
ones at 00:00 UTC). A digest is emitted when the first verdict of the next
period arrives, and only when something happened.
"""

from __future__ import annotations

import math

import msgspec

from driftwarden.monitor.alerting.model import Digest, DigestEntry
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict

MAX_DIGEST_COLUMNS = 10


class _Accumulating(msgspec.Struct, kw_only=True):
    highest_tier: Tier
    windows: int
    windows_by_tier: dict[str, int]
    columns: list[str]
    first_window_end: float
    last_window_end: float


class DigestState(msgspec.Struct, kw_only=True):
    period_start: float | None = None
    models: dict[str, _Accumulating] = msgspec.field(default_factory=dict)


def add_verdict(
    state: DigestState, verdict: WindowVerdict, *, interval: float, environment: str
) -> Digest | None:
    """Count the verdict; return the previous period's digest when this verdict starts a new one."""
    period = math.floor(verdict.window_end / interval) * interval
    closed = None
    if state.period_start is not None and period > state.period_start:
        if state.models:
            closed = Digest(
                environment=environment,
                period_start=state.period_start,
                period_end=state.period_start + interval,
                entries=tuple(
                    DigestEntry(
                        model_id=model,
                        highest_tier=acc.highest_tier,
                        windows=acc.windows,
                        windows_by_tier=dict(acc.windows_by_tier),
                        columns=tuple(acc.columns),
                        first_window_end=acc.first_window_end,
                        last_window_end=acc.last_window_end,
                    )
                    for model, acc in sorted(state.models.items())
                ),
            )
        state.models = {}
    if state.period_start is None or period > state.period_start:
        state.period_start = period
    if verdict.tier > Tier.NONE:
        acc = state.models.get(verdict.model_id)
        if acc is None:
            acc = _Accumulating(
                highest_tier=verdict.tier,
                windows=0,
                windows_by_tier={},
                columns=[],
                first_window_end=verdict.window_end,
                last_window_end=verdict.window_end,
            )
            state.models[verdict.model_id] = acc
        acc.windows += 1
        acc.highest_tier = max(acc.highest_tier, verdict.tier)
        acc.windows_by_tier[verdict.tier.label] = acc.windows_by_tier.get(verdict.tier.label, 0) + 1
        acc.last_window_end = verdict.window_end
        for column in verdict.drifting_columns:
            if column.column not in acc.columns and len(acc.columns) < MAX_DIGEST_COLUMNS:
                acc.columns.append(column.column)
    return closed
