"""A decoded batch: per model, the accepted events column by column, and the rejections.

This is what the decode stage hands on, whether it decoded in this process or
in a worker; the windows stage counts it (`monitor.windows.windowing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.monitor.ingest.rejection import Rejection


@dataclass(slots=True)
class ColumnValues:
    """One column over a batch: numeric values (NaN where not counted) or category codes."""

    values: npt.NDArray[Any]
    missing: npt.NDArray[np.bool_]
    type_error: npt.NDArray[np.bool_]


@dataclass(slots=True)
class ModelBatch:
    """The accepted events of one model in one decoded batch, column by column."""

    model_id: str
    index: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.float64]
    request_ids: list[object]
    columns: list[ColumnValues]
    unknown: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.index)

    def select(self, keep: npt.NDArray[np.bool_]) -> ModelBatch:
        return ModelBatch(
            model_id=self.model_id,
            index=self.index[keep],
            timestamps=self.timestamps[keep],
            request_ids=[r for r, k in zip(self.request_ids, keep.tolist(), strict=True) if k],
            columns=[
                ColumnValues(c.values[keep], c.missing[keep], c.type_error[keep])
                for c in self.columns
            ],
            unknown=self.unknown[keep],
        )


@dataclass(slots=True)
class DecodedBatch:
    models: list[ModelBatch]
    rejected: list[Rejection]


def concatenate(parts: list[ModelBatch]) -> ModelBatch:
    """One model's batches, in order, as one (their `index` already says where each was)."""
    if len(parts) == 1:
        return parts[0]
    return ModelBatch(
        model_id=parts[0].model_id,
        index=np.concatenate([p.index for p in parts]),
        timestamps=np.concatenate([p.timestamps for p in parts]),
        request_ids=[r for p in parts for r in p.request_ids],
        columns=[
            ColumnValues(
                np.concatenate([p.columns[c].values for p in parts]),
                np.concatenate([p.columns[c].missing for p in parts]),
                np.concatenate([p.columns[c].type_error for p in parts]),
            )
            for c in range(len(parts[0].columns))
        ],
        unknown=np.concatenate([p.unknown for p in parts]),
    )
