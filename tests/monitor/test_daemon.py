"""The daemon's assembly: checkpoint fingerprint, alerting by role, dead-letter checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.service.daemon import Daemon, check_topic_exists, config_fingerprint
from tests.monitor.factories import make_baseline, settings_with
from tests.monitor.test_processor import POLICY


def test_config_fingerprint_changes_with_the_window_not_with_thresholds() -> None:
    base = [make_baseline()]
    a = config_fingerprint(base, settings_with(policy=POLICY))
    b = config_fingerprint(base, settings_with(policy={**POLICY, "clear_after": 5}))
    c = config_fingerprint(base, settings_with(policy={**POLICY, "window": {"size": "5m"}}))
    assert a == b
    assert a != c


def test_a_member_without_the_partitions_suspends_its_alert_pipeline_and_the_owner_resumes_it(
    tmp_path: Path,
) -> None:
    """Only the active member of a group pages: the loop's role changes reach the pipeline."""
    settings = settings_with(
        policy=POLICY,
        kafka={"topics": ["t"]},
        checkpoint={"backend": "directory", "directory": str(tmp_path / "ck")},
        alerting={"state_directory": str(tmp_path / "alerts")},
        dead_letter={"path": str(tmp_path / "dead-letter.jsonl")},
        metrics={"enabled": False},
    )
    daemon = Daemon(settings, [make_baseline()])
    calls: list[str] = []
    daemon.alerts.suspend = lambda: calls.append("suspend")  # type: ignore[method-assign]
    daemon.alerts.resume = lambda: calls.append("resume")  # type: ignore[method-assign]
    on_change = daemon.loop._on_alerting
    assert on_change is not None  # the loop hands alerting over with the partitions
    on_change(False)
    on_change(True)
    assert calls == ["suspend", "resume"]
    daemon.store.close()
    if daemon.dead_letter is not None:
        daemon.dead_letter.close()
    daemon.alerts.close()


class _Admin:
    def __init__(self, **kwargs: Any) -> None:
        self.closed = False

    def list_topics(self) -> list[str]:
        return ["predictions", "dead-letters"]

    def close(self) -> None:
        self.closed = True


def test_a_dead_letter_topic_that_does_not_exist_refuses_the_start_naming_the_fix() -> None:
    """Otherwise every rejected event waits for metadata that never comes, silently."""
    client = KafkaClientConfig.from_settings(settings_with(kafka={"topics": ["t"]}).kafka)
    check_topic_exists(client, "dead-letters", admin_factory=_Admin)
    with pytest.raises(
        ConfigError, match=r"dead_letter.topic 'dead-leters' does not exist.*create"
    ):
        check_topic_exists(client, "dead-leters", admin_factory=_Admin)
