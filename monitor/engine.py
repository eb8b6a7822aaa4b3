"""The one path from raw payloads to verdicts, shared by replay and the daemon.

    payloads -> EventDecoder -> windows (per stream) -> merge at close -> ModelEvaluator

A *stream* is an ordered input: a replay's files, or one Kafka partition. Each
stream keeps its own open windows and its own event-time maximum; a time
window closes when every active stream's watermark has passed its end, and its
per-stream states are merged (exact integer counts) before evaluation. Every
payload read is either counted in a window or rejected with a reason and
handed to the dead-letter sink: `read == accepted + sum(rejected)`, always.

Only accepted events move a watermark. An event dated more than
`events.max_future_skew` after the wall clock is rejected as `future` before
lateness is decided, so one bad producer clock (a year 2100, say) cannot make
every later event of its stream `late`; a checkpoint written by an older
version with such a watermark is repaired on restore (see `_repair`).

The engine's whole state (open windows, watermarks, tier history, counters)
round-trips through `snapshot()`/`restore()`, which is what checkpoints carry.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.config import CountWindow, EventFields, ModelPolicy, Settings, TimeWindow
from driftwarden.monitor.errors import CheckpointError, ConfigError
from driftwarden.monitor.ingest.batch import DecodedBatch, ModelBatch
from driftwarden.monitor.ingest.dedup import RecentIds
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.ingest.rejection import Rejection, RejectReason
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.verdicts.performance import LabelRecord, PerformanceVerdict, WindowPlace
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.windows.window import WindowState
from driftwarden.monitor.windows.windowing import WindowCounts, accumulate, assign_count, time_keys

if TYPE_CHECKING:  # the join (and sqlite3) loads only when outcomes are configured
    from driftwarden.monitor.outcomes.join import OutcomeJoin
    from driftwarden.monitor.outcomes.labelled import LabelledWindow
    from driftwarden.monitor.outcomes.pending import PendingStore

log = structlog.get_logger(__name__)

_SNAPSHOT_FORMAT = 1

SourceLocator = Callable[[int], Mapping[str, str | int]]


class RejectSink(Protocol):
    """Where rejected payloads go (the dead-letter file or topic)."""

    def write(self, payload: bytes, reason: str, source: Mapping[str, str | int]) -> None: ...


@dataclass(slots=True)
class IngestCounts:
    """The reconciliation invariant lives here: read == accepted + rejected."""

    read: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    accepted_by_model: Counter[str] = field(default_factory=Counter)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected_total

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "rejected": dict(sorted(self.rejected.items())),
            "accepted_by_model": dict(sorted(self.accepted_by_model.items())),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> IngestCounts:
        return cls(
            read=int(raw["read"]),
            accepted=int(raw["accepted"]),
            rejected=Counter({str(k): int(v) for k, v in raw["rejected"].items()}),
            accepted_by_model=Counter(
                {str(k): int(v) for k, v in raw.get("accepted_by_model", {}).items()}
            ),
        )


@dataclass(slots=True)
class StreamState:
    """One ordered input's share of the open windows, and how far its event time got."""

    max_ts: float = float("-inf")
    idle: bool = False
    seen: dict[str, int] = field(default_factory=dict)
    windows: dict[str, dict[int, WindowState]] = field(default_factory=dict)
    recent: RecentIds | None = None

    def to_raw(self) -> dict[str, Any]:
        return {
            "max_ts": self.max_ts,
            "idle": self.idle,
            "recent": self.recent.to_raw() if self.recent is not None else None,
            "seen": dict(sorted(self.seen.items())),
            "windows": {
                model: [windows[k].to_bytes() for k in sorted(windows)]
                for model, windows in sorted(self.windows.items())
            },
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], events: EventFields) -> StreamState:
        windows: dict[str, dict[int, WindowState]] = {}
        for model, blobs in raw["windows"].items():
            states = [WindowState.from_bytes(b) for b in blobs]
            windows[str(model)] = {s.key: s for s in states}
        stream = cls(
            max_ts=float(raw["max_ts"]),
            idle=bool(raw["idle"]),
            seen={str(k): int(v) for k, v in raw["seen"].items()},
            windows=windows,
        )
        if events.dedup_window > 0:
            recent = raw.get("recent")
            stream.recent = (
                RecentIds.from_raw(
                    recent, window=events.dedup_window, max_keys=events.dedup_max_keys
                )
                if recent is not None
                else RecentIds(window=events.dedup_window, max_keys=events.dedup_max_keys)
            )
        return stream


class Engine:
    """Decode, window and evaluate prediction events for a set of baselines."""

    def __init__(
        self,
        baselines: Iterable[Baseline],
        settings: Settings,
        *,
        reject_sink: RejectSink | None = None,
        wall_clock: Callable[[], float] | None = time.time,
        outcome_store: PendingStore | None = None,
    ) -> None:
        """`wall_clock` (unix seconds) is what `future` is measured against; None
        turns that check off (an engine over data with no present, e.g. tests).
        `outcome_store` holds the predictions waiting for outcomes when
        `settings.outcomes` is set (the caller owns and closes it)."""
        self.settings = settings
        self.wall_clock = wall_clock
        self.layouts: dict[str, ModelLayout] = {}
        for baseline in baselines:
            if baseline.model_id in self.layouts:
                raise ConfigError(
                    f"two baselines for model {baseline.model_id!r} "
                    f"({self.layouts[baseline.model_id].baseline.ref} and {baseline.ref}); "
                    "pass one version per model"
                )
            self.layouts[baseline.model_id] = ModelLayout.from_baseline(baseline)
        self.policies: dict[str, ModelPolicy] = {m: settings.policy_for(m) for m in self.layouts}
        self.evaluators = {
            m: ModelEvaluator(layout, self.policies[m], settings.outcomes)
            for m, layout in self.layouts.items()
        }
        self.decoder = EventDecoder(self.layouts, settings.events)
        self.reject_sink = reject_sink
        self.counts = IngestCounts()
        self.streams: dict[str, StreamState] = {}
        self.closed_before: dict[str, int] = {}
        self.outcomes: OutcomeJoin | None = None
        if settings.outcomes is not None:
            if outcome_store is None:
                raise ConfigError(
                    "outcomes are configured but no outcome store was opened; "
                    "this is a bug in the caller"
                )
            from driftwarden.monitor.outcomes.join import OutcomeJoin  # noqa: PLC0415

            self.outcomes = OutcomeJoin(
                settings.outcomes,
                settings.events,
                {m: [s.name for s in layout.outputs] for m, layout in self.layouts.items()},
                outcome_store,
                reject_sink=reject_sink,
                references={
                    m: layout.baseline.performance
                    for m, layout in self.layouts.items()
                    if layout.baseline.performance is not None
                },
                kafka_outcome_topics=settings.kafka.outcome_topics,
            )

    @property
    def reject_sink(self) -> RejectSink | None:
        return self._reject_sink

    @reject_sink.setter
    def reject_sink(self, sink: RejectSink | None) -> None:
        """Rejected predictions and outcomes go to the same sink, set late or early."""
        self._reject_sink = sink
        if getattr(self, "outcomes", None) is not None:
            assert self.outcomes is not None
            self.outcomes.reject_sink = sink

    def _stream(self, name: str) -> StreamState:
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = self._new_stream()
        return stream

    def _new_stream(self) -> StreamState:
        events = self.settings.events
        stream = StreamState()
        if events.dedup_window > 0:
            stream.recent = RecentIds(window=events.dedup_window, max_keys=events.dedup_max_keys)
        return stream

    # -- ingest --------------------------------------------------------------------------

    def process(
        self,
        payloads: Sequence[bytes],
        *,
        stream: str = "replay",
        locate: SourceLocator | None = None,
        source_timestamps: Sequence[float] | None = None,
        close: bool = True,
    ) -> list[WindowVerdict]:
        """Decode a batch from one stream here and `count` it.

        Replay and the daemon decode through `monitor.pipeline.Pipeline` instead,
        which may decode on other cores and then calls `count`.
        """
        decoded = self.decoder.decode(payloads, source_timestamps)
        return self.count(payloads, decoded, stream=stream, locate=locate, close=close)

    def count(
        self,
        payloads: Sequence[bytes],
        decoded: DecodedBatch,
        *,
        counted: WindowCounts | None = None,
        stream: str = "replay",
        locate: SourceLocator | None = None,
        close: bool = True,
    ) -> list[WindowVerdict]:
        """Count a decoded batch from one stream and return the verdicts of windows it closed.

        `decoded` is `payloads` decoded with this engine's layouts and event fields
        (by `self.decoder` or a decode worker). `locate(i)` describes payload i for
        the dead-letter sink (file and line, or topic, partition and offset); it is
        only called for rejected payloads. `close=False` defers closing to an
        explicit `close_due()`, for a caller that feeds several streams' batches
        that arrived together. `counted` is the batch already counted into fresh
        windows by a decode worker (`AheadCounter`), used for each model whose
        events are all kept.
        """
        state = self._stream(stream)
        self.counts.read += len(payloads)
        rejected = decoded.rejected
        on_time = self._on_time(decoded, state, stream)
        for model_batch in decoded.models:
            batch = model_batch
            keep, future = on_time.get(batch.model_id, (None, None))
            if keep is not None and future is not None:
                batch = self._drop_untimely(batch, keep, future, rejected)
            if len(batch) and state.recent is not None:
                batch = self._drop_repeats(batch, state.recent, rejected)
            if len(batch):
                whole = len(batch) == len(model_batch)
                if self.outcomes is not None:
                    self._await_outcomes(state, batch, payloads, locate)
                self._count(
                    state, batch, counted.get(batch.model_id) if whole and counted else None
                )
        self._reject(payloads, rejected, locate)
        return self.close_due() if close else []

    def _drop_untimely(
        self,
        batch: ModelBatch,
        keep: npt.NDArray[np.bool_],
        future: npt.NDArray[np.bool_],
        rejected: list[Rejection],
    ) -> ModelBatch:
        """The batch without its `late` and `future` events, which join `rejected`."""
        dropped = np.flatnonzero(~keep)
        if not len(dropped):
            return batch
        late_detail = self._late_detail(batch.model_id)
        future_detail = self._future_detail()
        rejected.extend(
            Rejection(int(i), RejectReason.FUTURE, future_detail)
            if ahead
            else Rejection(int(i), RejectReason.LATE, late_detail)
            for i, ahead in zip(
                batch.index[dropped].tolist(), future[dropped].tolist(), strict=True
            )
        )
        return batch.select(keep)

    @staticmethod
    def _drop_repeats(
        batch: ModelBatch, recent: RecentIds, rejected: list[Rejection]
    ) -> ModelBatch:
        """The batch without request ids already counted (`duplicate`), which join `rejected`."""
        fresh = recent.admit(batch.model_id, batch.request_ids, batch.timestamps)
        repeats = np.flatnonzero(~fresh)
        if not len(repeats):
            return batch
        rejected.extend(
            Rejection(
                int(i),
                RejectReason.DUPLICATE,
                "request_id already counted within events.dedup_window",
            )
            for i in batch.index[repeats].tolist()
        )
        return batch.select(fresh)

    def _await_outcomes(
        self,
        state: StreamState,
        batch: ModelBatch,
        payloads: Sequence[bytes],
        locate: SourceLocator | None,
    ) -> None:
        """Hand the batch's accepted predictions to the outcome join, with their windows."""
        assert self.outcomes is not None
        window = self.policies[batch.model_id].window
        if isinstance(window, TimeWindow):
            keys = time_keys(batch.timestamps, window)
            ends = (keys + 1).astype(np.float64) * window.size
        else:
            keys = assign_count(len(batch), window, seen=state.seen.get(batch.model_id, 0))
            ends = batch.timestamps
        index = batch.index.tolist()
        self.outcomes.add_predictions(
            batch.model_id,
            [payloads[i] for i in index],
            timestamps=batch.timestamps,
            windows=keys,
            window_ends=ends,
            locate=(lambda j: locate(index[j])) if locate is not None else None,
        )

    def process_outcomes(
        self,
        payloads: Sequence[bytes],
        *,
        stream: str = "outcomes",
        locate: SourceLocator | None = None,
        source_timestamps: Sequence[float] | None = None,
    ) -> None:
        """Join a batch of outcome events from one outcome stream (see monitor.outcomes)."""
        if self.outcomes is None:
            raise ConfigError(
                "outcome events were given but the configuration has no outcomes section; "
                "add `outcomes: {horizon: 7d}` (docs/config.md)"
            )
        self.outcomes.process(
            payloads, stream=stream, locate=locate, source_timestamps=source_timestamps
        )
        self._advance_outcomes()

    def reject_unread_outcome(
        self, payload: bytes, reason: RejectReason, detail: str, source: Mapping[str, str | int]
    ) -> None:
        """Count an outcome the source could not hand over whole (an over-long line)."""
        if self.outcomes is not None:
            self.outcomes.reject_unread(payload, reason, detail, source)

    def take_final_labels(self) -> list[tuple[LabelledWindow, PerformanceVerdict | None]]:
        """Windows whose labels became final since the last call, each judged once.

        Issue 14: a window with a performance state gets its realised performance
        verdict here, stepped on its model's realised tier track (see
        `monitor.verdicts.performance`); the others come with None.
        """
        if self.outcomes is None:
            return []
        out: list[tuple[LabelledWindow, PerformanceVerdict | None]] = []
        for window in self.outcomes.take_final():
            judge = self.evaluators[window.model_id].performance
            verdict = None
            if judge is not None and window.performance is not None:
                verdict = judge.at_final(
                    window.window,
                    window.performance.state,
                    LabelRecord.of(window.summary()),
                    window.performance.unreadable,
                    place=self._place(window),
                )
            out.append((window, verdict))
        return out

    def _place(self, window: LabelledWindow) -> WindowPlace:
        """Where a labelled prediction window is, for its performance alert."""
        size = self.policies[window.model_id].window
        version = self.layouts[window.model_id].baseline.version
        if isinstance(size, TimeWindow):
            start = window.window * size.size
            return WindowPlace(start, start + size.size, version)
        return WindowPlace(window.end, window.end, version)

    def _advance_outcomes(self) -> None:
        if self.outcomes is None:
            return
        active = [s.max_ts for s in self.streams.values() if not s.idle]
        now = min(active) if active and min(active) > float("-inf") else None
        self.outcomes.advance(self._prediction_floor, now, self._prediction_closed)

    def _prediction_floor(self, model: str) -> float | None:
        """Event time before which no prediction of `model` can be accepted any more."""
        window = self.policies[model].window
        if isinstance(window, TimeWindow):
            floor = self.closed_before.get(model)
            return None if floor is None else floor * window.size
        active = [s.max_ts for s in self.streams.values() if not s.idle]
        return min(active) if active and min(active) > float("-inf") else None

    def _prediction_closed(self, model: str, key: int) -> bool:
        window = self.policies[model].window
        if isinstance(window, TimeWindow):
            return key < self.closed_before.get(model, np.iinfo(np.int64).min)
        return all(key not in s.windows.get(model, {}) for s in self.streams.values())

    def _future_limit(self) -> float | None:
        """Event times after this are `future`; None when the engine has no wall clock."""
        if self.wall_clock is None:
            return None
        return self.wall_clock() + self.settings.events.max_future_skew

    def _on_time(
        self, decoded: DecodedBatch, state: StreamState, stream: str
    ) -> dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]]:
        """Per model, which events to keep and which are `future`; moves the stream's
        event-time maximum over the events it keeps from `future` (late ones cannot
        raise it).

        The running maximum is taken over all models' events in arrival order, as the
        watermark is a property of the stream, not of one model.
        """
        if not decoded.models:
            return {}
        index = np.concatenate([b.index for b in decoded.models])
        times = np.concatenate([b.timestamps for b in decoded.models])
        limit = self._future_limit()
        future = times > limit if limit is not None else np.zeros(len(times), dtype=np.bool_)
        order = np.argsort(index, kind="stable")
        counted = times[order]
        if limit is not None and future.any():
            counted = np.where(future[order], -np.inf, counted)
            log.warning(
                "future_events_rejected",
                stream=stream,
                events=int(np.count_nonzero(future)),
                latest=float(times.max()),
                limit=limit,
            )
        running = np.maximum.accumulate(np.concatenate(([state.max_ts], counted)))
        before = np.empty_like(times)
        before[order] = running[:-1]
        state.max_ts = float(running[-1])
        result: dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]] = {}
        offset = 0
        for batch in decoded.models:
            n = len(batch)
            ahead = future[offset : offset + n]
            keep = ~ahead
            window = self.policies[batch.model_id].window
            if isinstance(window, TimeWindow):
                keys = time_keys(batch.timestamps, window)
                ends = (keys + 1).astype(np.float64) * window.size
                watermark = before[offset : offset + n] - window.allowed_lateness
                floor = self.closed_before.get(batch.model_id, np.iinfo(np.int64).min)
                keep &= ~((ends <= watermark) | (keys < floor))
            result[batch.model_id] = (keep, ahead)
            offset += n
        return result

    def _future_detail(self) -> str:
        skew = self.settings.events.max_future_skew
        return (
            f"event time is more than events.max_future_skew ({skew:g}s) after the wall "
            "clock; check the producer's clock"
        )

    def _late_detail(self, model_id: str) -> str:
        window = self.policies[model_id].window
        assert isinstance(window, TimeWindow)
        return (
            f"event time is behind the watermark by more than allowed_lateness "
            f"({window.allowed_lateness:g}s); its window had closed"
        )

    def _count(
        self, state: StreamState, batch: ModelBatch, ahead: dict[int, WindowState] | None
    ) -> None:
        """Count the batch's events into the stream's windows; `ahead`: already counted."""
        model = batch.model_id
        layout = self.layouts[model]
        window = self.policies[model].window
        windows = state.windows.setdefault(model, {})
        if ahead is not None:
            for key, fresh in ahead.items():
                current = windows.get(key)
                windows[key] = fresh if current is None else current.merge(fresh)
        else:
            keys = (
                time_keys(batch.timestamps, window)
                if isinstance(window, TimeWindow)
                else assign_count(len(batch), window, seen=state.seen.get(model, 0))
            )
            accumulate(layout, batch, keys, windows)
        state.seen[model] = state.seen.get(model, 0) + len(batch)
        self.counts.accepted += len(batch)
        self.counts.accepted_by_model[model] += len(batch)

    def _reject(
        self,
        payloads: Sequence[bytes],
        rejected: list[Rejection],
        locate: SourceLocator | None,
    ) -> None:
        rejected.sort(key=lambda r: r.index)
        for r in rejected:
            self.counts.rejected[r.reason.value] += 1
            if self.reject_sink is not None:
                source: dict[str, str | int] = dict(locate(r.index)) if locate else {}
                source["detail"] = r.detail
                self.reject_sink.write(payloads[r.index], r.reason.value, source)

    def reject_unread(
        self, payload: bytes, reason: RejectReason, detail: str, source: Mapping[str, str | int]
    ) -> None:
        """Count a payload the source could not even hand over whole (e.g. an over-long line)."""
        self.counts.read += 1
        self.counts.rejected[reason.value] += 1
        if self.reject_sink is not None:
            self.reject_sink.write(payload, reason.value, {**source, "detail": detail})

    # -- closing -------------------------------------------------------------------------

    def add_stream(self, stream: str) -> None:
        """Register a stream before its first event, so that it holds the watermark.

        The daemon registers every assigned partition: a partition whose first
        fetch has not arrived yet must not let the others close windows it still
        has events for. It stops holding once it is marked idle.
        """
        self._stream(stream)

    def set_idle(self, stream: str, idle: bool) -> None:
        """An idle stream stops holding back the watermark (the daemon's idle timeout)."""
        self._stream(stream).idle = idle

    def watermark(self, model_id: str) -> float | None:
        """Event time up to which the model's windows may close; None while unknown.

        The minimum over the streams that are not idle; a registered stream that
        has not shown an event yet keeps it unknown.
        """
        window = self.policies[model_id].window
        active = [s.max_ts for s in self.streams.values() if not s.idle]
        if not active or not isinstance(window, TimeWindow):
            return None
        low = min(active)
        if low == float("-inf"):
            return None
        return low - window.allowed_lateness

    def close_due(self) -> list[WindowVerdict]:
        verdicts: list[WindowVerdict] = []
        for model in sorted(self.layouts):
            window = self.policies[model].window
            if isinstance(window, TimeWindow):
                watermark = self.watermark(model)
                if watermark is None:
                    continue
                limit = int(np.floor(watermark / window.size))  # keys < limit have ended
                verdicts.extend(self._close_time(model, window, limit.__gt__))
                self.closed_before[model] = max(self.closed_before.get(model, limit), limit)
            else:
                verdicts.extend(self._close_count(model, window, final=False))
        self._advance_outcomes()
        return verdicts

    def close_all(self) -> list[WindowVerdict]:
        """Close every open window, due or not: the end of a replay."""
        verdicts: list[WindowVerdict] = []
        for model in sorted(self.layouts):
            window = self.policies[model].window
            if isinstance(window, TimeWindow):
                verdicts.extend(self._close_time(model, window, lambda _k: True))
            else:
                verdicts.extend(self._close_count(model, window, final=True))
        if self.outcomes is not None:
            self.outcomes.finish()
        return verdicts

    def _close_time(
        self, model: str, window: TimeWindow, due: Callable[[int], bool]
    ) -> list[WindowVerdict]:
        keys = sorted(
            {k for s in self.streams.values() for k in s.windows.get(model, {}) if due(k)}
        )
        verdicts = []
        for key in keys:
            merged: WindowState | None = None
            for name in sorted(self.streams):
                part = self.streams[name].windows.get(model, {}).pop(key, None)
                if part is not None:
                    merged = part if merged is None else merged.merge(part)
            assert merged is not None
            verdicts.append(
                self.evaluators[model].evaluate(
                    merged,
                    window_index=key,
                    start=key * window.size,
                    end=(key + 1) * window.size,
                )
            )
            self.closed_before[model] = max(self.closed_before.get(model, key + 1), key + 1)
        return verdicts

    def _close_count(self, model: str, window: CountWindow, *, final: bool) -> list[WindowVerdict]:
        verdicts = []
        for name in sorted(self.streams):
            stream = self.streams[name]
            windows = stream.windows.get(model, {})
            complete = stream.seen.get(model, 0) // window.size
            for key in sorted(windows):
                if key < complete or final:
                    state = windows.pop(key)
                    verdicts.append(
                        self.evaluators[model].evaluate(
                            state, window_index=key, start=state.first_ts, end=state.last_ts
                        )
                    )
        return verdicts

    # -- state ---------------------------------------------------------------------------

    def _fingerprint(self) -> dict[str, int]:
        return {m: layout.baseline.version for m, layout in sorted(self.layouts.items())}

    def snapshot(self) -> bytes:
        """Everything needed to continue exactly where this engine is, pickle-free."""
        doc = {
            "format": _SNAPSHOT_FORMAT,
            "baselines": self._fingerprint(),
            "counts": self.counts.to_dict(),
            "streams": {name: s.to_raw() for name, s in sorted(self.streams.items())},
            "closed_before": dict(sorted(self.closed_before.items())),
            "evaluators": {m: e.state() for m, e in sorted(self.evaluators.items())},
            # Commits the outcome store's epoch: the store and this state go together.
            "outcomes": self.outcomes.snapshot() if self.outcomes is not None else None,
        }
        return msgspec.msgpack.encode(doc)

    def restore(self, data: bytes) -> None:
        """Continue exactly from `snapshot()`: every stream and all shared state."""
        doc = self._decode_snapshot(data)
        self.streams = {
            str(n): StreamState.from_raw(s, self.settings.events) for n, s in doc["streams"].items()
        }
        self._restore_shared(doc)
        self._repair(self.streams)

    def restore_streams(self, data: bytes, streams: Iterable[str], *, shared: bool) -> None:
        """Take over some streams (partitions) from a snapshot, possibly another member's.

        Only the named streams' windows and watermarks are imported; a stream absent
        from the snapshot starts empty. `shared` also adopts the snapshot's tier
        history, closed-window floors and counters: right for a member that holds
        nothing yet, wrong for one that already has its own.
        """
        doc = self._decode_snapshot(data)
        raw_streams = doc["streams"]
        streams = list(streams)
        for name in streams:
            raw = raw_streams.get(name)
            self.streams[name] = (
                StreamState.from_raw(raw, self.settings.events)
                if raw is not None
                else self._new_stream()
            )
        if shared:
            self._restore_shared(doc)
        else:
            self._adopt_floors(doc["closed_before"])
        self._repair({name: self.streams[name] for name in streams})

    def _adopt_floors(self, theirs: Mapping[str, int]) -> None:
        """Lower the closed-window floors to the previous owner's for adopted streams.

        This engine may already have closed a window for its own streams that the
        previous owner had not closed for the adopted ones (its watermark was
        behind). Their remaining events for that window are on time by their own
        stream's watermark and must count (in a second share of the window), not
        be rejected as late because of a floor raised by other streams.
        """
        for model in list(self.closed_before):
            if model in theirs:
                self.closed_before[model] = min(self.closed_before[model], int(theirs[model]))
            else:
                del self.closed_before[model]

    def _repair(self, streams: Mapping[str, StreamState]) -> None:
        """Forget watermarks and closed-window floors beyond `events.max_future_skew`.

        Only a snapshot written before the `future` check can hold one (its
        stream once counted a far-future event): kept, it would reject every
        later event of the stream as `late`, across restarts. The stream starts
        again with no watermark (its next event sets one); a floor is dropped,
        so an event for a window that was closed by the bad watermark opens a
        second share of it (readers of the verdict log keep the last record).
        """
        limit = self._future_limit()
        if limit is None:
            return
        for name, stream in sorted(streams.items()):
            if stream.max_ts > limit:
                log.warning(
                    "watermark_repaired",
                    stream=name,
                    watermark=stream.max_ts,
                    limit=limit,
                    action="forgotten; the stream's next event sets it again",
                )
                stream.max_ts = float("-inf")
        for model, floor in sorted(self.closed_before.items()):
            window = self.policies[model].window if model in self.policies else None
            if isinstance(window, TimeWindow) and floor * window.size > limit + window.size:
                log.warning("closed_windows_floor_repaired", model=model, floor=floor, limit=limit)
                del self.closed_before[model]

    def _decode_snapshot(self, data: bytes) -> dict[str, Any]:
        try:
            doc = msgspec.msgpack.decode(data)
        except msgspec.DecodeError as exc:
            raise CheckpointError(f"engine snapshot is unreadable: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != _SNAPSHOT_FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise CheckpointError(
                f"engine snapshot format {found!r} is not {_SNAPSHOT_FORMAT}; it was written by "
                "another driftwarden version: delete the checkpoint to start from the committed "
                "offsets"
            )
        if doc["baselines"] != self._fingerprint():
            raise CheckpointError(
                f"checkpoint was written for baselines {doc['baselines']} but this run "
                f"loaded {self._fingerprint()}; restore the same baselines or delete the "
                "checkpoint to start over from the committed offsets"
            )
        return doc

    def _restore_shared(self, doc: Mapping[str, Any]) -> None:
        self.counts = IngestCounts.from_dict(doc["counts"])
        self.closed_before = {str(m): int(k) for m, k in doc["closed_before"].items()}
        for model, raw in doc["evaluators"].items():
            if model in self.evaluators:
                self.evaluators[model].restore(raw)
        if self.outcomes is not None:
            self.outcomes.restore(doc.get("outcomes"))

    def drop_stream(self, name: str) -> None:
        self.streams.pop(name, None)
