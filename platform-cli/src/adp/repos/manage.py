"""Adding and removing a repository as a person asks for it, one implementation for every
front end (``adp repos add|remove``, the MCP server's tools).

``add_repository`` writes the new entry into ``airflow-repos.yaml`` through ``adp.repos.edit``
(the rest of the file as written; the whole new file validated first, so a bad entry writes
nothing) and records the addition in the audit; the caller then syncs it. ``remove_repository``
takes the namespace out of the environment first, under the repository's lock, then the entry
out of the file; ``plan_removal`` checks the same and says what it would do, changing nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from adp.releases.publish import default_publisher
from adp.repos import edit
from adp.repos.config import ReposConfig, ReposConfigError, load_config
from adp.repos.promote import Promoter
from adp.repos.state import StateDir


class NewRepository(BaseModel):
    """The fields of a new ``airflow-repos.yaml`` entry (the file's own names; credentials
    only ever by the name of their variable or file). ``None`` leaves a field out."""

    model_config = ConfigDict(extra="forbid")

    name: str
    url: str
    namespace: str
    branch: str = "main"
    auth_type: str = "public"
    path: str = ""
    sync_interval: str | None = None
    token_env: str | None = None
    token_file: str | None = None
    token_username: str | None = None
    ssh_key_file: str | None = None
    ssh_key_env: str | None = None
    known_hosts_file: str | None = None
    auto_deploy: bool = True
    webhook_provider: str | None = None
    webhook_secret_env: str | None = None
    webhook_secret_file: str | None = None

    def entry(self) -> dict[str, Any]:
        """The entry as the file writes it: set fields only, in the file's order."""
        entry: dict[str, Any] = {
            "name": self.name,
            "url": self.url,
            "branch": self.branch,
            "auth_type": self.auth_type,
            "namespace": self.namespace,
        }
        optional = {
            "path": self.path,
            "sync_interval": self.sync_interval,
            "token_env": self.token_env,
            "token_file": self.token_file,
            "token_username": self.token_username,
            "ssh_key_file": self.ssh_key_file,
            "ssh_key_env": self.ssh_key_env,
            "known_hosts_file": self.known_hosts_file,
        }
        entry.update({k: v for k, v in optional.items() if v})
        if not self.auto_deploy:
            entry["auto_deploy"] = False
        if self.webhook_provider:
            hook = {
                "provider": self.webhook_provider,
                "secret_env": self.webhook_secret_env,
                "secret_file": self.webhook_secret_file,
            }
            entry["webhook"] = {k: v for k, v in hook.items() if v}
        return entry


FILE_FIELDS = ("token_file", "ssh_key_file", "known_hosts_file", "webhook_secret_file")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def in_file_frame(value: str | None, folder: Path, base: Path | None = None) -> str | None:
    """``value``, a path given relative to ``base`` (the caller's working folder), as the file
    in ``folder`` must write it to mean the same path (the file's relative paths are relative
    to its folder): relative when it lies under ``folder``, else absolute. Absolute paths, URLs
    (``s3://``, ``file://``) and None are returned as they are."""
    if not value or Path(value).is_absolute() or _SCHEME.match(value) or value.startswith("~"):
        return value
    target = Path(os.path.normpath((base or Path.cwd()).absolute() / value))
    try:
        return target.relative_to(folder.absolute()).as_posix() or "."
    except ValueError:
        return str(target)


def as_written(
    config_path: Path, new: NewRepository, bucket: str | None, base: Path | None = None
) -> tuple[NewRepository, str | None]:
    """``new`` and ``bucket`` with every relative path given by the caller (relative to its
    working folder ``base``) turned into what the file must say for the same path."""
    folder = config_path.absolute().parent
    moved = {f: in_file_frame(getattr(new, f), folder, base) for f in FILE_FIELDS}
    store = bucket
    if bucket and ("/" in bucket or ((base or Path.cwd()) / bucket).is_dir()):
        store = in_file_frame(bucket, folder, base)  # a bare word stays one: locate refuses it
    return new.model_copy(update=moved), store


class MissingConfig(ReposConfigError):
    """The file does not exist and no release store was given to create it."""


def planned_text(
    config_path: Path, new: NewRepository, bucket: str | None = None, env: str | None = None
) -> str:
    """The file at ``config_path`` with ``new`` appended (created for ``bucket`` and ``env``
    when it does not exist), validated whole; writes nothing. ``MissingConfig`` or
    ``ReposConfigError`` (the file's own messages, ``file:line: repositories[i].field: ...``)
    when it cannot be added. Relative paths in ``new`` and ``bucket`` are the caller's (relative
    to the working folder) and are written so that they still name the same files."""
    new, bucket = as_written(config_path, new, bucket)
    if config_path.exists():
        try:
            text = config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ReposConfigError([f"{config_path}: cannot read it ({error})"]) from None
    elif bucket and env:
        text = edit.new_file(bucket, env)
    else:
        raise MissingConfig(
            [f"{config_path} does not exist: give the release store's bucket and the "
             "environment to create it"]
        )  # fmt: skip
    planned = edit.with_entry(text, new.entry(), str(config_path))
    edit.check(planned, config_path)
    return planned


def add_repository(
    config_path: Path,
    new: NewRepository,
    actor: str | None = None,
    bucket: str | None = None,
    env: str | None = None,
) -> ReposConfig:
    """Append ``new`` to the file at ``config_path`` (created for ``bucket`` and ``env`` when
    it does not exist) and record the addition; the file as it is now. ``ReposConfigError``
    (the file's own messages, ``file:line: repositories[i].field: ...``) when the entry or the
    file is wrong: then nothing was written."""
    edit.write_checked(config_path, planned_text(config_path, new, bucket, env))
    config = load_config(config_path)
    StateDir(config.state_dir).audit(
        "add",
        new.name,
        actor or default_publisher(),
        detail=f"{new.url} {new.branch} -> {config.env}/{new.namespace}",
    )
    return config


@dataclass
class Removal:
    """What removing a repository does (or did): the namespace ``env/namespace`` leaves the
    environment; ``release`` is the release it pointed at."""

    name: str
    env: str
    namespace: str
    release: str | None = None
    reparse: str | None = None


def plan_removal(config: ReposConfig, name: str) -> tuple[Removal, str]:
    """The removal of ``name`` and the file's text without its entry; ``ReposConfigError``
    when it cannot be removed (unknown name, an entry the editor cannot take out). Changes
    nothing."""
    repo = config.repository(name)
    index = [r.name for r in config.repositories].index(name)
    try:
        text = config.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReposConfigError([f"{config.path}: cannot read it ({error})"]) from None
    edited = edit.without_entry(text, index, str(config.path))
    edit.check(edited, config.path)
    return Removal(name, config.env, repo.namespace), edited


def remove_repository(promoter: Promoter, name: str) -> Removal:
    """Take ``name`` out of the environment (its pointer; its releases and audit stay), then
    out of the file, and ask Airflow to re-parse. ``ReposConfigError`` (nothing changed) when
    it cannot be removed, ``PromotionError`` (nothing changed) when the store refuses."""
    removal, edited = plan_removal(promoter.config, name)
    removal.release = promoter.remove(name)  # out of the environment first, under its lock
    edit.write_checked(promoter.config.path, edited)
    removal.reparse = promoter.reparse()
    return removal
