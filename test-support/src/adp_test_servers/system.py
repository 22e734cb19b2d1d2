"""Small OS helpers: a temp dir other uids can enter, a command run as another uid,
stopping a child process."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


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
