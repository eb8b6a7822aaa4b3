"""The outcomes section and kafka.outcome_topics: mistakes are errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwarden.monitor.config import load_settings
from driftwarden.monitor.errors import ConfigError


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_settings(path, env={})


def test_outcomes_section_takes_durations_and_fractions(tmp_path: Path) -> None:
    settings = load(tmp_path, "outcomes: {horizon: 2d, sample: 0.1, min_coverage: 0.8}\n")
    assert settings.outcomes is not None  # type: ignore[attr-defined]
    assert settings.outcomes.horizon == 2 * 86400.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("kafka: {outcome_topics: [labels]}\n", "add `outcomes: {horizon: 7d}`"),
        (
            "kafka: {topics: [p], outcome_topics: [p]}\noutcomes: {}\n",
            "a topic carries predictions or outcomes, not both",
        ),
        ("outcomes: {horizon: 0s}\n", "outcomes.horizon must be positive"),
        ("outcomes: {sample: 0}\n", "outcomes.sample"),
        ("outcomes: {horizn: 7d}\n", "outcomes.horizn"),
        (
            "events: {request_id: null}\noutcomes: {}\n",
            "set it to the field path of the request id",
        ),
    ],
)
def test_outcome_mistakes_name_the_field_and_the_fix(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace("{", r"\{")):
        load(tmp_path, text)
