"""Throw-away servers for tests: free loopback ports, PostgreSQL clusters, MIT Kerberos realms,
an image registry, a password-protected package index.

Test support only: no product package imports it. See README.md for what each helper starts.
"""

__version__ = "0.1.0"


class ServerUnavailable(RuntimeError):
    """A test server could not be started; the message names what to install or fix."""
