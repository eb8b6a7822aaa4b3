"""Write Evidently's DataDriftPreset HTML report for a reference and a current table.

Runs with the Python of the Evidently venv (`.cache/bench/evidently-venv`, see
`bench.replay_throughput.ensure_evidently_venv`), never with driftwarden's; it
imports only the standard library, pandas and Evidently.

    python bench/evidently_html_worker.py --reference ref.parquet --current cur.parquet \
        --numeric a,b --categorical c,d --html out.html --output out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--numeric", required=True)
    parser.add_argument("--categorical", required=True)
    parser.add_argument("--html", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in args.numeric.split(",") if c]
    categorical = [c for c in args.categorical.split(",") if c]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference = Dataset.from_pandas(
        pd.read_parquet(args.reference, columns=numeric + categorical), data_definition=definition
    )
    frame = pd.read_parquet(args.current, columns=numeric + categorical)
    current = Dataset.from_pandas(frame, data_definition=definition)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    ran = time.perf_counter() - started
    started = time.perf_counter()
    snapshot.save_html(str(args.html))
    saved = time.perf_counter() - started
    doc = {
        "evidently_version": evidently.__version__,
        "rows_current": len(frame),
        "columns": len(numeric) + len(categorical),
        "report_seconds": ran,
        "save_html_seconds": saved,
        "html_bytes": args.html.stat().st_size,
    }
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"evidently: {len(frame):,} rows, html {doc['html_bytes']:,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
