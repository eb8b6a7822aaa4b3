"""The join of outcomes to predictions by (model_id, request_id), in event time.

Rules (docs/outcomes.md says them to users):

- A sampled, accepted prediction with a request id waits in the `PendingStore`
  until its outcome comes or its horizon passes. `outcomes.sample` keeps a
  request id when a hash of it falls below the fraction: the same ids in every
  run, in predictions and outcomes alike.
- An outcome joins its prediction if it is dated at most `outcomes.horizon`
  after it (else `outcome_too_late`). The pair goes to the prediction's window
  (`labelled.JoinedOutcomes`).
- A second outcome for a request already joined, or already waiting, is a
  `duplicate`: the first one counts, never both.
- An outcome read before its prediction waits (the two are read concurrently)
  until the prediction comes, or until no prediction dated at or before it can
  be accepted any more (the prediction side's window floor passed it): then it
  is `unknown_request`.
- Expiry follows the outcome streams' event time (a window is final by horizon
  once its predictions expired and its prediction window closed): once every outcome stream is
  past `t + horizon`, predictions dated before `t` are forgotten and their
  windows' labels are final. An outcome whose prediction expired is
  `outcome_too_late` (the store remembers expired keys for one more horizon;
  an outcome dated before that is too late whoever it belongs to).
- An outcome the prediction event carries itself joins at once (delay 0).

Every outcome read is joined, sampled out, waiting, or rejected with a reason
into the dead-letter sink: `read == joined + sampled_out + waiting + rejected`.
A prediction the join cannot keep (no request id) is still counted for drift;
`predictions_without_id` says how many.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.monitor.config import EventFields, OutcomeSettings
from driftwarden.monitor.ingest.rejection import Rejection, RejectReason
from driftwarden.monitor.outcomes.decoding import (
    OutcomeBatch,
    OutcomeDecoder,
    PredictionExtractor,
    PredictionRecords,
    outcome_value,
)
from driftwarden.monitor.outcomes.labelled import JoinedOutcomes, LabelledWindow
from driftwarden.monitor.outcomes.pending import Pending, PendingStore, Waiting
from driftwarden.monitor.windows.performance import LabelledPerformance

log = structlog.get_logger(__name__)

SourceLocator = Callable[[int], Mapping[str, str | int]]


class RejectSink(Protocol):
    """Where rejected outcomes go: the engine's dead-letter sink (`monitor.engine.RejectSink`)."""

    def write(self, payload: bytes, reason: str, source: Mapping[str, str | int]) -> None: ...


@dataclass(slots=True)
class OutcomeCounts:
    """Outcome reconciliation: read == joined + sampled_out + waiting + rejected."""

    read: int = 0
    joined: int = 0
    sampled_out: int = 0
    waiting: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    predictions_stored: int = 0
    predictions_without_id: int = 0
    predictions_sampled_out: int = 0
    predictions_repeated: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reconciles(self) -> bool:
        return self.read == self.joined + self.sampled_out + self.waiting + self.rejected_total

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "read",
                "joined",
                "sampled_out",
                "waiting",
                "predictions_stored",
                "predictions_without_id",
                "predictions_sampled_out",
                "predictions_repeated",
            )
        }
        out["rejected"] = dict(sorted(self.rejected.items()))
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> OutcomeCounts:
        counts = cls(rejected=Counter({str(k): int(v) for k, v in raw["rejected"].items()}))
        for name, value in raw.items():
            if name != "rejected":
                setattr(counts, name, int(value))
        return counts


Joined = tuple[int, str, dict[str, object], object, float]
"""(window, request id, prediction outputs, outcome, delay): one joined pair."""


@dataclass(slots=True)
class _Batch:
    """Accepted predictions of one model, as `OutcomeJoin.add_predictions` receives them."""

    model: str
    payloads: Sequence[bytes]
    records: PredictionRecords
    timestamps: npt.NDArray[np.float64]
    windows: npt.NDArray[np.int64]
    window_ends: npt.NDArray[np.float64]
    locate: SourceLocator | None

    def source(self, i: int) -> dict[str, str | int]:
        return dict(self.locate(i)) if self.locate is not None else {}


@dataclass(slots=True)
class _Plan:
    """What storing a batch of predictions does; applied only once the store took it."""

    rows: list[tuple[str, float, int, bytes, bool]] = field(default_factory=list)
    joined: list[Joined] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    rejected: list[tuple[bytes, Rejection, Mapping[str, str | int]]] = field(default_factory=list)
    windows: dict[int, tuple[int, float]] = field(default_factory=dict)
    read: int = 0
    repeated: int = 0


def sampled(request_id: str, fraction: float) -> bool:
    """Whether the join keeps this request id: a hash below `fraction` of its range."""
    if fraction >= 1.0:
        return True
    digest = hashlib.blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2.0**64


class OutcomeJoin:
    """Joins outcomes to predictions; its state is this object plus its `PendingStore`."""

    def __init__(
        self,
        settings: OutcomeSettings,
        fields: EventFields,
        outputs: Mapping[str, Sequence[str]],
        store: PendingStore,
        *,
        reject_sink: RejectSink | None = None,
        references: Mapping[str, ReferencePerformance] | None = None,
        kafka_outcome_topics: Sequence[str] = (),
    ) -> None:
        """`references`: the baselines' performance sections, by model (issue 14):
        each window of a model with one counts its joined pairs for realised metrics."""
        self.references = dict(references or {})
        self.settings = settings
        self.store = store
        self.reject_sink = reject_sink
        self.models = sorted(outputs)
        self.decoder = OutcomeDecoder(self.models, fields, settings.outcome)
        self.extractor = PredictionExtractor(outputs, fields, settings.outcome)
        self.counts = OutcomeCounts()
        self.streams: dict[str, float] = {}
        """Outcome streams (replay's outcome files, outcome topic partitions): newest time."""
        self.idle: set[str] = set()
        self.expired_before = float("-inf")
        self.windows: dict[tuple[str, int], LabelledWindow] = {}
        self.finished: list[LabelledWindow] = []
        """Windows that became final since the caller last took them (`take_final`)."""
        self._last_seq = 0
        self.outcome_sources = bool(kafka_outcome_topics)
        """Outcomes come from streams of their own (topics, files): expiry waits for them.
        False: outcomes come only inside predictions, and the predictions' time drives
        expiry."""

    # -- predictions ---------------------------------------------------------------------

    def add_predictions(
        self,
        model: str,
        payloads: Sequence[bytes],
        *,
        timestamps: npt.NDArray[np.float64],
        windows: npt.NDArray[np.int64],
        window_ends: npt.NDArray[np.float64],
        locate: SourceLocator | None = None,
    ) -> None:
        """Accepted predictions of one model, in order: keep the sampled ones waiting.

        `window_ends[i]` is when prediction i's window ends in event time (for a
        count window, the prediction's own time). `locate(i)` names payload i.
        """
        records = self.extractor.extract(model, payloads)
        counts = self.counts
        ids = records.request_ids
        keep = [
            i for i, rid in enumerate(ids) if rid is not None and sampled(rid, self.settings.sample)
        ]
        counts.predictions_without_id += ids.count(None)
        counts.predictions_sampled_out += len(ids) - ids.count(None) - len(keep)
        if not keep:
            return
        context = _Batch(model, payloads, records, timestamps, windows, window_ends, locate)
        plan = None
        if not counts.waiting:
            # The common case: no outcome waits, and no prediction repeats a stored
            # one; the store's primary key checks the second, without a lookup.
            plan = self._plan(context, keep, {}, {})
            if not self.store.add_pending(model, plan.rows, only_new=True):
                plan = None
        if plan is None:
            rids: list[str] = [ids[i] for i in keep]  # type: ignore[misc]
            plan = self._plan(
                context, keep, self.store.pending(model, rids), self.store.waiting(model, rids)
            )
            self.store.add_pending(model, plan.rows)
        if plan.taken:
            self.store.remove_waiting(model, plan.taken)
        counts.read += plan.read
        counts.predictions_repeated += plan.repeated
        counts.predictions_stored += len(plan.rows)
        counts.waiting -= len(plan.taken)
        for key, (n, end) in plan.windows.items():
            self._window(model, key, end).n_predictions += n
        self._emit(model, plan.joined)
        self._reject(plan.rejected)

    def _plan(
        self,
        batch: _Batch,
        keep: list[int],
        known: Mapping[str, Pending],
        waiting: Mapping[str, Waiting],
    ) -> _Plan:
        """What storing these predictions does, given what the store holds of their keys."""
        plan = _Plan()
        seen: set[str] = set()
        ids, records, payloads = batch.records.request_ids, batch.records, batch.payloads
        times = batch.timestamps.tolist()
        keys = batch.windows.tolist()
        ends = batch.window_ends.tolist()
        encode = msgspec.msgpack.encode
        for i in keep:
            rid = ids[i]
            assert rid is not None
            ts, key = times[i], keys[i]
            embedded = records.outcomes[i]
            if embedded is not None:
                plan.read += 1
            if rid in known or rid in seen:
                plan.repeated += 1
                if embedded is not None:
                    plan.rejected.append(
                        (
                            payloads[i],
                            _duplicate(i, "a prediction with this request id"),
                            batch.source(i),
                        )
                    )
                continue
            seen.add(rid)
            n, end = plan.windows.get(key, (0, ends[i]))
            plan.windows[key] = (n + 1, max(end, ends[i]))
            is_joined = embedded is not None and _carried(plan, batch, i, rid, key)
            early = waiting.get(rid)
            if early is not None:
                plan.taken.append(rid)
                is_joined = self._early(plan, batch, i, early, ts=ts, key=key, carried=is_joined)
            plan.rows.append((rid, ts, key, encode(records.outputs[i]), is_joined))
        return plan

    def _early(
        self,
        plan: _Plan,
        batch: _Batch,
        i: int,
        early: Waiting,
        *,
        ts: float,
        key: int,
        carried: bool,
    ) -> bool:
        """Join (or refuse) the outcome that arrived before prediction `i`; whether `i`
        ends up joined."""
        outcome, payload, early_source = msgspec.msgpack.decode(early.body)
        horizon = self.settings.horizon
        if carried:
            refusal = _duplicate(0, "an outcome carried by the prediction")
            plan.rejected.append((payload, refusal, early_source))
            return True
        if early.ts > ts + horizon:
            plan.rejected.append((payload, _too_late(0, early.ts - ts, horizon), early_source))
            return False
        rid = batch.records.request_ids[i]
        assert rid is not None
        delay = max(0.0, early.ts - ts)
        plan.joined.append((key, rid, batch.records.outputs[i], outcome, delay))
        return True

    def _window(self, model: str, key: int, end: float) -> LabelledWindow:
        window = self.windows.get((model, key))
        if window is None:
            window = self.windows[model, key] = LabelledWindow(model, key, end)
            reference = self.references.get(model)
            if reference is not None:
                window.performance = LabelledPerformance.empty(reference)
        elif end > window.end:
            window.end = end
        return window

    # -- outcomes ------------------------------------------------------------------------

    def add_stream(self, stream: str) -> None:
        """Register an outcome stream before its first event: it holds expiry back."""
        self.streams.setdefault(stream, float("-inf"))

    def set_idle(self, stream: str, idle: bool) -> None:
        if idle:
            self.idle.add(stream)
        else:
            self.idle.discard(stream)

    def process(
        self,
        payloads: Sequence[bytes],
        *,
        stream: str,
        locate: SourceLocator | None = None,
        source_timestamps: Sequence[float] | None = None,
    ) -> None:
        """Read a batch of outcome events from one outcome stream."""
        self.add_stream(stream)
        self.counts.read += len(payloads)
        batch, rejections = self.decoder.decode(payloads, source_timestamps)
        rejected = [
            (payloads[r.index], r, dict(locate(r.index)) if locate else {}) for r in rejections
        ]
        if len(batch):
            self.streams[stream] = max(self.streams[stream], float(batch.timestamps.max()))
        by_model: dict[str, list[int]] = defaultdict(list)
        for j, model in enumerate(batch.model_ids):
            by_model[model].append(j)
        for model, rows in sorted(by_model.items()):
            self._join_model(model, rows, batch, payloads, locate=locate, rejected=rejected)
        self._reject(rejected)

    def _join_model(
        self,
        model: str,
        rows: list[int],
        batch: OutcomeBatch,
        payloads: Sequence[bytes],
        *,
        locate: SourceLocator | None,
        rejected: list[tuple[bytes, Rejection, dict[str, str | int]]],
    ) -> None:
        """Join one model's outcomes of a batch: to their predictions, or to wait for them."""
        times = batch.timestamps.tolist()
        rows_kept = [j for j in rows if sampled(batch.request_ids[j], self.settings.sample)]
        self.counts.sampled_out += len(rows) - len(rows_kept)
        rids = [batch.request_ids[j] for j in rows_kept]
        known = self.store.pending(model, rids)
        waiting = set(self.store.waiting(model, rids))
        gone = self.store.gone(model, rids)
        joined: list[Joined] = []
        joined_rids: list[str] = []
        new_waiting: list[tuple[str, float, bytes]] = []
        for j in rows_kept:
            i, rid, ts = batch.index[j], batch.request_ids[j], times[j]
            source = dict(locate(i)) if locate is not None else {}
            prediction = known.get(rid)
            refusal = self._refusal(i, ts, prediction, waiting=rid in waiting, gone=rid in gone)
            if refusal is not None:
                rejected.append((payloads[i], refusal, source))
            elif prediction is not None:
                outputs = msgspec.msgpack.decode(prediction.body)
                delay = max(0.0, ts - prediction.ts)
                joined.append((prediction.window, rid, outputs, batch.outcomes[j], delay))
                joined_rids.append(rid)
                known[rid] = Pending(prediction.ts, prediction.window, b"", joined=True)
            else:
                waiting.add(rid)
                self.counts.waiting += 1
                body = msgspec.msgpack.encode([batch.outcomes[j], payloads[i], source])
                new_waiting.append((rid, ts, body))
        if joined_rids:
            self.store.mark_joined(model, joined_rids)
        if new_waiting:
            self.store.add_waiting(model, new_waiting)
        self._emit(model, joined)

    def _refusal(
        self, i: int, ts: float, prediction: Pending | None, *, waiting: bool, gone: bool
    ) -> Rejection | None:
        """Why outcome `i` joins nothing, or None when it joins or waits."""
        horizon = self.settings.horizon
        if prediction is not None:
            if prediction.joined:
                return _duplicate(i, "an outcome")
            if ts > prediction.ts + horizon:
                return _too_late(i, ts - prediction.ts, horizon)
            return None
        if waiting:
            return _duplicate(i, "an outcome waiting for its prediction")
        if gone or ts < self.expired_before:
            # Its prediction expired; or the outcome is a whole horizon behind the outcome
            # streams, beyond what `gone` remembers.
            return Rejection(
                i,
                RejectReason.OUTCOME_TOO_LATE,
                "its prediction waited outcomes.horizon "
                f"({horizon:g}s of outcome event time) and expired",
            )
        return None

    def reject_unread(
        self, payload: bytes, reason: RejectReason, detail: str, source: Mapping[str, str | int]
    ) -> None:
        """Count an outcome the source could not hand over whole (e.g. an over-long line)."""
        self.counts.read += 1
        self._reject([(payload, Rejection(0, reason, detail), source)])

    # -- time ----------------------------------------------------------------------------

    def advance(
        self,
        prediction_floor: Callable[[str], float | None],
        prediction_time: float | None,
        closed: Callable[[str, int], bool],
    ) -> None:
        """Expire predictions, settle waiting outcomes, and mark windows final.

        `prediction_floor(model)`: event time before which no prediction of the
        model can be accepted any more (None: unknown). `prediction_time`: the
        prediction side's event time, which drives expiry when there is no
        outcome stream (outcomes carried by predictions only). `closed(model,
        key)`: whether the prediction window has closed (its prediction count is
        complete).
        """
        active = [t for s, t in self.streams.items() if s not in self.idle]
        if self.outcome_sources or self.streams:
            clock = min(active) if active and min(active) > float("-inf") else None
        else:
            clock = prediction_time
        if clock is not None and clock - self.settings.horizon > self.expired_before:
            self.expired_before = clock - self.settings.horizon
            self.store.expire(self.expired_before, self.expired_before - self.settings.horizon)
        for model in self.models:
            floor = prediction_floor(model)
            if floor is not None:
                self._unknown(model, floor)
        self._finalize(closed)

    def _unknown(self, model: str, before: float) -> None:
        rejected = []
        for _rid, early in self.store.take_waiting(model, before):
            self.counts.waiting -= 1
            _outcome, payload, source = msgspec.msgpack.decode(early.body)
            rejected.append(
                (
                    payload,
                    Rejection(
                        0,
                        RejectReason.UNKNOWN_REQUEST,
                        "no prediction with this request id was accepted up to the outcome's "
                        "time (or it was not sampled, or rejected)",
                    ),
                    source,
                )
            )
        self._reject(rejected)

    def _finalize(self, closed: Callable[[str, int], bool]) -> None:
        for ident in sorted(self.windows):
            window = self.windows[ident]
            if window.end <= self.expired_before and closed(*ident):
                del self.windows[ident]
                if window.final is None:
                    window.final = "horizon"
                    self.finished.append(window)
            elif (
                window.final is None
                and window.n_predictions
                and window.label_coverage >= self.settings.min_coverage
                and closed(*ident)
            ):
                window.final = "coverage"
                self.finished.append(window)

    def finish(self) -> None:
        """The end of a replay: every prediction expires, every waiting outcome is unknown."""
        self.expired_before = float("inf")
        self.store.expire(self.expired_before, float("-inf"))
        for model in self.models:
            self._unknown(model, float("inf"))
        self._finalize(lambda _m, _k: True)

    def take_final(self) -> list[LabelledWindow]:
        """The windows that became final since the last call, in the order they did."""
        out, self.finished = self.finished, []
        return out

    # -- output --------------------------------------------------------------------------

    def _emit(self, model: str, joined: list[Joined]) -> None:
        if not joined:
            return
        self.counts.joined += len(joined)
        by_window: dict[int, list[Joined]] = defaultdict(list)
        for row in joined:
            by_window[row[0]].append(row)
        for key, rows in sorted(by_window.items()):
            batch = JoinedOutcomes(
                model_id=model,
                window=key,
                request_ids=[r[1] for r in rows],
                predictions=[r[2] for r in rows],
                outcomes=[r[3] for r in rows],
                delays=np.array([r[4] for r in rows], dtype=np.float64),
            )
            window = self.windows.get((model, key))
            if window is None:  # pragma: no cover - a stored prediction always made one
                continue
            window.add(batch)
            if window.performance is not None:
                window.performance.add(self.references[model], batch.predictions, batch.outcomes)

    def _reject(self, rejected: Sequence[tuple[bytes, Rejection, Mapping[str, str | int]]]) -> None:
        for payload, rejection, source in rejected:
            self.counts.rejected[rejection.reason.value] += 1
            if self.reject_sink is not None:
                self.reject_sink.write(
                    payload, rejection.reason.value, {**source, "detail": rejection.detail}
                )

    # -- state ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Commit the store's epoch and return the state that goes with it."""
        self._last_seq = self.store.commit()
        return {
            "store_seq": self._last_seq,
            "counts": self.counts.to_dict(),
            "streams": dict(sorted(self.streams.items())),
            "expired_before": self.expired_before,
            "windows": [self.windows[k].to_raw() for k in sorted(self.windows)],
            "finished": [w.to_raw() for w in self.finished],
        }

    def restore(self, raw: Mapping[str, Any] | None) -> None:
        """Back to a snapshot's state, the store included (None: a checkpoint without one)."""
        if raw is None:
            if self.store.seq:
                # No checkpoint to match (none yet, or it was written for other
                # baselines): what the store holds belongs to no state; start empty.
                log.warning(
                    "outcome_store_cleared",
                    epoch=self.store.seq,
                    reason="starting without a checkpoint that has outcome state",
                )
                self.store.clear()
            else:
                self.store.rollback_to(0)
            self._reset()
            return
        self.store.rollback_to(int(raw["store_seq"]))
        self.counts = OutcomeCounts.from_dict(raw["counts"])
        self.streams = {str(k): float(v) for k, v in raw["streams"].items()}
        self.idle = set()
        self.expired_before = float(raw["expired_before"])
        windows = [LabelledWindow.from_raw(w) for w in raw["windows"]]
        self.windows = {(w.model_id, w.window): w for w in windows}
        self.finished = [LabelledWindow.from_raw(w) for w in raw["finished"]]

    def _reset(self) -> None:
        self.counts = OutcomeCounts()
        self.streams = {}
        self.idle = set()
        self.expired_before = float("-inf")
        self.windows = {}
        self.finished = []

    def saved(self, raw: Mapping[str, Any]) -> None:
        """The checkpoint holding `raw` (a `snapshot()`) is durable."""
        self.store.saved(int(raw["store_seq"]))

    def saved_last(self) -> None:
        """The checkpoint holding the last `snapshot()` is durable."""
        if self._last_seq:
            self.store.saved(self._last_seq)

    def drop_stream(self, stream: str) -> None:
        self.streams.pop(stream, None)
        self.idle.discard(stream)


def _carried(plan: _Plan, batch: _Batch, i: int, rid: str, key: int) -> bool:
    """Join the outcome prediction `i` carries (joined upstream); whether it was one."""
    value, problem = outcome_value(batch.records.outcomes[i])
    if problem is not None:
        refusal = Rejection(i, RejectReason.BAD_OUTCOME, problem)
        plan.rejected.append((batch.payloads[i], refusal, batch.source(i)))
        return False
    plan.joined.append((key, rid, batch.records.outputs[i], value, 0.0))
    return True


def _duplicate(i: int, first: str) -> Rejection:
    return Rejection(
        i,
        RejectReason.DUPLICATE,
        f"{first} for this request id was counted already; the first one counts",
    )


def _too_late(i: int, delay: float, horizon: float) -> Rejection:
    return Rejection(
        i,
        RejectReason.OUTCOME_TOO_LATE,
        f"outcome is {delay:.0f}s after its prediction, beyond outcomes.horizon ({horizon:g}s)",
    )
