"""The window record is the verdict's one serialised form, for the report and the verdict log."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from driftwarden.monitor.service.observers import VerdictLogObserver
from driftwarden.monitor.verdicts.narrative import what_happened, what_to_do, why_it_matters
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnStatistics
from tests.monitor.alerting.alert_verdicts import column, verdict


def test_the_record_carries_the_narrative_words_and_tier_names() -> None:
    v = verdict(3, Tier.CRITICAL)
    record = window_record(v)
    assert record["what_happened"] == what_happened(v)
    assert record["why_it_matters"] == why_it_matters(v)
    assert record["what_to_do"] == list(what_to_do(v))
    assert record["tier"] == "critical"
    assert record["columns"][0]["findings"][0]["condition"] == "critical"


def test_non_finite_statistics_are_written_as_null() -> None:
    c = dataclasses.replace(
        column("income", Tier.WARNING),
        statistics=ColumnStatistics(
            n_current=5000, n_reference=100_000, missing=0, type_errors=0, psi=math.inf
        ),
    )
    record = window_record(verdict(1, Tier.WARNING, columns=(c,)))
    assert record["columns"][0]["statistics"]["psi"] is None
    json.dumps(record, allow_nan=False)  # strict JSON: no Infinity or NaN tokens


def test_the_daemon_verdict_log_writes_the_same_record(tmp_path: Path) -> None:
    v = verdict(2, Tier.WARNING)
    log = VerdictLogObserver(tmp_path / "verdicts.jsonl")
    log.observe(v)
    log.close()
    line = (tmp_path / "verdicts.jsonl").read_text(encoding="utf-8")
    assert json.loads(line) == window_record(v)


def test_a_line_cut_by_a_kill_stays_alone_and_the_next_record_starts_a_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "verdicts.jsonl"
    path.write_text('{"model_id": "m", "window_ind', encoding="utf-8")  # the kill, mid-line
    v = verdict(2, Tier.WARNING)
    log = VerdictLogObserver(path)
    log.observe(v)
    log.close()
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == '{"model_id": "m", "window_ind'
    assert json.loads(lines[1]) == window_record(v)
    assert lines[2] == ""
