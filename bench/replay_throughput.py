"""Replay throughput against msgspec decode-only and Evidently, and replay memory, in one run.

    uv run python -m bench.replay_throughput                  # the full run, updates docs
    uv run python -m bench.replay_throughput --events 200000 --memory-events 0 \
        --evidently-windows 2 --repeats 1 --no-docs            # a quick smoke run

What is measured (inputs from `bench/replay_data.py`, cached under `.cache/bench/`):

1. driftwarden: the real CLI, `python -m monitor.cli replay --baseline B --report R
   --dead-letter D --quiet FILE`, in a subprocess per repeat (wall time, CPU time
   and peak RSS from `os.wait4`); and the same `monitor.replay.replay` path
   in-process (engine construction excluded), which is what the ratio to
   decode-only compares. No config file: default 5-minute time windows, which
   hold 10,000 events on average at the generated rate.
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

from baselines.artifact import Baseline
from bench import replay_data as data
from examples import synthetic
from monitor.config import load_settings
from monitor.engine import Engine
from monitor.replay import replay

EVIDENTLY_PINS = ("evidently==0.7.23", "pandas<3", "pyarrow")
EVIDENTLY_VENV = data.CACHE / "evidently-venv"
RESULTS = Path("bench/results")
DOCS = Path("docs/benchmarks.md")
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


def run_child(command: Sequence[str], stderr: Path) -> Timing:
    """Run a command; wall time, its CPU time and its own peak RSS (KiB)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(stderr), *command],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    wall = time.perf_counter() - started
    code, cpu, rss = int(out[0]), float(out[1]), int(out[2])
    if code != 0:
        raise RuntimeError(f"{shlex.join(command)} exited with {code}; see {stderr}")
    return Timing(wall, cpu, rss)


def cli_replay(events: Path, baseline: Path, workdir: Path, *, report: bool = True) -> Timing:
    command = [sys.executable, "-m", "monitor.cli", "replay", "--baseline", str(baseline)]
    if report:
        command += ["--report", str(workdir / "report.json")]
    command += ["--dead-letter", str(workdir / "dead-letter.jsonl"), "--quiet", str(events)]
    return run_child(command, workdir / "replay.stderr")


def in_process_replay(events: Path, baseline: Baseline) -> tuple[Timing, dict[str, Any]]:
    engine = Engine([baseline], load_settings(None))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = replay(engine, [str(events)])
    timing = Timing(time.perf_counter() - wall0, time.process_time() - cpu0)
    counts = engine.counts.to_dict()
    counts["windows"] = len(result.verdicts)
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
    args = parser.parse_args(argv)
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

    # Throughput: interleaved repeats.
    cli: list[Timing] = []
    inproc: list[Timing] = []
    decode: list[Timing] = []
    counts: dict[str, Any] = {}
    for repeat in range(args.repeats):
        cli.append(cli_replay(events_path, baseline_path, workdir))
        timing, counts = in_process_replay(events_path, baseline)
        inproc.append(timing)
        timing, lines = decode_only(events_path)
        decode.append(timing)
        print(
            f"repeat {repeat + 1}/{args.repeats}: cli {args.events / cli[-1].wall:,.0f}/s, "
            f"in-process {args.events / inproc[-1].wall:,.0f}/s, "
            f"decode-only {args.events / decode[-1].wall:,.0f}/s (wall)"
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
            "decode_only": [asdict(t) for t in decode],
        },
        "replay_counts": counts,
    }
    for basis in ("wall", "cpu"):
        key = f"events_per_s_{basis}"
        base = throughput["decode_only"][key]
        throughput[f"ratio_in_process_to_decode_{basis}"] = (
            throughput["driftwarden_in_process"][key] / base
        )
        throughput[f"ratio_cli_to_decode_{basis}"] = throughput["driftwarden_cli"][key] / base
    results["throughput"] = throughput

    # Memory: peak RSS on the file and on a longer one.
    rss_small = statistics.median(t.peak_rss_kib or 0 for t in cli)
    memory: dict[str, Any] = {"events_small": args.events, "peak_rss_kib_small": rss_small}
    if args.memory_factor > 1:
        big = data.EventLog(args.events * args.memory_factor)
        big_path, big_generated = data.ensure_event_log(big)
        runs = [
            cli_replay(big_path, baseline_path, workdir, report=True)
            for _ in range(args.memory_repeats)
        ]
        rss_big = statistics.median(t.peak_rss_kib or 0 for t in runs)
        memory.update(
            {
                "events_large": big.events,
                "generated_seconds_large": big_generated,
                "peak_rss_kib_large": rss_big,
                "growth": rss_big / rss_small - 1.0,
                "large_runs": [asdict(t) for t in runs],
                "large_events_per_s_wall": big.events / statistics.median(t.wall for t in runs),
            }
        )
        print(
            f"peak RSS: {rss_small / 1024:,.0f} MiB at {args.events:,} events, "
            f"{rss_big / 1024:,.0f} MiB at {big.events:,} ({memory['growth']:+.1%})"
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
        results["evidently"] = {
            "version": evidently["evidently_version"],
            "pandas": evidently["pandas_version"],
            "windows": len(evidently["windows"]),
            "rows": rows,
            "rows_per_s_report": rows / report_seconds,
            "rows_per_s_report_and_dataset": rows / (report_seconds + dataset_seconds),
            "median_window_seconds": statistics.median(
                w["report_seconds"] for w in evidently["windows"]
            ),
            "peak_rss_kib": evidently["peak_rss_kib"],
            "worker_wall_seconds": worker.wall,
            "methods": [{"method": m, "threshold": t} for m, t in methods],
            "methods_by_kind": _methods_by_kind(comparison),
            "ratio_driftwarden_cli_to_evidently": ours / (rows / report_seconds),
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
        update_docs(DOCS, section)
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
        f"| driftwarden replay, in-process (`monitor.replay.replay`) | "
        f"{_rate(t['driftwarden_in_process']['events_per_s_wall'])} | "
        f"{_rate(t['driftwarden_in_process']['events_per_s_cpu'])} | "
        f"{t['ratio_in_process_to_decode_wall']:.2f}x / "
        f"{t['ratio_in_process_to_decode_cpu']:.2f}x | >= {TARGET_DECODE_RATIO}x |",
        f"| driftwarden replay CLI, end to end (start-up, report, in a subprocess) | "
        f"{_rate(t['driftwarden_cli']['events_per_s_wall'])} | "
        f"{_rate(t['driftwarden_cli']['events_per_s_cpu'])} | "
        f"{t['ratio_cli_to_decode_wall']:.2f}x / {t['ratio_cli_to_decode_cpu']:.2f}x | |",
    ]
    if ev:
        lines.append(
            f"| Evidently {ev['version']} DataDriftPreset, {ev['windows']} windows "
            f"({ev['rows']:,} rows), `Report.run` only | {_rate(ev['rows_per_s_report'])} | | "
            f"driftwarden CLI / Evidently = **{ev['ratio_driftwarden_cli_to_evidently']:,.0f}x** "
            f"| >= {TARGET_EVIDENTLY_RATIO:.0f}x |"
        )
    lines += [""]
    if "events_large" in mem:
        lines += [
            "| peak RSS of the replay CLI | value |",
            "|---|---:|",
            f"| {mem['events_small']:,} events | {mem['peak_rss_kib_small'] / 1024:,.0f} MiB |",
            f"| {mem['events_large']:,} events | {mem['peak_rss_kib_large'] / 1024:,.0f} MiB |",
            f"| growth for a {mem['events_large'] // mem['events_small']}x longer stream "
            f"(target < {TARGET_RSS_GROWTH:.0%}) | {mem['growth']:+.1%} |",
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
            "| column | kind | Evidently test | value | drift | driftwarden W1/JS | PSI "
            "| condition | tier |",
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


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def interpretation(results: dict[str, Any]) -> str:
    t, mem, ev = results["throughput"], results["memory"], results.get("evidently")
    ratio = t["ratio_in_process_to_decode_cpu"]
    parts = [
        f"driftwarden's replay path runs at {ratio:.2f}x the speed of decoding the same "
        f"lines with msgspec and doing nothing else (CPU time; "
        f"{t['ratio_in_process_to_decode_wall']:.2f}x by wall time), "
        + (
            "meeting"
            if min(ratio, t["ratio_in_process_to_decode_wall"]) >= TARGET_DECODE_RATIO
            else "short of"
        )
        + f" the {TARGET_DECODE_RATIO}x target."
    ]
    if ev:
        parts.append(
            f"Against Evidently's DataDriftPreset on the same windows and reference it is "
            f"{ev['ratio_driftwarden_cli_to_evidently']:,.0f}x faster end to end (CLI start-up, "
            "JSON decoding and the report included on our side; only `Report.run` on data "
            "already in pandas on Evidently's)."
        )
    if "growth" in mem:
        parts.append(
            f"Peak RSS grows {mem['growth']:+.1%} when the stream grows "
            f"{mem['events_large'] // mem['events_small']}x: window state is fixed-size, and "
            "what remains grows with the number of windows (the verdicts the report keeps), "
            "not with the number of events."
        )
    return " ".join(parts)


def update_docs(path: Path, section: str) -> None:
    """Replace this benchmark's section (or append it), leaving other sections alone."""
    intro = (
        "# Benchmarks\n\nMeasured results of the benchmarks in `bench/`; each section "
        "names its command, date and machine, and the script that produced it.\n"
    )
    text = path.read_text() if path.exists() else intro
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    body = section.rstrip("\n").splitlines()
    if start is None:
        new = [*lines, "", *body] if lines and lines[-1].strip() else [*lines, *body]
    else:
        end = next(
            (
                i
                for i in range(start + 1, len(lines))
                if lines[i].startswith("## ") and not lines[i].startswith("### ")
            ),
            len(lines),
        )
        tail = lines[end:]
        new = [*lines[:start], *body, *([""] if tail else []), *tail]
    path.write_text("\n".join(new).rstrip("\n") + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
