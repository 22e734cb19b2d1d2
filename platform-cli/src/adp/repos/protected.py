"""What the code of a commit under validation must neither read nor show, from airflow-repos.yaml.

The promoter validates code it does not trust, as the user it runs as. ``Protected.of(config)``
names what that code must not get (``ValidationOptions``: ``hide_paths``, ``visible_paths``,
``redact``):

- hidden from it (in the import check's mount namespace): the credential files of every entry
  (``token_file``, ``ssh_key_file``, webhook ``secret_file``) and the state folder (its state,
  audit, mirrors of every repository), except the state folder's ``work`` folder, where the
  promoter exports the commits it validates; also airflow-repos.yaml itself and a local
  release store's folder, which that code could otherwise rewrite (hidden: read-only);
- removed from every result of its import check (both isolations): every credential value the
  file names, from a file or a variable (tokens, SSH keys, webhook secrets), and the Airflow
  token the promoter holds.

Invariant: a credential that cannot be read now is left out (the sync that needs it says why);
no value is ever part of a message, a ``repr`` or a dump of the options.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adp.repos.config import ReposConfig, Repository
from adp.repos.git import CredentialError, read_secret
from adp.repos.state import StateDir


@dataclass(frozen=True)
class Protected:
    hide: list[Path] = field(default_factory=list)
    visible: list[Path] = field(default_factory=list)
    redact: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, config: ReposConfig, extra_secrets: tuple[str | None, ...] = ()) -> Protected:
        """What ``config``'s commits must not get; ``extra_secrets``: values the caller holds
        (its Airflow token)."""
        state = StateDir(config.state_dir)
        hide: list[Path] = [config.state_dir, config.path.absolute()]
        if config.store_location.folder is not None:
            hide.append(config.store_location.folder)
        for repo in config.repositories:
            hide += [p for p in _files(repo) if p is not None]
        values = [value for value in extra_secrets if value]
        for repo in config.repositories:
            values += list(_values(config, repo))
        return cls(list(dict.fromkeys(hide)), [state.work], list(dict.fromkeys(values)))


def _files(repo: Repository) -> list[Path | None]:
    secret = repo.webhook.secret_file if repo.webhook is not None else None
    return [repo.token_file, repo.ssh_key_file, secret]


def _values(config: ReposConfig, repo: Repository) -> Iterator[str]:
    """The credential values of ``repo`` that can be read now."""
    where = f"repository {repo.name}"
    sources = [(repo.token_env, repo.token_file, "token")]
    if repo.webhook is not None:
        sources.append((repo.webhook.secret_env, repo.webhook.secret_file, "webhook secret"))
    for env, file, what in sources:
        if env is not None or file is not None:
            with contextlib.suppress(CredentialError):
                yield read_secret(config, env, file, f"{where}: {what}")
    if repo.ssh_key_env is not None and os.environ.get(repo.ssh_key_env, "").strip():
        yield os.environ[repo.ssh_key_env].strip()
    if repo.ssh_key_file is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            yield config.resolve(repo.ssh_key_file).read_text(encoding="utf-8").strip()
