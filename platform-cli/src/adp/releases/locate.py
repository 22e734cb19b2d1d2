"""Which store a ``--bucket`` names: ``s3://bucket`` (S3 or an S3-compatible server at
``endpoint_url``), or a local directory as ``file:///path`` or a plain path."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adp.releases.local_store import LocalStore
from adp.releases.names import InvalidName
from adp.releases.store import Store

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def open_store(bucket: str, endpoint_url: str | None = None) -> Store:
    """The store ``bucket`` names; InvalidName for a malformed one."""
    if not bucket:
        raise InvalidName("--bucket is empty: give s3://<bucket>, file:///<folder> or a folder")
    if bucket.startswith("s3://"):
        name = bucket.removeprefix("s3://").rstrip("/")
        if not BUCKET_RE.match(name) or ".." in name:
            raise InvalidName(
                f"--bucket {bucket!r}: not an S3 bucket name (3-63 lowercase letters, digits, "
                "'.' and '-'); the store's keys are <env>/<package>/..., not part of --bucket"
            )
        from adp.releases.s3_store import S3Store

        return S3Store(name, endpoint_url)
    if endpoint_url:
        raise InvalidName(f"--endpoint-url is for s3:// buckets, not {bucket!r}")
    if bucket.startswith("file://"):
        parts = urlsplit(bucket)
        if parts.netloc not in ("", "localhost"):
            raise InvalidName(f"--bucket {bucket!r}: file URLs name a local folder: file:///path")
        return LocalStore(Path(unquote(parts.path)))
    if "://" in bucket:
        raise InvalidName(f"--bucket {bucket!r}: use s3://<bucket>, file:///<folder> or a folder")
    return LocalStore(Path(bucket))
