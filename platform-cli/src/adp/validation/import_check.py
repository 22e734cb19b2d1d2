"""Run the import worker in the target environment and turn its results into findings.

The target is an interpreter (``--python``; by default this one) or a container image
(``--image``: ``docker run --network none``, the roots mounted read-only). Invariant: the DAG
files are imported only there, never in the process that validates, so a DAG file can neither
change nor crash the validation; a target that cannot import Airflow is one ADP025 finding.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adp.validation.findings import Finding
from adp.validation.options import ImportTarget
from adp.validation.rules import rule
from adp.validation.sources import Source

WORKER = Path(__file__).with_name("import_worker.py")
CONTAINER_ROOT = "/adp-validate"


@dataclass
class ImportedDag:
    dag_id: str
    tags: list[str]
    tasks: list[dict[str, object]]


@dataclass
class ImportResult:
    source: Source
    status: str  # ok, error, timeout
    seconds: float = 0.0
    dags: list[ImportedDag] = field(default_factory=list)
    error_line: int = 0
    error_message: str = ""
    network: list[dict[str, object]] = field(default_factory=list)


class TargetUnavailable(RuntimeError):
    """The target environment could not run the worker (no Airflow, no image, no docker)."""


def _docker_command(
    image: str, roots: Sequence[Path], jobs: int
) -> tuple[list[str], Callable[[Path], str]]:
    docker = os.environ.get("DOCKER") or shutil.which("docker")
    if not docker:
        raise TargetUnavailable(
            "no docker client on PATH for --image; install docker or use --python"
        )
    mounts: list[str] = []
    mapping: dict[Path, str] = {}
    for number, root in enumerate(roots):
        inside = f"{CONTAINER_ROOT}/{number}"
        mapping[root] = inside
        mounts += ["--volume", f"{root}:{inside}:ro"]

    def translate(path: Path) -> str:
        for root, inside in mapping.items():
            if path == root or root in path.parents:
                return f"{inside}/{path.relative_to(root).as_posix()}"
        raise ValueError(f"{path} is outside the mounted roots")

    command = [
        docker,
        "run",
        "--rm",
        "--interactive",
        "--network=none",
        "--read-only",
        "--tmpfs=/tmp",
        f"--cpus={jobs}",
        "--entrypoint=python",
        *mounts,
        image,
        "-c",
        WORKER.read_text(encoding="utf-8"),
    ]
    return command, translate


def run_imports(
    sources: Sequence[Source],
    roots: Sequence[Path],
    target: ImportTarget,
    timeout: float,
    jobs: int,
) -> tuple[list[ImportResult], str]:
    """Import every source in the target; returns the results and the target's description."""
    if not sources:
        return [], ""
    if target.image:
        command, translate = _docker_command(target.image, roots, jobs)
        where = f"image {target.image}"
    else:
        python = target.python or sys.executable
        command = [python, "-c", WORKER.read_text(encoding="utf-8")]
        translate = str  # type: ignore[assignment]
        where = f"interpreter {python}"
    by_id = dict(enumerate(sources))
    request = {
        "files": [
            {"id": number, "path": translate(source.real), "root": translate(source.root)}
            for number, source in by_id.items()
        ],
        "timeout": timeout,
        "jobs": jobs,
    }
    try:
        completed = subprocess.run(
            command,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=False,
            cwd=os.path.realpath(os.sep),
            timeout=120 + (timeout + 10) * len(sources) / max(jobs, 1),
        )
    except FileNotFoundError as error:
        raise TargetUnavailable(f"{where}: {error.strerror}: {error.filename}") from None
    except subprocess.TimeoutExpired:
        raise TargetUnavailable(f"{where}: the import check did not finish") from None
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        detail = completed.stderr.strip().splitlines()[-3:] or [f"exit {completed.returncode}"]
        raise TargetUnavailable(f"{where}: the worker did not start ({' / '.join(detail)})")
    header = json.loads(lines[0])
    if "fatal" in header:
        raise TargetUnavailable(f"{where}: {header['fatal']}")
    results: list[ImportResult] = []
    for line in lines[1:]:
        item = json.loads(line)
        source = by_id[item["id"]]
        error = item.get("error") or {}
        results.append(
            ImportResult(
                source=source,
                status=item["status"],
                seconds=float(item.get("seconds") or 0.0),
                dags=[
                    ImportedDag(dag_id=d["dag_id"], tags=d["tags"], tasks=d["tasks"])
                    for d in item.get("dags", [])
                ],
                error_line=int(error.get("line") or 0),
                error_message=str(error.get("message") or ""),
                network=item.get("network") or [],
            )
        )
    returned = {id(result.source) for result in results}
    for source in sources:
        if id(source) not in returned:  # the worker itself died part-way
            results.append(
                ImportResult(
                    source=source,
                    status="error",
                    error_message=f"the import worker stopped before this file (exit "
                    f"{completed.returncode})",
                )
            )
    version = header.get("airflow", "?")
    return results, f"{where} (Airflow {version})"


def _finding(rule_id: str, source: Source, line: int, message: str) -> Finding:
    r = rule(rule_id)
    return Finding(
        rule=r.id,
        severity=r.severity,
        path=source.display,
        line=line,
        column=1 if line else 0,
        message=message,
        fix=r.fix,
    )


def findings_of(result: ImportResult, threshold: float, require_dag: bool) -> list[Finding]:
    source = result.source
    findings: list[Finding] = []
    for attempt in result.network[:1]:
        findings.append(
            _finding(
                "ADP023",
                source,
                int(attempt.get("line") or 0),  # type: ignore[call-overload]
                f"opened a network connection to {attempt.get('target')} while importing",
            )
        )
    if result.status == "timeout":
        findings.append(_finding("ADP021", source, result.error_line, result.error_message))
    elif result.status == "error" and not result.network:
        findings.append(
            _finding("ADP020", source, result.error_line, f"import failed: {result.error_message}")
        )
    elif result.status == "ok":
        if require_dag and not result.dags:
            findings.append(_finding("ADP022", source, 0, "importing the file defined no DAG"))
        if result.seconds > threshold:
            findings.append(
                _finding(
                    "ADP024",
                    source,
                    0,
                    f"importing took {result.seconds:.2f} s (threshold {threshold:g} s)",
                )
            )
    return findings
