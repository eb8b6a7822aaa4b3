"""Alert fatigue against the real core evaluator (bench.calibration's synthetic windows).

Calm traffic must never reach a human; one sustained drift episode is one page,
one update on escalation and one resolve.
"""

from __future__ import annotations

import random

import pytest

from bench.calibration import make_baseline, window
from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.config import ModelPolicy
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from examples import synthetic
from tests.monitor.alerting.alert_fakes import (
    FakeClock,
    FakeReceiver,
    PagerDutyModel,
    alerting_settings,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return make_baseline()


def run(verdicts: list[WindowVerdict]) -> dict[str, FakeReceiver]:
    clock = FakeClock(0.0)
    fakes = {n: FakeReceiver(n) for n in ("log", "chat", "pager")}
    pipeline = AlertPipeline(
        alerting_settings(),
        environment="prod",
        clock=clock,
        state_dir=None,
        rng=random.Random(1),
        receivers=fakes,
    )
    for v in verdicts:
        pipeline.observe(v)
        clock.now = v.window_end
        pipeline.dispatch()
    return fakes


def windows(
    baseline: Baseline, plan: list[synthetic.Drift | None], seed: int
) -> list[WindowVerdict]:
    layout = ModelLayout.from_baseline(baseline)
    evaluator = ModelEvaluator(layout, ModelPolicy())
    return [window(layout, evaluator, i, seed=seed + i, drift=d) for i, d in enumerate(plan)]


def test_calm_traffic_gives_no_page_and_no_chat_post(baseline: Baseline) -> None:
    fakes = run(windows(baseline, [None] * 100, seed=10_000))
    assert fakes["pager"].sent == []
    assert fakes["chat"].sent == []


def test_one_sustained_episode_is_one_page_one_escalation_and_one_resolve(
    baseline: Baseline,
) -> None:
    warn = synthetic.Drift(new_category={"country": ("XX", 0.05)})  # calibrated: warning
    crit = synthetic.Drift(
        new_category={"country": ("XX", 0.05)}, missing_increase={"income": 0.19}
    )  # calibrated: critical
    plan = [None] * 3 + [warn] * 4 + [crit] * 6 + [None] * 12
    verdicts = windows(baseline, plan, seed=20_000)
    tiers = [v.tier for v in verdicts]
    assert Tier.CRITICAL in tiers, tiers
    assert tiers[-1] == Tier.NONE, tiers
    fakes = run(verdicts)

    pd = PagerDutyModel()
    for note in fakes["pager"].sent:
        for a in note.alerts:
            pd.apply(a.fingerprint, "trigger" if a.firing else "resolve")
    assert (pd.pages, pd.resolves, pd.open) == (1, 1, set()), fakes["pager"].events()
    changes = [a.change for n in fakes["chat"].sent for a in n.alerts]
    assert changes.count("new") == 1, (tiers, changes)
    assert changes.count("escalated") == 1, ([t.label for t in tiers], changes)
    assert changes.count("resolved") == 1
    assert changes[-1] == "resolved", changes
