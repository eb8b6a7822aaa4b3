"""The repository names no path of the machine it was written on (issue 16).

A checkout lives anywhere; a doc, docstring or test that points at one developer's
directories is wrong for everyone else. Container paths are fine (`/root/.cache/uv` is the
image build's cache mount, `/tmp` inside a pod), so only host-looking prefixes are refused.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"/work/|/home/[a-z]|/Users/[A-Za-z]|/root/(?!\.cache/uv)")
THIS = "tests/test_no_machine_paths.py"


def test_no_tracked_text_file_names_a_machine_path() -> None:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in listed:
        path = ROOT / name
        if name == THIS or path.is_symlink() or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary: fixtures and compressed logs
        lines = enumerate(text.splitlines(), 1)
        found += [f"{name}:{i}" for i, line in lines if MACHINE_PATH.search(line)]
    assert found == []
