"""No function in the package is longer than one screen (issue 16's size budget).

Ruff's size rules count branches, returns and statements (pyproject.toml); none counts lines,
so this walks the package's source. A function's length is its whole definition, docstring
included, decorators excluded. bench/ and tests/ are exempt: they read as one story.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ("monitor", "baselines", "detectors", "src/driftwarden")
MAX_LINES = 60


def _sources() -> list[Path]:
    files = []
    for folder in PACKAGE:
        top = ROOT / folder
        pattern = "*.py" if folder.startswith("src/") else "**/*.py"
        files += [p for p in sorted(top.glob(pattern)) if not p.is_symlink()]
    return files


def function_lengths() -> dict[str, int]:
    """`path::name` -> lines, for every function and method of the package."""
    lengths = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                key = f"{path.relative_to(ROOT)}::{node.name}"
                lengths[key] = max(lengths.get(key, 0), node.end_lineno - node.lineno + 1)
    return lengths


def test_no_function_in_the_package_is_longer_than_sixty_lines() -> None:
    lengths = function_lengths()
    too_long = {k: n for k, n in lengths.items() if n > MAX_LINES}
    assert too_long == {}


def test_the_walk_sees_the_whole_package() -> None:
    lengths = function_lengths()
    assert "monitor/cli.py::main" in lengths
    assert "detectors/psi.py::psi" in lengths
    assert "src/driftwarden/api.py::compare" in lengths
