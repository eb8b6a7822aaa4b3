from __future__ import annotations

from datetime import UTC, datetime

import pytest

from driftwarden.monitor.alerting.mute import MuteCalendar
from driftwarden.monitor.config import MuteTimeInterval
from driftwarden.monitor.errors import ConfigError


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


CAL = MuteCalendar(
    [
        MuteTimeInterval.model_validate(
            {
                "name": "nights",
                "time_intervals": [
                    {
                        "times": [
                            {"start_time": "22:00", "end_time": "24:00"},
                            {"start_time": "00:00", "end_time": "06:00"},
                        ]
                    }
                ],
            }
        ),
        MuteTimeInterval.model_validate(
            {"name": "weekends", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}
        ),
    ]
)


@pytest.mark.parametrize(
    ("when", "names", "muted"),
    [
        ("2026-11-24T23:30:00", ["nights"], True),  # a Tuesday
        ("2026-11-24T06:00:00", ["nights"], False),  # end is exclusive
        ("2026-11-24T12:00:00", ["nights", "weekends"], False),
        ("2026-11-28T12:00:00", ["weekends"], True),  # a Saturday
        ("2026-11-28T12:00:00", [], False),
    ],
)
def test_intervals_are_utc_weekdays_and_times(when: str, names: list[str], muted: bool) -> None:
    assert CAL.muted(names, ts(when)) is muted


def test_unknown_interval_names_and_backwards_ranges_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not defined"):
        CAL.check_references({"root": ["holidays"]})
    with pytest.raises(ConfigError, match="must be after"):
        MuteCalendar(
            [
                MuteTimeInterval.model_validate(
                    {
                        "name": "x",
                        "time_intervals": [
                            {"times": [{"start_time": "22:00", "end_time": "06:00"}]}
                        ],
                    }
                )
            ]
        )
