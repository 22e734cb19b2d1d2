#!/usr/bin/env python3
"""Benchmark for decision 6 (per-DAG-type runtime images): is one image per type worth it?

Prints, without asserting anything:
  1. each runtime image's size next to one "union" image holding all their Python and Debian
     dependencies, built the same way (the shared runtime-environments/Dockerfile every type
     builds from, same base, same CA, same uv lock-and-sync, same multi-stage layout);
  2. the wall time of building every type in parallel (one build per core) against building
     them one after another.

Builds use --no-cache, so every layer is rebuilt, while BuildKit's cache mounts (apt .debs,
pip and uv wheels) stay warm: the situation of a CI runner that keeps its package caches.
Run from the repository root, about 5 minutes on 2 cores:
  .venv/bin/python benchmarks/runtime_images.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import replace
from pathlib import Path

from adp.images import builder, discovery, locking
from adp.images.config import load_config

UNION = "union-runner"


def make_union(
    runtimes: list[discovery.RuntimeType], where: Path, use_constraints: bool = True
) -> discovery.RuntimeType:
    """A type folder whose dependencies are the union of every runtime's."""
    folder = where / UNION
    folder.mkdir(parents=True, exist_ok=True)
    dependencies: list[str] = []
    airflow_constraints = False
    packages: list[str] = []
    for runtime in runtimes:
        project = tomllib.loads(runtime.pyproject.read_text())
        for dep in project["project"].get("dependencies", []):
            if dep not in dependencies:
                dependencies.append(dep)
        airflow_constraints |= locking.uses_airflow_constraints(runtime)
        for package in runtime.debian_packages():
            if package not in packages:
                packages.append(package)
    deps = "".join(f"  {json.dumps(d)},\n" for d in dependencies)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "adp-{UNION}"\ndynamic = ["version"]\n'
        f"dependencies = [\n{deps}]\n\n[tool.runtime-images]\n"
        f"airflow-constraints = {json.dumps(airflow_constraints and use_constraints)}\n"
    )
    (folder / "packages.txt").write_text("\n".join(packages) + "\n")
    # No runtime.dockerfile: the union builds from the shared Dockerfile as it is.
    (folder / "README.md").write_text("benchmark only\n")
    union = discovery.RuntimeType(name=UNION, path=folder)
    locking.lock(union)
    return union


def timed_build(runtimes, config, jobs: int, logs: Path) -> tuple[float, list]:
    options = builder.BuildOptions(no_cache=True, log_dir=logs)
    start = time.monotonic()
    results = builder.build_all(runtimes, config, options, jobs=jobs)
    return time.monotonic() - start, results


def mb(size: int | None) -> str:
    return "failed" if size is None else f"{size / 1e6:8.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=builder.default_jobs())
    parser.add_argument("--skip-timing", action="store_true", help="sizes only (faster)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    config = replace(load_config(), registry="", repo="adp-runtime-bench", version="bench")
    docker = builder.docker_client()
    runtimes = discovery.discover()
    work = Path(tempfile.mkdtemp(prefix="adp-bench-"))
    figures: dict[str, object] = {"types": [r.name for r in runtimes], "jobs": args.jobs}
    try:
        print(f"runtime types: {', '.join(r.name for r in runtimes)}; cores: {args.jobs}")
        if args.skip_timing:
            par_s, results = timed_build(runtimes, config, args.jobs, work / "par")
        else:
            print("building all types in parallel (--no-cache) ...", flush=True)
            par_s, results = timed_build(runtimes, config, args.jobs, work / "par")
            print("building all types one by one (--no-cache) ...", flush=True)
            seq_s, seq_results = timed_build(runtimes, config, 1, work / "seq")
            figures.update(parallel_s=round(par_s, 1), sequential_s=round(seq_s, 1))
            figures["sequential_per_type_s"] = {r.name: round(r.seconds, 1) for r in seq_results}
        print("building the union image (--no-cache) ...", flush=True)
        try:
            union = make_union(runtimes, work)
            figures["union_resolution"] = "under every type's constraints"
        except locking.LockError as exc:
            # A finding in itself: one image cannot hold what the types hold separately.
            reason = next(
                (line.strip() for line in str(exc).splitlines() if "depends on" in line), str(exc)
            )
            print(f"the union does not resolve under Airflow's constraints: {reason}")
            print("building the union without those constraints instead")
            figures["union_resolution"] = f"conflict under constraints: {reason}"
            union = make_union(runtimes, work, use_constraints=False)
        union_s, (union_result,) = timed_build([union], config, 1, work / "union")

        failed = [r for r in [*results, union_result] if not r.ok]
        for r in failed:
            print(f"FAILED {r.name}: {r.log}\n{r.error}", file=sys.stderr)

        base = builder.image_size(docker, config.image_python) or 0
        sizes = {r.name: r.size_bytes for r in results}
        print()
        print(f"{'image':<22}{'size':>11}{'  vs union':>11}")
        for name, size in sizes.items():
            share = (
                f"{100 * size / union_result.size_bytes:9.0f} %" if size and union_result.ok else ""
            )
            print(f"{name:<22}{mb(size):>11}{share:>11}")
        print(f"{UNION:<22}{mb(union_result.size_bytes):>11}{'100 %':>11}")
        print(f"{'(base image)':<22}{mb(base):>11}")
        ok_sizes = [s for s in sizes.values() if s]
        if ok_sizes:
            # Layers below the runtime stage (base, CA) are stored and pulled once per node.
            stored = base + sum(s - base for s in ok_sizes)
            print(f"{'sum of all types':<22}{mb(sum(ok_sizes)):>11}")
            print(f"{'  stored once (≈)':<22}{mb(stored):>11}   base layers shared")
            figures["stored_once_bytes"] = stored
        figures["sizes_bytes"] = {**sizes, UNION: union_result.size_bytes, "base": base}
        figures["union_build_s"] = round(union_s, 1)
        print()
        if not args.skip_timing:
            print(f"parallel build, {args.jobs} jobs: {par_s:7.1f} s")
            print(f"sequential build:        {seq_s:7.1f} s   (speed-up x{seq_s / par_s:.2f})")
        print(f"union image build:       {union_s:7.1f} s")
        if args.json:
            print(json.dumps(figures, indent=2))
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        tags = [config.tag_for(r.name) for r in runtimes] + [config.tag_for(UNION)]
        subprocess.run([docker, "rmi", "-f", *tags], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
