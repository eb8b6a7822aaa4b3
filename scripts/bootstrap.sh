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
