"""Regenerate the bundled example: training CSV, its baseline, and a day's event log.

Run from the repository root: `uv run python -m examples.make_example`.

Writes, byte for byte reproducibly (fixed seeds, fixed baseline created-at,
gzip with mtime 0):

- `examples/credit-risk/train.csv`: 50,000 training rows;
- `examples/baselines/credit-risk/v0001.baseline.json`: its baseline, built by
  the same code as `driftwarden baseline build`;
- `examples/logs/credit-risk-2026-01-05.jsonl.gz`: 4 hours of events at about 5
  per second from 2026-01-05T00:00:00Z (so about 1,500 per 5-minute window),
  with a drift episode from 02:00: `amount` shifted up by one standard
  deviation and a never-seen country `XX` on 8% of events.

Baselines are immutable, so an existing artifact is left alone when the rebuilt
one has the same bytes, and refused otherwise (delete it by hand if the change
is intended).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.readers import read_training_data
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.store import BaselineStore
from examples.synthetic import (
    MODEL_ID,
    OUTPUTS,
    Drift,
    events,
    write_events_jsonl_gz,
    write_training_csv,
)

EXAMPLES = Path(__file__).resolve().parent
TRAIN_ROWS = 50_000
TRAIN_SEED = 20260101
CREATED_AT = "2026-01-01T00:00:00Z"
LABELS = {"data_version": "2026-01", "generator": "examples.synthetic"}
LOG_START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
LOG_HOURS = 4
LOG_RATE = 5.0
LOG_SEED = 20260105
LOG_DRIFT = Drift(mean_shift={"amount": 1.0}, new_category={"country": ("XX", 0.08)})
LOG_DRIFT_FROM_HOUR = 2


def main(root: Path = EXAMPLES) -> int:
    train = write_training_csv(root / MODEL_ID / "train.csv", TRAIN_ROWS, TRAIN_SEED)
    _report(train)

    started = time.perf_counter()
    data = read_training_data([train])
    baseline = build_baseline(
        MODEL_ID,
        data.columns,
        Schema(outputs=OUTPUTS),
        version=1,
        created_at=CREATED_AT,
        sources=data.sources,
        labels=LABELS,
    )
    elapsed = time.perf_counter() - started
    store = BaselineStore(root / "baselines")
    path = store.path_for(MODEL_ID, baseline.version)
    if path.exists():
        if path.read_bytes() != encode_artifact(baseline):
            print(
                f"{path} exists with different content; baselines are immutable, so delete it "
                f"by hand if the change is intended, then rerun",
                file=sys.stderr,
            )
            return 1
        print(f"{path}: unchanged (read and built in {elapsed:.2f}s)")
    else:
        store.write(baseline)
        _report(path, f"read and built in {elapsed:.2f}s")

    log = root / "logs" / f"{MODEL_ID}-2026-01-05.jsonl.gz"
    stream = events(
        int(LOG_HOURS * 3600 * LOG_RATE),
        seed=LOG_SEED,
        start=LOG_START,
        rate_per_second=LOG_RATE,
        drift=LOG_DRIFT,
        drift_start_time=LOG_START + LOG_DRIFT_FROM_HOUR * 3600,
    )
    _report(write_events_jsonl_gz(log, stream))
    return 0


def _report(path: Path, note: str = "") -> None:
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.2f} MB){'; ' + note if note else ''}")


if __name__ == "__main__":
    raise SystemExit(main())
