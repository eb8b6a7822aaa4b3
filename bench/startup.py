"""Start-up of `driftwarden replay` on an empty input: the fixed cost of every CLI run.

    python -m bench.startup VENV [VENV ...] [--runs 15] [--instructions]

Each VENV holds an installed driftwarden (the wheel and the locked runtime dependencies, as
`uv export --frozen --no-dev`). The replay is the honest one: it loads and validates the
configuration (defaults) and the bundled baseline, reads the empty file and writes its report.
A first run per venv writes the bytecode caches (PYTHONDONTWRITEBYTECODE is unset for the
children); then the venvs take turns, run by run, so a shared machine's load falls on all of
them alike. Prints the median wall time and the median CPU time (user + system, the less
disturbed of the two on a busy machine) per venv, and the load average before and after.
With `--instructions`, one more run per venv under valgrind's callgrind counts the main
process's instructions: slow (~1 min), but the same on an idle or a saturated machine.
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


def _command(venv: Path, work: Path) -> list[str]:
    empty = work / "empty.jsonl"
    empty.write_bytes(b"")
    command = [str(venv / "bin" / "python"), str(venv / "bin" / "driftwarden"), "replay"]
    return [
        *command,
        "--baseline",
        str(BASELINE),
        "--report",
        str(work / "report.json"),
        str(empty),
    ]


def _env() -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "DRIFTWARDEN_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run_once(venv: Path, work: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one empty replay."""
    cpu = _child_cpu()
    start = time.perf_counter()
    subprocess.run(_command(venv, work), cwd=work, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - start, _child_cpu() - cpu


def instructions(venv: Path, work: Path) -> int:
    """Instructions the replay's main process runs (callgrind; forked workers not counted)."""
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    done = subprocess.run(
        [*valgrind, *_command(venv, work)],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    pid = f"=={done.stderr.split('==', 2)[1]}=="  # the first process valgrind reports is ours
    (line,) = [x for x in done.stderr.splitlines() if x.startswith(pid) and "Collected" in x]
    return int(line.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venvs", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instructions", action="store_true")
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
        counted = {v: instructions(v, work) for v in args.venvs} if args.instructions else {}
    print(f"load average after: {os.getloadavg()}")
    for venv, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(f"{venv}: median of {len(samples)}: wall {wall:.3f} s, cpu {cpu:.3f} s")
        if venv in counted:
            print(f"{venv}: {counted[venv]:,} instructions (callgrind, main process)")


if __name__ == "__main__":
    main()
