"""Sustain and hysteresis: one noisy window never pages, one calm window never clears."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.config import Sustain
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.tiering import TierState, step

N, INFO, W, C = Tier.NONE, Tier.INFO, Tier.WARNING, Tier.CRITICAL
DEFAULT = Sustain()


def run(conditions: list[Tier], sustain: Sustain = DEFAULT, clear_after: int = 3) -> list[Tier]:
    state = TierState()
    return [step(state, c, sustain, clear_after) for c in conditions]


def test_warning_needs_two_consecutive_windows() -> None:
    assert run([W, N, W, W]) == [INFO, INFO, INFO, W]


def test_a_single_severe_window_is_info_then_critical_when_it_persists() -> None:
    assert run([C, C]) == [INFO, C]


def test_tier_clears_only_after_clear_after_calm_windows() -> None:
    assert run([W, W, N, N, N, N]) == [INFO, W, W, W, N, N]


def test_a_relapse_during_recovery_keeps_the_tier_and_restarts_the_count() -> None:
    assert run([W, W, N, N, W, N, N, N]) == [INFO, W, W, W, W, W, W, N]


def test_deescalation_steps_down_to_what_the_evidence_still_supports() -> None:
    tiers = run([C, C, W, W, W, W])
    assert tiers == [INFO, C, C, C, W, W]


@given(st.lists(st.sampled_from([N, INFO, W, C]), max_size=60))
@settings(max_examples=200, deadline=None)
def test_tier_never_exceeds_what_was_sustained(conditions: list[Tier]) -> None:
    """A tier >= warning requires two consecutive windows at that level somewhere before."""
    for i, tier in enumerate(run(conditions)):
        if tier >= W:
            history = conditions[: i + 1]
            assert any(
                history[j] >= tier and history[j + 1] >= tier for j in range(len(history) - 1)
            )


def test_state_round_trips() -> None:
    state = TierState()
    for c in (W, W, N):
        step(state, c, DEFAULT, 3)
    again = TierState.from_list(state.to_list())
    assert again == state
