"""`driftwarden report`: the HTML page of a replay report written earlier."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from driftwarden.monitor.commands.replay import check_writable
from driftwarden.monitor.errors import SourceError
from driftwarden.monitor.page.render import write_page


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render a replay report (JSON) as one self-contained HTML page",
        description="Draw the page of a report written by 'driftwarden replay --report': per "
        "model a strip of windows x columns by tier, the counts and alerts, and per column "
        "the baseline against a chosen window with its statistics over time. The file "
        "needs no network to open.",
    )
    parser.add_argument("report", type=Path, help="a report written by 'replay --report'")
    parser.add_argument("--html", type=Path, required=True, help="write the page here")
    parser.set_defaults(func=run)


def load_report(path: Path) -> dict[str, Any]:
    """The report at `path`, refused with its fix when it cannot be drawn."""
    try:
        with path.open("rb") as handle:
            report: dict[str, Any] = json.load(handle)
    except FileNotFoundError:
        raise SourceError(f"report {path}: no such file; pass a 'replay --report' file") from None
    except OSError as exc:
        raise SourceError(f"report {path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise SourceError(
            f"report {path}: is not JSON ({exc}); pass the file written by 'replay --report'"
        ) from None
    if not isinstance(report, dict) or not str(report.get("schema", "")).startswith(
        "driftwarden.replay-report/"
    ):
        raise SourceError(
            f"report {path}: is not a driftwarden replay report (no 'schema' "
            f"driftwarden.replay-report/N); pass the file written by 'replay --report'"
        )
    if "histograms" not in report:
        raise SourceError(
            f"report {path}: has no histograms (written by an older driftwarden); replay the "
            f"logs again with 'driftwarden replay --report' to draw it"
        )
    return report


def run(args: argparse.Namespace) -> int:
    report = load_report(args.report)
    check_writable(args.html, "--html")
    size = write_page(args.html, report, report["windows"])
    print(f"page written to {args.html} ({size / 1e6:.2f} MB)")
    return 0
