"""Configuration: typos are errors that name the key; the environment wins over the file."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.config import WebhookReceiver, load_settings
from driftwarden.monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings(None, env={})
    assert settings.policy.window.kind == "time"
    assert settings.policy.thresholds.psi.critical == 0.25


def test_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kafka\.topicz: Extra inputs.*fix: remove it"):
        load_settings(write(tmp_path, "kafka:\n  topicz: [a]\n"), env={})


def test_environment_overrides_the_file_with_nesting(tmp_path: Path) -> None:
    path = write(tmp_path, "kafka:\n  group_id: from-file\n")
    settings = load_settings(
        path,
        env={"DRIFTWARDEN_KAFKA__GROUP_ID": "from-env", "DRIFTWARDEN_POLICY__WINDOW__SIZE": "1h"},
    )
    assert settings.kafka.group_id == "from-env"
    assert settings.policy.window.size == 3600.0


def test_unknown_environment_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"kafka\.groupid"):
        load_settings(None, env={"DRIFTWARDEN_KAFKA__GROUPID": "x"})


def test_model_and_column_overrides_deep_merge(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
policy:
  columns:
    amount: {thresholds: {psi: {critical: 0.4}}}
models:
  credit-risk:
    sustain: {warning: 3}
    window: {kind: count, size: 100}
""",
    )
    settings = load_settings(path, env={})
    policy = settings.policy_for("credit-risk")
    assert (policy.sustain.info, policy.sustain.warning) == (1, 3)
    assert policy.window.kind == "count"
    amount = policy.column("amount").thresholds.psi
    assert (amount.info, amount.critical) == (0.1, 0.4)
    assert settings.policy_for("other").sustain.warning == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("policy:\n  window: {size: 5x}\n", "policy.window"),
        (
            "policy:\n  thresholds: {psi: {info: 0.3, warning: 0.2, critical: 0.5}}\n",
            "thresholds.psi",
        ),
        ("models:\n  m: {sustain: {warning: 0}}\n", "sustain.warning"),
        ("policy:\n  columns: {x: {effect: nope}}\n", "effect"),
        ("kafka:\n  security_protocol: SASL_SSL\n", "kafka"),
        ("alerting:\n  route: {receiver: pager}\n", "pager"),
    ],
)
def test_invalid_values_name_the_field(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    assert where in str(info.value)


def test_secrets_never_appear_in_repr_or_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
kafka:
  security_protocol: SASL_SSL
  sasl: {mechanism: PLAIN, username: u, password: hunter2-secret}
""",
    )
    settings = load_settings(path, env={})
    assert "hunter2-secret" not in repr(settings)
    bad = write(tmp_path, path.read_text() + "  bogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad, env={})
    assert "hunter2-secret" not in str(info.value)


def test_unreadable_or_non_mapping_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml", env={})
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"), env={})


def test_a_partial_top_level_threshold_override_keeps_the_other_defaults(tmp_path: Path) -> None:
    """As `models.<id>` overrides deep-merge onto `policy`, `policy` deep-merges onto the
    defaults: changing one PSI threshold must not demand the other two."""
    text = "policy:\n  thresholds: {psi: {critical: 0.4}}\n  window: {size: 10m}\n"
    settings = load_settings(write(tmp_path, text), env={})
    psi = settings.policy.thresholds.psi
    assert (psi.info, psi.warning, psi.critical) == (0.1, 0.1, 0.4)
    assert settings.policy.window.size == 600.0
    assert settings.policy.window.allowed_lateness == 60.0
    assert settings.policy_for("m").thresholds.psi.critical == 0.4
    env = {"DRIFTWARDEN_POLICY__SIGNIFICANCE__MIN_SAMPLES": "50"}
    from_env = load_settings(write(tmp_path, text), env=env)
    assert from_env.policy.significance.min_samples == 50
    assert from_env.policy.significance.alpha == 0.05
    count = load_settings(write(tmp_path, "policy:\n  window: {kind: count, size: 9}\n"), env={})
    assert count.policy.window.kind == "count"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "policy:\n  significance: {min_samples: lots}\n",
            "policy.significance.min_samples: Input should be a valid integer, unable to parse "
            "string as an integer; fix: write a whole number without quotes or units, e.g. 500",
        ),
        (
            "metrics: {enabled: maybe}\n",
            "metrics.enabled: Input should be a valid boolean, unable to interpret input; "
            "fix: write true or false",
        ),
        ("kafka: {topics: predictions}\n", "kafka.topics: Input should be a valid list; fix: "),
        ("policy: {sustain: 3}\n", "policy.sustain: Input should be a valid dictionary"),
        (
            "kafka: {max_poll_records: 0}\n",
            "kafka.max_poll_records: Input should be greater than or equal to 1; fix: use a "
            "value of at least 1",
        ),
        (
            "policy:\n  window: {size: 5x}\n",
            "policy.window.size: '5x' is not a duration; write a number with a unit, e.g. 30s, "
            "5m or 1h",
        ),
    ],
)
def test_type_errors_name_the_field_the_problem_and_the_fix(
    tmp_path: Path, text: str, line: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    message = str(info.value)
    assert f"  - {line}" in message
    assert "see docs/config.md" not in message
    assert "Value error" not in message


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("  sasl: {password: Hunter2Secret: x}", "expected ',' or '}', but got ':'"),
        ("  password: *Hunter2Secret", "found undefined alias '…'"),
        ("  password: !Hunter2Secret x", "could not determine a constructor for the tag '…'"),
        ('  password: "Hunter2Secret', "found unexpected end of stream"),
        ("  password: Hunter2Secret: x", "mapping values are not allowed here"),
    ],
)
def test_a_yaml_error_names_line_and_column_but_never_shows_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    """PyYAML's own message prints the offending line: the one holding the password."""
    path = write(tmp_path, f"kafka:\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "Hunter2Secret" not in message
    assert message.startswith(f"{path}: not valid YAML at line ")
    assert problem in message
    assert "\n" not in message


def test_a_yaml_error_points_at_the_right_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "environment: prod\nkafka:\n  group_id: a: b\n")
    with pytest.raises(ConfigError, match=r"at line 3, column 14: mapping values are not allowed"):
        load_settings(path, env={})


def test_a_non_utf8_file_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"environment: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte offset 13\)"):
        load_settings(path, env={})


def test_malformed_json_in_an_environment_section_never_echoes_it() -> None:
    env = {"DRIFTWARDEN_ALERTING": '{"receivers": [{"webhook_url": "https://x/Hunter2Secret"'}
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert "DRIFTWARDEN_ALERTING is not valid JSON" in str(info.value)
    assert "Hunter2Secret" not in str(info.value)


def test_a_url_mistaken_for_a_key_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    """A mis-indented webhook URL becomes a key; its path is the Slack credential."""
    path = write(tmp_path, "alerting:\n  https://hooks.slack.com/services/T/B/Hunter2Secret: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "alerting.<a URL used as a key>: Extra inputs are not permitted" in str(info.value)
    assert "Hunter2Secret" not in str(info.value)


@settings(max_examples=200, deadline=None)
@given(
    # "Zq9" keeps a drawn secret from being a word of YAML's own message ("undefine" is in
    # "found undefined alias"), which the error may and should quote.
    secret=st.text(alphabet=string.ascii_letters + string.digits, min_size=5, max_size=37).map(
        lambda s: "Zq9" + s
    ),
    before=st.sampled_from(["", "*", "!", "&", '"', "'", "[", "{a: ", "@", "%", "`", "\t", "- "]),
    after=st.sampled_from(["", ": x", "]", "}", '"', " #", "\t: x", ", b", ": [", "'x"]),
)
def test_no_yaml_error_ever_echoes_the_value_it_choked_on(
    secret: str, before: str, after: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(f"kafka:\n  sasl:\n    password: {before}{secret}{after}\n")
        message = ""
        try:
            load_settings(path, env={})
        except ConfigError as exc:
            message = str(exc)
        assert secret not in message


def test_webhook_header_values_are_secrets_kept_out_of_reprs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerting:\n  receivers:\n    - {name: hook, type: webhook, url: 'http://h/x',\n"
        "       headers: {Authorization: Bearer Hunter2Secret}}\n"
        "  route: {receiver: hook}\n",
    )
    settings = load_settings(path, env={})
    assert "Hunter2Secret" not in repr(settings)
    (receiver,) = settings.alerting.receivers
    assert isinstance(receiver, WebhookReceiver)
    assert receiver.headers["Authorization"].get_secret_value() == "Bearer Hunter2Secret"


def test_broken_json_in_a_nested_variable_is_named_by_that_variable_never_its_value() -> None:
    env = {"DRIFTWARDEN_KAFKA__BOOTSTRAP_SERVERS": '["k1:9092"'}
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    message = str(info.value)
    assert message.startswith("environment: DRIFTWARDEN_KAFKA__BOOTSTRAP_SERVERS is not valid")
    assert "k1:9092" not in message


def test_a_mistake_set_by_the_environment_names_its_variable_not_only_the_file(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "kafka: {topics: [predictions]}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={"DRIFTWARDEN_KAFKA__GROUPID": "x"})
    assert "kafka.groupid (set by DRIFTWARDEN_KAFKA__GROUPID): Extra inputs" in str(info.value)


def test_partitioned_mode_with_directory_checkpoints_is_refused_naming_the_fix(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "group: {mode: partitioned}\ncheckpoint: {backend: directory}\n")
    with pytest.raises(ConfigError, match=r"group.mode partitioned.*set checkpoint.backend: kafka"):
        load_settings(path, env={})


def test_partitioned_mode_with_kafka_checkpoints_loads_and_defaults_stay_active_standby(
    tmp_path: Path,
) -> None:
    assert load_settings(None, env={}).group.mode == "active-standby"
    settings = load_settings(
        write(tmp_path, "group: {mode: partitioned}\ncheckpoint: {backend: kafka}\n"), env={}
    )
    assert settings.group.mode == "partitioned"
    assert settings.group.partials_topic == "driftwarden-partials"
