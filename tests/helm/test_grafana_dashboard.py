"""The Grafana dashboard: valid JSON, every query parses, the required views exist."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .rendering import CHART, Chart, undocumented_metrics

pytestmark = [pytest.mark.helm, pytest.mark.promtool]

DASHBOARD = CHART / "files" / "dashboard.json"
# The views the issue asks for, each as a metric some panel must query.
REQUIRED_VIEWS = {
    "throughput": "driftwarden_events_consumed_total",
    "rejected by reason": "driftwarden_events_rejected_total",
    "consumer lag": "driftwarden_consumer_lag_messages",
    "per-column statistic over time": "driftwarden_column_statistic",
    "tiers": "driftwarden_model_tier",
    "window histogram vs baseline": "driftwarden_column_bin_share",
    "alert deliveries": "driftwarden_alerts_sent_total",
    "model performance": "driftwarden_performance{",
    "label coverage": "driftwarden_label_coverage",
}


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def targets() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels(load()["panels"]):
        for target in panel.get("targets", []):
            yield panel, target


def as_promql(expr: str) -> str:
    """Grafana macros and variables replaced by stand-ins promtool can parse."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)(_ms|_s)?\}?", "5m", expr)
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", "grafana_var", expr)


def test_dashboard_has_fixed_uid_unique_panel_ids_and_a_datasource_variable() -> None:
    dashboard = load()
    assert dashboard["uid"] == "driftwarden-overview"
    ids = [p["id"] for p in panels(dashboard["panels"])]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel, target in targets():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_panel_query_parses_with_promtool(promtool_bin: Path, tmp_path: Path) -> None:
    """Each query becomes a recording rule, so one promtool run reports every bad panel by name."""
    rules = [
        {
            "record": f"dashboard_check:panel_{panel['id']}_{target['refId']}",
            "expr": as_promql(target["expr"]),
        }
        for panel, target in targets()
    ]
    assert len(rules) >= 20
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [str(promtool_bin), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_covers_the_required_views() -> None:
    queried = " ".join(target["expr"] for _, target in targets())
    missing = [view for view, metric in REQUIRED_VIEWS.items() if metric not in queried]
    assert not missing
    assert "by (reason)" in queried


def test_dashboard_queries_only_documented_metrics() -> None:
    for panel, target in targets():
        unknown = undocumented_metrics(target["expr"])
        assert not unknown, f"panel {panel['title']!r} uses undocumented metrics {unknown}"


def test_dashboard_configmap_carries_the_sidecar_label_and_the_file_verbatim(
    chart: Chart,
) -> None:
    """Embedded with .Files.Get, so Grafana legends like {{topic}} survive Helm."""
    render = chart.render()
    configmap = render.one("ConfigMap", "dw-driftwarden-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["driftwarden.json"]) == load()
    assert "{{topic}}" in configmap["data"]["driftwarden.json"]


def test_dashboard_can_be_switched_off(chart: Chart) -> None:
    render = chart.render(set_values=["dashboard.enabled=false"])
    names = [c["metadata"]["name"] for c in render.of_kind("ConfigMap")]
    assert names == ["dw-driftwarden"]
