"""Names in the release store: environments, packages, versions and object keys.

Every key the publisher writes is built here, from names checked by strict patterns, so a
package's publication can only ever address ``<env>/<package>/``. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from adp.errors import UsageError
from adp.names import ENV_RE, ENV_RULE, PACKAGE_RE, PACKAGE_RULE  # the rules' one place

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_PATH = 512
RESERVED_PREFIX = ".adp-"  # the local store's temporary and lock files: no path segment's start
# Airflow's own rule for a DAG id (KEY_REGEX of airflow.utils.helpers), with its length limit.
DAG_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"
# Free text a writer records (who published, an image tag): one printable line, not too long.
LABEL_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
LABEL_RE = re.compile(LABEL_PATTERN)
POINTER = "current.json"
MANIFEST = "manifest.json"


class InvalidName(UsageError, ValueError):
    """A name or key is not allowed; the message names it, what is wrong and the fix."""


def check_env(env: str) -> str:
    if not ENV_RE.fullmatch(env or ""):
        raise InvalidName(f"environment {env!r}: use {ENV_RULE}")
    return env


def check_package(package: str) -> str:
    if not PACKAGE_RE.fullmatch(package or ""):
        raise InvalidName(f"package {package!r}: use {PACKAGE_RULE}")
    return package


def check_version(version: str) -> str:
    if not VERSION_RE.fullmatch(version or "") or ".." in version:
        raise InvalidName(
            f"version {version!r}: use 1-100 letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, without '..' (for example 2026.12.01-1)"
        )
    return version


def check_label(value: str, what: str) -> str:
    """A recorded label (``--publisher``, ``--image-tag``, an actor): 1-200 characters on one
    line, so that what a writer records cannot forge lines in a log or a page."""
    if not LABEL_RE.fullmatch(value or ""):
        raise InvalidName(
            f"{what} {value[:60]!r}: use 1-200 characters on one line (no control characters)"
        )
    return value


def check_path(path: str) -> str:
    """A file path inside a release: relative, '/'-separated, no '.', '..' or empty segment,
    no backslash and no control character."""
    what = f"file path {path!r} in the release"
    if not path:
        raise InvalidName(f"{what}: empty")
    if len(path) > MAX_PATH:
        raise InvalidName(f"{what}: longer than {MAX_PATH} characters; shorten it")
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        raise InvalidName(f"{what}: holds a control character; rename the file")
    if "\\" in path:
        raise InvalidName(f"{what}: holds a backslash; use '/' and rename the file")
    if path.startswith("/"):
        raise InvalidName(f"{what}: absolute; paths are relative to the DAG folder")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidName(f"{what}: '.', '..' or an empty segment would leave the release")
    if any(part.startswith(RESERVED_PREFIX) for part in path.split("/")):
        raise InvalidName(f"{what}: names starting with {RESERVED_PREFIX!r} are the store's own")
    return path


def owner(dag_id: str, packages: Iterable[str]) -> str | None:
    """The package a DAG id belongs to among ``packages``: the longest name ``P`` with
    ``dag_id`` starting with ``P_`` (``sales_eu_daily`` is ``sales_eu``'s, not ``sales``'s,
    though both names prefix it); None when no package's does. Package names may hold '_', so
    the bare prefix rule alone would let ``sales`` define ``sales_eu``'s DAGs."""
    found = [p for p in packages if dag_id.startswith(f"{p}_")]
    return max(found, key=len) if found else None


def package_prefix(env: str, package: str) -> str:
    """``<env>/<package>/``: the only place a package's publication writes."""
    return f"{check_env(env)}/{check_package(package)}/"


def release_prefix(env: str, package: str, version: str) -> str:
    return f"{package_prefix(env, package)}releases/{check_version(version)}/"


def pointer_key(env: str, package: str) -> str:
    return package_prefix(env, package) + POINTER


def manifest_key(env: str, package: str, version: str) -> str:
    return release_prefix(env, package, version) + MANIFEST


def file_key(env: str, package: str, version: str, path: str) -> str:
    """Where a release's file lives: ``<env>/<package>/releases/<version>/files/<path>``."""
    return f"{release_prefix(env, package, version)}files/{check_path(path)}"


def pack_key(env: str, package: str, version: str) -> str:
    """A release's pack, ``<env>/<package>/releases/<version>/files.pack``: see
    ``manifest.pack_bytes``."""
    return f"{release_prefix(env, package, version)}files.pack"


def check_key(key: str) -> str:
    """Any key a store is asked to touch: the same rules as a release's file paths."""
    try:
        return check_path(key)
    except InvalidName as error:
        raise InvalidName(str(error).replace("in the release", "as a store key")) from None


def require_under(key: str, prefix: str) -> str:
    """``key`` itself, if it lies under ``prefix``; a package never writes elsewhere."""
    check_key(key)
    if not key.startswith(prefix):
        raise InvalidName(f"key {key!r} lies outside {prefix!r}: a package writes only there")
    return key
