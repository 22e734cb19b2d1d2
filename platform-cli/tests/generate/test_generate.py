"""`adp dags generate` end to end through typer's runner: the generated folder is born valid
(the real validation, once for the module: zero errors, zero warnings), `ruff format`-clean and
accepted by `adp dags publish`; every value reads back from the file as the spec wrote it; and
the folder is guarded: a bad spec, a hand-written or hand-edited file, drift under --check."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
import yaml
from adp.cli.main import app
from adp.generate.render import read_header
from adp.validation import Report, ValidationOptions, validate
from adp.validation.scanners import ruff_binary
from typer.testing import CliRunner

runner = CliRunner()

TRICKY = 'it\'s "quoted" \'\'\' """ back\\slash\nnew line {{ ds }} é'
SPEC: dict = {
    "package": "sales",
    "image": {"repository": "registry.example.com/sales/jobs", "tag": "from-the-spec"},
    "owner": "sales-data",
    "tags": ["sales-team"],
    "namespace": "airflow-jobs",
    "jobs": [
        {
            "name": "load-orders",
            "description": TRICKY,
            "schedule": "@daily",
            "command": ["python", "-m", "sales.load_orders"],
            "arguments": ["--date", "{{ ds }}", TRICKY],
            "env": {"LOG_LEVEL": "info", "QUOTED": TRICKY},
            "resources": {
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"memory": "1Gi"},
            },
            "retries": 3,
            "tags": ["orders"],
            "timeout_minutes": 90,
        },
        {"name": "weekly_report", "schedule": "30 2 * * 1", "owner": "reporting"},
        {"name": "backfill", "schedule": None, "arguments": ["--all"]},
    ],
}
FILES = ["sales_backfill.py", "sales_load_orders.py", "sales_weekly_report.py"]


def adp(*args: str):
    return runner.invoke(app, ["dags", *args])


def write_spec(folder: Path, data: dict, name: str = "kpo-dags.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder / name


def listing(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: the spec, and dags/ generated from it with the tag CI injects."""
    root = tmp_path_factory.mktemp("project")
    spec = write_spec(root, SPEC)
    result = adp("generate", str(spec), "--out", str(root / "dags"), "--image-tag", "ci-4f2a9c1")
    assert result.exit_code == 0, result.output
    assert "3 file(s) written or deleted, 0 unchanged" in result.output
    return root


@pytest.fixture(scope="module")
def report(generated: Path) -> Report:
    """The real validation of the generated folder (once: the import check takes seconds)."""
    return validate([str(generated / "dags")], ValidationOptions(package="sales"))


@pytest.fixture
def project(tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the generated project, in the current folder (default spec and --out)."""
    for path in generated.rglob("*"):
        if path.is_file():
            target = tmp_path / path.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def kpo_call(path: Path) -> tuple[dict[str, ast.expr], dict[str, ast.expr], dict[str, object]]:
    """The @dag decorator's and the KubernetesPodOperator's keywords, and the module's
    constants, from the file's syntax tree (nothing imported)."""
    tree = ast.parse(path.read_text())
    (function,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    (decorator,) = function.decorator_list
    assert isinstance(decorator, ast.Call)
    (statement,) = function.body
    assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    assert ast.unparse(statement.value.func) == "KubernetesPodOperator"
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    decorator_keywords = {k.arg: k.value for k in decorator.keywords if k.arg}
    operator_keywords = {k.arg: k.value for k in statement.value.keywords if k.arg}
    return decorator_keywords, operator_keywords, constants


@pytest.mark.slow
def test_the_generated_folder_is_born_valid(report: Report) -> None:
    assert report.findings == [], "\n".join(
        f"{f.location()}: {f.rule} {f.message}" for f in report.findings
    )
    assert sorted(d.dag_id for d in report.dags) == [
        "sales_backfill",
        "sales_load_orders",
        "sales_weekly_report",
    ]
    assert sorted(Path(d.path).name for d in report.dags) == FILES


def test_the_generated_files_are_ruff_format_clean(generated: Path) -> None:
    checked = subprocess.run(
        [ruff_binary(), "format", "--check", "--diff", str(generated / "dags")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_image_tag_override_lands_in_every_file(generated: Path) -> None:
    for name in FILES:
        _, operator, constants = kpo_call(generated / "dags" / name)
        assert constants["IMAGE"] == "registry.example.com/sales/jobs:ci-4f2a9c1", name
        assert ast.unparse(operator["image"]) == "IMAGE"
        assert "from-the-spec" not in (generated / "dags" / name).read_text()


def test_every_value_reads_back_as_the_spec_wrote_it(generated: Path) -> None:
    dag, operator, _ = kpo_call(generated / "dags" / "sales_load_orders.py")
    value = ast.literal_eval
    assert value(dag["dag_id"]) == "sales_load_orders"
    assert value(dag["description"]) == TRICKY
    assert value(dag["schedule"]) == "@daily"
    assert value(dag["tags"]) == ["sales", "sales-team", "orders", "kubernetes"]
    default_args = dag["default_args"]
    assert isinstance(default_args, ast.Dict)
    args = {value(k): v for k, v in zip(default_args.keys, default_args.values, strict=True)}
    assert (value(args["owner"]), value(args["retries"])) == ("sales-data", 3)
    assert value(operator["task_id"]) == "load_orders"
    assert value(operator["name"]) == "sales-load-orders"
    assert value(operator["namespace"]) == "airflow-jobs"
    assert value(operator["cmds"]) == ["python", "-m", "sales.load_orders"]
    assert value(operator["arguments"]) == ["--date", "{{ ds }}", TRICKY]
    assert value(operator["env_vars"]) == {"LOG_LEVEL": "info", "QUOTED": TRICKY}
    resources = ast.unparse(operator["container_resources"])
    assert "requests={'cpu': '500m', 'memory': '512Mi'}" in resources
    assert "limits={'memory': '1Gi'}" in resources
    assert ast.unparse(operator["execution_timeout"]) == "timedelta(minutes=90)"
    # the job-level owner wins; a job without one takes the spec's; no command: the image's
    weekly, _, _ = kpo_call(generated / "dags" / "sales_weekly_report.py")
    assert "'owner': 'reporting'" in ast.unparse(weekly["default_args"])
    _, backfill, _ = kpo_call(generated / "dags" / "sales_backfill.py")
    assert "cmds" not in backfill and value(backfill["arguments"]) == ["--all"]


def test_every_file_carries_the_header_naming_the_spec(generated: Path) -> None:
    for name in FILES:
        text = (generated / "dags" / name).read_text()
        header = read_header(text)
        assert header is not None and header.intact and header.spec == "../kpo-dags.yaml"
        assert text.startswith("# Generated by `adp dags generate`: edit the spec, not this file.")


@pytest.mark.slow
def test_adp_dags_publish_accepts_the_generated_folder(project: Path) -> None:
    store = ["--bucket", str(project / "store"), "--env", "dev"]
    result = adp("publish", *store, "--package", "sales", "--path", "dags", "--version", "v1")
    assert result.exit_code == 0, result.output
    assert "published dev/sales v1 (3 file(s), 3 DAG(s))" in result.output
    release = project / "store" / "dev" / "sales" / "releases" / "v1" / "files"
    assert sorted(p.name for p in release.iterdir()) == FILES


def test_generating_again_changes_nothing_and_check_passes(project: Path) -> None:
    before = listing(project / "dags")
    again = adp("generate", "--image-tag", "ci-4f2a9c1")  # the defaults: kpo-dags.yaml, dags/
    assert again.exit_code == 0, again.output
    assert "0 file(s) written or deleted, 3 unchanged" in again.output
    assert listing(project / "dags") == before
    checked = adp("generate", "--check", "--image-tag", "ci-4f2a9c1")
    assert checked.exit_code == 0 and "up to date: 3 file(s)" in checked.output


def test_check_detects_drift_and_writes_nothing(project: Path) -> None:
    before = listing(project / "dags")
    drift = adp("generate", "--check")  # the spec's tag, not the one the files carry
    assert drift.exit_code == 1, drift.output
    assert "out of date: 3 file(s)" in drift.output
    data = {**SPEC, "jobs": SPEC["jobs"][:2]}
    write_spec(project, data)  # a job removed: its file is stale
    (project / "dags" / "sales_load_orders.py").write_text(
        (project / "dags" / "sales_load_orders.py").read_text() + "# my edit\n"
    )
    stale = adp("generate", "--check", "--image-tag", "ci-4f2a9c1")
    assert stale.exit_code == 1, stale.output
    assert f"would delete {Path('dags/sales_backfill.py')}" in stale.output
    assert "sales_load_orders.py (refused: edited by hand since it was generated)" in stale.output
    assert "sales_weekly_report.py" not in stale.output
    assert listing(project / "dags") != before  # only the edit above
    assert set(listing(project / "dags")) == set(before)


def test_a_job_removed_from_the_spec_loses_its_file(project: Path) -> None:
    write_spec(project, {**SPEC, "jobs": SPEC["jobs"][:2]})
    result = adp("generate", "--image-tag", "ci-4f2a9c1")
    assert result.exit_code == 0, result.output
    assert "deleted dags/sales_backfill.py" in result.output
    assert sorted(listing(project / "dags")) == FILES[1:]


def test_a_hand_edited_file_is_not_overwritten(project: Path) -> None:
    edited = project / "dags" / "sales_weekly_report.py"
    edited.write_text(edited.read_text().replace('"30 2 * * 1"', '"0 3 * * 1"'))
    before = listing(project / "dags")
    write_spec(project, {**SPEC, "image": {**SPEC["image"], "tag": "v2"}})
    result = adp("generate")  # every file would change (new tag): none may be written
    assert result.exit_code == 1, result.output
    assert "sales_weekly_report.py: edited by hand since it was generated" in result.output
    assert "Nothing was written" in result.output and "--force" in result.output
    assert listing(project / "dags") == before
    forced = adp("generate", "--force")
    assert forced.exit_code == 0, forced.output
    assert '"30 2 * * 1"' in edited.read_text() and ":v2" in edited.read_text()


def test_a_hand_written_file_is_not_overwritten(project: Path) -> None:
    mine = project / "dags" / "sales_backfill.py"
    mine.write_text("# my own DAG\n")
    result = adp("generate", "--image-tag", "ci-4f2a9c1")
    assert result.exit_code == 1, result.output
    assert "written by hand (no `adp dags generate` header)" in result.output
    assert mine.read_text() == "# my own DAG\n"
    other = project / "dags" / "sales_other.py"  # not ours: never deleted, even with --force
    other.write_text("# another DAG of mine\n")
    assert adp("generate", "--image-tag", "ci-4f2a9c1", "--force").exit_code == 0
    assert other.read_text() == "# another DAG of mine\n"
    assert read_header(mine.read_text()) is not None


def test_another_spec_generating_the_same_file_is_refused(project: Path) -> None:
    other = write_spec(project, SPEC, name="other-spec.yaml")
    result = adp("generate", str(other), "--image-tag", "ci-4f2a9c1")
    assert result.exit_code == 1, result.output
    assert "generated from another spec (../kpo-dags.yaml)" in result.output


def test_dry_run_shows_a_diff_and_writes_nothing(project: Path) -> None:
    before = listing(project / "dags")
    result = adp("generate", "--dry-run", "--image-tag", "ci-99")
    assert result.exit_code == 0, result.output
    assert f"would update {Path('dags/sales_load_orders.py')}" in result.output
    assert '-IMAGE = "registry.example.com/sales/jobs:ci-4f2a9c1"' in result.output
    assert '+IMAGE = "registry.example.com/sales/jobs:ci-99"' in result.output
    assert "dry run: 3 change(s), 0 unchanged; nothing was written" in result.output
    assert listing(project / "dags") == before
    fresh = adp("generate", "--dry-run", "--out", "new-dags")
    assert fresh.exit_code == 0 and "+++ b/new-dags/sales_backfill.py" in fresh.output
    assert not (project / "new-dags").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**SPEC, "package": "Sales"}, "kpo-dags.yaml: package: 'Sales' is not a package name"),
        ({**SPEC, "jobs": [*SPEC["jobs"], {"name": "load_orders", "schedule": None}]},
         "kpo-dags.yaml: jobs[3].name: 'load_orders' and jobs[0] 'load-orders' both make the "
         "DAG id 'sales_load_orders'"),
        ({**SPEC, "jobs": [{**SPEC["jobs"][1], "env": {"N": 1}}]},
         "kpo-dags.yaml: jobs[0].env.N: must be a string (quote it in YAML)"),
        ({**SPEC, "image": {"repository": "registry.example.com/sales/jobs"}},
         "kpo-dags.yaml: image.tag: no tag: set it in the spec or pass --image-tag"),
    ],
)  # fmt: skip
def test_a_bad_spec_is_a_usage_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: dict, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, data)
    result = adp("generate")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "dags").exists()


def test_a_bad_image_tag_option_is_a_usage_error(project: Path) -> None:
    before = listing(project / "dags")
    result = adp("generate", "--image-tag", "ci 1;rm")
    assert result.exit_code == 2, result.output
    assert "--image-tag: 'ci 1;rm' is not an image tag" in result.output
    assert listing(project / "dags") == before


def test_an_out_that_is_not_a_folder_is_a_usage_error(project: Path) -> None:
    (project / "not-a-folder").write_text("x\n")
    result = adp("generate", "--out", "not-a-folder", "--image-tag", "ci-4f2a9c1")
    assert result.exit_code == 2, result.output
    assert "--out not-a-folder: not a folder" in result.output
    assert (project / "not-a-folder").read_text() == "x\n"
