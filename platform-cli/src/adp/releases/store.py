"""The storage boundary: four operations every release store offers, and their errors.

``put_new`` creates an object only if its key is free (S3: ``If-None-Match: *``); ``put_if``
replaces one only if it still has the ETag the caller read (``If-Match``), or creates it only if
it is still absent (``etag=None``). Both are atomic: a reader sees the old object or the new one,
never a part. A store raises ``Busy`` for a transient conflict (S3's 409
ConditionalRequestConflict); ``retrying`` repeats such a call with backoff.

Two reads keep a reader's poll cheap: ``folders`` lists only the names one level below a
prefix (S3: ``ListObjectsV2`` with ``Delimiter='/'``), and ``get_changed`` reads an object only
if its ETag differs from the one the caller holds (S3: ``If-None-Match``, answered 304).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar


class StoreError(RuntimeError):
    """The store cannot be used (no such bucket, no credentials, unreachable); the message says
    which and what to do."""


class AlreadyExists(StoreError):
    """``put_new``: the key is taken."""


class PreconditionFailed(StoreError):
    """``put_if``: the object changed (or appeared, or went) since it was read."""


class Busy(StoreError):
    """A transient conflict with another writer of the same key (S3 409); try again."""


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

    def get(self, key: str) -> Blob | None:
        """The object and its ETag, or None when there is none."""
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

    def folders(self, prefix: str) -> list[str]:
        """The names one level below ``prefix`` (which ends with '/') that hold keys, sorted:
        for ``dev/`` the packages of dev, without listing their releases."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object (nothing when there is none)."""
        ...

    def get_changed(self, key: str, etag: str | None) -> Blob | Unchanged | None:
        """The object if its ETag is not ``etag`` (any object when ``etag`` is None),
        UNCHANGED if it is, None when there is no object."""
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
