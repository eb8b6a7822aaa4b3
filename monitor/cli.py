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

from driftwarden.errors import DriftwardenError
from driftwarden.monitor.version import package_version

COMMANDS = ("baseline", "replay", "report", "run", "validate_config", "silence")


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser, with the sub-commands `commands` (each one's module imported).

    Each command module imports what its handler needs (river and scipy for the
    engine, pyarrow for training data, the Kafka client), which takes most of a
    second apiece: `driftwarden replay` should not pay for `baseline build`.
    """
    parser = argparse.ArgumentParser(
        prog="driftwarden",
        description="Drift monitoring for ML models in production: live from Kafka or "
        "replayed from log files, against a frozen training baseline.",
        epilog="Exit status: 0 on success, 2 on an error (one line on stderr naming the "
        "thing, the problem and the fix); 'replay --fail-on' adds 1 (a window reached the "
        "tier) and 3 (no window was evaluated); 'baseline list' exits 1 on an unreadable "
        "artifact. See 'driftwarden replay --help'.",
    )
    parser.add_argument("--version", action="version", version=f"driftwarden {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        try:
            module = importlib.import_module(f"driftwarden.monitor.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"driftwarden.monitor.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in arguments if not a.startswith("-")), "").replace("-", "_")
    if named in COMMANDS:
        commands: Sequence[str] = (named,)
    elif arguments == ["--version"]:
        commands = ()
    else:
        commands = COMMANDS  # help, or an unknown command: list them all
    parser = build_parser(commands)
    args = parser.parse_args(arguments)
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
