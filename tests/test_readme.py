"""The README's shell commands run as written, the way a newcomer meets them.

Every command of every ```sh block is either run here or excluded for a reason the README
shows: the section "On Kubernetes" needs a cluster, a command whose comment says it needs a
broker needs Kafka, and `./scripts/test.sh` is the command that runs this very test. The test
asserts the exact lists, so a command added to the README fails it until it is run here or
excluded on purpose.

The setup commands run in the repository root, as on a fresh clone. The "Using it" commands
run in a scratch directory that mirrors the root (a symlink per top-level entry), so what they
write under `out/` does not pile up in the checkout; `./driftwarden` finds its checkout itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUN = [
    "./scripts/demo.sh",
    "./driftwarden baseline build --model credit-risk --data examples/credit-risk/train.csv "
    "--outputs score,label --label data_version=2026-01 --output out/baselines",
    "./driftwarden baseline show out/baselines/credit-risk",
    "./driftwarden replay --baseline out/baselines/credit-risk examples/logs/*.jsonl.gz "
    "--report out/report.json",
    "./driftwarden validate-config examples/driftwarden.yaml",
]
EXCLUDED = {
    "./scripts/test.sh": "the test command itself",
    "./driftwarden run --config examples/driftwarden.yaml": "needs a Kafka broker",
    "kubectl create namespace drift": "needs a Kubernetes cluster",
    "kubectl -n drift create configmap driftwarden-baselines "
    "--from-file=credit-risk.json=examples/baselines/credit-risk/v0001.baseline.json": (
        "needs a Kubernetes cluster"
    ),
    "helm upgrade --install driftwarden helm/driftwarden -n drift "
    "--set 'config.kafka.bootstrap_servers={kafka.kafka.svc:9092}' "
    "--set 'config.kafka.topics={predictions}' "
    "--set baselines.existingConfigMap=driftwarden-baselines "
    "--set 'baselines.files={credit-risk.json}'": "needs a Kubernetes cluster",
}
# What each command must print besides exiting 0: the README promises it.
EXPECT = {
    "./scripts/demo.sh": [
        "drifted columns",
        "amount",
        "score",
        "critical",
        "page written to out/replay-report.html",
    ],
    "./driftwarden baseline build": [
        "wrote out/baselines/credit-risk/v0001.baseline.json",
        "12 features, 2 outputs",
    ],
    "./driftwarden baseline show": ["baseline credit-risk@1", "data_version=2026-01"],
    "./driftwarden replay": ["drifted columns", "report written to out/report.json"],
    "./driftwarden validate-config": ["examples/driftwarden.yaml: valid"],
}
_COMMENT = re.compile(r"\s+#\s.*$")


def readme_commands() -> list[tuple[str, str, str]]:
    """(section, command without its comment, comment) for each command of a sh block."""
    commands = []
    section = ""
    block: list[str] | None = None
    for line in (ROOT / "README.md").read_text().splitlines():
        if block is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            elif line.strip() in {"```sh", "```bash", "```shell"}:
                block = []
            continue
        if line.strip() == "```":
            joined = "\n".join(block).replace("\\\n", " ")
            for raw in joined.splitlines():
                if raw.strip():
                    command = _COMMENT.sub("", raw).strip()
                    comment = raw[len(_COMMENT.sub("", raw)) :].strip()
                    commands.append((section, " ".join(command.split()), comment))
            block = None
        else:
            block.append(line)
    return commands


def exclusion(section: str, command: str, comment: str) -> str | None:
    if section == "On Kubernetes":
        return "needs a Kubernetes cluster"
    if "needs a broker" in comment:
        return "needs a Kafka broker"
    if command == "./scripts/test.sh":
        return "the test command itself"
    return None


def test_every_readme_command_is_run_or_excluded_for_a_stated_reason() -> None:
    commands = readme_commands()
    ran = [c for s, c, m in commands if exclusion(s, c, m) is None]
    excluded = {c: exclusion(s, c, m) for s, c, m in commands if exclusion(s, c, m)}
    assert ran == RUN
    assert excluded == EXCLUDED


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory that looks like the repository root, with an empty out/."""
    root = tmp_path_factory.mktemp("clone")
    for entry in ROOT.iterdir():
        if entry.name not in {"out", ".git"}:
            (root / entry.name).symlink_to(entry)
    return root


def test_the_readme_commands_run_as_written(scratch: Path) -> None:
    for command in RUN:
        setup = command.startswith("./scripts/")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=ROOT if setup else scratch,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")},
            timeout=600,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{command}\n{output}"
        assert "Traceback" not in output, f"{command}\n{output}"
        assert "warning:" not in done.stderr, f"{command}\n{done.stderr}"
        expected = next(v for k, v in EXPECT.items() if command.startswith(k))
        for text in expected:
            assert text in done.stdout, f"{command}: {text!r} missing from\n{done.stdout}"
    assert (scratch / "out" / "report.json").is_file()
    assert (ROOT / "out" / "replay-report.html").is_file()
    assert not (scratch / "dead-letter.jsonl").exists()


def test_the_readme_images_are_in_the_repository() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert images
    for image in images:
        assert (ROOT / image).is_file(), image


def readme_python() -> list[str]:
    """The README's ```python blocks, as written."""
    blocks = re.findall(r"^```python\n(.*?)^```$", (ROOT / "README.md").read_text(), re.S | re.M)
    return [str(block) for block in blocks]


def test_the_readme_notebook_example_runs_and_prints_what_its_comments_say(
    tmp_path: Path,
) -> None:
    (example,) = readme_python()
    done = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "critical ['age', 'plan']"
    assert lines[1].split() == ["tier", "psi", "ks_p_value"]
    assert lines[-1].startswith("0.2407")
