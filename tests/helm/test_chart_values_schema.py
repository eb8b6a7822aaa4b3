"""values.schema.json rejects bad values before anything renders; values are documented."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .rendering import CHART, Chart

pytestmark = pytest.mark.helm

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
# Where the schema deliberately stops: the daemon's own config sections (validated in
# full by the daemon and by test_rendered_config_passes_validate_config) and
# pass-through Kubernetes objects (validated by kubernetes-validate after rendering).
OPEN_OBJECTS = frozenset(
    {
        "/global",
        "/config/policy",
        "/config/models/*",
        "/config/events",
        "/config/dead_letter",
        "/config/outcomes",
        "/config/kafka",
        "/config/kafka/sasl",
        "/config/kafka/tls",
        "/config/alerting",
        "/config/alerting/receivers/[]",
        "/config/logging",
        "/baselines/volume",
        "/affinity",
        "/tolerations/[]",
        "/topologySpreadConstraints/[]",
        "/metrics/serviceMonitor/metricRelabelings/[]",
        "/networkPolicy/metricsFrom/[]",
        "/networkPolicy/kafka/to/[]",
        "/networkPolicy/extraEgress/[]",
        "/extraEnv/[]",
        "/extraVolumes/[]",
        "/extraVolumeMounts/[]",
        "/extraObjects/[]",
    }
)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        pytest.param(
            {"replicaCount": "2"}, "at '/replicaCount': got string, want integer", id="type"
        ),
        pytest.param({"image": {"tgs": "x"}}, "additional properties 'tgs' not allowed", id="typo"),
        pytest.param({"replicas": 2}, "additional properties 'replicas' not allowed", id="unknown"),
        pytest.param({"checkpoint": {"backend": "s3"}}, "at '/checkpoint/backend'", id="enum"),
        pytest.param(
            {"config": {"kafka": {"sasl": {"username": "u", "password": "hunter2"}}}},
            "at '/config/kafka/sasl/password': false schema",
            id="inline-sasl-password",
        ),
        pytest.param(
            {
                "config": {
                    "alerting": {
                        "receivers": [
                            {"name": "s", "type": "slack", "webhook_url": "https://hooks"}
                        ]
                    }
                }
            },
            "at '/config/alerting/receivers/0/webhook_url': false schema",
            id="inline-slack-webhook",
        ),
        pytest.param(
            {"config": {"metrics": {"port": 1}}},
            "additional properties 'metrics' not allowed",
            id="chart-owned-config-key",
        ),
        pytest.param(
            {"extraVolumes": [{"name": "h", "hostPath": {"path": "/"}}]},
            "at '/extraVolumes/0/hostPath': false schema",
            id="host-path",
        ),
        pytest.param(
            {"securityContext": {"runAsUser": 0}},
            "at '/securityContext/runAsUser'",
            id="root-uid",
        ),
        pytest.param({"image": {"digest": "latest"}}, "at '/image/digest'", id="digest-format"),
        pytest.param(
            {"checkpoint": {"backend": "directory"}, "replicaCount": 2},
            "at '/replicaCount': maximum: got 2, want 1",
            id="directory-checkpoints-with-standbys",
        ),
    ],
)
def test_bad_values_are_rejected_by_the_schema(
    chart: Chart, tmp_path: Path, values: dict[str, Any], error: str
) -> None:
    path = tmp_path / "bad-values.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    stderr = chart.render_error([path])
    assert "values don't meet the specifications of the schema" in stderr
    assert error in stderr


@pytest.mark.parametrize(
    ("backend", "replicas", "kind"),
    [("directory", 1, "StatefulSet"), ("kafka", 1, "Deployment"), ("kafka", 3, "Deployment")],
)
def test_replicas_render_where_a_standby_can_take_over(
    chart: Chart, backend: str, replicas: int, kind: str
) -> None:
    """Kafka checkpoints reach any member, so standbys are allowed; a checkpoint volume
    belongs to one pod, so the directory backend runs exactly one member."""
    rendered = chart.render(
        set_values=[f"checkpoint.backend={backend}", f"replicaCount={replicas}"]
    )
    assert rendered.workload()["kind"] == kind
    assert rendered.workload()["spec"]["replicas"] == replicas


def object_schemas(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "object" or "properties" in schema:
        yield path or "/", schema
    for name, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict):
            yield from object_schemas(sub, f"{path}/{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from object_schemas(schema["additionalProperties"], f"{path}/*")
    if isinstance(schema.get("items"), dict):
        yield from object_schemas(schema["items"], f"{path}/[]")


def test_schema_is_closed_except_where_it_hands_over() -> None:
    """Every object with known keys forbids others, so a typo anywhere is an error."""
    open_ = []
    for path, schema in object_schemas(SCHEMA):
        closed = schema.get("additionalProperties") is False
        typed_map = isinstance(schema.get("additionalProperties"), dict)
        if not closed and not typed_map and path not in OPEN_OBJECTS:
            open_.append(path)
    assert not open_, f"objects accepting any key: {open_}"


def described_values(text: str) -> Iterator[str]:
    """Dotted paths of the keys in values.yaml preceded by a `# --` description."""
    stack: list[tuple[int, str]] = []
    described = False
    for line in text.splitlines():
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("# --"):
            described = True
            continue
        match = re.match(r"([A-Za-z_][\w-]*):", stripped)
        if not match or stripped.startswith("#"):
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(1)))
        if described:
            yield ".".join(key for _, key in stack)
        described = False


def test_readme_table_lists_exactly_the_described_values() -> None:
    """The chart README's values table and values.yaml's `# --` descriptions agree."""
    described = set(described_values((CHART / "values.yaml").read_text(encoding="utf-8")))
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    assert described, "no described values found"
    assert described - listed == set(), "described in values.yaml, missing in README"
    assert listed - described == set(), "in the README table, not described in values.yaml"
