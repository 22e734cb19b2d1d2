"""What the page reads: the environments of the platform's bundles (Airflow's
``dag_bundle_config_list``) and the ``airflow-repos.yaml`` named by ``ADP_REPOS_CONFIG``.

Its variables are one settings model, :class:`PageSettings` (see adp.settings_base), read again at
every request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from adp.operations import ReposConfig, ReposConfigError, load_config, redact_url
from adp.operations.bundles import CLASSPATH, SETTING, default_bundle_name
from adp.settings_base import AdpSettings

BUNDLES = "[dag_processor] dag_bundle_config_list"


class PageSettings(AdpSettings):
    """The page's variables."""

    config: Path | None = Field(
        None,
        validation_alias="ADP_REPOS_CONFIG",
        description="The airflow-repos.yaml whose repositories the page shows",
    )
    airflow_url: str | None = Field(
        None,
        validation_alias="ADP_UI_AIRFLOW_URL",
        description="Where this api-server answers from inside its own container "
        "(default http://127.0.0.1:<[api] port>)",
    )
    bundle_config_list: str | None = Field(
        None,
        validation_alias=SETTING,
        description="Airflow's [dag_processor] dag_bundle_config_list, read from the "
        "variable only where Airflow's configuration cannot be imported",
    )


REPOS_CONFIG = PageSettings.variable("config")
AIRFLOW_URL = PageSettings.variable("airflow_url")


@dataclass(frozen=True)
class Environment:
    """One environment of a release store, as a bundle of Airflow serves it."""

    env: str
    store: str
    endpoint_url: str | None
    bundle: str


@dataclass
class UiSettings:
    environments: list[Environment] = field(default_factory=list)
    config: ReposConfig | None = None
    notes: list[str] = field(default_factory=list)


def bundle_environments(value: str | None) -> tuple[list[Environment], list[str]]:
    """The platform bundles of a ``dag_bundle_config_list`` value, and notes on what could not
    be read (the page shows them; Airflow itself refuses a bad value at start)."""
    if not value or not value.strip():
        return [], []
    try:
        entries = json.loads(value)
    except ValueError as error:
        return [], [f"{BUNDLES} is not JSON ({error}): no package is shown"]
    if not isinstance(entries, list):
        return [], [f"{BUNDLES} is not a list of bundles: no package is shown"]
    found: list[Environment] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("classpath") != CLASSPATH:
            continue
        kwargs = entry.get("kwargs") or {}
        env, store = kwargs.get("env"), kwargs.get("store")
        if not isinstance(env, str) or not isinstance(store, str):
            name = entry.get("name", "?")
            found_keys = ", ".join(sorted(kwargs)) or "none"
            return found, [f"{BUNDLES}: bundle {name}: kwargs need env and store ({found_keys})"]
        found.append(
            Environment(
                env=env,
                store=store,
                endpoint_url=kwargs.get("endpoint_url"),
                bundle=str(entry.get("name") or default_bundle_name(env)),
            )
        )
    return found, []


def airflow_bundle_setting(fallback: str | None = None) -> str | None:
    """The api-server's ``[dag_processor] dag_bundle_config_list``; ``fallback`` (the
    variable) where Airflow's configuration cannot be imported (the page's own tests)."""
    try:
        from airflow.configuration import conf
    except ImportError:
        return fallback
    return conf.get("dag_processor", "dag_bundle_config_list", fallback=None)


def read_settings(
    environ: Mapping[str, str] | None = None, bundle_setting: str | None = None
) -> UiSettings:
    """The page's settings from ``environ`` (default: this process's environment), read again
    at every request (a file changed is seen at once)."""
    page = PageSettings.load(environ=environ)
    environments, notes = bundle_environments(
        bundle_setting
        if bundle_setting is not None
        else airflow_bundle_setting(page.bundle_config_list)
    )
    settings = UiSettings(environments=environments, notes=notes)
    path = page.config
    if path:
        try:
            settings.config = load_config(path)
        except ReposConfigError as error:
            settings.notes.append(
                f"{REPOS_CONFIG}={path}: {error}. Fix the file: its repositories are not shown"
            )
    if settings.config is not None:
        store = settings.config.model.release_store
        known = {(e.env, redact_url(e.store).rstrip("/")) for e in environments}
        if (settings.config.env, redact_url(store.bucket).rstrip("/")) not in known:
            bundle = settings.config.model.airflow.bundle or default_bundle_name(
                settings.config.env
            )
            settings.environments.append(
                Environment(settings.config.env, store.bucket, store.endpoint_url, bundle)
            )
    if not settings.environments:
        settings.notes.append(
            f"No DAG source is configured here: the api-server has no platform bundle in "
            f"{BUNDLES} (adp dags bundle-config prints one) and no {REPOS_CONFIG}."
        )
    return settings


def internal_airflow_url(environ: Mapping[str, str] | None = None) -> str:
    """Where this api-server answers from inside its own container (for the re-parse request
    made after an action): ``ADP_UI_AIRFLOW_URL``, else ``http://127.0.0.1:<[api] port>``."""
    url = PageSettings.load(environ=environ).airflow_url
    if url:
        return url.rstrip("/")
    try:
        from airflow.configuration import conf

        port = conf.getint("api", "port", fallback=8080)
    except ImportError:
        port = 8080
    return f"http://127.0.0.1:{port}"
