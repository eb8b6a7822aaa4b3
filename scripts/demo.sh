#!/usr/bin/env bash
# The main job on the bundled example: replay 4 hours of credit-risk prediction logs (with a
# drift episode part-way through) against its training baseline. No Kafka needed. Writes the
# JSON report and its HTML page (open out/replay-report.html in a browser).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
mkdir -p out
rm -f out/dead-letter.jsonl  # one run's rejects, not an ever-growing file
exec "$UV" run --locked driftwarden replay \
  --baseline examples/baselines/credit-risk \
  --report out/replay-report.json \
  --html out/replay-report.html \
  --dead-letter out/dead-letter.jsonl \
  examples/logs/credit-risk-2026-01-05.jsonl.gz "$@"
