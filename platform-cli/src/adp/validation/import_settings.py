"""The settings of the import check, read by the platform (never by its worker).

Invariant: each variable is a field of :class:`ImportCheckSettings` (adp.settings_base), read
from the given mapping or this process's environment; the fields are plain text, so loading
never fails here: ``import_isolation.requested`` checks the mode itself (IsolationError naming
the variable and the allowed modes) and ``import_check`` falls back to ``docker`` on PATH.
"""

from __future__ import annotations

from pydantic import Field

from adp.settings_base import AdpSettings


class ImportCheckSettings(AdpSettings):
    """How the import check's worker is isolated, and which docker client runs ``--image``."""

    isolation: str = Field(
        "auto",
        validation_alias="ADP_IMPORT_ISOLATION",
        description="Isolation of the import check's worker: auto, namespace or in-process",
    )
    docker: str | None = Field(
        None,
        validation_alias="DOCKER",
        description="Docker client that runs the import check for --image (else docker on PATH)",
    )
