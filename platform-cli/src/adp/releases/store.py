"""The storage boundary: four operations every release store offers, and their errors.

``put_new`` creates an object only if its key is free (S3: ``If-None-Match: *``); ``put_if``
replaces one only if it still has the ETag the caller read (``If-Match``), or creates it only if
it is still absent (``etag=None``). Both are atomic: a reader sees the old object or the new one,
never a part. A store raises ``Busy`` for a transient conflict (S3's 409
ConditionalRequestConflict); ``retrying`` repeats such a call with backoff.

Two reads keep a reader's poll cheap: ``folders`` lists only the names one level below a
prefix (S3: ``ListObjectsV2`` with ``Delimiter='/'``), and ``get_changed`` reads an object only
if its ETag differs from the one the caller holds (S3: ``If-None-Match``, answered 304).

Both reads take ``max_bytes``: an object larger than that is refused with ``TooLarge`` before
its bytes are read (its size is known from S3's Content-Length or the file's ``fstat``), and
never more than ``max_bytes + 1`` bytes are read in any case, so whoever may write a key cannot
make a reader hold more than the reader chose to accept. ``DOCUMENT_MAX_BYTES`` is the limit for
the store's documents (pointers, manifests, snapshot documents).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from adp.errors import Failure


class StoreError(Failure, RuntimeError):
    """The store cannot be used (no such bucket, no credentials, unreachable); the message says
    which and what to do."""


class AlreadyExists(StoreError):
    """``put_new``: the key is taken."""


class PreconditionFailed(StoreError):
    """``put_if``: the object changed (or appeared, or went) since it was read."""


class Busy(StoreError):
    """A transient conflict with another writer of the same key (S3 409); try again."""


class TooLarge(StoreError):
    """A bounded read (``max_bytes``): the object is larger; it was not read whole."""

    def __init__(self, key: str, url: str, size: int | None, max_bytes: int) -> None:
        found = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
        super().__init__(
            f"{key}: {found} in {url}, larger than the {max_bytes} bytes read for it; "
            "it was not read"
        )
        self.key, self.size, self.max_bytes = key, size, max_bytes


# The largest pointer, manifest or snapshot document a reader accepts. A pointer is under 1 KiB;
# a manifest entry is ~150 bytes for a usual path (its size and sha256 with it), so 8 MiB holds
# some 50,000 files (3,500 even of 512-character paths), far more than a DAG package has; a
# snapshot document is ~130 bytes per package. Parsing 8 MiB of JSON takes well under a second
# and some tens of MiB: a writer of one package's prefix cannot make a reader run out of memory.
DOCUMENT_MAX_BYTES = 8 << 20


@dataclass(frozen=True)
class Blob:
    data: bytes
    etag: str


class Unchanged:
    """``get_changed``: the object still has the ETag the caller holds."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


class Store(Protocol):
    """A bucket of objects under '/'-separated keys."""

    @property
    def url(self) -> str:
        """Where the store is, for messages (no credentials in it)."""
        ...

    def get(self, key: str, max_bytes: int | None = None) -> Blob | None:
        """The object and its ETag, or None when there is none; TooLarge if it has more than
        ``max_bytes`` bytes (read no further than ``max_bytes + 1`` bytes)."""
        ...

    def put_new(self, key: str, data: bytes) -> str:
        """Create the object; AlreadyExists if the key is taken. Returns the new ETag."""
        ...

    def put_if(self, key: str, data: bytes, etag: str | None) -> str:
        """Replace the object if it still has ``etag`` (create it if ``etag`` is None and it is
        still absent); PreconditionFailed otherwise. Returns the new ETag."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, in key order."""
        ...

    def folders(self, prefix: str) -> builtins.list[str]:
        """The names one level below ``prefix`` (which ends with '/') that hold keys, sorted:
        for ``dev/`` the packages of dev, without listing their releases."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object (nothing when there is none)."""
        ...

    def get_changed(
        self, key: str, etag: str | None, max_bytes: int | None = None
    ) -> Blob | Unchanged | None:
        """The object if its ETag is not ``etag`` (any object when ``etag`` is None),
        UNCHANGED if it is, None when there is no object; TooLarge as ``get``."""
        ...


_T = TypeVar("_T")
ATTEMPTS = 5


def retrying(
    call: Callable[[], _T], what: str, attempts: int = ATTEMPTS, first_delay: float = 0.2
) -> _T:
    """``call()``, repeated with exponential backoff while it raises Busy; after ``attempts``
    tries the conflict is reported (as Busy, naming ``what``)."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Busy as error:
            if attempt == attempts:
                raise Busy(
                    f"{what}: the store answered 409 (a conflicting write in progress) "
                    f"{attempts} times; {error}. Try again later"
                ) from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
