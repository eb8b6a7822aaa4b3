#!/usr/bin/env bash
# Source this file: it makes a pinned uv available and syncs the locked environment.
# uv comes from PyPI into a git-ignored venv under .tools/, so nothing outside the repo changes.
UV_VERSION=0.13.9
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_uv_venv="$_root/.tools/uv-$UV_VERSION"
if [ ! -x "$_uv_venv/bin/uv" ]; then
  echo "bootstrap: installing uv $UV_VERSION into $_uv_venv" >&2
  rm -rf "$_uv_venv"
  python3 -m venv "$_uv_venv"
  "$_uv_venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
UV="$_uv_venv/bin/uv"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$_root/.cache/uv}"
export UV_PYTHON_DOWNLOADS=never
(cd "$_root" && "$UV" sync --locked --quiet)
# Bytecode, compiled here so that a read-only checkout or PYTHONDONTWRITEBYTECODE=1 (this
# project's CI machines set it) does not compile every module in memory on every start
# (docs/benchmarks.md, "Start-up"). The locked dependencies once per uv.lock (about 10 s even
# when nothing is stale, so a marker skips it); the project's own sources every time (~0.1 s:
# only edited files are compiled).
_lock_sum="$(cksum < "$_root/uv.lock")"
_marker="$_root/.venv/.bytecode-compiled"
if [ "$(cat "$_marker" 2>/dev/null)" != "$_lock_sum" ]; then
  "$_root/.venv/bin/python" -m compileall -q -j 0 "$_root/.venv/lib" > /dev/null 2>&1 || true
  printf '%s\n' "$_lock_sum" > "$_marker"
fi
"$_root/.venv/bin/python" -m compileall -q "$_root/src/driftwarden/" "$_root/monitor" \
  "$_root/baselines" "$_root/detectors" > /dev/null 2>&1 || true
