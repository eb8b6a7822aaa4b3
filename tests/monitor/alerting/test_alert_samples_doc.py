"""docs/alerts.md is generated from the real rendering code and must not drift from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_docs_alerts_md_is_up_to_date_with_the_renderers() -> None:
    spec = importlib.util.spec_from_file_location(
        "render_alert_samples", ROOT / "scripts" / "render_alert_samples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    actual = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert actual == expected, "run: uv run python scripts/render_alert_samples.py"


def test_each_tier_sample_shows_what_why_and_what_to_do() -> None:
    text = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    for heading in ("### Info", "### Warning", "### Critical", "### Resolved"):
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        assert "*What happened*" in section
        assert "*Why it matters*" in section
        assert "*What to do*" in section
        assert "**PagerDuty**" in section
