"""The one result type every detector returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TestResult:
    """A statistic with its sampling context, in the spirit of `scipy.stats` results.

    `p_value` is None for effect sizes that have no sampling distribution (PSI,
    Jensen-Shannon, Wasserstein, L-infinity): those are gated by a separate
    significance test before they may raise a tier.
    """

    __test__ = False  # not a pytest test class, despite the name

    statistic: float
    p_value: float | None
    n_reference: int
    n_current: int
