"""The one place of configuration: registry, repository, version -> image tags.

Values come from `runtime-environments/images.env`; the environment (and so the make command
line) overrides any of them. Pure logic: no Docker, no network.

The driver works on the platform's source tree: `source_tree()` finds it from this package's
file (adp run from the repository), else from the current folder's ancestors (adp installed from
a wheel, run inside a clone), and raises ConfigError saying so when there is none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adp import facts

RUNTIME_FOLDER = "runtime-environments"
CONFIG_NAME = "images.env"
KEYS = ("RUNTIME_REGISTRY", "RUNTIME_REPO", "RUNTIME_VERSION", "IMAGE_PYTHON", "UV_DEFAULT_INDEX")

# Docker reference grammar, simplified to what we accept.
_REGISTRY_RE = re.compile(
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
_REPO_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TYPE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_TAG_LENGTH = 128


class ConfigError(ValueError):
    """A configuration value is wrong; the message names it and says what to do."""


@dataclass(frozen=True)
class SourceTree:
    """The platform's repository the driver works on, and its pinned facts."""

    root: Path
    facts: facts.Facts

    @property
    def runtime_root(self) -> Path:
        """`runtime-environments/`: one sub-folder per runtime type."""
        return self.root / RUNTIME_FOLDER

    @property
    def config_file(self) -> Path:
        return self.runtime_root / CONFIG_NAME

    @property
    def dockerfile(self) -> Path:
        """The one Dockerfile every type builds from."""
        return self.runtime_root / "Dockerfile"

    @property
    def scripts(self) -> Path:
        return self.root / "scripts"


def source_tree(here: Path | None = None, cwd: Path | None = None) -> SourceTree:
    """The platform's source tree above `here` (default: this package), else above `cwd`
    (default: the current folder); ConfigError when neither is inside one."""
    root = facts.repo_root(here) or facts.repo_root(cwd or Path.cwd())
    if root is None or not (root / RUNTIME_FOLDER).is_dir():
        where = here or Path(__file__)
        raise ConfigError(
            f"not inside the platform's source tree: neither adp ({where.resolve()}) nor the "
            f"current folder ({(cwd or Path.cwd()).resolve()}) is in a clone of the platform "
            f"repository (a folder holding facts.env, copier.yml and {RUNTIME_FOLDER}/); cd "
            "into your clone and run adp images there"
        )
    if root == facts.repo_root():
        platform_facts = facts.load()
    else:
        path = root / facts.FILE_NAME
        try:
            platform_facts = facts.parse(path.read_text(), source=str(path))
        except facts.FactsError as exc:
            raise ConfigError(str(exc)) from None
    return SourceTree(root=root, facts=platform_facts)


@dataclass(frozen=True)
class ImageConfig:
    registry: str
    repo: str
    version: str
    image_python: str
    uv_default_index: str = ""

    def image_name(self) -> str:
        """`<registry>/<repo>`, or just `<repo>` when no registry is configured."""
        return f"{self.registry}/{self.repo}" if self.registry else self.repo

    def tag_for(self, runtime_type: str) -> str:
        """The full reference of one runtime type's image: `<registry>/<repo>:<type>-<version>`."""
        if not TYPE_NAME_RE.match(runtime_type):
            raise ConfigError(
                f"runtime type {runtime_type!r}: use lowercase letters, digits and single "
                "hyphens, starting with a letter (e.g. dbt-runner)"
            )
        tag = f"{runtime_type}-{self.version}"
        if len(tag) > MAX_TAG_LENGTH:
            raise ConfigError(
                f"image tag {tag!r} is {len(tag)} characters; Docker allows {MAX_TAG_LENGTH}: "
                "shorten the type name or RUNTIME_VERSION"
            )
        return f"{self.image_name()}:{tag}"


def parse_env_file(text: str, source: str = "images.env") -> dict[str, str]:
    """Parse `KEY=value` lines; `#` starts a comment line. No shell expansion."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            raise ConfigError(f"{source}:{number}: expected KEY=value, got {raw!r}")
        if key not in KEYS:
            raise ConfigError(
                f"{source}:{number}: unknown key {key}; known keys: {', '.join(KEYS)}"
            )
        values[key] = value.strip().strip("'\"")
    return values


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> ImageConfig:
    """Read `path` (default: the source tree's images.env), let `environ` (default:
    os.environ) override each key, and validate."""
    environ = os.environ if environ is None else environ
    path = source_tree().config_file if path is None else path
    try:
        values = parse_env_file(path.read_text(), source=str(path))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: missing; it holds RUNTIME_REGISTRY, RUNTIME_REPO, RUNTIME_VERSION "
            "(restore it from git)"
        ) from None
    for key in KEYS:
        if key in environ:
            values[key] = environ[key].strip()
    return validate(values, source=f"{path} or the environment")


def validate(values: Mapping[str, str], source: str = "images.env") -> ImageConfig:
    registry = values.get("RUNTIME_REGISTRY", "")
    repo = values.get("RUNTIME_REPO", "")
    version = values.get("RUNTIME_VERSION", "")
    image_python = values.get("IMAGE_PYTHON", "")
    if "://" in registry:
        raise ConfigError(
            f"RUNTIME_REGISTRY={registry!r} ({source}): give the host and optional path "
            "without a scheme, e.g. registry.example.com/data-platform"
        )
    if registry and not _REGISTRY_RE.match(registry):
        raise ConfigError(
            f"RUNTIME_REGISTRY={registry!r} ({source}): not a registry reference; use "
            "lowercase host[:port][/path] with no trailing slash"
        )
    if not repo or not _REPO_RE.match(repo):
        raise ConfigError(
            f"RUNTIME_REPO={repo!r} ({source}): use lowercase letters, digits and . _ - / "
            "separators, e.g. adp-runtime"
        )
    if not version or not _VERSION_RE.match(version):
        raise ConfigError(
            f"RUNTIME_VERSION={version!r} ({source}): use letters, digits, '.', '_' and '-', "
            "not starting with '.' or '-', e.g. 0.1.0"
        )
    if not image_python:
        raise ConfigError(
            f"IMAGE_PYTHON is empty ({source}): set it to the Debian/Python base image, "
            "e.g. adp-debian-python:bookworm"
        )
    index = values.get("UV_DEFAULT_INDEX", "")
    if index and not re.match(r"^https?://[^\s@/]+(/\S*)?$", index):
        raise ConfigError(
            f"UV_DEFAULT_INDEX ({source}): expected http(s)://host/path with no credentials in "
            "it (build arguments are visible in `docker history`); put index credentials in a "
            "netrc file and set RUNTIME_NETRC=/path/to/netrc"
        )
    return ImageConfig(
        registry=registry,
        repo=repo,
        version=version,
        image_python=image_python,
        uv_default_index=index,
    )
