"""A DAG file edited in a running stack, until Airflow has parsed the new version.

Starts the template's datakit with `adp dev start` (the newer Astro CLI's shape: the
dag-processor refreshes every 2 s, re-parses a file at most every 3 s), then edits one
DAG file in the mounted dags/ folder, --runs times, and measures from the save to the
moment the REST API (`GET /api/v2/dags/{id}`) shows the new description. Prints the
median, min and max next to the anchor measured on this machine for a *new* file with
the same settings (FACTS.md: 1.1-5.7 s, median 5.5 s, 5 tries).

Usage: python benchmarks/dag_edit_pickup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from adp.airflow_api import AirflowClient
from bench_stack import dag_file, running_bench_stack, wait_for_description

ANCHOR = "new file, same settings (FACTS.md): median 5.5 s, 1.1-5.7 s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with running_bench_stack("bench-dag-edit-") as bench:
        path = bench.root / "dags" / "bench_edit.py"
        with AirflowClient(bench.url) as api:
            path.write_text(dag_file("bench_edit", 0))
            wait_for_description(api, "bench_edit", "version 0")
            times = []
            for n in range(1, args.runs + 1):
                time.sleep(3.5)  # past min_file_process_interval since the last parse
                path.write_text(dag_file("bench_edit", n))
                times.append(wait_for_description(api, "bench_edit", f"version {n}"))
    print(f"DAG file edited in a running stack until parsed ({args.runs} runs)")
    print(
        f"  this platform (adp dev, astro shape): median {statistics.median(times):.1f} s, "
        f"min {min(times):.1f} s, max {max(times):.1f} s"
    )
    print(f"  anchor, {ANCHOR}")


if __name__ == "__main__":
    main()
