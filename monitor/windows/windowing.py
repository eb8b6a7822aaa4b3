"""Which window each event belongs to, which events are late, and counting them in.

Time windows are tumbling, aligned to the epoch: key = floor(t / size). Each
stream (a replay input, or one Kafka partition) has a watermark: the largest
event time it has shown, minus the allowed lateness. An event is *late* when
its window ended at or before the watermark as it stood just before that event;
late events are rejected with reason `late`. The rule is evaluated per event
(a running maximum), so the verdicts never depend on how the input happened
to be cut into batches. A window closes once the watermark of every active
stream has passed its end.

Count windows cut every N events of a model within a stream; they never reject
anything as late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.exact_sum import exact_sum
from driftwarden.monitor.config import CountWindow, TimeWindow
from driftwarden.monitor.ingest.batch import ColumnValues, DecodedBatch, ModelBatch
from driftwarden.monitor.ingest.layout import ColumnSlot, ModelLayout
from driftwarden.monitor.windows.performance import count_predictions
from driftwarden.monitor.windows.window import WindowState


def time_keys(timestamps: npt.NDArray[np.float64], window: TimeWindow) -> npt.NDArray[np.int64]:
    """The tumbling window of each event time: floor(t / size), aligned to the epoch."""
    return np.floor(timestamps / window.size).astype(np.int64)


def assign_count(n: int, window: CountWindow, *, seen: int) -> npt.NDArray[np.int64]:
    """Keys for the next `n` events of a model after `seen` earlier ones."""
    return (seen + np.arange(n, dtype=np.int64)) // window.size


def accumulate(
    layout: ModelLayout,
    batch: ModelBatch,
    keys: npt.NDArray[np.int64],
    windows: dict[int, WindowState],
) -> None:
    """Count the batch's events into their windows (created on demand), in place.

    A numeric column's values are sorted, and its bin counts are the gaps
    between the places of the bin edges among them: on this data about three
    times faster than finding each value's bin (`np.searchsorted` of the values
    into the edges), whose binary searches branch unpredictably on every value,
    where numpy's sort is vectorised. A numeric column's values are NaN exactly
    where they are not counted; NaN sorts last, so the counted values are a
    prefix (their minimum and maximum are its ends) and the NaNs land in the
    overflow slot, whose count is corrected by the number of uncounted values,
    which the missing and type-error counters already give. Categories are
    counted with one `np.bincount` per column. The common batch (one window,
    no missing values) takes no boolean selections at all.
    """
    if not len(batch):
        return
    states = _open_windows(layout, batch, keys, windows)
    # Issue 14: predicted classes and scores, for the estimate before labels.
    count_predictions(
        layout, batch, [(s.performance, mask) for s, mask in states if s.performance is not None]
    )
    for slot, column in zip(layout.columns, batch.columns, strict=True):
        for state, mask in states:
            _count_column(state, slot, column, mask)


WindowCounts = dict[str, dict[int, WindowState]]
"""Per model, a batch's events counted into fresh windows by key."""


@dataclass(frozen=True, slots=True)
class AheadCounter:
    """Counting a decoded batch into fresh time windows, ahead of the engine.

    A decode worker runs it right after decoding (`DecodePool(after=...)`), so
    the counting is done off the engine's process; the engine adds the windows to
    its own when it keeps every event of the batch (adding is exact: integer
    counts and exact integer sums), or counts the batch's columns itself when
    lateness or deduplication drops some. Count windows depend on the events seen
    before, so they are always counted by the engine.
    """

    layouts: Mapping[str, ModelLayout]
    windows: Mapping[str, TimeWindow | CountWindow]

    def __call__(self, decoded: DecodedBatch) -> WindowCounts:
        counted: WindowCounts = {}
        for batch in decoded.models:
            window = self.windows[batch.model_id]
            if isinstance(window, TimeWindow):
                fresh: dict[int, WindowState] = {}
                keys = time_keys(batch.timestamps, window)
                accumulate(self.layouts[batch.model_id], batch, keys, fresh)
                counted[batch.model_id] = fresh
        return counted


_Selection = tuple[WindowState, npt.NDArray[np.bool_] | None]


def _open_windows(
    layout: ModelLayout,
    batch: ModelBatch,
    keys: npt.NDArray[np.int64],
    windows: dict[int, WindowState],
) -> list[_Selection]:
    """Each window the batch touches (created on demand) with its events' mask (None:
    all of them), its event, unknown-key and time-range counters already added."""
    first, last = int(keys.min()), int(keys.max())
    masks: list[tuple[int, npt.NDArray[np.bool_] | None]] = (
        [(first, None)] if first == last else [(int(k), keys == k) for k in np.unique(keys)]
    )
    states: list[_Selection] = []
    for key, mask in masks:
        state = windows.get(key)
        if state is None:
            state = windows[key] = WindowState.empty(layout, key)
        states.append((state, mask))
        ts = batch.timestamps if mask is None else batch.timestamps[mask]
        state.events += len(ts)
        unknown = batch.unknown if mask is None else batch.unknown[mask]
        state.unknown_features += int(unknown.sum())
        state.first_ts = min(state.first_ts, float(ts.min()))
        state.last_ts = max(state.last_ts, float(ts.max()))
    return states


def _count_column(
    state: WindowState, slot: ColumnSlot, column: ColumnValues, mask: npt.NDArray[np.bool_] | None
) -> None:
    """Add one column's values (those in `mask`) to one window's counters and bins."""
    i = slot.index
    missing = column.missing if mask is None else column.missing[mask]
    bad = column.type_error if mask is None else column.type_error[mask]
    n_missing = int(np.count_nonzero(missing))
    n_bad = int(np.count_nonzero(bad))
    state.missing[i] += n_missing
    state.type_errors[i] += n_bad
    selected = column.values if mask is None else column.values[mask]
    uncounted = n_missing + n_bad
    counted = len(selected) - uncounted
    if not counted:
        return
    state.counted[i] += counted
    bins = state.bins[slot.offset : slot.stop]
    if slot.kind != "numeric":
        if uncounted:
            selected = selected[selected >= 0]
        bins += np.bincount(selected, minlength=slot.n_bins)
        return
    assert slot.count_edges is not None
    # Sorted, the values' slot counts are the gaps between the edges'
    # places among them; NaNs (the uncounted values) sort last.
    ordered = np.sort(selected)
    below = np.empty(slot.n_bins + 1, dtype=np.intp)  # values below each cut
    below[0], below[-1] = 0, len(ordered) - uncounted
    below[1:-1] = np.searchsorted(ordered, slot.count_edges, side="left")
    bins += below[1:] - below[:-1]
    values = ordered[:counted]
    state.sums[i] += exact_sum(values, ascending=True)
    state.mins[i] = min(state.mins[i], float(values[0]))
    state.maxs[i] = max(state.maxs[i], float(values[-1]))
