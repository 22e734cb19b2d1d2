"""Airflow's configuration of an environment's platform bundle, for the front ends: the
``dag_bundle_config_list`` entry ``adp dags bundle-config`` prints and the UI's page reads back.

Invariant: the names are adp.bundles.config's own, re-exported unchanged (no rule lives here);
a front end reaches that library only through this module (tests/operations checks it).
No credentials: the store is named, never unlocked."""

from adp.bundles.config import (
    CLASSPATH,
    SETTING,
    bundle_entry,
    config_list,
    default_bundle_name,
)

__all__ = ["CLASSPATH", "SETTING", "bundle_entry", "config_list", "default_bundle_name"]
