"""The platform's Airflow DAG bundle: one per environment, fed by the release store.

Invariant: the bundle's version is a snapshot id, and its path holds exactly that snapshot.
The dag-processor's bundle (no version) syncs the environment with ``adp.sync.Syncer`` into
its own sync folder and its path is the stable symlink ``current``, which only its own
``refresh()`` swaps (under the bundle's lock), so the version Airflow records after a refresh
always names the content it then parses. A worker's bundle (a version given) rebuilds that
snapshot from the store, every byte verified, into ``versions_dir/<id>/``, which Airflow's own
version cleanup removes. A new package appears with no restart and no configuration change:
the snapshot covers every package with a current pointer.

Modules: ``platform_bundle`` (the bundle class), ``config`` (the ``dag_bundle_config_list``
entry that ``adp dags bundle-config`` prints), ``reparse`` (asking a running Airflow to
re-parse now, ``PUT /api/v2/parseDagFile``). Only ``platform_bundle`` imports Airflow.
"""
