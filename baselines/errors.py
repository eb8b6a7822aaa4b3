"""Errors about baseline artifacts; each message names the file and the fix."""

from __future__ import annotations

from driftwarden.errors import DriftwardenError


class BaselineError(DriftwardenError):
    """Something is wrong with a baseline or with the data it is built from."""


class BaselineCorrupt(BaselineError):  # noqa: N818 - public name, reads as a state
    """An artifact failed verification: truncated, edited, or not ours."""


class BaselineExists(BaselineError):  # noqa: N818 - public name, reads as a state
    """A build would overwrite an existing version; versions are immutable."""


class BaselineNotFound(BaselineError):  # noqa: N818 - public name, reads as a state
    """No artifact at the given path."""


class TrainingDataError(BaselineError):
    """Training data cannot be read or does not fit the schema."""


class SchemaError(BaselineError):
    """A schema file is malformed or does not match the training data's columns."""


class BaselineTooSmall(BaselineError):  # noqa: N818 - public name, reads as a state
    """Built from fewer training rows than the documented floor, without the opt-in."""


class BaselineSignatureError(BaselineError):
    """A verify key is configured and the artifact's signature is missing or wrong."""


class BaselineKeyError(BaselineError):
    """The signing or verify key file cannot be used."""
