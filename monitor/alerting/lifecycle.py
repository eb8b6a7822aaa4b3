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


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """What one verdict did to its model's incident."""

    transition: Transition
    incident: Incident
    previous_tier: Tier


def already_seen(state: LifecycleState, verdict: WindowVerdict) -> bool:
    last = state.last_window_end.get(verdict.model_id)
    return last is not None and verdict.window_end <= last


def advance(state: LifecycleState, verdict: WindowVerdict, *, fingerprint: str) -> Step | None:
    """Apply one verdict; None when the model stays quiet (no incident, tier none).

    Mutates `state`; call `already_seen` first to drop re-emitted windows.
    """
    state.last_window_end[verdict.model_id] = verdict.window_end
    current = state.incidents.get(verdict.model_id)
    tier = verdict.tier
    if current is None:
        if tier <= Tier.NONE:
            return None
        incident = Incident(
            model_id=verdict.model_id,
            fingerprint=fingerprint,
            started_at=verdict.window_start,
            tier=tier,
            tiers_seen=[tier],
            windows=1,
        )
        state.incidents[verdict.model_id] = incident
        return Step(transition="opened", incident=incident, previous_tier=Tier.NONE)
    previous = current.tier
    current.windows += 1
    if tier <= Tier.NONE:
        del state.incidents[verdict.model_id]
        return Step(transition="resolved", incident=current, previous_tier=previous)
    current.tier = tier
    if tier not in current.tiers_seen:
        current.tiers_seen = sorted([*current.tiers_seen, tier])
    if tier > previous:
        return Step(transition="escalated", incident=current, previous_tier=previous)
    if tier < previous:
        return Step(transition="deescalated", incident=current, previous_tier=previous)
    return Step(transition="continued", incident=current, previous_tier=previous)
