"""A child process under test: bounded waits, signals, and its output for failure messages."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path


class ChildProcess:
    """Subclasses start `proc` with stdout and stderr going to `log_path`."""

    name: str
    log_path: Path
    proc: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final checkpoint."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} still running after {timeout}s; killed:\n{self.output()}"
            ) from None

    def output(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.kill()
