"""The sync agent against an S3-compatible server on loopback (moto's server): one package of
``--files`` files of 2 KB (default 2,000, the FACTS.md anchor's corpus), synced by
``adp.sync.Syncer``. Measures the full download, a cycle with nothing changed and a cycle with
one file changed (median of ``--runs``), with the number of HTTP requests of the no-change
cycle, next to the anchor (``aws s3 sync ... --delete --exact-timestamps`` over the same
corpus: nothing changed 1.04 s, one file changed 1.2 s, full download 8.6 s).

Usage: python benchmarks/dag_sync.py [--files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from adp.releases.s3_store import S3Store
from adp.sync import Syncer
from adp_test_servers.s3 import running_s3

ANCHOR = "aws s3 sync (FACTS.md): nothing changed 1.04 s, one file changed 1.2 s, full 8.6 s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "platform-cli/tests/sync"))
    from sync_support import CountingStore, publish_files

    with tempfile.TemporaryDirectory() as temp, running_s3(Path(temp) / "moto") as s3:
        os.environ.update(s3.env)
        s3.create_bucket("bench")
        store = CountingStore(S3Store("bench", s3.endpoint))
        files = {f"sales_{n:05d}.py": os.urandom(1024).hex().encode() for n in range(args.files)}
        publish_files(store, "dev", "sales", "v0", files)
        syncer = Syncer(store, "dev", Path(temp) / "sync")
        started = time.perf_counter()
        first = syncer.cycle()
        full = time.perf_counter() - started
        assert first.status == "ok" and first.downloaded == args.files
        unchanged, changed, calls = [], [], {}
        for run in range(1, args.runs + 1):
            store.calls.clear()
            started = time.perf_counter()
            result = syncer.cycle()
            unchanged.append(time.perf_counter() - started)
            assert result.downloaded == 0 and not result.swapped
            calls = dict(store.calls)
            files["sales_00000.py"] = f"# run {run}\n".encode() * 100
            publish_files(store, "dev", "sales", f"v{run}", files)
            started = time.perf_counter()
            result = syncer.cycle()
            changed.append(time.perf_counter() - started)
            assert result.downloaded == 1 and result.swapped
        print(f"{args.files} files of 2 KB, moto on loopback, {args.runs} runs")
        print(f"full download:     {full:.2f} s")
        print(f"nothing changed:   median {statistics.median(unchanged) * 1000:.1f} ms {calls}")
        print(f"one file changed:  median {statistics.median(changed) * 1000:.1f} ms")
        print(f"anchor: {ANCHOR}")


if __name__ == "__main__":
    main()
