"""Small OS helpers: a temp dir other uids can enter, a command run as another uid,
waiting for a server to answer, stopping a child process."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from adp_test_servers import ServerUnavailable


def traversable_tmpdir(prefix: str) -> Path:
    """A new temp dir other uids can enter (mkdtemp's, and pytest's tmp_path, are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def as_uid(uid: int, gid: int, *args: str) -> list[str]:
    """Prefix a command so it runs as uid:gid with no supplementary groups (util-linux setpriv)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *args]


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate `process` if it still runs; kill it when it has not exited after `timeout` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_answers(
    probe: Callable[[], bool],
    process: subprocess.Popen[str] | subprocess.Popen[bytes],
    what: str,
    log: Path,
    timeout: float,
) -> None:
    """Call `probe` until it returns True; an OSError means "not yet". Raise ServerUnavailable
    with the end of `log` when `process` exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if probe():
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise ServerUnavailable(
                f"{what} did not answer: {log.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.1)
