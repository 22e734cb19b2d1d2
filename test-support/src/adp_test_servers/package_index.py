"""A throw-away, password-protected Python package index on loopback: pypiserver on
127.0.0.1:<free port> serving exactly the distribution files it is given.

    with running_package_index(tmp_path, wheels, "builder", token) as url:
        # url == "http://127.0.0.1:<port>/simple/": every request (listing, download,
        # upload) without builder:<token> gets 401
        login = url.replace("://", f"://builder:{token}@")
        subprocess.run(["pip", "download", "--index-url", login, "requests"], check=True)

What a corporate index looks like to a build that must log in. The files are copied into
`directory`/packages; the server runs as the caller, on the running interpreter (pypiserver and
passlib must be installed there: requirements-dev.txt pins them), and stops on exit.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, wait_until_answers


@contextmanager
def running_package_index(
    directory: Path,
    packages: Iterable[Path],
    username: str,
    password: str,
    timeout: float = 15,
) -> Iterator[str]:
    """Serve `packages` (wheel or sdist files) behind `username`:`password`; yield the index's
    simple URL (no credentials in it) once it answers 401 to an anonymous request."""
    missing = [name for name in ("pypiserver", "passlib") if importlib.util.find_spec(name) is None]
    if missing:
        raise ServerUnavailable(
            f"{' and '.join(missing)} not installed in {sys.executable}: pip install pypiserver "
            "passlib (scripts/dev-env installs requirements-dev.txt, which pins them)"
        )
    from passlib.apache import HtpasswdFile

    served = directory / "packages"
    served.mkdir(parents=True, exist_ok=True)
    for package in packages:
        shutil.copy2(package, served / Path(package).name)
    htpasswd_path = directory / "htpasswd"
    htpasswd = HtpasswdFile(str(htpasswd_path), new=True)
    htpasswd.set_password(username, password)
    htpasswd.save()
    port = free_port()
    log = directory / "pypiserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1",
             "--port", str(port), "--passwords", str(htpasswd_path),
             "--authenticate", "download,list,update", str(served)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/simple/"
    try:

        def asks_for_credentials() -> bool:
            try:
                urllib.request.urlopen(url, timeout=1).close()
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for credentials
                    return True
                raise ServerUnavailable(f"pypiserver on {url} answered {exc.code}") from None
            raise ServerUnavailable(f"pypiserver on {url} answered without credentials")

        wait_until_answers(asks_for_credentials, process, f"pypiserver on {url}", log, timeout)
        yield url
    finally:
        stop(process)
