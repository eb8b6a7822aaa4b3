"""The self-contained HTML file: styles, script and data inline, nothing fetched.

The data (`PageData`) is gzipped and base64-encoded into a script element that
the page's script inflates with the browser's own `DecompressionStream`: a
1,000-window x 20-column report is megabytes of JSON but a few hundred
kilobytes gzipped. A Content-Security-Policy forbids every fetch, so the page
works from a disk, a mail attachment or an artifact store alike. The output is
deterministic (gzip without a timestamp): the same report gives the same file.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from driftwarden.monitor.page.data import PageData

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'none'"
)


def _asset(name: str) -> str:
    return resources.files("driftwarden.monitor.page").joinpath(name).read_text("utf-8")


def encode_data(data: Mapping[str, Any]) -> str:
    """The page data as base64 of gzipped compact JSON (deterministic)."""
    text = json.dumps(
        data, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=True
    )
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode(
        "ascii"
    )


def render_page(data: Mapping[str, Any]) -> str:
    """The whole HTML document for `data` (a `PageData.to_dict()`)."""
    models = ", ".join(m["model_id"] for m in data["models"]) or "no model"
    title = html.escape(f"driftwarden report: {models}")
    tier = html.escape(data["summary"]["max_tier"])
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_asset('page.css')}</style></head>\n"
        f"<body><header><h1>{title}</h1><p>Highest model tier: "
        f'<span class="tier t{_tier_code(tier)}">{tier.upper()}</span> · driftwarden '
        f"{html.escape(data['driftwarden_version'])} · {html.escape(data['schema'])}</p></header>\n"
        '<main id="app"><p>Drawing the charts… (this page needs JavaScript)</p></main>\n'
        f'<script id="report-data" type="application/octet-stream">{encode_data(data)}</script>\n'
        f"<script>{_asset('page.js')}</script>\n"
        "</body></html>\n"
    )


def _tier_code(label: str) -> int:
    return ("none", "info", "warning", "critical").index(label)


def write_page(path: Path, header: Mapping[str, Any], windows: Iterable[Mapping[str, Any]]) -> int:
    """Write the page of a report (its header and window records) to `path`; its size."""
    page = render_page(PageData(header).extend(windows).to_dict()).encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(page)
    os.replace(tmp, path)
    return len(page)
