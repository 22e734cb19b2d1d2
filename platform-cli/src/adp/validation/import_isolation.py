"""Which isolation this machine gives the import check's worker, probed once per process.

``namespace`` (the strong one): the worker runs under ``unshare`` in network, IPC, PID and
mount namespaces of its own (and a user namespace where the kernel allows one), with
``setpriv`` dropping every capability: no network interface but a loopback that is down, for
every process it starts; no other process in view (its own /proc), so no other process's
environment or memory; the platform's secret files hidden (``import_mounts``, run between the
two: an empty read-only tmpfs over each secret folder, /dev/null over each secret file; see
``import_hiding`` for which); every mount read-only and ``nodev`` but its own temporary folder
(``import_mounts`` too), so it changes no file of the machine; no capability to undo any of
it. In it, the worker's seccomp
filter refuses every socket family but AF_INET/AF_INET6 (AF_UNIX sockets are files, which a
network namespace does not hide).

``in-process`` (the weaker one, where namespaces are not allowed: a container with the default
seccomp profile, a kernel without user namespaces): the worker's seccomp filter refuses every
socket, so no process of the tree opens one, and an audit hook in the file's own process
refuses new processes, ctypes calls and other processes' /proc entries; no file is hidden and
nothing is read-only: the code can read and write what the worker's user can. Reported as
``ADP026``.

Invariant: ``choose()`` returns the namespace isolation only after a probe, run once per
process (and interpreter), saw it hold: a worker in other network and IPC namespaces, as PID
1, with no capability, AF_UNIX refused, loopback unreachable, a file and a folder hidden by
``import_mounts`` while a folder kept inside the hidden one stays readable, no file made in a
folder of the user's nor in the kept folder, one made in its own temporary folder, and no
other writable mount in its reach.
``ADP_IMPORT_ISOLATION`` (read here, by the platform, never by the worker: the worker's
environment is an allow-list) chooses:
``auto`` (default: the best available), ``namespace`` (refuse to run the import check without
it) or ``in-process`` (the fallback, for tests and for machines where the probe misleads).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adp.errors import UsageError
from adp.validation.import_environment import worker_environment
from adp.validation.import_hiding import HidePlan
from adp.validation.import_settings import ImportCheckSettings

WORKER = Path(__file__).with_name("import_worker.py")
MOUNTS = Path(__file__).with_name("import_mounts.py")
SETTING = ImportCheckSettings.variable("isolation")  # ADP_IMPORT_ISOLATION
MODES = ("auto", "namespace", "in-process")
# Every capability dropped, none regained by exec (also as root), no new privileges.
SETPRIV = ("--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs")
NAMESPACES = ("--net", "--ipc", "--pid", "--fork", "--kill-child", "--mount-proc")
VARIANTS = (
    ("user namespace", ("--user", "--map-root-user")),  # any user, where the kernel allows
    ("root", ()),  # root without user namespaces
)
PROBE_SECONDS = 30
Kind = Literal["namespace", "in-process"]


class IsolationError(UsageError, RuntimeError):
    """The isolation asked for (``ADP_IMPORT_ISOLATION``) cannot be given; nothing ran."""


def mounter_command(arguments: Sequence[str] = ()) -> list[str]:
    """``import_mounts`` with ``arguments`` (``--hide``/``--keep``), up to its ``--``: run by
    this interpreter, isolated from its environment and site (``-I -S``)."""
    text = MOUNTS.read_text(encoding="utf-8")
    return [sys.executable, "-I", "-S", "-c", text, *arguments, "--"]


@dataclass(frozen=True)
class Isolation:
    """How the worker is isolated: ``prefix`` (the namespaces) and ``privileges`` (dropping
    them) go before its command, the hiding between (``command_prefix``); ``detail`` says how
    (namespace) or why only in-process; ``seccomp`` whether the worker's filter holds;
    ``needs`` what the worker's interpreter needs (never hidden: its prefix, ``sys.path``, its
    temporary folder), as its probe reported them."""

    kind: Kind
    prefix: tuple[str, ...] = ()
    detail: str = ""
    seccomp: bool = True
    privileges: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def command_prefix(self, hiding: HidePlan | None = None) -> tuple[str, ...]:
        """What goes before the worker's command: nothing in-process; in namespaces,
        ``unshare``, ``import_mounts`` (hiding ``hiding``'s paths, every mount read-only but
        its ``writable`` folder), then ``setpriv``."""
        if self.kind != "namespace":
            return ()
        arguments = hiding.arguments() if hiding is not None else []
        return (*self.prefix, *mounter_command(arguments), *self.privileges)

    @property
    def weaker(self) -> bool:
        return self.kind != "namespace" or not self.seccomp

    def describe(self) -> str:
        """One line for a report's note, `adp doctor` and the docs' wording."""
        if self.kind == "namespace":
            return (
                f"network namespace ({self.detail}; secret files hidden, every file system "
                "read-only but its own temporary folder)"
            )
        cut = "seccomp refuses every socket" if self.seccomp else "no seccomp filter"
        return f"in-process isolation only ({cut}; {self.detail})"

    def warning(self) -> str:
        """The ADP026 message: what held and what did not."""
        if self.kind == "namespace":
            return (
                f"the import check ran in a network namespace but its seccomp filter was not "
                f"installed ({self.detail}): AF_UNIX sockets of this machine were reachable"
            )
        network = (
            "the network was cut by a seccomp filter for every process the file started"
            if self.seccomp
            else "the network was blocked only by an audit hook in the file's own process"
        )
        return (
            f"the import check ran with in-process isolation only ({self.detail}): {network}; "
            "other processes were guarded in-process only, which code can get round, and no "
            "file was hidden: the code could read the platform's secret files and the "
            "validating user's credentials, and change any file that user can write (its "
            "interpreter's packages, its home) (run where namespaces are allowed, or use "
            f"--image; {SETTING}=namespace refuses to run without them)"
        )


def requested(environ: Mapping[str, str] | None = None) -> str:
    """The mode ``ADP_IMPORT_ISOLATION`` asks for (default auto); IsolationError if unknown."""
    value = ImportCheckSettings.load(environ=environ).isolation.strip() or "auto"
    if value not in MODES:
        raise IsolationError(f"{SETTING}={value!r}: use auto, namespace or in-process")
    return value


def _run_probe(command: list[str], environ: dict[str, str]) -> tuple[dict[str, object], str]:
    """The probe's JSON, or {} and the last line of what went wrong."""
    try:
        done = subprocess.run(
            command,
            env=environ,
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            cwd=os.path.realpath(os.sep),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return {}, str(error)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        problem = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {}, problem[:200]
    return json.loads(lines[-1]), ""


def _namespace_problem(found: Mapping[str, object], hidden: Mapping[str, str]) -> str:
    """Why a namespace probe's answer is not the isolation promised ("" when it is);
    ``hidden``: path -> what the worker must read there ("" for a hidden file, "!" for a file
    of a hidden folder: not found, or a kept file's content; "!" for a folder, in which the
    worker must also fail to make a file)."""
    ours: dict[str, str | None] = {}
    for kind in ("net", "ipc"):
        try:
            ours[kind] = os.readlink(f"/proc/self/ns/{kind}")
        except OSError:
            ours[kind] = None
    if not found.get("net") or found.get("net") == ours["net"]:
        return "the worker shared this process's network namespace"
    if not found.get("ipc") or found.get("ipc") == ours["ipc"]:
        return "the worker shared this process's IPC namespace"
    if found.get("pid") != 1:
        return "the worker did not get a PID namespace of its own"
    if int(str(found.get("CapEff", "1")), 16) or int(str(found.get("CapBnd", "1")), 16):
        return "the worker kept capabilities"
    if found.get("seccomp"):
        return str(found["seccomp"])
    if not (found.get("unix_refused") and found.get("udp_refused")):
        return "a socket of the worker reached this machine"
    if not found.get("child_udp_refused"):
        return "a process the worker started reached this machine"
    read = found.get("read")
    if not isinstance(read, dict):
        return "the worker did not say what it could read"
    for path, expected in hidden.items():
        got = str(read.get(path, "?"))
        if got != expected and not (expected == "!" and got.startswith("!")):
            return f"the secret files were not hidden as asked ({Path(path).name}: {got[:40]!r})"
    return _read_only_problem(found, hidden)


def _read_only_problem(found: Mapping[str, object], hidden: Mapping[str, str]) -> str:
    """Why the probe's worker could change a file outside its temporary folder ("" if not)."""
    wrote = found.get("wrote")
    if not isinstance(wrote, dict):
        return "the worker did not say what it could write"
    for path in hidden:
        if path in wrote and not str(wrote[path]).startswith("!"):
            return (
                f"the worker could write in a folder of this user's ({Path(path).name}): its "
                "file system was not read-only"
            )
    if found.get("tmp_wrote") != "":
        return f"the worker could not write in its own temporary folder ({found.get('tmp_wrote')})"
    mounts = found.get("writable_mounts")
    if mounts != [found.get("tmpdir")]:
        shown = ", ".join(str(m) for m in mounts[:3]) if isinstance(mounts, list) else "?"
        return f"the worker could write to mounts other than its temporary folder ({shown})"
    return ""


class _HidingProbe:
    """Files for the probe of the hiding and of the read-only view: a secret file, a secret
    folder and a folder kept visible inside it; a folder of the user's (``open``), where the
    worker must fail to make a file, as in the kept one; the worker's own temporary folder
    (``private``), where it must succeed. Removed on exit."""

    def __enter__(self) -> _HidingProbe:
        self.folder = Path(tempfile.mkdtemp(prefix="adp-hide-probe-"))
        secret, folder = self.folder / "secret", self.folder / "hidden"
        kept = folder / "kept"
        kept.mkdir(parents=True)
        secret.write_text("secret")
        (folder / "inner").write_text("secret")
        (kept / "file").write_text("kept")
        self.open = self.folder / "open"
        self.private = self.folder / "private"
        self.open.mkdir()
        self.private.mkdir()
        self.plan = HidePlan(
            hide=(str(secret), str(folder)), keep=(str(kept),), writable=(str(self.private),)
        )
        self.expected = {
            str(secret): "",
            str(folder / "inner"): "!",
            str(kept / "file"): "kept",
            str(kept): "!",
            str(self.open): "!",
        }
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@functools.lru_cache(maxsize=8)
def _probe(python: str, unshare: str | None, setpriv: str | None) -> Isolation:
    worker = [python, "-c", WORKER.read_text(encoding="utf-8"), "--probe"]
    environ = worker_environment()
    reasons: list[str] = []
    if unshare and setpriv:
        for name, flags in VARIANTS:
            prefix = (unshare, *flags, *NAMESPACES, "--")
            privileges = (setpriv, *SETPRIV, "--")
            isolation = Isolation("namespace", prefix, "", True, privileges)
            with _HidingProbe() as files:
                command = [*isolation.command_prefix(files.plan), *worker, "namespace"]
                found, problem = _run_probe([*command, *files.expected], environ)
                problem = problem or _namespace_problem(found, files.expected)
            if not problem:
                needs = found.get("needs")
                gone = files.folder  # the probe's own folders (its TMPDIR): removed now
                kept = [str(p) for p in needs] if isinstance(needs, list) else []
                return Isolation(
                    "namespace",
                    prefix,
                    f"{Path(unshare).name}, {name}",
                    True,
                    privileges,
                    tuple(p for p in kept if gone != Path(p) and gone not in Path(p).parents),
                )
            reasons.append(f"{name}: {problem}")
    else:
        missing = " and ".join(n for n, p in (("unshare", unshare), ("setpriv", setpriv)) if not p)
        reasons.append(f"no {missing} on PATH (util-linux)")
    return _in_process(python, "no namespace: " + "; ".join(reasons))


@functools.lru_cache(maxsize=16)
def _in_process(python: str, why: str) -> Isolation:
    """The fallback, with whether the worker's seccomp filter holds for its process tree."""
    worker = [python, "-c", WORKER.read_text(encoding="utf-8"), "--probe", "in-process"]
    found, problem = _run_probe(worker, worker_environment())
    if problem or found.get("seccomp"):
        return Isolation("in-process", (), f"{why}; {problem or found['seccomp']}", False)
    if not (found.get("udp_refused") and found.get("child_udp_refused")):
        return Isolation("in-process", (), f"{why}; seccomp let a socket through", False)
    return Isolation("in-process", (), why, True)


_LOCK = threading.Lock()


def probe(python: str | None = None, path: str | None = None) -> Isolation:
    """The best isolation for a worker of ``python`` (default: this interpreter's), finding
    ``unshare`` and ``setpriv`` on ``path`` (default: PATH). Probed once per process and
    arguments; thread-safe."""
    python = python or sys.executable
    with _LOCK:
        return _probe(
            python, shutil.which("unshare", path=path), shutil.which("setpriv", path=path)
        )


def forced_in_process(python: str | None = None) -> Isolation:
    """The fallback, chosen by ``ADP_IMPORT_ISOLATION=in-process`` (its seccomp probed once)."""
    with _LOCK:
        return _in_process(python or sys.executable, f"{SETTING}=in-process")


def choose(
    mode: str | None = None, environ: Mapping[str, str] | None = None, python: str | None = None
) -> Isolation:
    """The isolation of the next worker: ``mode`` (default: ``ADP_IMPORT_ISOLATION`` of
    ``environ``, default this process's environment). IsolationError for ``namespace`` where
    the probe found none, and for an unknown mode."""
    environ = os.environ if environ is None else environ
    mode = mode or requested(environ)
    if mode not in MODES:
        raise IsolationError(f"isolation {mode!r}: use auto, namespace or in-process")
    if mode == "in-process":
        return forced_in_process(python)
    found = probe(python, environ.get("PATH"))
    if mode == "namespace" and found.kind != "namespace":
        raise IsolationError(
            f"{SETTING}=namespace: this machine gives the import check no network namespace "
            f"({found.detail}); allow user namespaces or run as root, or unset {SETTING}"
        )
    return found
