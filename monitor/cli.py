"""The `driftwarden` command line.

Each sub-command lives in `monitor/commands/<name>.py` and registers itself with
`add_parser(subparsers)`, setting `func` to a handler that takes the parsed
arguments and returns an exit code. A `DriftwardenError` becomes one clear line
on stderr and exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from detectors.errors import DriftwardenError
from monitor.version import package_version

COMMANDS = ("baseline", "replay", "run", "validate_config", "silence")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftwarden",
        description="Drift monitoring for ML models in production: live from Kafka or "
        "replayed from log files, against a frozen training baseline.",
    )
    parser.add_argument("--version", action="version", version=f"driftwarden {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"monitor.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"monitor.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.func(args)
    except DriftwardenError as exc:
        print(f"driftwarden: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
