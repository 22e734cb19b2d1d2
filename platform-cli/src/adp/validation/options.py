"""How a validation run is configured: defaults, ``[tool.adp.dags]`` in pyproject.toml, flags.

Every field can be set in the datakit's ``pyproject.toml`` (``[tool.adp.dags]``) and overridden by
the command line; an unknown or ill-typed setting is refused with its name and the fix.
"""

from __future__ import annotations

import enum
import tomllib
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from adp import names, pydantic_problems
from adp.errors import UsageError
from adp.validation.findings import Severity
from adp.validation.import_environment import pass_env_problem

PACKAGE_RE = names.PACKAGE_RE  # adp.names: the one rule, with its length


class PackageImports(enum.StrEnum):
    """Where a DAG file may import the package's own code (the deployment decides)."""

    anywhere = "anywhere"  # the DAG parser has the package (it ships in the bundle)
    inside_tasks = "inside-tasks"  # only inside tasks: some Airflow commands lack the bundle path
    never = "never"  # package code runs only in the package's runtime image (the S3 seed)


class ConfigError(UsageError, ValueError):
    """A setting is wrong; the message names the file, the field and the fix."""


class ImportTarget(BaseModel):
    """Where the import check runs: an interpreter (default: this one) or a container image."""

    model_config = ConfigDict(extra="forbid")
    python: str | None = None
    image: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ImportTarget:
        if self.python and self.image:
            raise ValueError("python and image both choose the import check's target: give one")
        return self


class ValidationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    package: str | None = Field(
        default=None,
        description="The package whose DAGs these are: DAG ids start with '<package>_'.",
    )
    package_imports: PackageImports = PackageImports.inside_tasks
    fail_on: Severity = Severity.error
    import_check: bool = True
    import_timeout: float = Field(default=30.0, gt=0, description="Seconds per file.")
    import_time_threshold: float = Field(
        default=2.0, gt=0, description="Seconds; slower is ADP024."
    )
    max_file_bytes: int = Field(default=1_000_000, gt=0)
    require_tags: bool = True
    require_owner: bool = True
    require_retries: bool = True
    baseline: Path | None = None
    env_manifests: list[Path] = Field(default_factory=list)
    target: ImportTarget = Field(default_factory=ImportTarget)
    jobs: int | None = Field(default=None, gt=0, description="Parallel processes; default: CPUs.")
    withheld_env: list[str] = Field(
        default_factory=list,
        description="Variables never given to the code imported, whatever pass_env says (the "
        "promoter lists the credentials airflow-repos.yaml names).",
    )
    pass_env: list[str] = Field(
        default_factory=list,
        description="Variables of the caller given to the code imported, beyond the allow-list.",
    )
    hide_paths: list[Path] = Field(
        default_factory=list,
        description="Files and folders hidden from the code imported (in its mount namespace), "
        "beyond the validating user's credential files, which are always hidden (the promoter "
        "lists airflow-repos.yaml's secret files and its state folder).",
    )
    visible_paths: list[Path] = Field(
        default_factory=list,
        description="Folders inside a folder of hide_paths that stay visible (the promoter's "
        "work folder); the folder being validated always does.",
    )
    redact: list[SecretStr] = Field(
        default_factory=list,
        exclude=True,
        repr=False,
        description="Secret values removed (with their usual encodings) from every result of "
        "the import check before it becomes a finding (the promoter's credentials).",
    )

    @field_validator("package")
    @classmethod
    def _package_name(cls, value: str | None) -> str | None:
        if value is not None and not PACKAGE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a package name: use {names.PACKAGE_RULE}")
        return value

    @field_validator("pass_env")
    @classmethod
    def _pass_env_allowed(cls, value: list[str], info: ValidationInfo) -> list[str]:
        withheld = set(info.data.get("withheld_env") or ())
        for name in value:
            problem = pass_env_problem(name, withheld)
            if problem is not None:
                raise ValueError(problem)
        return value

    @property
    def dag_id_prefix(self) -> str | None:
        return f"{self.package}_" if self.package else None


def load_pyproject(path: Path) -> dict[str, object]:
    """The ``[tool.adp.dags]`` table of a pyproject.toml (empty when it has none)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it as TOML ({error}); fix the file") from error
    table = data.get("tool", {}).get("adp", {}).get("dags", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.adp.dags] must be a table")
    settings = {key.replace("-", "_"): value for key, value in table.items()}
    # Paths in the file are relative to the file, wherever the command runs.
    base = path.resolve().parent
    if isinstance(settings.get("baseline"), str):
        settings["baseline"] = str(base / settings["baseline"])
    if isinstance(settings.get("env_manifests"), list):
        settings["env_manifests"] = [
            str(base / item) if isinstance(item, str) else item
            for item in settings["env_manifests"]
        ]
    for key in ("hide_paths", "visible_paths"):  # "~/..." is the validating user's home
        if isinstance(settings.get(key), list):
            settings[key] = [
                str(base / Path(item).expanduser()) if isinstance(item, str) else item
                for item in settings[key]
            ]
    return settings


def first_problem(error: ValidationError) -> str:
    """``field.path: message`` of a pydantic error's first problem."""
    return pydantic_problems.first(error, empty="settings")


def build_options(settings: dict[str, object], source: str) -> ValidationOptions:
    """Validated options; an error names ``source`` (a file, the command line) and the field."""
    try:
        return ValidationOptions.model_validate(settings)
    except ValidationError as error:
        problems = pydantic_problems.render(pydantic_problems.problems(error), empty="settings")
        raise ConfigError(f"{source}: {problems}") from None
