"""The ``dag_bundle_config_list`` entry of an environment's platform bundle (what
``adp dags bundle-config`` prints). No credentials: the store is named, never unlocked, here."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from adp.releases import names
from adp.releases.locate import open_store

CLASSPATH = "adp.bundles.platform_bundle.PlatformDagBundle"
# Airflow's default bundle: the image's dags/ folder (a datakit's own DAGs).
DAGS_FOLDER = {
    "name": "dags-folder",
    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
    "kwargs": {},
}
SETTING = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


def default_bundle_name(env: str) -> str:
    return f"adp-{names.check_env(env)}"


def bundle_entry(
    env: str,
    store: str,
    *,
    name: str | None = None,
    endpoint_url: str | None = None,
    refresh_interval: int | None = None,
) -> dict[str, Any]:
    """The entry; InvalidName for a bad env, store or endpoint (credentials in a URL included)."""
    names.check_env(env)
    open_store(store, endpoint_url)
    if not store.startswith(("s3://", "file://")) and not store.startswith("/"):
        raise names.InvalidName(
            f"--bucket {store!r}: a relative folder; give the folder as the Airflow processes "
            "see it, absolute (/path or file:///path)"
        )
    if endpoint_url and (urlsplit(endpoint_url).username or urlsplit(endpoint_url).password):
        raise names.InvalidName(
            "--endpoint-url carries credentials: remove them; the bundle takes the AWS chain "
            "of the Airflow process (AWS_ACCESS_KEY_ID/..., a profile or a role)"
        )
    if refresh_interval is not None and refresh_interval < 1:
        raise names.InvalidName("--refresh-interval: give a whole number of seconds >= 1")
    kwargs: dict[str, Any] = {"env": env, "store": store}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if refresh_interval is not None:
        kwargs["refresh_interval"] = refresh_interval
    return {"name": name or default_bundle_name(env), "classpath": CLASSPATH, "kwargs": kwargs}


def config_list(entry: dict[str, Any], with_dags_folder: bool = True) -> str:
    """The value of ``dag_bundle_config_list``: the entry, after the dags folder's bundle.
    Compact (no spaces, no '#'), so that it is one unquoted value in any .env dialect."""
    value = [DAGS_FOLDER, entry] if with_dags_folder else [entry]
    return json.dumps(value, separators=(",", ":"))
