"""copier.yml: every question is documented, bad answers are refused with a message
saying what is allowed, and the template stays "safe" (no --trust needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())


def test_template_settings() -> None:
    assert CONFIG["_subdirectory"] == "templates/datakit"
    assert (REPO_ROOT / CONFIG["_subdirectory"]).is_dir()
    assert CONFIG["_templates_suffix"] == ".jinja"
    assert CONFIG["_min_copier_version"]
    # "Safe" template: nothing that would require `--trust`.
    for unsafe in ("_tasks", "_migrations", "_jinja_extensions"):
        assert unsafe not in CONFIG, f"{unsafe} would make users pass --trust"
    # External data outside the project would need --trust; the project's own answers
    # file (read by the rename check of package_name) does not.
    assert CONFIG["_external_data"] == {"previous": "{{ _copier_conf.answers_file }}"}


def test_every_question_has_help_and_default(template_questions) -> None:
    for name, question in template_questions.items():
        assert "default" in question, f"{name} has no default (non-interactive use needs one)"
        if question.get("when") is False:
            continue  # computed value, never asked
        assert question.get("help"), f"{name} has no help text"


def test_computed_values_are_not_asked_nor_recorded(tmp_path, template_repo, render) -> None:
    project = render(template_repo, tmp_path / "kit", datakit_name="customer-360")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for name in ("dag_id_prefix", "warehouse_conn_id", "env_prefix"):
        assert CONFIG[name]["when"] is False
        assert name not in answers
    assert answers["package_name"] == "customer_360"  # derived from datakit_name


def test_non_interactive_copy_with_the_cli(tmp_path, template_repo, copier_cli) -> None:
    """`copier copy --defaults --data ...` as a user types it, without --trust."""
    dst = tmp_path / "customer-360"
    result = copier_cli(
        "copy",
        "--defaults",
        "--vcs-ref",
        "v99.0.0",
        "--data",
        "datakit_name=customer-360",
        "--data",
        "warehouse=postgres",
        "--data",
        "kerberos=false",
        str(template_repo),
        str(dst),
    )
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v99.0.0"
    assert answers["warehouse"] == "postgres" and answers["kerberos"] is False
    assert not (dst / "docker-compose.override.yml").exists()
    assert "Next steps" in result.stdout + result.stderr


def test_runtime_registry_may_be_empty(tmp_path, template_repo, render) -> None:
    """No registry (images.env's default): images are named <repository>:<type>-<version>,
    as `adp images` tags them without IMAGE_REGISTRY."""
    project = render(template_repo, tmp_path / "kit", datakit_name="kit", runtime_images=True)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["runtime_registry"] == ""
    assert 'DEFAULT_REGISTRY = ""' in (project / "dags" / "kit_runtime_images.py").read_text()
    readme = (project / "README.md").read_text()
    assert f"`adp-runtime:<type>-{answers['runtime_version']}` (no registry" in readme
    assert "/adp-runtime:" not in readme


BAD_ANSWERS = [
    ({"datakit_name": "Customer-360"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "customer_360"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "customer--360"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "-customer"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "customer-"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "360-customer"}, "lowercase letters, digits and single dashes"),
    ({"datakit_name": "a" * 41}, "at most 40"),
    ({"package_name": "Customer"}, "lowercase letters, digits and underscores"),
    ({"package_name": "customer-360"}, "lowercase letters, digits and underscores"),
    ({"package_name": "import"}, "Python keyword or the name of a folder or package"),
    ({"package_name": "dags"}, "Python keyword or the name of a folder or package"),
    # Names of the standard library or of the Layer-1 image's packages would shadow them.
    ({"package_name": "airflow"}, "a package of the Layer-1 image already has a module"),
    ({"package_name": "email"}, "choose another name (for example email_pipelines)"),
    ({"package_name": "logging"}, "the Python standard library or a package"),
    ({"package_name": "platform"}, "the Python standard library or a package"),
    ({"package_name": "pendulum"}, "the Python standard library or a package"),
    ({"package_name": "google"}, "the Python standard library or a package"),
    ({"package_name": "sqlmodel"}, "the Python standard library or a package"),
    ({"owner": "data engineering"}, "letters, digits, dots, dashes, underscores and @"),
    ({"owner": ""}, "letters, digits, dots, dashes, underscores and @"),
    ({"description": 'Say "hi"'}, "double quotes"),
    ({"description": "   "}, "must not be empty"),
    ({"warehouse": "oracle"}, "'oracle' is not in ['sqlserver', 'postgres', 'none']"),
    ({"layer1_image": "Layer1 Airflow"}, "image reference"),
    ({"runtime_images": True, "runtime_registry": "https://registry"}, "registry host"),
    ({"runtime_images": True, "runtime_registry": " "}, "registry host"),
    ({"runtime_images": True, "runtime_repository": "ADP"}, "lowercase letters"),
    ({"runtime_images": True, "runtime_version": "1.0 beta"}, "image tag"),
    # A final newline (an `owner: |` block in a --data-file) passes a regex ending in `$`.
    ({"datakit_name": "customer-360\n"}, 'datakit_name "customer-360\n" is not allowed'),
    ({"package_name": "customer_360\n"}, "lowercase letters, digits and underscores"),
    ({"owner": "data-team\n"}, "letters, digits, dots, dashes, underscores and @"),
    ({"layer1_image": "layer1-airflow:latest\n"}, "image reference"),
    ({"runtime_images": True, "runtime_registry": "localhost:5000\n"}, "registry host"),
    ({"runtime_images": True, "runtime_repository": "adp-runtime\n"}, "lowercase letters"),
    ({"runtime_images": True, "runtime_version": "1.0.0\n"}, "image tag"),
    ({"package_name": "a" * 41}, "package_name is 41 characters long: use at most 40"),
    ({"kerberos": "flase"}, "'flase' is not in [True, False]"),
    ({"example_dag": 1}, "example_dag must be true or false"),
    ({"runtime_images": "maybe"}, "'maybe' is not in [True, False]"),
    ({"description": "two\tcolumns"}, "control characters"),
    ({"description": "bell\x07"}, "control characters"),
    # Computed values cannot be given: they go into code unchecked.
    ({"dag_id_prefix": "x'); import os; ('"}, "dag_id_prefix is computed from package_name"),
    ({"warehouse_conn_id": "other"}, "warehouse_conn_id is computed from package_name"),
    ({"env_prefix": "EVIL"}, "env_prefix is computed from package_name"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=[repr(a) for a, _ in BAD_ANSWERS])
def test_bad_answers_are_refused(tmp_path, template_repo, answers, message) -> None:
    from copier import run_copy

    dst = tmp_path / "kit"
    with pytest.raises(
        ValueError, match=r"is not|must not|at most|may not|must be|computed"
    ) as refused:
        run_copy(
            str(template_repo),
            str(dst),
            data={"datakit_name": "customer-360", **answers},
            defaults=True,
            quiet=True,
            vcs_ref="HEAD",
        )
    assert message in str(refused.value)
    assert not dst.exists(), "a refused answer must not leave a half-rendered project"


def test_cli_refuses_with_the_message(tmp_path, template_repo, copier_cli) -> None:
    dst = tmp_path / "kit"
    result = copier_cli(
        "copy", "--defaults", "--data", "datakit_name=Bad_Name", str(template_repo), str(dst)
    )
    assert result.returncode != 0
    assert 'datakit_name "Bad_Name" is not allowed: use lowercase letters' in result.stderr
    assert not dst.exists()
