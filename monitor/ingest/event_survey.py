"""A look at the first events of a replay or a stream, for mistakes of set-up.

The commonest one: a baseline built without `--outputs` from training data
with `score` and `label` columns describes them as features; the events then
carry them under `prediction`, every window finds those features missing and
pages on it. The engine counts such keys as unknown and cannot say why; this
survey reads the first events of each model once, sees the columns in the
wrong section (and model ids that have no baseline), and says how to fix it.
It is cheap by construction: it looks at a bounded number of events, then
never again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

import structlog

from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.layout import ModelLayout

log = structlog.get_logger(__name__)

SAMPLE_PER_MODEL = 200  # events of each model looked at
_MAX_UNKNOWN_MODELS = 5  # model ids without a baseline, kept by name

# Names that training tables give a model's outputs; a feature column by one of
# these names is probably an output that `--outputs` did not name.
OUTPUT_LIKE_NAMES: frozenset[str] = frozenset(
    {
        "score",
        "scores",
        "prediction",
        "predictions",
        "predicted",
        "predicted_label",
        "predicted_class",
        "predicted_proba",
        "predicted_probability",
        "pred",
        "preds",
        "label",
        "labels",
        "proba",
        "probability",
        "probabilities",
        "prob",
        "y_pred",
        "y_proba",
        "y_prob",
        "y_score",
        "y_hat",
        "yhat",
        "output",
        "model_output",
        "model_score",
        "decision",
    }
)


def output_like(names: Iterable[str]) -> list[str]:
    """The names among `names` that look like model outputs (see `OUTPUT_LIKE_NAMES`)."""
    return [n for n in names if n.lower() in OUTPUT_LIKE_NAMES or n.lower().endswith("_proba")]


@dataclass(frozen=True, slots=True)
class Misplaced:
    """Columns of a baseline that the events carry in the other section."""

    model_id: str
    baseline: str  # the artifact's ref, e.g. credit-risk@1
    section: str  # where the events carry them: the features or the prediction path
    columns: tuple[str, ...]
    as_outputs: bool  # True: outputs in the events, features in the baseline

    def message(self) -> str:
        names = ", ".join(map(repr, self.columns))
        if self.as_outputs:
            return (
                f"{self.model_id}: events carry {names} under '{self.section}' but baseline "
                f"{self.baseline} describes them as features, so every window counts them "
                f"missing; rebuild the baseline with --outputs {','.join(self.columns)}"
            )
        return (
            f"{self.model_id}: events carry {names} under '{self.section}' but baseline "
            f"{self.baseline} describes them as outputs, so every window counts them missing; "
            f"send them under the prediction or rebuild the baseline without them in --outputs"
        )


class EventSurvey:
    """Reads up to `SAMPLE_PER_MODEL` events of each model, once, and keeps what it found.

    `observe` takes batches in stream order and returns the new findings (also
    logged once each, as `columns_misplaced`); after enough events it returns at
    once. `unknown_models` holds model ids seen that no baseline describes.
    """

    def __init__(
        self,
        layouts: Mapping[str, ModelLayout],
        fields: EventFields,
        *,
        sample: int = SAMPLE_PER_MODEL,
    ) -> None:
        self._fields = fields
        self._sample = sample
        self._left = dict.fromkeys(layouts, sample)
        self._budget = sample * (len(layouts) + 1)  # bounds the work on foreign events
        self._roles = {
            model: (
                {c.name for c in layout.features},
                {c.name for c in layout.outputs},
                layout.baseline.ref,
            )
            for model, layout in layouts.items()
        }
        self._reported: set[tuple[str, str]] = set()
        self.misplaced: list[Misplaced] = []
        self.unknown_models: list[str] = []

    @property
    def done(self) -> bool:
        return self._budget <= 0 or not any(self._left.values())

    def observe(self, payloads: Iterable[bytes]) -> list[Misplaced]:
        if self.done:
            return []
        found: dict[tuple[str, str, bool], set[str]] = {}
        for payload in islice(payloads, self._budget):
            self._budget -= 1
            try:
                event = json.loads(payload)
            except (ValueError, RecursionError):  # hostile nesting must not stop the run
                continue
            if not isinstance(event, dict):
                continue
            self._look(event, found)
        new = []
        for (model, section, as_outputs), columns in sorted(found.items()):
            fresh = sorted(c for c in columns if (model, c) not in self._reported)
            if not fresh:
                continue
            self._reported.update((model, c) for c in fresh)
            ref = self._roles[model][2]
            item = Misplaced(model, ref, section, tuple(fresh), as_outputs)
            log.warning(
                "columns_misplaced",
                model=model,
                section=section,
                columns=list(fresh),
                fix=item.message().partition("; ")[2],
            )
            new.append(item)
        self.misplaced.extend(new)
        return new

    def _look(self, event: dict[str, Any], found: dict[tuple[str, str, bool], set[str]]) -> None:
        fields = self._fields
        model = _at(event, fields.model_id) if fields.model_id else None
        if model is None:
            model = fields.default_model
        if not isinstance(model, str) or not model:
            return
        if model not in self._left:
            if model not in self.unknown_models and len(self.unknown_models) < _MAX_UNKNOWN_MODELS:
                self.unknown_models.append(model)
            return
        if self._left[model] <= 0:
            return
        self._left[model] -= 1
        features, outputs, _ = self._roles[model]
        prediction = _at(event, fields.prediction) if fields.prediction else None
        if isinstance(prediction, dict):
            hits = features.intersection(prediction) - outputs
            if hits:
                found.setdefault((model, str(fields.prediction), True), set()).update(hits)
        given = _at(event, fields.features)
        if isinstance(given, dict):
            hits = outputs.intersection(given) - features
            if hits:
                found.setdefault((model, fields.features, False), set()).update(hits)


def _at(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
