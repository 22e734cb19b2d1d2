"""Throw-away git servers on loopback, serving the bare repositories under a folder: smart
HTTP behind a token (`git http-backend`) and SSH restricted to git-shell (Debian's sshd).

    with running_git_http(root, token) as http:       # root/team.git, a bare repository
        http.url("team")                               # http://127.0.0.1:<port>/team.git
        # every request (clone, fetch, push) without Basic x-access-token:<token> is refused:
        # 401 with WWW-Authenticate when it has none, 403 when it is wrong
        [r for r in http.requests if r.auth != "ok"]   # what was refused, and how

    key, public = make_client_key(tmp_path)
    with running_git_ssh(root, public) as ssh:
        ssh.url("team")                    # ssh://<user>@127.0.0.1:<port>/<root>/team.git
        known_hosts.write_text(ssh.known_hosts_line + "\\n")
        env = {"GIT_SSH_COMMAND": git_ssh_command(key, known_hosts)}

HTTP: a standard-library server in a thread of the caller's process runs `git http-backend`
(CGI) once per authorized request, with `http.receivepack` on so pushes work. Request bodies
sent with `Transfer-Encoding: chunked` (git does for a push larger than `http.postBuffer`)
are de-chunked by the server, so pushes of any size work. The token never reaches the
backend's environment.

SSH: `sshd -D -e -f <own sshd_config>` on 127.0.0.1:<free port>, a host key made for it,
public-key login only, for the current user (root too: CI runs as root), the one key
allowed only `git-shell -c "$SSH_ORIGINAL_COMMAND"` with `restrict` (no pty, no
forwarding). Its files are in a temp dir removed on exit.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import unquote

from adp_test_servers import ServerUnavailable
from adp_test_servers.ports import free_port
from adp_test_servers.system import stop, wait_until_answers

Auth = Literal["ok", "missing", "wrong"]
REALM = "adp-test-git"
_SSH_INSTALL = (
    "install Debian's 'openssh-server openssh-client' packages "
    "(apt-get install openssh-server openssh-client; scripts/install-system-deps test)"
)
# Request headers not passed to the backend as HTTP_*: the credentials, and what the server
# itself has already dealt with (the body's framing).
_NOT_FORWARDED = {"authorization", "content-type", "content-length", "transfer-encoding"}


@dataclass(frozen=True)
class GitRequest:
    """One request the HTTP server answered: how its credentials fared, and the status."""

    method: str
    path: str  # with the query string
    auth: Auth  # "ok", "missing" (answered 401), "wrong" (answered 403)
    status: int
    chunked: bool  # its body came with Transfer-Encoding: chunked


@dataclass
class GitHttpServer:
    root: Path
    port: int
    username: str
    requests: list[GitRequest] = field(default_factory=list)
    backend_errors: list[str] = field(default_factory=list)  # git http-backend's stderr

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, repo: str) -> str:
        """The clone URL of `root`/`repo`.git (no credentials in it)."""
        return f"{self.endpoint}/{repo}.git"

    @property
    def refused(self) -> list[GitRequest]:
        return [r for r in self.requests if r.auth != "ok"]


def _http_backend() -> str:
    git = shutil.which("git")
    if git is None:
        raise ServerUnavailable("git is not on PATH: install Debian's 'git' package")
    exec_path = subprocess.run(
        [git, "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    backend = Path(exec_path) / "git-http-backend"
    if not backend.is_file():
        raise ServerUnavailable(f"{backend} is missing: install Debian's 'git' package")
    return str(backend)


def _read_chunked(stream: BinaryIO) -> bytes:
    """The body of a `Transfer-Encoding: chunked` request (RFC 9112 7.1), trailers dropped."""
    parts = []
    while True:
        size_line = stream.readline(1024)
        if not size_line:
            raise ValueError("connection closed inside a chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        parts.append(stream.read(size))
        stream.readline(8)  # the CRLF after the chunk's data
    while stream.readline(8192) not in (b"\r\n", b"\n", b""):  # trailers, then an empty line
        pass
    return b"".join(parts)


def _parse_cgi(output: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """(status, reason, headers, body) of a CGI program's output."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(separator)
        if found:
            break
    else:
        return 502, "Bad Gateway", [], b"git http-backend wrote no headers\n"
    status, reason, headers = 200, "OK", []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            code, _, reason = value.strip().partition(" ")
            status = int(code)
        elif name.strip():
            headers.append((name.strip(), value.strip()))
    return status, reason, headers, body


@contextmanager
def running_git_http(
    root: Path, token: str, username: str = "x-access-token"
) -> Iterator[GitHttpServer]:
    """Serve the bare repositories under `root` (`<name>.git`) over smart HTTP on
    127.0.0.1:<free port> to Basic `username`:`token` only; stop on exit."""
    backend = _http_backend()
    root = root.resolve()
    expected = (username.encode(), token.encode())
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` answered

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> tuple[bytes, bool]:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return _read_chunked(self.rfile), True
            length = int(self.headers.get("Content-Length") or 0)
            return (self.rfile.read(length) if length else b""), False

        def _auth(self) -> Auth:
            scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "basic":
                return "missing"
            try:
                user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return "wrong"
            same_user = hmac.compare_digest(user, expected[0])
            same_token = hmac.compare_digest(password, expected[1])
            return "ok" if same_user and same_token else "wrong"

        def _answer(
            self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
        ) -> None:
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _record(self, auth: Auth, status: int, chunked: bool) -> None:
            with lock:
                server.requests.append(GitRequest(self.command, self.path, auth, status, chunked))

        def _serve(self) -> None:
            # The whole body is read first, also for a refused request: closing on unread
            # data would reset the connection before the client reads the refusal.
            body, chunked = self._body()
            auth = self._auth()
            if auth == "missing":
                self._record(auth, 401, chunked)
                challenge = ("WWW-Authenticate", f'Basic realm="{REALM}"')
                return self._answer(401, "Unauthorized", [challenge], b"credentials needed\n")
            if auth == "wrong":
                self._record(auth, 403, chunked)
                return self._answer(403, "Forbidden", [], b"wrong credentials\n")
            path, _, query = self.path.partition("?")
            env = {
                **base_env,
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.receivepack",
                "GIT_CONFIG_VALUE_0": "true",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": self.request_version,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": unquote(path),
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": username,
                "AUTH_TYPE": "Basic",
            }
            for name, value in self.headers.items():
                if name.lower() not in _NOT_FORWARDED:
                    env["HTTP_" + name.upper().replace("-", "_")] = value
            done = subprocess.run([backend], input=body, capture_output=True, env=env)
            if done.stderr:
                with lock:
                    server.backend_errors.append(done.stderr.decode(errors="replace"))
            status, reason, headers, answer = _parse_cgi(done.stdout)
            self._record(auth, status, chunked)
            return self._answer(status, reason, headers, answer)

        do_GET = do_POST = do_HEAD = _serve

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound before the thread runs
    server = GitHttpServer(root, int(http.server_address[1]), username)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)


@dataclass
class GitSshServer:
    root: Path
    port: int
    user: str
    host_public_key: str  # "ssh-ed25519 AAAA..." (no comment)
    directory: Path  # sshd_config, host key, authorized_keys, sshd.log
    log: Path

    @property
    def known_hosts_line(self) -> str:
        """The line of a known_hosts file that pins this server's host key."""
        return f"[127.0.0.1]:{self.port} {self.host_public_key}"

    def url(self, repo: str) -> str:
        """The clone URL of `root`/`repo`.git (an absolute path on the server)."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.root}/{repo}.git"


def _ssh_program(name: str) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])
    found = shutil.which(name, path=path)
    if found is None:
        raise ServerUnavailable(f"{name} is not on PATH: {_SSH_INSTALL}")
    return found


def make_client_key(directory: Path, name: str = "id_ed25519") -> tuple[Path, str]:
    """A new ed25519 key pair without a passphrase in `directory`: (private key path, public
    key line)."""
    keygen = _ssh_program("ssh-keygen")
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / name
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "adp-test-client", "-f", str(private)],
        check=True,
        capture_output=True,
    )
    return private, private.with_name(f"{name}.pub").read_text().strip()


def git_ssh_command(private_key: Path, known_hosts: Path) -> str:
    """A GIT_SSH_COMMAND that logs in with `private_key` only and trusts only the host keys in
    `known_hosts` (no user or system ssh config, no prompts)."""
    return shlex.join(
        ["ssh", "-F", "/dev/null", "-i", str(private_key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
    )  # fmt: skip


@contextmanager
def running_git_ssh(
    root: Path, authorized_public_key: str, timeout: float = 15
) -> Iterator[GitSshServer]:
    """Serve the bare repositories under `root` over SSH on 127.0.0.1:<free port> to
    `authorized_public_key` (a public key line) only, as the current user, restricted to
    git-shell; yield once sshd sends its banner; stop it and remove its files on exit."""
    sshd = _ssh_program("sshd")
    keygen = _ssh_program("ssh-keygen")
    git_shell = _ssh_program("git-shell")
    user = pwd.getpwuid(os.getuid()).pw_name
    root = root.resolve()
    directory = Path(tempfile.mkdtemp(prefix="adp-git-sshd-"))  # 0700
    try:
        host_key = directory / "ssh_host_ed25519_key"
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(host_key)],
            check=True,
            capture_output=True,
        )
        host_pub = host_key.with_name(host_key.name + ".pub")
        host_public_key = " ".join(host_pub.read_text().split()[:2])  # without the comment
        authorized = directory / "authorized_keys"
        command = f'{git_shell} -c \\"$SSH_ORIGINAL_COMMAND\\"'
        authorized.write_text(f'restrict,command="{command}" {authorized_public_key.strip()}\n')
        authorized.chmod(0o600)
        port = free_port()
        config = directory / "sshd_config"
        # StrictModes no: the temp dir's parents (/tmp is 1777) fail sshd's ownership walk;
        # the files themselves are the caller's, 0600 in a 0700 dir.
        config.write_text(
            f"ListenAddress 127.0.0.1:{port}\n"
            f"HostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\n"
            f"AllowUsers {user}\n"
            "PidFile none\n"
            "AuthenticationMethods publickey\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "HostbasedAuthentication no\n"
            "GSSAPIAuthentication no\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "StrictModes no\n"
            "PermitTTY no\n"
            "AllowTcpForwarding no\n"
            "AllowAgentForwarding no\n"
            "AllowStreamLocalForwarding no\n"
            "X11Forwarding no\n"
            "PermitTunnel no\n"
            "PermitUserEnvironment no\n"
            "PrintMotd no\n"
            "UseDNS no\n"
            "LogLevel VERBOSE\n"
        )
        if os.getuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privsep chroot
        log = directory / "sshd.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
            )
        try:

            def banner() -> bool:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    return probe.recv(64).startswith(b"SSH-")

            wait_until_answers(banner, process, f"sshd on 127.0.0.1:{port}", log, timeout)
            yield GitSshServer(root, port, user, host_public_key, directory, log)
        finally:
            stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
