"""Which store a ``--bucket`` names: ``s3://bucket`` (S3 or an S3-compatible server at
``endpoint_url``), or a local folder named unmistakably.

Invariant: a spelling is never guessed. A local folder is ``file:///path``, a path holding a
``/`` (``./releases``, ``/srv/releases``, ``releases/``), or a bare word naming a folder that
already exists. Anything else (``acme-dag-releases``: an S3 bucket without its ``s3://``; a
near miss of a URL such as ``s3:/bucket``; ``~/releases``, which nothing here expands) is
refused with the spellings that would work, and nothing is created. A relative folder is
relative to ``base`` (the working directory for a command line; the file's folder for a path
written in a file such as airflow-repos.yaml), the same for every caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adp.releases.local_store import LocalStore
from adp.releases.names import InvalidName
from adp.releases.store import Store

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# What looks like a URL scheme (``s3:``, ``gs:``, ``https:``): never the start of a folder name.
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Location:
    """Where a store is: ``bucket`` for S3, else ``folder`` (absolute)."""

    bucket: str | None = None
    folder: Path | None = None
    endpoint_url: str | None = None

    @property
    def spelling(self) -> str:
        """The store as ``--bucket`` (or ``release_store.bucket``) names it, absolute."""
        return f"s3://{self.bucket}" if self.bucket else str(self.folder)

    @property
    def url(self) -> str:
        """Where the store is, for messages (as ``Store.url`` says it)."""
        if self.bucket:
            where = f" at {self.endpoint_url}" if self.endpoint_url else ""
            return f"s3://{self.bucket}{where}"
        assert self.folder is not None
        return self.folder.as_uri()

    def open(self) -> Store:
        if self.bucket:
            from adp.releases.s3_store import S3Store

            return S3Store(self.bucket, self.endpoint_url)
        assert self.folder is not None
        return LocalStore(self.folder)


def _spellings(word: str) -> str:
    s3 = f"s3://{word} for the S3 bucket, or " if BUCKET_RE.fullmatch(word) else ""
    return f"write {s3}./{word} (or file:///<absolute folder>) for a local folder"


def locate(
    bucket: str,
    endpoint_url: str | None = None,
    base: Path | None = None,
    what: str = "--bucket",
) -> Location:
    """Where ``bucket`` is (a relative folder against ``base``, default the working directory);
    ``InvalidName`` naming ``what`` (``""`` where the caller names the field) for anything not
    named unmistakably. Creates nothing."""
    named = f"{what} {bucket!r}" if what else repr(bucket)
    if not bucket:
        raise InvalidName(
            f"{what or 'it'} is empty: give s3://<bucket>, file:///<folder> or a folder"
        )
    if bucket.startswith("s3://"):
        name = bucket.removeprefix("s3://").rstrip("/")
        if not BUCKET_RE.fullmatch(name) or ".." in name:
            raise InvalidName(
                f"{named}: not an S3 bucket name (3-63 lowercase letters, digits, "
                "'.' and '-'); the store's keys are <env>/<package>/..., not part of it"
            )
        return Location(bucket=name, endpoint_url=endpoint_url)
    if endpoint_url:
        option = "--endpoint-url" if what.startswith("-") else "endpoint_url"
        raise InvalidName(f"{option} is for s3:// buckets, not {bucket!r}")
    base = (base or Path.cwd()).absolute()
    if bucket.startswith("file://"):
        parts = urlsplit(bucket)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidName(
                f"{named}: file URLs name a local folder by its absolute path: file:///path"
            )
        return Location(folder=Path(unquote(parts.path)))
    if SCHEME_RE.match(bucket):
        rest = SCHEME_RE.sub("", bucket).lstrip("/")
        hint = f"s3://{rest}" if bucket.lower().startswith("s3:") and rest else "s3://<bucket>"
        raise InvalidName(
            f"{named}: use {hint}, file:///<folder> or a folder (./{bucket} if it "
            "really is a folder's name)"
        )
    if bucket.startswith("~"):
        raise InvalidName(f"{named}: ~ is not expanded here; write the folder's full path")
    folder = base / bucket
    if "/" in bucket or folder.is_dir():
        return Location(folder=folder)
    raise InvalidName(
        f"{named} names no S3 bucket and no existing folder (a bare word is never taken for "
        f"a new local folder): {_spellings(bucket)}" + ("; nothing was written" if what else "")
    )


def open_store(bucket: str, endpoint_url: str | None = None, base: Path | None = None) -> Store:
    """The store ``bucket`` names (see ``locate``); InvalidName for a malformed or ambiguous
    one, before anything is created."""
    return locate(bucket, endpoint_url, base).open()
