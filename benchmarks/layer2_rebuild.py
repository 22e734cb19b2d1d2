"""Layer-2 rebuild after one DAG file changes, against a clean Layer-2 build.

Builds a throw-away datakit-shaped context FROM layer1-airflow:latest twice on
the same machine in the same run:
  clean    `docker build --no-cache` (Layer 1 is in the local cache, as on a
           developer's machine after `make build`)
  rebuild  one DAG file edited, then `docker build` as `astro dev restart` does
and prints both times and their ratio. The seed design's target for a Layer-2
build is under 2 minutes; ours is a few seconds.

Usage: python benchmarks/layer2_rebuild.py [--image layer1-airflow:latest] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["bench"])
def bench_dag():
    @task
    def step() -> int:
        return {n}

    step()


bench_dag()
"""


def docker_cli() -> str:
    out = subprocess.run(
        [str(REPO / "scripts" / "find-buildkit-docker")], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def timed_build(cli: str, context: Path, tag: str, *, no_cache: bool) -> float:
    cmd = [cli, "build", "-q", "-t", tag, str(context)]
    if no_cache:
        cmd.insert(2, "--no-cache")
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="layer1-airflow:latest")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cli = docker_cli()
    tag = "adp-bench-layer2:latest"
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(f"FROM {args.image}\n")
        # A datakit with one system and one Python package of its own, as most have.
        (ctx / "requirements.txt").write_text("cowsay==6.1\n")
        (ctx / "packages.txt").write_text("jq\n")
        for folder in ("dags", "include", "plugins", "tests"):
            (ctx / folder).mkdir()
        (ctx / "dags" / "bench_dag.py").write_text(DAG.format(n=0))
        clean, rebuild = [], []
        for run in range(1, args.runs + 1):
            clean.append(timed_build(cli, ctx, tag, no_cache=True))
            (ctx / "dags" / "bench_dag.py").write_text(DAG.format(n=run))
            rebuild.append(timed_build(cli, ctx, tag, no_cache=False))
    subprocess.run([cli, "rmi", "-f", tag], capture_output=True)
    c, r = statistics.median(clean), statistics.median(rebuild)

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    print(f"Layer-2 build on {args.image} (+1 apt, +1 pip package), median of {args.runs} runs")
    print(f"  clean build (--no-cache):      {c:6.2f} s   runs: {runs(clean)}")
    print(f"  rebuild after one DAG change:  {r:6.2f} s   runs: {runs(rebuild)}")
    print(f"  ratio rebuild/clean:           {r / c:6.2f}")
    print("  seed design target: < 120 s")


if __name__ == "__main__":
    main()
