"""Errors of the sync agent."""

from __future__ import annotations

from adp.errors import Failure


class SyncError(Failure, RuntimeError):
    """A sync step failed; the message names the package, key or file and the problem."""


class Corrupt(SyncError):
    """Bytes did not match the size or sha256 they were published with."""
