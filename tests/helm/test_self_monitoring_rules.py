"""The self-monitoring alert rules: valid for promtool, unit-tested, embedded intact."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .rendering import CHART, MONITORING_API, REPO, Chart, undocumented_metrics

pytestmark = [pytest.mark.helm, pytest.mark.promtool]

RULES = CHART / "files" / "rules.yaml"
RULES_TEST = REPO / "helm" / "tests" / "rules_test.yaml"
RUNBOOK = CHART / "RUNBOOK.md"
DEFAULT_RUNBOOK_BASE = (
    "https://github.com/driftwarden/driftwarden/blob/main/helm/driftwarden/RUNBOOK.md"
)
# The health conditions the issue asks to alert on, and the alert that covers each.
REQUIRED_ALERTS = {
    "daemon down": "DriftwardenDown",
    "not consuming": "DriftwardenNotConsuming",
    "lag growing": "DriftwardenConsumerLagGrowing",
    "checkpoint stale": "DriftwardenCheckpointStale",
    "alert delivery failing": "DriftwardenAlertDeliveryFailing",
}


def promtool(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=60, check=False
    )


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_rules_file_passes_promtool_check(promtool_bin: Path) -> None:
    result = promtool(promtool_bin, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_unit_tests_pass(promtool_bin: Path) -> None:
    result = promtool(promtool_bin, "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_prometheusrule_spec_round_trips_into_promtool(
    chart: Chart, promtool_bin: Path, tmp_path: Path
) -> None:
    """The embedded spec equals files/rules.yaml (runbook base swapped) and still parses."""
    render = chart.render(
        set_values=[
            "metrics.prometheusRule.enabled=true",
            "metrics.prometheusRule.runbookBaseUrl=https://wiki.example.com/rb",
        ],
        api_versions=[MONITORING_API],
    )
    spec = render.one("PrometheusRule")["spec"]
    source = RULES.read_text(encoding="utf-8").replace(
        DEFAULT_RUNBOOK_BASE, "https://wiki.example.com/rb"
    )
    assert spec == yaml.safe_load(source)
    extracted = tmp_path / "rendered-rules.yaml"
    extracted.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = promtool(promtool_bin, "check", "rules", str(extracted))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_required_health_conditions_have_alerts() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert set(REQUIRED_ALERTS.values()) <= names


def test_every_alert_has_severity_summary_description_and_a_runbook_section() -> None:
    anchors = {
        "#" + heading.lower()
        for heading in re.findall(r"^## (\w+)$", RUNBOOK.read_text(), re.MULTILINE)
    }
    for rule in alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        assert annotations["runbook_url"] == f"{DEFAULT_RUNBOOK_BASE}#{name.lower()}"
        assert f"#{name.lower()}" in anchors, f"RUNBOOK.md has no section ## {name}"


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in alerts():
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{rule['alert']}: no firing case"
        assert any(not c["exp_alerts"] for c in mine), f"{rule['alert']}: no quiet case"


def test_rules_use_only_documented_metrics() -> None:
    """docs/metrics.md is the contract between the daemon and these rules."""
    for rule in alerts():
        unknown = undocumented_metrics(rule["expr"])
        assert not unknown, f"{rule['alert']} uses undocumented metrics {unknown}"
