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
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adp.validation.findings import Finding
from adp.validation.options import ImportTarget
from adp.validation.rules import new_finding
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


def _docker_command(image: str, roots: Sequence[Path]) -> tuple[list[str], Callable[[Path], str]]:
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
        "--entrypoint=python",
        *mounts,
        image,
        "-c",
        WORKER.read_text(encoding="utf-8"),
    ]
    return command, translate


# Values a deployment injects that the DAG files must not depend on at parse time: removed so
# that an interpreter target gives the verdict an image or CI gives.
_INJECTED = ("AIRFLOW_VAR_", "AIRFLOW_CONN_", "AIRFLOW__SECRETS__")


def _clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(_INJECTED)}


class ImportRun:
    """The import check of some sources, running in the background from ``start`` (so that the
    target's Airflow warms up while the static rules run) until ``results``."""

    def __init__(
        self,
        sources: Sequence[Source],
        roots: Sequence[Path],
        target: ImportTarget,
        timeout: float,
        jobs: int,
    ) -> None:
        self.sources = list(sources)
        self.timeout = timeout
        self.jobs = jobs
        self.where = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._error: TargetUnavailable | None = None
        # The worker writes to files, not pipes: it never waits for this process to read.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        if not self.sources:
            return
        try:
            self._start(roots, target)
        except TargetUnavailable as error:
            self._error = error

    def _start(self, roots: Sequence[Path], target: ImportTarget) -> None:
        translate: Callable[[Path], str]
        if target.image:
            command, translate = _docker_command(target.image, roots)
            self.where = f"image {target.image}"
        else:
            python = target.python or sys.executable
            command = [python, "-c", WORKER.read_text(encoding="utf-8")]
            translate = str
            self.where = f"interpreter {python}"
        request = {
            "files": [
                {"id": number, "path": translate(source.real), "root": translate(source.root)}
                for number, source in enumerate(self.sources)
            ],
            "timeout": self.timeout,
            "jobs": self.jobs,
        }
        with tempfile.TemporaryFile() as stdin:
            stdin.write(json.dumps(request).encode())
            stdin.seek(0)
            try:
                self._process = subprocess.Popen(
                    command,
                    stdin=stdin,
                    stdout=self._out,
                    stderr=self._err,
                    cwd=os.path.realpath(os.sep),
                    env=_clean_environment(),
                )
            except OSError as error:
                raise TargetUnavailable(
                    f"{self.where}: {error.strerror}: {error.filename or command[0]}"
                ) from None

    def results(self) -> tuple[list[ImportResult], str]:
        """Wait for the worker; its results and the target's description. Raises
        TargetUnavailable when the target could not import Airflow or run at all."""
        if self._error is not None:
            raise self._error
        if self._process is None:
            return [], ""
        limit = 120 + (self.timeout + 10) * len(self.sources) / max(self.jobs, 1)
        try:
            returncode = self._process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise TargetUnavailable(f"{self.where}: the import check did not finish") from None
        self._out.seek(0)
        self._err.seek(0)
        stdout = self._out.read().decode(errors="replace")
        stderr = self._err.read().decode(errors="replace")
        self.close()
        return self._parse(stdout, stderr, returncode)

    def close(self) -> None:
        """Stop the worker if it still runs (the validation failed elsewhere) and free its files."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._out.close()
        self._err.close()

    def _parse(self, stdout: str, stderr: str, returncode: int) -> tuple[list[ImportResult], str]:
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if not lines:
            detail = stderr.strip().splitlines()[-3:] or [f"exit {returncode}"]
            raise TargetUnavailable(
                f"{self.where}: the worker did not start ({' / '.join(detail)})"
            )
        header = json.loads(lines[0])
        if "fatal" in header:
            raise TargetUnavailable(f"{self.where}: {header['fatal']}")
        results: list[ImportResult] = []
        for line in lines[1:]:
            item = json.loads(line)
            error = item.get("error") or {}
            results.append(
                ImportResult(
                    source=self.sources[item["id"]],
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
        for source in self.sources:
            if id(source) not in returned:  # the worker itself died part-way
                results.append(
                    ImportResult(
                        source=source,
                        status="error",
                        error_message=f"the import worker stopped before this file (exit "
                        f"{returncode})",
                    )
                )
        return results, f"{self.where} (Airflow {header.get('airflow', '?')})"


def run_imports(
    sources: Sequence[Source],
    roots: Sequence[Path],
    target: ImportTarget,
    timeout: float,
    jobs: int,
) -> tuple[list[ImportResult], str]:
    """Import every source in the target and wait: ``ImportRun`` in one call."""
    return ImportRun(sources, roots, target, timeout, jobs).results()


def _finding(rule_id: str, source: Source, line: int, message: str) -> Finding:
    return new_finding(rule_id, source.display, message, line)


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
