"""The import check's worker: imports DAG files as Airflow's dag-processor does, one fork each.

It runs inside the target environment (this interpreter, another one, or a container image),
so it uses only the standard library and Airflow, and is started as ``python -c <this file>``:
the target needs nothing from the platform. It imports Airflow once (and warms up), THEN reads
one JSON request on stdin, so a worker started in advance is warm when the request arrives::

    {"files": [{"id": 0, "path": "/dags/a.py", "root": "/dags"}], "timeout": 30, "jobs": 2}

then forks a child per file (at most ``jobs`` at a time). The child blocks
the network, loads the file with Airflow's own ``BundleDagBag`` (the bundle root on sys.path, as
in the dag-processor) and reports the DAGs it defined or the error with the file's own line. The
parent kills a child that outlives the timeout. Output: one JSON object per line on stdout,
first ``{"ready": ...}`` (or ``{"fatal": ...}``), then one result per file. An empty stdin (or
SIGTERM) ends it quietly, its temporary folders removed: a standby nobody needed.

Order: what Airflow reads when it is imported (AIRFLOW_HOME, the metadata database URL, the
DAGs folder, examples off) is set before the import; the request's timeout only afterwards, into
``AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT``, which Airflow reads (``conf.getfloat``, environment
first) each time it imports a file, never at import.
"""

import contextlib
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

TEMPORARY = []  # folders the worker made; removed when it ends
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
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    _set_timeout(timeout)
    os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH"] = "200"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(home, "dags")
    # No metadata database: the folder does not exist, so any attempt fails at once.
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "sqlite:///" + os.path.join(
        home, "no-metadata-database", "airflow.db"
    )
    os.environ.pop("AIRFLOW__CORE__SQL_ALCHEMY_CONN", None)


def _block_network(path, record):
    import socket

    def blocked(*args, **kwargs):
        line = 0
        for frame in traceback.extract_stack():
            if frame.filename == path:
                line = frame.lineno
        target = next((a for a in args if isinstance(a, tuple | str)), "?")
        record.append({"line": line, "target": str(target)[:120]})
        raise OSError(BLOCKED)

    socket.socket.connect = blocked
    socket.socket.connect_ex = blocked
    socket.create_connection = blocked
    socket.getaddrinfo = blocked


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


def _child(request, timeout, write_fd):
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    path, root = request["path"], request["root"]
    network = []
    _block_network(path, network)
    result = {"id": request["id"], "status": "ok", "dags": [], "network": network}
    _pre_import_airflow_modules(path)
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


def _start(request, timeout):
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
            _child(request, timeout, write_fd)
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


class _Stopped(BaseException):
    """SIGTERM: a standby told to stop; the finally at the end removes its folders."""


def _stop(signum, frame):
    raise _Stopped


def main():
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
    jobs = max(1, int(request.get("jobs") or os.cpu_count() or 1))
    _set_timeout(timeout)
    print(
        json.dumps({"ready": True, "airflow": airflow.__version__, "python": sys.version}),
        file=out,
        flush=True,
    )
    gc.freeze()  # forks share the warmed-up heap instead of copying it page by page
    pending = list(request["files"])
    running = {}
    hard_limit = timeout + 10
    while pending or running:
        while pending and len(running) < jobs:
            job = _start(pending.pop(0), timeout)
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
