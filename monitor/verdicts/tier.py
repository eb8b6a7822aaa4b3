"""The four tiers a column or model can be in, ordered by urgency."""

from __future__ import annotations

from enum import IntEnum


class Tier(IntEnum):
    """Ordered so that `max()` over columns gives the model's tier.

    none: nothing to say; info: dashboards and digests; warning: the owning
    team's channel when sustained; critical: the pager.
    """

    NONE = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Tier:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"unknown tier {text!r}; use one of none, info, warning, critical"
            ) from None
