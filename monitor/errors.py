"""Errors raised by the daemon and its tools; each message names the fix."""

from __future__ import annotations

from driftwarden.errors import DriftwardenError


class ConfigError(DriftwardenError):
    """The configuration is invalid; the message names the field and the fix."""


class SourceError(DriftwardenError):
    """An input source (file, stdin, Kafka) cannot be read."""


class SinkUnavailable(DriftwardenError):  # noqa: N818 - names the condition, like TimeoutError's kin
    """A sink (dead-letter file or topic, alert receiver) cannot take writes now."""

    retryable = True


class CheckpointError(DriftwardenError):
    """A checkpoint cannot be written or does not match the running configuration."""


class PartialsUnpublishedError(DriftwardenError):
    """Window shares closed on this member were not acknowledged by the partials topic.

    Fatal on purpose: those windows are gone from memory, so no later checkpoint may
    be written; the restarted member closes them again from the last checkpoint."""
