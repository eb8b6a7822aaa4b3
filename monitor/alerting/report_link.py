"""The link from an alert to the page that shows its window (`alerting.report_url`).

Where the pages live is the operator's choice (an artifact store, a CI job's
artifacts, a wiki): the config gives a URL template and each alert fills it
with its model, environment and window, URL-quoted, so on-call clicks from the
message to the histograms of the very window that fired.
"""

from __future__ import annotations

from urllib.parse import quote

from driftwarden.monitor.verdicts.narrative import iso
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.verdict import WindowVerdict


def report_link(
    template: str | None, verdict: WindowVerdict | PerformanceVerdict, *, environment: str
) -> str | None:
    """`template` filled for `verdict`'s window; None when no template is configured.

    The placeholders (`REPORT_URL_FIELDS` in the config) are checked when the
    configuration loads, so this cannot meet an unknown one.
    """
    if template is None:
        return None
    values = {
        "model": verdict.model_id,
        "environment": environment,
        "baseline_version": str(verdict.baseline_version),
        "window_index": str(verdict.window_index),
        "window_start": iso(verdict.window_start),
        "window_end": iso(verdict.window_end),
    }
    return template.format_map({k: quote(v, safe="") for k, v in values.items()})
