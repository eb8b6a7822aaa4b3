"""Closing a member's windows into partials instead of verdicts (`group.mode: partitioned`).

The same rule as `Engine.close_due` (a time window closes once the watermark of
every active stream this member holds has passed its end; the closed-window
floor rises with it), but the merged state of this member's streams is not
evaluated: it becomes a `Partial` for the merger, with the partitions whose
events it holds and how far every partition of this member is final. Nothing
is evaluated here, so nothing is alerted here.
"""

from __future__ import annotations

import numpy as np

from driftwarden.monitor.config import TimeWindow
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.windows.partial import Partial, Source
from driftwarden.monitor.windows.window import WindowState


def source_of(stream: str) -> Source:
    """`topic:partition` (the daemon's stream name) back to (topic, partition)."""
    topic, _, partition = stream.rpartition(":")
    return topic, int(partition)


def require_time_windows(engine: Engine) -> None:
    """Count windows cut every N events of one partition: they have no meaning across
    partitions, so partitioned mode refuses them, naming the model and the fix."""
    for model, policy in sorted(engine.policies.items()):
        if not isinstance(policy.window, TimeWindow):
            raise ConfigError(
                f"model {model!r} uses a count window, which group.mode partitioned cannot "
                "merge across members (a count is per partition); give it a time window "
                f"(models.{model}.window.kind: time) or use group.mode: active-standby"
            )


def close_partials(engine: Engine, *, member: str, now: float) -> list[Partial]:
    """Close this member's due windows; one `Partial` per closed window and model, and
    one progress-only `Partial` for a model whose floor rose with no window to close."""
    out: list[Partial] = []
    names = sorted(engine.streams)
    for model in sorted(engine.layouts):
        window = engine.policies[model].window
        assert isinstance(window, TimeWindow)  # require_time_windows at start-up
        watermark = engine.watermark(model)
        if watermark is None:
            continue
        limit = int(np.floor(watermark / window.size))  # keys < limit have ended
        previous = engine.closed_before.get(model)
        keys = sorted(
            {k for s in engine.streams.values() for k in s.windows.get(model, {}) if k < limit}
        )
        watermarks = {source_of(n): engine.streams[n].max_ts for n in names}
        for i, key in enumerate(keys):
            # A record claims only what is published by the time it is read: windows up to
            # its own, and the step's whole limit only on its last record. The merger may
            # stop reading anywhere in this burst, and must not find a later window covered
            # before its shares arrived.
            below = limit if i == len(keys) - 1 else key + 1
            progress = {source_of(n): below for n in names}
            merged: WindowState | None = None
            sources: set[Source] = set()
            for name in names:
                part = engine.streams[name].windows.get(model, {}).pop(key, None)
                if part is not None:
                    merged = part if merged is None else merged.merge(part)
                    sources.add(source_of(name))
            out.append(
                Partial(
                    model_id=model,
                    key=key,
                    sources=frozenset(sources),
                    progress=progress,
                    state=merged,
                    watermarks=watermarks,
                    member=member,
                    created_at=now,
                )
            )
        engine.closed_before[model] = max(previous if previous is not None else limit, limit)
        if not keys and (previous is None or limit > previous):
            progress = {source_of(n): limit for n in names}
            out.append(
                Partial(
                    model_id=model,
                    key=limit - 1,
                    sources=frozenset(),
                    progress=progress,
                    state=None,
                    watermarks=watermarks,
                    member=member,
                    created_at=now,
                )
            )
    return out
