"""Throw-away servers for tests: free loopback ports, PostgreSQL clusters, MIT Kerberos realms,
an image registry, a password-protected package index, git over HTTP and SSH.

Test support only: no product package imports it. See README.md for what each helper starts.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("adp-test-servers")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0+unknown"


class ServerUnavailable(RuntimeError):
    """A test server could not be started; the message names what to install or fix."""
