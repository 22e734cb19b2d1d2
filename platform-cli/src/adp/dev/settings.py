"""The settings of `adp dev`, read from the environment (ADP_DEV_*, IMAGE_POSTGRES)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from adp import facts, pydantic_problems
from adp.dev.errors import DevError
from adp.settings_base import AdpSettings

ENV_PREFIX = "ADP_DEV_"


class DevSettings(BaseSettings):
    """Every knob of the local stack; each one is an environment variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    api_port: int = Field(8080, ge=1, le=65535, description="Airflow UI and REST API port")
    postgres_port: int = Field(
        5432, ge=1, le=65535, description="metadata database port on the host"
    )
    start_timeout: float = Field(
        300, gt=0, description="seconds `adp dev start` waits for a healthy Airflow"
    )
    state_dir: Path | None = Field(
        None, description="where each stack's compose file and secrets live"
    )
    image_postgres: str | None = Field(
        None,
        validation_alias="IMAGE_POSTGRES",
        description="PostgreSQL image of the metadata database (your registry's mirror)",
    )
    image_python: str = Field(
        default_factory=lambda: facts.load().IMAGE_PYTHON,
        validation_alias="IMAGE_PYTHON",
        description="Debian base the PostgreSQL image is built on when no registry answers",
    )
    ca_bundle: Path | None = Field(
        None, validation_alias="CA_BUNDLE", description="PEM bundle trusted inside builds"
    )

    def stack_dir(self, compose_project: str) -> Path:
        """The folder holding one stack's rendered compose file and its 0600 secrets."""
        if self.state_dir:
            base = self.state_dir
        else:
            state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local/state")
            base = Path(state_home) / "adp" / "dev"
        return base / compose_project


class ComposeSettings(AdpSettings):
    """The Docker Compose command `adp dev` runs (an AdpSettings model, unlike DevSettings)."""

    compose: str | None = Field(
        None,
        validation_alias="ADP_COMPOSE",
        description="Docker Compose command of adp dev, split like a shell "
        "(else docker-compose, else docker compose)",
    )


def env_name(field: str) -> str:
    """The environment variable of a DevSettings field."""
    alias = DevSettings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"


def load_settings(env: Mapping[str, str] | None = None) -> DevSettings:
    """DevSettings from the environment (or `env`); a bad value raises DevError naming the
    variable."""
    try:
        if env is None:
            return DevSettings()
        values = {
            name: env[key]
            for name in DevSettings.model_fields
            if (key := env_name(name)) in env and env[key] != ""
        }
        return DevSettings.model_validate(values)
    except ValidationError as exc:
        found = pydantic_problems.problems(  # these settings hold no secret: values shown
            exc, message=lambda item: f"{item.get('input')!r}: {item['msg']}"
        )
        problems = pydantic_problems.render(found, loc_text=_variable, between="=")
        raise DevError(
            "bad adp dev setting: " + problems + " (fix or unset the variable)"
        ) from None


def _variable(loc: tuple[str | int, ...]) -> str:
    field = str(loc[0])
    return field if field.isupper() else env_name(field)
