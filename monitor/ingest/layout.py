"""How one model's columns map onto the flat arrays of a window's state.

Built once per baseline. Every window of the model shares the layout, so its
state is a handful of fixed-size numpy arrays whose size depends on columns x
bins only, never on the number of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import Baseline, CategoricalColumn, NumericColumn
from driftwarden.baselines.binning import counting_edges

MISSING_CODE = -1
TYPE_ERROR_CODE = -2


@dataclass(frozen=True, slots=True)
class ColumnSlot:
    """One column's place in the window arrays.

    `offset`/`n_bins` locate its counts in the model's concatenated bin array.
    Numeric: slot 0 underflow, 1..K interior bins, K+1 overflow. Categorical:
    top-k categories, then `other_code` (known but rare), then `new_code`.
    """

    index: int
    name: str
    role: Literal["feature", "output"]
    kind: Literal["numeric", "categorical"]
    offset: int
    n_bins: int
    reference: npt.NDArray[np.int64]
    edges: npt.NDArray[np.float64] | None = None
    count_edges: npt.NDArray[np.float64] | None = None  # `counting_edges(edges)`
    lookup: dict[object, int] = field(default_factory=dict)
    other_code: int = 0
    new_code: int = 0

    @property
    def stop(self) -> int:
        return self.offset + self.n_bins

    @property
    def known_slots(self) -> slice:
        """Slots the baseline can have mass in: effect sizes (PSI, JS, L-inf) use these.

        Out-of-range values (numeric under/overflow) and never-seen categories
        have no reference mass by construction; comparing them with a floor
        would let a 5% new category alone read as PSI 0.3. They are judged by
        their own data-quality checks, which name the cause.
        """
        if self.kind == "numeric":
            return slice(1, self.n_bins - 1)
        if self.new_code != self.other_code:
            return slice(0, self.new_code)
        return slice(0, self.n_bins)


@dataclass(frozen=True, slots=True)
class ModelLayout:
    baseline: Baseline
    columns: tuple[ColumnSlot, ...]
    total_bins: int

    @property
    def model_id(self) -> str:
        return self.baseline.model_id

    @property
    def features(self) -> tuple[ColumnSlot, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def outputs(self) -> tuple[ColumnSlot, ...]:
        return tuple(c for c in self.columns if c.role == "output")

    @classmethod
    def from_baseline(cls, baseline: Baseline) -> ModelLayout:
        slots: list[ColumnSlot] = []
        offset = 0
        for index, col in enumerate(baseline.columns):
            if isinstance(col, NumericColumn):
                slot = ColumnSlot(
                    index=index,
                    name=col.name,
                    role=col.role,
                    kind="numeric",
                    offset=offset,
                    n_bins=col.n_bins,
                    reference=col.counts,
                    edges=col.edges,
                    count_edges=counting_edges(col.edges),
                )
            else:
                slot = _categorical_slot(index, offset, col)
            slots.append(slot)
            offset += slot.n_bins
        return cls(baseline=baseline, columns=tuple(slots), total_bins=offset)


def _categorical_slot(index: int, offset: int, col: CategoricalColumn) -> ColumnSlot:
    k = len(col.categories)
    other, new = k, k + 1
    lookup: dict[object, int] = {None: MISSING_CODE}
    lookup.update({name: i for i, name in enumerate(col.categories)})
    if col.known_other is None:
        # Too many training categories were seen to tell "rare" from "new":
        # every unseen value counts as other and new-category detection is off.
        new = other
    else:
        lookup.update(dict.fromkeys(col.known_other, other))
    reference = np.zeros(k + 2, dtype=np.int64)
    reference[: k + 1] = col.counts
    return ColumnSlot(
        index=index,
        name=col.name,
        role=col.role,
        kind="categorical",
        offset=offset,
        n_bins=k + 2,
        reference=reference,
        lookup=lookup,
        other_code=other,
        new_code=new,
    )
