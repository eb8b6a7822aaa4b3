"""Multiple-testing correction across the columns (and tests) of one window.

A model with 200 columns tested at alpha = 0.05 would page someone for ten
columns per window by chance alone; correcting keeps the alert rate honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from driftwarden.detectors.counts import FloatArray
from driftwarden.detectors.errors import DetectorInputError

Method = Literal["bh", "bonferroni", "none"]


@dataclass(frozen=True, slots=True)
class MultipleTestResult:
    """Per-input decisions and adjusted p-values, in the order of the inputs.

    Inputs that were None (no test ran, e.g. too few samples) come back as not
    rejected with adjusted None.
    """

    rejected: tuple[bool, ...]
    adjusted: tuple[float | None, ...]


def adjust(p_values: Sequence[float | None], *, method: Method, alpha: float) -> MultipleTestResult:
    """Adjust p-values for multiplicity and decide which hypotheses to reject.

    - "bh": Benjamini-Hochberg step-up, controlling the false discovery rate at
      `alpha` (for independent or positively dependent tests, which drift tests on
      one window roughly are). Adjusted p_(i) = min_{j >= i} m * p_(j) / j, capped
      at 1; identical to `scipy.stats.false_discovery_control(method="bh")`.
    - "bonferroni": min(1, m * p), controlling the family-wise error rate under
      any dependence; stricter.
    - "none": p unchanged.

    m counts only the tests that ran (non-None entries). A hypothesis is rejected
    when its adjusted p-value is <= alpha, which for BH is exactly the step-up rule.
    """
    if method not in ("bh", "bonferroni", "none"):
        raise DetectorInputError(
            f"multiple-testing method {method!r} is unknown; use 'bh', 'bonferroni' or 'none'"
        )
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise DetectorInputError(f"alpha {alpha!r} is not in (0, 1); use e.g. 0.05")
    present = [i for i, p in enumerate(p_values) if p is not None]
    raw = np.array([p_values[i] for i in present], dtype=np.float64)
    if raw.size and not np.all((raw >= 0.0) & (raw <= 1.0)):
        bad = present[int(np.flatnonzero(~((raw >= 0.0) & (raw <= 1.0)))[0])]
        raise DetectorInputError(
            f"p-value {p_values[bad]!r} at position {bad} is not in [0, 1]; "
            "pass None for tests that did not run"
        )
    adjusted_present = _adjusted(raw, method)
    adjusted: list[float | None] = [None] * len(p_values)
    rejected = [False] * len(p_values)
    for i, value in zip(present, adjusted_present.tolist(), strict=True):
        adjusted[i] = value
        rejected[i] = value <= alpha
    return MultipleTestResult(tuple(rejected), tuple(adjusted))


def _adjusted(raw: FloatArray, method: Method) -> FloatArray:
    m = raw.size
    if m == 0 or method == "none":
        return raw
    if method == "bonferroni":
        return np.minimum(1.0, raw * m)
    order = np.argsort(raw, kind="stable")
    # m / rank first: exactly 1.0 at the top rank, so adjusted p is never below raw p.
    scaled = raw[order] * (m / np.arange(1, m + 1))
    # Step-up: each sorted p takes the smallest scaled value at or above its rank.
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty_like(raw)
    result[order] = np.minimum(1.0, monotone)
    return result
