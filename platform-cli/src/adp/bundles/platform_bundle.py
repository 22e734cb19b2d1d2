"""``PlatformDagBundle``: an Airflow DAG bundle over one environment of a release store.

Configured in ``dag_bundle_config_list`` (``adp dags bundle-config`` prints the entry)::

    {"name": "adp-prod", "classpath": "adp.bundles.platform_bundle.PlatformDagBundle",
     "kwargs": {"env": "prod", "store": "s3://dag-releases", "refresh_interval": 10}}

``store`` is what ``adp dags publish --bucket`` takes (``s3://bucket``, ``file:///folder`` or
a folder); ``endpoint_url`` for an S3-compatible server. Credentials come from the standard
AWS chain of the Airflow process, never from this configuration.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.dag_processing.bundles.base import BaseDagBundle, BundleVersion

from adp.errors import UsageError
from adp.releases import names
from adp.releases.locate import open_store
from adp.releases.store import Store
from adp.sync.cycle import Syncer
from adp.sync.errors import SyncError
from adp.sync.layout import SyncDir
from adp.sync.materialize import materialize_snapshot
from adp.sync.snapshot import check_id

log = logging.getLogger(__name__)


class BundleConfigError(UsageError, ValueError):
    """A bad ``kwargs`` value of the bundle's ``dag_bundle_config_list`` entry."""


class PlatformDagBundle(BaseDagBundle):
    """One environment's current releases, as one versioned bundle (see adp.bundles)."""

    supports_versioning = True

    def __init__(
        self,
        *,
        env: str,
        store: str,
        endpoint_url: str | None = None,
        keep: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = f"dag_bundle_config_list entry {self.name!r}"
        try:
            self.env = names.check_env(env)
            self.store: Store = open_store(store, endpoint_url)  # a malformed one fails at start
        except names.InvalidName as error:
            raise BundleConfigError(f"{where}: kwargs: {error}") from None
        if self.version is not None:
            try:
                check_id(self.version)
            except SyncError as error:
                raise BundleConfigError(f"{where}: version {self.version!r}: {error}") from None
        if not isinstance(keep, int) or keep < 1:
            raise BundleConfigError(f"{where}: kwargs.keep must be a whole number >= 1")
        self.keep = keep
        self._syncer: Syncer | None = None

    # -- where the files are ---------------------------------------------------------------
    @property
    def sync_dir(self) -> Path:
        """The dag-processor's sync folder (objects, releases, snapshots, ``current``)."""
        return self.base_dir / "sync"

    @property
    def path(self) -> Path:
        if self.version is not None:
            return self.versions_dir / self.version / "snapshots" / self.version
        return self.sync_dir / "current"

    # -- Airflow's bundle protocol ----------------------------------------------------------
    def initialize(self) -> None:
        with self.lock():
            if self.version is not None:
                if not self.path.is_dir():
                    materialize_snapshot(
                        self.store, self.env, self.version, self.versions_dir / self.version
                    )
            else:
                self._sync()
        super().initialize()

    def refresh(self) -> None:
        if self.version is not None:
            raise BundleConfigError(
                f"bundle {self.name!r} is pinned to snapshot {self.version}: it is not refreshed"
            )
        with self.lock():
            self._sync()

    def get_current_version(self) -> BundleVersion | None:
        if self.version is not None:
            return BundleVersion(self.version)
        current = SyncDir(self.sync_dir).current_id()
        return BundleVersion(current) if current else None

    def _sync(self) -> None:
        """One sync cycle; a failure keeps the last good snapshot (and is logged)."""
        if self._syncer is None:
            self._syncer = Syncer(self.store, self.env, self.sync_dir, keep=self.keep)
        result = self._syncer.cycle()
        if result.error:
            log.warning("bundle %s (env %s): %s", self.name, self.env, result.error)
        if result.snapshot_id is None:
            raise SyncError(
                f"bundle {self.name!r}: no snapshot of env {self.env!r} yet: {result.error}"
            )
        if result.swapped:
            log.info("bundle %s: snapshot %s", self.name, result.snapshot_id)

    def __repr__(self) -> str:
        return f"PlatformDagBundle(name={self.name}, env={self.env}, version={self.version})"
