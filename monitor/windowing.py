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

import numpy as np
import numpy.typing as npt

from baselines.binning import bin_indices
from monitor.config import CountWindow
from monitor.events import ModelBatch
from monitor.layout import ModelLayout
from monitor.window import WindowState


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

    Bins are computed once per column for the whole batch; each window then
    takes one `np.bincount` per column over its own events.
    """
    if not len(batch):
        return
    unique = np.unique(keys)
    masks: list[tuple[int, npt.NDArray[np.bool_] | None]]
    masks = [(int(unique[0]), None)] if len(unique) == 1 else [(int(k), keys == k) for k in unique]
    states = []
    for key, mask in masks:
        state = windows.get(key)
        if state is None:
            state = windows[key] = WindowState.empty(layout, key)
        states.append((state, mask))
        ts = batch.timestamps if mask is None else batch.timestamps[mask]
        state.events += len(ts)
        state.unknown_features += int(
            batch.unknown.sum() if mask is None else batch.unknown[mask].sum()
        )
        state.first_ts = min(state.first_ts, float(ts.min()))
        state.last_ts = max(state.last_ts, float(ts.max()))

    for slot, column in zip(layout.columns, batch.columns, strict=True):
        i = slot.index
        if slot.kind == "numeric":
            assert slot.edges is not None
            counted = ~(column.missing | column.type_error)
            values = column.values
            bins = np.full(len(values), -1, dtype=np.int64)
            bins[counted] = bin_indices(values[counted], slot.edges)
        else:
            bins = column.values
            counted = bins >= 0
            values = None
        for state, mask in states:
            if mask is None:
                sel_bins, sel_counted = bins, counted
                sel_missing, sel_bad = column.missing, column.type_error
            else:
                sel_bins, sel_counted = bins[mask], counted[mask]
                sel_missing, sel_bad = column.missing[mask], column.type_error[mask]
            state.missing[i] += int(np.count_nonzero(sel_missing))
            state.type_errors[i] += int(np.count_nonzero(sel_bad))
            good = sel_bins[sel_counted]
            state.counted[i] += len(good)
            if len(good):
                state.bins[slot.offset : slot.stop] += np.bincount(good, minlength=slot.n_bins)
            if values is not None and len(good):
                v = (values if mask is None else values[mask])[sel_counted]
                state.sums[i] += float(v.sum())
                state.sumsq[i] += float(np.dot(v, v))
                state.mins[i] = min(state.mins[i], float(v.min()))
                state.maxs[i] = max(state.maxs[i], float(v.max()))
