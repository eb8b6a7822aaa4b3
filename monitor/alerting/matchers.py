"""Label matchers in Alertmanager syntax: `tier="critical"`, `model=~"credit.*"`, `!=`, `!~`.

Semantics follow Alertmanager's `pkg/labels`: a missing label has the value "",
regular expressions are anchored (`model=~"credit"` does not match
`credit-risk`), and values may be double-quoted (with `\\"` and `\\\\` escapes)
or bare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from driftwarden.monitor.errors import ConfigError

Operator = Literal["=", "!=", "=~", "!~"]

_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Operator
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._pattern is not None
        found = self._pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(raw: str, text: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        out: list[str] = []
        chars = iter(raw[1:-1])
        for ch in chars:
            if ch == "\\":
                nxt = next(chars, "")
                out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            elif ch == '"':
                raise ConfigError(
                    f'matcher {text!r}: unescaped quote inside the value; write \\" for a quote'
                )
            else:
                out.append(ch)
        return "".join(out)
    if '"' in raw:
        raise ConfigError(f'matcher {text!r}: unbalanced quotes; write name="value"')
    return raw


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; the error names the matcher and shows the expected form."""
    match = _MATCHER.match(text)
    if match is None:
        raise ConfigError(
            f'matcher {text!r} is not valid; write label="value", label!="value", '
            f'label=~"regex" or label!~"regex" (e.g. tier="critical")'
        )
    name, op, raw = match.group(1), match.group(2), match.group(3)
    value = _unquote(raw, text)
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ConfigError(f"matcher {text!r}: invalid regular expression: {exc}") from None
    return Matcher(name=name, op=cast(Operator, op), value=value, _pattern=pattern)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
