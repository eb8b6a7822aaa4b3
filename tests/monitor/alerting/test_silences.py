from __future__ import annotations

from pathlib import Path

import pytest

from driftwarden.monitor.alerting.silences import (
    SilenceStore,
    config_silences,
    parse_time,
    silenced_by,
)
from driftwarden.monitor.alerting.state import decode_silences
from driftwarden.monitor.alerting.store import SILENCES_KEY, DirectoryAlertStore
from driftwarden.monitor.config import SilenceConfig
from driftwarden.monitor.errors import ConfigError

LABELS = {"model": "credit-risk", "tier": "warning", "environment": "prod"}


def test_store_round_trips_and_expires(tmp_path: Path) -> None:
    store = SilenceStore(DirectoryAlertStore(tmp_path))
    s = store.add(
        matchers=['model="credit-risk"'],
        starts_at=100.0,
        ends_at=200.0,
        created_by="ana",
        comment="deploy",
        now=100.0,
    )
    again = SilenceStore(DirectoryAlertStore(tmp_path))
    assert again.all() == (s,)
    assert silenced_by(LABELS, 150.0, again.all()) == s.id
    assert silenced_by(LABELS, 200.0, again.all()) is None  # end is exclusive
    expired = again.expire(s.id[:8], now=120.0)
    assert expired.ends_at == 120.0
    assert expired.state(130.0) == "expired"
    assert silenced_by(LABELS, 125.0, SilenceStore(DirectoryAlertStore(tmp_path)).all()) is None


def test_a_running_store_sees_silences_written_by_the_cli(tmp_path: Path) -> None:
    reader = DirectoryAlertStore(tmp_path)
    assert reader.load() == {}
    assert reader.poll() == {}
    SilenceStore(DirectoryAlertStore(tmp_path)).add(
        matchers=['tier="warning"'],
        starts_at=0.0,
        ends_at=10.0,
        created_by="x",
        comment="",
        now=0.0,
    )
    changed = reader.poll()
    assert len(decode_silences(changed[SILENCES_KEY])) == 1
    assert reader.poll() == {}  # reported once


def test_silences_need_matchers_and_a_future_end(tmp_path: Path) -> None:
    store = SilenceStore(DirectoryAlertStore(tmp_path))
    with pytest.raises(ConfigError, match="at least one matcher"):
        store.add(matchers=[], starts_at=0, ends_at=10, created_by="", comment="", now=0)
    with pytest.raises(ConfigError, match="in the future"):
        store.add(matchers=['a="b"'], starts_at=0, ends_at=10, created_by="", comment="", now=20)
    with pytest.raises(ConfigError, match="no silence with id"):
        store.expire("nope", now=0)


def test_config_silences_parse_rfc3339_and_match() -> None:
    (s,) = config_silences(
        [SilenceConfig(matchers=['model=~"credit.*"'], ends_at="2030-01-01T00:00:00Z")]
    )
    assert s.id == "config-0"
    assert s.starts_at == 0.0
    assert s.ends_at == parse_time("2030-01-01T00:00:00+00:00", where="x")
    assert silenced_by(LABELS, 1e9, [s]) == "config-0"


def test_times_without_zone_are_rejected() -> None:
    with pytest.raises(ConfigError, match="no time zone"):
        parse_time("2030-01-01T00:00:00", where="ends_at")
