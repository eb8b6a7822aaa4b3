"""`driftwarden validate-config FILE`: check a config before it reaches a pod."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from driftwarden.monitor.alerting.pipeline import check_alerting
from driftwarden.monitor.config import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate-config",
        help="check a configuration file (and DRIFTWARDEN_* environment overrides)",
        description="Exit 0 when the file is valid; otherwise print each bad field with its "
        "fix and exit 2. Secrets are never printed.",
    )
    parser.add_argument("file", type=Path, help="YAML configuration file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    check_alerting(settings.alerting)  # matchers, mute intervals, digest receiver
    models = ", ".join(sorted(settings.models)) or "none"
    receivers = ", ".join(r.name for r in settings.alerting.receivers)
    print(
        f"{args.file}: valid (environment {settings.environment}; model overrides: {models}; "
        f"receivers: {receivers})"
    )
    return 0
