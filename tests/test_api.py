"""The library API: a notebook gets the daemon's baselines and verdicts, to the last digit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwarden
from driftwarden.api import Monitor
from driftwarden.baselines.artifact import Baseline, encode_artifact
from driftwarden.baselines.build import build_baseline as freeze
from driftwarden.baselines.schema import Schema
from driftwarden.monitor.config import load_settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import SourceError

CREATED = "2026-01-01T00:00:00Z"


def _train(seed: int = 7, n: int = 3_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(40, 10, n),
        "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
        "score": rng.uniform(0, 1, n),
    }


def _live(seed: int = 8, n: int = 1_500, shift: float = 8.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + shift, 10, n)
    age[:20] = np.nan
    return {
        "age": age,
        "plan": rng.choice(["basic", "pro", "team"], n, p=[0.3, 0.3, 0.4]),
        "score": rng.uniform(0, 1, n),
    }


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return driftwarden.build_baseline(
        _train(), model_id="churn", outputs=["score"], created_at=CREATED
    )


def test_a_baseline_from_arrays_is_the_cli_builders_artifact(baseline: Baseline) -> None:
    same = freeze("churn", _train(), Schema(outputs=("score",)), version=1, created_at=CREATED)
    assert encode_artifact(baseline) == encode_artifact(same)


def test_a_dataframe_and_a_mapping_of_arrays_build_the_same_baseline(baseline: Baseline) -> None:
    frame = driftwarden.build_baseline(
        pd.DataFrame(_train()), model_id="churn", outputs=["score"], created_at=CREATED
    )
    assert encode_artifact(frame) == encode_artifact(baseline)


def test_categorical_reads_numeric_codes_as_categories() -> None:
    table = {"branch": np.arange(2_000) % 7, "amount": np.linspace(0, 1, 2_000)}
    built = driftwarden.build_baseline(table, categorical=["branch"], created_at=CREATED)
    kinds = {c.name: type(c).__name__ for c in built.columns}
    assert kinds == {"branch": "CategoricalColumn", "amount": "NumericColumn"}


def test_compare_gives_the_statistics_the_engine_computes_from_events(
    baseline: Baseline,
) -> None:
    """The same window as JSON events through the daemon's engine: identical verdicts."""
    live = _live()
    engine = Engine([baseline], load_settings(None, env={}), wall_clock=None)
    payloads = []
    for i in range(len(live["age"])):
        age = None if np.isnan(live["age"][i]) else float(live["age"][i])
        event = {
            "model_id": "churn",
            "timestamp": 1_767_571_200 + i * 0.01,
            "features": {"age": age, "plan": str(live["plan"][i])},
            "prediction": {"score": float(live["score"][i])},
        }
        payloads.append(json.dumps(event).encode())
    engine.process(payloads, close=False)
    (from_events,) = engine.close_all()
    from_table = Monitor(baseline).compare(live).verdict
    assert from_table.columns == from_events.columns
    assert from_table.tier == from_events.tier


def test_compare_flags_the_shifted_columns_and_not_the_calm_one(baseline: Baseline) -> None:
    result = driftwarden.compare(baseline, _live())
    assert result.tier == "critical"
    assert result.drifting == ["age", "plan"]


def test_a_window_like_the_training_data_is_calm(baseline: Baseline) -> None:
    result = driftwarden.compare(baseline, _train(seed=99, n=1_500))
    assert (result.tier, result.drifting) == ("none", [])


def test_records_are_plain_python_values_one_per_column(baseline: Baseline) -> None:
    records = driftwarden.compare(baseline, _live()).records()
    assert [r["column"] for r in records] == ["age", "plan", "score"]
    age = records[0]
    assert (age["missing"], age["n_current"], age["tier"]) == (20, 1_480, "critical")
    for record in records:
        for value in record.values():
            assert value is None or type(value) in {str, int, float, list}


def test_to_pandas_indexes_the_records_by_column(baseline: Baseline) -> None:
    result = driftwarden.compare(baseline, pd.DataFrame(_live()))
    table = result.to_pandas()
    assert list(table.index) == ["age", "plan", "score"]
    assert table.loc["age", "psi"] == result.records()[0]["psi"]


def test_a_column_the_window_lacks_counts_as_missing(baseline: Baseline) -> None:
    live = _live()
    del live["plan"]
    plan = driftwarden.compare(baseline, live).records()[1]
    assert (plan["missing"], plan["n_current"]) == (1_500, 0)


def test_columns_of_different_lengths_are_refused_naming_the_fix(baseline: Baseline) -> None:
    live = _live()
    live["score"] = live["score"][:10]
    with pytest.raises(SourceError, match="different lengths"):
        driftwarden.compare(baseline, live)


def test_a_monitor_keeps_the_daemons_sustain_across_windows(baseline: Baseline) -> None:
    """Default policy: warning and critical need two windows in a row, as in the daemon."""
    monitor = Monitor(baseline)
    first, second = monitor.compare(_live(seed=1)), monitor.compare(_live(seed=2))
    assert (first.tier, second.tier) == ("info", "critical")


def test_save_and_load_round_trip_through_the_store(baseline: Baseline, tmp_path: Path) -> None:
    path = driftwarden.save_baseline(baseline, tmp_path)
    assert path == tmp_path / "churn" / "v0001.baseline.json"
    assert encode_artifact(driftwarden.load_baseline(path)) == encode_artifact(baseline)


def test_import_driftwarden_loads_neither_the_api_nor_numpy_nor_pandas() -> None:
    probe = "import sys, driftwarden; print(sorted(m for m in sys.modules if m.split('.')[0] in"
    probe += " ('numpy', 'pandas') or m == 'driftwarden.api'))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_comparing_arrays_never_imports_pandas(baseline: Baseline, tmp_path: Path) -> None:
    # scikit-learn is a dev-only dependency (the performance tests' reference); when it is
    # installed, river's drift package imports it, and it imports pandas. Users' installs and
    # the image have no scikit-learn: the probe runs as if it were absent.
    probe = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np, driftwarden\n"
        "b = driftwarden.build_baseline({'x': np.arange(2000.0)})\n"
        "driftwarden.compare(b, {'x': np.arange(500.0)}).records()\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert out.strip() == "False"
