"""What the stack benchmarks share: the template's datakit in a running stack (`adp dev start`
with any extra compose files), a DAG file whose description names its version, and the wait
until the REST API shows a version."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml
from adp.airflow_api import AirflowClient
from adp.dev import stack as stack_lib
from adp.dev.project import find_datakit
from adp.dev.settings import DevSettings
from adp_test_servers.airflow_stack import release_store_override
from adp_test_servers.ports import free_port
from copier import run_copy

REPO = Path(__file__).resolve().parent.parent
DAG = """\
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", description="version {n}", schedule=None,
     start_date=datetime(2025, 1, 1), tags=["bench"],
     default_args={{"owner": "bench", "retries": 1}})
def {dag_id}():
    @task
    def hello() -> int:
        return {n}

    hello()


{dag_id}()
"""


def release_store(tmp: Path) -> list[Path]:
    """The compose override serving tmp/store (a local release store) as the platform's
    bundle, refresh_interval 30 s: what is measured is the re-parse request, not the interval.
    A `prepare` for `running_bench_stack`."""
    tmp.chmod(0o755)
    override = tmp / "release-store.override.yml"
    override.write_text(yaml.safe_dump(release_store_override(tmp / "store", refresh_interval=30)))
    return [override]


def dag_file(dag_id: str, n: int) -> str:
    """A valid DAG file `dag_id` whose description is "version <n>"."""
    return DAG.format(dag_id=dag_id, n=n)


@dataclass
class BenchStack:
    root: Path  # the datakit
    tmp: Path  # a scratch folder the benchmark may use (removed afterwards)
    url: str


@contextmanager
def running_bench_stack(
    prefix: str, prepare: Callable[[Path], Sequence[Path]] | None = None
) -> Iterator[BenchStack]:
    """The template's datakit `bench-kit` running with `adp dev start`; `prepare(tmp)` may
    return compose files to add (written in the scratch folder). Everything is removed after."""
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "bench-kit"
        run_copy(
            str(REPO),
            str(root),
            data={"datakit_name": "bench-kit", "kerberos": False},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
        )
        files = list(prepare(tmp)) if prepare else []
        stack = stack_lib.Stack(
            find_datakit(root),
            DevSettings(state_dir=tmp / "state"),
            api_port=free_port(),
            postgres_port=free_port(),
            extra_files=files,
        )
        report = stack_lib.start(stack, client)
        try:
            yield BenchStack(root, tmp, report.url)
        finally:
            stack_lib.stop(stack, volumes=True)
            client.images.remove(str(stack.image), force=True)


def wait_for_description(
    api: AirflowClient, dag_id: str, wanted: str, timeout: float = 180
) -> float:
    """Seconds until `GET /api/v2/dags/{dag_id}` shows `wanted` as the description."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answer = api.request("GET", f"/api/v2/dags/{dag_id}", ok=(404,))
        if answer.status_code == 200 and answer.json().get("description") == wanted:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"{dag_id} never showed {wanted!r} within {timeout} s")
