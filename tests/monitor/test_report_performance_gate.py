"""`--fail-on` and the summary name a label-coverage tier in its own words, not as a drop."""

from __future__ import annotations

from typing import Any

from driftwarden.monitor.replay.report import performance_lines, performance_reaching
from driftwarden.monitor.verdicts.tier import Tier


def _report(tier: str, coverage_tier: str, words: str) -> dict[str, Any]:
    window = {
        "model_id": "credit-risk",
        "window": 4,
        "performance": {"tier": tier, "coverage_tier": coverage_tier, "what_happened": words},
    }
    return {"outcomes": {"windows": [window]}}


def test_a_coverage_tier_fails_the_gate_as_label_coverage() -> None:
    report = _report("none", "warning", "label coverage 20% below outcomes.low_coverage 50%")
    assert performance_reaching(report, Tier.WARNING) == (
        "credit-risk window 4: label coverage reached warning "
        "(label coverage 20% below outcomes.low_coverage 50%)"
    )
    assert performance_reaching(report, Tier.CRITICAL) is None
    assert performance_lines(report)[0] == (
        "performance: 1 window with final labels, 0 with a realised performance tier, "
        "1 with a label coverage tier"
    )


def test_a_realised_tier_fails_the_gate_as_realised_performance() -> None:
    report = _report("critical", "none", "accuracy fell from 0.94 to 0.80")
    assert performance_reaching(report, Tier.WARNING) == (
        "credit-risk window 4: realised performance reached critical "
        "(accuracy fell from 0.94 to 0.80)"
    )
    lines = performance_lines(report)
    assert len(lines) == 2
    assert "critical" in lines[1]
