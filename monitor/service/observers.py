"""What acts on a closed window: the verdict observers the daemon hands each verdict to.

Metrics (Prometheus gauges), logs (one event per window), the verdict log (a
JSONL file of window records) and alerting (the alert pipeline) each see every
verdict, in the order the daemon lists them (`Daemon._builtin_observers`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import structlog

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.service.performance_observer import record_performance
from driftwarden.monitor.telemetry.metrics import Metrics
from driftwarden.monitor.verdicts.charts import shares
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.verdicts.verdict import WindowVerdict

log = structlog.get_logger(__name__)

EXPORTED_STATISTICS = (
    "psi", "ks", "js", "wasserstein", "linf", "chi_square", "total_variation",
    "missing_rate", "type_error_rate", "out_of_range_rate", "new_category_rate",
)  # fmt: skip


class VerdictObserver(Protocol):
    """Something that acts on closed windows: metrics, logs, alerting."""

    def observe(self, verdict: WindowVerdict) -> None: ...


@runtime_checkable
class FinalLabelsObserver(Protocol):
    """A verdict observer that also acts on windows whose labels became final (issue 14)."""

    def observe_performance(self, verdict: PerformanceVerdict) -> None: ...


class MetricsObserver:
    """Latest statistic and tier per model and column, as Prometheus gauges."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def observe(self, verdict: WindowVerdict) -> None:
        m = self._metrics
        m.record_window_closed(verdict.model_id)
        m.set_model_tier(verdict.model_id, int(verdict.tier))
        if verdict.performance is not None:
            record_performance(m.performance, verdict.performance)
        for column in verdict.columns:
            m.set_column_tier(verdict.model_id, column.column, int(column.tier))
            m.set_bin_shares(verdict.model_id, column.column, "window", shares(column.counts))
            stats = column.statistics
            for name in EXPORTED_STATISTICS:
                value = getattr(stats, name)
                if value is not None:
                    m.set_column_statistic(verdict.model_id, column.column, name, float(value))


class LogObserver:
    """One structured log event per closed window."""

    def observe(self, verdict: WindowVerdict) -> None:
        drifting = [f"{c.column}:{c.tier.label}" for c in verdict.drifting_columns]
        log.info(
            "window_closed",
            model=verdict.model_id,
            window_start=verdict.window_start,
            window_end=verdict.window_end,
            events=verdict.events,
            tier=verdict.tier.label,
            previous_tier=verdict.previous_tier.label,
            drifting=drifting,
        )


class VerdictLogObserver:
    """Appends each closed window's report record to a JSONL file (`verdict_log`).

    Each line goes out in one unbuffered write, so a reader never sees half a
    record (a record with its histograms is larger than a text buffer). After a
    crash, windows closed after the last checkpoint are closed again from the
    same state, so a window may appear twice with identical content: readers
    keep the last line per (model_id, window_index).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab", buffering=0)
        if self._file.tell() and _last_byte(path) != b"\n":
            self._file.write(b"\n")  # a line cut by a kill stays alone on its line

    def observe(self, verdict: WindowVerdict) -> None:
        line = memoryview((json.dumps(window_record(verdict), sort_keys=True) + "\n").encode())
        while line:
            line = line[self._file.write(line) or 0 :]

    def close(self) -> None:
        self._file.close()


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1)


class AlertObserver:
    """Closed windows into the alert pipeline (its own lock makes it thread-safe)."""

    def __init__(
        self, pipeline: AlertPipeline, *, notified: Callable[[], None] = lambda: None
    ) -> None:
        self._pipeline = pipeline
        self._notified = notified

    def observe(self, verdict: WindowVerdict) -> None:
        if self._pipeline.observe(verdict):
            self._notified()

    def observe_performance(self, verdict: PerformanceVerdict) -> None:
        """Realised performance and label coverage: incidents of their own, as in replay."""
        if self._pipeline.observe_performance(verdict):
            self._notified()
