"""Faults between the agent and S3 (moto behind a loopback proxy that answers 500, drops
connections mid-body or truncates bodies), corrupt objects in the bucket, and a reader that
reads the whole tree through ``current`` all along: it never sees a mixed or partial tree, and
the last good snapshot stays through every failure."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import boto3
import pytest
from adp.releases.s3_store import S3Store
from adp.sync import Syncer
from adp.sync.agent import Agent
from adp.sync.health import read_health
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import publish_files, read_current
from adp_test_servers.fault_proxy import FaultProxy
from adp_test_servers.s3 import S3Server
from botocore.config import Config


def proxied_store(server: S3Server, proxy: FaultProxy) -> S3Store:
    """The agent's store through the proxy; botocore's own retries off, so every injected
    fault reaches the agent (its retry is the next cycle)."""
    config = Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=16)
    client = boto3.client("s3", endpoint_url=proxy.endpoint, config=config)
    return S3Store(new_bucket(server), proxy.endpoint, client=client)


def files_of(package: str, version: int, count: int = 20) -> dict[str, bytes]:
    return {
        f"{package}_{n:02d}.py": f"# {package} v{version} file {n}\n".encode() for n in range(count)
    }


@pytest.mark.parametrize("mode", ["500", "drop", "truncate"])
def test_a_faulty_server_leaves_the_last_good_snapshot_and_health_names_the_error(
    s3_env: S3Server, proxy: FaultProxy, tmp_path: Path, mode: str
) -> None:
    store = proxied_store(s3_env, proxy)
    publish_files(store, "dev", "sales", "v1", files_of("sales", 1))
    agent = Agent(Syncer(store, "dev", tmp_path / "sync"), interval=30)
    assert agent.run_cycle().status == "ok"
    before = read_current(tmp_path / "sync")
    publish_files(store, "dev", "sales", "v2", files_of("sales", 2))
    proxy.mode, proxy.faults = mode, 1000
    result = agent.run_cycle()
    assert result.status == "failed" and not result.swapped and proxy.injected > 0
    assert read_current(tmp_path / "sync") == before
    health = read_health(tmp_path / "sync" / "health.json")
    assert health["status"] == "failed" and health["last_error"]
    assert health["snapshot"] == result.snapshot_id
    assert not list((tmp_path / "sync").rglob(".tmp-*"))  # no temporary left behind
    proxy.faults = 0
    assert agent.run_cycle().status == "ok"
    assert read_current(tmp_path / "sync") == {
        f"sales/{k}": v for k, v in files_of("sales", 2).items()
    }


@pytest.mark.slow
def test_a_reader_never_sees_a_mixed_or_partial_tree_through_faults_and_publications(
    s3_env: S3Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    store = proxied_store(s3_env, proxy)
    sync_dir = tmp_path / "sync"
    packages = ("sales", "hr")
    published: dict[str, dict[int, dict[str, bytes]]] = {p: {} for p in packages}
    bad: dict[str, set[int]] = {p: set() for p in packages}
    for package in packages:
        published[package][0] = files_of(package, 0)
        publish_files(store, "dev", package, "v0", published[package][0])
    agent = Agent(Syncer(store, "dev", sync_dir), interval=30)
    assert agent.run_cycle().status == "ok"

    stop = threading.Event()
    reads: list[dict[str, bytes]] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                reads.append(read_current(sync_dir))
            except OSError as error:  # a vanished file is a partial tree too
                problems.append(f"read failed: {error}")

    rounds = 13  # every 4th version is corrupt in the bucket; the last one is good

    def publisher() -> None:
        for version in range(1, rounds + 1):
            for package in packages:
                files = files_of(package, version)
                corrupt = f"{package}_07.py" if version % 4 == 0 else None
                if corrupt:
                    bad[package].add(version)
                published[package][version] = files
                publish_files(store, "dev", package, f"v{version}", files, corrupt=corrupt)
            time.sleep(0.05)

    threads = [threading.Thread(target=reader), threading.Thread(target=publisher)]
    for thread in threads:
        thread.start()
    results = []
    faults = itertools.cycle(["", "500", "drop", "truncate"])
    while threads[1].is_alive() or len(reads) < 2000:
        mode = next(faults)
        proxy.mode, proxy.faults = mode, (3 if mode else 0)
        results.append(agent.run_cycle())
        if mode:
            health = read_health(sync_dir / "health.json")
            assert health is not None
            if results[-1].status != "ok":
                assert health["last_error"]
    proxy.faults = 0
    results.append(agent.run_cycle())
    stop.set()
    threads[0].join()
    threads[1].join()

    swapped = {tuple(sorted((p, r.version) for p, r in x.packages.items())) for x in results}
    swapped.add((("hr", "v0"), ("sales", "v0")))
    assert not problems
    assert len(reads) >= 2000
    distinct = set()
    for tree in reads:
        seen = []
        for package in packages:
            mine = {k.split("/", 1)[1]: v for k, v in tree.items() if k.startswith(package + "/")}
            matches = [v for v, files in published[package].items() if files == mine]
            assert len(matches) == 1, f"{package}: a tree of no single release: {sorted(mine)}"
            assert matches[0] not in bad[package], f"{package} v{matches[0]} is corrupt"
            seen.append((package, f"v{matches[0]}"))
        assert tuple(sorted(seen)) in swapped
        distinct.add(tuple(sorted(seen)))
    assert len(distinct) >= 3, "the reader saw too few swaps to prove anything"
    assert any(r.status != "ok" for r in results), "no fault reached the agent"
    last = results[-1]
    assert last.status == "ok"
    assert {p: r.version for p, r in last.packages.items()} == {p: f"v{rounds}" for p in packages}
    assert read_current(sync_dir) == {
        f"{p}/{k}": v for p in packages for k, v in published[p][rounds].items()
    }
