"""The spec of ``adp dags generate``: a package, its image and its jobs, read from YAML.

Every name that reaches a DAG file, a file name or a Kubernetes object is checked by a strict
pattern here, so rendering never has to guess; every problem is reported with the spec's file,
the field's path (``jobs[1].name``) and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from adp import pydantic_problems, yaml_lines
from adp.errors import UsageError
from adp.names import PACKAGE_RE, PACKAGE_RULE

JOB_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_JOB_NAME = 48  # a pod name <package>-<name> stays well inside Kubernetes' 63 characters
# A Docker image repository: an optional registry host[:port], then lowercase path components.
REPOSITORY_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAMESPACE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
QUANTITY_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?(?:m|[KMGTPE]i?|[kMGTPE])?$")
# Airflow's presets, but @continuous: it needs max_active_runs=1, which these DAGs do not set.
PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly",
           "@annually"}  # fmt: skip
CRON_FIELD_RE = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class SpecError(UsageError, ValueError):
    """The spec cannot be used; the message names the file, each bad field and its fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def check_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise ValueError(
            f"{tag!r} is not an image tag: use 1-128 letters, digits, '_', '.' and '-', not "
            "starting with '.' or '-' (for example 2026.01.1 or a git sha)"
        )
    return tag


class Image(_Model):
    repository: str
    tag: str | None = Field(default=None, description="Default tag; --image-tag overrides it.")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not REPOSITORY_RE.fullmatch(value) or len(value) > 255:
            raise ValueError(
                f"{value!r} is not an image repository: use [registry[:port]/]path with "
                "lowercase path components and no tag (for example registry.example.com/sales/jobs)"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        return None if value is None else check_tag(value)

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


class Quantities(_Model):
    cpu: str | None = None
    memory: str | None = None
    ephemeral_storage: str | None = Field(default=None, alias="ephemeral-storage")

    @field_validator("cpu", "memory", "ephemeral_storage")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not QUANTITY_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Kubernetes quantity: write it as a string such as "
                "'500m', '2', '512Mi' or '1Gi'"
            )
        return value

    def as_dict(self) -> dict[str, str]:
        values = {
            "cpu": self.cpu,
            "memory": self.memory,
            "ephemeral-storage": self.ephemeral_storage,
        }
        return {key: value for key, value in values.items() if value is not None}


class Resources(_Model):
    requests: Quantities | None = None
    limits: Quantities | None = None


def _check_dag_tag(value: str) -> str:
    if not TAG_VALUE_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DAG tag: use 1-100 letters, digits, '_', '.', ':', '/' and "
            "'-', starting with a letter or digit"
        )
    return value


def _check_owner(value: str) -> str:
    if not OWNER_RE.fullmatch(value) or value == "airflow":
        raise ValueError(
            f"{value!r} is not an owner: name the team (letters, digits, '_', '.', '@' and '-'), "
            "not Airflow's default 'airflow'"
        )
    return value


DagTag = Annotated[str, AfterValidator(_check_dag_tag)]
Owner = Annotated[str, AfterValidator(_check_owner)]


def _cron_is_valid(expression: str) -> bool:
    """Airflow's own cron parser (croniter, wherever Airflow is) judges the ranges; without it,
    the import check of ``adp dags validate`` still would."""
    try:
        from croniter import croniter
    except ImportError:
        return True
    return bool(croniter.is_valid(expression))


class Job(_Model):
    name: str
    description: Text | None = None
    schedule: str | None = Field(
        description="A cron expression or an Airflow preset such as @daily; null: manual runs."
    )
    command: list[Text] | None = Field(default=None, min_length=1)
    arguments: list[Annotated[str, StringConstraints(max_length=2000)]] = []
    env: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = {}
    resources: Resources | None = None
    owner: Owner | None = None
    retries: int | None = Field(default=None, ge=1, le=10)
    tags: list[DagTag] = []
    timeout_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not JOB_NAME_RE.fullmatch(value) or len(value) > MAX_JOB_NAME:
            raise ValueError(
                f"{value!r} is not a job name: use up to {MAX_JOB_NAME} lowercase letters, "
                "digits, '-' and '_', starting with a letter, no '-' or '_' at the end or twice "
                "in a row (for example load-orders)"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith("@"):
            if value not in PRESETS:
                raise ValueError(
                    f"{value!r} is not an Airflow preset: use one of {', '.join(sorted(PRESETS))}"
                )
            return value
        fields = value.split()
        if (
            len(fields) != 5
            or not all(CRON_FIELD_RE.fullmatch(field) for field in fields)
            or not _cron_is_valid(value)
        ):
            raise ValueError(
                f"{value!r} is not a cron expression: use five fields (minute hour day month "
                "weekday, for example '30 2 * * *'), an Airflow preset (@daily) or null"
            )
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not ENV_NAME_RE.fullmatch(key):
                raise ValueError(
                    f"{key!r} is not an environment variable name: use letters, digits and "
                    "'_', not starting with a digit"
                )
        return value

    @property
    def identifier(self) -> str:
        """The name as a Python identifier: '-' becomes '_'."""
        return self.name.replace("-", "_")


class DagSpec(_Model):
    package: str
    image: Image
    owner: Owner | None = Field(default=None, description="Default owner of every job.")
    retries: int = Field(default=2, ge=1, le=10, description="Default retries of every job.")
    tags: list[DagTag] = Field(default=[], description="Tags of every DAG, after the package.")
    namespace: str | None = Field(default=None, description="Kubernetes namespace of the pods.")
    start_date: dt.date = dt.date(2025, 1, 1)
    jobs: list[Job] = Field(min_length=1)

    @field_validator("package")
    @classmethod
    def _package(cls, value: str) -> str:
        if not PACKAGE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a package name: use {PACKAGE_RULE}")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and not NAMESPACE_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Kubernetes namespace: use 1-63 lowercase letters, digits and "
                "'-', starting and ending with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _jobs(self) -> DagSpec:
        seen: dict[str, int] = {}
        for index, job in enumerate(self.jobs):
            if job.identifier in seen:
                other = self.jobs[seen[job.identifier]].name
                raise _FieldProblem(
                    f"jobs[{index}].name",
                    f"{job.name!r} and jobs[{seen[job.identifier]}] {other!r} both make the "
                    f"DAG id {self.dag_id(job)!r}: give each job its own name",
                )
            seen[job.identifier] = index
            if job.owner is None and self.owner is None:
                raise _FieldProblem(
                    f"jobs[{index}].owner",
                    "no owner: set owner at the top of the spec (every job's) or on the job",
                )
        return self

    def dag_id(self, job: Job) -> str:
        return f"{self.package}_{job.identifier}"

    def with_tag(self, tag: str | None) -> DagSpec:
        """This spec with the image tag ``tag`` (when given): CI injects the tag it built."""
        if tag is None:
            return self
        image = self.image.model_copy(update={"tag": check_tag(tag)})
        return self.model_copy(update={"image": image})


# Private, not an AdpError: raised inside a pydantic validator (pydantic wraps a ValueError
# into a field error) and read back by _problems; a caller only ever sees SpecError.
class _FieldProblem(ValueError):
    """A problem of one field, found by a check across fields."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_FIXES = {
    "missing": "required: add it",
    "extra_forbidden": "unknown field: remove it or check its spelling",
    "string_type": "must be a string (quote it in YAML)",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "date_type": "must be a date (YYYY-MM-DD)",
    "too_short": "must not be empty",
}


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the spec"


def _problems(error: ValidationError) -> list[str]:
    found = pydantic_problems.problems(error, message=_message, loc=_loc)
    return pydantic_problems.lines(found, loc_text=_location)


def _loc(item: pydantic_problems.Item) -> tuple[int | str, ...]:
    problem = item.get("ctx", {}).get("error")
    return (problem.field,) if isinstance(problem, _FieldProblem) else tuple(item["loc"])


def _message(item: pydantic_problems.Item) -> str:
    problem = item.get("ctx", {}).get("error")
    if isinstance(problem, _FieldProblem):
        return problem.message
    if item["type"] == "value_error":
        return str(item["ctx"]["error"])
    if item["type"] in {"greater_than_equal", "less_than_equal"}:
        bound = item["ctx"].get("ge", item["ctx"].get("le"))
        word = "at least" if item["type"] == "greater_than_equal" else "at most"
        return f"{item['input']!r}: must be {word} {bound}"
    if item["type"] in _FIXES:
        message = _FIXES[item["type"]]
        if item["type"] == "extra_forbidden":
            message = f"{message} ({_allowed(tuple(item['loc']))})"
        return message
    return str(item["msg"])


def _allowed(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = DagSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        for candidate in (Job, Image, Resources, Quantities):
            if candidate is annotation or candidate in getattr(annotation, "__args__", ()):
                model = candidate
                break
    names = [field.alias or name for name, field in model.model_fields.items()]
    return "fields: " + ", ".join(names)


def parse_spec(text: str, source: str) -> DagSpec:
    """The spec in ``text`` (YAML); ``source`` names it in every error."""
    try:
        # The one loader: duplicate keys, a size over 1 MiB and nesting over 32 levels refused;
        # anchors and aliases allowed, as a spec always accepted them.
        data, _ = yaml_lines.load(text, source, allow_aliases=True)
    except yaml_lines.YamlError as error:
        line = f"line {error.problems[0].line}" if error.problems[0].line else ""
        column = f", column {error.column}" if line and error.column else ""
        where = f"{line}{column}: " if line else ""
        raise SpecError(f"{source}: {where}{error.message}") from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: the spec must be a mapping with package, image and jobs "
            "(see docs/how-to/generate-kpo-dags.md)"
        )
    try:
        return DagSpec.model_validate(data)
    except ValidationError as error:
        problems = _problems(error)
        if len(problems) == 1:
            raise SpecError(f"{source}: {problems[0]}") from None
        listed = "\n  ".join(problems)
        raise SpecError(f"{source}: {len(problems)} problems:\n  {listed}") from None


def load_spec(path: Path) -> DagSpec:
    """The spec file at ``path``; a missing, unreadable or invalid file is a ``SpecError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file; pass the spec's path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read it ({error})") from None
    return parse_spec(text, str(path))
