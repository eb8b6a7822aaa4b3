"""The replay path alone, for its peak RSS: `monitor.replay.runner.replay` without the CLI's report.

`bench.replay_throughput` runs this in a subprocess under its launcher, which
reads the child's peak RSS. Beside the CLI's figure it shows what the engine
itself holds: verdicts are counted through `on_verdict` as windows close and
not kept, as the CLI does, so what remains is window state and the engine.

    uv run python -m bench.replay_memory --baseline PATH FILE...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.config import load_settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.replay.runner import replay
from driftwarden.monitor.verdicts.verdict import WindowVerdict


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--baseline", type=Path, required=True)
    args = parser.parse_args(argv)
    engine = Engine([load_baseline(args.baseline)], load_settings(None))
    closed: list[int] = [0]

    def count(_: WindowVerdict) -> None:
        closed[0] += 1

    replay(engine, args.files, on_verdict=count)
    print(json.dumps({"windows": closed[0], **engine.counts.to_dict()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
