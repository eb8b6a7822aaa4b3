"""The test command builds helm and the image in the background; the tests that need them
wait for the installer's status (tests/support/components.py) and never run on a failed one."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.outcomes import Failed, Skipped

from tests.support import components


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(components, "_LOGS", tmp_path)
    monkeypatch.setenv(components.BACKGROUND_INSTALLS, "install-helm,install-containers")
    return tmp_path


def test_an_installer_the_test_command_did_not_start_is_not_waited_for(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(components.BACKGROUND_INSTALLS, "")
    components.await_background_install("install-helm")  # no status file: returns at once


def test_a_finished_installer_lets_its_tests_run(logs: Path) -> None:
    (logs / "install-helm.status").write_text("0\n")
    components.await_background_install("install-helm")


def test_a_running_installer_is_waited_for_until_its_status_appears(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the installer ends during the third poll
        polls.append(seconds)
        if len(polls) == 3:
            (logs / "install-containers.status").write_text("0\n")

    monkeypatch.setattr(components.time, "sleep", sleep)
    components.await_background_install("install-containers")
    assert len(polls) == 3


def test_a_failed_installer_fails_its_tests_in_ci_with_the_log_tail(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (logs / "install-helm.status").write_text("1\n")
    (logs / "install-helm.log").write_text("go: module lookup refused\n")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="exited with 1:\ngo: module lookup refused"):
        components.await_background_install("install-helm")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(Skipped, match="install-helm unavailable"):
        components.await_background_install("install-helm")
