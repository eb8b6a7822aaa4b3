#!/usr/bin/env bash
# Install the tools of the offline chart checks (tests/helm/), cached and idempotent:
#
#   .tools/bin/helm            pinned helm, built from the Go module proxy
#   .tools/bin/manifest-check  our checker in tools/manifest-check (Pod Security
#                              "restricted" evaluation, strict Prometheus Operator CRD decoding)
#
# helm: a plain `go install` is not the release binary. Release builds inject the version
# and the Kubernetes version through -ldflags (helm's Makefile); without them helm reports
# KubeVersion v1.20.0, so `kubeVersion` constraints fail and `helm lint` checks deprecated
# APIs against 1.20. We inject the same values as the release build.
#
# Each tool is skipped when its binary is current: helm by its embedded module version,
# manifest-check by a hash of its sources. Caches: .cache/go/{mod,build} (keep the build
# cache: a relink then takes ~10 s instead of ~3.5 min); binaries in .tools/bin/. Both
# directories are git-ignored.
set -euo pipefail

HELM_VERSION=v3.22.0
K8S_MINOR=37 # k8s.io/client-go v0.37 in helm v3.22.0's go.mod

root=$(cd "$(dirname "$0")/.." && pwd)
# Go's caches default to the repository's .cache/; export GOMODCACHE / GOCACHE beforehand
# to share them between clones (e.g. CI's fresh clone on a machine that built them before).
export GOMODCACHE="${GOMODCACHE:-$root/.cache/go/mod}"
export GOCACHE="${GOCACHE:-$root/.cache/go/build}"
export GOBIN="$root/.tools/bin"
export GOFLAGS=-modcacherw # lets `rm -rf .cache` work without `go clean -modcache`
mkdir -p "$GOBIN"

need_go() {
  if ! command -v go > /dev/null 2>&1; then
    echo "install-helm.sh: 'go' (>= 1.26) not found on PATH; install Go, then rerun" >&2
    exit 1
  fi
}

helm_bin="$GOBIN/helm"
if [ -x "$helm_bin" ] && [ "$(go version -m "$helm_bin" 2> /dev/null | awk '$1 == "mod" {print $3}')" = "$HELM_VERSION" ]; then
  :
else
  need_go
  P=helm.sh/helm/v3
  echo "install-helm.sh: building helm $HELM_VERSION (cold: ~3.5 min) into $helm_bin" >&2
  go install -trimpath -ldflags "-s -w \
    -X $P/internal/version.version=$HELM_VERSION \
    -X $P/pkg/chartutil.k8sVersionMajor=1 -X $P/pkg/chartutil.k8sVersionMinor=$K8S_MINOR \
    -X $P/pkg/lint/rules.k8sVersionMajor=1 -X $P/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR" \
    "$P/cmd/helm@$HELM_VERSION"
  "$helm_bin" version --short >&2
fi

checker_src="$root/tools/manifest-check"
checker_bin="$GOBIN/manifest-check"
stamp="$checker_bin.sources-sha256"
sources_hash=$(cat "$checker_src/go.mod" "$checker_src/go.sum" "$checker_src"/*.go | sha256sum | cut -d' ' -f1)
if [ -x "$checker_bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sources_hash" ]; then
  :
else
  need_go
  echo "install-helm.sh: building manifest-check (cold: ~1 min) into $checker_bin" >&2
  (cd "$checker_src" && go build -trimpath -mod=readonly -o "$checker_bin" .)
  echo "$sources_hash" > "$stamp"
fi
