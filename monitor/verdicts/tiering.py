"""Sustain and hysteresis: turning per-window conditions into a stable tier.

A window's evidence gives a *condition* (the highest tier its findings
support). The *tier* rises to t only after the condition has been at least t
for `sustain.t` consecutive windows, and falls only after `clear_after`
consecutive windows below the current tier. A window that could not be
evaluated (too few events) leaves everything as it was: it is neither
evidence of drift nor evidence of calm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from driftwarden.monitor.config import Sustain
from driftwarden.monitor.verdicts.tier import Tier

_RAISABLE = (Tier.INFO, Tier.WARNING, Tier.CRITICAL)


@dataclass(slots=True)
class TierState:
    tier: Tier = Tier.NONE
    streaks: list[int] = field(default_factory=lambda: [0, 0, 0])
    below: int = 0

    def to_list(self) -> list[int]:
        return [int(self.tier), *self.streaks, self.below]

    @classmethod
    def from_list(cls, raw: list[int]) -> TierState:
        return cls(tier=Tier(raw[0]), streaks=list(raw[1:4]), below=raw[4])


def step(state: TierState, condition: Tier, sustain: Sustain, clear_after: int) -> Tier:
    """Advance one evaluated window; returns (and stores) the new tier."""
    needed = (sustain.info, sustain.warning, sustain.critical)
    raw = Tier.NONE
    for i, tier in enumerate(_RAISABLE):
        state.streaks[i] = state.streaks[i] + 1 if condition >= tier else 0
        if state.streaks[i] >= needed[i]:
            raw = tier
    if raw >= state.tier:
        state.tier = raw
        state.below = 0
    elif condition >= state.tier:
        state.below = 0  # this window's evidence still supports the tier: not calm
    else:
        state.below += 1
        if state.below >= clear_after:
            state.tier = raw
            state.below = 0
    return state.tier
