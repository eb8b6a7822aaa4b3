#!/usr/bin/env bash
# Build the project's image for the container tests (tests/container/), cached and idempotent:
#
#   1. Debian's podman, runc and debootstrap (apt, as root or through sudo), skipped when present.
#   2. A Python 3.11 base image built with debootstrap from the Debian mirror this machine's own
#      apt sources name (no image registry is reachable here), stored in podman's image store as
#      $BASE_IMAGE and skipped when it exists there (cold ~1 min, then 0 s).
#   3. $IMAGE built from the working tree with the Dockerfile, on that base (cold ~1 min; layer
#      and uv caches make a rebuild after a source change a few seconds).
#
# Every podman call uses `--runtime runc`: the default crun fails on machines that withhold
# CAP_SYS_RESOURCE (`setrlimit RLIMIT_NPROC: Operation not permitted`). The build uses the host
# network and the host's CA bundle, because package downloads may go through TLS that only the
# host trusts; UV_NATIVE_TLS=1 makes uv use that system store (the Dockerfile's defaults stay the
# official python image and uv's own roots). Progress goes to stderr, one line per step.
# Running containers (not building) also needs a containers.conf with `[containers]
# default_ulimits = []` pointed at by CONTAINERS_CONF where RLIMIT_NOFILE cannot be raised;
# tests/container/conftest.py writes one.
set -euo pipefail

BASE_IMAGE="${DW_BASE_IMAGE:-localhost/python:3.11-bookworm-local}"
IMAGE="${DW_IMAGE:-localhost/driftwarden:test}"
SUITE=bookworm
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

root=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "install-containers.sh: $*" >&2; }
podman_() { podman --runtime runc "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null 2>&1; then
    say "not root and no sudo; run as root (apt-get install podman runc debootstrap, rootful podman)"
    exit 1
  fi
  sudo=sudo
else
  sudo=
fi

# --- 1. packages -------------------------------------------------------------------------------
if command -v podman > /dev/null 2>&1 && command -v runc > /dev/null 2>&1 &&
  command -v debootstrap > /dev/null 2>&1; then
  :
else
  say "installing podman runc debootstrap (apt)"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends podman runc debootstrap >&2
fi
# Rootful podman: the tests run the same way, and debootstrap needs root anyway.
if [ -n "$sudo" ]; then
  podman_() { sudo podman --runtime runc "$@"; }
fi

# --- 2. base image -----------------------------------------------------------------------------
# The first URI of the apt source whose Suites include $SUITE (deb822 *.sources), else of a
# one-line `deb` entry for $SUITE; never a hard-coded mirror.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (uri != "" && has) { print uri; found = 1; exit } uri = ""; has = 0 }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
      END { if (!found) flush() }
    ' "$f"
  done | head -n 1
  if [ -f /etc/apt/sources.list ]; then
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print ($2 ~ /^\[/ ? $3 : $2); exit } }' \
      /etc/apt/sources.list
  fi
}

if podman_ image exists "$BASE_IMAGE"; then
  say "base image $BASE_IMAGE cached"
else
  mirror=$(debian_mirror | head -n 1)
  if [ -z "$mirror" ]; then
    say "no apt source for suite $SUITE in /etc/apt/sources.list.d/*.sources or sources.list"
    exit 1
  fi
  say "building base image $BASE_IMAGE with debootstrap from $mirror (cold: ~1 min)"
  began=$SECONDS
  rootfs=$(mktemp -d /var/tmp/driftwarden-rootfs.XXXXXX)
  trap '$sudo rm -rf "$rootfs"' EXIT
  $sudo debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 || {
    tail -n 40 "$rootfs.log" >&2
    exit 1
  }
  rm -f "$rootfs.log"
  # Behave like the official image: pip may install system-wide, `python` is on PATH.
  $sudo rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
  $sudo ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  $sudo ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
  $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # Import under a temporary name and tag only when complete, so an interrupted import never
  # passes for a cached base on the next run.
  $sudo tar -C "$rootfs" -c . | podman_ import --change 'CMD ["python3"]' - "$BASE_IMAGE-partial" > /dev/null
  podman_ tag "$BASE_IMAGE-partial" "$BASE_IMAGE"
  podman_ rmi "$BASE_IMAGE-partial" > /dev/null
  $sudo rm -rf "$rootfs"
  trap - EXIT
  say "base image built in $((SECONDS - began)) s"
fi

# --- 3. the project's image --------------------------------------------------------------------
say "building $IMAGE from $root (cold: ~1 min; cached layers: seconds)"
began=$SECONDS
mounts=()
if [ -f "$CA_BUNDLE" ]; then
  mounts=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")
fi
podman_ build --network host "${mounts[@]}" \
  --build-arg "PYTHON_IMAGE=$BASE_IMAGE" --build-arg UV_NATIVE_TLS=1 \
  -t "$IMAGE" -f "$root/Dockerfile" "$root" >&2
say "image $IMAGE built in $((SECONDS - began)) s"
