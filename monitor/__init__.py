"""The daemon and its tools, by stage of an event's life.

`ingest/` decodes -> `windows/` counts -> `verdicts/` judges -> `alerting/` tells people.
Around them: `engine.py` (the one path from raw payloads to verdicts), `kafka/` (the source,
checkpoints, group membership), `replay/` (files instead of Kafka), `service/` (the daemon),
`telemetry/` (metrics, logs, health), `commands/` + `cli.py`, and `config.py` / `errors.py`.
"""
