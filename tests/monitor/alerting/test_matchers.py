from __future__ import annotations

import pytest

from driftwarden.monitor.alerting.matchers import match_all, parse_matcher
from driftwarden.monitor.errors import ConfigError

LABELS = {"model": "credit-risk", "tier": "critical", "environment": "prod"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('tier="critical"', True),
        ('tier="warning"', False),
        ('tier!="warning"', True),
        ('model=~"credit.*"', True),
        ('model=~"credit"', False),  # anchored, as in Alertmanager
        ('model!~"fraud|churn"', True),
        ("tier=critical", True),  # bare values are allowed
        ('team=""', True),  # a missing label equals the empty string
        ('team!~".+"', True),
        ('  tier = "critical"  ', True),
    ],
)
def test_matcher_semantics_follow_alertmanager(text: str, expected: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is expected


def test_quoted_values_unescape_quotes_and_backslashes() -> None:
    m = parse_matcher(r'note="say \"hi\" \\ bye"')
    assert m.value == 'say "hi" \\ bye'
    assert parse_matcher(str(m)) == m


@pytest.mark.parametrize("text", ["tier", '="x"', '9tier="x"', 'model=~"("', 'a="b'])
def test_invalid_matchers_name_the_matcher_and_the_fix(text: str) -> None:
    with pytest.raises(ConfigError, match="matcher"):
        parse_matcher(text)


def test_empty_matcher_list_matches_everything() -> None:
    assert match_all([], LABELS)
