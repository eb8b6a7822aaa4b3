"""The incident lifecycle of each model, driven by the engine's tiers.

The engine has already applied sustain and hysteresis (including "M clean
windows before the tier drops to none"), so the rules here are simple:

- tier none -> above none: the incident opens (`opened`);
- a higher or lower tier while open: `escalated` / `deescalated`, the same
  incident (same fingerprint, same PagerDuty dedup_key);
- the same tier: `continued` (repeats are the route's `repeat_interval`, see
  `groups.py`);
- back to none: `resolved`, and the incident is forgotten.

State is plain data persisted with the rest of the pipeline's state, so a
restart neither re-opens an open incident nor forgets to resolve it. A verdict
whose window does not end after the last one seen for the model is ignored:
after a restart the engine may re-emit windows from its last checkpoint.

Issue 14: a model's realised-performance and label-coverage incidents step
through the same rules (`advance_incident`), keyed by alert name and model, on
verdicts judged when a window's labels are final. Windows become final out of
window order, so those are told apart by the windows already judged
(`judged_before`), not by the last window end.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict

Transition = Literal["opened", "escalated", "deescalated", "continued", "resolved"]


class Incident(msgspec.Struct, kw_only=True):
    """One model's open drift episode."""

    model_id: str
    fingerprint: str
    started_at: float
    tier: Tier
    tiers_seen: list[Tier]
    windows: int = 0


class LifecycleState(msgspec.Struct, kw_only=True):
    incidents: dict[str, Incident] = msgspec.field(default_factory=dict)
    last_window_end: dict[str, float] = msgspec.field(default_factory=dict)
    finals: dict[str, list[int]] = msgspec.field(default_factory=dict)
    """Per model, the window indices whose final-labels verdict was applied (the last
    `MAX_FINALS_KEPT`): a verdict re-emitted after a restart is applied once."""


MAX_FINALS_KEPT = 1_000
"""A restart re-emits only the windows made final since the engine's last checkpoint
(seconds of input): a thousand per model is ample and keeps the saved state small."""


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """What one verdict did to its model's incident."""

    transition: Transition
    incident: Incident
    previous_tier: Tier


def already_seen(state: LifecycleState, verdict: WindowVerdict) -> bool:
    last = state.last_window_end.get(verdict.model_id)
    return last is not None and verdict.window_end <= last


def judged_before(state: LifecycleState, model_id: str, window_index: int) -> bool:
    """Whether the final-labels verdict of this window was applied already; marks it."""
    seen = state.finals.setdefault(model_id, [])
    if window_index in seen:
        return True
    seen.append(window_index)
    del seen[:-MAX_FINALS_KEPT]
    return False


def advance(state: LifecycleState, verdict: WindowVerdict, *, fingerprint: str) -> Step | None:
    """Apply one verdict; None when the model stays quiet (no incident, tier none).

    Mutates `state`; call `already_seen` first to drop re-emitted windows.
    """
    state.last_window_end[verdict.model_id] = verdict.window_end
    return advance_incident(
        state,
        verdict.model_id,
        model_id=verdict.model_id,
        tier=verdict.tier,
        started_at=verdict.window_start,
        fingerprint=fingerprint,
    )


def advance_incident(
    state: LifecycleState,
    key: str,
    *,
    model_id: str,
    tier: Tier,
    started_at: float,
    fingerprint: str,
) -> Step | None:
    """Apply one tier to the incident under `key` (see `advance`)."""
    current = state.incidents.get(key)
    if current is None:
        if tier <= Tier.NONE:
            return None
        incident = Incident(
            model_id=model_id,
            fingerprint=fingerprint,
            started_at=started_at,
            tier=tier,
            tiers_seen=[tier],
            windows=1,
        )
        state.incidents[key] = incident
        return Step(transition="opened", incident=incident, previous_tier=Tier.NONE)
    previous = current.tier
    current.windows += 1
    if tier <= Tier.NONE:
        del state.incidents[key]
        return Step(transition="resolved", incident=current, previous_tier=previous)
    current.tier = tier
    if tier not in current.tiers_seen:
        current.tiers_seen = sorted([*current.tiers_seen, tier])
    if tier > previous:
        return Step(transition="escalated", incident=current, previous_tier=previous)
    if tier < previous:
        return Step(transition="deescalated", incident=current, previous_tier=previous)
    return Step(transition="continued", incident=current, previous_tier=previous)
