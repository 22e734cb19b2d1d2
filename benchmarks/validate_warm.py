"""validate() of a 1-DAG folder in a long-running process, without and with an ImportStandby.

The webhook receiver (`adp repos serve`) validates every pushed commit in one process. Without
a standby each validation starts a fresh import worker (a new interpreter that imports
Airflow: seconds of CPU); given an ``ImportStandby`` it takes a worker started in advance, which
has imported Airflow while the process waited for the push. Pushes are spaced, so the runs are
too: --gap seconds of sleep before each run (the standby warms meanwhile).

Measures the wall time of ``validate([folder], ValidationOptions(package="bench"))`` (every
rule, the import check included), --runs times each way, and prints the medians side by side
with the goal (push -> promoted within 2 s for a small repository; validation is the biggest
part of it, fetching and promoting come on top). Also: min and max, and how many runs took a
standby, and each run's time (a standby taken before it has finished importing Airflow saves
only part of the start-up: try a larger --gap). The generated DAG follows every rule: a finding
is printed as a bug. Asserts nothing about timing.

Usage (from the repository root):
  .venv/bin/python benchmarks/validate_warm.py [--runs 10] [--gap 1.0] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adp.validation import ImportStandby, Report, ValidationOptions, validate
from dags_validate import PACKAGE, dag_file, summary, versions, warn_if_found

GOAL_S = 2.0
GOAL_CORES = 2


def timed_runs(
    folder: Path,
    options: ValidationOptions,
    runs: int,
    gap: float,
    standby: ImportStandby | None = None,
) -> list[float]:
    times = []
    report: Report | None = None
    for _ in range(runs):
        time.sleep(gap)
        start = time.perf_counter()
        report = validate([folder], options, standby)
        times.append(time.perf_counter() - start)
    assert report is not None
    each = " ".join(f"{seconds:.2f}" for seconds in times)
    print(f"  each run (s): {each}")
    print(f"  findings of the last run: {summary(report)}; DAGs: {len(report.dags)}")
    warn_if_found(report)
    return times


def row(what: str, times: list[float], note: str = "") -> str:
    median = statistics.median(times)
    met = "goal met" if median <= GOAL_S else "goal not met"
    return (
        f"  {what:<34}{median:9.2f}{min(times):8.2f}{max(times):8.2f}   "
        f"<= {GOAL_S:g} s: {met}{note}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="validations each way")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds of sleep before each")
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: CPUs)")
    args = parser.parse_args()
    if args.runs < 1 or args.gap < 0:
        parser.error("--runs must be at least 1 and --gap not negative")

    work = Path(tempfile.mkdtemp(prefix="adp-bench-warm-"))
    folder = work / "dags"
    folder.mkdir()
    name, text = dag_file(0)
    (folder / name).write_text(text, encoding="utf-8")
    options = ValidationOptions(package=PACKAGE, jobs=args.jobs)
    print(
        f"1 generated DAG file in {folder}; os.cpu_count() {os.cpu_count()}; {args.runs} runs "
        f"each way, {args.gap:g} s sleep before each"
    )
    print(f"Python {sys.version.split()[0]}; {versions()}\n")
    try:
        print("no standby (a fresh worker per run) ...", flush=True)
        cold = timed_runs(folder, options, args.runs, args.gap)
        print("an ImportStandby (each run takes its worker, the next one starts) ...", flush=True)
        with ImportStandby() as standby:
            before = standby.stats()
            warm = timed_runs(folder, options, args.runs, args.gap, standby)
            after = standby.stats()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hits, misses = after.hits - before.hits, after.misses - before.misses
    print(f"\n  {'validate(), 1 DAG file':<34}{'median':>9}{'min':>8}{'max':>8}   goal")
    print(row("no standby", cold))
    print(row("ImportStandby", warm, f" (standby taken {hits}/{args.runs}, missed {misses})"))
    cores = os.cpu_count()
    on = "" if cores == GOAL_CORES else f"; measured on {cores} cores"
    print(
        f"median {statistics.median(cold):.2f} s -> {statistics.median(warm):.2f} s with "
        f"an ImportStandby (goal: push -> promoted <= {GOAL_S:g} s on {GOAL_CORES} cores, "
        f"validation included){on}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
