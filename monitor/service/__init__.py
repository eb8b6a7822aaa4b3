"""The long-running daemon: wires Kafka, the engine, alerting and telemetry together.

`daemon` assembles and runs the parts; `processor` is the engine as the consumer
loop's batch processor; `observers` act on each closed window (metrics, logs,
verdict log, alerting); `alert_dispatch` delivers the alert outbox; `partitioned`
(with `partial_close`) is `group.mode: partitioned`; `performance_observer` is
the daemon's side of a performance verdict.
"""
