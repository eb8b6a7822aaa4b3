"""Model performance from outcomes (realised) and from scores alone (estimated).

Pure statistics like the rest of `detectors`: window states are constant-size
counts that merge and serialise to plain JSON, metrics are functions of them,
and findings are typed results. The join of outcomes to predictions, and when a
window's performance is final, live in `monitor`.
"""

from __future__ import annotations

from driftwarden.detectors.performance.calibration import (
    Calibration,
    CalibrationColumn,
    fit_calibration,
)
from driftwarden.detectors.performance.classification import (
    ClassificationState,
    uniform_edges,
)
from driftwarden.detectors.performance.estimation import Estimate, estimate_metrics
from driftwarden.detectors.performance.metrics import realised_metrics
from driftwarden.detectors.performance.reference import (
    classification_reference,
    regression_reference,
)
from driftwarden.detectors.performance.regression import RegressionState
from driftwarden.detectors.performance.significance import (
    DEFAULT_THRESHOLDS,
    ChangeThresholds,
    PerformanceFinding,
    ReferenceMetric,
    estimate_findings,
    performance_findings,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Calibration",
    "CalibrationColumn",
    "ChangeThresholds",
    "ClassificationState",
    "Estimate",
    "PerformanceFinding",
    "ReferenceMetric",
    "RegressionState",
    "classification_reference",
    "estimate_findings",
    "estimate_metrics",
    "fit_calibration",
    "performance_findings",
    "realised_metrics",
    "regression_reference",
    "uniform_edges",
]
