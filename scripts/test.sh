#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what it needs.
#   uv + the locked environment, Debian's prometheus (promtool) and prometheus-alertmanager,
#   the pinned Kafka broker jars from Maven Central, and helm from the Go module proxy.
# Everything downloaded is cached under .cache/ and .tools/ (git-ignored): a second run is fast.
# With CI=true a component that cannot be installed or started fails the run; elsewhere the
# tests that need it are skipped with the reason. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p .cache/logs

step() { printf '\n== %s\n' "$*"; }
optional() {  # run an installer; outside CI a failure only warns
  local name="$1"; shift
  if ! "$@" > ".cache/logs/$name.log" 2>&1; then
    if [ "${CI:-}" = "true" ]; then
      echo "FAILED: $name (log follows)"; tail -n 60 ".cache/logs/$name.log"; exit 1
    fi
    echo "warning: $name failed; tests needing it will be skipped (see .cache/logs/$name.log)"
  fi
}

step "environment (uv, locked dependencies)"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

step "external components (background: helm build; foreground: apt packages, Kafka jars)"
helm_pid=""
if [ -f scripts/install-helm.sh ]; then
  bash scripts/install-helm.sh > .cache/logs/install-helm.log 2>&1 &
  helm_pid=$!
fi
[ -f scripts/install-system-deps.sh ] && optional install-system-deps bash scripts/install-system-deps.sh
[ -f scripts/fetch-kafka.sh ] && optional fetch-kafka bash scripts/fetch-kafka.sh

step "lint: ruff, mypy --strict, import layers"
"$UV" run --locked ruff check .
"$UV" run --locked ruff format --check .
"$UV" run --locked mypy
"$UV" run --locked lint-imports

if [ -n "$helm_pid" ]; then
  step "waiting for helm"
  if ! wait "$helm_pid"; then
    if [ "${CI:-}" = "true" ]; then echo "FAILED: install-helm"; tail -n 60 .cache/logs/install-helm.log; exit 1; fi
    echo "warning: helm install failed; helm tests will be skipped"
  fi
fi
export PATH="$root/.tools/bin:$PATH"

step "pytest"
set +e
"$UV" run --locked pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose"; exit 1
fi
exit "$code"
