"""Inhibition: a firing source alert mutes matching target alerts.

Alertmanager's rule (`inhibit/inhibit.go`): a target is muted while some firing
alert matches `source_matchers` and has the same value for every `equal` label
(a label missing on both sides counts as equal). An alert never inhibits itself.
The shipped rule, critical mutes warning with `equal: [alertname, model,
environment]`, only bites across alerts: driftwarden keeps one alert per model
and incident kind (drift, realised performance, label coverage: `fingerprint`),
and `alertname` in `equal` keeps a critical drift from muting a warning about
label coverage. It matters for custom alerts, rules with a wider `equal` (e.g.
`[environment]`), and it is the rule to copy into Alertmanager when that is the
receiver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from driftwarden.monitor.alerting.matchers import Matcher, match_all, parse_matchers
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.config import InhibitRule
from driftwarden.monitor.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Inhibitor:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def mutes(self, target: Mapping[str, str], source: Mapping[str, str]) -> bool:
        return (
            match_all(self.target, target)
            and match_all(self.source, source)
            and all(target.get(n, "") == source.get(n, "") for n in self.equal)
        )


def compile_rules(rules: Iterable[InhibitRule]) -> tuple[Inhibitor, ...]:
    out = []
    for i, rule in enumerate(rules):
        try:
            out.append(
                Inhibitor(
                    source=parse_matchers(rule.source_matchers),
                    target=parse_matchers(rule.target_matchers),
                    equal=tuple(rule.equal),
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"alerting.inhibit_rules[{i}]: {exc}") from None
    return tuple(out)


def inhibited_by(alert: Alert, firing: Iterable[Alert], rules: Iterable[Inhibitor]) -> str | None:
    """The fingerprint of the alert that mutes `alert`, or None."""
    sources = [a for a in firing if a.firing and a.fingerprint != alert.fingerprint]
    for rule in rules:
        for source in sources:
            if rule.mutes(alert.labels, source.labels):
                return source.fingerprint
    return None
