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

State lives in an alert state store (`store.py`): the `state` piece
(incidents, groups, what each receiver received, digest), one `outbox/<seq>`
piece per pending notification and the CLI's `silences`. Changes are written
after every verdict and after every delivery outcome, so a restart neither
pages again nor forgets a resolve. The daemon's store follows
`checkpoint.backend` (files beside the checkpoints, or records of the
checkpoint topic); `state_dir=` is a shortcut for a directory store, and no
store at all keeps everything in memory (replay). A failed write never raises
here: `state_writer.py` keeps it, retries it and reports it through
`on_store_fault`.

Ownership (hot-standby replicas): exactly one member of a consumer group
should deliver. `suspend()` stops dispatching (waiting for the one delivery in
flight), writes everything, and drops the state from memory; `resume()` reads
the whole state back from the store and delivers again. A member built with
`start_suspended=True` owns nothing until its first `resume()`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from driftwarden.monitor.alerting.describe import (
    ALERTNAME_OF,
    FinalFinding,
    IncidentMoment,
    build_alert,
    build_final_alert,
)
from driftwarden.monitor.alerting.digest import add_verdict
from driftwarden.monitor.alerting.dispatcher import Dispatcher
from driftwarden.monitor.alerting.fingerprint import ALERTNAME, fingerprint
from driftwarden.monitor.alerting.groups import flush_due, place
from driftwarden.monitor.alerting.inhibition import compile_rules, inhibited_by
from driftwarden.monitor.alerting.lifecycle import (
    Step,
    advance,
    advance_incident,
    already_seen,
    judged_before,
)
from driftwarden.monitor.alerting.metrics import AlertMetrics, NullMetrics
from driftwarden.monitor.alerting.model import Alert, Change, Notification
from driftwarden.monitor.alerting.mute import MuteCalendar
from driftwarden.monitor.alerting.outbox import Outbox
from driftwarden.monitor.alerting.receivers import LOCAL_TYPES, build_receivers
from driftwarden.monitor.alerting.receivers.base import Receiver
from driftwarden.monitor.alerting.report_link import report_link
from driftwarden.monitor.alerting.routing import RouteNode, compile_route, match_routes
from driftwarden.monitor.alerting.silences import Silence, config_silences, silenced_by
from driftwarden.monitor.alerting.state import (
    Corrupt,
    LoadedState,
    decode_silences,
    load_state,
    set_aside,
)
from driftwarden.monitor.alerting.state_writer import StateWriter
from driftwarden.monitor.alerting.store import (
    SILENCES_KEY,
    STATE_KEY,
    AlertStateError,
    AlertStateStore,
    DirectoryAlertStore,
    FaultHook,
    open_alert_store,
)
from driftwarden.monitor.config import AlertingSettings, Settings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.verdict import WindowVerdict

if TYPE_CHECKING:  # httpx loads with the first HTTP receiver (receivers/http.py)
    import httpx

POLL_INTERVAL = 2.0
"""Seconds between looks at the store for silences another process wrote."""
_NOT_FOR_DIGESTS = frozenset({"pagerduty", "alertmanager"})
_CHANGE_FOR: dict[str, Change] = {
    "opened": "new",
    "escalated": "escalated",
    "deescalated": "deescalated",
}


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


class AlertPipeline:
    """See the module docstring for the call sequence."""

    def __init__(
        self,
        settings: AlertingSettings,
        *,
        environment: str,
        clock: Callable[[], float],
        state_dir: Path | None = None,
        store: AlertStateStore | None = None,
        monitor: str | None = None,
        on_store_fault: FaultHook | None = None,
        start_suspended: bool = False,
        poll_interval: float = POLL_INTERVAL,
        metrics: AlertMetrics | None = None,
        real_receivers: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        receivers: Mapping[str, Receiver] | None = None,
        logger: Any = None,
    ) -> None:
        self._settings = settings
        self._environment = environment
        self._monitor = monitor
        self._clock = clock
        self._sleep = sleep
        self._real = real_receivers
        self._compile(settings)
        self._metrics: AlertMetrics = metrics if metrics is not None else NullMetrics()
        self._log = (
            logger if logger is not None else structlog.get_logger("driftwarden.monitor.alerting")
        )
        self._lock = threading.RLock()
        self._dispatching = threading.Lock()  # held for a whole delivery round
        if store is None and state_dir is not None:
            store = DirectoryAlertStore(state_dir)
        self._store = store
        self._on_fault = on_store_fault
        self._writer = (
            StateWriter(store, on_fault=on_store_fault, clock=clock, logger=self._log)
            if store is not None
            else None
        )
        self._poll_interval = poll_interval
        self._next_poll = 0.0
        if receivers is None:
            receivers = build_receivers(
                settings.receivers,
                delivery=settings.delivery,
                real_receivers=real_receivers,
                transport=transport,
            )
        self._receivers = dict(receivers)
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self._suspended = True
        self._adopt(LoadedState())
        if not start_suspended:
            self._take_over()

    def _compile(self, settings: AlertingSettings) -> None:
        """The checked route tree, inhibitions, mute calendar and silences of `settings`."""
        compiled = check_alerting(settings)
        self._root: RouteNode = compiled.root
        self._routes = {node.id: node for node in self._root.walk()}
        self._inhibitors = compiled.inhibitors
        self._calendar: MuteCalendar = compiled.calendar
        self._config_silences = compiled.silences
        self._types = {r.name: r.type for r in settings.receivers}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], float],
        metrics: AlertMetrics | None = None,
        state_dir: Path | None = None,
        store: AlertStateStore | None = None,
        real_receivers: bool = True,
        **kwargs: Any,
    ) -> AlertPipeline:
        """The daemon's pipeline: state in `store`, else `open_alert_store(settings)`.

        The monitor's identity (`kafka.group_id`) joins the alert identity, so
        two deployments of one model never resolve each other's incidents.
        """
        if store is None:
            store = DirectoryAlertStore(state_dir) if state_dir else open_alert_store(settings)
        return cls(
            settings.alerting,
            environment=settings.environment,
            monitor=settings.kafka.group_id,
            clock=clock,
            store=store,
            metrics=metrics,
            real_receivers=real_receivers,
            **kwargs,
        )

    # --- ownership --------------------------------------------------------------------

    @property
    def store(self) -> AlertStateStore | None:
        return self._store

    @property
    def writer(self) -> StateWriter | None:
        return self._writer

    def _adopt(self, loaded: LoadedState) -> None:
        """Make `loaded` the state in memory (under the lock, or before threads start)."""
        self.state = loaded.pipeline
        self._cli_silences: tuple[Silence, ...] = loaded.silences
        self.outbox = Outbox(self._writer, loaded.outbox)
        if self._writer is not None:
            self._writer.forget()
            for key, raw in loaded.raw.items():
                self._writer.remember(key, raw)
        self._dispatcher = Dispatcher(
            receivers=self._receivers,
            outbox=self.outbox,
            state=self.state.delivery,
            settings=self._settings.delivery,
            metrics=self._metrics,
            rng=self._rng,
            lock=self._lock,
            logger=self._log,
            persist=self._save,
        )
        self._dispatcher.report_pending()

    def _take_over(self) -> None:
        loaded = (
            load_state(self._store, on_fault=self._on_fault, log=self._log)
            if self._store is not None
            else LoadedState()
        )
        self._adopt(loaded)
        self._next_poll = self._clock() + self._poll_interval
        self._suspended = False
        if self._store is not None:
            self._log.info(
                "alert_state_loaded",
                where=self._store.where,
                incidents=len(self.state.lifecycle.incidents),
                pending=len(self.outbox),
                silences=len(self._cli_silences),
            )

    def resume(self) -> None:
        """Own alerting: read the whole state back from the store, then deliver again.

        Raises `AlertStateError` when the store cannot be read (the member must
        not deliver from a state it could not load).
        """
        with self._dispatching, self._lock:
            if not self._suspended:
                return
            self._take_over()
            self._log.info("alert_pipeline_resumed")

    def suspend(self) -> None:
        """Give up alerting: stop dispatching, write everything, forget the state.

        Waits for the delivery in flight (at most one notification, bounded by
        the receiver's time-out) and writes its outcome, so the next owner
        re-sends nothing that was acknowledged before the handover.
        """
        was_active = not self._suspended
        self._suspended = True  # the round in progress stops after its current send
        with self._dispatching, self._lock:
            if not was_active:
                return
            if self._writer is not None:
                self._writer.stage(STATE_KEY, msgspec.json.encode(self.state))
            if self._writer is not None and not self._writer.commit(force=True):
                self._log.error(
                    "alert_state_not_handed_over",
                    where=self._writer.store.where,
                    unwritten=self._writer.staged,
                    consequence="the next owner starts from the last state written",
                )
            self._adopt(LoadedState())
            self._log.info("alert_pipeline_suspended")

    # --- alert logic (event time) -----------------------------------------------------

    def _hidden(self, at: float) -> Callable[[Alert], bool]:
        silences = (*self._config_silences, *self._cli_silences)
        firing = list(self.state.active.values())

        def hidden(alert: Alert) -> bool:
            if silenced_by(alert.labels, at, silences) is not None:
                return True
            return inhibited_by(alert, firing, self._inhibitors) is not None

        return hidden

    def _fingerprint(self, model_id: str, alertname: str = ALERTNAME) -> str:
        """One incident per (alert name, model, environment, monitor), whatever the tier."""
        identity = {"alertname": alertname, "model": model_id, "environment": self._environment}
        if self._monitor is not None:
            identity["monitor"] = self._monitor
        return fingerprint(identity)

    def _place(self, verdict: WindowVerdict) -> None:
        fp = self._fingerprint(verdict.model_id)
        step = advance(self.state.lifecycle, verdict, fingerprint=fp)
        if step is not None:
            self._apply(step, fp, verdict, lambda moment: build_alert(verdict, moment))

    def _place_final(self, verdict: PerformanceVerdict, finding: FinalFinding) -> None:
        """Issue 14: one of the two incidents a window's final labels step (`fingerprint`)."""
        alertname = ALERTNAME_OF[finding]
        fp = self._fingerprint(verdict.model_id, alertname)
        performance = finding == "performance"
        step = advance_incident(
            self.state.lifecycle,
            f"{alertname}:{verdict.model_id}",
            model_id=verdict.model_id,
            tier=verdict.tier if performance else verdict.coverage_tier,
            started_at=verdict.window_start,
            fingerprint=fp,
        )
        if step is not None:
            self._apply(
                step, fp, verdict, lambda moment: build_final_alert(verdict, finding, moment)
            )

    def _apply(
        self,
        step: Step,
        fp: str,
        verdict: WindowVerdict | PerformanceVerdict,
        build: Callable[[IncidentMoment], Alert],
    ) -> None:
        """An incident's step into the groups: resolved, or firing at the incident's tier."""
        now = verdict.window_end
        incident = step.incident
        moment = IncidentMoment(
            environment=self._environment,
            monitor=self._monitor,
            status="firing",
            tier=incident.tier,
            previous_tier=step.previous_tier,
            change=_CHANGE_FOR.get(step.transition, "unchanged"),
            started_at=incident.started_at,
            tiers_seen=tuple(incident.tiers_seen),
            report_url=report_link(
                self._settings.report_url, verdict, environment=self._environment
            ),
        )
        if step.transition == "resolved":
            alert = build(moment.resolved(step.previous_tier, "cleared"))
            self.state.active.pop(fp, None)
            place(self.state.groups, alert, [], now=now, demote=lambda a: a)
            return
        alert = build(moment)
        self.state.active[fp] = alert
        place(
            self.state.groups,
            alert,
            match_routes(self._root, alert.labels),
            now=now,
            demote=lambda member: build(moment.resolved(member.tier, "below_route")),
        )

    def observe_performance(self, verdict: PerformanceVerdict) -> list[Notification]:
        """Feed one window whose labels became final (`Engine.take_final_labels`).

        Its realised performance and its label coverage each step an incident of
        their own (`fingerprint`), the same way in the daemon and in replay. A
        window judged before (re-emitted after a restart) is ignored.
        """
        if verdict.kind != "realised":
            return []
        with self._lock:
            if self._suspended:
                self._skipped(
                    "alert_performance_while_suspended",
                    model=verdict.model_id,
                    window=verdict.window_index,
                )
                return []
            if judged_before(self.state.lifecycle, verdict.model_id, verdict.window_index):
                return []
            at = self._event_time(verdict.window_end)
            self._place_final(verdict, "performance")
            self._place_final(verdict, "label_coverage")
            return self._flush(at, [])

    def observe(self, verdict: WindowVerdict) -> list[Notification]:
        """Feed one closed window; returns the notifications it causes (deterministic).

        Notifications for remote receivers are returned but not queued when the
        pipeline was built without `real_receivers` (replay's default).
        """
        with self._lock:
            if self._suspended:
                self._skipped(
                    "alert_verdict_while_suspended",
                    model=verdict.model_id,
                    window_end=verdict.window_end,
                )
                return []
            if already_seen(self.state.lifecycle, verdict):
                self._log.debug(
                    "verdict_already_seen", model=verdict.model_id, window_end=verdict.window_end
                )
                return []
            at = self._event_time(verdict.window_end)
            self._place(verdict)
            return self._flush(at, self._digest(verdict, at))

    def _skipped(self, event: str, *, model: str, **window: float) -> None:
        """Log a verdict a suspended member leaves to the member that owns alerting."""
        self._log.warning(
            event,
            model=model,
            **window,
            consequence="not alerted here; the member that owns alerting judges it",
        )

    def _event_time(self, window_end: float) -> float:
        """Event time moved on to `window_end`; it never goes back for a late verdict."""
        at = max(self.state.event_now or window_end, window_end)
        self.state.event_now = at
        return at

    def _digest(self, verdict: WindowVerdict, at: float) -> list[Notification]:
        digest_to = self._settings.digest.receiver
        if digest_to is None:
            return []
        digest = add_verdict(
            self.state.digest,
            verdict,
            interval=self._settings.digest.interval,
            environment=self._environment,
        )
        if digest is None:
            return []
        return [
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
        ]

    def _flush(self, at: float, extra: list[Notification]) -> list[Notification]:
        """The groups due at event time `at` (and `extra`), queued and saved."""
        notes = flush_due(
            self.state.groups,
            now=at,
            routes=self._routes,
            hidden=self._hidden(at),
            route_muted=lambda node: self._calendar.muted(node.mute_time_intervals, at),
        )
        notes.extend(extra)
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
        """Deliver what is due; `now` defaults to the injected clock.

        Also retries alert state writes that failed, and every `poll_interval`
        picks up silences another process (the CLI) stored. Nothing while suspended.
        """
        with self._dispatching:
            if self._suspended:
                return
            now = self._clock() if now is None else now
            with self._lock:
                self._poll(now)
                self._save()
            self._dispatcher.dispatch(now, keep_going=lambda: not self._suspended)
            with self._lock:
                self._save()

    def _poll(self, now: float) -> None:
        if self._store is None or now < self._next_poll:
            return
        self._next_poll = now + self._poll_interval
        try:
            changes = self._store.poll()
        except (OSError, AlertStateError) as exc:
            self._log.warning("alert_state_poll_failed", where=self._store.where, error=str(exc))
            return
        if SILENCES_KEY not in changes:
            return
        try:
            silences = decode_silences(changes[SILENCES_KEY])
        except Corrupt as exc:
            set_aside(self._store, SILENCES_KEY, str(exc), on_fault=self._on_fault, log=self._log)
            silences = ()
        if silences != self._cli_silences:
            self._cli_silences = silences
            self._log.info("silences_reloaded", silences=len(silences))

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

    def pending(self) -> list[Notification]:
        with self._lock:
            return [e.notification for e in self.outbox.entries()]

    def _save(self) -> None:
        """Stage the state and write what is staged (never raises; see state_writer.py)."""
        if self._writer is not None and not self._suspended:
            self._writer.stage(STATE_KEY, msgspec.json.encode(self.state))
            self._writer.commit()

    def close(self) -> None:
        """Write everything, close receivers and the store (the pipeline owns its store)."""
        with self._dispatching, self._lock:
            if self._writer is not None and not self._suspended:
                self._writer.stage(STATE_KEY, msgspec.json.encode(self.state))
                self._writer.commit(force=True)
        for receiver in self._receivers.values():
            receiver.close()
        if self._store is not None:
            self._store.close()


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
        monitor=settings.kafka.group_id,
        clock=clock,
        state_dir=state_dir,
        metrics=metrics,
        real_receivers=real_receivers,
    )
