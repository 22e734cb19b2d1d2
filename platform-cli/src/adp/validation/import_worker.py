"""The import check's worker: imports DAG files as Airflow's dag-processor does, one fork each.

It runs inside the target environment (this interpreter, another one, or a container image),
so it uses only the standard library and Airflow, and is started as ``python -c <this file>``:
the target needs nothing from the platform. It imports Airflow once (and warms up), THEN reads
one JSON request on stdin, so a worker started in advance is warm when the request arrives::

    {"files": [{"id": 0, "path": "/dags/a.py", "root": "/dags"}], "timeout": 30, "jobs": 2}

then forks a child per file (at most ``jobs`` at a time). The child seals itself (below),
loads the file with Airflow's own ``BundleDagBag`` (the bundle root on sys.path, as in the
dag-processor) and reports the DAGs it defined or the error with the file's own line. The
parent kills a child that outlives the timeout. Output: one JSON object per line on stdout,
first ``{"ready": ...}`` (or ``{"fatal": ...}``), then one result per file. An empty stdin (or
SIGTERM) ends it quietly, its temporary folders removed: a standby nobody needed.

Sealing (``_seal``), in each child before the file runs (the seccomp filter also in the worker
itself once the request is read), by the request's ``isolation``:

- ``namespace``: the platform started the worker in namespaces of its own (no network, no other
  process in view, no capabilities). A seccomp filter, inherited by every process the file
  starts, refuses sockets of every family but AF_INET/AF_INET6 (which have no network there), so
  AF_UNIX sockets of the host (a Docker socket, a D-Bus) are out of reach too, and io_uring,
  ptrace, pidfd_getfd and process_vm_* (ways round the filter or into another process);
- ``in-process``: no namespace. The seccomp filter refuses every socket, so no process of the
  tree can open one; an audit hook (``sys.addaudithook``, not removable) refuses, in the file's
  own process, starting processes, ctypes calls and opening another process's /proc entries.

In both, the audit hook refuses and records every socket operation that reaches out (connect,
sendto, sendmsg, name lookups): the first is ``ADP023``.
``python -c <this file> --probe MODE [PATH]...`` prints what the seal gives where it runs (the
platform's probe of the machine), what it could read of each PATH (the probe of the hiding),
whether it could make a file in each PATH that is a folder and in its TMPDIR, which mounts in
its reach are writable (the probe of the read-only view) and what the interpreter needs (its
prefixes, ``sys.path``, its temporary folder: never hidden).

Its TMPDIR is a folder the platform made for this worker (in namespaces the only one it can
write to); its HOME and AIRFLOW_HOME are made in it.

Order: what Airflow reads when it is imported (AIRFLOW_HOME, the metadata database URL, the
DAGs folder, examples off) is set before the import; the request's timeout only afterwards, into
``AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT``, which Airflow reads (``conf.getfloat``, environment
first) each time it imports a file, never at import.
"""

import contextlib
import errno
import gc
import importlib
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

TEMPORARY: list[str] = []  # folders the worker made; removed when it ends
FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
BLOCKED = "network access is blocked while a DAG file is imported"


DEFAULT_TIMEOUT = 30.0  # until the request says otherwise (only the warm-up imports before)


def _set_timeout(timeout):
    """Read by Airflow at each file's import (the default policy's get_dagbag_import_timeout)."""
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = str(timeout)


def _prepare_environment(timeout):
    """Before Airflow is imported: its home, the database URL and the DAGs folder are read then."""
    home = tempfile.mkdtemp(prefix="adp-validate-")
    TEMPORARY.append(home)
    os.environ["AIRFLOW_HOME"] = home
    os.environ["HOME"] = home  # nothing of the caller's home: its dot-files hold credentials
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    _set_timeout(timeout)
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH"] = "200"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(home, "dags")
    # No metadata database: the folder does not exist, so any attempt fails at once.
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "sqlite:///" + os.path.join(
        home, "no-metadata-database", "airflow.db"
    )
    os.environ.pop("AIRFLOW__CORE__SQL_ALCHEMY_CONN", None)


BLOCKED_PROCESS = "starting a process is blocked while a DAG file is imported"
BLOCKED_CALL = "this call is blocked while a DAG file is imported"
# machine: (audit arch, socket(2), syscalls refused: io_uring_setup, pidfd_getfd, ptrace,
# process_vm_readv, process_vm_writev, seccomp(2))
SYSCALLS = {
    "x86_64": (0xC000003E, 41, (425, 438, 101, 310, 311), 317),
    "aarch64": (0xC00000B7, 198, (425, 438, 117, 270, 271), 277),
}
NETWORK_EVENTS = {
    "socket.connect": 1,  # event: index of the target in its arguments
    "socket.sendto": 1,
    "socket.sendmsg": 1,
    "socket.getaddrinfo": None,
    "socket.gethostbyname": 0,
    "socket.gethostbyaddr": 0,
    "socket.getnameinfo": 0,
}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty", "os.startfile", "pty.spawn"}  # fmt: skip
# C modules whose calls raise no audit event: a fresh copy would bypass the patch below.
FRESH_COPIES = {"_posixsubprocess"}
CALL_EVENTS = {"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function",
               "ctypes.cdata", "ctypes.cdata/buffer"}  # fmt: skip


def _seccomp_program(allow_inet):
    """A classic BPF program for seccomp: socket(2) of any family but AF_INET/AF_INET6 (of every
    family without ``allow_inet``) and the syscalls of SYSCALLS fail with EPERM; so does any call
    of another ABI (x32, i386), which the filter could not judge."""
    import platform
    import struct

    arch, socket_nr, refused, _ = SYSCALLS[platform.machine()]
    deny, allow = 0x00050000 | 1, 0x7FFF0000  # SECCOMP_RET_ERRNO | EPERM, SECCOMP_RET_ALLOW
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JGE|K, RET|K
    code = [(load, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, deny)]  # seccomp_data.arch
    code += [(load, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, deny)]  # .nr; x32 calls
    for number in refused:
        code += [(jeq, 0, 1, number), (ret, 0, 0, deny)]
    code += [(jeq, 1, 0, socket_nr), (ret, 0, 0, allow), (load, 0, 0, 16)]  # .args[0]: family
    if allow_inet:
        code += [(jeq, 0, 1, 2), (ret, 0, 0, allow), (jeq, 0, 1, 10), (ret, 0, 0, allow)]
    code += [(ret, 0, 0, deny)]
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code), len(code)


def _install_seccomp(allow_inet):
    """Install the filter on this process (and so on every process it starts); "" when done,
    else why not."""
    import ctypes
    import platform

    if platform.machine() not in SYSCALLS:
        return f"no seccomp filter for {platform.machine()}"
    try:
        data, count = _seccomp_program(allow_inet)

        class Program(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

        program = Program(count, data)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0)) != 0:  # fmt: skip
            return f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}"
        seccomp = SYSCALLS[platform.machine()][3]
        # SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_TSYNC: every thread of the process
        if libc.syscall(ctypes.c_long(seccomp), ctypes.c_long(1), ctypes.c_long(1),
                        ctypes.byref(program)) != 0:  # fmt: skip
            return f"seccomp(SECCOMP_SET_MODE_FILTER): {os.strerror(ctypes.get_errno())}"
    except Exception as error:  # the caller reports it; the audit hook still holds
        return f"seccomp: {error!r}"
    return ""


def _other_process_entry(path):
    """True for /proc itself and /proc/<pid>/... of another process (its environ, its memory)."""
    if isinstance(path, int):
        return False
    try:
        resolved = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    parts = resolved.split(os.sep)
    if parts[:2] != ["", "proc"]:
        return False
    if len(parts) == 2:
        return True
    return parts[2].isdigit() and parts[2] != str(os.getpid())


def _install_guard(path, record, strict):
    """The audit hook: socket operations refused and recorded (``record``); with ``strict`` (no
    namespace) also new processes, ctypes calls and other processes' /proc entries."""
    import socket

    def refuse(exception, message):
        raise exception(message)

    def note(target):
        if len(record) < 20:
            line = 0
            for frame in traceback.extract_stack():
                if frame.filename == path:
                    line = frame.lineno or 0
            record.append({"line": line, "target": str(target)[:120]})

    def hook(event, args):
        if event in NETWORK_EVENTS:
            index = NETWORK_EVENTS[event]
            note(args[index] if index is not None else args[:2])
            refuse(socket.gaierror if "host" in event or "info" in event else OSError, BLOCKED)
        if not strict:
            return
        if event == "socket.__new__" and args[1] != socket.AF_UNIX:  # (socketpair is AF_UNIX)
            refuse(OSError, BLOCKED)  # not recorded: libraries probe for IPv6 at import
        if event == "import" and args and args[0] in FRESH_COPIES:
            refuse(PermissionError, f"importing {args[0]} afresh: {BLOCKED_CALL}")
        if event in PROCESS_EVENTS:
            refuse(PermissionError, BLOCKED_PROCESS)
        if event in CALL_EVENTS:
            refuse(PermissionError, BLOCKED_CALL)
        if event == "open" and args and _other_process_entry(args[0]):
            refuse(PermissionError, f"{args[0]}: another process's entry; {BLOCKED_CALL}")

    sys.addaudithook(hook)
    if strict:
        try:
            import _posixsubprocess
        except ImportError:
            return

        def fork_exec(*args, **kwargs):  # the C call subprocess makes: it raises no event
            raise PermissionError(BLOCKED_PROCESS)

        _posixsubprocess.fork_exec = fork_exec


def _seal(path, record, isolation):
    """Before the file runs: seccomp for this process and its children, then the audit hook.
    Returns why the seccomp filter is missing ("" when installed)."""
    namespace = isolation == "namespace"
    missing = _install_seccomp(allow_inet=namespace)
    _install_guard(path, record, strict=not namespace)
    return missing


def _probe(mode):
    """What the seal gives here, as one JSON line (run by the platform's probe)."""
    import socket

    found: dict[str, object] = {"pid": os.getpid()}
    with contextlib.suppress(OSError):
        found["net"] = os.readlink("/proc/self/ns/net")
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("CapEff:", "CapBnd:")):
                found[line.split(":")[0]] = line.split()[1]
    found["seccomp"] = _install_seccomp(allow_inet=mode == "namespace")

    def refused(call):
        try:
            call()
        except OSError:
            return True
        return False

    found["unix_refused"] = refused(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    found["udp_refused"] = refused(
        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"", ("127.0.0.1", 9))
    )
    import subprocess

    child = (
        "import socket\n"
        "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'', ('127.0.0.1', 9))"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60)
    found["child_udp_refused"] = done.returncode != 0  # its process inherited the filter
    with contextlib.suppress(OSError):
        found["ipc"] = os.readlink("/proc/self/ns/ipc")
    found["read"] = {path: _probe_read(path) for path in sys.argv[3:]}  # the hiding's probe
    # The read-only view: no file can be made in a folder given, one can in its own TMPDIR,
    # and of every mount it can reach only the one of that folder is writable.
    found["wrote"] = {path: _probe_write(path) for path in sys.argv[3:] if os.path.isdir(path)}
    found["tmpdir"] = os.path.realpath(tempfile.gettempdir())
    found["tmp_wrote"] = _probe_write(found["tmpdir"])
    found["writable_mounts"] = _writable_mounts()
    # What this interpreter needs, never to be hidden from it.
    needed = [sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir(), *sys.path]
    found["needs"] = sorted({path for path in needed if path and os.path.isabs(path)})
    print(json.dumps(found), flush=True)


def _probe_write(folder):
    """ "" when a new file could be made in ``folder`` (it is removed again), else "!" and
    why not."""
    path = os.path.join(folder, f"adp-probe-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        return "!" + (errno.errorcode.get(error.errno or 0) or type(error).__name__)
    with contextlib.suppress(OSError):
        os.unlink(path)
    return ""


def _writable_mounts():
    """The mount points, of every mount this process can reach, that are not read-only."""
    found = []
    with open("/proc/self/mountinfo", "rb") as handle:
        lines = [line for line in handle.read().split(b"\n") if line]  # not "\r": unescaped
    for line in lines:
        fields = line.split(b" ")
        point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
        try:
            fd = os.open(point, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # no path leads there
        try:
            with open(f"/proc/self/fdinfo/{fd}") as info:
                ident = next(int(x.split()[1]) for x in info if x.startswith("mnt_id:"))
        finally:
            os.close(fd)
        if ident == int(fields[0]) and "ro" not in fields[5].decode().split(","):
            found.append(os.fsdecode(point))
    return found


def _probe_read(path):
    """The start of the file at ``path``, or "!" and why it could not be read."""
    try:
        with open(path, errors="replace") as handle:
            return handle.read(100)
    except OSError as error:
        return "!" + type(error).__name__


def _error_line(path, text):
    line = 0
    for match in FRAME.finditer(text):
        if match.group("file") == path:
            line = int(match.group("line"))
    return line


def _last_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _pre_import_airflow_modules(path):
    """What the dag-processor does before it times a file (parsing_pre_import_modules): the
    Airflow modules the file imports are loaded first, so the measured time is the file's own."""
    try:
        from airflow.utils.file import iter_airflow_imports
    except ImportError:
        return
    for module in iter_airflow_imports(path):
        with contextlib.suppress(Exception):  # the real import reports any error
            importlib.import_module(module)


def _child(request, timeout, isolation, write_fd):
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    path, root = request["path"], request["root"]
    network: list[dict[str, object]] = []
    result = {"id": request["id"], "status": "ok", "dags": [], "network": network}
    _pre_import_airflow_modules(path)
    result["unsealed"] = _seal(path, network, isolation)
    started = time.perf_counter()
    try:
        bag = BundleDagBag(
            dag_folder=path, bundle_path=Path(root), safe_mode=False, load_op_links=False
        )
        result["seconds"] = time.perf_counter() - started
        for dag_id, dag in sorted(bag.dags.items()):
            result["dags"].append(
                {
                    "dag_id": dag_id,
                    "tags": sorted(str(tag) for tag in (dag.tags or [])),
                    "tasks": [
                        {
                            "task_id": task.task_id,
                            "owner": task.owner,
                            "retries": int(task.retries or 0),
                        }
                        for task in dag.tasks
                    ],
                }
            )
        if bag.import_errors:
            text = "\n".join(bag.import_errors.values())
            timed_out = "DagBag import timeout for" in text
            result["status"] = "timeout" if timed_out else "error"
            message = f"still importing after {timeout:g} s" if timed_out else _last_line(text)
            result["error"] = {"message": message, "line": _error_line(path, text)}
    except BaseException as error:  # the child reports everything, whatever it is
        text = "".join(traceback.format_exception(error))
        result["status"] = "error"
        result["error"] = {"message": _last_line(text), "line": _error_line(path, text)}
        result.setdefault("seconds", time.perf_counter() - started)
    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(write_fd, view) :]
    os.close(write_fd)


WARM_UP_DAG = """
from datetime import datetime, timedelta
from airflow.sdk import DAG, dag, task, task_group
from airflow.providers.standard.operators.empty import EmptyOperator

@dag(dag_id="adp_warm_up", start_date=datetime(2025, 1, 1), schedule="@daily", tags=["x"],
     default_args={"owner": "x", "retries": 1, "retry_delay": timedelta(minutes=1)})
def adp_warm_up():
    @task
    def one():
        return 1
    @task_group
    def group():
        EmptyOperator(task_id="empty")
    one() >> group()

adp_warm_up()
"""


def _warm_up():
    """Import in the parent what every DAG file needs, so that each fork starts warm."""
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    folder = tempfile.mkdtemp(prefix="adp-warm-up-")
    TEMPORARY.append(folder)
    path = os.path.join(folder, "adp_warm_up.py")
    with open(path, "w") as handle:
        handle.write(WARM_UP_DAG)
    with contextlib.suppress(Exception):  # warming up is an optimisation only
        BundleDagBag(dag_folder=path, bundle_path=Path(folder), safe_mode=False)


def _start(request, timeout, isolation):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: quiet, isolated, exits without cleanup handlers
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's clean-up is not its own
            os.close(read_fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            _child(request, timeout, isolation, write_fd)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_fd)
    return {"pid": pid, "fd": read_fd, "chunks": [], "request": request, "start": time.time()}


def _finish(job, status=None):
    os.close(job["fd"])
    _, wait_status = os.waitpid(job["pid"], 0)
    request = job["request"]
    if status == "killed":
        return {"id": request["id"], "status": "timeout", "dags": [], "network": []}
    data = b"".join(job["chunks"])
    if not data:
        code = os.waitstatus_to_exitcode(wait_status)
        return {
            "id": request["id"],
            "status": "error",
            "dags": [],
            "network": [],
            "error": {"message": f"the interpreter died importing the file (exit {code})"},
        }
    return json.loads(data)


# Not an AdpError: this file runs alone in the target's interpreter (no adp there), and a stop
# derives from BaseException so that it passes through the `except Exception` of an import.
class _Stopped(BaseException):
    """SIGTERM: a standby told to stop; the finally at the end removes its folders."""


def _stop(signum, frame):
    raise _Stopped


def main():
    if sys.argv[1:2] == ["--probe"]:
        _probe(sys.argv[2] if len(sys.argv) > 2 else "in-process")
        return
    signal.signal(signal.SIGTERM, _stop)
    # The protocol owns the real stdout; anything else printed (Airflow's logs, a DAG file's
    # print) goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _prepare_environment(DEFAULT_TIMEOUT)
    fatal = None
    try:
        import logging

        logging.disable(logging.CRITICAL)
        import airflow
        import airflow.sdk
        from airflow.dag_processing.dagbag import BundleDagBag  # noqa: F401
    except _Stopped:
        raise
    except BaseException as error:
        fatal = f"cannot import Airflow: {error!r}"
    else:
        _warm_up()
    # Warm: wait for the request (a worker started in advance waits here).
    text = sys.stdin.read()
    if not text.strip():
        return  # no request: a standby that was not needed
    request = json.loads(text)
    if fatal is not None:
        print(json.dumps({"fatal": fatal}), file=out, flush=True)
        return
    timeout = float(request.get("timeout", DEFAULT_TIMEOUT))
    isolation = request.get("isolation") or "in-process"
    # This process too: a file's code that reached into it (its /proc/<pid>/mem is the same
    # user's) finds the same filter. Each child installs it again and reports if it failed.
    _install_seccomp(allow_inet=isolation == "namespace")
    jobs = max(1, int(request.get("jobs") or os.cpu_count() or 1))
    _set_timeout(timeout)
    print(
        json.dumps({"ready": True, "airflow": airflow.__version__, "python": sys.version}),
        file=out,
        flush=True,
    )
    gc.freeze()  # forks share the warmed-up heap instead of copying it page by page
    pending = list(request["files"])
    running: dict[int, Any] = {}
    hard_limit = timeout + 10
    while pending or running:
        while pending and len(running) < jobs:
            job = _start(pending.pop(0), timeout, isolation)
            running[job["fd"]] = job
        ready, _, _ = select.select(list(running), [], [], 0.5)
        for fd in ready:
            job = running[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                job["chunks"].append(chunk)
                continue
            del running[fd]
            print(json.dumps(_finish(job)), file=out, flush=True)
        now = time.time()
        for fd, job in list(running.items()):
            if now - job["start"] > hard_limit:
                os.kill(job["pid"], signal.SIGKILL)
                del running[fd]
                print(json.dumps(_finish(job, "killed")), file=out, flush=True)


if __name__ == "__main__":
    try:
        main()
    except _Stopped:
        pass
    finally:
        for folder in TEMPORARY:
            shutil.rmtree(folder, ignore_errors=True)
