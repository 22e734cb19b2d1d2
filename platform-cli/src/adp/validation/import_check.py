"""Run the import worker in the target environment and turn its results into findings.

The target is an interpreter (``--python``; by default this one) or a container image
(``--image``: ``docker run --network none``, the roots mounted read-only). Invariant: the DAG
files are imported only there, never in the process that validates, so a DAG file can neither
change nor crash the validation; a target that cannot import Airflow is one ADP025 finding.

The code imported never sees the caller's environment: an interpreter's worker starts with
``import_environment.worker_environment`` (an allow-list plus the names passed explicitly), in
the isolation ``import_isolation.choose`` gives (namespaces of its own, or in-process only,
which is reported as ADP026); a container gets no variable of the caller but the ``--env`` names
passed explicitly (docker passes none unless told). In namespaces, the platform's secret files
(``hide``, and the validating user's credential files) are hidden from it (``import_hiding``);
a path it could not hide is reported as ADP026.

Each interpreter's worker gets a temporary folder of its own, made here for it (``TMPDIR``; its
HOME and AIRFLOW_HOME are made in it) and removed once it is done (or stopped). In namespaces it
is the only place it can write to: every other mount is read-only (``import_mounts``), so the
code imported cannot change the interpreter that imports it (a ``.pth`` in its site-packages),
the folder validated, the user's home or anything else the validating user could write.

Whatever the isolation, every string of the worker's results (error messages, DAG ids, tags,
network targets, its last words on stderr) passes through ``Redactor(redact)`` before it
becomes an ``ImportResult`` or a message: the secret values the caller knows never reach a
finding, plain or in the encodings ``redaction`` lists.

An ``ImportStandby``, owned by a long-running server (the webhook receiver, the MCP server) and
given to each run, keeps one worker of a local interpreter started in advance, so that server
does not pay Airflow's import on every run; see ``ImportStandby``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from adp.errors import Failure
from adp.validation.findings import Finding
from adp.validation.import_environment import worker_environment
from adp.validation.import_hiding import HidePlan
from adp.validation.import_hiding import plan as hiding_plan
from adp.validation.import_isolation import Isolation, IsolationError, choose
from adp.validation.import_settings import ImportCheckSettings
from adp.validation.options import ImportTarget
from adp.validation.redaction import Redactor
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
    unsealed: str = ""  # why the worker's seccomp filter is missing ("" when it holds)


class TargetUnavailable(Failure, RuntimeError):
    """The target environment could not run the worker (no Airflow, no image, no docker)."""


def _docker_command(
    image: str, roots: Sequence[Path], pass_env: Sequence[str] = ()
) -> tuple[list[str], Callable[[Path], str]]:
    """``docker run`` of the worker: no network, read-only, and no variable of the caller but
    the ``pass_env`` names (``--env NAME``: docker copies that one value, nothing else)."""
    docker = ImportCheckSettings.load().docker or shutil.which("docker")
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
        *(f"--env={name}" for name in pass_env),
        *mounts,
        image,
        "-c",
        WORKER.read_text(encoding="utf-8"),
    ]
    return command, translate


def _worker_cwd() -> str:
    return os.path.realpath(os.sep)


def _private_folder() -> Path:
    """A new folder for one worker: its TMPDIR, the only place it can write to in namespaces."""
    return Path(tempfile.mkdtemp(prefix="adp-import-"))


def _remove(folder: Path) -> None:
    """Remove a worker's temporary folder once it is done, also where its code made a folder
    in it unreadable (owner access is given back through a handle: never through a link)."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        return

    def owner_access(path: str) -> None:
        with contextlib.suppress(OSError):
            handle = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY)
            try:
                os.chmod(f"/proc/self/fd/{handle}", 0o700)
            finally:
                os.close(handle)

    owner_access(str(folder))
    for root, folders, _ in os.walk(folder):  # (never into a link)
        for name in folders:
            owner_access(os.path.join(root, name))
    shutil.rmtree(folder, ignore_errors=True)


def _launch(
    python: str,
    isolation: Isolation,
    hiding: HidePlan | None,
    env: dict[str, str],
    stdin: int | IO[bytes],
    out: IO[bytes],
    err: IO[bytes],
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a worker in a temporary folder made for it (its TMPDIR, and in namespaces the one
    folder it may write to); the process and that folder, which the caller removes."""
    private = _private_folder()
    try:
        process = subprocess.Popen(
            _worker_command(python, isolation, hiding, private),
            stdin=stdin,
            stdout=out,
            stderr=err,
            cwd=_worker_cwd(),
            env={**env, "TMPDIR": str(private)},
            start_new_session=True,
        )
    except BaseException:
        _remove(private)
        raise
    return process, private


@dataclass
class _Worker:
    """A started worker of a local interpreter waiting for its request on a stdin pipe, what it
    was started with (``command`` and ``env`` but its own temporary folder: a standby is used
    only if a fresh start would be the same) and that folder (``private``)."""

    process: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]
    command: list[str]
    env: dict[str, str]
    started: float  # time.time()
    private: Path

    def stop(self) -> None:
        """End it, free its files and remove its temporary folder."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:
            _signal(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal(self.process, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        self.out.close()
        self.err.close()
        _remove(self.private)


def _signal(process: subprocess.Popen[bytes], number: int) -> None:
    """Signal the worker's process group (started in a session of its own): the worker itself
    also where ``unshare`` stands between (it ignores SIGTERM), and the processes it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


def _spawn_waiting(
    python: str, isolation: Isolation, hiding: HidePlan | None, env: dict[str, str]
) -> _Worker:
    """Start a worker that imports Airflow now and waits on a pipe for its request."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the _Worker
    err = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the _Worker
    try:
        process, private = _launch(python, isolation, hiding, env, subprocess.PIPE, out, err)
    except BaseException:
        out.close()
        err.close()
        raise
    command = _worker_command(python, isolation, hiding)
    return _Worker(process, out, err, command, env, time.time(), private)


def _send(stdin: IO[bytes], data: bytes) -> None:
    """Write the request and close the pipe (a worker that died just ends the write)."""
    with contextlib.suppress(OSError):
        stdin.write(data)
    with contextlib.suppress(OSError):
        stdin.close()


@dataclass(frozen=True)
class WarmStats:
    """What a standby did (``ImportStandby.stats()``): for tests and benchmarks."""

    enabled: bool
    hits: int  # runs that took a standby
    misses: int  # runs (given it, its interpreter) that found none alive and started one
    standby_pid: int | None  # the standby waiting now
    last_pid: int | None  # the worker the last hit took
    last_started: float | None  # when that worker was started (time.time())


HidingRequest = tuple[tuple[Path, ...], tuple[Path, ...]]  # (hide, visible) of a run


class ImportStandby:
    """One import worker of a local interpreter (``python``, default: this one) kept started in
    advance, owned by the long-running server that wants it (the webhook receiver, the MCP
    server): ``with ImportStandby() as standby:`` (or ``start()`` ... ``stop()``), and each run
    that may take it is given it (``validate(..., standby=standby)``, ``Promoter(...,
    standby=standby)``). One-shot callers (the CLI's commands) have none.

    While started, an ``ImportRun`` given it whose target is its interpreter (``target.python``
    None or equal to it; never an image) takes the waiting worker, which has already imported
    Airflow, instead of starting one; the next one starts in the background when the run ends.
    A standby is used only if alive and started with exactly the command (isolation and hidden
    paths included) and the environment a fresh start would get now (the allow-list, no
    ``pass_env``); otherwise a fresh worker runs, as without a standby (fail closed: never a
    worker started in another view). The next standby hides what the last run asked to hide
    (``hide``/``visible``), so a caller that always asks the same (the promoter) finds it. One
    worker serves one run only. ``stop()`` (also at the interpreter's exit) stops the waiting
    worker and removes its folder. Thread-safe: every state change is under one lock."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._enabled = False
        self._worker: _Worker | None = None
        # the last run's since start(): the next standby hides the same
        self._hiding: HidingRequest = ((), ())
        self._hits = 0
        self._misses = 0
        self._last: _Worker | None = None

    def __enter__(self) -> ImportStandby:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> ImportStandby:
        """Start keeping a worker waiting (in the background: this returns at once)."""
        with self._lock:
            if self._enabled:
                return self
            self._enabled = True
            self._hiding = ((), ())  # a new start: no run asked for anything yet
        atexit.register(self.stop)
        self._refill_later()
        return self

    def stop(self) -> None:
        """No more standbys; the waiting one is stopped and its folder removed."""
        with self._lock:
            self._enabled = False
            old, self._worker = self._worker, None
        atexit.unregister(self.stop)
        if old is not None:
            old.stop()

    def stats(self) -> WarmStats:
        """Its counters (hits, misses) and its workers' pids: for tests and benchmarks."""
        with self._lock:
            waiting = self._worker.process.pid if self._worker is not None else None
            return WarmStats(
                self._enabled,
                self._hits,
                self._misses,
                waiting,
                self._last.process.pid if self._last is not None else None,
                self._last.started if self._last is not None else None,
            )

    def _refill_later(self, discard: _Worker | None = None) -> None:
        def work() -> None:
            if discard is not None:
                discard.stop()
            self._refill()

        threading.Thread(target=work, name="adp-import-standby", daemon=True).start()

    def _refill(self) -> None:
        """Start the next standby unless one waits (under the lock: never two at once), as a
        run without ``pass_env`` would start its worker: same isolation, same environment, the
        same paths hidden as the last run asked for (a folder validated inside a hidden one
        needs a worker of its own: its mounts are made at the start)."""
        with self._lock:
            if not self._enabled or self._worker is not None:
                return
            # a run then starts its own worker and says why not
            with contextlib.suppress(OSError, IsolationError):
                isolation = choose(python=self.python)
                hiding = _hiding(isolation, self.python, *self._hiding, roots=())
                self._worker = _spawn_waiting(self.python, isolation, hiding, worker_environment())

    def _applies(self, python: str) -> bool:
        with self._lock:
            return self._enabled and python == self.python

    def _take(
        self, python: str, command: list[str], env: dict[str, str], hiding: HidingRequest
    ) -> _Worker | None:
        """The waiting standby if it is alive and was started exactly as ``command`` in ``env``
        would start now (but for its own temporary folder); None otherwise (stopped, another
        interpreter). The next standby starts when the run ends (``_refill_later``), so that
        its Airflow import does not take the CPU from the run, hiding what this run's
        ``hiding`` asked for."""
        with self._lock:
            if not self._enabled or python != self.python:
                return None
            self._hiding = hiding
            worker, self._worker = self._worker, None
            discard = None
            if worker is not None and (
                worker.process.poll() is not None or worker.command != command or worker.env != env
            ):
                discard, worker = worker, None  # died, or started with another environment
            if worker is None:
                self._misses += 1
            else:
                self._hits += 1
                self._last = worker
        if discard is not None:
            threading.Thread(target=discard.stop, name="adp-import-discard", daemon=True).start()
        return worker


def _worker_command(
    python: str, isolation: Isolation, hiding: HidePlan | None, private: Path | None = None
) -> list[str]:
    """The worker's command; in namespaces ``private`` is the one folder it may write to."""
    if hiding is not None and private is not None:
        hiding = replace(hiding, writable=(str(private),))
    return [*isolation.command_prefix(hiding), python, "-c", WORKER.read_text(encoding="utf-8")]


def _hiding(
    isolation: Isolation,
    python: str,
    hide: Sequence[Path],
    visible: Sequence[Path],
    roots: Sequence[Path],
) -> HidePlan | None:
    """What a worker in ``isolation`` hides (None: no mount namespace, nothing hidden): never
    what it needs, its interpreter and ``setpriv`` included."""
    if isolation.kind != "namespace":
        return None
    needs = [*isolation.needs, python, shutil.which(python) or python, *isolation.privileges[:1]]
    needs.append(tempfile.gettempdir())  # where its temporary folder is made
    return hiding_plan(hide, roots, needs, visible)


class ImportRun:
    """The import check of some sources, running in the background from ``start`` (so that the
    target's Airflow warms up while the static rules run) until ``results``.

    ``pass_env``: names of the caller's environment given to the code imported, beyond the
    allow-list; ``withheld``: names never given (the platform's credentials); ``isolation``:
    ``auto``, ``namespace`` or ``in-process`` (default: ``ADP_IMPORT_ISOLATION``, else auto);
    ``hide``: files and folders hidden from it in namespaces (with the user's credential files;
    ``visible``: folders of the caller kept visible inside its hidden ones); ``redact``: secret
    values removed from every result; ``standby``: the ``ImportStandby`` the run may take its
    worker from (None: it starts one). After ``results``, ``isolation`` is what the worker had,
    ``hiding`` what it hid, and ``weaker`` (the ADP026 message) says when that was less than
    namespaces and seccomp, or a path could not be hidden."""

    def __init__(
        self,
        sources: Sequence[Source],
        roots: Sequence[Path],
        target: ImportTarget,
        timeout: float,
        jobs: int,
        pass_env: Sequence[str] = (),
        withheld: Collection[str] = (),
        isolation: str | None = None,
        hide: Sequence[Path] = (),
        visible: Sequence[Path] = (),
        redact: Sequence[str] = (),
        standby: ImportStandby | None = None,
    ) -> None:
        self.sources = list(sources)
        self.timeout = timeout
        self.jobs = jobs
        self.where = ""
        self.warm = False  # this run took the standby's worker
        self.isolation: Isolation | None = None  # None: an image (docker --network none)
        self.weaker = ""
        self.hiding: HidePlan | None = None
        self._hide = tuple(hide)
        self._visible = tuple(visible)
        self._redactor = Redactor(redact)
        self._pass_env = list(pass_env)
        self._withheld = frozenset(withheld)
        self._mode = isolation
        self._process: subprocess.Popen[bytes] | None = None
        self._private: Path | None = None  # the worker's temporary folder, removed by close()
        self._writer: threading.Thread | None = None
        self._standby = standby
        self._kept_warm: ImportStandby | None = None  # the standby refilled when the run ends
        self._error: TargetUnavailable | None = None
        # The worker writes to files, not pipes: it never waits for this process to read.
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        if not self.sources:
            return
        try:
            self._start(roots, target)
        except TargetUnavailable as error:
            self._error = error

    def _start(self, roots: Sequence[Path], target: ImportTarget) -> None:
        translate: Callable[[Path], str]
        try:
            env = worker_environment(self._pass_env, self._withheld)
        except ValueError as error:
            raise TargetUnavailable(str(error)) from None
        python = target.python or sys.executable
        hiding: HidePlan | None = None
        if target.image:
            command, translate = _docker_command(target.image, roots, self._pass_env)
            self.where = f"image {target.image}"
            # the docker client is the platform's own: it needs its settings (DOCKER_HOST, its
            # configuration) and gives the container none of its variables but --env's
            env = {name: value for name, value in os.environ.items() if name not in self._withheld}
        else:
            try:
                self.isolation = choose(self._mode, python=python)
            except IsolationError as error:
                raise TargetUnavailable(str(error)) from None
            self.hiding = hiding = _hiding(self.isolation, python, self._hide, self._visible, roots)
            command = _worker_command(python, self.isolation, hiding)
            translate = str
            self.where = f"interpreter {python}"
        request = {
            "files": [
                {"id": number, "path": translate(source.real), "root": translate(source.root)}
                for number, source in enumerate(self.sources)
            ],
            "timeout": self.timeout,
            "jobs": self.jobs,
            "isolation": self.isolation.kind if self.isolation else "namespace",
        }
        data = json.dumps(request).encode()
        if self._standby is not None and not target.image and self._standby._applies(python):
            self._kept_warm = self._standby
        asked = (self._hide, self._visible)
        standby = self._kept_warm._take(python, command, env, asked) if self._kept_warm else None
        if standby is not None:
            self.warm = True
            self._process = standby.process
            self._private = standby.private
            self._out.close()
            self._err.close()
            self._out, self._err = standby.out, standby.err
            assert standby.process.stdin is not None
            # A thread writes: a large request must not wait for a worker still importing.
            self._writer = threading.Thread(
                target=_send, args=(standby.process.stdin, data), daemon=True
            )
            self._writer.start()
            return
        with tempfile.TemporaryFile() as stdin:
            stdin.write(data)
            stdin.seek(0)
            try:
                if self.isolation is None:  # docker run: the image has its own /tmp
                    self._process = subprocess.Popen(
                        command,
                        stdin=stdin,
                        stdout=self._out,
                        stderr=self._err,
                        cwd=_worker_cwd(),
                        env=env,
                        start_new_session=True,
                    )
                else:
                    self._process, self._private = _launch(
                        python, self.isolation, hiding, env, stdin, self._out, self._err
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
            self.close()
            raise TargetUnavailable(f"{self.where}: the import check did not finish") from None
        self._join_writer()
        self._out.seek(0)
        self._err.seek(0)
        stdout = self._out.read().decode(errors="replace")
        stderr = self._redactor.text(self._err.read().decode(errors="replace"))
        self.close()
        return self._parse(stdout, stderr, returncode)

    def close(self) -> None:
        """Stop the worker if it still runs (the validation failed elsewhere), free its files
        and remove its temporary folder."""
        if self._process is not None and self._process.poll() is None:
            self._kill()
        self._join_writer()
        self._out.close()
        self._err.close()
        if self._private is not None:
            _remove(self._private)
            self._private = None
        if self._kept_warm is not None:  # the run is over: the next one's worker warms up now
            kept, self._kept_warm = self._kept_warm, None
            kept._refill_later()

    def _kill(self) -> None:
        """The worker and every process it started (``unshare --kill-child`` takes its
        namespace down with it; without one, the process group)."""
        assert self._process is not None
        _signal(self._process, signal.SIGKILL)
        self._process.kill()
        self._process.wait()

    def _join_writer(self) -> None:
        if self._writer is not None:
            self._writer.join(timeout=5)  # the worker has read it, or died: the write ended

    def _parse(self, stdout: str, stderr: str, returncode: int) -> tuple[list[ImportResult], str]:
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if not lines:
            detail = stderr.strip().splitlines()[-3:] or [f"exit {returncode}"]
            raise TargetUnavailable(
                f"{self.where}: the worker did not start ({' / '.join(detail)})"
            )
        header = self._redactor.value(json.loads(lines[0]))
        assert isinstance(header, dict)
        if "fatal" in header:
            raise TargetUnavailable(f"{self.where}: {header['fatal']}")
        results: list[ImportResult] = []
        for line in lines[1:]:
            item = self._redactor.value(json.loads(line))
            assert isinstance(item, dict)
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
                    unsealed=str(item.get("unsealed") or ""),
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
        where = f"{self.where} (Airflow {header.get('airflow', '?')})"
        if self.isolation is None:
            return results, f"{where}, docker run --network=none"
        unsealed = next((result.unsealed for result in results if result.unsealed), "")
        if unsealed:
            why = f"{self.isolation.detail}; {unsealed}" if self.isolation.detail else unsealed
            self.isolation = replace(self.isolation, detail=why, seccomp=False)
        warnings = [self.isolation.warning()] if self.isolation.weaker else []
        if self.hiding is not None and self.hiding.skipped:
            warnings.append(self.hiding.warning())
        self.weaker = "; ".join(warnings)
        return results, f"{where}, {self.isolation.describe()}"


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
