"""A seeded generator for a credit-risk-like model: training data and prediction events.

The same distributions feed the bundled example (`examples/make_example.py`),
the detector calibration tests and the benchmarks, so the generator is
vectorised numpy end to end (event dicts are built only at the very end) and
deterministic: every draw comes from `numpy.random.default_rng` streams derived
from one `seed`.

Columns (12 features, 2 outputs), chosen to exercise every binning and quality
path a real model meets:

| column          | kind        | distribution                                             |
|-----------------|-------------|----------------------------------------------------------|
| amount          | numeric     | log-normal, skewed (median ~3,000), cents                |
| income          | numeric     | log-normal (median ~49,000), whole hundreds, ~1% missing |
| age             | numeric     | integer 18-90                                            |
| num_dependents  | numeric     | integer 0-6                                              |
| prior_defaults  | numeric     | integer, point mass: ~85% zero                           |
| balance         | numeric     | ~30% exactly 0, else log-normal                          |
| utilization     | numeric     | beta(2, 5) on 0-1                                        |
| tenure_months   | numeric     | integer, exponential-like, ~1% missing                   |
| country         | categorical | 40 ISO codes, Zipf-like long tail                        |
| channel         | categorical | web / mobile / branch / partner                          |
| device_os       | categorical | 5 values, ~3% missing                                    |
| employment_type | categorical | 6 values, ~1% missing                                    |
| score           | output      | logistic function of the features, 0-1                   |
| label           | output      | approve (< 0.35) / review (< 0.6) / decline              |

Independent random streams: the rows, the drift draws and the arrival times
each have their own generators, so a drifted run has exactly the same underlying
rows as an undrifted run with the same seed; only the drift differs. Draws come
in fixed-size chunks, so the first k rows do not depend on how many are asked
for. Use different seeds for training data and live events.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

MODEL_ID = "credit-risk"

COUNTRIES = (
    "US", "GB", "DE", "FR", "IN", "BR", "CA", "MX", "ES", "IT",
    "NL", "AU", "PL", "SE", "JP", "KR", "TR", "AR", "CO", "ZA",
    "NG", "KE", "EG", "PH", "ID", "VN", "TH", "MY", "SG", "IE",
    "PT", "BE", "AT", "CH", "DK", "NO", "FI", "CZ", "RO", "NZ",
)  # fmt: skip
CHANNELS = ("web", "mobile", "branch", "partner")
CHANNEL_SHARES = (0.45, 0.35, 0.12, 0.08)
DEVICE_OS = ("android", "ios", "windows", "macos", "linux")
DEVICE_OS_SHARES = (0.42, 0.33, 0.15, 0.08, 0.02)
EMPLOYMENT_TYPES = ("salaried", "self_employed", "contractor", "retired", "student", "unemployed")
EMPLOYMENT_SHARES = (0.55, 0.15, 0.10, 0.10, 0.05, 0.05)
EMPLOYMENT_RISK = (0.0, 0.25, 0.2, -0.2, 0.4, 0.9)

NUMERIC_FEATURES = (
    "amount",
    "income",
    "age",
    "num_dependents",
    "prior_defaults",
    "balance",
    "utilization",
    "tenure_months",
)
CATEGORICAL_FEATURES = ("country", "channel", "device_os", "employment_type")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
OUTPUTS = ("score", "label")
COLUMNS = FEATURES + OUTPUTS
# Written as JSON integers and CSV integers; missing values make them float arrays.
INTEGER_COLUMNS = frozenset({"income", "age", "num_dependents", "prior_defaults", "tenure_months"})
# Decimal places of the non-integer numeric columns, kept after a drift shift.
DECIMALS: Mapping[str, int] = {"amount": 2, "balance": 2, "utilization": 4}
MISSING_RATES: Mapping[str, float] = {
    "income": 0.01,
    "tenure_months": 0.01,
    "employment_type": 0.01,
    "device_os": 0.03,
}
# Missing categorical features are sent as null, missing numeric ones are left
# out of the event, so both spellings of "missing" reach the decoder.
REVIEW_AT = 0.35
DECLINE_AT = 0.6

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]
Table = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class Drift:
    """What changes in the event stream from the drift start on.

    - `mean_shift`: column -> shift in standard deviations of that column (the
      standard deviation of the undrifted values in the same batch), rounded
      again to the column's precision; integer columns are rounded up or down at
      random in proportion, so a shift of less than one unit still moves the
      mean by exactly that much.
    - `new_category`: column -> (category, share): that share of the drifted
      rows takes a category never seen in training, e.g. `("XX", 0.08)`.
    - `missing_increase`: column -> extra share of drifted rows made missing.
    - `decline_factor`: multiply the share of 'decline' labels (2.0 doubles it),
      moving scores of converted rows into the decline range.

    Feature drift is applied before the score is computed, so the model's
    outputs react to it the way a real model's would.
    """

    mean_shift: Mapping[str, float] = field(default_factory=dict)
    new_category: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    missing_increase: Mapping[str, float] = field(default_factory=dict)
    decline_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in self.mean_shift:
            if name not in NUMERIC_FEATURES:
                raise ValueError(f"mean_shift: {name!r} is not one of {NUMERIC_FEATURES}")
        for name, (_, share) in self.new_category.items():
            if name not in CATEGORICAL_FEATURES:
                raise ValueError(f"new_category: {name!r} is not one of {CATEGORICAL_FEATURES}")
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"new_category share for {name!r} must be in [0, 1]")
        for name, share in self.missing_increase.items():
            if name not in FEATURES:
                raise ValueError(f"missing_increase: {name!r} is not one of {FEATURES}")
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"missing_increase for {name!r} must be in [0, 1]")
        if self.decline_factor < 0:
            raise ValueError("decline_factor must not be negative")


@dataclass(frozen=True)
class EventTable:
    """Events as columns: arrival times (epoch seconds) and one array per column.

    Numeric columns are float64 with NaN for missing; categorical ones are
    object arrays with None for missing. `drifted` marks rows after the drift
    start.
    """

    times: FloatArray
    columns: Table
    drifted: npt.NDArray[np.bool_]


# --- training data ---------------------------------------------------------------------


def training_table(n: int, seed: int) -> Table:
    """`n` training rows as column name -> numpy array (NaN / None where missing)."""
    return _table(seed, n, drift=None, drifted=np.zeros(n, dtype=bool))


def write_training_csv(path: Path, n: int, seed: int) -> Path:
    """Write `training_table(n, seed)` as CSV (empty field = missing); returns `path`."""
    table = training_table(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [_csv_cells(name, table[name]) for name in COLUMNS]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(zip(*cells, strict=True))
    return path


def _csv_cells(name: str, values: npt.NDArray[Any]) -> list[str]:
    if name in INTEGER_COLUMNS:
        return ["" if math.isnan(v) else str(int(v)) for v in values.tolist()]
    if values.dtype.kind == "f":
        return ["" if math.isnan(v) else repr(v) for v in values.tolist()]
    return ["" if v is None else str(v) for v in values.tolist()]


# --- events ----------------------------------------------------------------------------


def event_table(
    n: int,
    *,
    seed: int,
    start: float,
    rate_per_second: float,
    drift: Drift | None = None,
    drift_start_index: int = 0,
    drift_start_time: float | None = None,
) -> EventTable:
    """`n` events as columns, arriving as a Poisson process from `start`.

    Drift applies to events from `drift_start_index` on, or, when
    `drift_start_time` (epoch seconds) is given, to events at or after it.
    """
    if rate_per_second <= 0:
        raise ValueError("rate_per_second must be positive")
    gaps = _chunked(seed, (_TIMES,), n, lambda rng, m: rng.exponential(1.0 / rate_per_second, m))
    times = start + np.concatenate(([0.0], np.cumsum(gaps[:-1]))) if n else np.empty(0)
    if drift_start_time is not None:
        drifted = times >= drift_start_time
    else:
        drifted = np.arange(n) >= drift_start_index
    if drift is None:
        drifted = np.zeros(n, dtype=bool)
    columns = _table(seed, n, drift=drift, drifted=drifted)
    return EventTable(times=times, columns=columns, drifted=drifted)


def events(
    n: int,
    *,
    seed: int,
    start: float,
    rate_per_second: float,
    drift: Drift | None = None,
    drift_start_index: int = 0,
    drift_start_time: float | None = None,
    model_id: str = MODEL_ID,
) -> Iterator[dict[str, Any]]:
    """Events in the documented shape, ready for `json.dumps`.

    `{"model_id": "credit-risk", "timestamp": "2026-01-05T00:00:00.000Z",
    "request_id": "r-1", "features": {...}, "prediction": {"score": 0.32,
    "label": "review"}}`. Missing numeric features are left out; missing
    categorical features are null.
    """
    table = event_table(
        n,
        seed=seed,
        start=start,
        rate_per_second=rate_per_second,
        drift=drift,
        drift_start_index=drift_start_index,
        drift_start_time=drift_start_time,
    )
    stamps = rfc3339_millis(table.times).tolist()
    lists = [_json_values(name, table.columns[name]) for name in FEATURES]
    gaps = np.zeros(n, dtype=bool)
    for name in NUMERIC_FEATURES:
        gaps |= np.isnan(table.columns[name])
    categorical = frozenset(CATEGORICAL_FEATURES)
    rows = zip(
        stamps,
        gaps.tolist(),
        zip(*lists, strict=True),
        _json_values("score", table.columns["score"]),
        table.columns["label"].tolist(),
        strict=True,
    )
    for i, (stamp, gap, values, score, label) in enumerate(rows, start=1):
        features = dict(zip(FEATURES, values, strict=True))
        if gap:
            features = {k: v for k, v in features.items() if v is not None or k in categorical}
        yield {
            "model_id": model_id,
            "timestamp": stamp,
            "request_id": f"r-{i}",
            "features": features,
            "prediction": {"score": score, "label": label},
        }


def rfc3339_millis(times: FloatArray) -> npt.NDArray[np.str_]:
    """Epoch seconds as RFC 3339 UTC strings with milliseconds, vectorised."""
    millis = np.rint(np.asarray(times, dtype=np.float64) * 1000.0).astype("datetime64[ms]")
    return np.strings.add(np.datetime_as_string(millis, unit="ms"), "Z")


def _json_values(name: str, values: npt.NDArray[Any]) -> list[Any]:
    """Python values for JSON: ints for integer columns, None where missing."""
    if values.dtype.kind != "f":
        return list(values.tolist())
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    out = (filled.astype(np.int64) if name in INTEGER_COLUMNS else filled).astype(object)
    out[missing] = None
    return list(out.tolist())


# --- the model -------------------------------------------------------------------------


# Every random draw comes in chunks of CHUNK_ROWS rows, each chunk from its own
# generator keyed by (seed, purpose, chunk index): the first k rows are then the
# same whatever n is, and the row, arrival-time and drift draws are independent.
CHUNK_ROWS = 8192
_ROWS, _TIMES, _NEW_CATEGORY, _MISSING, _DECLINE, _SHIFT = range(6)


def _chunked(
    seed: int,
    purpose: tuple[int, ...],
    n: int,
    draw: Callable[[np.random.Generator, int], npt.NDArray[Any]],
) -> npt.NDArray[Any]:
    # Whole chunks are always drawn and then cut, so row i never depends on n.
    parts = [
        draw(_generator(seed, (*purpose, index)), CHUNK_ROWS)[: n - first]
        for index, first in enumerate(range(0, n, CHUNK_ROWS))
    ]
    return np.concatenate(parts) if parts else draw(_generator(seed, purpose), 0)


def _generator(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _uniform(seed: int, purpose: tuple[int, ...], n: int) -> FloatArray:
    return _chunked(seed, purpose, n, lambda rng, m: rng.random(m))


def _rows(seed: int, n: int) -> tuple[Table, FloatArray, dict[str, npt.NDArray[np.bool_]]]:
    """Undrifted feature values, the score noise and the missing masks."""
    chunks = []
    for index, first in enumerate(range(0, n, CHUNK_ROWS)):
        rng = _generator(seed, (_ROWS, index))
        chunk = _features(rng, CHUNK_ROWS)
        chunk["_noise"] = rng.normal(0.0, 0.6, size=CHUNK_ROWS)
        for name, rate in MISSING_RATES.items():
            chunk[f"_missing_{name}"] = rng.random(CHUNK_ROWS) < rate
        chunks.append({key: values[: n - first] for key, values in chunk.items()})
    if not chunks:
        chunks.append(_features(_generator(seed, (_ROWS,)), 0))
        chunks[0]["_noise"] = np.empty(0)
        for name in MISSING_RATES:
            chunks[0][f"_missing_{name}"] = np.empty(0, dtype=bool)
    merged = {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
    noise = merged.pop("_noise")
    missing = {name: merged.pop(f"_missing_{name}") for name in MISSING_RATES}
    return merged, noise, missing


def _table(
    seed: int,
    n: int,
    *,
    drift: Drift | None,
    drifted: npt.NDArray[np.bool_],
) -> Table:
    columns, noise, missing = _rows(seed, n)
    if drift is not None and drifted.any():
        _shift_features(columns, drift, drifted, seed)
    score = _score(columns, noise)
    label = _labels(score)
    if drift is not None and drift.decline_factor != 1.0 and drifted.any():
        score, label = _change_declines(score, label, drift.decline_factor, drifted, seed)
    if drift is not None:
        for index, name in enumerate(FEATURES):
            share = drift.missing_increase.get(name)
            if share:
                extra = drifted & (_uniform(seed, (_MISSING, index), n) < share)
                missing[name] = missing.get(name, np.zeros(n, dtype=bool)) | extra
    for name, mask in missing.items():
        values = columns[name]
        if values.dtype.kind == "f":
            columns[name] = np.where(mask, np.nan, values)
        else:
            values = values.copy()
            values[mask] = None
            columns[name] = values
    columns["score"] = score
    columns["label"] = label
    return {name: columns[name] for name in COLUMNS}


def _features(rng: np.random.Generator, n: int) -> Table:
    zipf = 1.0 / np.arange(1, len(COUNTRIES) + 1) ** 1.15
    return {
        "amount": np.round(rng.lognormal(8.0, 0.9, size=n), 2),
        "income": np.round(rng.lognormal(10.8, 0.5, size=n), -2),
        "age": np.clip(np.rint(rng.normal(41.0, 13.0, size=n)), 18, 90),
        "num_dependents": np.minimum(rng.poisson(0.9, size=n), 6).astype(np.float64),
        "prior_defaults": np.where(
            rng.random(n) < 0.85, 0.0, 1.0 + rng.poisson(0.4, size=n)
        ).astype(np.float64),
        "balance": np.where(
            rng.random(n) < 0.30, 0.0, np.round(rng.lognormal(7.0, 1.3, size=n), 2)
        ),
        "utilization": np.round(rng.beta(2.0, 5.0, size=n), 4),
        "tenure_months": np.minimum(np.rint(rng.exponential(40.0, size=n)), 480.0),
        "country": _choice(rng, COUNTRIES, zipf / zipf.sum(), n),
        "channel": _choice(rng, CHANNELS, CHANNEL_SHARES, n),
        "device_os": _choice(rng, DEVICE_OS, DEVICE_OS_SHARES, n),
        "employment_type": _choice(rng, EMPLOYMENT_TYPES, EMPLOYMENT_SHARES, n),
    }


def _choice(rng: np.random.Generator, values: tuple[str, ...], shares: Any, n: int) -> ObjectArray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=shares)]


def _score(columns: Table, noise: FloatArray) -> FloatArray:
    """A plausible risk model: larger loans relative to income and history raise risk."""
    employment = np.asarray(EMPLOYMENT_RISK)[
        _index_of(columns["employment_type"], EMPLOYMENT_TYPES)
    ]
    leverage = np.log(np.maximum(columns["amount"], 1.0)) - np.log(columns["income"])
    z = (
        -1.4
        + 0.9 * (leverage + 2.8)
        + 0.7 * columns["prior_defaults"]
        + 2.0 * (columns["utilization"] - 0.29)
        - 0.015 * (columns["age"] - 41.0)
        + 0.12 * columns["num_dependents"]
        - 0.004 * (columns["tenure_months"] - 40.0)
        + 0.3 * (columns["channel"] == "partner")
        + employment
        + noise
    )
    score: FloatArray = np.round(1.0 / (1.0 + np.exp(-z)), 4)
    return score


def _index_of(values: ObjectArray, choices: tuple[str, ...]) -> npt.NDArray[np.intp]:
    lookup = {value: i for i, value in enumerate(choices)}
    # A category the model never saw (a drift scenario's new value) scores as the first.
    return np.fromiter(
        (lookup.get(v, 0) for v in values.tolist()), dtype=np.intp, count=len(values)
    )


def _labels(score: FloatArray) -> ObjectArray:
    names = np.asarray(("approve", "review", "decline"), dtype=object)
    return names[np.searchsorted(np.asarray([REVIEW_AT, DECLINE_AT]), score, side="right")]


def _shift_features(
    columns: Table, drift: Drift, drifted: npt.NDArray[np.bool_], seed: int
) -> None:
    for index, name in enumerate(NUMERIC_FEATURES):
        sigmas = drift.mean_shift.get(name)
        if sigmas:
            values = columns[name]
            shifted = values + sigmas * float(np.std(values))
            if name in INTEGER_COLUMNS:
                # Round up with probability equal to the fraction, so the mean moves by
                # exactly the requested shift even when it is less than one unit.
                lower = np.floor(shifted)
                up = _uniform(seed, (_SHIFT, index), len(values)) < shifted - lower
                shifted = lower + up
            else:
                shifted = np.round(shifted, DECIMALS[name])
            columns[name] = np.where(drifted, shifted, values)
    for index, name in enumerate(CATEGORICAL_FEATURES):
        if name in drift.new_category:
            category, share = drift.new_category[name]
            hit = drifted & (_uniform(seed, (_NEW_CATEGORY, index), len(drifted)) < share)
            values = columns[name].copy()
            values[hit] = category
            columns[name] = values


def _change_declines(
    score: FloatArray,
    label: ObjectArray,
    factor: float,
    drifted: npt.NDArray[np.bool_],
    seed: int,
) -> tuple[FloatArray, ObjectArray]:
    n = len(score)
    is_decline = label == "decline"
    current = float(is_decline[drifted].mean()) if drifted.any() else 0.0
    target = min(1.0, current * factor)
    draws = _uniform(seed, (_DECLINE, 0), n)
    new_scores = np.round(DECLINE_AT + (0.99 - DECLINE_AT) * _uniform(seed, (_DECLINE, 1), n), 4)
    score, label = score.copy(), label.copy()
    if target >= current:
        # Convert non-declines so the decline share reaches the target.
        p = (target - current) / (1.0 - current) if current < 1.0 else 0.0
        convert = drifted & ~is_decline & (draws < p)
        score[convert] = new_scores[convert]
        label[convert] = "decline"
    else:
        # Fewer declines: move the converted ones just under the review threshold.
        p = 1.0 - target / current
        convert = drifted & is_decline & (draws < p)
        score[convert] = np.round(DECLINE_AT - 0.01 - 0.2 * draws[convert], 4)
        label[convert] = "review"
    return score, label


def write_events_jsonl_gz(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write events as gzip-compressed JSON lines with reproducible bytes (mtime 0).

    msgspec encodes exactly like `json.dumps(row, separators=(",", ":"))` for
    these events, several times faster.
    """
    encoder = msgspec.json.Encoder()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        batch: list[bytes] = []
        for row in rows:
            batch.append(encoder.encode(row))
            if len(batch) == 4096:
                gz.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            gz.write(b"\n".join(batch) + b"\n")
    return path
