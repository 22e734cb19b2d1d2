"""What the receiver serves: one ``HookTarget`` per repository, built by the caller (``adp repos
serve`` reads airflow-repos.yaml and resolves each secret from its file or variable)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, get_args

Provider = Literal["github", "gitlab", "bitbucket"]
PROVIDERS: tuple[str, ...] = get_args(Provider)

# The name is a path segment of the endpoint (POST /hooks/<name>) and a metrics label.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class HookTarget:
    name: str  # the repository's name; its endpoint is POST /hooks/<name>
    provider: Provider
    # Already resolved by the caller (from a file or env var); never logged, never in a repr.
    # GitLab: the secret token (sent as X-Gitlab-Token), or a signing token "whsec_<base64>"
    # (then only the signed form, webhook-signature, is accepted). None: no webhook, the
    # repository is only polled and its endpoint answers 404.
    secret: bytes | None = field(repr=False)
    branch: str  # only pushes to refs/heads/<branch> act
    poll_interval: float | None = None  # seconds; the polling fallback (None: no polling)

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(
                f"hook target name {self.name!r}: letters, digits, '.', '_', '-' "
                "(starting with a letter or digit, at most 100)"
            )
        if self.provider not in PROVIDERS:
            raise ValueError(
                f"hook target {self.name}: provider {self.provider!r} is not one of "
                + ", ".join(PROVIDERS)
            )
        if self.secret is not None and (not isinstance(self.secret, bytes) or not self.secret):
            raise ValueError(f"hook target {self.name}: the secret is empty (or not bytes)")
        if not self.branch or self.branch.startswith("refs/"):
            raise ValueError(
                f"hook target {self.name}: branch {self.branch!r} must be a branch name "
                "such as main (not empty, not a full ref)"
            )
        if self.poll_interval is not None and not self.poll_interval > 0:
            raise ValueError(
                f"hook target {self.name}: poll_interval must be a positive number of seconds "
                "or None"
            )

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"
