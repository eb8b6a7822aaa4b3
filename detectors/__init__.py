"""Pure statistics over histograms and counts: no I/O, no clocks, no logging.

Every histogram detector takes two count vectors over the same slots (the
baseline's frozen bins or categories) and returns a `TestResult`.
"""

from detectors.change import (
    AdwinParams,
    ChangeParams,
    PageHinkleyParams,
    SeriesChangeDetector,
    detect_changes,
)
from detectors.chi_square import chi_square
from detectors.counts import Counts
from detectors.errors import DetectorInputError, DriftwardenError
from detectors.jensen_shannon import jensen_shannon
from detectors.ks import ks_binned
from detectors.linf import linf
from detectors.multiple_testing import MultipleTestResult, adjust
from detectors.proportion import excess_proportion
from detectors.psi import psi, total_variation
from detectors.result import TestResult
from detectors.wasserstein import wasserstein_binned

__all__ = [
    "AdwinParams",
    "ChangeParams",
    "Counts",
    "DetectorInputError",
    "DriftwardenError",
    "MultipleTestResult",
    "PageHinkleyParams",
    "SeriesChangeDetector",
    "TestResult",
    "adjust",
    "chi_square",
    "detect_changes",
    "excess_proportion",
    "jensen_shannon",
    "ks_binned",
    "linf",
    "psi",
    "total_variation",
    "wasserstein_binned",
]
