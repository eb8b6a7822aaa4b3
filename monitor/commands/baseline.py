"""`driftwarden baseline build|show|list`: freeze, inspect and list training baselines.

`build` reads training files, describes every column (quantile bins for numbers,
top-k shares for categories, missing rates) and writes the next immutable
version into a store directory. `show` prints one artifact, verified. `list`
prints every model and version in a store. See docs/baselines.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from driftwarden.baselines.artifact import (
    Baseline,
    CategoricalColumn,
    NumericColumn,
    check_model_id,
)
from driftwarden.baselines.binning import DEFAULT_BINS
from driftwarden.baselines.build import (
    DEFAULT_MAX_KNOWN_CATEGORIES,
    DEFAULT_TOP_K,
    build_baseline,
    resolve_created_at,
)
from driftwarden.baselines.build_performance import PerformanceSpec
from driftwarden.baselines.errors import BaselineError, BaselineTooSmall
from driftwarden.baselines.performance import TASKS, ReferencePerformance
from driftwarden.baselines.schema import Schema, load_schema
from driftwarden.baselines.signing import read_key_file
from driftwarden.baselines.store import BaselineStore, load_baseline
from driftwarden.baselines.validation import MIN_TRAINING_ROWS
from driftwarden.monitor.ingest.event_survey import output_like

Clock = Callable[[], datetime]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "baseline",
        help="build, show and list frozen training baselines",
        description="Baselines are immutable, versioned descriptions of a model's training "
        "data that live windows are compared with (docs/baselines.md).",
    )
    commands = parser.add_subparsers(dest="baseline_command", metavar="ACTION")
    parser.set_defaults(func=lambda _args: _usage(parser))

    _add_build(commands)
    _add_show(commands)
    _add_list(commands)


def _add_build(commands: Any) -> None:
    build = commands.add_parser(
        "build",
        help="build the next baseline version from training data",
        description="Read training files (CSV, JSON lines, Parquet), describe every column "
        "and write <output>/<model>/v<NNNN>.baseline.json. Existing versions are never "
        "overwritten.",
    )
    build.add_argument("--model", required=True, help="model id, e.g. credit-risk")
    build.add_argument(
        "--data",
        required=True,
        action="append",
        type=Path,
        metavar="FILE",
        help="training file (.csv, .jsonl, .parquet, optionally .gz); repeat to concatenate",
    )
    build.add_argument("--output", required=True, type=Path, metavar="DIR", help="store root")
    build.add_argument("--schema", type=Path, metavar="FILE", help="YAML or JSON schema file")
    build.add_argument(
        "--outputs",
        default="",
        metavar="COLS",
        help="comma-separated model output columns, e.g. score,label",
    )
    _add_build_shape(build)
    _add_build_provenance(build)
    build.set_defaults(func=run_build)


def _add_build_shape(build: Any) -> None:
    """How columns are described: binning, top-k, known categories."""
    build.add_argument(
        "--bins",
        type=_positive_int,
        default=DEFAULT_BINS,
        help=f"quantile bins per numeric column (default {DEFAULT_BINS})",
    )
    build.add_argument(
        "--top-k",
        type=_positive_int,
        default=DEFAULT_TOP_K,
        help=f"categories kept per categorical column (default {DEFAULT_TOP_K})",
    )
    build.add_argument(
        "--max-known-categories",
        type=_non_negative_int,
        default=DEFAULT_MAX_KNOWN_CATEGORIES,
        help="further training categories remembered by name, for new-category detection "
        f"(default {DEFAULT_MAX_KNOWN_CATEGORIES:,})",
    )


def _add_build_provenance(build: Any) -> None:
    """What the artifact records about itself: labels, version, row floor, signature."""
    build.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provenance label, e.g. data_version=2026-01; repeatable",
    )
    build.add_argument(
        "--version",
        dest="explicit_version",
        type=_positive_int,
        metavar="N",
        help="write exactly this version (refused if it exists); default: the next one",
    )
    build.add_argument(
        "--allow-few-rows",
        action="store_true",
        help=f"build from fewer than {MIN_TRAINING_ROWS:,} training rows anyway; the artifact "
        "records it and loads accept it (its windows may alert on noise)",
    )
    build.add_argument(
        "--sign-key-file",
        type=Path,
        metavar="FILE",
        help="sign the artifact with HMAC-SHA256 using the key in FILE; run and replay "
        "given the same key refuse unsigned or edited artifacts",
    )
    build.add_argument(
        "--target",
        metavar="COL",
        help="training column with the true outcome: also record the model's reference "
        "performance, its spread and the calibration map for estimates (docs/verdicts.md)",
    )
    build.add_argument(
        "--prediction",
        metavar="COL",
        help="with --target: output column with the predicted class or value "
        "(default: inferred from the outputs)",
    )
    build.add_argument(
        "--score",
        default="",
        metavar="COLS",
        help="with --target: output column with the positive class's probability, or "
        "CLASS=COL,... for every class of a multiclass model (default: inferred)",
    )
    build.add_argument(
        "--positive-class",
        metavar="VALUE",
        help="with --target: the positive class of a binary model (default: 1 or true)",
    )
    build.add_argument(
        "--task",
        choices=TASKS,
        help="with --target: binary, multiclass or regression (default: inferred)",
    )
    # Reproducible builds: tests and release pipelines pin the build time.
    build.add_argument("--created-at", help=argparse.SUPPRESS)


def _add_show(commands: Any) -> None:
    show = commands.add_parser(
        "show",
        help="print a baseline's summary",
        description="Verify and summarise an artifact file, or the latest version in a model "
        "directory.",
    )
    show.add_argument("path", type=Path, help="artifact file or model directory")
    show.add_argument(
        "--verify-key-file",
        type=Path,
        metavar="FILE",
        help="also verify the artifact's signature with the key in FILE",
    )
    show.set_defaults(func=run_show)


def _add_list(commands: Any) -> None:
    listing = commands.add_parser(
        "list", help="list models and versions in a store", description="List a store."
    )
    listing.add_argument("dir", type=Path, help="store root (the --output of build)")
    listing.set_defaults(func=run_list)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


# --- build ---------------------------------------------------------------------------


def run_build(
    args: argparse.Namespace,
    *,
    clock: Clock = lambda: datetime.now(UTC),
    environ: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    model_id = check_model_id(args.model)
    labels = parse_labels(args.label)
    outputs = parse_outputs(args.outputs)
    performance = performance_spec(args)
    schema = load_schema(args.schema) if args.schema else Schema()
    if outputs:
        schema = schema.with_outputs(outputs)
    created_at = resolve_created_at(
        explicit=args.created_at,
        source_date_epoch=environ.get("SOURCE_DATE_EPOCH"),
        clock=clock,
    )
    key = read_key_file(args.sign_key_file) if args.sign_key_file else None
    store = BaselineStore(args.output)
    version = _free_version(store, model_id, args.explicit_version)
    # Imported here: it needs the optional pyarrow (the 'parquet' extra), which
    # `baseline show` and `baseline list` do not.
    from driftwarden.baselines.readers import read_training_data  # noqa: PLC0415

    data = read_training_data(args.data, skip=schema.skipped)
    absent = [name for name in outputs if name not in data.columns]
    if absent:  # said here, about what the user typed, rather than as a schema's complaint
        raise BaselineError(
            f"--outputs names {', '.join(map(repr, absent))} but the training data has no "
            f"such column (it has {', '.join(data.columns) or 'none'}); fix the name in --outputs"
        )
    baseline = build_baseline(
        model_id,
        data.columns,
        schema,
        version=version,
        created_at=created_at,
        sources=data.sources,
        labels=labels,
        bins=args.bins,
        top_k=args.top_k,
        max_known_categories=args.max_known_categories,
        default_outputs=data.outputs,
        allow_few_rows=args.allow_few_rows,
        performance=performance,
    )
    _check_rows(baseline)
    path = store.write(baseline, key=key)
    print(f"wrote {path}", file=out)
    print(summary_line(baseline), file=out)
    _warn_output_like(baseline)
    return 0


def _free_version(store: BaselineStore, model_id: str, explicit: int | None) -> int:
    """The version to write; an explicit one that exists fails before any data is read."""
    version = explicit or store.next_version(model_id)
    target = store.path_for(model_id, version)
    if target.exists():  # fail before reading what may be gigabytes of data
        raise BaselineError(
            f"baseline '{model_id}@{version}' already exists at {target}; versions are "
            f"immutable: build without --version to write the next one "
            f"(v{store.next_version(model_id)})"
        )
    return version


def _check_rows(baseline: Baseline) -> None:
    """Below the row floor: refused, or built with a warning under --allow-few-rows."""
    if baseline.row_count < MIN_TRAINING_ROWS:
        if not baseline.few_rows_accepted:
            raise BaselineTooSmall(
                f"baseline '{baseline.ref}': {baseline.row_count:,} training rows, below the "
                f"floor of {MIN_TRAINING_ROWS:,} (docs/baselines.md); add training data, or "
                f"pass --allow-few-rows to build it anyway"
            )
        print(
            f"warning: baseline '{baseline.ref}' is built from {baseline.row_count:,} rows, "
            f"below the floor of {MIN_TRAINING_ROWS:,}: its rates are noisy and its windows "
            f"may alert on chance; the artifact records --allow-few-rows",
            file=sys.stderr,
        )


def _warn_output_like(baseline: Baseline) -> None:
    suspects = output_like(c.name for c in baseline.features)
    if suspects:  # the trap: outputs described as features page on every window
        print(
            f"warning: {', '.join(map(repr, suspects))} look like model outputs but were "
            f"described as features; events carry outputs under 'prediction', so every window "
            f"would find these features missing. If the model produces them, rebuild with "
            f"--outputs {','.join(suspects)}",
            file=sys.stderr,
        )


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BaselineError(
                f"--label {item!r} is not KEY=VALUE; write it like --label data_version=2026-01"
            )
        if key in labels:
            raise BaselineError(f"--label {key!r} is given twice; keep one")
        labels[key] = value
    return labels


def performance_spec(args: argparse.Namespace) -> PerformanceSpec | None:
    """`--target` and its companions, or None; the companions alone are a mistake."""
    companions = {
        "--prediction": args.prediction,
        "--score": args.score,
        "--positive-class": args.positive_class,
        "--task": args.task,
    }
    if args.target is None:
        given = [flag for flag, value in companions.items() if value]
        if given:
            raise BaselineError(
                f"{', '.join(given)} describe the model's performance and need --target COL, "
                f"the training column with the true outcome"
            )
        return None
    items = parse_outputs(args.score)
    scores: dict[str, str] | tuple[str, ...] = items
    if any("=" in item for item in items):
        pairs = [item.partition("=") for item in items]
        if any(not sep or not cls or not col for cls, sep, col in pairs):
            raise BaselineError(
                f"--score {args.score!r}: write one column, or CLASS=COL for every class "
                f"(e.g. --score setosa=p_setosa,versicolor=p_versicolor,virginica=p_virginica)"
            )
        scores = {cls.strip(): col.strip() for cls, _, col in pairs}
    return PerformanceSpec(
        target=args.target,
        task=args.task,
        prediction=args.prediction,
        scores=scores,
        positive_class=args.positive_class,
    )


def parse_outputs(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def summary_line(baseline: Baseline) -> str:
    files = len(baseline.sources)
    line = (
        f"{baseline.ref}: {baseline.row_count:,} rows from {files} file{'s' * (files != 1)}, "
        f"{len(baseline.features)} features, {len(baseline.outputs)} outputs, "
        f"created {baseline.created_at}"
    )
    if baseline.performance is not None:
        line += "\n" + performance_line(baseline.performance)
    return line


def performance_line(perf: ReferencePerformance) -> str:
    """One line of reference performance: task, target, the headline metrics."""
    shown = [
        f"{name} {perf.metrics[name].value:.4g} (+/- {perf.metrics[name].std:.2g} at "
        f"{perf.metrics[name].rows:,} rows)"
        for name in ("accuracy", "roc_auc", "f1", "mae", "rmse")
        if name in perf.metrics
    ]
    calibration = ""
    if perf.calibration is not None:
        worst = max(c.ece for c in perf.calibration.columns)
        mapped = any(c.mapped for c in perf.calibration.columns)
        calibration = f"; calibration ECE {worst:.3f}{' after the isotonic map' if mapped else ''}"
    return (
        f"performance: {perf.task} on target {perf.target!r} ({perf.n:,} labelled rows): "
        + ", ".join(shown)
        + calibration
    )


# --- show ----------------------------------------------------------------------------


def run_show(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    key = read_key_file(args.verify_key_file) if args.verify_key_file else None
    baseline = load_baseline(args.path, key=key)
    print(render_baseline(baseline), file=out, end="")
    return 0


def render_baseline(baseline: Baseline) -> str:
    """The `show` text: provenance first, then one row per column."""
    lines = [
        f"baseline {baseline.ref}",
        f"  created      {baseline.created_at} (driftwarden {baseline.driftwarden_version})",
        f"  rows         {baseline.row_count:,}"
        + (
            f" (below the floor of {MIN_TRAINING_ROWS:,}: built with --allow-few-rows)"
            if baseline.few_rows_accepted
            else ""
        ),
    ]
    lines.extend(
        f"  source       {source.name}  {source.rows:,} rows  sha256 {source.sha256[:12]}"
        for source in baseline.sources
    )
    lines.extend(f"  label        {key}={value}" for key, value in sorted(baseline.labels.items()))
    if baseline.performance is not None:
        lines.append(f"  {performance_line(baseline.performance)}")
    lines.append("")
    header = ("column", "kind", "role", "missing", "summary")
    rows = [header]
    rows.extend(
        (col.name, col.kind, col.role, f"{col.missing_rate:.2%}", _describe(col))
        for col in baseline.columns
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def _describe(col: NumericColumn | CategoricalColumn) -> str:
    if isinstance(col, NumericColumn):
        return (
            f"min {_num(col.minimum)}  p50 {_num(col.quantiles.get('p50', float('nan')))}  "
            f"max {_num(col.maximum)}  mean {_num(col.mean)}  std {_num(col.std)}  "
            f"{len(col.edges) - 1} bins"
        )
    if col.n == 0:
        return "no values"
    shown = 5
    parts = [
        f"{category} {count / col.n:.1%}"
        for category, count in zip(col.categories[:shown], col.counts.tolist(), strict=False)
    ]
    rest = len(col.categories) - shown
    if rest > 0:
        parts.append(f"+{rest} more")
    other = int(col.counts[-1])
    if other:
        parts.append(f"other {other / col.n:.1%}")
    distinct = (
        "unknown" if col.known_other is None else str(len(col.categories) + len(col.known_other))
    )
    return ", ".join(parts) + f"  ({distinct} distinct)"


def _num(value: float) -> str:
    return f"{value:.4g}"


# --- list ----------------------------------------------------------------------------


def run_list(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    directory: Path = args.dir
    if not directory.is_dir():
        raise BaselineError(
            f"baseline store {directory}: no such directory; pass the --output directory of "
            f"'driftwarden baseline build'"
        )
    entries = BaselineStore(directory).list()
    if not entries:
        print(f"{directory}: no baselines", file=out)
        return 0
    problems = 0
    current = None
    for entry in entries:
        if entry.model_id != current:
            current = entry.model_id
            print(entry.model_id, file=out)
        if entry.problem is not None:
            problems += 1
            print(f"  v{entry.version:04d}  UNREADABLE: {entry.problem}", file=out)
            continue
        labels = " ".join(f"{k}={v}" for k, v in sorted(entry.labels.items()))
        line = f"  v{entry.version:04d}  {entry.created_at}  {entry.row_count:>12,} rows  {labels}"
        print(line.rstrip(), file=out)
    return 1 if problems else 0
