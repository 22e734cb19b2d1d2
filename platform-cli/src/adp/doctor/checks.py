"""The checks of `adp doctor`, each a function of a `Context` returning one `Check`."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors

from adp import __version__, envfile
from adp.dev.errors import DevError
from adp.dev.ports import port_is_free
from adp.dev.project import find_datakit
from adp.dev.settings import env_name, load_settings
from adp.docker_cli import NoBuildKitClient, buildkit_client
from adp.kerberos.export import TicketError, read_cache
from adp.validation.import_isolation import IsolationError, choose

Status = Literal["ok", "fail", "warn", "skip"]
LAYER1_VERSION_LABEL = "io.adp.platform.version"
SHARER_SERVICE = "kerberos-ticket-sharer"
KERBEROS_VOLUME = "platform_kerberos_cache"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What the checks look at. Defaults come from the environment and the current folder."""

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    layer1_image: str | None = None
    require_kerberos: bool | None = None
    require_astro: bool = False
    _docker: docker.DockerClient | None = None
    _docker_error: str | None = None

    def docker(self) -> docker.DockerClient | None:
        """A Docker SDK client that answered a ping, or None (reason in docker_error)."""
        if self._docker is None and self._docker_error is None:
            try:
                host = self.env.get("DOCKER_HOST")
                client = docker.DockerClient(base_url=host) if host else docker.from_env()
                client.ping()
                self._docker = client
            except (docker.errors.DockerException, OSError) as exc:
                self._docker_error = str(exc)
        return self._docker

    @property
    def docker_error(self) -> str:
        return self._docker_error or ""

    def repo(self) -> Path | None:
        """The platform repository (the fork) holding the current folder, if any."""
        for folder in (self.cwd, *self.cwd.parents):
            if (folder / "layer1-base-image").is_dir() and (folder / "copier.yml").is_file():
                return folder
        return None

    def datakit_dockerfile(self) -> Path | None:
        """The Dockerfile of the datakit holding cwd (as `adp dev` finds it), if any."""
        try:
            return find_datakit(self.cwd).root / "Dockerfile"
        except DevError:
            return None

    def layer1_env(self) -> dict[str, str]:
        """Settings of layer1-base-image/.env in the fork, under the process environment."""
        values: dict[str, str] = {}
        repo = self.repo()
        env_file = repo / "layer1-base-image" / ".env" if repo else None
        if env_file and env_file.is_file():
            values = envfile.values(env_file.read_text(), str(env_file), skip_bad=True)
        return {**values, **self.env}

    def kerberos_required(self) -> bool:
        if self.require_kerberos is not None:
            return self.require_kerberos
        dockerfile = self.datakit_dockerfile()
        override = dockerfile.parent / "docker-compose.override.yml" if dockerfile else None
        return bool(override and override.is_file() and KERBEROS_VOLUME in override.read_text())


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


# -- the checks -------------------------------------------------------------------------
def check_docker_engine(ctx: Context) -> Check:
    client = ctx.docker()
    if client is None:
        return Check(
            "docker engine",
            "fail",
            f"no Docker engine answers ({ctx.docker_error})",
            "start it: sudo scripts/ensure-docker in the platform repository (on Debian it "
            "installs docker.io and starts dockerd), or sudo systemctl start docker",
        )
    version = client.version().get("Version", "?")
    return Check("docker engine", "ok", f"Docker Engine {version} answers")


def check_buildkit_client(ctx: Context) -> Check:
    try:
        client = buildkit_client()
    except NoBuildKitClient as exc:
        return Check(
            "buildkit client",
            "fail",
            str(exc),
            "install Debian's docker.io (its 20.10 client has BuildKit) or the buildx plugin; "
            "or point DOCKER at such a client",
        )
    return Check("buildkit client", "ok", f"{client} builds with BuildKit")


def _layer1_reference(ctx: Context) -> str:
    if ctx.layer1_image:
        return ctx.layer1_image
    dockerfile = ctx.datakit_dockerfile()
    if dockerfile:
        for line in dockerfile.read_text().splitlines():
            match = re.match(r"^\s*FROM\s+(\S+)", line, re.IGNORECASE)
            if match:
                return match.group(1)
    name = ctx.layer1_env().get("LAYER1_IMAGE") or "layer1-airflow"
    return f"{name}:latest"


def check_layer1_image(ctx: Context) -> Check:
    reference = _layer1_reference(ctx)
    client = ctx.docker()
    if client is None:
        return Check("layer-1 image", "skip", f"{reference}: no Docker engine to ask", "")
    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        return Check(
            "layer-1 image",
            "fail",
            f"{reference} is not in the local Docker cache",
            "build it in the platform repository: make build (FLAVOR=oss without "
            "Astronomer's registry), or docker pull it from your registry",
        )
    built = (image.labels or {}).get(LAYER1_VERSION_LABEL)
    if built is None:
        return Check(
            "layer-1 image",
            "fail",
            f"{reference} has no {LAYER1_VERSION_LABEL} label: not built by this platform",
            "point the datakit's Dockerfile FROM at the platform's layer1-airflow image",
        )
    if built != __version__:
        return Check(
            "layer-1 image",
            "fail",
            f"{reference} was built by platform {built}; this fork is {__version__}",
            "rebuild it in the platform repository: make build",
        )
    return Check("layer-1 image", "ok", f"{reference}, platform {built}")


def _certificates(path: Path) -> int:
    """How many certificates a PEM file holds; raises ValueError when it is not usable."""
    text = path.read_text(errors="replace")
    count = text.count("-----BEGIN CERTIFICATE-----")
    if count == 0:
        raise ValueError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise ValueError(f"does not parse as PEM certificates ({exc.reason or exc})") from None
    return count


def check_corporate_ca(ctx: Context) -> Check:
    sources: list[Path] = []
    bundle = ctx.layer1_env().get("CA_BUNDLE")
    if bundle:
        sources.append(Path(bundle).expanduser())
    repo = ctx.repo()
    if repo:
        sources += sorted((repo / "layer1-base-image/config/ca-certificates").glob("*.crt"))
    if not sources:
        return Check(
            "corporate CA",
            "warn",
            "none configured (fine on a network that does not intercept TLS)",
            "behind a TLS-intercepting proxy: copy the CA into "
            "layer1-base-image/config/ca-certificates/ or set CA_BUNDLE",
            required=False,
        )
    total = 0
    for source in sources:
        try:
            total += _certificates(source)
        except (OSError, ValueError) as exc:
            return Check(
                "corporate CA",
                "fail",
                f"{source}: {exc}",
                "replace it with the PEM file of your company's root CA, or unset CA_BUNDLE",
            )
    return Check("corporate CA", "ok", f"{total} certificate(s) in {len(sources)} file(s)")


def check_credential_files(ctx: Context) -> Check:
    settings = ctx.layer1_env()
    configured = {
        name: Path(settings[name]).expanduser()
        for name in ("NETRC_FILE", "INDEX_PASSWORD_FILE")
        if settings.get(name)
    }
    if not configured:
        return Check(
            "credential files",
            "skip",
            "none configured (NETRC_FILE, INDEX_PASSWORD_FILE)",
            required=False,
        )
    for name, path in configured.items():
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            return Check(
                "credential files",
                "fail",
                f"{name}={path} does not exist",
                f"create it (chmod 600), or fix or unset {name}",
            )
        if not os.access(path, os.R_OK):
            return Check(
                "credential files", "fail", f"{name}={path} is not readable", f"chmod 600 {path}"
            )
        if mode & 0o077:
            return Check(
                "credential files",
                "fail",
                f"{name}={path} has mode {mode:04o}: others can read your credentials",
                f"chmod 600 {path}",
            )
    names = ", ".join(f"{n}={p}" for n, p in configured.items())
    return Check("credential files", "ok", f"{names}: present, mode 0600")


def _host_ticket(env: dict[str, str]) -> tuple[bool, str]:
    """(valid TGT?, description) for the host's default cache."""
    try:
        *_, summary = read_cache(env.get("KRB5CCNAME"))
    except TicketError as exc:
        if "`krb5` Python package is missing" not in str(exc):
            return False, str(exc)
    else:
        left = summary.tgt_expires - time.time()
        return (
            True,
            f"{summary.principal}, TGT valid {_duration(left)} more",
        )
    # Without the krb5 package: MIT klist.
    klist = shutil.which("klist")
    if klist is None:
        return False, "no Kerberos client (klist) installed"
    valid = subprocess.run([klist, "-s"], env=env, check=False).returncode == 0
    listing = subprocess.run([klist], env=env, capture_output=True, text=True, check=False)
    match = re.search(r"Default principal:\s*(\S+)", listing.stdout)
    who = match.group(1) if match else "no principal"
    return valid, f"{who}, TGT {'valid' if valid else 'expired or missing'}"


def check_host_ticket(ctx: Context) -> Check:
    required = ctx.kerberos_required()
    valid, detail = _host_ticket(ctx.env)
    if valid:
        return Check("kerberos ticket", "ok", detail, required=required)
    return Check(
        "kerberos ticket",
        "fail" if required else "warn",
        detail,
        "run on the host: kinit <you>@<REALM> (KCM:/KEYRING: caches: then adp kerberos export)",
        required=required,
    )


def check_shared_ticket(ctx: Context) -> Check:
    """The sharer writing into the volume datakits mount (KERBEROS_CACHE_VOLUME, as in
    platform-bootstrap), judged by the sharer's own status of the shared copy."""
    required = ctx.kerberos_required()
    client = ctx.docker()
    if client is None:
        return Check("shared ticket", "skip", "no Docker engine to ask", required=False)
    volume = ctx.env.get("KERBEROS_CACHE_VOLUME") or KERBEROS_VOLUME
    fix = "start the sharer in the platform repository: make platform-start"
    bad: Status = "fail" if required else "warn"
    sharers = client.containers.list(filters={"volume": volume})
    sharers = [c for c in sharers if c.labels.get("com.docker.compose.service") == SHARER_SERVICE]
    if not sharers:
        detail = f"no ticket sharer writes into the volume {volume}"
        return Check("shared ticket", bad, detail, fix, required)
    code, output = sharers[0].exec_run([SHARER_SERVICE, "status", "--json"])
    assert isinstance(output, bytes)  # not streamed: the whole output at once
    try:
        data = json.loads(output.decode())
    except ValueError:
        return Check("shared ticket", bad, f"the sharer's status failed ({code})", fix, required)
    if not data.get("healthy"):
        return Check(
            "shared ticket",
            bad,
            f"volume {volume}: {data.get('summary')}",
            str(data.get("hint") or "run on the host: kinit <you>@<REALM>"),
            required,
        )
    left = float(data.get("expires") or 0) - time.time()
    return Check(
        "shared ticket",
        "ok",
        f"volume {volume}: {data.get('principal')}, expires in {_duration(left)}",
        required=required,
    )


def check_astro_cli(ctx: Context) -> Check:
    astro = shutil.which("astro", path=ctx.env.get("PATH"))
    if astro is None:
        return Check(
            "astro cli",
            "fail" if ctx.require_astro else "warn",
            "not installed (optional: `adp dev start` runs datakits without it)",
            "install it from your company's software catalogue, or use adp dev start",
            required=ctx.require_astro,
        )
    version = subprocess.run(
        [astro, "version"], capture_output=True, text=True, check=False, timeout=20
    ).stdout.strip()
    return Check("astro cli", "ok", f"{astro}: {version or 'version unknown'}", required=False)


def _port_owner(ctx: Context, port: int) -> str | None:
    """The datakit whose adp dev stack publishes `port`, if one does."""
    client = ctx.docker()
    if client is None:
        return None
    for container in client.containers.list(filters={"label": "io.adp.dev.datakit"}):
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            if any(str(b.get("HostPort")) == str(port) for b in bindings or []):
                return container.labels["io.adp.dev.datakit"]
    return None


def check_ports(ctx: Context) -> Check:
    try:
        settings = load_settings(ctx.env)
    except DevError as exc:
        return Check("ports", "fail", str(exc), "fix or unset the variable")
    wanted = {
        env_name("api_port"): settings.api_port,
        env_name("postgres_port"): settings.postgres_port,
    }
    notes = []
    for setting, port in wanted.items():
        if port_is_free(port):
            notes.append(f"{port} free")
            continue
        owner = _port_owner(ctx, port)
        if owner:
            notes.append(f"{port} used by the running stack of datakit {owner}")
            continue
        return Check(
            "ports",
            "fail",
            f"port {port} on 127.0.0.1 is taken by another program",
            f"stop that program, or choose another port: {setting}=<port>",
        )
    return Check("ports", "ok", ", ".join(notes))


def check_import_isolation(ctx: Context) -> Check:
    """Which isolation the DAG import check gets here (``adp dags validate``, the promoter,
    ``validate_dag_file``): namespaces of its own, or in-process only and why."""
    name = "import isolation"
    try:
        isolation = choose(environ=ctx.env)
    except IsolationError as error:
        fix = "allow user namespaces (or run as root), or unset ADP_IMPORT_ISOLATION"
        return Check(name, "fail", str(error), fix)  # asked for and missing: a failure
    if not isolation.weaker:
        return Check(
            name,
            "ok",
            f"{isolation.describe()}: the code a DAG import runs has no network, no other "
            "process in view and no capability",
            required=False,
        )
    return Check(
        name,
        "warn",
        f"{isolation.describe()}: a DAG file's code is kept from the network, other processes "
        "and this machine's files by a guard it can get round",
        "allow user namespaces (sysctl user.max_user_namespaces > 0; on Ubuntu "
        "kernel.apparmor_restrict_unprivileged_userns=0) or run as root, with util-linux's "
        "unshare and setpriv on PATH; in a container, allow unshare (a seccomp profile that "
        "permits it); or validate with --image",
        required=False,
    )


CHECKS: tuple[Callable[[Context], Check], ...] = (
    check_docker_engine,
    check_buildkit_client,
    check_layer1_image,
    check_corporate_ca,
    check_credential_files,
    check_host_ticket,
    check_shared_ticket,
    check_astro_cli,
    check_ports,
    check_import_isolation,
)


def run_checks(ctx: Context | None = None) -> list[Check]:
    ctx = ctx or Context()
    return [check(ctx) for check in CHECKS]


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" and c.required for c in checks)
