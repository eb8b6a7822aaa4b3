"""One typed configuration object for the daemon and the replay tool.

Sources, lowest priority first: documented defaults, a YAML file, then
environment variables with the `DRIFTWARDEN_` prefix and `__` for nesting
(`DRIFTWARDEN_KAFKA__GROUP_ID=fraud`). Every model forbids unknown keys, so a
typo is an error that names the key instead of a silently ignored setting.

Drift policy is layered too: `policy` holds the defaults for every model,
`models.<id>` overrides any part of it for one model, and `policy.columns.<name>`
or `models.<id>.columns.<name>` override thresholds for one column. Overrides
are deep-merged, then validated as a whole, so a partial override such as
`{thresholds: {psi: {critical: 0.4}}}` keeps the other defaults.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from driftwarden.monitor.errors import ConfigError

if TYPE_CHECKING:
    import yaml
    from pydantic_settings import PydanticBaseSettingsSource
    from pydantic_settings.exceptions import SettingsError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> object:
    """Accept `250ms`, `30s`, `5m`, `1h`, `1d` or a number of seconds."""
    if isinstance(value, bool):
        return value  # let pydantic reject it with its own message
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration; write a number with a unit, e.g. 30s, 5m or 1h"
            )
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- drift policy ---------------------------------------------------------------------

EffectStatistic = Literal["psi", "js", "wasserstein", "ks", "linf"]
NUMERIC_EFFECTS: frozenset[str] = frozenset({"psi", "js", "wasserstein", "ks"})
CATEGORICAL_EFFECTS: frozenset[str] = frozenset({"psi", "js", "linf"})


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


Effects = Annotated[tuple[EffectStatistic, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
"""One statistic or several: a column's drift condition is the highest tier any reaches."""


class TierThresholds(Frozen):
    """Values at or above which a condition counts toward info, warning, critical."""

    info: float = Field(ge=0)
    warning: float = Field(ge=0)
    critical: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if not self.info <= self.warning <= self.critical:
            raise ValueError(
                f"thresholds must satisfy info <= warning <= critical, got "
                f"{self.info} / {self.warning} / {self.critical}"
            )
        return self


def _tiers(info: float, warning: float, critical: float) -> Any:
    return Field(
        default_factory=lambda: TierThresholds(info=info, warning=warning, critical=critical)
    )


class EffectThresholds(Frozen):
    """Effect-size thresholds per statistic (docs/verdicts.md explains each default).

    PSI 0.1 / 0.25 is the credit-scoring convention; for a normal feature PSI
    0.1 is a mean shift of about 0.32 sigma and 0.25 about 0.5 sigma, and the
    Wasserstein (in baseline sigmas), JS and KS defaults sit at those same shifts.
    """

    psi: TierThresholds = _tiers(0.1, 0.1, 0.25)
    js: TierThresholds = _tiers(0.1, 0.1, 0.2)
    wasserstein: TierThresholds = _tiers(0.3, 0.3, 0.5)
    ks: TierThresholds = _tiers(0.1, 0.1, 0.2)
    linf: TierThresholds = _tiers(0.1, 0.1, 0.2)


class QualityThresholds(Frozen):
    """Data-quality breaches, as shares of the window's events (0-1).

    `missing_increase` is the rise of the missing rate over the baseline's
    (absolute); the others are shares of the column's events in the window.
    """

    missing_increase: TierThresholds = _tiers(0.02, 0.05, 0.10)
    type_error_rate: TierThresholds = _tiers(0.001, 0.01, 0.05)
    out_of_range_rate: TierThresholds = _tiers(0.01, 0.05, 0.20)
    new_category_rate: TierThresholds = _tiers(0.005, 0.01, 0.10)


class Significance(Frozen):
    """The test gate: an effect only counts when it is unlikely to be noise."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Literal["bh", "bonferroni", "none"] = "bh"
    min_samples: int = Field(default=500, ge=1)
    min_reference: int = Field(default=1000, ge=1)


class Sustain(Frozen):
    """Consecutive windows a tier's condition must hold before the tier is raised."""

    info: int = Field(default=1, ge=1)
    warning: int = Field(default=2, ge=1)
    critical: int = Field(default=2, ge=1)


class Trend(Frozen):
    """Change detectors over per-window series, for drift no single window shows.

    Series are standardised (a window mean's shift as a z-score, PSI against its
    no-drift distribution), so the Page-Hinkley defaults (delta 0.5, threshold 10)
    mean "a sustained shift of about one noise sigma" for every column. A
    detection raises an *info* finding only: trends inform, they never page.
    """

    enabled: bool = True
    detector: Literal["adwin", "page_hinkley"] = "page_hinkley"
    series: Literal["mean", "psi"] = "mean"
    min_windows: int = Field(default=10, ge=2)
    history: int = Field(default=500, ge=10)
    adwin_delta: float = Field(default=0.002, gt=0, lt=1)
    page_hinkley_threshold: float = Field(default=10.0, gt=0)
    page_hinkley_delta: float = Field(default=0.5, ge=0)


class TimeWindow(Frozen):
    kind: Literal["time"] = "time"
    size: Seconds = 300.0
    allowed_lateness: Seconds = 60.0

    @field_validator("size")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("window size must be positive, e.g. 5m")
        return v


class CountWindow(Frozen):
    kind: Literal["count"]
    size: int = Field(ge=1)


def _default_window_kind(value: object) -> object:
    if isinstance(value, Mapping) and "kind" not in value:
        return {"kind": "time", **value}
    return value


Window = Annotated[
    TimeWindow | CountWindow,
    Field(discriminator="kind"),
    BeforeValidator(_default_window_kind),
]


class ColumnPolicy(Frozen):
    """The resolved policy of one column (defaults, then model, then column overrides)."""

    effect: Effects | None = None
    thresholds: EffectThresholds = Field(default_factory=EffectThresholds)
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    runbook_url: str | None = None
    ignore: bool = False


DEFAULT_NEXT_STEPS: tuple[str, ...] = (
    "Check recent deploys and upstream data pipelines feeding this model.",
    "Compare the drifting columns' current values with the baseline in the replay report.",
    "If the model's outputs moved too, consider rolling back or routing traffic to a fallback.",
)


class ModelPolicy(Frozen):
    """How one model's windows are cut, compared and tiered."""

    window: Window = Field(default_factory=TimeWindow)
    effect_numeric: Effects = ("psi",)
    effect_categorical: Effects = ("psi", "linf")
    thresholds: EffectThresholds = Field(default_factory=EffectThresholds)
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    significance: Significance = Field(default_factory=Significance)
    sustain: Sustain = Field(default_factory=Sustain)
    clear_after: int = Field(default=3, ge=1)
    trend: Trend = Field(default_factory=Trend)
    psi_floor: float = Field(default=1e-4, gt=0, lt=0.01)
    chi_square_min_expected: float = Field(default=5.0, gt=0)
    runbook_url: str | None = None
    next_steps: tuple[str, ...] = DEFAULT_NEXT_STEPS
    columns: dict[str, dict[str, Any]] = {}

    @model_validator(mode="after")
    def _effects_fit_kinds(self) -> ModelPolicy:
        if not set(self.effect_numeric) <= NUMERIC_EFFECTS:
            raise ValueError(f"effect_numeric must be among {sorted(NUMERIC_EFFECTS)}")
        if not set(self.effect_categorical) <= CATEGORICAL_EFFECTS:
            raise ValueError(f"effect_categorical must be among {sorted(CATEGORICAL_EFFECTS)}")
        for name in self.columns:
            self.column(name)  # validate every override up front
        return self

    def column(self, name: str) -> ColumnPolicy:
        base = {
            "thresholds": self.thresholds.model_dump(),
            "quality": self.quality.model_dump(),
            "runbook_url": self.runbook_url,
        }
        return ColumnPolicy.model_validate(deep_merge(base, self.columns.get(name, {})))


# --- event shape ----------------------------------------------------------------------


class EventFields(Frozen):
    """Where each part of an event lives, as dotted paths into the JSON object.

    The default is the documented shape
    `{"model_id", "timestamp", "request_id", "features": {...}, "prediction": {...}}`.
    Set `model_id: null` plus `default_model` for topics that carry one model only.
    """

    model_id: str | None = "model_id"
    timestamp: str | None = "timestamp"
    request_id: str | None = "request_id"
    features: str = "features"
    prediction: str | None = "prediction"
    default_model: str | None = None
    max_event_bytes: int = Field(default=1_048_576, ge=64)
    dedup_window: Seconds = Field(
        default=0.0,
        description="reject a request_id already counted within this much event time "
        "(0 = off), for producers that retry",
    )
    dedup_max_keys: int = Field(default=1_000_000, ge=1)
    max_future_skew: Seconds = Field(
        default=3600.0,
        description="reject as `future` an event dated more than this after the wall clock; "
        "it never moves a watermark",
    )

    @model_validator(mode="after")
    def _model_source(self) -> EventFields:
        if self.model_id is None and self.default_model is None:
            raise ValueError("set events.model_id to a field path or events.default_model")
        return self


class DeadLetter(Frozen):
    """Where rejected events go. Replay writes the file; the daemon the topic."""

    path: Path | None = Path("dead-letter.jsonl")
    topic: str | None = None
    # Payload bytes kept per JSONL line; the original length is always recorded.
    max_payload_bytes: int = Field(default=65_536, ge=256)


# --- Kafka ----------------------------------------------------------------------------


class Sasl(Frozen):
    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str
    password: SecretStr | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _one_password(self) -> Sasl:
        if (self.password is None) == (self.password_file is None):
            raise ValueError(
                "set exactly one of kafka.sasl.password (e.g. from "
                "DRIFTWARDEN_KAFKA__SASL__PASSWORD) or kafka.sasl.password_file "
                "(a mounted Kubernetes Secret)"
            )
        return self


class Tls(Frozen):
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    check_hostname: bool = True


class KafkaSettings(Frozen):
    # The library that reads the topics. kafka-python (pure Python, the default) runs every
    # feature; librdkafka (the `driftwarden[librdkafka]` extra, monitor/kafka/) reads several
    # times faster but cannot run the active/standby assignor: one member per group.
    client: Literal["kafka-python", "librdkafka"] = "kafka-python"
    bootstrap_servers: list[str] = Field(default_factory=lambda: ["127.0.0.1:9092"])
    topics: list[str] = Field(default_factory=lambda: ["predictions"])
    outcome_topics: list[str] = Field(
        default=[],  # not default_factory=list: pydantic parses list's text signature, ~3 ms
        description="topics of outcome events (model_id, request_id, timestamp, outcome), "
        "joined to the predictions of `topics`; needs the `outcomes` section",
    )
    group_id: str = "driftwarden"
    client_id: str = "driftwarden"
    group_instance_id: str | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl: Sasl | None = None
    tls: Tls | None = None
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    max_poll_records: int = Field(
        default=5000,
        ge=1,
        description="records per poll; the engine's cost per batch is fixed, so fewer, larger "
        "batches are cheaper per event (5000 events take ~25 ms to count)",
    )
    max_poll_interval: Seconds = 300.0
    session_timeout: Seconds = 45.0
    heartbeat_interval: Seconds = 3.0
    request_timeout: Seconds = 30.0
    reconnect_backoff_max: Seconds = 5.0
    poll_timeout: Seconds = 1.0
    idle_partition_timeout: Seconds = 30.0
    # read_committed: records of aborted transactions are never counted.
    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    # Client constructors give up (and the daemon exits) when no broker answers within this.
    bootstrap_timeout: Seconds = 30.0
    # How often end offsets are asked for: consumer lag of idle/paused partitions, /readyz.
    lag_probe_interval: Seconds = 10.0

    @model_validator(mode="after")
    def _outcome_topics_apart(self) -> KafkaSettings:
        both = sorted(set(self.topics) & set(self.outcome_topics))
        if both:
            raise ValueError(
                f"kafka.outcome_topics {both} are also in kafka.topics; a topic carries "
                "predictions or outcomes, not both: remove it from one list"
            )
        return self

    @model_validator(mode="after")
    def _security_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and self.sasl is None:
            raise ValueError(
                f"security_protocol {self.security_protocol} needs kafka.sasl "
                "(mechanism, username, password or password_file)"
            )
        return self


PERFORMANCE_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "brier",
    "log_loss",
    "ece",
    "mae",
    "rmse",
    "mean_error",
)


class PerformanceThresholds(Frozen):
    """A performance drop, in the metric's units, at which it is info, warning, critical."""

    info: float = Field(ge=0.0)
    warning: float = Field(ge=0.0)
    critical: float = Field(ge=0.0)
    relative: bool = Field(
        default=False,
        description="thresholds are shares of the reference value (mae, rmse) or of the "
        "reference rmse (mean_error)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceThresholds:
        if not self.info <= self.warning <= self.critical:
            raise ValueError(
                f"performance thresholds need info <= warning <= critical, got {self.info} / "
                f"{self.warning} / {self.critical}"
            )
        return self


class OutcomeSettings(Frozen):
    """Outcomes (ground truth) joined to predictions by (model_id, request_id).

    Predictions wait for their outcome in an on-disk store under `directory`
    (see `monitor.outcomes.pending`): its size is about rate x `horizon` x
    `sample` x ~100 bytes, never memory.
    """

    horizon: Seconds = Field(
        default=7 * 86400.0,
        description="event time an outcome may come after its prediction (e.g. 7d); a "
        "prediction waits this long, then its window's labels are final",
    )
    sample: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="fraction of request ids kept for the join, chosen by a hash of the "
        "request id (the same ids in every run and every process)",
    )
    min_coverage: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="a window's performance is final once this fraction of its sampled "
        "predictions has an outcome (or when its horizon has passed)",
    )
    directory: Path = Field(
        default=Path("outcomes"),
        description="where the daemon keeps predictions waiting for outcomes (SQLite); "
        "replay uses a temporary one. Give it a persistent volume",
    )
    outcome: str = Field(
        default="outcome",
        description="dotted path of the outcome in outcome events, and of an outcome a "
        "prediction event carries itself (joined upstream)",
    )

    # Issue 14: when a window's performance is a finding (docs/verdicts.md, section 5).
    alpha: float = Field(
        default=1e-4,
        gt=0.0,
        lt=1.0,
        description="significance of a performance drop per window, over the metrics tested "
        "(Bonferroni); also needs the change to reach a threshold",
    )
    thresholds: dict[str, PerformanceThresholds] = Field(
        default={},  # pydantic copies it for each instance
        description="change in a metric's units at which a drop is info, warning, critical, "
        "e.g. {accuracy: {info: 0.01, warning: 0.03, critical: 0.05}}; replaces that "
        "metric's default",
    )
    low_coverage: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="a window final by horizon with label coverage below this is a "
        "data-quality finding (label_coverage); 0 turns it off",
    )
    estimate_min_rows: int = Field(
        default=300,
        ge=1,
        description="scored predictions a window needs before its estimate is reliable",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(
        cls, v: dict[str, PerformanceThresholds]
    ) -> dict[str, PerformanceThresholds]:
        unknown = sorted(set(v) - set(PERFORMANCE_METRICS))
        if unknown:
            raise ValueError(
                f"outcomes.thresholds names unknown metrics {unknown}; use any of "
                f"{sorted(PERFORMANCE_METRICS)}"
            )
        return v

    @field_validator("horizon")
    @classmethod
    def _horizon_positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("outcomes.horizon must be positive, e.g. 7d")
        return v


class CheckpointSettings(Frozen):
    """Window state plus next offsets, written atomically before offsets are committed."""

    backend: Literal["directory", "kafka"] = "directory"
    directory: Path = Path("/var/lib/driftwarden/checkpoints")
    topic: str = "driftwarden-checkpoints"
    interval: Seconds = 10.0
    # directory backend: checkpoints kept per member (older ones are the fallback
    # when the newest is found corrupt).
    keep: int = Field(default=3, ge=1)
    # kafka backend: bound on one save or load, largest checkpoint, topic creation.
    timeout: Seconds = 30.0
    max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    create_topic: bool = True
    topic_replication_factor: int | None = None  # None: the broker's default


class GroupSettings(Frozen):
    """How the members of one consumer group share the work (docs/scaling.md).

    `active-standby`: one member reads every partition, the others wait to take
    over. `partitioned`: every member reads a share of the partitions, publishes
    partial window states to `partials_topic`, and one member merges each window
    once every partition is covered, evaluates it and alerts (issue 17).
    """

    mode: Literal["active-standby", "partitioned"] = "active-standby"
    partials_topic: str = "driftwarden-partials"
    partials_partitions: int = Field(default=1, ge=1)
    partials_retention: Seconds = 7 * 86400.0
    # wall-clock seconds a window waits for its last partitions after its first
    # partial arrived; then it is merged from what came (logged incomplete)
    merge_timeout: Seconds = 600.0
    create_topic: bool = True
    topic_replication_factor: int | None = None  # None: the broker's default


class MetricsSettings(Frozen):
    enabled: bool = True
    host: str = "0.0.0.0"  # noqa: S104 - a pod's metrics port is scraped from outside
    port: int = Field(default=9108, ge=0, le=65535)
    # /healthz fails when the consumer loop has not turned for this long.
    liveness_timeout: Seconds = 60.0
    # Bounds of the HTTP server (monitor/telemetry/http_server.py): connections open at once
    # (when full, the oldest one still waiting for its request is closed), time for
    # a request to arrive in full and for its response to be taken, listen backlog.
    max_connections: int = Field(default=64, ge=1, le=4096)
    request_timeout: Seconds = 5.0
    backlog: int = Field(default=128, ge=1, le=65535)

    @field_validator("request_timeout")
    @classmethod
    def _positive_timeout(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("metrics.request_timeout must be positive, e.g. 5s")
        return v


# --- alerting -------------------------------------------------------------------------


class _Receiver(Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    send_resolved: bool = True


class LogReceiver(_Receiver):
    type: Literal["log"]


class FileReceiver(_Receiver):
    type: Literal["file"]
    path: Path


class SlackReceiver(_Receiver):
    type: Literal["slack"]
    webhook_url: SecretStr | None = None
    webhook_url_file: Path | None = None


class PagerDutyReceiver(_Receiver):
    type: Literal["pagerduty"]
    url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_key: SecretStr | None = None
    routing_key_file: Path | None = None


class AlertmanagerReceiver(_Receiver):
    type: Literal["alertmanager"]
    url: str
    resend_interval: Seconds = 60.0


class WebhookReceiver(_Receiver):
    type: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    secret_file: Path | None = None
    # Values are often credentials (`Authorization: Bearer ...`): SecretStr keeps them
    # out of reprs, like every other secret.
    headers: dict[str, SecretStr] = {}


Receiver = Annotated[
    LogReceiver
    | FileReceiver
    | SlackReceiver
    | PagerDutyReceiver
    | AlertmanagerReceiver
    | WebhookReceiver,
    Field(discriminator="type"),
]


class Route(Frozen):
    """A node of the route tree, with Alertmanager's semantics."""

    receiver: str | None = None
    matchers: list[str] = []
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Seconds | None = None
    group_interval: Seconds | None = None
    repeat_interval: Seconds | None = None
    mute_time_intervals: list[str] = []
    routes: list[Route] = []

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InhibitRule(Frozen):
    source_matchers: list[str]
    target_matchers: list[str]
    equal: list[str] = Field(default_factory=lambda: ["model", "environment"])


class SilenceConfig(Frozen):
    matchers: list[str]
    starts_at: str | None = None
    ends_at: str
    comment: str = ""
    created_by: str = "config"


class TimeRange(Frozen):
    start_time: str = Field(pattern=r"^\d{2}:\d{2}$")
    end_time: str = Field(pattern=r"^\d{2}:\d{2}$")


class TimeInterval(Frozen):
    weekdays: list[
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    ] = []
    times: list[TimeRange] = []


class MuteTimeInterval(Frozen):
    name: str
    time_intervals: list[TimeInterval]


class DigestSettings(Frozen):
    interval: Seconds = 3600.0
    receiver: str | None = None


class DeliverySettings(Frozen):
    timeout: Seconds = 10.0
    backoff_base: Seconds = 1.0
    backoff_cap: Seconds = 300.0
    max_age: Seconds = 86400.0
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset: Seconds = 60.0


def _default_receivers() -> list[Receiver]:
    return [LogReceiver(name="log", type="log")]


def _default_route() -> Route:
    return Route.model_validate(
        {
            "receiver": "log",
            "group_by": ["model", "tier"],
            "group_wait": 0.0,
            "group_interval": 300.0,
            "repeat_interval": 14400.0,
        }
    )


REPORT_URL_FIELDS = frozenset(
    {"model", "environment", "baseline_version", "window_index", "window_start", "window_end"}
)


class AlertingSettings(Frozen):
    receivers: list[Receiver] = Field(default_factory=_default_receivers)
    # Where the alert's window can be seen: a URL template (docs/config.md), e.g.
    # https://reports.example.com/{model}/{environment}.html#window={window_end}
    report_url: str | None = None
    route: Route = Field(default_factory=_default_route)
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=lambda: [
            InhibitRule(source_matchers=['tier="critical"'], target_matchers=['tier="warning"'])
        ]
    )
    silences: list[SilenceConfig] = []
    mute_time_intervals: list[MuteTimeInterval] = []
    digest: DigestSettings = Field(default_factory=DigestSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    state_directory: Path | None = None

    @field_validator("report_url")
    @classmethod
    def _report_url_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"report_url {value!r} is not a template ({exc})") from None
        unknown = sorted(n for n in names if n not in REPORT_URL_FIELDS)
        if unknown:
            raise ValueError(
                f"report_url uses unknown placeholder(s) {unknown}; use only "
                f"{sorted(REPORT_URL_FIELDS)} in braces, e.g. {{model}}"
            )
        return value

    @model_validator(mode="after")
    def _receivers_exist(self) -> AlertingSettings:
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receiver names must be unique; duplicated: {dupes}")

        def walk(route: Route, path: str) -> None:
            if route.receiver is not None and route.receiver not in names:
                raise ValueError(
                    f"{path}.receiver {route.receiver!r} is not defined; "
                    f"add it to alerting.receivers (defined: {names})"
                )
            for i, child in enumerate(route.routes):
                walk(child, f"{path}.routes[{i}]")

        walk(self.route, "route")
        if self.route.receiver is None:
            raise ValueError("route.receiver must be set on the root route")
        if self.digest.receiver is not None and self.digest.receiver not in names:
            raise ValueError(f"digest.receiver {self.digest.receiver!r} is not defined")
        return self


# --- the whole ------------------------------------------------------------------------


class LoggingSettings(Frozen):
    format: Literal["json", "console", "auto"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class ShutdownSettings(Frozen):
    grace_period: Seconds = 25.0


class Settings(BaseModel):
    """Everything driftwarden can be told, with documented defaults (docs/config.md).

    `Settings(...)` validates the values it is given; `load_settings` adds the file and the
    `DRIFTWARDEN_*` environment variables. The configuration is pydantic-settings' (its
    defaults validated, as `validate_default` says), but pydantic-settings itself is imported
    only when such a variable is set (`_reading_environment`): it costs ~0.05 s of every
    start, a replay's without such variables included.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    environment: str = "production"
    baselines: list[Path] = []
    baseline_verify_key_file: Path | None = Field(
        default=None,
        description="HMAC key file (a mounted Kubernetes Secret): every baseline must carry a "
        "signature made with it by 'baseline build --sign-key-file', or it is refused",
    )
    verdict_log: Path | None = Field(
        default=None,
        description="append one JSON line per closed window (the replay report's window "
        "record) to this file: an audit trail of every decision",
    )
    policy: ModelPolicy = Field(default_factory=ModelPolicy)
    models: dict[str, dict[str, Any]] = {}
    events: EventFields = Field(default_factory=EventFields)
    decode_workers: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = Field(
        default="auto",
        description="worker processes that decode events while this process windows "
        "earlier ones (0 = decode in this process); auto: the daemon uses 1 when the "
        "process may run on two or more CPUs, replay one per CPU (at most 4), else 0. "
        "Results are the same either way",
    )
    dead_letter: DeadLetter = Field(default_factory=DeadLetter)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    outcomes: OutcomeSettings | None = Field(
        default=None,
        description="join outcomes to predictions (realised performance per window); "
        "absent: no join",
    )
    checkpoint: CheckpointSettings = Field(default_factory=CheckpointSettings)
    group: GroupSettings = Field(default_factory=GroupSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    shutdown: ShutdownSettings = Field(default_factory=ShutdownSettings)

    @model_validator(mode="after")
    def _outcomes_configured(self) -> Settings:
        if self.kafka.outcome_topics and self.outcomes is None:
            raise ValueError(
                "kafka.outcome_topics is set but there is no outcomes section: add "
                "`outcomes: {horizon: 7d}` (see docs/config.md) or remove kafka.outcome_topics"
            )
        if self.outcomes is not None and self.events.request_id is None:
            raise ValueError(
                "outcomes are joined to predictions by request id but events.request_id is "
                "null: set it to the field path of the request id (e.g. request_id)"
            )
        return self

    @model_validator(mode="after")
    def _models_resolve(self) -> Settings:
        for model_id in self.models:
            try:
                self.policy_for(model_id)
            except ValidationError as exc:
                problems = "; ".join(
                    f"models.{model_id}.{_location(tuple(e['loc']))}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ValueError(problems) from None
        return self

    @model_validator(mode="after")
    def _partitioned_needs_shared_checkpoints(self) -> Settings:
        if self.group.mode == "partitioned" and self.checkpoint.backend != "kafka":
            raise ValueError(
                "group.mode partitioned moves partitions between members with their window "
                "state, which checkpoint.backend directory cannot do; set checkpoint.backend: "
                "kafka, or group.mode: active-standby"
            )
        if self.group.mode == "partitioned" and self.kafka.client == "librdkafka":
            raise ValueError(
                "group.mode partitioned needs several members in one group, and a librdkafka "
                "member runs alone in its group; set kafka.client: kafka-python, or "
                "group.mode: active-standby"
            )
        if self.group.mode == "partitioned" and self.outcomes is not None:
            raise ValueError(
                "group.mode partitioned moves partitions between members, and the outcome "
                "join's store is one member's disk; remove the outcomes section, or set "
                "group.mode: active-standby"
            )
        return self

    @field_validator("policy", mode="before")
    @classmethod
    def _policy_over_defaults(cls, value: object) -> object:
        """`policy` deep-merged onto the defaults, as `models.<id>` is onto `policy`:
        `{thresholds: {psi: {critical: 0.4}}}` keeps the other PSI thresholds."""
        if not isinstance(value, Mapping):
            return value  # pydantic says what is wrong with it
        return _over(ModelPolicy().model_dump(mode="python"), value)

    def policy_for(self, model_id: str) -> ModelPolicy:
        """The model's policy: defaults deep-merged with `models.<model_id>`."""
        override = self.models.get(model_id)
        if not override:
            return self.policy
        return ModelPolicy.model_validate(_over(self.policy.model_dump(mode="python"), override))


ENV_PREFIX = "DRIFTWARDEN_"


@functools.cache
def _reading_environment() -> type[Settings]:
    """`Settings` with pydantic-settings' environment source over the values it is given.

    The same models, validators and defaults as `Settings` (a subclass adds only the
    sources), built at the first `load_settings` that finds a `DRIFTWARDEN_*` variable.
    """
    from pydantic_settings import BaseSettings, SettingsConfigDict  # noqa: PLC0415

    class EnvironmentSettings(Settings, BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="__",
            extra="forbid",
            frozen=True,
            validate_default=True,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Environment wins over the file (passed as init values): a Kubernetes
            # operator can override one key without editing the ConfigMap.
            return (env_settings, init_settings)

    return EnvironmentSettings


def _environment_names() -> list[str]:
    """The `DRIFTWARDEN_*` variables set (any case, as pydantic-settings matches them)."""
    return [k for k in os.environ if k.upper().startswith(ENV_PREFIX)]


def _over(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A policy override deep-merged onto `base`; a window of another kind replaces it whole."""
    window = override.get("window")
    if isinstance(window, Mapping) and window.get("kind", "time") != base["window"]["kind"]:
        base = {**base, "window": {}}  # another kind of window: its keys do not mix
    return deep_merge(base, override)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, recursing into mappings; lists are replaced."""
    out: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"TimeWindow", "CountWindow"} or "[" in str(item):
            continue  # pydantic's union-member tags are noise to a reader
        elif i and loc[i - 1] == "window" and item in {"time", "count"}:
            continue  # the window's kind, as the discriminated union names it
        elif "://" in str(item):
            # A key that is a URL is a misplaced value, and a webhook URL is a credential.
            parts.append(("." if parts else "") + "<a URL used as a key>")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


_FIX_BY_TYPE = {  # pydantic's error types, by the kind of value the field wants
    "int": "write a whole number without quotes or units, e.g. 500",
    "float": "write a number without quotes, e.g. 0.25",
    "bool": "write true or false",
    "string": "write text (quote it if YAML reads it as a number, a date or a bool)",
    "list": "write a list: [a, b] or one '- item' line each",
    "tuple": "write a list: [a, b] or one '- item' line each",
    "set": "write a list: [a, b] or one '- item' line each",
    "dict": "write a mapping (key: value lines) here, not a single value",
    "model": "write a mapping (key: value lines) here, not a single value",
    "path": "write a file or directory path as text",
}
_FIX_BY_BOUND = {
    "greater_than": "use a value above {gt}",
    "greater_than_equal": "use a value of at least {ge}",
    "less_than": "use a value below {lt}",
    "less_than_equal": "use a value of at most {le}",
    "too_short": "give at least {min_length} item(s)",
    "too_long": "give at most {max_length} item(s)",
    "string_pattern_mismatch": "write a value matching {pattern}",
}


_FIX_BY_KIND = {
    "extra_forbidden": "remove it or fix its spelling (see docs/config.md for the keys)",
    "missing": "add it",
    "literal_error": "use one of the listed values",
    "enum": "use one of the listed values",
    "value_error": "",  # our validators' messages end with their fix
}


def _fix_for(error: Mapping[str, Any]) -> str:
    """What to change, for one pydantic error; "" when its message already says it."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _FIX_BY_KIND:
        return _FIX_BY_KIND[kind]
    if kind in _FIX_BY_BOUND:
        try:
            return _FIX_BY_BOUND[kind].format(**ctx)
        except (KeyError, IndexError):
            return "see docs/config.md for the allowed range"
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        tag = ctx.get("discriminator", "the kind").strip("'")
        return f"set {tag} to one of {ctx.get('expected_tags', 'the documented values')}"
    family = kind.partition("_")[0]
    if kind.startswith("model_attributes"):
        family = "model"
    if family in _FIX_BY_TYPE:
        return _FIX_BY_TYPE[family]
    return "see docs/config.md for this key's type and values"


def format_validation_error(
    exc: ValidationError, *, source: str, env_names: Iterable[str] = ()
) -> str:
    """One line per bad field; a field set by a `DRIFTWARDEN_*` variable names it, so a
    mistake in the environment is not blamed on the file."""
    by_path = {name.upper(): name for name in env_names}
    lines = [f"{source}: {exc.error_count()} configuration error(s):"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _location(loc)
        fix = _fix_for(err)
        message = str(err["msg"]).removeprefix("Value error, ")
        variable = _env_variable(loc, by_path)
        origin = f" (set by {variable})" if variable else ""
        lines.append(f"  - {where}{origin}: {message}" + (f"; fix: {fix}" if fix else ""))
    return "\n".join(lines)


def _env_variable(loc: tuple[Any, ...], by_path: Mapping[str, str]) -> str | None:
    """The `DRIFTWARDEN_*` variable that set `loc` or a section holding it, if any."""
    parts = [str(item).upper() for item in loc if isinstance(item, str)]
    for end in range(len(parts), 0, -1):
        name = by_path.get("DRIFTWARDEN_" + "__".join(parts[:end]))
        if name is not None:
            return name
    return None


def _bad_json_variables(field: str, environ: Mapping[str, str]) -> list[str]:
    """Names (never values) of the variables of section `field` that hold broken JSON."""
    prefix = f"DRIFTWARDEN_{field.upper()}"
    bad = []
    for name, value in environ.items():
        upper = name.upper()
        if upper != prefix and not upper.startswith(prefix + "__"):
            continue
        if value.lstrip()[:1] in ("[", "{"):
            try:
                json.loads(value)
            except ValueError:
                bad.append(name)
    return sorted(bad)


_SETTINGS_FIELD = re.compile(r'for field "([A-Za-z0-9_]+)"')
# A YAML problem may quote what it choked on: an alias (`*name`), a tag (`!name`), an
# anchor. A password that starts with `*`, `!` or `&` is exactly that, so quoted text
# longer than one character is masked; token names such as '<stream end>' are kept.
# PyYAML quotes with repr(): single quotes, or double quotes when the text holds one.
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'" + r'|"((?:[^"\\]|\\.)*)"')
_TOKEN_NAME = re.compile(r"<[a-z ]+>")
_ONE_CHARACTER = re.compile(r"[^\\]|\\(?:[abfnrtv0\\'\"]|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _mask_quoted(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        keep = not inner or _ONE_CHARACTER.fullmatch(inner) or _TOKEN_NAME.fullmatch(inner)
        return match.group(0) if keep else "'…'"

    return _QUOTED.sub(mask, text)


def describe_yaml_error(exc: yaml.YAMLError, *, source: str) -> str:
    """File, line, column and the problem of a YAML error; never the offending text.

    PyYAML's own message prints the source line with a caret under the error, and
    a config file's line may hold a SASL password or a Slack webhook URL.
    """
    import yaml  # noqa: PLC0415 - loaded already: `exc` came from it

    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{source}: not valid YAML ({type(exc).__name__}); fix the syntax"
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = _mask_quoted(exc.problem or "syntax error")
    context = ""
    if exc.context:
        context = f" ({_mask_quoted(exc.context)}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            context += f" at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        context += ")"
    return (
        f"{source}: not valid YAML{where}: {problem}{context}; fix the syntax there "
        f"(the line is not shown: it may hold a secret)"
    )


def load_settings(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file (if any) and the environment into one validated `Settings`.

    `env` replaces `os.environ` for tests. Errors become one `ConfigError` that
    lists each bad field with its fix.
    """
    data = _read_yaml(path) if path is not None else {}
    source = str(path) if path is not None else "configuration"
    saved = None
    if env is not None:
        saved = dict(os.environ)
        for key in _environment_names():
            del os.environ[key]
        os.environ.update(env)
    try:
        return _validated(data) if _environment_names() else Settings(**data)
    except ValidationError as exc:
        names = _environment_names()
        raise ConfigError(format_validation_error(exc, source=source, env_names=names)) from None
    finally:
        if saved is not None:
            os.environ.clear()
            os.environ.update(saved)


def _validated(data: Mapping[str, Any]) -> Settings:
    """`data` with the `DRIFTWARDEN_*` variables over it, validated."""
    from pydantic_settings.exceptions import SettingsError  # noqa: PLC0415

    try:
        return _reading_environment()(**data)
    except SettingsError as exc:
        raise _bad_environment(exc) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    """The config file's mapping; an unreadable file or bad YAML names the fix.

    PyYAML is imported here, not at start-up: a replay without --config never reads YAML.
    """
    import yaml  # noqa: PLC0415

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}; check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte offset {exc.start}); save the file as UTF-8"
        ) from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(describe_yaml_error(exc, source=str(path))) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return loaded


def _bad_environment(exc: SettingsError) -> ConfigError:
    """A DRIFTWARDEN_<FIELD>[__<KEY>] variable holding malformed JSON; its value may be
    a secret, so only its name is printed."""
    field = _SETTINGS_FIELD.search(str(exc))
    bad = _bad_json_variables(field.group(1), os.environ) if field else []
    if bad:
        name = ", ".join(bad)
    elif field:
        name = f"DRIFTWARDEN_{field.group(1).upper()}"
    else:
        name = "a DRIFTWARDEN_* variable"
    return ConfigError(
        f"environment: {name} is not valid JSON for that section; fix or unset it "
        f"(or set single keys with DRIFTWARDEN_<SECTION>__<KEY>)"
    )
