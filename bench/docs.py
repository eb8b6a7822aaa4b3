"""`docs/benchmarks.md`: one `## ` section per benchmark script, each rewritten by its own run."""

from __future__ import annotations

from pathlib import Path

DOCS = Path("docs/benchmarks.md")
_INTRO = (
    "# Benchmarks\n\nMeasured results of the benchmarks in `bench/`; each section "
    "names its command, date and machine, and the script that produced it.\n"
)


def update_section(path: Path, heading: str, section: str) -> None:
    """Replace the section under `heading` with `section` (or append it), leaving the others.

    A section runs from its `## ` heading to the next `## ` heading; its own `### `
    subsections go with it.
    """
    text = path.read_text() if path.exists() else _INTRO
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    body = section.rstrip("\n").splitlines()
    if start is None:
        new = [*lines, "", *body] if lines and lines[-1].strip() else [*lines, *body]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = lines[end:]
        new = [*lines[:start], *body, *([""] if tail else []), *tail]
    path.write_text("\n".join(new).rstrip("\n") + "\n")
