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
import tempfile
import time
from pathlib import Path

import docker
from adp.dev import stack as stack_lib
from adp.dev.api import AirflowClient
from adp.dev.project import find_datakit
from adp.dev.settings import DevSettings
from adp_test_servers.ports import free_port
from copier import run_copy

REPO = Path(__file__).resolve().parent.parent
ANCHOR = "new file, same settings (FACTS.md): median 5.5 s, 1.1-5.7 s"
DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="bench_edit", description="version {n}", schedule=None,
     start_date=datetime(2025, 1, 1), tags=["bench"],
     default_args={{"owner": "bench", "retries": 1}})
def bench_edit():
    @task
    def hello() -> int:
        return {n}

    hello()


bench_edit()
"""


def wait_for_description(api: AirflowClient, wanted: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answer = api.request("GET", "/api/v2/dags/bench_edit", ok=(404,))
        if answer.status_code == 200 and answer.json().get("description") == wanted:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"the DAG never showed {wanted!r} within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="bench-dag-edit-") as tmp:
        root = Path(tmp) / "bench-kit"
        run_copy(
            str(REPO),
            str(root),
            data={"datakit_name": "bench-kit", "kerberos": False},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
        )
        settings = DevSettings(state_dir=Path(tmp) / "state")
        stack = stack_lib.Stack(
            find_datakit(root), settings, api_port=free_port(), postgres_port=free_port()
        )
        report = stack_lib.start(stack, client)
        try:
            dag_file = root / "dags" / "bench_edit.py"
            with AirflowClient(report.url) as api:
                dag_file.write_text(DAG.format(n=0))
                wait_for_description(api, "version 0")
                times = []
                for n in range(1, args.runs + 1):
                    time.sleep(3.5)  # past min_file_process_interval since the last parse
                    dag_file.write_text(DAG.format(n=n))
                    times.append(wait_for_description(api, f"version {n}"))
        finally:
            stack_lib.stop(stack, volumes=True)
            client.images.remove(str(stack.image), force=True)
    print(f"DAG file edited in a running stack until parsed ({args.runs} runs)")
    print(
        f"  this platform (adp dev, astro shape): median {statistics.median(times):.1f} s, "
        f"min {min(times):.1f} s, max {max(times):.1f} s"
    )
    print(f"  anchor, {ANCHOR}")


if __name__ == "__main__":
    main()
