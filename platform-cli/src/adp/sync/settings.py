"""The agent's settings: one pydantic-settings model (variables ``ADP_*`` and
``AWS_ENDPOINT_URL``), which ``adp sync``'s flags override; checked at start.

Every missing or invalid setting is named at once (``SettingsError``, its problems' ``loc`` the
variable). For S3, boto3's credential chain must resolve (environment, profile files, web
identity, container or instance role): only the names of what was looked at are printed, never a
value.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from adp.errors import UsageError
from adp.releases import names
from adp.releases.locate import open_store
from adp.releases.store import Store, StoreError
from adp.settings_base import AdpSettings
from adp.sync.errors import SyncError

CREDENTIAL_SOURCES = (
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials and "
    "~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE), AWS_WEB_IDENTITY_TOKEN_FILE "
    "with AWS_ROLE_ARN, a container role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI), "
    "the instance role"
)


class SettingsError(UsageError, SyncError):
    """A setting of the agent is missing or wrong, or its store cannot be used: nothing ran."""


class HealthSettings(AdpSettings):
    """What ``adp sync --check`` needs: where health.json is and how old it may be."""

    error_type = SettingsError

    sync_dir: Path = Field(
        validation_alias="ADP_SYNC_DIR", description="Local folder the releases are synced into"
    )
    interval: float = Field(
        30.0, gt=0, validation_alias="ADP_SYNC_INTERVAL", description="Seconds between syncs"
    )
    health_max_age: float | None = Field(
        None,
        gt=0,
        validation_alias="ADP_SYNC_HEALTH_MAX_AGE",
        description="Healthy while the last good sync is younger, in seconds "
        "(default max(3 x interval, 90))",
    )


class SyncSettings(HealthSettings):
    """Every setting of the agent."""

    store: str = Field(
        validation_alias="ADP_RELEASE_STORE",
        description="Release store: s3://<bucket>, file:///<folder> or a path with a '/'",
    )
    env: str = Field(validation_alias="ADP_ENV", description="Environment")
    health_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        validation_alias="ADP_SYNC_HEALTH_PORT",
        description="Serve GET /health on this port",
    )
    health_host: str = Field(
        "127.0.0.1", validation_alias="ADP_SYNC_HEALTH_HOST", description="Health address"
    )
    keep: int = Field(5, ge=1, validation_alias="ADP_SYNC_KEEP", description="Local snapshots kept")
    endpoint_url: str | None = Field(
        None, validation_alias="AWS_ENDPOINT_URL", description="S3-compatible server"
    )
    record_snapshots: bool = Field(
        True,
        validation_alias="ADP_SYNC_RECORD_SNAPSHOTS",
        description="Write <env>/_snapshots/<id>.json to the store (false for read-only "
        "credentials)",
    )

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        try:
            names.check_env(value)
        except names.InvalidName as error:
            raise ValueError(str(error)) from None
        return value


def check_credentials() -> None:
    """SettingsError unless boto3's chain finds credentials (values never shown)."""
    try:
        import boto3
    except ImportError:
        raise SettingsError(
            "the S3 store needs boto3", fix="pip install 'platform-cli[s3]'"
        ) from None
    if boto3.Session().get_credentials() is None:
        raise SettingsError(f"no AWS credentials: looked at {CREDENTIAL_SOURCES}")


def open_checked_store(settings: SyncSettings, reach: bool = True) -> Store:
    """The store, its credentials resolved and (with ``reach``) the bucket answering."""
    try:
        store = open_store(settings.store, settings.endpoint_url)
    except (names.InvalidName, StoreError) as error:
        raise SettingsError(str(error), loc=SyncSettings.variable("store")) from None
    if settings.store.startswith("s3://"):
        check_credentials()
    if reach:
        try:
            store.folders(f"{settings.env}/")
        except StoreError as error:
            raise SettingsError(
                f"the release store cannot be read: {error}", loc=SyncSettings.variable("store")
            ) from None
    return store
