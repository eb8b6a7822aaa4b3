"""Replay throughput against msgspec decode-only and Evidently, and replay memory, in one run.

    uv run python -m bench.replay_throughput                  # the full run, updates docs
    uv run python -m bench.replay_throughput --events 200000 --memory-events 0 \
        --evidently-windows 2 --repeats 1 --no-docs            # a quick smoke run

What is measured (inputs from `bench/replay_data.py`, cached under `.cache/bench/`):

1. driftwarden: the real CLI, `python -m driftwarden.monitor.cli replay --baseline B --report R
   --dead-letter D --quiet FILE`, in a subprocess per repeat (wall time, CPU time
   and peak RSS from `os.wait4`); and the same `monitor.replay.runner.replay` path
   in-process (engine construction excluded), which is what the ratio to
   decode-only compares; and that path again with the decode workers the CLI
   starts by default (`decode_workers: auto`), their CPU time included. No
   config file: default 5-minute time windows, which hold 10,000 events on
   average at the generated rate.
2. msgspec decode-only: the same file read line by line, each line given to
   `msgspec.json.Decoder().decode`, nothing else.
3. Evidently's DataDriftPreset on a sample of the same windows against the same
   100k-row reference, in its own venv (`bench/evidently_worker.py`).
4. Peak RSS of the CLI on the file and on a file `--memory-factor` times longer.

Repeats are interleaved (CLI, in-process, decode-only, then again) so a busy
machine slows all of them alike; medians are reported, with CPU time beside
wall time, because CPU time is what other processes on the machine disturb least.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow.parquet as pq

from bench import replay_data as data
from bench.docs import DOCS, update_section
from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.config import load_settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.ingest.batch import ColumnValues, ModelBatch
from driftwarden.monitor.ingest.columns import categorical_column
from driftwarden.monitor.ingest.decode_pool import replay_workers
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.replay.runner import DEFAULT_BATCH, _blocks, replay
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.windows.window import WindowState
from driftwarden.monitor.windows.windowing import accumulate
from examples import synthetic

EVIDENTLY_PINS = ("evidently==0.7.23", "pandas<3", "pyarrow")
EVIDENTLY_VENV = data.CACHE / "evidently-venv"
RESULTS = Path("bench/results")
SECTION = "## Replay (issue 3)"
TARGET_DECODE_RATIO = 0.5
TARGET_EVIDENTLY_RATIO = 100.0
TARGET_RSS_GROWTH = 0.10


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    peak_rss_kib: int | None = None

    def rate(self, events: int) -> tuple[float, float]:
        return events / self.wall, events / self.cpu


# --- measurements -----------------------------------------------------------------------


# Linux carries the pre-exec memory's high-water mark into a child's ru_maxrss, and
# a child forked from this process starts with all of our memory mapped. So each
# measured command runs under this small launcher, whose own peak (~10 MiB) is the
# floor of what the measured command can report.
_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1], "wb"))
_, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
"""


def _child_environment() -> dict[str, str]:
    """Our environment, but letting Python cache bytecode as any normal install does.

    With PYTHONDONTWRITEBYTECODE set (this machine sets it), every start of the
    CLI compiles scipy's and river's sources again: about 3.6 s here, which no
    user who installed driftwarden pays. The first (untimed) run writes the cache.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(command: Sequence[str], stderr: Path) -> Timing:
    """Run a command; wall time, its CPU time and its own peak RSS (KiB)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(stderr), *command],
        check=True,
        capture_output=True,
        text=True,
        env=_child_environment(),
    ).stdout.split()
    wall = time.perf_counter() - started
    code, cpu, rss = int(out[0]), float(out[1]), int(out[2])
    if code != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {code}; see {stderr}")
    return Timing(wall, cpu, rss)


def cli_replay(events: Path, baseline: Path, workdir: Path, *, report: bool = True) -> Timing:
    command = [
        sys.executable,
        "-m",
        "driftwarden.monitor.cli",
        "replay",
        "--baseline",
        str(baseline),
    ]
    if report:
        command += ["--report", str(workdir / "report.json")]
    command += ["--dead-letter", str(workdir / "dead-letter.jsonl"), "--quiet", str(events)]
    return run_child(command, workdir / "replay.stderr")


def path_replay(events: Path, baseline: Path, workdir: Path) -> Timing:
    """`monitor.replay.runner.replay` alone (no report) in a subprocess, for its peak RSS."""
    command = [sys.executable, "-m", "bench.replay_memory", "--baseline", str(baseline)]
    return run_child([*command, str(events)], workdir / "replay_memory.stderr")


def in_process_replay(
    events: Path, baseline: Baseline, *, workers: int = 0
) -> tuple[Timing, dict[str, Any]]:
    """`monitor.replay.runner.replay` in this process; with `workers`, through a decode pool
    (started and stopped inside the timing; its CPU time, taken when the workers
    have exited, is added)."""
    engine = Engine([baseline], load_settings(None))
    closed: list[int] = [0]

    def count(_: Any) -> None:  # verdicts streamed, not kept, as the CLI does
        closed[0] += 1

    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    pool = None
    if workers:
        pool = start_decode_pool(engine, workers)
    try:
        replay(engine, [str(events)], on_verdict=count, pool=pool)
    finally:
        if pool is not None:
            pool.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = (children.ru_utime - children0.ru_utime) + (
        children.ru_stime - children0.ru_stime
    )
    timing = Timing(time.perf_counter() - wall0, time.process_time() - cpu0 + children_cpu)
    counts = engine.counts.to_dict()
    counts["windows"] = closed[0]
    return timing, counts


def decode_only(events: Path) -> tuple[Timing, int]:
    decode = msgspec.json.Decoder().decode
    lines = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with events.open("rb") as handle:
        for line in handle:
            decode(line)
            lines += 1
    return Timing(time.perf_counter() - wall0, time.process_time() - cpu0), lines


def breakdown(events: Path, baseline: Baseline, *, count: int = 200_000) -> dict[str, float]:
    """Where the replay path's time goes, in CPU microseconds per event (first `count` lines).

    Stages are timed cumulatively on batches of `DEFAULT_BATCH` lines, as `replay` cuts them:
    reading the file into line blocks; decoding them into columns; the whole
    engine (decode, windows, verdicts at close). Evaluation per window is timed apart.
    """
    with events.open("rb") as handle:
        data = b"".join(line for _, line in zip(range(count), handle, strict=False))
    block = LineBlock.scan(data, 0, len(data) - 1, first=1, max_length=1 << 20)
    if block is None:
        raise RuntimeError(f"{events} is not one JSON object per line")
    n = len(block)
    batches = [block[i : i + DEFAULT_BATCH] for i in range(0, n, DEFAULT_BATCH)]

    def cpu(run: Any) -> float:
        started = time.process_time()
        run()
        return (time.process_time() - started) / n * 1e6

    def read_lines() -> None:
        with events.open("rb") as handle:
            taken = 0
            for item in _blocks(handle, 1 << 20):
                if isinstance(item, LineBlock):
                    taken += len(item)
                else:
                    taken += len(list(map(bytes.strip, item[1])))
                if taken >= n:
                    break

    decoder_engine = Engine([baseline], load_settings(None))

    def decode() -> None:
        for batch in batches:
            decoder_engine.decoder.decode(batch)

    def whole() -> None:
        engine = Engine([baseline], load_settings(None))
        for batch in batches:
            engine.process(batch)
        engine.close_all()

    return {
        "events": n,
        "batch": DEFAULT_BATCH,
        "read_and_split_us": min(cpu(read_lines) for _ in range(3)),
        "decode_to_columns_us": min(cpu(decode) for _ in range(3)),
        "engine_total_us": min(cpu(whole) for _ in range(3)),
    }


def median_rates(timings: Sequence[Timing], events: int) -> dict[str, float]:
    return {
        "events_per_s_wall": statistics.median(events / t.wall for t in timings),
        "events_per_s_cpu": statistics.median(events / t.cpu for t in timings),
        "seconds_wall": statistics.median(t.wall for t in timings),
        "seconds_cpu": statistics.median(t.cpu for t in timings),
    }


# --- Evidently --------------------------------------------------------------------------


def ensure_evidently_venv() -> Path:
    """A venv that holds Evidently and nothing of ours; made once, then reused."""
    python = EVIDENTLY_VENV / "bin" / "python"
    marker = EVIDENTLY_VENV / ".installed"
    if marker.exists() and marker.read_text() == "\n".join(EVIDENTLY_PINS) and python.exists():
        return python
    print(f"creating {EVIDENTLY_VENV} with {' '.join(EVIDENTLY_PINS)} (a few minutes cold)")
    if not python.exists():
        subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(EVIDENTLY_VENV)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(python), *EVIDENTLY_PINS], check=True
    )
    marker.write_text("\n".join(EVIDENTLY_PINS))
    return python


def run_evidently(
    python: Path, reference: Path, windows: dict[int, Path], baseline: Baseline, out: Path
) -> tuple[dict[str, Any], Timing]:
    numeric = [c.name for c in baseline.columns if c.kind == "numeric"]
    categorical = [c.name for c in baseline.columns if c.kind != "numeric"]
    command = [
        str(python),
        "bench/evidently_worker.py",
        "--reference",
        str(reference),
        "--numeric",
        ",".join(numeric),
        "--categorical",
        ",".join(categorical),
        "--output",
        str(out),
        *(str(windows[k]) for k in sorted(windows)),
    ]
    timing = run_child(command, out.with_suffix(".stderr"))
    return json.loads(out.read_text()), timing


def in_memory_drift(tables: dict[int, Path], baseline: Baseline) -> dict[str, Any]:
    """driftwarden's statistics on the very windows Evidently gets, already in memory.

    The counterpart of Evidently's `Dataset.from_pandas` + `Report.run`: from
    numpy columns (read from the same Parquet files, outside the timing) to the
    engine's column values (category codes; numeric values with their missing
    mask, as `numeric_column` gives them for floats and nulls), window counts
    (`accumulate`) and the evaluator's verdict. No JSON, no files.
    """
    layout = ModelLayout.from_baseline(baseline)
    policy = load_settings(None).policy_for(baseline.model_id)
    seconds, cpu, rows, evaluating = 0.0, 0.0, 0, 0.0
    keys = sorted(tables)
    # The first window runs twice: once untimed (first calls warm caches), then timed
    # with a fresh evaluator, so the timed windows see a clean tier history.
    for timed, key in [(False, keys[0]), *((True, k) for k in keys)]:
        if not timed or key == keys[0]:
            evaluator = ModelEvaluator(layout, policy)
        table = pq.read_table(tables[key])
        raw = {
            name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names
        }
        n = table.num_rows
        started, cpu_started = time.perf_counter(), time.process_time()
        columns = []
        for slot in layout.columns:
            if slot.kind == "numeric":
                values = np.asarray(raw[slot.name], dtype=np.float64)
                columns.append(ColumnValues(values, np.isnan(values), np.zeros(n, dtype=bool)))
            else:
                columns.append(categorical_column(raw[slot.name].tolist(), slot))
        batch = ModelBatch(
            model_id=layout.model_id,
            index=np.arange(n, dtype=np.int64),
            timestamps=np.full(n, key * data.WINDOW_SECONDS),
            request_ids=[None] * n,
            columns=columns,
            unknown=np.zeros(n, dtype=np.int64),
        )
        state: dict[int, WindowState] = {}
        accumulate(layout, batch, np.full(n, key, dtype=np.int64), state)
        evaluation_started = time.perf_counter()
        evaluator.evaluate(
            state[key],
            window_index=key,
            start=key * data.WINDOW_SECONDS,
            end=(key + 1) * data.WINDOW_SECONDS,
        )
        if timed:
            cpu += time.process_time() - cpu_started
            seconds += time.perf_counter() - started
            evaluating += time.perf_counter() - evaluation_started
            rows += n
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "rows_per_s_cpu": rows / cpu,
        "evaluate_ms_per_window": evaluating / len(tables) * 1e3,
    }


def side_by_side(
    report: dict[str, Any], evidently: dict[str, Any], baseline: Baseline
) -> list[dict[str, Any]]:
    """Per sampled window and column: Evidently's test and decision, driftwarden's verdict."""
    ours = {w["window_index"]: w for w in report["windows"]}
    kinds = {c.name: c.kind for c in baseline.columns}
    rows = []
    for window in evidently["windows"]:
        key = int(window["window"].lstrip("w"))
        verdict = ours.get(key)
        if verdict is None:
            continue
        columns = {c["column"]: c for c in verdict["columns"]}
        for name, theirs in window["columns"].items():
            mine = columns[name]
            stats = mine["statistics"]
            comparable = "wasserstein" if kinds[name] == "numeric" else "js"
            rows.append(
                {
                    "window": key,
                    "window_start": verdict["start"],
                    "events_driftwarden": verdict["events"],
                    "rows_evidently": window["rows"],
                    "column": name,
                    "kind": kinds[name],
                    "evidently_method": theirs["method"],
                    "evidently_threshold": theirs["threshold"],
                    "evidently_value": theirs["value"],
                    "evidently_drift": theirs["drift"],
                    "driftwarden_statistic": comparable,
                    "driftwarden_value": stats.get(comparable),
                    "driftwarden_psi": stats.get("psi"),
                    "driftwarden_condition": mine["condition"],
                    "driftwarden_tier": mine["tier"],
                }
            )
    return rows


# --- the run ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "msgspec": msgspec.__version__,
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--memory-factor",
        type=int,
        default=10,
        help="peak RSS is also measured on a stream this many times longer (0: skip)",
    )
    parser.add_argument("--memory-repeats", type=int, default=1)
    parser.add_argument("--evidently-windows", type=int, default=12, help="0 skips Evidently")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: write the docs section from an earlier results file",
    )
    args = parser.parse_args(argv)
    if args.render:
        section = render(json.loads(args.render.read_text()))
        print(section)
        if not args.no_docs:
            update_section(DOCS, SECTION, section)
            print(f"updated {DOCS}")
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    command = "uv run python -m bench.replay_throughput" + (
        " " + shlex.join(sys.argv[1:] if argv is None else list(argv))
        if (sys.argv[1:] if argv is None else argv)
        else ""
    )
    began = time.perf_counter()
    stamp = datetime.now(UTC)
    workdir = data.CACHE / "run"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "command": command,
        "date_utc": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_start": load_average(),
    }

    log = data.EventLog(args.events)
    events_path, generated = data.ensure_event_log(log)
    baseline_path, baseline = data.ensure_baseline()
    results["data"] = {
        "events": args.events,
        "file": str(events_path),
        "file_bytes": events_path.stat().st_size,
        "generated_seconds": generated,
        "columns": len(synthetic.COLUMNS),
        "features": len(synthetic.FEATURES),
        "outputs": len(synthetic.OUTPUTS),
        "rate_per_second": data.RATE,
        "window": "time, 5m (driftwarden default, no config file), "
        f"{data.EVENTS_PER_WINDOW:,} events per window on average",
        "drift": "from half-way: amount +0.5 sigma, country 'XX' at 5%",
        "reference_rows": data.REFERENCE_ROWS,
        "baseline": str(baseline_path),
    }

    # An untimed warm-up: the children's bytecode caches are written on this run.
    warmup = workdir / "warmup.jsonl"
    with events_path.open("rb") as source:
        warmup.write_bytes(b"".join(line for _, line in zip(range(1000), source, strict=False)))
    startup = cli_replay(warmup, baseline_path, workdir)
    startup = cli_replay(warmup, baseline_path, workdir)
    results["cli_startup_seconds"] = startup.wall
    print(f"CLI start-up (1,000 events): {startup.wall:.2f} s")

    # Throughput: interleaved repeats.
    cli: list[Timing] = []
    inproc: list[Timing] = []
    pooled: list[Timing] = []
    decode: list[Timing] = []
    counts: dict[str, Any] = {}
    workers = replay_workers("auto")  # what the CLI uses here by default
    for repeat in range(args.repeats):
        cli.append(cli_replay(events_path, baseline_path, workdir))
        timing, counts = in_process_replay(events_path, baseline)
        inproc.append(timing)
        if workers:
            timing, pooled_counts = in_process_replay(events_path, baseline, workers=workers)
            pooled.append(timing)
            if pooled_counts != counts:
                raise RuntimeError(f"decode workers changed the counts: {pooled_counts}")
        timing, lines = decode_only(events_path)
        decode.append(timing)
        print(
            f"repeat {repeat + 1}/{args.repeats}: cli {args.events / cli[-1].wall:,.0f}/s, "
            f"in-process {args.events / inproc[-1].wall:,.0f}/s"
            + (f", with {workers} workers {args.events / pooled[-1].wall:,.0f}/s" if pooled else "")
            + f", decode-only {args.events / decode[-1].wall:,.0f}/s (wall)"
        )
    if lines != args.events or counts["accepted"] != args.events:
        raise RuntimeError(f"expected {args.events} events, decode saw {lines}, replay {counts}")
    report = json.loads((workdir / "report.json").read_text())
    throughput = {
        "driftwarden_cli": median_rates(cli, args.events),
        "driftwarden_in_process": median_rates(inproc, args.events),
        "decode_only": median_rates(decode, args.events),
        "runs": {
            "driftwarden_cli": [asdict(t) for t in cli],
            "driftwarden_in_process": [asdict(t) for t in inproc],
            "driftwarden_workers": [asdict(t) for t in pooled],
            "decode_only": [asdict(t) for t in decode],
        },
        "replay_counts": counts,
        "decode_workers": workers,
    }
    if pooled:
        throughput["driftwarden_workers"] = median_rates(pooled, args.events)
    for basis in ("wall", "cpu"):
        key = f"events_per_s_{basis}"
        base = throughput["decode_only"][key]
        throughput[f"ratio_in_process_to_decode_{basis}"] = (
            throughput["driftwarden_in_process"][key] / base
        )
        throughput[f"ratio_cli_to_decode_{basis}"] = throughput["driftwarden_cli"][key] / base
        if pooled:
            throughput[f"ratio_workers_to_decode_{basis}"] = (
                throughput["driftwarden_workers"][key] / base
            )
    throughput["breakdown"] = breakdown(events_path, baseline)
    results["throughput"] = throughput

    # Memory: peak RSS on the file and on a longer one, of the CLI and of the path alone.
    memory: dict[str, Any] = {
        "events_small": args.events,
        "cli_peak_rss_kib_small": statistics.median(t.peak_rss_kib or 0 for t in cli),
    }
    if args.memory_factor > 1:
        big = data.EventLog(args.events * args.memory_factor)
        big_path, big_generated = data.ensure_event_log(big)
        runs = [cli_replay(big_path, baseline_path, workdir) for _ in range(args.memory_repeats)]
        path_small = [path_replay(events_path, baseline_path, workdir)]
        path_big = [path_replay(big_path, baseline_path, workdir)]
        memory.update(
            {
                "events_large": big.events,
                "generated_seconds_large": big_generated,
                "cli_peak_rss_kib_large": statistics.median(t.peak_rss_kib or 0 for t in runs),
                "path_peak_rss_kib_small": path_small[0].peak_rss_kib,
                "path_peak_rss_kib_large": path_big[0].peak_rss_kib,
                "cli_large_runs": [asdict(t) for t in runs],
                "path_runs": [asdict(t) for t in path_small + path_big],
                "cli_large_events_per_s_wall": big.events / statistics.median(t.wall for t in runs),
            }
        )
        for what in ("cli", "path"):
            small = memory[f"{what}_peak_rss_kib_small"]
            memory[f"{what}_growth"] = memory[f"{what}_peak_rss_kib_large"] / small - 1.0
        print(
            f"peak RSS, CLI: {memory['cli_peak_rss_kib_small'] / 1024:,.0f} MiB at "
            f"{args.events:,} events, {memory['cli_peak_rss_kib_large'] / 1024:,.0f} MiB at "
            f"{big.events:,} ({memory['cli_growth']:+.1%}); replay path alone: "
            f"{memory['path_peak_rss_kib_small'] / 1024:,.0f} -> "
            f"{memory['path_peak_rss_kib_large'] / 1024:,.0f} MiB ({memory['path_growth']:+.1%})"
        )
    results["memory"] = memory

    # Evidently on a sample of the same windows.
    if args.evidently_windows > 0:
        python = ensure_evidently_venv()
        keys = data.sample_windows(log, args.evidently_windows)
        tables = data.ensure_window_tables(log, keys)
        evidently, worker = run_evidently(
            python, data.ensure_reference_parquet(), tables, baseline, workdir / "evidently.json"
        )
        rows = sum(w["rows"] for w in evidently["windows"])
        report_seconds = sum(w["report_seconds"] for w in evidently["windows"])
        dataset_seconds = sum(w["dataset_seconds"] for w in evidently["windows"])
        ours = throughput["driftwarden_cli"]["events_per_s_wall"]
        methods = sorted(
            {
                (c["method"], c["threshold"])
                for w in evidently["windows"]
                for c in w["columns"].values()
            }
        )
        comparison = side_by_side(report, evidently, baseline)
        report_cpu = sum(w["report_cpu_seconds"] for w in evidently["windows"])
        in_memory = in_memory_drift(tables, baseline)
        in_memory["ratio_to_evidently"] = in_memory["rows_per_s"] / (rows / report_seconds)
        in_memory["ratio_to_evidently_cpu"] = in_memory["rows_per_s_cpu"] / (rows / report_cpu)
        in_process = throughput["driftwarden_in_process"]["events_per_s_wall"]
        in_process_cpu = throughput["driftwarden_in_process"]["events_per_s_cpu"]
        cli_cpu = throughput["driftwarden_cli"]["events_per_s_cpu"]
        results["evidently"] = {
            "version": evidently["evidently_version"],
            "pandas": evidently["pandas_version"],
            "windows": len(evidently["windows"]),
            "rows": rows,
            "rows_per_s_report": rows / report_seconds,
            "rows_per_s_report_cpu": rows / report_cpu,
            "rows_per_s_report_and_dataset": rows / (report_seconds + dataset_seconds),
            "median_window_seconds": statistics.median(
                w["report_seconds"] for w in evidently["windows"]
            ),
            "peak_rss_kib": evidently["peak_rss_kib"],
            "worker_wall_seconds": worker.wall,
            "methods": [{"method": m, "threshold": t} for m, t in methods],
            "methods_by_kind": _methods_by_kind(comparison),
            "ratio_driftwarden_cli_to_evidently": ours / (rows / report_seconds),
            "ratio_driftwarden_in_process_to_evidently": in_process / (rows / report_seconds),
            "ratio_driftwarden_cli_to_evidently_cpu": cli_cpu / (rows / report_cpu),
            "ratio_driftwarden_in_process_to_evidently_cpu": in_process_cpu / (rows / report_cpu),
            **(
                {
                    "ratio_driftwarden_workers_to_evidently": throughput["driftwarden_workers"][
                        "events_per_s_wall"
                    ]
                    / (rows / report_seconds),
                    "ratio_driftwarden_workers_to_evidently_cpu": throughput["driftwarden_workers"][
                        "events_per_s_cpu"
                    ]
                    / (rows / report_cpu),
                }
                if "driftwarden_workers" in throughput
                else {}
            ),
            "driftwarden_in_memory": in_memory,
            "agreement": _agreement(comparison),
            "side_by_side": comparison,
            "per_window": evidently["windows"],
        }
        print(
            f"evidently: {rows / report_seconds:,.0f} rows/s over {len(evidently['windows'])} "
            f"windows; driftwarden CLI / evidently = "
            f"{results['evidently']['ratio_driftwarden_cli_to_evidently']:,.0f}x"
        )

    results["load_average_end"] = load_average()
    results["total_seconds"] = time.perf_counter() - began
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"replay_throughput-{stamp:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out}")
    section = render(results)
    print(section)
    if not args.no_docs:
        update_section(DOCS, SECTION, section)
        print(f"updated {DOCS}")
    return 0


def _methods_by_kind(rows: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["kind"], set()).add(
            f"{row['evidently_method']} (threshold {row['evidently_threshold']:g})"
        )
    return {kind: sorted(methods) for kind, methods in sorted(found.items())}


def _agreement(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Column-windows where each tool flags drift (driftwarden: any condition above none)."""
    out = {"column_windows": len(rows), "both": 0, "evidently_only": 0, "driftwarden_only": 0}
    for row in rows:
        theirs, mine = row["evidently_drift"], row["driftwarden_condition"] != "none"
        if theirs and mine:
            out["both"] += 1
        elif theirs:
            out["evidently_only"] += 1
        elif mine:
            out["driftwarden_only"] += 1
    out["neither"] = out["column_windows"] - out["both"] - out["evidently_only"]
    out["neither"] -= out["driftwarden_only"]
    return out


# --- the markdown section ---------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def render(results: dict[str, Any]) -> str:
    m, t, d = results["machine"], results["throughput"], results["data"]
    mem, ev = results["memory"], results.get("evidently")
    lines = [
        SECTION,
        "",
        f"Measured {results['date_utc']} with `{results['command']}` "
        f"({results['total_seconds'] / 60:.1f} min in all).",
        "",
        f"Machine: {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}, "
        f"msgspec {m['msgspec']}; load average {results['load_average_start']} at the start "
        f"and {results['load_average_end']} at the end (the machine is shared; CPU time is "
        "shown beside wall time because it is the less disturbed of the two).",
        "",
        f"Data: {d['events']:,} events of the synthetic credit-risk model "
        f"({d['features']} features + {d['outputs']} outputs = {d['columns']} columns) as "
        f"JSONL ({d['file_bytes'] / 2**20:,.0f} MiB), {d['rate_per_second']:.2f} events/s of "
        f"event time; windows: {d['window']}; drift {d['drift']}; reference "
        f"{d['reference_rows']:,} rows (the baseline's training table). Medians of "
        f"{len(t['runs']['decode_only'])} interleaved repeats.",
        "",
        "| measurement | events/s (wall) | events/s (CPU) | ratio to decode-only "
        "(wall / CPU) | target |",
        "|---|---:|---:|---:|---|",
        f"| msgspec decode-only (read lines, `Decoder().decode` each) | "
        f"{_rate(t['decode_only']['events_per_s_wall'])} | "
        f"{_rate(t['decode_only']['events_per_s_cpu'])} | 1 | |",
        f"| driftwarden replay, in-process (`monitor.replay.runner.replay`) | "
        f"{_rate(t['driftwarden_in_process']['events_per_s_wall'])} | "
        f"{_rate(t['driftwarden_in_process']['events_per_s_cpu'])} | "
        f"{t['ratio_in_process_to_decode_wall']:.2f}x / "
        f"{t['ratio_in_process_to_decode_cpu']:.2f}x | >= {TARGET_DECODE_RATIO}x |",
        *(
            [
                f"| driftwarden replay, in-process with {t['decode_workers']} decode workers "
                f"(several processes: not comparable with the line above) | "
                f"{_rate(t['driftwarden_workers']['events_per_s_wall'])} | "
                f"{_rate(t['driftwarden_workers']['events_per_s_cpu'])} | "
                f"{t['ratio_workers_to_decode_wall']:.2f}x / "
                f"{t['ratio_workers_to_decode_cpu']:.2f}x | |"
            ]
            if "driftwarden_workers" in t
            else []
        ),
        f"| driftwarden replay CLI, end to end (start-up, report, in a subprocess; "
        f"{_cli_workers(t)}) | "
        f"{_rate(t['driftwarden_cli']['events_per_s_wall'])} | "
        f"{_rate(t['driftwarden_cli']['events_per_s_cpu'])} | "
        f"{t['ratio_cli_to_decode_wall']:.2f}x / {t['ratio_cli_to_decode_cpu']:.2f}x | |",
    ]
    if ev:
        mem_ev = ev["driftwarden_in_memory"]
        lines += [
            "",
            "| against Evidently, same windows and reference | rows/s (wall) | rows/s (CPU) "
            "| driftwarden / Evidently (wall / CPU) | target |",
            "|---|---:|---:|---:|---|",
            f"| Evidently {ev['version']} DataDriftPreset, {ev['windows']} windows "
            f"({ev['rows']:,} rows), `Report.run` on pandas data | "
            f"{_rate(ev['rows_per_s_report'])} | {_rate(ev['rows_per_s_report_cpu'])} | 1 | |",
            f"| driftwarden replay CLI, end to end from JSONL | "
            f"{_rate(t['driftwarden_cli']['events_per_s_wall'])} | "
            f"{_rate(t['driftwarden_cli']['events_per_s_cpu'])} | "
            f"**{ev['ratio_driftwarden_cli_to_evidently']:,.0f}x / "
            f"{ev['ratio_driftwarden_cli_to_evidently_cpu']:,.0f}x** | "
            f">= {TARGET_EVIDENTLY_RATIO:.0f}x |",
            f"| driftwarden replay, in-process, from JSONL (one process) | "
            f"{_rate(t['driftwarden_in_process']['events_per_s_wall'])} | "
            f"{_rate(t['driftwarden_in_process']['events_per_s_cpu'])} | "
            f"{ev['ratio_driftwarden_in_process_to_evidently']:,.0f}x / "
            f"{ev['ratio_driftwarden_in_process_to_evidently_cpu']:,.0f}x | |",
            *(
                [
                    f"| driftwarden replay, in-process, from JSONL, {t['decode_workers']} "
                    f"decode workers | {_rate(t['driftwarden_workers']['events_per_s_wall'])} | "
                    f"{_rate(t['driftwarden_workers']['events_per_s_cpu'])} | "
                    f"{ev['ratio_driftwarden_workers_to_evidently']:,.0f}x / "
                    f"{ev['ratio_driftwarden_workers_to_evidently_cpu']:,.0f}x | |"
                ]
                if "ratio_driftwarden_workers_to_evidently" in ev
                else []
            ),
            f"| driftwarden on the same windows already in memory (column codes, window "
            f"counts, verdict; no JSON) | {_rate(mem_ev['rows_per_s'])} | "
            f"{_rate(mem_ev['rows_per_s_cpu'])} | {mem_ev['ratio_to_evidently']:,.0f}x / "
            f"{mem_ev['ratio_to_evidently_cpu']:,.0f}x | |",
        ]
    lines += [
        "",
        f"The CLI's fixed start-up (imports, baseline load, report; measured on 1,000 events) "
        f"is {results['cli_startup_seconds']:.1f} s of each CLI run, with Python's bytecode "
        "cache in place as after any install (this machine sets PYTHONDONTWRITEBYTECODE, "
        "which the benchmark unsets for its children: otherwise every start compiles scipy "
        "and river again, about 3.6 s more).",
        "",
    ]
    if "events_large" in mem:
        factor = mem["events_large"] // mem["events_small"]
        lines += [
            f"| peak RSS | {mem['events_small']:,} events | {mem['events_large']:,} events "
            f"| growth for a {factor}x longer stream (target < {TARGET_RSS_GROWTH:.0%}) |",
            "|---|---:|---:|---:|",
            f"| replay CLI (JSON report; window records spooled to disk as windows close) | "
            f"{mem['cli_peak_rss_kib_small'] / 1024:,.0f} MiB | "
            f"{mem['cli_peak_rss_kib_large'] / 1024:,.0f} MiB | {mem['cli_growth']:+.1%} |",
            f"| replay path alone (`monitor.replay.runner.replay`, verdicts streamed to a counter; "
            f"`bench/replay_memory.py`) "
            f"| {mem['path_peak_rss_kib_small'] / 1024:,.0f} MiB | "
            f"{mem['path_peak_rss_kib_large'] / 1024:,.0f} MiB | {mem['path_growth']:+.1%} |",
            "",
        ]
    if ev:
        lines += [
            f"Evidently: {ev['rows_per_s_report']:,.0f} rows/s for `Report.run` alone "
            f"({ev['rows_per_s_report_and_dataset']:,.0f} rows/s with building the current "
            f"`Dataset`), median {ev['median_window_seconds']:.2f} s per window, peak RSS "
            f"{ev['peak_rss_kib'] / 1024:,.0f} MiB; the reference `Dataset` was built once, "
            "outside the timings. Tests it chose (reference of 100k rows): "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in ev["methods_by_kind"].items())
            + ".",
            "",
        ]
        a = ev["agreement"]
        lines += [
            f"Verdicts over the {ev['windows']} sampled windows ({a['column_windows']} "
            f"column-windows): both flag {a['both']}, only Evidently {a['evidently_only']}, "
            f"only driftwarden {a['driftwarden_only']}, neither {a['neither']} "
            "(driftwarden counts a column as flagged when its window condition is above none, "
            "before the 2-window sustain that raises a tier).",
            "",
        ]
        lines += _side_by_side_tables(ev["side_by_side"])
    lines += _where_time_goes(results)
    lines += ["### Interpretation", "", interpretation(results), ""]
    return "\n".join(lines)


def _side_by_side_tables(rows: Sequence[dict[str, Any]]) -> list[str]:
    by_window: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_window.setdefault(row["window"], []).append(row)
    keys = sorted(by_window)
    if not keys:
        return []
    flagged = [k for k in keys if any(r["evidently_drift"] for r in by_window[k])]
    chosen = [keys[0]]
    if len(flagged) > 1:
        chosen.append(flagged[1])  # the second drifted window: driftwarden's sustain has run
    elif flagged:
        chosen.append(flagged[0])
    elif len(keys) > 1:
        chosen.append(keys[-1])
    out: list[str] = []
    for key in dict.fromkeys(chosen):
        members = by_window[key]
        first = members[0]
        out += [
            f"Window starting {first['window_start']} ({first['events_driftwarden']:,} events):",
            "",
            "| column | kind | Evidently test | value | drift | driftwarden W1 (in baseline "
            "std) / JS | PSI | condition | tier |",
            "|---|---|---|---:|---|---:|---:|---|---|",
        ]
        for r in members:
            out.append(
                f"| {r['column']} | {r['kind']} | {r['evidently_method']} | "
                f"{r['evidently_value']:.3f} | {'yes' if r['evidently_drift'] else 'no'} | "
                f"{_num(r['driftwarden_value'])} | {_num(r['driftwarden_psi'])} | "
                f"{r['driftwarden_condition']} | {r['driftwarden_tier']} |"
            )
        out.append("")
    return out


def _cli_workers(t: dict[str, Any]) -> str:
    workers = t.get("decode_workers")
    if workers is None:
        return "decoding in its own process"
    return f"defaults: `decode_workers: auto` = {workers} decode workers here"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def interpretation(results: dict[str, Any]) -> str:
    t, mem, ev = results["throughput"], results["memory"], results.get("evidently")
    ratio_cpu = t["ratio_in_process_to_decode_cpu"]
    ratio_wall = t["ratio_in_process_to_decode_wall"]
    met = min(ratio_cpu, ratio_wall) >= TARGET_DECODE_RATIO
    parts = [
        f"driftwarden's replay path runs at {ratio_cpu:.2f}x the speed of decoding the same "
        f"lines with msgspec and doing nothing else ({ratio_wall:.2f}x by wall time): "
        + ("the" if met else "short of the")
        + f" {TARGET_DECODE_RATIO}x target"
        + (
            "."
            if met
            else ", because decoding into typed structs is only part of its work: building "
            "numpy columns, counting windows and evaluating verdicts come on top (see where "
            "the time goes below)."
        )
    ]
    if ev:
        mem_ev = ev["driftwarden_in_memory"]
        parts.append(
            f"Against Evidently's DataDriftPreset on the same windows and reference it is "
            f"{ev['ratio_driftwarden_cli_to_evidently']:,.0f}x faster by wall time "
            f"({ev['ratio_driftwarden_cli_to_evidently_cpu']:,.0f}x by CPU time) through the "
            f"CLI end to end (JSON decoding, the fixed start-up and the report on our side, "
            f"only `Report.run` on data already in pandas on Evidently's), "
            f"{ev['ratio_driftwarden_in_process_to_evidently']:,.0f}x "
            f"({ev['ratio_driftwarden_in_process_to_evidently_cpu']:,.0f}x) through the "
            f"in-process replay path in one process, "
            + (
                f"{ev['ratio_driftwarden_workers_to_evidently']:,.0f}x "
                f"({ev['ratio_driftwarden_workers_to_evidently_cpu']:,.0f}x) with "
                f"{t['decode_workers']} decode workers (Evidently used "
                f"{ev['rows_per_s_report'] / ev['rows_per_s_report_cpu']:.1f} CPUs' worth of "
                "time per second of its run), "
                if "ratio_driftwarden_workers_to_evidently" in ev
                else ""
            )
            + f"and {mem_ev['ratio_to_evidently']:,.0f}x "
            f"({mem_ev['ratio_to_evidently_cpu']:,.0f}x) on the same windows already in "
            f"memory, the like-for-like comparison of the drift computation. "
            + _target_sentence(ev)
        )
        parts.append(
            "Both tools flag the same columns on the sampled windows; driftwarden's JS "
            "distance for a column with a new category is small because effect sizes compare "
            "only categories the baseline knows, and the new category is flagged by its own "
            "data-quality check."
        )
    if "cli_growth" in mem:
        factor = mem["events_large"] // mem["events_small"]
        growths = (mem["path_growth"], mem["cli_growth"])
        verdict = (
            "meeting the target"
            if max(growths) < TARGET_RSS_GROWTH
            else "missing the target"
            if min(growths) >= TARGET_RSS_GROWTH
            else "meeting the target for one of the two"
        )
        parts.append(
            f"When the stream grows {factor}x, peak RSS grows {mem['path_growth']:+.1%} for "
            f"the replay path and {mem['cli_growth']:+.1%} for the CLI, {verdict} of < "
            f"{TARGET_RSS_GROWTH:.0%}: window state is a fixed set of arrays (models x columns "
            "x bins) and closed windows leave memory as verdicts (the CLI spools its report "
            "records to disk), so memory does not follow the length of the stream."
        )
    return " ".join(parts)


def _target_sentence(ev: dict[str, Any]) -> str:
    met = [
        name
        for name, ratio, ratio_cpu in (
            (
                "end to end",
                ev["ratio_driftwarden_cli_to_evidently"],
                ev["ratio_driftwarden_cli_to_evidently_cpu"],
            ),
            (
                "in-process",
                ev["ratio_driftwarden_in_process_to_evidently"],
                ev["ratio_driftwarden_in_process_to_evidently_cpu"],
            ),
            (
                "in-process with decode workers",
                ev.get("ratio_driftwarden_workers_to_evidently", 0.0),
                ev.get("ratio_driftwarden_workers_to_evidently_cpu", 0.0),
            ),
            (
                "in memory",
                ev["driftwarden_in_memory"]["ratio_to_evidently"],
                ev["driftwarden_in_memory"]["ratio_to_evidently_cpu"],
            ),
        )
        if min(ratio, ratio_cpu) >= TARGET_EVIDENTLY_RATIO
    ]
    if not met:
        return f"The {TARGET_EVIDENTLY_RATIO:.0f}x target is not met by any of these."
    return f"The {TARGET_EVIDENTLY_RATIO:.0f}x target is met {', '.join(met)}" + (
        "." if "end to end" in met else ", not end to end."
    )


def _where_time_goes(results: dict[str, Any]) -> list[str]:
    t, ev = results["throughput"], results.get("evidently")
    b = t.get("breakdown")
    if not b:
        return []
    decode_only = 1e6 / t["decode_only"]["events_per_s_cpu"]
    engine = b["engine_total_us"]
    decode = b["decode_to_columns_us"]
    lines = [
        "### Where the time goes",
        "",
        f"CPU microseconds per event on the first {b['events']:,} lines, "
        f"{b.get('batch', 4096):,}-line batches as replay cuts them:",
        "",
        "| stage | us/event |",
        "|---|---:|",
        f"| msgspec decode-only (the reference line above) | {decode_only:.2f} |",
        f"| reading lines into blocks (`monitor.replay.runner`) | {b['read_and_split_us']:.2f} |",
        f"| decoding into numpy columns (`EventDecoder.decode`, typed fast path) | {decode:.2f} |",
        f"| windows and verdicts (engine total minus decoding) | {engine - decode:.2f} |",
        f"| engine total (`Engine.process` + `close_all`) | {engine:.2f} |",
        "",
    ]
    if ev:
        per_window = ev["driftwarden_in_memory"]["evaluate_ms_per_window"]
        lines += [
            f"Evaluating one window (14 columns, all statistics) takes {per_window:.1f} ms, "
            f"{per_window * 1e3 / data.EVENTS_PER_WINDOW:.2f} us per event at "
            f"{data.EVENTS_PER_WINDOW:,} events per window.",
            "",
        ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
