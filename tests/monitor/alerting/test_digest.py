from __future__ import annotations

from driftwarden.monitor.alerting.digest import DigestState, add_verdict
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import T0, verdict


def test_hourly_digest_closes_on_the_hour_and_lists_each_model() -> None:
    state = DigestState()
    closed = []
    for i in range(13):  # 13 windows of 5 min: the 12th ends at 01:00
        tier = Tier.INFO if i % 3 else Tier.WARNING
        for model in ("credit-risk", "fraud"):
            t = tier if model == "credit-risk" else Tier.NONE
            d = add_verdict(state, verdict(i, t, model=model), interval=3600, environment="prod")
            if d:
                closed.append(d)
    (digest,) = closed
    assert (digest.period_start, digest.period_end) == (T0, T0 + 3600)
    (entry,) = digest.entries  # fraud never left tier none
    assert entry.model_id == "credit-risk"
    assert entry.highest_tier == Tier.WARNING
    assert entry.windows == 11
    assert entry.windows_by_tier == {"warning": 4, "info": 7}
    assert entry.columns == ("income",)


def test_a_quiet_period_produces_no_digest() -> None:
    state = DigestState()
    out = [
        add_verdict(state, verdict(i, Tier.NONE), interval=600, environment="p") for i in range(10)
    ]
    assert out == [None] * 10
