"""Source batches through the decode stage into the engine, counted in arrival order.

    source batch -> DecodeStage (in-process or worker processes) -> Engine.count

Replay (`monitor.replay.runner`) and the daemon (`monitor.service.processor`) both
feed their batches through one `Pipeline`. Only decoding runs ahead: with a
`DecodePool` (`start_decode_pool`), up to `leave` batches stay in flight, decoded
by the workers, which also count each into fresh windows (the windows stage's
`AheadCounter`, composed here so that decoding knows nothing of windows), while
this process counts older ones; counting, windows and verdicts follow
the arrival order exactly, so the result is the one in-process decoding gives.
A batch decoded in-process is counted at once: holding it would gain nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from driftwarden.monitor.engine import Engine, SourceLocator
from driftwarden.monitor.ingest.decode_pool import DecodePool
from driftwarden.monitor.ingest.decode_stage import DecodeStage
from driftwarden.monitor.ingest.event_survey import EventSurvey
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.windows.windowing import AheadCounter, WindowCounts


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """Payloads read together from one stream, and how to name each for the dead-letter sink."""

    payloads: Sequence[bytes]
    stream: str
    locate: SourceLocator | None = None
    source_timestamps: Sequence[float] | None = None


class Pipeline:
    """The engine fed through the ordered decode stage."""

    def __init__(
        self,
        engine: Engine,
        *,
        pool: DecodePool[WindowCounts] | None = None,
        survey: EventSurvey | None = None,
    ) -> None:
        """`pool`: decode workers from `start_decode_pool` (None: decode in-process)."""
        self.engine = engine
        self._stage: DecodeStage[WindowCounts] = DecodeStage(engine.decoder, pool)
        self._survey = survey
        self._in_flight: deque[SourceBatch] = deque()

    def __len__(self) -> int:
        """Batches submitted and not counted yet."""
        return len(self._in_flight)

    def submit(self, batch: SourceBatch) -> None:
        """Hand a batch to the decode stage; `count` counts it later, in order."""
        if self._survey is not None and not self._survey.done:
            self._survey.observe(batch.payloads)
        kept = self._stage.submit(batch.payloads, batch.source_timestamps)
        if kept is not batch.payloads:
            batch = SourceBatch(kept, batch.stream, batch.locate, batch.source_timestamps)
        self._in_flight.append(batch)

    def count(self, *, leave: int = 0, close: bool = True) -> list[WindowVerdict]:
        """Count the oldest batches until at most `leave` remain, all being decoded ahead.

        `close` closes the windows each batch makes due as it is counted (replay);
        False leaves that to the caller's `engine.close_due()` (the daemon, which
        counts every partition of a poll first). Returns the verdicts closed.
        """
        verdicts: list[WindowVerdict] = []
        while self._in_flight and (len(self._in_flight) > leave or not self._stage.next_is_ahead()):
            batch = self._in_flight.popleft()
            decoded, counted = self._stage.result()
            verdicts.extend(
                self.engine.count(
                    batch.payloads,
                    decoded,
                    counted=counted,
                    stream=batch.stream,
                    locate=batch.locate,
                    close=close,
                )
            )
        return verdicts

    def use_pool(self, pool: DecodePool[WindowCounts] | None) -> None:
        """Decode in `pool` from the next batch on (None: in-process); count everything first."""
        self._stage.use_pool(pool)


def start_decode_pool(
    engine: Engine, workers: int, *, start_method: str | None = None
) -> DecodePool[WindowCounts]:
    """Decode workers for `engine`'s pipeline that also count each batch into fresh
    time windows (`AheadCounter`), off this process. Raises OSError when they cannot start."""
    counter = AheadCounter(
        dict(engine.layouts), {model: policy.window for model, policy in engine.policies.items()}
    )
    return DecodePool(
        engine.layouts,
        engine.settings.events,
        workers=workers,
        after=counter,
        start_method=start_method,
    )
