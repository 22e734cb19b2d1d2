"""The sync agent: the reader's side of DAG distribution (``adp sync``).

Invariant: ``<sync dir>/current`` is a symlink that only ever names a complete, verified
snapshot folder, and it changes only by one ``os.replace``. A snapshot folder holds one
symlink per package to a release folder; a release folder is built in a temporary folder from
hard links to content-addressed objects whose size and sha256 were checked against the
release's manifest (itself checked against the pointer's ``manifest_sha256``), renamed into
place, and never modified after. So a reader that resolves ``current`` once sees exactly one
snapshot, never a mix or a part; any failure (store errors, dropped or truncated bodies,
corrupt objects, a full disk) leaves ``current`` as it was. A snapshot's id is the sha256 of
its canonical document, recorded in the store at ``<env>/_snapshots/<id>.json`` (a prefix no
package can write: package names start with a letter), so ``materialize_snapshot`` rebuilds
exactly that snapshot anywhere.

Modules: ``settings`` (options and environment, checked at start), ``layout`` (the sync
folder, atomic writes and symlink swaps), ``objects`` (the content-addressed objects),
``snapshot`` (the snapshot document and its id), ``materialize`` (releases and snapshots on
disk), ``disk_space`` (a release that does not fit is its package's error), ``cycle`` (one
sync), ``prune`` (old snapshots), ``health`` (health.json and the HTTP endpoint), ``agent``
(the loop, backoff, ``--exec``). Pure library: no typer, no rich.
docs/dag-sync.md is the user's guide.
"""

from adp.sync.cycle import CycleResult, Syncer
from adp.sync.errors import SyncError
from adp.sync.materialize import materialize_release, materialize_snapshot
from adp.sync.snapshot import Snapshot, read_snapshot, record_snapshot

__all__ = [
    "CycleResult",
    "Snapshot",
    "SyncError",
    "Syncer",
    "materialize_release",
    "materialize_snapshot",
    "read_snapshot",
    "record_snapshot",
]
