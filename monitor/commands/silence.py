"""`driftwarden silence add|list|expire`: mute alerts for a while without a deploy.

Silences are stored where the daemon keeps its alert state: with
`checkpoint.backend: kafka` (and no `alerting.state_directory`) a record of the
checkpoint topic, so `--config` must name the daemon's configuration to reach
Kafka; otherwise `silences.json` in the alerting state directory
(`alerting.state_directory`, else `alerting/` beside the checkpoints; override
with `--state-dir`). A running daemon picks a change up within seconds. A
silence hides firing alerts whose labels match all its matchers (Alertmanager
syntax: `model="credit-risk"`, `tier=~"warning|info"`, `environment!="dev"`);
resolves still reach receivers that saw the alert fire. Times are compared with
the verdicts' event time, which in a live daemon trails the wall clock by the
window's lateness.
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftwarden.monitor.alerting.silences import Silence, SilenceStore, parse_time
from driftwarden.monitor.alerting.store import (
    AlertStateStore,
    DirectoryAlertStore,
    open_alert_store,
)
from driftwarden.monitor.config import load_settings, parse_duration
from driftwarden.monitor.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "silence",
        help="add, list or expire alert silences",
        description="Silences keep matching firing alerts out of notifications until they end.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="the daemon's configuration file (where its alert state lives: Kafka or a directory)",
    )
    parser.add_argument(
        "--state-dir", type=Path, help="alerting state directory (overrides --config)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create a silence")
    add.add_argument(
        "-m",
        "--matcher",
        action="append",
        required=True,
        dest="matchers",
        help='label matcher, repeatable, e.g. -m model="credit-risk" -m tier=~"warning|info"',
    )
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("-d", "--duration", help="how long from the start, e.g. 2h, 30m, 1d")
    end.add_argument("--until", help="end time, RFC 3339, e.g. 2026-11-23T08:00:00Z")
    add.add_argument("--start", help="start time, RFC 3339 (default: now)")
    add.add_argument("-c", "--comment", required=True, help="why (shown in 'silence list')")
    add.add_argument("--author", default=None, help="who (default: the current user)")
    add.set_defaults(func=run_add)

    lst = actions.add_parser("list", help="list silences")
    lst.add_argument("--all", action="store_true", help="include expired silences")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.set_defaults(func=run_list)

    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("id", help="silence id (or its first 8+ characters)")
    expire.set_defaults(func=run_expire)


def _open(args: argparse.Namespace) -> AlertStateStore:
    if args.state_dir is not None:
        return DirectoryAlertStore(args.state_dir)
    return open_alert_store(load_settings(args.config))


def _now() -> float:
    return datetime.now(tz=UTC).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_add(args: argparse.Namespace) -> int:
    now = _now()
    starts = parse_time(args.start, where="--start") if args.start else now
    if args.duration is not None:
        try:
            seconds = parse_duration(args.duration)
        except ValueError as exc:
            raise ConfigError(f"--duration: {exc}") from None
        assert isinstance(seconds, float)
        ends = starts + seconds
    else:
        ends = parse_time(args.until, where="--until")
    store = _open(args)
    try:
        silences = SilenceStore(store)
        silence = silences.add(
            matchers=args.matchers,
            starts_at=starts,
            ends_at=ends,
            created_by=args.author or getpass.getuser(),
            comment=args.comment,
            now=now,
        )
    finally:
        store.close()
    print(f"silence {silence.id} added until {_iso(silence.ends_at)} (stored in {store.where})")
    return 0


def _row(s: Silence, now: float) -> dict[str, Any]:
    return {
        "id": s.id,
        "state": s.state(now),
        "matchers": list(s.matchers),
        "starts_at": _iso(s.starts_at),
        "ends_at": _iso(s.ends_at),
        "created_by": s.created_by,
        "comment": s.comment,
    }


def run_list(args: argparse.Namespace) -> int:
    now = _now()
    store = _open(args)
    try:
        found = SilenceStore(store).all()
    finally:
        store.close()
    rows = [_row(s, now) for s in found if args.all or s.state(now) != "expired"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no silences" + ("" if args.all else " (use --all to include expired ones)"))
        return 0
    for r in rows:
        print(
            f"{r['id']}  {r['state']:<8} {r['starts_at']} -> {r['ends_at']}  "
            f"{' '.join(r['matchers'])}  by {r['created_by']}: {r['comment']}"
        )
    return 0


def run_expire(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        silence = SilenceStore(store).expire(args.id, now=_now())
    finally:
        store.close()
    print(f"silence {silence.id} expired at {_iso(silence.ends_at)}")
    return 0
