"""The spec of `adp dags generate`: every bad field is refused with the file, the field's path
and the fix; job names that make the same DAG id are refused; values become Python literals
that read back as themselves. No Airflow, no files but the spec: these run in milliseconds."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
import yaml
from adp.generate.render import py, read_header
from adp.generate.spec import DagSpec, SpecError, load_spec, parse_spec

GOOD: dict = {
    "package": "sales",
    "image": {"repository": "registry.example.com/sales/jobs", "tag": "1.0"},
    "owner": "sales-data",
    "jobs": [{"name": "load-orders", "schedule": "@daily", "command": ["python", "-m", "x"]}],
}


def spec_with(**changes: object) -> dict:
    """GOOD with ``changes`` applied; a key like 'jobs.0.name' reaches into it (None: delete)."""
    data = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if value is None:
            del node[key]
        else:
            node[key] = value
    return data


def problem(data: dict) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(yaml.safe_dump(data), "specs/kpo-dags.yaml")
    return str(caught.value)


def test_the_good_spec_parses_with_defaults() -> None:
    spec = parse_spec(yaml.safe_dump(GOOD), "kpo-dags.yaml")
    (job,) = spec.jobs
    assert spec.dag_id(job) == "sales_load_orders" and job.identifier == "load_orders"
    assert spec.retries == 2 and spec.namespace is None and spec.image.reference.endswith(":1.0")
    assert spec.with_tag("abc123").image.tag == "abc123"
    assert spec.with_tag(None) is spec


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        ({"package": "Sales"}, "package", "lowercase letters"),
        ({"package": None}, "package", "required: add it"),
        ({"image.repository": "Registry/Jobs"}, "image.repository", "lowercase path"),
        ({"image.repository": "repo:tag"}, "image.repository", "no tag"),
        ({"image.tag": "a b"}, "image.tag", "is not an image tag"),
        ({"image.tag": 7}, "image.tag", "must be a string (quote it in YAML)"),
        ({"owner": "airflow"}, "owner", "not Airflow's default"),
        ({"owner": None}, "jobs[0].owner", "set owner at the top of the spec"),
        ({"retries": 0}, "retries", "must be at least 1"),
        ({"namespace": "Jobs_NS"}, "namespace", "is not a Kubernetes namespace"),
        ({"tags": ["ok", "bad tag"]}, "tags[1]", "is not a DAG tag"),
        ({"jobs": []}, "jobs", "must not be empty"),
        ({"jobs.0.name": "load'orders"}, "jobs[0].name", "is not a job name"),
        ({"jobs.0.name": "Load"}, "jobs[0].name", "lowercase letters"),
        ({"jobs.0.name": "load--orders"}, "jobs[0].name", "twice in a row"),
        ({"jobs.0.name": "x" * 49}, "jobs[0].name", "up to 48"),
        ({"jobs.0.schedule": "daily"}, "jobs[0].schedule", "is not a cron expression"),
        ({"jobs.0.schedule": "99 * * * *"}, "jobs[0].schedule", "is not a cron expression"),
        ({"jobs.0.schedule": "@sometimes"}, "jobs[0].schedule", "is not an Airflow preset"),
        ({"jobs.0.schedule": "@continuous"}, "jobs[0].schedule", "is not an Airflow preset"),
        ({"jobs.0.schedule": None}, "jobs[0].schedule", "required: add it"),
        ({"jobs.0.command": []}, "jobs[0].command", "must not be empty"),
        ({"jobs.0.command": "python -m x"}, "jobs[0].command", "must be a list"),
        ({"jobs.0.env": {"PORT": 8080}}, "jobs[0].env.PORT", "quote it in YAML"),
        ({"jobs.0.env": {"MY-VAR": "x"}}, "jobs[0].env", "environment variable name"),
        ({"jobs.0.resources": {"limits": {"memory": "lots"}}}, "jobs[0].resources.limits.memory",
         "Kubernetes quantity"),
        ({"jobs.0.resources": {"limits": {"gpu": "1"}}}, "jobs[0].resources.limits.gpu",
         "fields: cpu, memory, ephemeral-storage"),
        ({"jobs.0.commmand": ["x"]}, "jobs[0].commmand", "check its spelling (fields: name,"),
        ({"jobs.0.retries": 11}, "jobs[0].retries", "must be at most 10"),
        ({"start_date": "soon"}, "start_date", "must be a date"),
    ],
)  # fmt: skip
def test_a_bad_field_names_the_file_the_field_and_the_fix(
    changes: dict, field: str, fix: str
) -> None:
    message = problem(spec_with(**changes))
    assert message.startswith("specs/kpo-dags.yaml: "), message
    assert f"{field}: " in message and fix in message, message


def test_every_problem_is_listed_at_once() -> None:
    message = problem(spec_with(package="X", **{"jobs.0.name": "-x", "jobs.0.retries": 0}))
    assert message.startswith("specs/kpo-dags.yaml: 3 problems:\n"), message
    for field in ("package", "jobs[0].name", "jobs[0].retries"):
        assert f"\n  {field}: " in message


@pytest.mark.parametrize(
    ("first", "second", "dag_id"), [("load-orders", "load_orders", "sales_load_orders"),
                                    ("a", "a", "sales_a")]
)  # fmt: skip
def test_job_names_making_the_same_dag_id_are_refused(first: str, second: str, dag_id: str) -> None:
    data = spec_with()
    data["jobs"] = [{"name": first, "schedule": None}, {"name": second, "schedule": None}]
    message = problem(data)
    assert f"jobs[1].name: {second!r} and jobs[0] {first!r}" in message, message
    assert f"both make the DAG id {dag_id!r}" in message, message


def test_a_key_written_twice_is_refused_not_silently_dropped() -> None:
    text = yaml.safe_dump(GOOD) + "package: other\n"
    with pytest.raises(SpecError, match=r"kpo\.yaml: line \d+, column 1: key 'package' is written"):
        parse_spec(text, "kpo.yaml")


@pytest.mark.parametrize("text", ["[1, 2]", "just text", "package: [\n", ""])
def test_a_spec_that_is_not_a_mapping_is_refused(text: str) -> None:
    with pytest.raises(SpecError, match=r"^kpo\.yaml: "):
        parse_spec(text, "kpo.yaml")


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "value",
    [
        'it\'s "quoted"',
        'ends with a quote"',
        "'''\"\"\" triple quotes",
        "back\\slash \\n not a newline",
        "line\nbreak\ttab\r\x00nul\x7f",
        "{{ ds }} {% raw %} Jinja stays text",
        "unicode é ü 日本 \u2028 \U0001f600",
        ["a", {"b": ["c", None, True, 3]}],
    ],
)
def test_values_become_literals_that_read_back_as_themselves(value: object) -> None:
    assert ast.literal_eval(py(value)) == value


def test_only_plain_data_becomes_a_literal() -> None:
    with pytest.raises(TypeError):
        py(Path("x"))
    with pytest.raises(TypeError):
        py({1: "x"})


def test_a_file_without_the_header_is_not_generated() -> None:
    assert read_header("from airflow.sdk import dag\n") is None
    assert read_header("") is None


def test_the_spec_model_forbids_unknown_fields_everywhere() -> None:
    assert DagSpec.model_config["extra"] == "forbid"
