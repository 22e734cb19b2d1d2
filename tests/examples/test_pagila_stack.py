"""examples/pagila-sqlmodel-basic, run as its README's tutorial says, verbatim.

The example is copied where the README expects it (`examples/<name>/` of a platform
checkout whose `.venv` is this repository's own), and the tutorial's command block runs
as written: `adp dev start` builds the datakit FROM layer1-airflow:latest and starts the
Astro-shaped stack with the example's warehouse (its docker-compose.override.yml), two
DAG runs load day 1 and day 2, psql shows the history, and the datakit's own tests pass
inside its image. Then the warehouse is checked through `adp dev exec` (rows, history,
who wrote them) and the report task's result through Airflow's REST API. The stop block
of the README removes everything. Ports, state folder and compose project are the test's
own: a developer's stack is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from adp.airflow_api import AirflowClient, DagRun
from adp.dev.project import Datakit
from adp_test_servers.ports import free_port
from adp_test_servers.tools import project_tool
from adp_test_support import copy_example, strip_ansi

# The tutorial (image build, stack start, two runs, the suite in the image) runs in the
# module fixture's setup: give it more than the session's default per-test timeout.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

NAME = "pagila-sqlmodel-basic"
DAG_ID = "pagila_load"


def bash_blocks(readme: Path, heading: str) -> list[str]:
    """The ```bash blocks of the README section `heading` (up to the next ## heading)."""
    text = readme.read_text()
    assert f"\n## {heading}\n" in text, f"{readme}: no '## {heading}' section"
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.DOTALL)


@dataclass
class Tutorial:
    output: str
    root: Path
    project: Path
    env: dict[str, str]
    api_url: str

    def shell(
        self, script: str, cwd: Path | None = None, timeout: float = 600, stdout_only: bool = False
    ) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = strip_ansi(done.stdout + done.stderr)
        assert done.returncode == 0, f"{script}\nexited {done.returncode}:\n{output[-6000:]}"
        return strip_ansi(done.stdout) if stdout_only else output

    def sql(self, query: str) -> list[str]:
        adp = project_tool("adp")
        psql = f"psql -U pagila -d pagila -Atc {shlex.quote(query)}"
        out = self.shell(f"{adp} dev exec warehouse {psql}", stdout_only=True)
        return out.split()


@pytest.fixture(scope="module")
def tutorial(
    tmp_path_factory: pytest.TempPathFactory, layer1_image: str, docker_client: docker.DockerClient
) -> Iterator[Tutorial]:
    root = tmp_path_factory.mktemp("platform-checkout")
    (root / "examples").mkdir()
    project = copy_example(NAME, root / "examples", layer1_image)
    (root / ".venv").symlink_to(Path(project_tool("adp")).parent.parent)
    api_port = free_port()
    env = {
        **os.environ,
        "ADP_DEV_API_PORT": str(api_port),
        "ADP_DEV_POSTGRES_PORT": str(free_port()),
        "ADP_DEV_STATE_DIR": str(tmp_path_factory.mktemp("dev-state")),
    }
    env.pop("VIRTUAL_ENV", None)
    (block, *_) = bash_blocks(project / "README.md", "Tutorial")
    stop = bash_blocks(project / "README.md", "Tutorial")[-1]
    assert "adp dev start" in block and "adp dev stop --volumes" in stop
    running = Tutorial("", root, project, env, f"http://127.0.0.1:{api_port}")
    try:
        running.output = running.shell(block, cwd=root, timeout=1500)
        yield running
    finally:
        stopped = subprocess.run(
            ["bash", "-c", f"source ../../.venv/bin/activate && {stop}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        datakit = Datakit(project, NAME)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(datakit.image, force=True)
    # The README's stop block removed every container and volume of the stack.
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    label = f"com.docker.compose.project={datakit.compose_project}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert docker_client.volumes.list(filters={"label": label}) == []


def test_the_tutorial_runs_verbatim(tutorial: Tutorial) -> None:
    out = tutorial.output
    assert f"Airflow of {NAME} is up" in out, out[-4000:]
    assert "airflow_settings.yaml: 1 connections" in out, out[-4000:]
    assert len(re.findall(rf"run \S+ of {DAG_ID}: success", out)) == 2, out[-4000:]
    # The psql query of the tutorial: the three film versions day 2 replaced.
    history = re.findall(r"^\s+(\d+) \|\s+(\d+\.\d\d) \|", out, re.MULTILINE)
    assert history == [("2", "4.99"), ("9", "0.99"), ("16", "2.99")], out[-3000:]
    assert re.search(r"\d+ passed", out), out[-3000:]


def test_the_warehouse_holds_the_rows_and_their_history(tutorial: Tutorial) -> None:
    tables = (
        "pagila_actor",
        "pagila_film",
        "pagila_film_actor",
        "pagila_customer",
        "pagila_rental",
        "pagila_payment",
        "pagila_film_history",
        "pagila_customer_history",
        "pagila_rental_history",
    )
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    counts = {t: int(n) for t, n in (row.split("|") for row in tutorial.sql(union))}
    assert counts == {
        "pagila_actor": 12,
        "pagila_film": 20,
        "pagila_film_actor": 40,
        "pagila_customer": 15,
        "pagila_rental": 12,
        "pagila_payment": 12,
        "pagila_film_history": 3,
        "pagila_customer_history": 3,
        "pagila_rental_history": 2,
    }
    assert tutorial.sql(
        "SELECT film_id || ':' || rental_rate FROM pagila_film WHERE film_id IN (2, 9, 16) "
        "ORDER BY film_id"
    ) == ["2:5.99", "9:1.99", "16:3.99"]
    # Each old version ends where the current one starts: versions tile time.
    assert tutorial.sql(
        "SELECT bool_and(h.valid_to = f.systime) FROM pagila_film_history h "
        "JOIN pagila_film f USING (film_id)"
    ) == ["t"]
    assert tutorial.sql(
        "SELECT rental_id FROM pagila_rental_history WHERE return_date IS NULL ORDER BY 1"
    ) == ["102", "105"]
    # The database stamped every row with its session user, the connection's login.
    assert tutorial.sql("SELECT DISTINCT changed_by FROM pagila_customer") == ["pagila"]


def test_the_report_read_the_tables_as_they_were_before_the_load(tutorial: Tutorial) -> None:
    with AirflowClient(tutorial.api_url) as api:
        runs = api.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]
        (day2,) = [r for r in runs if (r.get("conf") or {}).get("day") == 2]
        answer = api.request(
            "GET",
            f"/api/v2/dags/{DAG_ID}/dagRuns/{day2['dag_run_id']}/taskInstances/report"
            "/xcomEntries/return_value",
            params={"deserialize": True},
        ).json()
        log = api.task_log(DagRun(DAG_ID, day2["dag_run_id"], day2["state"]), "report")
    value = answer["value"]
    report = json.loads(value) if isinstance(value, str) else value
    # The README shows the report's log lines: the task logged exactly those.
    readme = (tutorial.project / "README.md").read_text()
    shown = re.search(r"   ```\n   (Day 2: .*?)\n   ```", readme, re.DOTALL)
    assert shown, "README: the report's log excerpt of day 2 is missing"
    for line in shown.group(1).splitlines()[1:]:
        assert line.strip() in log, f"README shows {line.strip()!r}; the log:\n{log[-3000:]}"
    assert [(c["film_id"], c["before"], c["now"]) for c in report["price_changes"]] == [
        (2, "4.99", "5.99"),
        (9, "0.99", "1.99"),
        (16, "2.99", "3.99"),
    ]
    assert [m["customer_id"] for m in report["customer_moves"]] == [2, 8, 14]
    assert report["customers_left"] == []
    assert (report["films_before"], report["customers_before"]) == (20, 15)
    assert report["open_rentals"] == 10
