"""The one error type of adp.dev: its message names what was wrong and what to do."""

from adp.errors import Failure


class DevError(Failure, RuntimeError):
    """A problem with the datakit, a setting or the stack; str() is the user's message."""
