"""Pure statistics over histograms and counts: no I/O, no clocks, no logging.

Every histogram detector takes two count vectors over the same slots (the
baseline's frozen bins or categories) and returns a `TestResult`.

The names below are re-exported lazily (PEP 562): importing `detectors.errors` (for
`DetectorInputError`) must not pay for scipy and river, or `driftwarden validate-config`
would take seconds to start. For the
same reason the detector modules import scipy and river inside the function that
uses them, at the first window evaluated: `replay` of a short input, or a daemon
until its first window closes, never loads them (~1 s of imports, most of it
`scipy.stats` and river's detector zoo; docs/benchmarks.md, "Start-up").
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftwarden.detectors.change import (
        AdwinParams,
        ChangeParams,
        PageHinkleyParams,
        SeriesChangeDetector,
        detect_changes,
    )
    from driftwarden.detectors.chi_square import chi_square
    from driftwarden.detectors.counts import Counts, Histogram
    from driftwarden.detectors.errors import DetectorInputError
    from driftwarden.detectors.jensen_shannon import jensen_shannon
    from driftwarden.detectors.ks import ks_binned
    from driftwarden.detectors.linf import linf
    from driftwarden.detectors.multiple_testing import MultipleTestResult, adjust
    from driftwarden.detectors.proportion import excess_proportion
    from driftwarden.detectors.psi import psi, total_variation
    from driftwarden.detectors.result import TestResult
    from driftwarden.detectors.wasserstein import wasserstein_binned

_EXPORTS = {
    "AdwinParams": "change",
    "ChangeParams": "change",
    "PageHinkleyParams": "change",
    "SeriesChangeDetector": "change",
    "detect_changes": "change",
    "chi_square": "chi_square",
    "Counts": "counts",
    "Histogram": "counts",
    "DetectorInputError": "errors",
    "jensen_shannon": "jensen_shannon",
    "ks_binned": "ks",
    "linf": "linf",
    "MultipleTestResult": "multiple_testing",
    "adjust": "multiple_testing",
    "excess_proportion": "proportion",
    "psi": "psi",
    "total_variation": "psi",
    "TestResult": "result",
    "wasserstein_binned": "wasserstein",
}

__all__ = [
    "AdwinParams",
    "ChangeParams",
    "Counts",
    "DetectorInputError",
    "Histogram",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'driftwarden.detectors' has no attribute {name!r}")
    return getattr(importlib.import_module(f"driftwarden.detectors.{module}"), name)


_SHADOWED = frozenset(name for name, module in _EXPORTS.items() if name == module)


class _Detectors(ModuleType):
    """This package, where a detector's name stays the detector once its module is loaded.

    Importing `detectors.psi` (the module) makes the import system bind it as this
    package's attribute `psi`, over the function of the same name: after the first window
    is evaluated, `driftwarden.detectors.psi(...)` would call a module. Such bindings are
    dropped here, so those names keep resolving through `__getattr__` to the function;
    `sys.modules` still holds the module for `from driftwarden.detectors.psi import ...`.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Detectors
