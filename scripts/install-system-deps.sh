#!/usr/bin/env bash
# Install the Debian packages some marked tests need: `promtool` (package prometheus; checks our
# /metrics exposition and the Helm chart's rules) and `amtool`/`prometheus-alertmanager` (the
# real Alertmanager the alerting tests start), and `chromium` (the HTML report page's browser
# test drives Debian's headless Chromium with Playwright; no browser is downloaded).
#
# Idempotent: when all the binaries are already on PATH, apt is not touched at all (apt-get update
# alone costs tens of seconds).
#
# Debian's packages try to start their services in post-install. Inside a container without
# systemd or a working invoke-rc.d that start fails, which would leave the packages "half
# configured" and apt exiting non-zero. We forbid service starts for the duration with a
# policy-rc.d (exit 101 = "action not allowed"; see /usr/share/doc/init-system-helpers), and
# repair with `dpkg --configure -a` should an earlier run have been interrupted. Only a missing
# binary after all that fails the script.
set -euo pipefail

have_all() {
  command -v promtool > /dev/null 2>&1 && command -v prometheus-alertmanager > /dev/null 2>&1 &&
    command -v chromium > /dev/null 2>&1
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  if ! command -v sudo > /dev/null 2>&1; then
    echo "install-system-deps.sh: not root and no sudo; run as root:" \
      "apt-get install prometheus prometheus-alertmanager chromium" >&2
    exit 1
  fi
else
  sudo=
fi

policy=/usr/sbin/policy-rc.d
installed_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" > /dev/null
  $sudo chmod 755 "$policy"
  installed_policy=1
fi
cleanup() {
  if [ "$installed_policy" = 1 ]; then
    $sudo rm -f "$policy"
  fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps.sh: installing prometheus, prometheus-alertmanager and chromium (apt)" >&2
$sudo apt-get update -q >&2
# A failing post-install (service start) must not fail us; the binary check below decides.
$sudo apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager \
  chromium fonts-liberation >&2 ||
  echo "install-system-deps.sh: apt-get install reported an error (post-install in a container?)" >&2
$sudo dpkg --configure -a >&2 || true

if ! have_all; then
  echo "install-system-deps.sh: promtool, prometheus-alertmanager or chromium still missing;" \
    "see apt's output above" >&2
  exit 1
fi
echo "install-system-deps.sh: $(promtool --version 2>&1 | head -n 1)" >&2
