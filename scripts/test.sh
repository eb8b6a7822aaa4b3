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
# Background installers report progress: one line every 30 s while they run, until pytest
# starts, so that pytest's output is not interleaved with them.
rm -f .cache/logs/pytest.running
progress() {  # name pid
  while kill -0 "$2" 2> /dev/null; do
    sleep 30
    if kill -0 "$2" 2> /dev/null && [ ! -e .cache/logs/pytest.running ]; then
      echo "   ... $1 still running: $(tail -n 1 ".cache/logs/$1.log" 2> /dev/null | cut -c1-120)"
    fi
  done
}
wait_for() {  # name pid: a failed background installer fails the run under CI=true
  wait "$2"
  if [ "$(cat ".cache/logs/$1.status" 2> /dev/null)" != "0" ]; then
    if [ "${CI:-}" = "true" ]; then echo "FAILED: $1"; tail -n 60 ".cache/logs/$1.log"; exit 1; fi
    echo "warning: $1 failed; tests needing it will be skipped (see .cache/logs/$1.log)"
  fi
}
background() {  # name: run scripts/<name>.sh in the background; its exit code lands in
  # .cache/logs/<name>.status, which the tests that need it wait for
  # (tests/support/components.py, await_background_install)
  rm -f ".cache/logs/$1.status"
  (bash "scripts/$1.sh" > ".cache/logs/$1.log" 2>&1; echo $? > ".cache/logs/$1.status") &
  pids+=("$1:$!")
  progress "$1" "$!" &
  DRIFTWARDEN_BACKGROUND_INSTALLS="${DRIFTWARDEN_BACKGROUND_INSTALLS:+$DRIFTWARDEN_BACKGROUND_INSTALLS,}$1"
}
pids=()
DRIFTWARDEN_BACKGROUND_INSTALLS=""
[ -f scripts/install-helm.sh ] && background install-helm
[ -f scripts/install-system-deps.sh ] && optional install-system-deps bash scripts/install-system-deps.sh
# After the apt installs above (one dpkg lock): podman, the base image and the project's image.
[ -f scripts/install-containers.sh ] && background install-containers
[ -f scripts/fetch-kafka.sh ] && optional fetch-kafka bash scripts/fetch-kafka.sh

step "lint: ruff, mypy --strict, import layers"
"$UV" run --locked ruff check .
"$UV" run --locked ruff format --check .
"$UV" run --locked mypy
"$UV" run --locked lint-imports

export PATH="$root/.tools/bin:$PATH"
export DRIFTWARDEN_BACKGROUND_INSTALLS

step "pytest (helm and the image still building in the background: their tests run last)"
touch .cache/logs/pytest.running
set +e
"$UV" run --locked pytest "$@"
code=$?
set -e
rm -f .cache/logs/pytest.running
for entry in "${pids[@]}"; do  # never leave an installer writing into .tools behind
  wait_for "${entry%%:*}" "${entry##*:}"
done
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose"; exit 1
fi
exit "$code"
