"""kafka-python 3.0.12 leaks sockets in two places; every client of ours, and the test
suite's own, gets both closed by one call, so that a third fix has one place to go."""

from __future__ import annotations

from driftwarden.monitor.kafka.failed_connects import close_failed_connects
from driftwarden.monitor.kafka.half_built_clients import close_half_built_clients


def close_library_leaks() -> None:
    """Install each wrapper once per process (later calls do nothing)."""
    close_failed_connects()
    close_half_built_clients()
