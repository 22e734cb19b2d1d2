"""A kerberos-ticket-sharer process started by a test (`python -m kerberos_ticket_sharer`).

The sharer's own tests (platform-bootstrap) and the cross-component end-to-end test start
the real program as a subprocess; this is their handle on it. The sharer must be importable
by the interpreter that runs the tests (scripts/dev-env installs it) or be on PYTHONPATH in
`env`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adp_test_servers.system import stop


@dataclass
class SharerProcess:
    """A running sharer, its environment, its output file and the shared file it writes."""

    process: subprocess.Popen[str]
    env: dict[str, str]
    log_path: Path
    target: Path

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, target: Path) -> SharerProcess:
        """Start `kerberos-ticket-sharer run` with `env` (its SHARER_* settings), output to
        `log_path`; `target` is the shared file it is expected to write."""
        process = subprocess.Popen(
            [sys.executable, "-m", "kerberos_ticket_sharer", "run"],
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        return cls(process, env, log_path, target)

    def log(self) -> str:
        return self.log_path.read_text()

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `kerberos-ticket-sharer <args>` with the same settings (status, healthcheck)."""
        return subprocess.run(
            [sys.executable, "-m", "kerberos_ticket_sharer", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20, what: str = "") -> float:
        """Seconds until `condition()` held; fails with the sharer's log on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if condition():
                return time.monotonic() - start
            if self.process.poll() is not None:
                raise AssertionError(f"sharer exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what}; sharer log:\n{self.log()}"
        )

    def wait_for_log(self, text: str, timeout: float = 20) -> float:
        return self.wait_for(lambda: text in self.log(), timeout, f"log line {text!r}")

    def stop(self) -> None:
        stop(self.process)
