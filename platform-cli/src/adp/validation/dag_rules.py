"""Rules on the DAGs that the import check saw: naming, uniqueness and the platform's conventions.

Invariant: these rules judge what Airflow itself built from the files (DAG ids, tags, each
task's owner and retries), never a guess from the source text; the source is read only to point
at the line where the id is written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError

from adp.validation.findings import DagInfo, Finding
from adp.validation.import_check import ImportResult
from adp.validation.options import ConfigError, ValidationOptions, first_problem
from adp.validation.rules import new_finding
from adp.validation.sources import Source
from adp.validation.static_rules import locate


class _ManifestDag(BaseModel):
    model_config = ConfigDict(extra="allow")
    dag_id: str
    path: str = ""


class _ManifestFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    path: str


class EnvManifest(BaseModel):
    """What validation needs from another package's published manifest (or from the JSON report
    of ``adp dags validate``, which has the same fields)."""

    model_config = ConfigDict(extra="allow")
    package: str
    dags: list[_ManifestDag] = []
    files: list[_ManifestFile | str] = []

    def file_names(self) -> set[str]:
        paths = [item if isinstance(item, str) else item.path for item in self.files]
        paths += [dag.path for dag in self.dags if dag.path]
        return {PurePosixPath(path).name for path in paths if path.endswith(".py")}


def load_manifests(paths: Sequence[Path]) -> list[tuple[Path, EnvManifest]]:
    """Every manifest file (a directory: each ``*.json`` in it); a bad one is a ConfigError."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    manifests = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            manifests.append((file, EnvManifest.model_validate(data)))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"--env-manifest {file}: cannot read it as JSON ({error})") from None
        except ValidationError as error:
            raise ConfigError(
                f"--env-manifest {file}: {first_problem(error)} (a release manifest or the JSON "
                "report of adp dags validate)"
            ) from None
    return manifests


def _finding(rule_id: str, source: Source, line: int, message: str) -> Finding:
    return new_finding(rule_id, source.display, message, line)


def check_dags(
    results: Sequence[ImportResult],
    dag_files: Sequence[Source],
    options: ValidationOptions,
    manifests: Sequence[tuple[Path, EnvManifest]],
) -> tuple[list[Finding], list[DagInfo]]:
    findings: list[Finding] = []
    dags: list[DagInfo] = []
    prefix = options.dag_id_prefix
    owners: dict[str, list[tuple[Source, int]]] = defaultdict(list)
    others = [(path, m) for path, m in manifests if m.package != options.package]
    taken = {dag.dag_id: (m.package, path) for path, m in others for dag in m.dags}
    for result in results:
        source = result.source
        for dag in result.dags:
            line = locate(source, dag.dag_id)
            owners[dag.dag_id].append((source, line))
            dags.append(DagInfo(dag_id=dag.dag_id, path=source.relative, line=line))
            if prefix and not dag.dag_id.startswith(prefix):
                findings.append(
                    _finding(
                        "ADP100", source, line, f"DAG id {dag.dag_id!r} must start with {prefix!r}"
                    )
                )
            if dag.dag_id in taken:
                package, where = taken[dag.dag_id]
                findings.append(
                    _finding(
                        "ADP102",
                        source,
                        line,
                        f"DAG id {dag.dag_id!r} is already published by package {package!r} "
                        f"({where})",
                    )
                )
            if options.require_tags and not dag.tags:
                findings.append(_finding("ADP400", source, line, f"DAG {dag.dag_id!r} has no tags"))
            for task in dag.tasks:
                task_id = str(task["task_id"])
                task_line = locate(source, task_id.rsplit(".", 1)[-1]) or line
                task_name = f"{dag.dag_id}.{task_id}"
                if options.require_owner and (not task["owner"] or task["owner"] == "airflow"):
                    findings.append(
                        _finding("ADP401", source, task_line, f"task {task_name} has no owner")
                    )
                if options.require_retries and not task["retries"]:
                    findings.append(
                        _finding("ADP402", source, task_line, f"task {task_name} has no retries")
                    )
    for dag_id, places in owners.items():
        files = {source.real for source, _ in places}
        if len(files) > 1:
            for source, line in places:
                elsewhere = sorted(s.display for s, _ in places if s is not source)
                findings.append(
                    _finding(
                        "ADP101",
                        source,
                        line,
                        f"DAG id {dag_id!r} is also defined in {', '.join(elsewhere)}",
                    )
                )
    by_name: dict[str, list[Source]] = defaultdict(list)
    for source in dag_files:
        by_name[source.path.name].append(source)
    other_names = {name: m.package for _, m in others for name in m.file_names()}
    for name, sources in by_name.items():
        for source in sources:
            if len(sources) > 1:
                elsewhere = sorted(s.display for s in sources if s is not source)
                findings.append(
                    _finding(
                        "ADP103",
                        source,
                        0,
                        f"file name {name} is also used by {', '.join(elsewhere)}",
                    )
                )
            if name in other_names:
                findings.append(
                    _finding(
                        "ADP103",
                        source,
                        0,
                        f"file name {name} is already published by package {other_names[name]!r}",
                    )
                )
    return findings, dags
