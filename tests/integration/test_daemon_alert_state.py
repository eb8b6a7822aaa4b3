"""`driftwarden run` killed mid-incident keeps its alert state in the checkpoint topic.

The Deployment mode as the chart runs it: `checkpoint.backend: kafka` and no
writable alerting directory (the checkpoint directory, and so the default
alerting directory beside it, is under /proc, where nothing can be created).
A silence for `fraud-check` is added with the CLI (into the topic, before the
first run); a drift incident on `credit-risk` opens and pages a local webhook
once; the daemon is SIGKILLed while the incident is open; a second daemon
continues: it does not page again, the silence holds for a `fraud-check`
incident that opens only after the restart, and the `credit-risk` incident
resolves exactly once when calm returns.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.store import BaselineStore
from driftwarden.monitor.cli import main
from tests.monitor.alerting.alert_fakes import Answer, LocalServer
from tests.support.daemon import (
    START,
    WINDOW_SECONDS,
    DaemonProcess,
    daemon_config,
    produce,
    read_verdicts,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

RATE = 30.0  # events per second per model
A, B = "credit-risk", "fraud-check"
UNWRITABLE = Path("/proc/driftwarden-test/checkpoints")


def _segment(
    model: str, seed: int, start: float, seconds: float, *, drift: bool
) -> list[dict[str, Any]]:
    from examples import synthetic

    shift = synthetic.Drift(mean_shift={synthetic.NUMERIC_FEATURES[0]: 1.5}) if drift else None
    # Poisson arrivals: 3% fewer events than the span holds, so a segment ends inside it.
    return list(
        synthetic.events(
            int(seconds * RATE * 0.97),
            seed=seed,
            start=start,
            rate_per_second=RATE,
            drift=shift,
            model_id=model,
        )
    )


def _payloads(*segments: list[dict[str, Any]]) -> list[bytes]:
    merged = sorted((e for s in segments for e in s), key=lambda e: e["timestamp"])
    return [json.dumps(e).encode() for e in merged]


def _sentinels(at: float) -> list[bytes]:
    """One calm event per model and partition past `at`: closes every window before it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at))
    out = []
    for model in (A, B):
        (template,) = _segment(model, 99, at, 1 / RATE / 0.97, drift=False)
        out.extend(
            json.dumps({**template, "request_id": f"s-{p}", "timestamp": stamp}) for p in range(3)
        )
    return [x.encode() for x in out]


def _second_baseline(directory: Path) -> Path:
    from examples import synthetic

    baseline = build_baseline(
        B,
        synthetic.training_table(20_000, 2),
        Schema(outputs=frozenset(synthetic.OUTPUTS)),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="test",
    )
    return BaselineStore(directory).write(baseline)


def _alerts(hook: LocalServer) -> list[dict[str, Any]]:
    return [a for r in hook.requests for a in r.json()["alerts"]]


def _of(alerts: list[dict[str, Any]], model: str) -> list[str]:
    return [f"{a['status']}:{a['change']}" for a in alerts if a["labels"]["model"] == model]


def _sent(daemon: DaemonProcess) -> float:
    pattern = re.compile(
        r'^driftwarden_alerts_sent_total\{(?=.*receiver="hook")(?=.*outcome="success").*\} (\S+)$'
    )
    return sum(
        float(m.group(1)) for line in daemon.metrics().splitlines() if (m := pattern.match(line))
    )


@pytest.mark.timeout(300)
def test_sigkill_mid_incident_neither_repages_nor_forgets_the_silence_or_the_resolve(
    *,
    kafka_client: str,
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    hook = LocalServer(Answer(status=200, body=b"ok"))
    try:
        _run(
            kafka_client=kafka_client,
            kafka_broker=kafka_broker,
            topic=topic,
            group_id=group_id,
            tmp_path=tmp_path,
            note_timing=note_timing,
            hook=hook,
        )
    finally:
        hook.close()


def _run(
    *,
    kafka_client: str,
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    hook: LocalServer,
) -> None:
    began = time.monotonic()
    baselines = [write_baseline(tmp_path / "baselines"), _second_baseline(tmp_path / "baselines")]
    config_path = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baselines[0],
        work=tmp_path,
        client=kafka_client,
        overrides={
            "baselines": [str(b) for b in baselines],
            "decode_workers": 0,
            "policy": {"trend": {"enabled": False}},
            "checkpoint": {
                "backend": "kafka",
                "topic": f"{topic}-checkpoints",
                "directory": str(UNWRITABLE),
            },
            "alerting": {
                "receivers": [
                    {"name": "log", "type": "log"},
                    {"name": "hook", "type": "webhook", "url": f"{hook.url}/hook"},
                ],
                "route": {
                    "receiver": "log",
                    "group_by": ["model"],
                    "group_wait": "0s",
                    "group_interval": "10s",
                    "repeat_interval": "24h",
                    "routes": [{"receiver": "hook", "matchers": ['tier=~"warning|critical"']}],
                },
            },
        },
    )
    config = json.loads(config_path.read_text())
    del config["alerting"]["state_directory"]  # as the chart renders it: nothing writable
    config_path.write_text(json.dumps(config, indent=1))
    log = tmp_path / "daemon.log"

    # Phase 1: calm, then credit-risk drifts from 150 s; fraud-check calm throughout.
    produce(
        kafka_broker.bootstrap,
        topic,
        _payloads(
            _segment(A, 1, START, 150, drift=False),
            _segment(A, 2, START + 150, 150, drift=True),
            _segment(B, 3, START, 300, drift=False),
        ),
    )
    # Set before the first run (so no calm-data blip of fraud-check can page before it);
    # it lives only in the topic, so the second run has it only if the topic keeps it.
    code = main(
        [
            *("silence", "--config", str(config_path), "add", "-m", f'model="{B}"'),
            *("--start", "2026-01-01T00:00:00Z", "--until", "2099-01-01T00:00:00Z"),
            *("-c", "fraud-check is being retrained", "--author", "test"),
        ]
    )
    assert code == 0
    first = DaemonProcess(config_path, log, name="first")
    try:
        first.wait_until("the page", lambda: "firing:new" in _of(_alerts(hook), A), timeout=120)
        first.wait_until("the page is recorded", lambda: _sent(first) >= 1, timeout=30)
        time.sleep(0.5)  # a delivery round that may be running finishes its write
        first.kill()
    finally:
        first.ensure_dead()
    before_kill = _of(_alerts(hook), A)
    assert before_kill.count("firing:new") == 1, before_kill
    assert not _of(_alerts(hook), B)

    # Phase 2: credit-risk drifts 50 s more, then calm; fraud-check drifts from 300 s.
    end = START + 600
    produce(
        kafka_broker.bootstrap,
        topic,
        [
            *_payloads(
                _segment(A, 4, START + 300, 50, drift=True),
                _segment(A, 5, START + 350, 250, drift=False),
                _segment(B, 6, START + 300, 150, drift=True),
                _segment(B, 7, START + 450, 150, drift=False),
            ),
            *_sentinels(end + 3 * WINDOW_SECONDS + 1),
        ],
    )
    second = DaemonProcess(config_path, log, name="second")
    last_window = int((end - 1) // WINDOW_SECONDS)
    try:
        second.wait_until(
            "the last window",
            lambda: all(
                (m, last_window) in read_verdicts(tmp_path / "verdicts.jsonl") for m in (A, B)
            ),
            timeout=150,
        )
        second.wait_until("the resolve", lambda: "resolved:resolved" in _of(_alerts(hook), A), 30)
        assert second.stop(timeout=30) == 0, second.output()
    finally:
        second.ensure_dead()

    alerts = _alerts(hook)
    assert _of(alerts, A).count("firing:new") == 1, _of(alerts, A)  # no second page
    assert _of(alerts, A).count("resolved:resolved") == 1, _of(alerts, A)
    assert _of(alerts, B) == [], _of(alerts, B)  # the silence held across the kill
    verdicts = read_verdicts(tmp_path / "verdicts.jsonl")
    after_restart = int((START + 300) // WINDOW_SECONDS)
    b_tiers = {w["tier"] for (m, i), w in verdicts.items() if m == B and i >= after_restart}
    # Without the silence these windows would have paged: the silence did the work.
    assert b_tiers & {"warning", "critical"}, f"fraud-check never drifted: {b_tiers}"
    loaded = [e for e in second.events() if e.get("event") == "alert_state_loaded"]
    assert loaded, second.output()
    assert loaded[0]["incidents"] == 1
    assert loaded[0]["silences"] == 1
    assert "topic" in loaded[0]["where"]
    assert not UNWRITABLE.parent.exists()
    note_timing(
        f"alert state in the checkpoint topic ({kafka_client}): one page, one resolve, "
        f"silence kept across a SIGKILL; {len(hook.requests)} webhook posts; "
        f"{time.monotonic() - began:.1f}s"
    )
