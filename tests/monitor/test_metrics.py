"""The metrics exposition matches docs/metrics.md, the contract of the Helm chart's rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from driftwarden.monitor.telemetry.metrics import METRIC_NAMES, Metrics
from driftwarden.monitor.verdicts.tier import Tier
from tests.support.components import require_binary

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
_ROW = re.compile(r"^\|\s*`(driftwarden_[a-z_]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|")


def _documented() -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (type, labels) from the table in docs/metrics.md."""
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            name, kind, labels = match.groups()
            out[name] = (kind.split()[0], frozenset(re.findall(r"`([a-z_]+)`", labels)))
    return out


def _populated() -> Metrics:
    m = Metrics("1.2.3")
    m.record_consumed("predictions", 10)
    m.record_accepted("credit", 8)
    m.record_rejected("not_json", 2)
    m.record_window_closed("credit")
    m.set_column_statistic("credit", "age", "psi", 0.12)
    m.set_column_tier("credit", "age", Tier.WARNING)
    m.set_bin_shares("credit", "age", "window", [0.25, 0.75])
    m.set_model_tier("credit", Tier.WARNING)
    m.set_consumer_lag("predictions", 0, 42)
    m.set_watermark_delay("credit", 3.5)
    m.observe_checkpoint(0.03, 1_700_000_000.0)
    m.record_alert("slack", "success")
    m.set_outbox_pending("slack", 1)
    m.record_loop_iteration()
    m.set_partitions_assigned(3)
    m.record_storage_write_failure("checkpoint")
    m.set_storage_fault("checkpoint", True)
    m.record_http_connection_dropped("timeout")
    m.performance.set_metrics("credit", "realised", {"accuracy": 0.91}, 2)
    m.performance.set_labels("credit", 0.98, 3600.0, 86400.0)
    return m


def _exposed_types_and_labels(m: Metrics) -> dict[str, tuple[str, frozenset[str]]]:
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for family in text_string_to_metric_families(m.exposition().decode()):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels: set[str] = set()
        for sample in family.samples:
            labels |= set(sample.labels) - {"le"}
        out[name] = (family.type, frozenset(labels))
    return out


def test_exposition_has_exactly_the_documented_metrics_types_and_labels() -> None:
    documented = _documented()
    assert len(documented) == 27, "docs/metrics.md table not parsed"
    assert set(documented) == set(METRIC_NAMES)
    exposed = _exposed_types_and_labels(_populated())
    assert set(exposed) == set(documented)
    for name, (kind, labels) in documented.items():
        assert exposed[name][1] == labels, name
        assert exposed[name][0] == kind, name  # info metrics are exposed as gauges


def test_no_created_series_are_exposed() -> None:
    text = _populated().exposition().decode()
    assert "_created" not in text


def test_build_info_is_one_with_the_version() -> None:
    text = Metrics("9.9.9").exposition().decode()
    assert 'driftwarden_build_info{version="9.9.9"} 1.0' in text


def test_two_instances_do_not_share_state() -> None:
    a, b = Metrics("1"), Metrics("1")
    a.record_consumed("t", 5)
    assert 'driftwarden_events_consumed_total{topic="t"}' not in b.exposition().decode()


def test_forgotten_partitions_lose_their_lag_series() -> None:
    m = Metrics("1")
    m.set_consumer_lag("t", 0, 5)
    m.set_consumer_lag("t", 1, 7)
    m.forget_partitions([("t", 0), ("t", 9)])
    text = m.exposition().decode()
    assert 'partition="0"' not in text
    assert 'driftwarden_consumer_lag_messages{partition="1",topic="t"} 7.0' in text


def test_negative_lag_is_reported_as_zero() -> None:
    m = Metrics("1")
    m.set_consumer_lag("t", 0, -3)
    assert (
        'driftwarden_consumer_lag_messages{partition="0",topic="t"} 0.0' in m.exposition().decode()
    )


def test_unknown_alert_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Metrics("1").record_alert("slack", "maybe")  # type: ignore[arg-type]


@pytest.mark.promtool
def test_promtool_accepts_the_exposition(tmp_path: Path) -> None:
    promtool = require_binary(
        "promtool", "install it with scripts/install-system-deps.sh (Debian package prometheus)"
    )
    exposition = _populated().exposition()
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "", result.stdout.decode()  # no lint warnings


def test_prime_exports_every_configured_label_set_at_zero() -> None:
    """Rules use increase(): a counter must exist at 0 before its first event."""
    metrics = Metrics("test")
    metrics.prime(topics=["t"], models=["m"], reasons=["late"], receivers=["pager"])
    text = metrics.exposition().decode()
    for line in (
        'driftwarden_events_consumed_total{topic="t"} 0.0',
        'driftwarden_events_accepted_total{model="m"} 0.0',
        'driftwarden_events_rejected_total{reason="late"} 0.0',
        'driftwarden_alerts_sent_total{outcome="failed",receiver="pager"} 0.0',
        'driftwarden_alert_outbox_pending{receiver="pager"} 0.0',
    ):
        assert line in text


def test_storage_and_http_series_start_at_zero_for_known_labels() -> None:
    """`increase()` needs a 0 sample before the first fault or the first dropped connection."""
    text = Metrics("1").exposition().decode()
    for component in ("checkpoint", "alert_state"):
        assert f'driftwarden_storage_write_failures_total{{component="{component}"}} 0.0' in text
        assert f'driftwarden_storage_fault{{component="{component}"}} 0.0' in text
    for reason in ("limit", "timeout", "too_large", "aborted"):
        assert f'driftwarden_http_connections_dropped_total{{reason="{reason}"}} 0.0' in text


def test_bin_shares_are_labelled_by_bin_index_and_source_never_by_value() -> None:
    m = Metrics("1")
    m.set_bin_shares("credit", "country", "baseline", [0.5, 0.3, 0.2])
    m.set_bin_shares("credit", "country", "window", [0.1, 0.2, 0.7])
    text = m.exposition().decode()
    share = "driftwarden_column_bin_share"
    assert f'{share}{{bin="2",column="country",model="credit",source="window"}} 0.7' in text
    assert f'{share}{{bin="0",column="country",model="credit",source="baseline"}} 0.5' in text
