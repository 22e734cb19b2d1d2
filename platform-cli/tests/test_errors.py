"""One error vocabulary: every exception class of ``adp`` is an ``AdpError`` (a usage error, exit
2, or a failure, exit 1), no two share a name, and the CLI prints every one the same way
through one handler (``adp.cli.errors``), its ``loc`` as the option or as ``file:line: field``.

The classes are found by importing every module of ``adp``, so a new class cannot escape."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import Counter
from pathlib import Path
from typing import Annotated

import adp
import pytest
import typer
import yaml
from adp.cli.errors import AdpGroup, loc_text, parameter_names, problem_text, render
from adp.cli.main import app
from adp.errors import AdpError, Failure, Problem, UsageError
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

# Private control flow that is not an AdpError, each with the reason; nothing else may be.
PRIVATE_CONTROL_FLOW = {
    # Raised inside the YAML loader's constructors, turned into a YamlError by _compose.
    "adp.yaml_lines._Refused",
    # Raised inside a pydantic validator (which wraps a ValueError into a field error) and read
    # back into SpecError's text; a caller only sees SpecError.
    "adp.generate.spec._FieldProblem",
    # The mark of a download skipped after another failed; never leaves _download_all.
    "adp.sync.materialize._Stopped",
    # SIGTERM of the import worker, which runs alone in the target's interpreter (no adp there)
    # and must pass through the `except Exception` around each import: a BaseException.
    "adp.validation.import_worker._Stopped",
}

# AdpErrors whose kind each instance decides (not a UsageError or a Failure class), and how.
KIND_PER_INSTANCE = {
    # The DAG sources page's refusal: its HTTP status decides (404 and 422 usage, else failure).
    "adp.ui.actions.ActionRefused",
}

# The builtin base each class had before it became an AdpError: `except ValueError` (etc.)
# callers keep catching it.
HISTORICAL_BASES = {
    "adp.bundles.platform_bundle.BundleConfigError": ValueError,
    "adp.facts.FactsError": RuntimeError,
    "adp.docker_cli.NoBuildKitClient": RuntimeError,
    "adp.dev.errors.DevError": RuntimeError,
    "adp.airflow_api.AirflowApiError": RuntimeError,
    "adp.generate.plan.OverwriteRefused": RuntimeError,
    "adp.generate.render.RenderError": RuntimeError,
    "adp.generate.spec.SpecError": ValueError,
    "adp.images.builder.DockerError": RuntimeError,
    "adp.images.config.ImagesConfigError": ValueError,
    "adp.images.discovery.DiscoveryError": ValueError,
    "adp.images.locking.LockError": RuntimeError,
    "adp.images.scaffold.ScaffoldError": ValueError,
    "adp.kerberos.export.TicketError": RuntimeError,
    "adp.mcp.credential_policy.PolicyError": ValueError,
    "adp.mcp.hosts.HostError": ValueError,
    "adp.releases.manifest.ManifestError": ValueError,
    "adp.releases.names.InvalidName": ValueError,
    "adp.releases.pointer.ReleaseError": RuntimeError,
    "adp.releases.store.StoreError": RuntimeError,
    "adp.repos.git.GitError": RuntimeError,
    "adp.yaml_lines.YamlError": ValueError,
    "adp.sources.collect.UnknownSource": LookupError,
    "adp.sync.errors.SyncError": RuntimeError,
    "adp.validation.import_check.TargetUnavailable": RuntimeError,
    "adp.validation.import_isolation.IsolationError": RuntimeError,
    "adp.validation.options.ConfigError": ValueError,
    "adp.validation.scanners.ScannerMissing": RuntimeError,
}


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of ``adp``, by its dotted name."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(adp.__path__, "adp."):
        if module_info.name.endswith(".__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


CLASSES = _exception_classes()
PUBLIC = {name: cls for name, cls in CLASSES.items() if name not in PRIVATE_CONTROL_FLOW}


def test_the_walk_finds_the_classes() -> None:
    assert len(PUBLIC) > 40, sorted(PUBLIC)
    assert "adp.errors.AdpError" in CLASSES


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_exception_class_is_a_usage_error_or_a_failure(name: str) -> None:
    cls = PUBLIC[name]
    assert issubclass(cls, AdpError), f"{name} does not derive from adp.errors.AdpError"
    if cls is AdpError:
        return
    if name in KIND_PER_INSTANCE:
        assert not issubclass(cls, UsageError | Failure), f"{name}: drop it from the list"
        return
    assert issubclass(cls, UsageError | Failure), f"{name}: a UsageError or a Failure?"
    assert cls.exit_code == (2 if issubclass(cls, UsageError) else 1)


def test_the_private_allow_list_is_private_and_current() -> None:
    for name in PRIVATE_CONTROL_FLOW:
        assert name in CLASSES, f"{name} is gone: remove it from the allow-list"
        assert name.rsplit(".", 1)[1].startswith("_"), f"{name} is public: make it an AdpError"
        assert not issubclass(CLASSES[name], AdpError)


def test_no_two_public_exception_classes_share_a_name() -> None:
    counts = Counter(cls.__name__ for cls in PUBLIC.values())
    twice = {name: [n for n, c in PUBLIC.items() if c.__name__ == name] for name in counts}
    assert {k: v for k, v in twice.items() if counts[k] > 1} == {}


@pytest.mark.parametrize("name", sorted(HISTORICAL_BASES))
def test_the_historical_builtin_base_is_kept(name: str) -> None:
    assert issubclass(CLASSES[name], HISTORICAL_BASES[name])


def test_an_error_keeps_its_text_and_carries_its_location_as_data(tmp_path: Path) -> None:
    from adp.images.discovery import DiscoveryError, check_folder
    from adp.mcp.credential_policy import PolicyError
    from adp.yaml_lines import YamlError, load

    refused = PolicyError("token_env", "not allowed")
    assert str(refused) == "token_env: not allowed" and refused.argument == "token_env"
    assert refused.loc == ("token_env",) and refused.message == "not allowed"
    with pytest.raises(YamlError) as raised:
        load("a: 1\nb: [\n", "airflow-repos.yaml")
    (problem,) = raised.value.problems
    assert problem.file == "airflow-repos.yaml" and problem.line is not None
    assert str(raised.value).startswith(f"airflow-repos.yaml:{problem.line}: ")
    (tmp_path / "ml-runner").mkdir()
    with pytest.raises(DiscoveryError) as missing:
        check_folder(tmp_path / "ml-runner")
    assert missing.value.problems[0].file == str(tmp_path / "ml-runner" / "pyproject.toml")
    assert str(missing.value).startswith(f"{tmp_path / 'ml-runner' / 'pyproject.toml'}: missing;")


# -- rendering ------------------------------------------------------------------------------

ARGUMENTS = st.from_regex(r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,8}){0,3}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


def test_loc_renders_as_the_option() -> None:
    assert loc_text(("image_tag",)) == "--image-tag"
    assert loc_text(("allow_host", 2)) == "--allow-host[2]"
    assert loc_text(("validation", "fail_on")) == "--validation.fail_on"
    assert loc_text(("spec",), {"spec": "SPEC"}) == "SPEC"
    assert loc_text(("IMAGE_REGISTRY",)) is None  # a variable: shown as written
    assert loc_text(()) is None
    usage = UsageError("is not an image tag", loc="image_tag", fix="use letters and digits")
    assert render(usage) == ["error: --image-tag: is not an image tag (use letters and digits)"]
    variable = UsageError("not set", loc="ADP_ENV")
    assert render(variable) == ["error: ADP_ENV: not set"]


def test_a_problem_in_a_file_renders_as_file_line_field() -> None:
    problem = Problem(message="required", loc=("jobs", 0, "name"), file="kpo.yaml", line=7)
    assert problem_text(problem) == "kpo.yaml:7: jobs.0.name: required"
    error = Failure(problems=[problem, Problem(message="no such file", file="other.yaml")])
    assert render(error) == [
        "error: kpo.yaml:7: jobs.0.name: required",
        "error: other.yaml: no such file",
    ]


@settings(max_examples=200, deadline=None)
@given(name=ARGUMENTS, message=TEXT, fix=st.none() | TEXT)
def test_an_argument_is_always_its_option(name: str, message: str, fix: str | None) -> None:
    (line,) = render(UsageError(message, loc=name, fix=fix))
    option = "--" + name.replace("_", "-")
    assert line == f"error: {option}: {message}" + (f" ({fix})" if fix else "")


@settings(max_examples=200, deadline=None)
@given(
    name=ARGUMENTS,
    file=st.from_regex(r"[a-z]{1,8}/[a-z]{1,8}\.ya?ml", fullmatch=True),
    line=st.none() | st.integers(min_value=1, max_value=10**6),
    message=TEXT,
)
def test_a_file_location_is_never_an_option(
    name: str, file: str, line: int | None, message: str
) -> None:
    problem = Problem(message=message, loc=(name,), file=file, line=line)
    where = f"{file}:{line}" if line else file
    assert problem_text(problem) == f"{where}: {name}: {message}" == problem.text()


# -- the one handler, through the real command --------------------------------------------

SPEC = {
    "package": "sales",
    "image": {"repository": "registry.example.com/sales/jobs", "tag": "v1"},
    "owner": "sales-data",
    "namespace": "airflow-jobs",
    "jobs": [{"name": "backfill", "schedule": None}],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "kpo-dags.yaml").write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_usage_error_exits_2_with_the_option(project: Path) -> None:
    result = CliRunner().invoke(app, ["dags", "generate", "--image-tag", "ci 1;rm"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --image-tag: 'ci 1;rm' is not an image tag")
    assert result.stdout == "" and "Traceback" not in result.output
    assert not (project / "dags").exists()


def test_a_failure_exits_1_with_the_same_prefix(project: Path) -> None:
    (project / "dags").mkdir()
    (project / "dags" / "sales_backfill.py").write_text("# my own DAG\n")
    result = CliRunner().invoke(app, ["dags", "generate"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert "written by hand" in result.stderr and "Nothing was written" in result.stderr
    assert (project / "dags" / "sales_backfill.py").read_text() == "# my own DAG\n"


def test_loc_is_the_parameter_as_the_user_types_it() -> None:
    """An option under its own flag (``json_out`` -> ``--json``), an argument by its name."""
    command = typer.main.get_command(app)
    names = parameter_names(command.commands["dev"].commands["exec"])  # type: ignore[attr-defined]
    assert names["service"] == "SERVICE" and names["project_dir"] == "--project-dir"
    demo = typer.Typer(cls=AdpGroup)

    @demo.command()
    def show(
        name: Annotated[str, typer.Argument()],
        json_out: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        raise UsageError("not a name", loc="name" if json_out else "json_out")

    @demo.command()
    def fail() -> None:
        raise Failure("it broke", loc="retries", fix="try again")

    runner = CliRunner()
    plain = runner.invoke(demo, ["show", "x"])
    assert (plain.exit_code, plain.stderr) == (2, "error: --json: not a name\n")
    argument = runner.invoke(demo, ["show", "x", "--json"])
    assert (argument.exit_code, argument.stderr) == (2, "error: NAME: not a name\n")
    failed = runner.invoke(demo, ["fail"])
    assert (failed.exit_code, failed.stderr) == (1, "error: --retries: it broke (try again)\n")


def test_each_problem_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ADP_RELEASE_STORE", "ADP_ENV", "ADP_SYNC_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["sync", "--once"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines), lines
    for name in ("ADP_RELEASE_STORE", "ADP_ENV", "ADP_SYNC_DIR"):
        assert sum(name in line for line in lines) == 1, (name, lines)
