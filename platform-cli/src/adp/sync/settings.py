"""The agent's settings, from options or environment variables, checked at start.

Every missing or invalid setting is named in one message (``SettingsError``). For S3, boto3's
credential chain must resolve (environment, profile files, web identity, container or
instance role): only the names of what was looked at are printed, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from adp.releases import names
from adp.releases.locate import open_store
from adp.releases.store import Store, StoreError
from adp.sync.errors import SyncError

SOURCES = {
    "store": ("--store", "ADP_RELEASE_STORE"),
    "env": ("--env", "ADP_ENV"),
    "sync_dir": ("--sync-dir", "ADP_SYNC_DIR"),
    "interval": ("--interval", "ADP_SYNC_INTERVAL"),
    "health_port": ("--health-port", "ADP_SYNC_HEALTH_PORT"),
    "health_host": ("--health-host", "ADP_SYNC_HEALTH_HOST"),
    "health_max_age": ("--health-max-age", "ADP_SYNC_HEALTH_MAX_AGE"),
    "keep": ("--keep", "ADP_SYNC_KEEP"),
    "endpoint_url": ("--endpoint-url", "AWS_ENDPOINT_URL"),
}
REQUIRED = ("store", "env", "sync_dir")
CREDENTIAL_SOURCES = (
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials and "
    "~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE), AWS_WEB_IDENTITY_TOKEN_FILE "
    "with AWS_ROLE_ARN, a container role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI), "
    "the instance role"
)


class SettingsError(SyncError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SyncSettings(BaseModel):
    store: str
    env: str
    sync_dir: Path
    interval: float = Field(30.0, gt=0)
    health_port: int | None = Field(None, ge=0, le=65535)
    health_host: str = "127.0.0.1"
    health_max_age: float | None = Field(None, gt=0)
    keep: int = Field(5, ge=1)
    endpoint_url: str | None = None
    record_snapshots: bool = True


def load_settings(
    options: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> SyncSettings:
    """Options win over environment variables; SettingsError names every problem."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field, (option, variable) in SOURCES.items():
        value = options.get(field)
        if value is None or value == "":
            value = environ.get(variable) or None
        if value is not None:
            values[field] = value
        elif field in REQUIRED:
            problems.append(f"{field.replace('_', ' ')} is not set: give {option} or {variable}")
    if "record_snapshots" in options and options["record_snapshots"] is not None:
        values["record_snapshots"] = options["record_snapshots"]
    if "env" in values:
        try:
            names.check_env(str(values["env"]))
        except names.InvalidName as error:
            problems.append(str(error))
    try:
        settings = SyncSettings.model_validate(values)
    except ValidationError as error:
        for item in error.errors():
            field = str(item["loc"][0])
            if item["type"] == "missing":
                continue  # named above
            option, variable = SOURCES.get(field, (field, field))
            problems.append(f"{option} / {variable}: {item['msg']}")
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings


def check_credentials() -> None:
    """SettingsError unless boto3's chain finds credentials (values never shown)."""
    try:
        import boto3
    except ImportError:
        raise SettingsError(["the S3 store needs boto3: pip install 'platform-cli[s3]'"]) from None
    if boto3.Session().get_credentials() is None:
        raise SettingsError([f"no AWS credentials: looked at {CREDENTIAL_SOURCES}"])


def open_checked_store(settings: SyncSettings, reach: bool = True) -> Store:
    """The store, its credentials resolved and (with ``reach``) the bucket answering."""
    try:
        store = open_store(settings.store, settings.endpoint_url)
    except (names.InvalidName, StoreError) as error:
        raise SettingsError([f"--store / ADP_RELEASE_STORE: {error}"]) from None
    if settings.store.startswith("s3://"):
        check_credentials()
    if reach:
        try:
            store.folders(f"{settings.env}/")
        except StoreError as error:
            raise SettingsError([f"the release store cannot be read: {error}"]) from None
    return store
