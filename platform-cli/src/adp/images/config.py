"""The runtime images' settings -> image tags, build arguments and build secrets.

Values come from `runtime-environments/images.env` (what a fork commits: registry, repository,
package index), over the defaults of the repository's facts.env (PLATFORM_VERSION, the tag's
version; IMAGE_PYTHON, the base image); the environment (and so the make command line)
overrides any of them, and alone names files of this machine (NETRC_FILE, INDEX_PASSWORD_FILE).
The names are Layer 1's (layer1-base-image/.env.example); the old names are refused with the
new one named. Pure logic: no Docker, no network.

The driver works on the platform's source tree: `source_tree()` finds it from this package's
file (adp run from the repository), else from the current folder's ancestors (adp installed from
a wheel, run inside a clone), and raises ImagesConfigError saying so when there is none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from adp import envfile, facts, names
from adp.errors import UsageError
from adp.images.variables import FILE_KEYS, ImageVariables

RUNTIME_FOLDER = "runtime-environments"
CONFIG_NAME = "images.env"
# What images.env may set (FILE_KEYS) and the environment overrides (ENV_KEYS): the variables
# of adp.images.variables, declared there once.
# Old name -> (new name, what it holds). Refused wherever they appear, naming the new one.
RENAMED = {
    "RUNTIME_REGISTRY": ("IMAGE_REGISTRY", "the registry host and optional path"),
    "RUNTIME_VERSION": (
        "PLATFORM_VERSION",
        "runtime images are tagged <type>-<PLATFORM_VERSION>, facts.env's unless overridden",
    ),
    "UV_DEFAULT_INDEX": ("PACKAGE_INDEX_URL", "the package index URL, without credentials"),
    "RUNTIME_NETRC": ("NETRC_FILE", "a netrc file, passed to builds as the secret id=netrc"),
}

# Docker reference grammar, simplified to what we accept.
_REGISTRY_RE = re.compile(
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
_REPO_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TYPE_NAME_RE = names.TYPE_NAME_RE  # adp.names: also copier.yml's datakit_name
MAX_TAG_LENGTH = 128


class ImagesConfigError(UsageError, ValueError):
    """A configuration value is wrong; the message names it and says what to do."""


# Its name before issue 27 (validation.options has a ConfigError too); the tests import it.
ConfigError = ImagesConfigError


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

    @property
    def index_env_script(self) -> Path:
        """The one implementation of "index credentials into the URL of one RUN step"
        (scripts/adp-index-env), staged into Layer 1's and every runtime build context."""
        return self.root / "scripts" / "adp-index-env"

    def airflow_constraints(self, environ: Mapping[str, str] | None = None) -> Path:
        """The constraints every image installs Airflow under: AIRFLOW_CONSTRAINTS of the
        environment, else facts.env's, relative to the repository root (as Layer 1 reads it)."""
        given = ImageVariables.load(environ=environ).airflow_constraints
        return self.root / (given or self.facts.AIRFLOW_CONSTRAINTS)


def source_tree(here: Path | None = None, cwd: Path | None = None) -> SourceTree:
    """The platform's source tree above `here` (default: this package), else above `cwd`
    (default: the current folder); ImagesConfigError when neither is inside one."""
    root = facts.repo_root(here) or facts.repo_root(cwd or Path.cwd())
    if root is None or not (root / RUNTIME_FOLDER).is_dir():
        where = here or Path(__file__)
        raise ImagesConfigError(
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
            raise ImagesConfigError(str(exc)) from None
    return SourceTree(root=root, facts=platform_facts)


@dataclass(frozen=True)
class ImageConfig:
    """What every build of the runtime images needs to know (load_config makes it)."""

    registry: str
    repo: str
    version: str
    image_python: str
    package_index_url: str = ""
    package_index_username: str = ""
    # Files on this machine, handed to builds as BuildKit secrets (id=netrc, id=index_password).
    netrc_file: str = ""
    index_password_file: str = ""
    # facts.env's UV_VERSION: the uv every build installs (a build argument).
    uv_version: str = ""

    def image_name(self) -> str:
        """`<registry>/<repo>`, or just `<repo>` when no registry is configured."""
        return f"{self.registry}/{self.repo}" if self.registry else self.repo

    def tag_for(self, runtime_type: str) -> str:
        """The full reference of one runtime type's image: `<registry>/<repo>:<type>-<version>`."""
        if not TYPE_NAME_RE.fullmatch(runtime_type):
            raise ImagesConfigError(
                f"runtime type {runtime_type!r}: use lowercase letters, digits and single "
                "hyphens, starting with a letter (e.g. dbt-runner)"
            )
        tag = f"{runtime_type}-{self.version}"
        if len(tag) > MAX_TAG_LENGTH:
            raise ImagesConfigError(
                f"image tag {tag!r} is {len(tag)} characters; Docker allows {MAX_TAG_LENGTH}: "
                "shorten the type name or PLATFORM_VERSION"
            )
        return f"{self.image_name()}:{tag}"

    def secrets(self) -> list[str]:
        """`docker build --secret` specs: NETRC_FILE as id=netrc, INDEX_PASSWORD_FILE as
        id=index_password (the ids Layer 1's build uses)."""
        specs = []
        if self.netrc_file:
            specs.append(f"id=netrc,src={self.netrc_file}")
        if self.index_password_file:
            specs.append(f"id=index_password,src={self.index_password_file}")
        return specs

    def settings(self) -> dict[str, str]:
        """Each setting by its name, as `adp images config` prints them."""
        return {
            "IMAGE_REGISTRY": self.registry,
            "RUNTIME_REPO": self.repo,
            "PLATFORM_VERSION": self.version,
            "IMAGE_PYTHON": self.image_python,
            "PACKAGE_INDEX_URL": self.package_index_url,
            "PACKAGE_INDEX_USERNAME": self.package_index_username,
            "NETRC_FILE": self.netrc_file,
            "INDEX_PASSWORD_FILE": self.index_password_file,
        }


def _renamed(old: str, where: str) -> ImagesConfigError:
    new, meaning = RENAMED[old]
    return ImagesConfigError(f"{old} was renamed {new} ({where}): set {new} instead ({meaning})")


def _redact(url: str) -> str:
    """A URL without the credentials it may carry, for messages."""
    return re.sub(r"://[^/@\s]*@", "://***@", url)


def parse_env_file(text: str, source: str = "images.env") -> dict[str, str]:
    """Parse `KEY=value` lines; `#` starts a comment line. No shell expansion."""
    values: dict[str, str] = {}
    try:
        found = envfile.assignments(text, source)
    except envfile.EnvFileError as error:
        raise ImagesConfigError(problems=error.problems) from None
    for number, key, value in ((a.line, a.key, a.value) for a in found):
        if key in RENAMED:
            raise _renamed(key, f"{source}:{number}")
        if key not in FILE_KEYS:
            hint = {
                "PLATFORM_VERSION": "; it is facts.env's: override it from the environment "
                "(make images PLATFORM_VERSION=...)",
                "NETRC_FILE": "; it names a file of one machine: set it in the environment",
                "INDEX_PASSWORD_FILE": "; it names a file of one machine: set it in the "
                "environment",
            }.get(key, "")
            raise ImagesConfigError(
                f"{source}:{number}: unknown key {key}; known keys: {', '.join(FILE_KEYS)}{hint}"
            )
        values[key] = value
    return values


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    tree: SourceTree | None = None,
) -> ImageConfig:
    """Read `path` (default: the source tree's images.env) over facts.env's defaults, let
    `environ` (default: os.environ) override each key, and validate."""
    variables = ImageVariables.load(environ=environ)
    tree = source_tree() if tree is None else tree
    path = tree.config_file if path is None else path
    values = {
        "PLATFORM_VERSION": tree.facts.PLATFORM_VERSION,
        "IMAGE_PYTHON": tree.facts.IMAGE_PYTHON,
    }
    try:
        in_file = parse_env_file(path.read_text(), source=str(path))
    except FileNotFoundError:
        raise ImagesConfigError(
            f"{path}: missing; it holds IMAGE_REGISTRY, RUNTIME_REPO and the package index "
            "settings (restore it from git)"
        ) from None
    if not in_file.get("IMAGE_PYTHON"):  # empty in the file: facts.env's default
        in_file.pop("IMAGE_PYTHON", None)
    values.update(in_file)
    if retired := variables.retired():
        raise _renamed(retired[0], "in the environment")
    values.update(variables.overrides())
    # uv's own variable: harmless when it agrees, a second source of truth when it does not.
    uv_index = (variables.uv_default_index or "").strip()
    index = values.get("PACKAGE_INDEX_URL", "")
    if uv_index and uv_index != index:
        raise ImagesConfigError(
            f"UV_DEFAULT_INDEX={_redact(uv_index)} is set in the environment and differs from "
            f"PACKAGE_INDEX_URL={_redact(index) or '(empty: pypi.org)'}: "
            "runtime image builds take their package index from PACKAGE_INDEX_URL only; set "
            "PACKAGE_INDEX_URL to the index you mean (or unset UV_DEFAULT_INDEX)"
        )
    config = validate(values, source=f"{path}, facts.env or the environment")
    return replace(config, uv_version=tree.facts.UV_VERSION)


def _file_setting(values: Mapping[str, str], key: str) -> str:
    """A setting naming a readable file of this machine (`~` expanded), or ""."""
    value = values.get(key, "")
    if not value:
        return ""
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ImagesConfigError(
            f"{key}={value} is not a readable file; fix the path or unset {key}"
        )
    return str(path)


def validate(values: Mapping[str, str], source: str = "images.env") -> ImageConfig:
    registry = values.get("IMAGE_REGISTRY", "")
    repo = values.get("RUNTIME_REPO", "")
    version = values.get("PLATFORM_VERSION", "")
    image_python = values.get("IMAGE_PYTHON", "")
    if "://" in registry:
        raise ImagesConfigError(
            f"IMAGE_REGISTRY={registry!r} ({source}): give the host and optional path "
            "without a scheme, e.g. registry.example.com/data-platform"
        )
    if registry and not _REGISTRY_RE.fullmatch(registry):
        raise ImagesConfigError(
            f"IMAGE_REGISTRY={registry!r} ({source}): not a registry reference; use "
            "lowercase host[:port][/path] with no trailing slash"
        )
    if not repo or not _REPO_RE.fullmatch(repo):
        raise ImagesConfigError(
            f"RUNTIME_REPO={repo!r} ({source}): use lowercase letters, digits and . _ - / "
            "separators, e.g. adp-runtime"
        )
    if not version or not _VERSION_RE.fullmatch(version):
        raise ImagesConfigError(
            f"PLATFORM_VERSION={version!r} ({source}): use letters, digits, '.', '_' and '-', "
            "not starting with '.' or '-', e.g. 0.1.0"
        )
    if not image_python:
        raise ImagesConfigError(
            f"IMAGE_PYTHON is empty ({source}): set it to the Debian/Python base image, or "
            "unset it for facts.env's IMAGE_PYTHON"
        )
    index = values.get("PACKAGE_INDEX_URL", "")
    if index and not re.fullmatch(r"^https?://[^\s@/]+(/\S*)?$", index):
        raise ImagesConfigError(
            f"PACKAGE_INDEX_URL ({source}): expected http(s)://host/path with no credentials "
            "in it (build arguments are visible in `docker history`); put the password in a "
            "file named by INDEX_PASSWORD_FILE (with PACKAGE_INDEX_USERNAME), or the login in "
            "a netrc file named by NETRC_FILE"
        )
    username = values.get("PACKAGE_INDEX_USERNAME", "")
    if username and not re.fullmatch(r"[A-Za-z0-9._~%+-]+", username):
        raise ImagesConfigError(
            f"PACKAGE_INDEX_USERNAME={username!r} ({source}): it goes into the index URL; use "
            "letters, digits and . _ ~ + -, percent-encoding anything else (@ as %40)"
        )
    password_file = _file_setting(values, "INDEX_PASSWORD_FILE")
    if password_file and not (index and username):
        raise ImagesConfigError(
            "INDEX_PASSWORD_FILE is set but "
            + ("PACKAGE_INDEX_URL" if not index else "PACKAGE_INDEX_USERNAME")
            + f" is empty ({source}): the password is sent as <username>:<password> to "
            "PACKAGE_INDEX_URL; set both (any username for a token-only index)"
        )
    return ImageConfig(
        registry=registry,
        repo=repo,
        version=version,
        image_python=image_python,
        package_index_url=index,
        package_index_username=username,
        netrc_file=_file_setting(values, "NETRC_FILE"),
        index_password_file=password_file,
    )
