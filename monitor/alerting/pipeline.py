"""`AlertPipeline`: verdicts in, notifications out, delivered through the outbox.

How the daemon and replay use it::

    pipeline = AlertPipeline.from_settings(settings, clock=time.time, metrics=m)
    for verdict in engine_verdicts:          # event-time order
        notes = pipeline.observe(verdict)   # deterministic; also enqueues them
        pipeline.dispatch()                 # wall clock; or from a dispatcher thread
    pipeline.drain(deadline=time.time() + 20)   # on SIGTERM, after the last verdict
    pipeline.close()

Replay builds it with `replay_pipeline(settings, real_receivers=args.send_alerts)`:
state in memory, and only `log` and `file` receivers deliver unless the flag is
set; `observe` still returns every notification, which is the report's list of
"alerts that would be sent" (render them with `render.document`).

Two clocks, on purpose. Alert logic (lifecycle, group timers, repeat interval,
silences, mute intervals, digests) runs on event time, the verdicts'
`window_end`, so replaying the same log gives the same notifications. Delivery
(back-off, circuit breakers, Alertmanager re-sends, outbox age) runs on the
injected wall `clock`. Nothing here reads the system clock itself.

State lives in `<state_dir>/alerting-state.json` (incidents, groups, what each
receiver received, digest) and `<state_dir>/outbox/`; both are written
atomically after every change, so a restart neither pages again nor forgets a
resolve. `state_dir=None` keeps everything in memory.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import msgspec
import structlog

from monitor.alerting.describe import build_alert
from monitor.alerting.digest import DigestState, add_verdict
from monitor.alerting.dispatcher import DeliveryState, Dispatcher
from monitor.alerting.fingerprint import ALERTNAME, fingerprint
from monitor.alerting.groups import GroupsState, flush_due, place
from monitor.alerting.inhibition import compile_rules, inhibited_by
from monitor.alerting.lifecycle import LifecycleState, advance, already_seen
from monitor.alerting.metrics import AlertMetrics, NullMetrics
from monitor.alerting.model import Alert, Change, Notification
from monitor.alerting.mute import MuteCalendar
from monitor.alerting.outbox import Outbox
from monitor.alerting.persistence import load_struct, save_struct
from monitor.alerting.receivers import LOCAL_TYPES, build_receivers
from monitor.alerting.receivers.base import Receiver
from monitor.alerting.routing import RouteNode, compile_route, match_routes
from monitor.alerting.silences import Silence, SilenceStore, config_silences, silenced_by
from monitor.config import AlertingSettings, Settings
from monitor.errors import ConfigError
from monitor.verdict import WindowVerdict

STATE_FILE = "alerting-state.json"
OUTBOX_DIR = "outbox"
STATE_VERSION = 1
_NOT_FOR_DIGESTS = frozenset({"pagerduty", "alertmanager"})
_CHANGE_FOR: dict[str, Change] = {
    "opened": "new",
    "escalated": "escalated",
    "deescalated": "deescalated",
}


class PipelineState(msgspec.Struct, kw_only=True):
    version: int = STATE_VERSION
    event_now: float | None = None
    lifecycle: LifecycleState = msgspec.field(default_factory=LifecycleState)
    groups: GroupsState = msgspec.field(default_factory=GroupsState)
    active: dict[str, Alert] = msgspec.field(default_factory=dict)
    digest: DigestState = msgspec.field(default_factory=DigestState)
    delivery: DeliveryState = msgspec.field(default_factory=DeliveryState)


class CompiledAlerting(msgspec.Struct, frozen=True, kw_only=True, dict=False):
    """The parts of `AlertingSettings` that need parsing, checked once."""

    root: Any  # RouteNode (a plain dataclass, not a msgspec type)
    inhibitors: tuple[Any, ...]
    calendar: Any
    silences: tuple[Silence, ...]


def check_alerting(settings: AlertingSettings) -> CompiledAlerting:
    """Validate what pydantic cannot: matcher syntax, interval names, digest receiver.

    Raises `ConfigError` naming the field and the fix; `validate-config` can call it.
    """
    root = compile_route(settings.route)
    calendar = MuteCalendar(settings.mute_time_intervals)
    calendar.check_references({n.id: n.mute_time_intervals for n in root.walk()})
    if settings.digest.receiver is not None:
        kind = next(r.type for r in settings.receivers if r.name == settings.digest.receiver)
        if kind in _NOT_FOR_DIGESTS:
            raise ConfigError(
                f"alerting.digest.receiver {settings.digest.receiver!r} is a {kind} receiver; "
                "a digest is not a page: use a file, webhook, slack or log receiver"
            )
    if settings.digest.interval <= 0:
        raise ConfigError("alerting.digest.interval must be positive, e.g. 1h or 1d")
    return CompiledAlerting(
        root=root,
        inhibitors=compile_rules(settings.inhibit_rules),
        calendar=calendar,
        silences=config_silences(settings.silences),
    )


def state_directory(settings: Settings) -> Path:
    """`alerting.state_directory`, else `alerting/` next to the checkpoints."""
    if settings.alerting.state_directory is not None:
        return settings.alerting.state_directory
    return settings.checkpoint.directory.parent / "alerting"


class AlertPipeline:
    """See the module docstring for the call sequence."""

    def __init__(
        self,
        settings: AlertingSettings,
        *,
        environment: str,
        clock: Callable[[], float],
        state_dir: Path | None,
        metrics: AlertMetrics | None = None,
        real_receivers: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        receivers: Mapping[str, Receiver] | None = None,
        logger: Any = None,
    ) -> None:
        compiled = check_alerting(settings)
        self._settings = settings
        self._environment = environment
        self._clock = clock
        self._sleep = sleep
        self._state_dir = state_dir
        self._real = real_receivers
        self._root: RouteNode = compiled.root
        self._routes = {node.id: node for node in self._root.walk()}
        self._inhibitors = compiled.inhibitors
        self._calendar: MuteCalendar = compiled.calendar
        self._config_silences = compiled.silences
        self._silences = SilenceStore(state_dir)
        self._types = {r.name: r.type for r in settings.receivers}
        self._metrics: AlertMetrics = metrics if metrics is not None else NullMetrics()
        self._log = logger if logger is not None else structlog.get_logger("monitor.alerting")
        self._lock = threading.RLock()
        self._state_path = state_dir / STATE_FILE if state_dir is not None else None
        loaded = load_struct(self._state_path, PipelineState) if self._state_path else None
        self.state = loaded if loaded is not None else PipelineState()
        self.outbox = Outbox(state_dir / OUTBOX_DIR if state_dir is not None else None)
        if receivers is None:
            receivers = build_receivers(
                settings.receivers,
                delivery=settings.delivery,
                real_receivers=real_receivers,
                transport=transport,
            )
        self._receivers = dict(receivers)
        self._dispatcher = Dispatcher(
            receivers=self._receivers,
            outbox=self.outbox,
            state=self.state.delivery,
            settings=settings.delivery,
            metrics=self._metrics,
            rng=rng if rng is not None else random.Random(),  # noqa: S311 - jitter, not crypto
            lock=self._lock,
            logger=self._log,
        )
        self._dispatcher.report_pending()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], float],
        metrics: AlertMetrics | None = None,
        state_dir: Path | None = None,
        real_receivers: bool = True,
        **kwargs: Any,
    ) -> AlertPipeline:
        """The daemon's pipeline: persistent state in `state_directory(settings)`."""
        return cls(
            settings.alerting,
            environment=settings.environment,
            clock=clock,
            state_dir=state_dir if state_dir is not None else state_directory(settings),
            metrics=metrics,
            real_receivers=real_receivers,
            **kwargs,
        )

    # --- alert logic (event time) -----------------------------------------------------

    def _hidden(self, at: float) -> Callable[[Alert], bool]:
        silences = (*self._config_silences, *self._silences.all())
        firing = list(self.state.active.values())

        def hidden(alert: Alert) -> bool:
            if silenced_by(alert.labels, at, silences) is not None:
                return True
            return inhibited_by(alert, firing, self._inhibitors) is not None

        return hidden

    def _place(self, verdict: WindowVerdict) -> None:
        fp = fingerprint(
            {"alertname": ALERTNAME, "model": verdict.model_id, "environment": self._environment}
        )
        step = advance(self.state.lifecycle, verdict, fingerprint=fp)
        if step is None:
            return
        incident = step.incident
        common: dict[str, Any] = {
            "environment": self._environment,
            "started_at": incident.started_at,
            "tiers_seen": tuple(incident.tiers_seen),
        }
        now = verdict.window_end
        if step.transition == "resolved":
            alert = build_alert(
                verdict,
                status="resolved",
                tier=step.previous_tier,
                previous_tier=step.previous_tier,
                change="resolved",
                resolution="cleared",
                **common,
            )
            self.state.active.pop(fp, None)
            place(self.state.groups, alert, [], now=now, demote=lambda a: a)
            return
        change: Change = _CHANGE_FOR.get(step.transition, "unchanged")
        alert = build_alert(
            verdict,
            status="firing",
            tier=incident.tier,
            previous_tier=step.previous_tier,
            change=change,
            **common,
        )
        self.state.active[fp] = alert

        def demote(member: Alert) -> Alert:
            return build_alert(
                verdict,
                status="resolved",
                tier=member.tier,
                previous_tier=member.tier,
                change="resolved",
                resolution="below_route",
                **common,
            )

        place(
            self.state.groups, alert, match_routes(self._root, alert.labels), now=now, demote=demote
        )

    def observe(self, verdict: WindowVerdict) -> list[Notification]:
        """Feed one closed window; returns the notifications it causes (deterministic).

        Notifications for remote receivers are returned but not queued when the
        pipeline was built without `real_receivers` (replay's default).
        """
        with self._lock:
            if already_seen(self.state.lifecycle, verdict):
                self._log.debug(
                    "verdict_already_seen", model=verdict.model_id, window_end=verdict.window_end
                )
                return []
            at = max(self.state.event_now or verdict.window_end, verdict.window_end)
            self.state.event_now = at
            self._place(verdict)
            notes = flush_due(
                self.state.groups,
                now=at,
                routes=self._routes,
                hidden=self._hidden(at),
                route_muted=lambda node: self._calendar.muted(node.mute_time_intervals, at),
            )
            digest_to = self._settings.digest.receiver
            if digest_to is not None:
                digest = add_verdict(
                    self.state.digest,
                    verdict,
                    interval=self._settings.digest.interval,
                    environment=self._environment,
                )
                if digest is not None:
                    notes.append(
                        Notification(
                            id=f"{digest_to}.digest.{int(digest.period_start)}",
                            receiver=digest_to,
                            kind="digest",
                            route_id="digest",
                            group_key=f"digest:{int(digest.period_start)}",
                            group_labels={"environment": self._environment},
                            created_at=at,
                            digest=digest,
                        )
                    )
            for note in notes:
                self._enqueue(note)
            self._save()
            self._dispatcher.report_pending()
            return notes

    def _enqueue(self, note: Notification) -> None:
        if not self._real and self._types.get(note.receiver) not in LOCAL_TYPES:
            self._log.debug(
                "alert_not_sent_in_replay", receiver=note.receiver, notification_id=note.id
            )
            return
        if note.id in self.state.delivery.ledger:
            return
        superseded = self.outbox.put(note, now=self._clock())
        for note_id in superseded:
            self._log.info(
                "alert_superseded", receiver=note.receiver, notification_id=note_id, by=note.id
            )

    # --- delivery (wall clock) --------------------------------------------------------

    def dispatch(self, now: float | None = None) -> None:
        """Deliver what is due; `now` defaults to the injected clock."""
        self._dispatcher.dispatch(self._clock() if now is None else now)
        with self._lock:
            self._save()

    def drain(self, deadline: float) -> None:
        """Deliver until the outbox is empty or the clock reaches `deadline` (shutdown)."""
        while True:
            now = self._clock()
            self.dispatch(now)
            now = self._clock()
            with self._lock:
                runnable = [
                    e for e in self.outbox.entries() if e.notification.receiver in self._receivers
                ]
                due = self._dispatcher.next_due(now)
            if not runnable or now >= deadline or due is None:
                break
            self._sleep(max(0.01, min(deadline, max(due, now + 0.01)) - now))
        with self._lock:
            left = [e for e in self.outbox.entries() if e.notification.receiver in self._receivers]
        if left:
            self._log.warning(
                "alert_outbox_not_drained",
                pending=len(left),
                receivers=sorted({e.notification.receiver for e in left}),
            )

    # --- role handover: PLACEHOLDER (branch `replicas`) --------------------------------
    # No-ops so the daemon's call sites exist: branch `state` gives the pipeline the
    # real suspend()/resume() (alert state handed over through the checkpoint topic).
    # At merge, keep that branch's methods and delete these two.

    def suspend(self) -> None:
        """This member became a standby: it must not page (placeholder, no-op)."""

    def resume(self) -> None:
        """This member became active (placeholder, no-op)."""

    # --- end of placeholder -----------------------------------------------------------

    def pending(self) -> list[Notification]:
        with self._lock:
            return [e.notification for e in self.outbox.entries()]

    def _save(self) -> None:
        if self._state_path is not None:
            save_struct(self._state_path, self.state)

    def close(self) -> None:
        with self._lock:
            self._save()
        for receiver in self._receivers.values():
            receiver.close()


def replay_pipeline(
    settings: Settings,
    *,
    real_receivers: bool = False,
    clock: Callable[[], float] = time.time,
    state_dir: Path | None = None,
    metrics: AlertMetrics | None = None,
) -> AlertPipeline:
    """The pipeline `driftwarden replay` uses: in-memory state, local receivers only by default.

    Pass `real_receivers=True` only behind an explicit flag (e.g. `--send-alerts`):
    a replay of last month's logs should not page anyone by accident.
    """
    return AlertPipeline(
        settings.alerting,
        environment=settings.environment,
        clock=clock,
        state_dir=state_dir,
        metrics=metrics,
        real_receivers=real_receivers,
    )
