"""The daemon config the chart renders: valid for the daemon, and consistent with the pod."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftwarden.monitor import cli

from .rendering import ALL_VALUES, CHART, Chart, Render, values_id

pytestmark = pytest.mark.helm

SASL_SSL = CHART / "ci" / "sasl-ssl-values.yaml"
FULL = CHART / "ci" / "full-values.yaml"


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_rendered_config_passes_validate_config(
    chart: Chart,
    values: Path | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`driftwarden validate-config` on the ConfigMap's file, through the CLI's own main()
    (in-process: one CLI start costs seconds of imports, five would dominate the module)."""
    for name in [n for n in os.environ if n.upper().startswith("DRIFTWARDEN_")]:
        monkeypatch.delenv(name)
    render = chart.render([values])
    configmap = render.one("ConfigMap", "dw-driftwarden")
    path = tmp_path / "driftwarden.yaml"
    path.write_text(configmap["data"]["driftwarden.yaml"], encoding="utf-8")
    code = cli.main(["validate-config", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "valid" in out


def file_settings(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(setting, path) of every file the config tells the daemon to read a secret from."""
    if config.get("baseline_verify_key_file"):
        yield "baseline_verify_key_file", config["baseline_verify_key_file"]
    kafka = config.get("kafka", {})
    for section in ("sasl", "tls"):
        for key, value in (kafka.get(section) or {}).items():
            if key.endswith("file"):
                yield f"kafka.{section}.{key}", value
    for receiver in config.get("alerting", {}).get("receivers", []):
        for key, value in receiver.items():
            if key.endswith("_file"):
                yield f"alerting.receivers[{receiver['name']}].{key}", value


def mounted_secret_files(render: Render) -> dict[str, tuple[str, str]]:
    """Path in the container -> (Secret name, key), from the projected secrets volume."""
    pod = render.pod_spec()
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    files: dict[str, tuple[str, str]] = {}
    for volume in pod["volumes"]:
        for source in volume.get("projected", {}).get("sources", []):
            secret = source["secret"]
            for item in secret["items"]:
                path = f"{mounts[volume['name']]}/{item['path']}"
                files[path] = (secret["name"], item["key"])
    return files


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_every_secret_file_in_the_config_is_mounted_and_every_mount_is_used(
    chart: Chart, values: Path | None
) -> None:
    render = chart.render([values])
    referenced = dict(file_settings(render.daemon_config()))
    mounted = mounted_secret_files(render)
    assert set(referenced.values()) == set(mounted), (referenced, mounted)


def test_sasl_ssl_secrets_reach_the_right_settings(chart: Chart) -> None:
    render = chart.render([SASL_SSL])
    referenced = dict(file_settings(render.daemon_config()))
    mounted = mounted_secret_files(render)
    expected = {
        "kafka.sasl.password_file": ("kafka-user", "password"),
        "kafka.tls.cafile": ("kafka-tls", "ca.crt"),
        "kafka.tls.certfile": ("kafka-tls", "tls.crt"),
        "kafka.tls.keyfile": ("kafka-tls", "tls.key"),
        "kafka.tls.password_file": ("kafka-tls", "key-password"),
        "alerting.receivers[slack].webhook_url_file": ("driftwarden-alerting", "slack"),
        "alerting.receivers[pagerduty].routing_key_file": ("driftwarden-alerting", "pagerduty"),
    }
    assert {setting: mounted[path] for setting, path in referenced.items()} == expected
    # Every referenced key exists in the Secret that extraObjects creates for the test.
    secrets = {s["metadata"]["name"]: set(s["stringData"]) for s in render.of_kind("Secret")}
    for name, key in expected.values():
        assert key in secrets[name], f"Secret {name} has no key {key}"


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_baselines_are_read_from_the_mounted_source(chart: Chart, values: Path | None) -> None:
    render = chart.render([values])
    baselines = render.daemon_config()["baselines"]
    pod = render.pod_spec()
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    if not baselines:
        assert "baselines" not in mounts
        return
    volume = next(v for v in pod["volumes"] if v["name"] == "baselines")
    assert "configMap" in volume or "persistentVolumeClaim" in volume
    for path in baselines:
        assert Path(path).parent == Path(mounts["baselines"]), path


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_metrics_port_agrees_across_config_container_probes_and_service(
    chart: Chart, values: Path | None
) -> None:
    render = chart.render([values])
    port = render.daemon_config()["metrics"]["port"]
    container = render.pod_spec()["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": port}
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}
    assert container["args"] == ["run", "--config", "/etc/driftwarden/driftwarden.yaml"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/etc/driftwarden"
    assert mounts["config"]["readOnly"] is True


@pytest.mark.parametrize(
    ("set_values", "message"),
    [
        pytest.param(
            ["config.kafka.security_protocol=SASL_SSL", "config.kafka.sasl.username=u"],
            "set kafka.sasl.existingSecret",
            id="sasl-without-secret",
        ),
        pytest.param(
            ["config.kafka.security_protocol=SASL_SSL", "kafka.sasl.existingSecret=s"],
            "set config.kafka.sasl.username",
            id="sasl-without-username",
        ),
        pytest.param(
            ["kafka.tls.existingSecret=tls"],
            "kafka.tls.existingSecret is set but config.kafka.security_protocol is PLAINTEXT",
            id="tls-secret-on-plaintext",
        ),
        pytest.param(
            ["alertingSecrets.nobody.existingSecret=s", "alertingSecrets.nobody.key=k"],
            'no receiver named "nobody"',
            id="secret-for-unknown-receiver",
        ),
        pytest.param(
            ["kafka.client=librdkafka", "deploymentStrategy.type=RollingUpdate"],
            "a RollingUpdate's new pod cannot join while the old one runs",
            id="librdkafka-rolling-update",
        ),
        pytest.param(
            ["baselines.files={a.json}"],
            "set baselines.existingConfigMap or baselines.volume",
            id="baselines-without-source",
        ),
    ],
)
def test_inconsistent_values_fail_with_the_fix(
    chart: Chart, set_values: list[str], message: str
) -> None:
    """Mistakes the schema cannot see are refused at render time, naming what to set."""
    assert message in chart.render_error(set_values=set_values)


def test_receiver_secrets_for_types_without_secrets_are_refused(chart: Chart) -> None:
    error = chart.render_error(
        [FULL], set_values=["alertingSecrets.log.existingSecret=s", "alertingSecrets.log.key=k"]
    )
    assert 'receivers of type "log" take no secret' in error


def test_a_baseline_verify_key_secret_is_mounted_and_named_in_the_config(chart: Chart) -> None:
    render = chart.render(
        set_values=[
            "baselines.verifyKey.existingSecret=baseline-key",
            "baselines.existingConfigMap=baselines",
            "baselines.files={credit-risk.json}",
        ]
    )
    referenced = dict(file_settings(render.daemon_config()))
    mounted = mounted_secret_files(render)
    assert mounted[referenced["baseline_verify_key_file"]] == ("baseline-key", "baseline.key")


def test_the_kafka_client_value_reaches_the_daemon_config_and_defaults_to_kafka_python(
    chart: Chart,
) -> None:
    assert "client" not in chart.render().daemon_config()["kafka"]  # the daemon's default
    render = chart.render(set_values=["kafka.client=librdkafka"])
    assert render.daemon_config()["kafka"]["client"] == "librdkafka"


def test_librdkafka_with_more_than_one_replica_is_refused(chart: Chart) -> None:
    """librdkafka cannot run the active/standby assignor: one member per group."""
    error = chart.render_error(
        set_values=["kafka.client=librdkafka", "replicaCount=2", "checkpoint.backend=kafka"]
    )
    assert "replicaCount" in error
