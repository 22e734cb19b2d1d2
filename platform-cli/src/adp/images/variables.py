"""The environment variables the runtime images' driver reads: one settings model.

Invariant: a variable that is set, even empty, overrides images.env and facts.env (the make
command line sets them so); an unset one leaves them. The retired names are read only to be
refused (config.RENAMED names their successors); ``UV_DEFAULT_INDEX`` is uv's own variable, read
only to check that it agrees with ``PACKAGE_INDEX_URL``. See adp.settings_base.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from adp.settings_base import AdpSettings

# The settings images.env may also hold (committed values, never a secret or a machine's path).
FILE_FIELDS = (
    "image_registry",
    "runtime_repo",
    "image_python",
    "package_index_url",
    "package_index_username",
)
# What the environment overrides: those, facts.env's PLATFORM_VERSION, and files of this machine
# that builds receive as BuildKit secrets.
OVERRIDE_FIELDS = (*FILE_FIELDS, "platform_version", "netrc_file", "index_password_file")
RETIRED_FIELDS = ("runtime_registry", "runtime_version", "runtime_netrc")


class ImageVariables(AdpSettings):
    """The variables of ``adp images`` (and ``make images``)."""

    model_config = SettingsConfigDict(env_ignore_empty=False)

    image_registry: str | None = Field(
        None, validation_alias="IMAGE_REGISTRY", description="The registry host and optional path"
    )
    runtime_repo: str | None = Field(
        None, validation_alias="RUNTIME_REPO", description="The repository of the runtime images"
    )
    image_python: str | None = Field(
        None, validation_alias="IMAGE_PYTHON", description="The Debian/Python base image"
    )
    package_index_url: str | None = Field(
        None,
        validation_alias="PACKAGE_INDEX_URL",
        description="The package index URL, without credentials",
    )
    package_index_username: str | None = Field(
        None, validation_alias="PACKAGE_INDEX_USERNAME", description="The package index's user"
    )
    platform_version: str | None = Field(
        None,
        validation_alias="PLATFORM_VERSION",
        description="The version in the images' tags (default: facts.env's)",
    )
    netrc_file: str | None = Field(
        None,
        validation_alias="NETRC_FILE",
        description="A netrc file, passed to builds as the secret id=netrc",
    )
    index_password_file: str | None = Field(
        None,
        validation_alias="INDEX_PASSWORD_FILE",
        description="A file holding the package index's password, passed as a build secret",
    )
    airflow_constraints: str | None = Field(
        None,
        validation_alias="AIRFLOW_CONSTRAINTS",
        description="The constraints Airflow is installed under, relative to the repository "
        "root (default: facts.env's)",
    )
    uv_default_index: str | None = Field(
        None,
        validation_alias="UV_DEFAULT_INDEX",
        description="uv's own index variable: must agree with PACKAGE_INDEX_URL",
    )
    runtime_registry: str | None = Field(
        None, validation_alias="RUNTIME_REGISTRY", description="Retired: IMAGE_REGISTRY"
    )
    runtime_version: str | None = Field(
        None, validation_alias="RUNTIME_VERSION", description="Retired: PLATFORM_VERSION"
    )
    runtime_netrc: str | None = Field(
        None, validation_alias="RUNTIME_NETRC", description="Retired: NETRC_FILE"
    )

    def overrides(self) -> dict[str, str]:
        """``{VARIABLE: value}`` of the overriding variables that are set (stripped)."""
        return {
            self.variable(field): value.strip()
            for field in OVERRIDE_FIELDS
            if (value := getattr(self, field)) is not None
        }

    def retired(self) -> list[str]:
        """The retired variables that are set (even empty)."""
        return [self.variable(f) for f in RETIRED_FIELDS if getattr(self, f) is not None]


FILE_KEYS = tuple(ImageVariables.variable(field) for field in FILE_FIELDS)
