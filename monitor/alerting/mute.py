"""Mute time intervals: named recurring windows during which a route sends nothing.

As in Alertmanager, a muted notification is dropped, not postponed: the group
keeps its state, so the next flush after the window ends notifies whatever is
still firing (or resolved meanwhile). Times are UTC; `end_time` is exclusive and
may be `24:00`. Evaluated at the verdict's event time, so replay is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from driftwarden.monitor.config import MuteTimeInterval, TimeInterval
from driftwarden.monitor.errors import ConfigError

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _minutes(text: str, *, where: str) -> int:
    hours, minutes = (int(p) for p in text.split(":"))
    total = hours * 60 + minutes
    if minutes >= 60 or total > 24 * 60:
        raise ConfigError(
            f"{where}: {text!r} is not a time of day; use HH:MM between 00:00 and 24:00"
        )
    return total


@dataclass(frozen=True, slots=True)
class _Window:
    weekdays: frozenset[int]
    ranges: tuple[tuple[int, int], ...]

    def contains(self, when: datetime) -> bool:
        if self.weekdays and when.weekday() not in self.weekdays:
            return False
        if not self.ranges:
            return True
        minute = when.hour * 60 + when.minute
        return any(start <= minute < end for start, end in self.ranges)


def _compile(interval: TimeInterval, *, where: str) -> _Window:
    ranges = []
    for i, r in enumerate(interval.times):
        start = _minutes(r.start_time, where=f"{where}.times[{i}].start_time")
        end = _minutes(r.end_time, where=f"{where}.times[{i}].end_time")
        if end <= start:
            raise ConfigError(
                f"{where}.times[{i}]: end_time {r.end_time} must be after start_time "
                f"{r.start_time}; split a range that crosses midnight in two"
            )
        ranges.append((start, end))
    return _Window(
        weekdays=frozenset(_WEEKDAYS.index(d) for d in interval.weekdays), ranges=tuple(ranges)
    )


class MuteCalendar:
    """Looks up whether any of a route's named intervals covers an instant."""

    def __init__(self, intervals: Iterable[MuteTimeInterval]) -> None:
        self._windows: dict[str, tuple[_Window, ...]] = {}
        for i, named in enumerate(intervals):
            where = f"alerting.mute_time_intervals[{i}]"
            if named.name in self._windows:
                raise ConfigError(
                    f"{where}: name {named.name!r} is defined twice; names must be unique"
                )
            self._windows[named.name] = tuple(
                _compile(t, where=f"{where}.time_intervals[{j}]")
                for j, t in enumerate(named.time_intervals)
            )

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._windows)

    def check_references(self, references: Mapping[str, Iterable[str]]) -> None:
        """Fail on a route that names an interval nobody defined."""
        for route_id, names in references.items():
            for name in names:
                if name not in self._windows:
                    raise ConfigError(
                        f"alerting.{route_id}.mute_time_intervals names {name!r}, which is not "
                        f"defined; add it under alerting.mute_time_intervals "
                        f"(defined: {sorted(self._windows)})"
                    )

    def muted(self, names: Iterable[str], at: float) -> bool:
        when = datetime.fromtimestamp(at, tz=UTC)
        return any(w.contains(when) for name in names for w in self._windows.get(name, ()))
