"""The library API: a baseline from a table, a window compared with it, in a notebook.

It lives at the package root, above the three layers (`api -> monitor -> baselines ->
detectors`), because it is a thin front door over all of them and belongs to none:
`driftwarden.build_baseline` and `driftwarden.compare` are re-exported lazily from
`driftwarden/__init__.py`, so `import driftwarden` stays free. Nothing here computes a
statistic of its own: a table becomes a baseline through `baselines.build` (as
`driftwarden baseline build` does), and a window is counted by `windows.windowing.accumulate`
and judged by `verdicts.evaluation.ModelEvaluator`, the daemon's and replay's own path, so a
notebook and the daemon agree to the last digit on the same data.

Tables are a pandas DataFrame or a mapping of column name -> array (anything `numpy.asarray`
takes). pandas is optional: it is imported only to read a DataFrame that was passed in, or
by `Comparison.to_pandas()`. In a table, NaN and None are missing values, as in training data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import Baseline
from driftwarden.baselines.binning import DEFAULT_BINS
from driftwarden.baselines.build import (
    DEFAULT_MAX_KNOWN_CATEGORIES,
    DEFAULT_TOP_K,
    resolve_created_at,
)
from driftwarden.baselines.build import build_baseline as _freeze
from driftwarden.baselines.schema import RESERVED_COLUMNS, ColumnSpec, Schema
from driftwarden.baselines.store import BaselineStore
from driftwarden.monitor.config import ModelPolicy, Sustain
from driftwarden.monitor.errors import SourceError
from driftwarden.monitor.ingest.batch import ColumnValues, ModelBatch
from driftwarden.monitor.ingest.columns import categorical_column, numeric_column
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.windows.window import WindowState
from driftwarden.monitor.windows.windowing import accumulate

if TYPE_CHECKING:
    import pandas as pd

Table = Mapping[str, Any]
"""A pandas DataFrame, or column name -> array-like, all of one length."""

ONE_WINDOW = ModelPolicy(sustain=Sustain(info=1, warning=1, critical=1))
"""`compare`'s policy: the daemon's defaults, except that one window is enough for a tier.

A window judged alone has no history to sustain a condition over; `Monitor` keeps the
daemon's sustain and hysteresis across a sequence of windows.
"""


def build_baseline(
    data: Table,
    *,
    model_id: str = "model",
    outputs: Iterable[str] = (),
    categorical: Iterable[str] = (),
    ignore: Iterable[str] = (),
    version: int = 1,
    created_at: str | None = None,
    labels: Mapping[str, str] | None = None,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    max_known_categories: int = DEFAULT_MAX_KNOWN_CATEGORIES,
    allow_few_rows: bool = False,
) -> Baseline:
    """Freeze a training table into a baseline, exactly as `driftwarden baseline build` does.

    `outputs` names the model's output columns (the rest are features); `categorical`
    counts numeric codes as categories; `ignore` leaves columns out. `model_id`, `timestamp`
    and `request_id` identify events and are never columns. Save the result with
    `save_baseline` to serve it to the daemon or `driftwarden replay`.
    """
    table = {k: v for k, v in _columns(data).items() if k not in RESERVED_COLUMNS}
    schema = Schema(
        columns={name: ColumnSpec(kind="categorical") for name in categorical},
        outputs=tuple(outputs),
        ignore=tuple(ignore),
    )
    return _freeze(
        model_id,
        table,
        schema,
        version=version,
        created_at=created_at or resolve_created_at(),
        labels=labels,
        bins=bins,
        top_k=top_k,
        max_known_categories=max_known_categories,
        allow_few_rows=allow_few_rows,
    )


def save_baseline(baseline: Baseline, directory: Path | str) -> Path:
    """Write `baseline` as `DIRECTORY/<model_id>/v<NNNN>.baseline.json`; returns the file.

    The same store `driftwarden baseline build --output DIRECTORY` writes: versions are
    immutable, so writing a version that exists is an error that names the next one.
    """
    return BaselineStore(directory).write(baseline)


def compare(
    baseline: Baseline,
    window: Table,
    *,
    policy: ModelPolicy = ONE_WINDOW,
    start: float = 0.0,
    end: float = 0.0,
) -> Comparison:
    """One window of live or scored data compared with `baseline`.

    The columns of `window` are matched to the baseline's by name; a baseline column the
    window lacks counts as missing in every row, as in an event without it. `start` and
    `end` (epoch seconds) only date the verdict's prose.
    """
    return Monitor(baseline, policy=policy).compare(window, start=start, end=end)


class Monitor:
    """A sequence of windows of one model, judged in order as the daemon judges them.

    Keeps the tier history, so sustain, hysteresis and trend findings work as in the
    daemon with the same `policy` (default: the daemon's defaults).
    """

    def __init__(self, baseline: Baseline, *, policy: ModelPolicy | None = None) -> None:
        self.layout = ModelLayout.from_baseline(baseline)
        self._evaluator = ModelEvaluator(self.layout, policy or ModelPolicy())
        self._index = 0

    def compare(self, window: Table, *, start: float = 0.0, end: float = 0.0) -> Comparison:
        """The next window's verdict, counted and judged by the daemon's code."""
        batch = _batch(self.layout, _columns(window))
        windows: dict[int, WindowState] = {}
        accumulate(self.layout, batch, np.zeros(len(batch), dtype=np.int64), windows)
        state = windows.get(0) or WindowState.empty(self.layout, 0)
        verdict = self._evaluator.evaluate(state, window_index=self._index, start=start, end=end)
        self._index += 1
        return Comparison(verdict)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A window's verdict, and its per-column statistics as records or a DataFrame."""

    verdict: WindowVerdict

    @property
    def tier(self) -> str:
        """The model's tier: none, info, warning or critical."""
        return self.verdict.tier.label

    @property
    def drifting(self) -> list[str]:
        """The columns above tier none."""
        return [c.column for c in self.verdict.drifting_columns]

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per column: name, role, kind, tier, condition, every statistic."""
        return [
            {
                "column": c.column,
                "role": c.role,
                "kind": c.kind,
                "tier": c.tier.label,
                "condition": c.condition.label,
                **{k: _plain(v) for k, v in asdict(c.statistics).items()},
                "findings": [f.statistic for f in c.findings],
            }
            for c in self.verdict.columns
        ]

    def to_pandas(self) -> pd.DataFrame:
        """`records()` as a DataFrame indexed by column name (needs pandas)."""
        try:
            import pandas as pd  # noqa: PLC0415 - optional: only for callers who ask for it
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "Comparison.to_pandas() needs pandas, which is not installed; install it "
                "(pip install pandas) or use Comparison.records()",
                name="pandas",
            ) from None
        return pd.DataFrame.from_records(self.records()).set_index("column")


def _plain(value: object) -> object:
    """A numpy scalar as the Python number it holds, so records are plain data."""
    return value.item() if isinstance(value, np.generic) else value


def _columns(data: Table) -> dict[str, npt.NDArray[Any]]:
    """Column name -> numpy array, from a DataFrame or a mapping of array-likes."""
    if type(data).__module__.partition(".")[0] == "pandas":
        return {str(name): _from_series(data[name]) for name in data}
    return {str(name): np.asarray(values) for name, values in data.items()}


def _from_series(series: Any) -> npt.NDArray[Any]:
    """A pandas column as numpy: extension dtypes (nullable, string) as objects, NA as None."""
    if isinstance(series.dtype, np.dtype):
        return np.asarray(series.to_numpy())
    return np.asarray(series.to_numpy(dtype=object, na_value=None))


def _batch(layout: ModelLayout, table: Mapping[str, npt.NDArray[Any]]) -> ModelBatch:
    """The window as the decoder hands events to the windows: one column of values per slot."""
    lengths = {len(values) for values in table.values()}
    if len(lengths) > 1:
        raise SourceError(
            f"the window's columns have different lengths ({sorted(lengths)}); every column "
            f"needs one value (or missing) per row"
        )
    n = lengths.pop() if lengths else 0
    columns: list[ColumnValues] = []
    for slot in layout.columns:
        values: list[object] = _values(table[slot.name]) if slot.name in table else [None] * n
        if slot.kind == "numeric":
            columns.append(numeric_column(values))
        else:
            columns.append(categorical_column(values, slot))
    known = {slot.name for slot in layout.columns} | RESERVED_COLUMNS
    unknown = sum(1 for name in table if name not in known)
    return ModelBatch(
        model_id=layout.model_id,
        index=np.arange(n, dtype=np.int64),
        timestamps=np.zeros(n, dtype=np.float64),
        request_ids=[None] * n,
        columns=columns,
        unknown=np.full(n, unknown, dtype=np.int64),
    )


def _values(array: npt.NDArray[Any]) -> list[object]:
    """Python values as a decoded event holds them, NaN as None (missing, not an error)."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in array.tolist()]
