"""How ``adp`` reaches a running Airflow's REST API when nothing more specific is given:
``ADP_AIRFLOW_URL`` and ``ADP_AIRFLOW_TOKEN``, declared here only (see adp.settings_base).

Invariant: the token is a ``SecretStr``: it never appears in a message, a log or a repr; only
:func:`airflow_token` hands its value to the client that sends it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, SecretStr

from adp.settings_base import AdpSettings


class AirflowAccess(AdpSettings):
    """The Airflow asked to re-parse after a release pointer moved, and its token."""

    url: str | None = Field(
        None,
        validation_alias="ADP_AIRFLOW_URL",
        description="A running Airflow asked to re-parse the environment's bundle at once",
    )
    token: SecretStr | None = Field(
        None,
        validation_alias="ADP_AIRFLOW_TOKEN",
        description="A bearer token for that Airflow's REST API",
    )


def airflow_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``ADP_AIRFLOW_URL`` of ``environ`` (default: this process's environment), or None."""
    return AirflowAccess.load(environ=environ).url


def airflow_token(environ: Mapping[str, str] | None = None) -> str | None:
    """``ADP_AIRFLOW_TOKEN`` of ``environ`` (default: this process's environment), or None."""
    token = AirflowAccess.load(environ=environ).token
    return token.get_secret_value() if token is not None else None
