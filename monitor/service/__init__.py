"""The long-running daemon: wires Kafka, the engine, alerting and telemetry together."""
