"""Which files the import check hides from the code it imports, in the worker's mount namespace.

The worker runs as the validating user and so could read that user's files. With the namespace
isolation, ``import_mounts`` hides, for the worker's whole process tree:

- the paths the caller names (``ValidationOptions.hide_paths``): the promoter names the
  credential files of airflow-repos.yaml (``token_file``, ``ssh_key_file``, webhook
  ``secret_file``) and its state folder;
- the validating user's credential files (``credential_paths``): a fixed list under ``$HOME``
  (``~/.ssh``, ``~/.aws``, ``~/.netrc``, ...) and the files the standard variables of this
  process name (``AWS_SHARED_CREDENTIALS_FILE``, ``KUBECONFIG``, ``KRB5CCNAME``, ...), those that
  exist.

Hiding is about reading; writing is cut for everything at once: every mount of the worker's
namespace is read-only but its own temporary folder (``HidePlan.writable``, ``import_mounts``).

Invariant (``plan``): every such path that exists is hidden, except (1) one that is or holds a
path the worker needs (the interpreter and its ``sys.path``, the temporary folder, the system's
folders): it is not hidden, and ``skipped`` says which and why (reported as ADP026); and (2) the
folder being validated, and the ``visible_paths`` the caller named inside a hidden folder of its
own, which stay visible inside the hidden one (``keep``). Nothing else under a hidden folder is
visible. Paths are compared resolved (links followed), as the kernel mounts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Under $HOME: folders and files where command-line tools keep credentials.
HOME_CREDENTIALS = (
    ".ssh", ".aws", ".azure", ".kube", ".docker", ".gnupg", ".password-store", ".oci",
    ".config/gcloud", ".config/gh", ".config/hub", ".config/glab-cli", ".config/doctl",
    ".config/rclone", ".config/git/credentials", ".local/share/keyrings", ".snowflake",
    ".databrickscfg", ".dbt/profiles.yml", ".netrc", ".git-credentials", ".pgpass", ".my.cnf",
    ".pypirc", ".npmrc", ".yarnrc.yml", ".gem/credentials", ".cargo/credentials",
    ".cargo/credentials.toml", ".m2/settings.xml", ".m2/settings-security.xml",
    ".gradle/gradle.properties", ".terraform.d/credentials.tfrc.json", ".vault-token", ".boto",
    ".s3cfg", ".local/state/adp", ".cache/adp", "airflow/airflow.cfg", "airflow/airflow.db",
    "airflow/simple_auth_manager_passwords.json.generated",
)  # fmt: skip
# Variables naming a credential file or folder (KUBECONFIG: a list).
CREDENTIAL_VARIABLES = (
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS", "KUBECONFIG", "DOCKER_CONFIG", "PGPASSFILE", "NETRC",
    "KRB5CCNAME", "ADP_KERBEROS_EXPORT", "ADP_MCP_SECRETS_DIR", "AIRFLOW_CONFIG",
    "DBT_PROFILES_DIR",
)  # fmt: skip
# Airflow's home holds its Fernet key, database and passwords (AIRFLOW_HOME of this process).
AIRFLOW_HOME_FILES = ("airflow.cfg", "airflow.db", "simple_auth_manager_passwords.json.generated")
# Never hidden, nor anything holding them: what every process needs.
SYSTEM = ("/", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/usr", "/etc", "/dev", "/proc",
          "/sys", "/run", "/var/tmp", "/tmp")  # fmt: skip


@dataclass(frozen=True)
class HidePlan:
    """What the worker's mount namespace hides (``hide``), what stays visible inside a hidden
    folder (``keep``), the paths not hidden with why (``skipped``, for ADP026), and the one
    folder the worker may write to (``writable``: its own temporary folder, made by the
    platform for it; every other mount of its namespace is read-only, see ``import_mounts``)."""

    hide: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        """The ``import_mounts`` arguments (before its ``--``)."""
        found: list[str] = []
        for path in self.hide:
            found += ["--hide", path]
        for path in self.keep:
            found += ["--keep", path]
        for path in self.writable:
            found += ["--writable", path]
        return found

    def warning(self) -> str:
        """The ADP026 sentence for what was not hidden ("" when everything was)."""
        if not self.skipped:
            return ""
        return (
            "the import check could not hide from the code it imported: "
            + "; ".join(self.skipped)
            + " (move the secret out of that folder, or name the file itself in hide_paths)"
        )


def credential_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The validating user's credential files and folders (those named; existing or not)."""
    environ = os.environ if environ is None else environ
    found: list[Path] = []
    home = environ.get("HOME")
    if home:
        found += [Path(home) / relative for relative in HOME_CREDENTIALS]
    for name in CREDENTIAL_VARIABLES:
        value = environ.get(name, "")
        if name == "KRB5CCNAME":
            kind, _, rest = value.partition(":")
            value = rest if kind in ("FILE", "DIR") else ("" if rest else value)
        for item in value.split(os.pathsep) if name == "KUBECONFIG" else [value]:
            if item and os.path.isabs(os.path.expanduser(item)):
                found.append(Path(os.path.expanduser(item)))
    if environ.get("AIRFLOW_HOME"):
        found += [Path(environ["AIRFLOW_HOME"]) / name for name in AIRFLOW_HOME_FILES]
    if hasattr(os, "getuid"):
        found.append(Path(f"/tmp/krb5cc_{os.getuid()}"))  # Kerberos' default ticket cache
    return found


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan(
    requested: Iterable[Path],
    roots: Iterable[Path],
    needs: Iterable[str],
    visible: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
) -> HidePlan:
    """The hiding of one worker (see the module's invariant): ``requested`` (the caller's
    ``hide_paths``) and the user's ``credential_paths``; ``roots`` the folders validated;
    ``needs`` what the worker needs (the interpreter, its paths, the temporary folder);
    ``visible`` folders of the caller to keep visible inside its hidden ones."""
    explicit = [_real(path) for path in requested]
    candidates = dict.fromkeys([*explicit, *(_real(p) for p in credential_paths(environ))])
    essential = {_real(path) for path in (*SYSTEM, *needs) if path}
    essential |= {Path(os.path.abspath(path)) for path in needs if path}
    roots = [_real(root) for root in roots]
    hide: list[Path] = []
    skipped: list[str] = []
    for path in candidates:
        if not path.exists():
            continue
        needed = sorted(str(n) for n in essential if _inside(n, path))
        if needed:
            skipped.append(
                f"{path} was not hidden: it holds {needed[0]}, which the import needs (the "
                "interpreter, its libraries or the temporary folder)"
            )
            continue
        if any(root == path for root in roots):
            skipped.append(f"{path} was not hidden: it is the folder being validated")
            continue
        hide.append(path)
    folders = [path for path in hide if path.is_dir()]
    kept = [
        path
        for path in (_real(v) for v in visible)
        if path.is_dir() and any(_inside(path, f) and path != f for f in folders if f in explicit)
    ]
    for root in roots:
        if any(_inside(root, f) and root != f for f in folders) and not any(
            _inside(root, k) for k in kept
        ):
            kept.append(root)
    kept = [k for k in kept if not any(_inside(k, o) and k != o for o in kept)]
    # A hidden path inside another hidden folder is covered by it, unless it is in a kept one.
    hide = [
        path
        for path in hide
        if not any(_inside(path, f) and path != f for f in folders)
        or any(_inside(path, k) for k in kept)
    ]
    return HidePlan(
        tuple(sorted(str(p) for p in dict.fromkeys(hide))),
        tuple(sorted(str(k) for k in dict.fromkeys(kept))),
        tuple(skipped),
    )
