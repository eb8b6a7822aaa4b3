"""The HTML report page: size and time to interactive for 1,000 windows x 20 columns.

    uv run python -m bench.html_page            # writes its section of docs/benchmarks.md
    uv run python -m bench.html_page --no-evidently --no-docs

1. Replays the `wide` model (`bench/wide_report.py`: 20 columns, 1,000 count windows
   of 120 events, drift from window 600) with the real CLI, `replay --report --html`.
2. Opens the page in Debian's Chromium (headless, Playwright, `executable_path`):
   time to interactive is the page's own mark (`document.body.dataset.ready`, the
   `performance.now()` when the data is inflated and every chart drawn), the median of
   five cold loads; a click on the strip is timed around the synchronous redraw.
3. The chart approaches considered: the libraries' minified sizes (from their npm
   packages, when `npm` is there), the page's own script, and what server-side SVG
   of every window's histograms would weigh (computed from the same report).
4. Evidently's `DataDriftPreset` HTML on the same rows (reference and every window's
   rows as one current table), in its own venv (`bench/evidently_html_worker.py`),
   opened in the same browser.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench import docs
from bench.replay_data import CACHE
from bench.replay_throughput import ensure_evidently_venv
from bench.wide_report import (
    CATEGORICAL,
    NUMERIC,
    OUTPUTS,
    REFERENCE_ROWS,
    make_inputs,
    replay_command,
    table,
)

HEADING = "## HTML report page (issue 15)"
WINDOWS, WINDOW_EVENTS, DRIFT_AT = 1_000, 120, 600
LIBRARIES = {  # npm package -> the file a page would inline
    "uplot@1.6.32": "package/dist/uPlot.iife.min.js",
    "vega@6.4.0": "package/build/vega.min.js",
    "vega-lite@6.5.0": "package/build/vega-lite.min.js",
    "vega-embed@7.3.0": "package/build/vega-embed.min.js",
    "plotly.js-dist-min@3.7.0": "package/plotly.min.js",
}
PAGE_ASSETS = Path("monitor/page")


def replay(folder: Path) -> dict[str, Any]:
    run = make_inputs(folder, windows=WINDOWS, window_events=WINDOW_EVENTS, drift_at=DRIFT_AT)
    report, page = folder / "report.json", folder / "report.html"
    command = [sys.executable, "-m", "driftwarden.monitor.cli", *replay_command(run, report, page)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return {"report": report, "page": page, "replay_seconds": seconds, "events": run.events}


def browse(path: Path, *, loads: int = 5, clicks: int = 10, ours: bool = True) -> dict[str, Any]:
    """Cold loads of `path` in headless Chromium: load and interactive times, requests."""
    path = path.resolve()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    ready, load, requests, errors, click = [], [], set(), [], []
    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        version = browser.version
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("request", lambda r: requests.add(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(path.as_uri(), wait_until="load", timeout=300_000)
            if ours:
                page.wait_for_selector("body[data-ready]", timeout=60_000)
                ready.append(float(page.evaluate("Number(document.body.dataset.ready)")))
            load.append(
                float(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            )
            if ours and not click:
                click.extend(float(page.evaluate(_CLICK, 20 + 37 * k)) for k in range(clicks))
            context.close()
        browser.close()
    local = [u for u in requests if u != path.as_uri()]
    return {
        "chromium": version,
        "ready_ms": statistics.median(ready) if ready else None,
        "load_ms": statistics.median(load),
        "click_ms": statistics.median(click) if click else None,
        "other_requests": sorted(local),
        "console_errors": errors,
    }


_CLICK = """(offset) => {
  const c = document.querySelector('canvas.strip');
  const r = c.getBoundingClientRect();
  const t = performance.now();
  c.dispatchEvent(new MouseEvent('click', {clientX: r.left + 150 + offset, clientY: r.top + 30,
                                           bubbles: true}));
  return performance.now() - t;
}"""


def library_sizes(folder: Path) -> dict[str, int | None]:
    """Minified size of each candidate library (npm pack), plus the page's own assets."""
    sizes: dict[str, int | None] = {
        "driftwarden page.js + page.css (hand-written SVG + canvas)": sum(
            (PAGE_ASSETS / name).stat().st_size for name in ("page.js", "page.css")
        )
    }
    npm = shutil.which("npm")
    folder.mkdir(parents=True, exist_ok=True)
    for package, member in LIBRARIES.items():
        if npm is None:
            sizes[package] = None
            continue
        name = package.rsplit("@", 1)[0]
        tarballs = list(folder.glob(f"{name}-[0-9]*.tgz"))
        if not tarballs:
            subprocess.run(
                [npm, "pack", "-q", package], cwd=folder, check=True, stdout=subprocess.DEVNULL
            )
            tarballs = list(folder.glob(f"{name}-[0-9]*.tgz"))
        with tarfile.open(tarballs[0]) as archive:
            sizes[package] = archive.getmember(member).size
    return sizes


def server_side_svg_bytes(report_path: Path) -> int:
    """Bytes of one small SVG histogram per window and column, rendered in advance.

    The least a page that draws nothing itself would carry to let any window be
    picked: two bars per slot (baseline, window), no axes or labels.
    """
    report = json.loads(report_path.read_text())
    total = 0
    for window in report["windows"]:
        for column in window["columns"]:
            counts = column["histogram"]["counts"]
            n = max(sum(counts), 1)
            bars = "".join(
                f'<rect x="{4 + 20 * k}" y="{150 - 140 * c / n:.1f}" width="9" '
                f'height="{140 * c / n:.1f}"/><rect x="{13 + 20 * k}" y="10" width="9" '
                f'height="140" class="b"/>'
                for k, c in enumerate(counts)
            )
            total += len(f'<svg viewBox="0 0 460 160" class="h">{bars}</svg>')
    return total


def histogram_bytes(report_path: Path) -> int:
    """Bytes the windows' `histogram` records add to the JSON report (as written, compact)."""
    report = json.loads(report_path.read_text())
    return sum(
        len(json.dumps(c["histogram"], separators=(",", ":"), sort_keys=True))
        + len('"histogram":,')
        for w in report["windows"]
        for c in w["columns"]
    )


def evidently(folder: Path) -> dict[str, Any]:
    """Evidently's DataDriftPreset HTML over the very rows the replay read."""
    python = ensure_evidently_venv()
    reference, current = folder / "reference.parquet", folder / "current.parquet"
    rows = table(WINDOWS * WINDOW_EVENTS, seed=2, drift_from=DRIFT_AT * WINDOW_EVENTS)
    for path, data in ((reference, table(REFERENCE_ROWS, seed=1)), (current, rows)):
        pq.write_table(
            pa.table({k: list(v) if v.dtype == object else v for k, v in data.items()}), path
        )
    html, out = folder / "evidently.html", folder / "evidently.json"
    subprocess.run(
        [
            str(python),
            "bench/evidently_html_worker.py",
            "--reference",
            str(reference),
            "--current",
            str(current),
            "--numeric",
            ",".join((*NUMERIC, "score")),
            "--categorical",
            ",".join((*CATEGORICAL, *(o for o in OUTPUTS if o != "score"))),
            "--html",
            str(html),
            "--output",
            str(out),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    result["browser"] = browse(html, loads=3, ours=False)
    return result


def section(result: dict[str, Any], command: str) -> str:
    page, browser = result["page"], result["browser"]
    lines = [
        HEADING,
        "",
        f"`{command}` ({result['date']}, {result['machine']}, Chromium {browser['chromium']} "
        "headless via Playwright, 1280 x 900).",
        "",
        f"The `wide` model (`bench/wide_report.py`): 20 columns (14 numeric and 4 categorical "
        f"features, a numeric and a categorical output), {WINDOWS:,} count windows of "
        f"{WINDOW_EVENTS} events, drift from window {DRIFT_AT}; `driftwarden replay --report "
        f"--html` in {result['replay_seconds']:.0f} s.",
        "",
        "| | bytes | time |",
        "|---|---:|---|",
        f"| JSON report | {result['report_bytes']:,} | |",
        f"| of which the windows' `histogram` counts | {result['histogram_bytes']:,} "
        f"({result['histogram_bytes'] / (WINDOWS * 20):.0f} per window and column) | |",
        f"| **HTML page** (budget 2,000,000) | **{page:,}** | interactive "
        f"**{browser['ready_ms']:.0f} ms** (median of 5 cold loads; budget 1 s), load event "
        f"{browser['load_ms']:.0f} ms |",
        f"| click on the strip -> 20 histograms redrawn | | {browser['click_ms']:.1f} ms "
        "(median of 10) |",
    ]
    ev = result.get("evidently")
    if ev:
        eb = ev["browser"]
        lines.append(
            f"| Evidently {ev['evidently_version']} `DataDriftPreset` HTML, same rows "
            f"({ev['rows_current']:,} current vs {REFERENCE_ROWS:,} reference, one report) | "
            f"{ev['html_bytes']:,} | load event {eb['load_ms']:.0f} ms (median of 3; its "
            f"charts draw after it); report {ev['report_seconds']:.0f} s |"
        )
    lines += [
        "",
        f"Page: requests beyond its own file {len(browser['other_requests'])}, console errors "
        f"{len(browser['console_errors'])}."
        + (
            f" Evidently's page: other requests {len(ev['browser']['other_requests'])}, console "
            f"errors {len(ev['browser']['console_errors'])}; it compares one current table with "
            "the reference, so its page has no per-window view: 1,000 windows would be 1,000 "
            "such files."
            if ev
            else ""
        ),
        "",
        "Interactive is the page's own mark (`document.body.dataset.ready`: data inflated, "
        "strip and every chart drawn), in ms since navigation start.",
        "",
        "Chart approaches measured (the bytes a page would inline before any data; sizes only, "
        "not built into pages):",
        "",
        "| approach | bytes |",
        "|---|---:|",
    ]
    for name, size in result["libraries"].items():
        lines.append(f"| {name} | {'n/a (no npm)' if size is None else f'{size:,}'} |")
    lines.append(
        f"| server-side SVG, one bare histogram per window and column | "
        f"{result['server_side_svg_bytes']:,} |"
    )
    lines += [
        "",
        "Chosen: hand-written SVG and one canvas, with the data as gzipped JSON inflated by the "
        "browser's `DecompressionStream`. Plotly alone is over the 2 MB budget; Vega-Lite needs "
        "Vega and vega-embed (~0.8 MB) before any data; uPlot is small but draws no bar "
        "histograms or categorical axes without plugins; server-side SVG of every window's "
        "histograms is tens of MB. The page's data dominates its size: counts per window and "
        "column, rounded statistics.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    folder = CACHE / f"html-page-w{WINDOWS}-e{WINDOW_EVENTS}"
    print(f"replaying {WINDOWS:,} windows x 20 columns into {folder}", file=sys.stderr)
    replayed = replay(folder)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
        "replay_seconds": replayed["replay_seconds"],
        "report_bytes": replayed["report"].stat().st_size,
        "page": replayed["page"].stat().st_size,
        "browser": browse(replayed["page"]),
        "libraries": library_sizes(CACHE / "npm"),
        "server_side_svg_bytes": server_side_svg_bytes(replayed["report"]),
        "histogram_bytes": histogram_bytes(replayed["report"]),
    }
    if not args.no_evidently:
        result["evidently"] = evidently(folder)
    print(json.dumps(result, indent=2, default=str))
    if not args.no_docs:
        command = "uv run python -m bench.html_page" + (
            " --no-evidently" if args.no_evidently else ""
        )
        docs.update_section(docs.DOCS, HEADING, section(result, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
