"""One root for every error raised on purpose, at the package root (`driftwarden.errors`)."""

from __future__ import annotations

import driftwarden
from driftwarden.baselines.errors import BaselineError
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.errors import DriftwardenError
from driftwarden.monitor.errors import ConfigError, SinkUnavailable


def test_every_layers_errors_derive_from_the_one_root() -> None:
    for error in (DetectorInputError, BaselineError, ConfigError, SinkUnavailable):
        assert issubclass(error, DriftwardenError)


def test_a_library_user_catches_it_as_driftwarden_driftwardenerror() -> None:
    assert driftwarden.DriftwardenError is DriftwardenError
