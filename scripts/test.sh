#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what it needs.
#   uv + the locked environment, Debian's prometheus (promtool) and prometheus-alertmanager,
#   the pinned Kafka broker jars from Maven Central, helm from the Go module proxy, and
#   podman + runc + debootstrap with the project's image (scripts/install-containers.sh).
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

step "external components (background: helm build, image build; foreground: apt packages, Kafka jars)"
# Background installers report progress: one line every 30 s while they run.
progress() {  # name pid
  while kill -0 "$2" 2> /dev/null; do
    sleep 30
    if kill -0 "$2" 2> /dev/null; then
      echo "   ... $1 still running: $(tail -n 1 ".cache/logs/$1.log" 2> /dev/null | cut -c1-120)"
    fi
  done
}
wait_for() {  # name pid: a failed background installer fails the run under CI=true
  if ! wait "$2"; then
    if [ "${CI:-}" = "true" ]; then echo "FAILED: $1"; tail -n 60 ".cache/logs/$1.log"; exit 1; fi
    echo "warning: $1 failed; tests needing it will be skipped (see .cache/logs/$1.log)"
  fi
}
helm_pid=""
if [ -f scripts/install-helm.sh ]; then
  bash scripts/install-helm.sh > .cache/logs/install-helm.log 2>&1 &
  helm_pid=$!
  progress install-helm "$helm_pid" &
fi
[ -f scripts/install-system-deps.sh ] && optional install-system-deps bash scripts/install-system-deps.sh
# After the apt installs above (one dpkg lock): podman, the base image and the project's image.
containers_pid=""
if [ -f scripts/install-containers.sh ]; then
  bash scripts/install-containers.sh > .cache/logs/install-containers.log 2>&1 &
  containers_pid=$!
  progress install-containers "$containers_pid" &
fi
[ -f scripts/fetch-kafka.sh ] && optional fetch-kafka bash scripts/fetch-kafka.sh

step "lint: ruff, mypy --strict, import layers"
"$UV" run --locked ruff check .
"$UV" run --locked ruff format --check .
"$UV" run --locked mypy
"$UV" run --locked lint-imports

if [ -n "$helm_pid" ]; then
  step "waiting for helm"
  wait_for install-helm "$helm_pid"
fi
if [ -n "$containers_pid" ]; then
  step "waiting for the image build (podman)"
  wait_for install-containers "$containers_pid"
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
