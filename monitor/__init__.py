"""The daemon and its tools: config, decoding, windows, sources, verdicts, alerting, CLI."""
