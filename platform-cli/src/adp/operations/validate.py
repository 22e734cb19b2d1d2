"""Validating one DAG file, given as a file under allowed folders or as its text, for a front
end that must not let its caller read anything else (``adp mcp``'s ``validate_dag_file``).

Invariant: only a ``.py`` file under one of ``roots`` (after resolving links) is read; text is
written to a private temporary folder under a plain file name and removed afterwards; every
refusal is a ``UsageError`` naming the argument (``path``, ``text``, ``filename``,
``package``, ``fail_on``) before anything is validated. Paths in the result are relative to
the root."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from adp.errors import UsageError
from adp.sources import SourceFinding
from adp.validation import (
    RULES,
    ConfigError,
    ImportStandby,
    PackageImports,
    Report,
    Severity,
    ValidationOptions,
    build_options,
    load_pyproject,
    render,
    validate,
    write_baseline,
)
from adp.validation.formats import summary_line

FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.py$")
MAX_TEXT = 1_000_000


class FileValidation(BaseModel):
    """The findings of one DAG file, as ``adp dags validate`` reports them."""

    file: str
    package: str | None = None
    passed: bool = Field(description="Nothing at or above fail_on.")
    fail_on: str
    counts: dict[str, int] = Field(description="error, warning and suppressed findings.")
    dag_ids: list[str] = Field(default_factory=list, description="The DAGs the file defines.")
    findings: list[SourceFinding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def allowed_file(path: str, roots: list[Path]) -> tuple[Path, Path]:
    """The file ``path`` names (relative to the first root) and the root it is under."""
    resolved = [r.resolve() for r in roots]
    given = Path(path).expanduser()
    target = (given if given.is_absolute() else resolved[0] / given).resolve()
    root = next((r for r in resolved if target == r or r in target.parents), None)
    if root is None:
        shown = ", ".join(str(r) for r in resolved)
        raise UsageError(
            f"{path} is outside the folders this server validates ({shown}): give a file "
            "under them, or its text as text (adp mcp --validate-root adds a folder)",
            loc=("path",),
        )
    if not target.is_file():
        raise UsageError(f"{path}: no such file under {root}", loc=("path",))
    if target.suffix != ".py":
        raise UsageError(f"{path}: not a Python file (a DAG file ends in .py)", loc=("path",))
    return target, root


def options_of(package: str | None, import_check: bool, fail_on: str) -> ValidationOptions:
    """The validation options (``UsageError`` naming ``package`` or ``fail_on``)."""
    try:
        return ValidationOptions(
            package=package, import_check=import_check, fail_on=Severity(fail_on)
        )
    except ValidationError as error:
        first = error.errors()[0]
        argument = str(first["loc"][0]) if first["loc"] else "package"
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        raise UsageError(message, loc=(argument,)) from None
    except ValueError:
        raise UsageError("use error or warning", loc=("fail_on",)) from None


def project_options(config: Path | None, overrides: dict[str, object]) -> ValidationOptions:
    """The validation settings of a project: ``[tool.adp.dags]`` of ``config`` (default:
    ./pyproject.toml when it exists) with ``overrides`` (None values left out) on top.
    ``UsageError`` at ``config`` when the file is missing or a setting is wrong."""
    config_path = config or Path("pyproject.toml")
    if config is not None and not config.is_file():
        raise UsageError(f"{config}: no such file", loc=("config",))
    try:
        settings = load_pyproject(config_path) if config_path.is_file() else {}
        settings.update({key: value for key, value in overrides.items() if value is not None})
        return build_options(settings, f"{config_path} and the command line")
    except ConfigError as error:
        raise UsageError(str(error), loc=("config",)) from None


def validate_folders(
    paths: list[Path],
    options: ValidationOptions,
    baseline_to: Path | None = None,
    reason: str = "",
) -> tuple[Report, int | None]:
    """Validate the DAG files under ``paths``; with ``baseline_to``, write the findings there
    as accepted (``reason`` required) and return how many. ``UsageError`` without a package
    (DAG ids must start with it) or for a bad manifest or baseline."""
    if options.package is None:
        raise UsageError(
            "no package: pass --package <name>, or set package in [tool.adp.dags] of "
            "pyproject.toml (DAG ids must start with '<package>_')",
            loc=("package",),
        )
    if baseline_to is not None and not reason.strip():
        raise UsageError("why these findings are accepted: give a reason", loc=("reason",))
    try:
        report = validate([str(p) for p in paths], options)
        written = write_baseline(report, baseline_to, reason) if baseline_to else None
    except ConfigError as error:
        raise UsageError(str(error), loc=("config",)) from None
    return report, written


def validate_dag_file(
    roots: list[Path],
    path: str | None = None,
    text: str | None = None,
    filename: str = "dag.py",
    package: str | None = None,
    import_check: bool = True,
    fail_on: str = "error",
    standby: ImportStandby | None = None,
) -> FileValidation:
    """Validate exactly one of ``path`` (under ``roots``) or ``text`` (as ``filename``);
    ``standby``: the caller's import-check worker kept warm, if it owns one."""
    if (path is None) == (text is None):
        raise UsageError(
            "give exactly one of path (a file under the allowed folders) or text (the file's "
            "content)",
            loc=("path",),
        )
    options = options_of(package, import_check, fail_on)
    if text is not None:
        if not FILENAME_RE.fullmatch(filename):
            raise UsageError(
                "a file name such as sales_daily.py (letters, digits, '_', '.', '-', ending in "
                ".py; no folder)",
                loc=("filename",),
            )
        data = text.encode("utf-8")
        if len(data) > MAX_TEXT:
            raise UsageError(f"longer than {MAX_TEXT} bytes: give a path instead", loc=("text",))
        with tempfile.TemporaryDirectory(prefix="adp-mcp-validate-") as folder:
            file = Path(folder) / filename
            file.write_bytes(data)
            return _validated(file, Path(folder).resolve(), filename, options, standby)
    assert path is not None
    file, root = allowed_file(path, roots)
    return _validated(file, root, str(file.relative_to(root)), options, standby)


def _validated(
    file: Path,
    root: Path,
    shown: str,
    options: ValidationOptions,
    standby: ImportStandby | None,
) -> FileValidation:
    try:
        report = validate([str(file)], options, standby=standby)
    except ConfigError as error:
        raise UsageError(str(error), loc=("package",)) from None
    return FileValidation(
        file=shown,
        package=options.package,
        passed=report.exit_code(options.fail_on) == 0,
        fail_on=str(options.fail_on),
        counts=report.counts(),
        dag_ids=[d.dag_id for d in report.dags],
        findings=[SourceFinding.of_finding(f, str(root)) for f in report.findings],
        notes=[n.replace(str(root), ".") for n in report.notes],
    )


__all__ = [
    "RULES",
    "FileValidation",
    "ImportStandby",
    "PackageImports",
    "Report",
    "Severity",
    "allowed_file",
    "options_of",
    "project_options",
    "render",
    "summary_line",
    "validate_dag_file",
    "validate_folders",
]
