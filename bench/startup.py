"""Start-up of `driftwarden replay` on an empty input: the fixed cost of every CLI run.

    python -m bench.startup VENV [VENV ...] [--runs 15]

Each VENV holds an installed driftwarden (the wheel and the locked runtime dependencies, as
`uv export --frozen --no-dev`). The replay is the honest one: it loads and validates the
configuration (defaults) and the bundled baseline, reads the empty file and writes its report.
A first run per venv writes the bytecode caches (PYTHONDONTWRITEBYTECODE is unset for the
children); then the venvs take turns, run by run, so a shared machine's load falls on all of
them alike. Prints the median wall time and the median CPU time (user + system, the less
disturbed of the two on a busy machine) per venv, and the load average before and after.
Results go in docs/benchmarks.md ("Start-up").
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "examples" / "baselines" / "credit-risk"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(venv: Path, work: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one empty replay."""
    empty = work / "empty.jsonl"
    empty.write_bytes(b"")
    command = [str(venv / "bin" / "driftwarden"), "replay", "--baseline", str(BASELINE)]
    command += ["--report", str(work / "report.json"), str(empty)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in env.items() if not k.startswith("DRIFTWARDEN_")}
    cpu = _child_cpu()
    start = time.perf_counter()
    subprocess.run(command, cwd=work, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, _child_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venvs", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    times: dict[Path, list[tuple[float, float]]] = {v: [] for v in args.venvs}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for venv in args.venvs:
            run_once(venv, work)  # writes the bytecode caches
        for _ in range(args.runs):
            for venv in args.venvs:
                times[venv].append(run_once(venv, work))
    print(f"load average after: {os.getloadavg()}")
    for venv, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(f"{venv}: median of {len(samples)}: wall {wall:.3f} s, cpu {cpu:.3f} s")


if __name__ == "__main__":
    main()
