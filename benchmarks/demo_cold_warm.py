"""`make demo` cold (empty Docker cache) and warm, step by step, against the goal.

cold  every image the demo builds or uses is removed first (the offline base, the oss
      runtime, Layer 1, the offline PostgreSQL, the datakit image) and BuildKit's cache
      is pruned: what a fresh machine pays once, after its Debian packages and .venv.
warm  `make demo` again right after: what every later run pays.
The goal (issue 9) is under 5 minutes cold on 2 cores. Each row is one step of
scripts/demo, as it prints them.

The cold run deletes those images and the whole BuildKit cache of this machine's Docker
engine: it asks for --cold explicitly.

Usage: python benchmarks/demo_cold_warm.py [--cold] [--keep-running]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from adp import facts
from adp.dev.postgres import OFFLINE_IMAGE

REPO = Path(__file__).resolve().parent.parent
GOAL_COLD_S = 300
FACTS = facts.load()
IMAGES = (
    "layer1-airflow:latest",
    f"layer1-airflow:{FACTS.PLATFORM_VERSION}",
    f"adp-airflow-runtime:{FACTS.AIRFLOW_VERSION}-python-{FACTS.PYTHON_VERSION}",
    FACTS.IMAGE_PYTHON,
    OFFLINE_IMAGE,
)
STEP = re.compile(r"==> \[\s*(\d+)s\] (.*?)\x1b|==> \[\s*(\d+)s\] (.*)$")


def run_demo() -> tuple[float, list[tuple[str, int]]]:
    started = time.monotonic()
    done = subprocess.run(
        ["make", "-C", str(REPO), "demo"], capture_output=True, text=True, check=False
    )
    total = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"make demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    marks: list[tuple[str, int]] = []
    for line in done.stdout.splitlines():
        match = STEP.search(line)
        if match:
            seconds = int(match.group(1) or match.group(3))
            marks.append(((match.group(2) or match.group(4)).strip(), seconds))
    steps = [(name, marks[i + 1][1] - at) for i, (name, at) in enumerate(marks[:-1])]
    return total, steps


def empty_docker_cache() -> None:
    subprocess.run(["make", "-C", str(REPO), "demo-stop"], capture_output=True, check=False)
    datakit_images = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    doomed = [*IMAGES, *(i for i in datakit_images if i.startswith("demo-datakit-"))]
    subprocess.run(["docker", "rmi", "-f", *doomed], capture_output=True, check=False)
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="empty the Docker cache first")
    parser.add_argument("--keep-running", action="store_true", help="leave the demo running")
    args = parser.parse_args()
    runs: dict[str, tuple[float, list[tuple[str, int]]]] = {}
    if args.cold:
        empty_docker_cache()
        runs["cold"] = run_demo()
    runs["warm"] = run_demo()
    names = [name for name, _ in next(iter(runs.values()))[1]]
    print(f"\nmake demo on {os.cpu_count()} cores (seconds per step)")
    print(f"{'step':<78} " + " ".join(f"{k:>6}" for k in runs))
    for i, name in enumerate(names):
        print(f"{name[:78]:<78} " + " ".join(f"{r[1][i][1]:>6}" for r in runs.values()))
    print(f"{'total (wall)':<78} " + " ".join(f"{r[0]:>6.0f}" for r in runs.values()))
    print(f"{'goal, cold':<78} {GOAL_COLD_S:>6}")
    if not args.keep_running:
        subprocess.run(["make", "-C", str(REPO), "demo-stop"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
