"""The sync agent against ``aws s3 sync --delete --exact-timestamps`` (the seed's sidecar),
side by side in one run against the same S3-compatible server on loopback (moto's server).

One package of ``--files`` files of 2 KB (default 2,000, the FACTS.md anchor's corpus). The
seed's sidecar starts ``aws s3 sync`` as a new process every cycle and syncs a flat prefix in
place; the agent is one long-running process (``adp.sync.Syncer``) that moves a pointer. Both
are measured per cycle (median of ``--runs``): a full download into an empty folder, a cycle
with nothing changed and a cycle with one file changed; ``adp sync --once`` as a whole process
is printed too. awscli comes from PyPI, into a venv of its own (``AWSCLI``), as the seed
installs it.

Usage: python benchmarks/dag_sync.py [--files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adp.releases.s3_store import S3Store
from adp.sync import Syncer
from adp_test_helpers.sync_support import CountingStore, publish_files
from adp_test_servers.s3 import cache_dir, running_s3
from adp_test_servers.tools import project_tool

AWSCLI = "awscli==1.46.3"
GOALS = {"nothing changed": 20, "one file changed": 5, "full download": 2}


def awscli() -> str:
    """The aws command of a venv made once for AWSCLI."""
    venv = cache_dir() / f"awscli-{AWSCLI.split('==')[1]}"
    aws = venv / "bin" / "aws"
    if not aws.exists():
        uv = project_tool("uv")
        env = {**os.environ, "UV_SYSTEM_CERTS": "1"}
        subprocess.run([uv, "venv", "--quiet", "--clear", str(venv)], check=True, env=env)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), AWSCLI],
            check=True,
            env=env,
        )
    return str(aws)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    aws = awscli()
    with tempfile.TemporaryDirectory() as temp, running_s3(Path(temp) / "moto") as s3:
        os.environ.update(s3.env)
        s3.create_bucket("bench")
        store = CountingStore(S3Store("bench", s3.endpoint))
        files = {f"sales_{n:05d}.py": os.urandom(1024).hex().encode() for n in range(args.files)}
        publish_files(store, "dev", "sales", "v0", files)
        # The seed's layout: the same files, flat under seed/dev/sales/, changed in place.
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda p: store.put_new(f"seed/dev/sales/{p}", files[p]), files))
        seed_dst = Path(temp) / "seed"

        def aws_sync() -> None:
            subprocess.run(
                [aws, "s3", "sync", "s3://bench/seed/dev/", str(seed_dst), "--delete",
                 "--exact-timestamps", "--endpoint-url", s3.endpoint, "--only-show-errors"],
                check=True,
            )  # fmt: skip

        sync_dir = Path(temp) / "sync"
        syncer = Syncer(store, "dev", sync_dir)
        once = [
            sys.executable, "-m", "adp.cli.main", "sync", "--once", "--store", "s3://bench",
            "--env", "dev", "--sync-dir", str(sync_dir), "--no-record-snapshots",
        ]  # fmt: skip
        ours: dict[str, list[float]] = {k: [] for k in GOALS}
        theirs: dict[str, list[float]] = {k: [] for k in GOALS}
        whole_process: list[float] = []
        calls: dict[str, int] = {}
        for run in range(1, args.runs + 1):
            shutil.rmtree(seed_dst, ignore_errors=True)
            shutil.rmtree(sync_dir, ignore_errors=True)
            syncer = Syncer(store, "dev", sync_dir)
            theirs["full download"].append(timed(aws_sync))
            ours["full download"].append(timed(syncer.cycle))
            theirs["nothing changed"].append(timed(aws_sync))
            store.calls.clear()
            ours["nothing changed"].append(timed(syncer.cycle))
            calls = dict(store.calls)
            whole_process.append(timed(lambda: subprocess.run(once, check=True)))
            changed = f"# run {run}\n".encode() * 100
            files["sales_00000.py"] = changed
            store.inner.client.put_object(
                Bucket="bench", Key="seed/dev/sales/sales_00000.py", Body=changed
            )
            publish_files(store, "dev", "sales", f"v{run}", files)
            theirs["one file changed"].append(timed(aws_sync))
            ours["one file changed"].append(timed(syncer.cycle))
        print(f"{args.files} files of 2 KB, moto on loopback, median of {args.runs} runs")
        print(f"{'cycle':<18}{'adp sync':>12}{'aws s3 sync':>14}{'speed-up':>11}{'goal':>8}")
        for name, goal in GOALS.items():
            a, b = statistics.median(ours[name]), statistics.median(theirs[name])
            print(f"{name:<18}{a * 1000:>10.0f}ms{b * 1000:>12.0f}ms{b / a:>10.1f}x{goal:>7}x")
        print(f"adp sync --once as a whole process (nothing changed): "
              f"{statistics.median(whole_process) * 1000:.0f} ms; requests per no-change cycle: "
              f"{calls}")  # fmt: skip
        print("FACTS.md anchor (aws s3 sync, idle machine): 1.04 s, 1.2 s, 8.6 s")


if __name__ == "__main__":
    main()
