"""Time Evidently's DataDriftPreset on the replay benchmark's windows.

Runs with the Python of a separate virtual environment that holds Evidently
(`.cache/bench/evidently-venv`, made by `bench.replay_throughput`), never with
driftwarden's: Evidently's pins must not constrain ours. So this file imports
neither driftwarden nor anything from this repository, only the standard
library, pandas and Evidently.

    python bench/evidently_worker.py --reference ref.parquet --numeric a,b \
        --categorical c,d --output out.json w1.parquet w2.parquet ...

For each window it times building the current `Dataset` and, separately,
`Report([DataDriftPreset()]).run(current, reference)` (wall and CPU time); the reference `Dataset`
is built once, outside the timings (the most favourable reading for Evidently).
It records which test Evidently chose per column, its value, threshold and
drift decision, and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def drifted(method: str, value: float, threshold: float) -> bool:
    """Evidently's decision: p-value tests drift below the threshold, distances at or above."""
    if "p_value" in method.lower().replace("-", "_"):
        return bool(value < threshold)
    return bool(value >= threshold)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("windows", nargs="+", type=Path)
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--numeric", required=True, help="comma-separated column names")
    parser.add_argument("--categorical", required=True, help="comma-separated column names")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_seconds = time.perf_counter() - started
    numeric = [c for c in args.numeric.split(",") if c]
    categorical = [c for c in args.categorical.split(",") if c]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference_frame = pd.read_parquet(args.reference, columns=numeric + categorical)
    reference = Dataset.from_pandas(reference_frame, data_definition=definition)

    results: list[dict[str, Any]] = []
    for path in args.windows:
        frame = pd.read_parquet(path, columns=numeric + categorical)
        t0 = time.perf_counter()
        current = Dataset.from_pandas(frame, data_definition=definition)
        t1, c1 = time.perf_counter(), time.process_time()
        snapshot = Report([DataDriftPreset()]).run(current, reference)
        t2, c2 = time.perf_counter(), time.process_time()
        columns: dict[str, Any] = {}
        summary: dict[str, Any] = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config["type"].endswith("ValueDrift"):
                method, threshold = config["method"], float(config["threshold"])
                value = float(metric["value"])
                columns[config["column"]] = {
                    "method": method,
                    "threshold": threshold,
                    "value": value,
                    "drift": drifted(method, value, threshold),
                }
            elif config["type"].endswith("DriftedColumnsCount"):
                summary = {
                    "count": float(metric["value"]["count"]),
                    "share": float(metric["value"]["share"]),
                }
        results.append(
            {
                "window": path.stem,
                "rows": len(frame),
                "dataset_seconds": t1 - t0,
                "report_seconds": t2 - t1,
                "report_cpu_seconds": c2 - c1,
                "columns": columns,
                "drifted_columns": summary,
            }
        )
        print(
            f"evidently {path.stem}: {len(frame):,} rows, report {t2 - t1:.2f} s",
            file=sys.stderr,
        )

    doc = {
        "evidently_version": evidently.__version__,
        "pandas_version": pd.__version__,
        "python": sys.version.split()[0],
        "reference_rows": len(reference_frame),
        "import_seconds": import_seconds,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "windows": results,
    }
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
