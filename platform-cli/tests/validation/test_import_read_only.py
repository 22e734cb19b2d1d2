"""The code the import check runs (a pushed commit's DAG file) changes nothing on the machine:
in its namespaces every mount is read-only but its own temporary folder, made by the platform
for that worker (its TMPDIR, where its HOME and AIRFLOW_HOME live) and removed after it.

The attack of the review: a DAG file wrote, at import, a ``.pth`` file into the validating
interpreter's site-packages; the next start of that interpreter (`adp repos serve`, any `adp`
command, Airflow) ran it with the full environment, the network and the secret files. Real
`adp dags validate` processes, real workers, a real throwaway virtual environment chained to the
real Airflow, real mounts; nothing mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from adp_test_helpers.dag_corpus import dag
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# -- a throwaway interpreter: its own site-packages (writable by the user), the real Airflow ----


@dataclass(frozen=True)
class Venv:
    python: Path
    site_packages: Path


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A virtual environment of this interpreter whose site-packages chains (a ``.pth``) to
    this one's, so that it imports the real Airflow from a site-packages of its own."""
    root = tmp_path_factory.mktemp("throwaway") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site_packages = Path(found.stdout.strip())
    real = sysconfig.get_paths()["purelib"]
    (site_packages / "adp_chain.pth").write_text(f"import site; site.addsitedir({real!r})\n")
    return Venv(python, site_packages)


def run_validate(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`adp dags validate --format json`, a real process with ``env`` as its environment."""
    return subprocess.run(
        [sys.executable, "-m", "adp", "dags", "validate", str(folder), "--package", "corp",
         "--format", "json", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=folder.parent,
    )  # fmt: skip


# The hostile DAG file: tries every write it was given (and a .pth into the site-packages of
# the interpreter importing it, from its own process and from a child), then raises what
# happened into its ADP020 finding: it can write nowhere else to say so.
HOSTILE = """
import errno, json, os, subprocess, sys, sysconfig
CREATE = {create!r}  # name -> a path to create
OPEN = {open_only!r}  # name -> a path to open for writing, never written
PAYLOAD = {payload!r}
outcome = {{}}


def attempt(name, call):
    try:
        call()
        outcome[name] = "done"
    except OSError as error:
        outcome[name] = "refused: " + errno.errorcode.get(error.errno or 0, type(error).__name__)
    except Exception as error:
        outcome[name] = "refused: " + type(error).__name__


def create(path):
    with open(path, "x") as handle:
        handle.write(PAYLOAD)


def open_for_writing(path):
    os.close(os.open(path, os.O_WRONLY))


site_packages = sysconfig.get_paths()["purelib"]
attempt("site-packages .pth", lambda: create(os.path.join(site_packages, "zz_x.pth")))
child = "open(%r, 'x').write(%r)" % (os.path.join(site_packages, "zz_child.pth"), PAYLOAD)
attempt("site-packages .pth from a child", lambda: subprocess.run(
    [sys.executable, "-c", child], check=True, capture_output=True))
attempt("its own file", lambda: open(__file__, "a").write("# changed"))
attempt("its own folder", lambda: create(os.path.join(os.path.dirname(__file__), "planted.py")))
for name, path in CREATE.items():
    attempt(name, lambda path=path: create(path))
for name, path in OPEN.items():
    attempt(name, lambda path=path: open_for_writing(path))
raise RuntimeError("outcomes: " + json.dumps(outcome, sort_keys=True))
"""

# An ordinary DAG file that caches something in the temporary folder and under HOME at import.
CACHING = """
import os, tempfile
CACHE = os.path.join(tempfile.gettempdir(), "corp-cache.txt")
with open(CACHE, "w") as handle:
    handle.write("cached")
with open(CACHE) as handle:
    assert handle.read() == "cached"
HOME_CACHE = os.path.expanduser("~/.cache/corp/state")
os.makedirs(os.path.dirname(HOME_CACHE), exist_ok=True)
with open(HOME_CACHE, "w") as handle:
    handle.write("cached")
"""


def outcomes_of(findings: list[dict[str, object]], name: str) -> dict[str, str]:
    """What the hostile file reported (its ADP020 message)."""
    message = next(
        str(f["message"]) for f in findings if Path(str(f["path"])).name == name and
        f["rule"] == "ADP020"
    )  # fmt: skip
    return json.loads(message.split("outcomes: ", 1)[1])


@contextlib.contextmanager
def removed_afterwards(*paths: Path) -> Iterator[None]:
    """Paths outside tmp_path the test names: removed if anything ever created them."""
    try:
        yield
    finally:
        for path in paths:
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()


def test_a_dag_file_cannot_plant_a_pth_or_change_any_file_of_the_machine(
    tmp_path: Path, venv: Venv
) -> None:
    """The review's reproduction and the rest of its class: `adp dags validate --python <a
    throwaway venv>` on a DAG file that, at import, writes a ``.pth`` into that interpreter's
    site-packages (from its own process and from a child), changes its own file, adds a file
    to the folder validated, to HOME (the validating process's and the user's), to a folder
    beside the one validated, to /tmp (a new file and one in a folder of the user's), /var/tmp,
    /dev/shm and /etc, and opens a kernel setting and the kernel log for writing. Every one is
    refused and nothing appears; the interpreter's next start runs nothing of it. The ordinary
    DAG next to it, caching a file in its temporary folder and under HOME, imports fine, and the
    worker's temporary folder is gone afterwards."""
    marker = tmp_path / "the-pth-ran"
    home = tmp_path / "home"
    beside = tmp_path / "beside"
    platform_tmp = tmp_path / "platform-tmp"
    for folder in (home, beside, platform_tmp):
        folder.mkdir()
    tag = uuid.uuid4().hex
    user_folder = Path(tempfile.mkdtemp(prefix="adp-ro-user-", dir="/tmp"))
    outside = {
        "HOME": home / "planted.txt",
        "the user's home": Path.home() / f"adp-ro-{tag}",
        "beside the folder": beside / "planted.txt",
        "/tmp": Path("/tmp") / f"adp-ro-{tag}",
        "a folder of the user's in /tmp": user_folder / "planted.txt",
        "/var/tmp": Path("/var/tmp") / f"adp-ro-{tag}",
        "/dev/shm": Path("/dev/shm") / f"adp-ro-{tag}",
        "/etc": Path("/etc") / f"adp-ro-{tag}",
    }
    opened = {"a kernel setting": "/proc/sys/kernel/core_pattern", "the kernel log": "/dev/kmsg"}
    folder = tmp_path / "dags"
    folder.mkdir()
    payload = f"import os; open({str(marker)!r}, 'w').write('ran')\n"
    hostile = dag(
        "corp_hostile",
        top=HOSTILE.format(
            create={name: str(path) for name, path in outside.items()},
            open_only=opened,
            payload=payload,
        ),
    )
    (folder / "corp_hostile.py").write_text(hostile)
    (folder / "corp_caching.py").write_text(dag("corp_caching", top=CACHING))
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(platform_tmp)}
    env.pop("ADP_IMPORT_ISOLATION", None)
    with removed_afterwards(
        user_folder, *(p for p in outside.values() if tmp_path not in p.parents)
    ):
        result = run_validate(folder, env, "--python", str(venv.python))
        created = sorted(name for name, path in outside.items() if os.path.lexists(path))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert any("network namespace" in note for note in report["notes"]), report["notes"]
    planted = sorted(p.name for p in venv.site_packages.iterdir() if p.name != "adp_chain.pth")
    assert planted == [], f"the DAG file planted {planted} in the interpreter's site-packages"
    subprocess.run([str(venv.python), "-c", "pass"], check=True)  # its next start
    assert not marker.exists(), "the next start of the interpreter ran the DAG file's code"
    assert created == [], f"the DAG file wrote to {created}"
    assert (folder / "corp_hostile.py").read_text() == hostile
    assert sorted(p.name for p in folder.iterdir()) == ["corp_caching.py", "corp_hostile.py"]
    outcomes = outcomes_of(report["findings"], "corp_hostile.py")
    assert set(outcomes) >= {*outside, *opened, "site-packages .pth", "its own folder"}
    assert {n: o for n, o in outcomes.items() if not o.startswith("refused")} == {}, outcomes
    imported = [f for f in report["findings"] if f["rule"].startswith("ADP02")]
    assert [Path(f["path"]).name for f in imported] == ["corp_hostile.py"], imported
    assert "corp_caching" in [d["dag_id"] for d in report["dags"]]
    assert list(platform_tmp.iterdir()) == [], "the worker's temporary folder was left behind"


# -- every mount, seen from the code imported ------------------------------------------------
MOUNTS = r"""
import json, os, re, stat, tempfile

def mount_id(fd):
    with open("/proc/self/fdinfo/%d" % fd) as handle:
        for line in handle:
            if line.startswith("mnt_id:"):
                return int(line.split()[1])

DEVICES = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9)}  # null, zero, full, random, urandom
writable, devices = [], []
with open("/proc/self/mountinfo", "rb") as handle:
    lines = [line for line in handle.read().split(b"\n") if line]  # not "\r": unescaped
for line in lines:
    fields = line.split(b" ")
    point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
    options = fields[5].decode().split(",")
    try:
        fd = os.open(point, os.O_PATH | os.O_NOFOLLOW)
    except OSError:
        continue  # not reachable from here
    try:
        if mount_id(fd) != int(fields[0]):
            continue  # covered by another mount
        mode = os.stat(fd)
    finally:
        os.close(fd)
    name = os.fsdecode(point)
    if "ro" not in options:
        writable.append(name)
    device = (os.major(mode.st_rdev), os.minor(mode.st_rdev))
    if "nodev" not in options and not (stat.S_ISCHR(mode.st_mode) and device in DEVICES):
        devices.append(name)
raise RuntimeError("mounts: " + json.dumps(
    {"writable": writable, "devices": devices, "tmp": os.path.realpath(tempfile.gettempdir())}))
"""


def test_every_mount_the_code_can_reach_is_read_only_but_its_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The class, not a list of places: the DAG file walks the worker's whole mount table; of
    every mount it can reach, exactly one is writable, its temporary folder, and none gives
    access to a device but /dev/null, zero, full, random and urandom (a disk, the kernel log
    and the cgroup files are out of reach also where the worker's user is root)."""
    from adp.validation import ValidationOptions, validate

    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_mounts.py").write_text(dag("corp_mounts", top=MOUNTS))
    report = validate([str(folder)], ValidationOptions(package="corp"))
    message = next(f.message for f in report.findings if f.rule == "ADP020")
    seen = json.loads(message.split("mounts: ", 1)[1])
    assert seen["writable"] == [seen["tmp"]], seen
    assert seen["devices"] == [], seen


# -- the ImportStandby's worker ------------------------------------------------------------
WRITER = """
import os, sysconfig
TARGETS = {targets!r}
refused = []
for path in TARGETS + [os.path.join(sysconfig.get_paths()["purelib"], "zz_warm.pth")]:
    try:
        with open(path, "x") as handle:
            handle.write("import os\\n")
    except OSError:
        refused.append(path)
assert len(refused) == len(TARGETS) + 1, "wrote to " + repr(refused)
"""


def worker_under(pid: int, timeout: float = 60) -> int:
    """The worker's pid under the standby's ``unshare`` (once started)."""
    deadline = time.monotonic() + timeout
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            grand = Path(f"/proc/{child}/task/{child}/children").read_text().split()
            for candidate in [child, *grand]:
                command = Path(f"/proc/{candidate}/cmdline").read_bytes()
                if (
                    b"-c\0" in command
                    and b"import_mounts" not in command
                    and b"-I\0" not in (command)
                ):
                    return int(candidate)
        assert time.monotonic() < deadline, "the standby's worker did not start"
        time.sleep(0.05)


def test_the_standby_has_the_same_read_only_view_and_its_own_temporary_folder(
    tmp_path: Path, venv: Venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ImportStandby (as `adp repos serve` runs it), for a throwaway interpreter: it waits
    with a temporary folder of its own that exists (it is its TMPDIR); the run that takes it
    writes nothing beside the folder validated nor into the interpreter's site-packages, its
    ordinary file caches in its temporary folder and imports, and the folder is removed once
    the run is over."""
    from adp.validation import ImportStandby, ImportTarget, ValidationOptions, validate

    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    beside = tmp_path / "beside"
    beside.mkdir()
    folder = tmp_path / "dags"
    folder.mkdir()
    targets = [str(beside / "planted.txt"), str(folder / "planted.py")]
    (folder / "corp_writer.py").write_text(dag("corp_writer", top=WRITER.format(targets=targets)))
    (folder / "corp_caching.py").write_text(dag("corp_caching", top=CACHING))
    warm = ImportStandby(python=str(venv.python)).start()
    try:
        deadline = time.monotonic() + 60
        while (standby := warm.stats().standby_pid) is None:
            assert time.monotonic() < deadline, "no standby started"
            time.sleep(0.05)
        worker = worker_under(standby)
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        variables = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        private = Path(variables["TMPDIR"])
        assert private.is_dir(), private
        assert Path(tempfile.gettempdir()) in private.parents, private
        before = warm.stats().hits
        options = ValidationOptions(package="corp", target=ImportTarget(python=str(venv.python)))
        report = validate([str(folder)], options, warm)
        assert warm.stats().hits == before + 1, "the run did not take the standby"
    finally:
        warm.stop()
    assert [f for f in report.findings if f.rule.startswith("ADP02")] == [], report.findings
    assert sorted(d.dag_id for d in report.dags) == ["corp_caching", "corp_writer"]
    assert list(beside.iterdir()) == []
    assert sorted(p.name for p in venv.site_packages.iterdir()) == ["adp_chain.pth"]
    assert not private.exists(), "the standby's temporary folder was left behind"


# -- the mounting step itself, over generated folders and operations (both variants) --------
OPERATIONS = r"""
import errno, json, os, subprocess, sys
operation, outside, inside = sys.argv[1:4]


def run(folder):
    existing = os.path.join(folder, "existing")
    calls = {
        "create": lambda: open(os.path.join(folder, "new"), "x").close(),
        "mkdir": lambda: os.mkdir(os.path.join(folder, "new-folder")),
        "symlink": lambda: os.symlink("/etc/passwd", os.path.join(folder, "link")),
        "hardlink": lambda: os.link(existing, os.path.join(folder, "hard")),
        "rename": lambda: os.rename(existing, os.path.join(folder, "renamed")),
        "unlink": lambda: os.unlink(existing),
        "rmdir": lambda: os.rmdir(os.path.join(folder, "sub")),
        "chmod": lambda: os.chmod(existing, 0o777),
        "truncate": lambda: os.truncate(existing, 0),
        "append": lambda: open(existing, "a").write("changed"),
        "utime": lambda: os.utime(existing, (0, 0)),
        "mkfifo": lambda: os.mkfifo(os.path.join(folder, "fifo")),
        "child": lambda: subprocess.run(
            ["sh", "-c", 'echo x > "$0/child"', folder], check=True, capture_output=True),
    }
    try:
        calls[operation]()
    except OSError as error:
        return "refused: " + errno.errorcode.get(error.errno or 0, "?")
    except subprocess.CalledProcessError:
        return "refused: the child failed"
    return "done"


print(json.dumps({"outside": run(outside), "inside": run(inside),
                  "tmpdir": os.environ.get("TMPDIR")}))
"""
NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"),
    min_size=1,
    max_size=10,
).filter(lambda name: name not in (".", "..") and len(name.encode()) < 100)
OPERATION_NAMES = ["create", "mkdir", "symlink", "hardlink", "rename", "unlink", "rmdir",
                   "chmod", "truncate", "append", "utime", "mkfifo", "child"]  # fmt: skip
MOUNT_UNFRIENDLY = st.sampled_from(
    ["tmp", "with space", "tab\there", "new\nline", "back\\slash", "carriage\rreturn"]
)


def variants() -> list[tuple[str, object]]:
    """The namespace variants of import_isolation that start on this machine (the root one
    where this runs as root, the user namespace where the kernel allows it)."""
    from adp.validation.import_isolation import NAMESPACES, SETPRIV, VARIANTS, Isolation

    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    assert unshare and setpriv, "util-linux's unshare and setpriv are needed"
    found = []
    for name, flags in VARIANTS:
        prefix = (unshare, *flags, *NAMESPACES, "--")
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            found.append(
                (name, Isolation("namespace", prefix, name, True, (setpriv, *SETPRIV, "--")))
            )
    assert found, "no namespace variant starts here"
    return found


VARIANTS_HERE = variants()


def snapshot(folder: Path) -> list[tuple[str, int, int, float, bytes]]:
    """Every entry under ``folder``: name, mode, size, mtime and content."""
    found = []
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        found.append((str(path), info.st_mode, info.st_size, info.st_mtime, content))
    return found


def prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "existing").write_text("original")
    (folder / "sub").mkdir(exist_ok=True)


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variant=st.sampled_from(range(len(VARIANTS_HERE))),
    operation=st.sampled_from(OPERATION_NAMES),
    parts=st.lists(NAME, min_size=1, max_size=3),
    private_name=st.one_of(MOUNT_UNFRIENDLY, NAME),
)
# "\r" is not escaped in /proc/self/mountinfo: a reader splitting lines on it broke (found by CI)
@example(variant=0, operation="create", parts=["0"], private_name="\r")
def test_outside_its_temporary_folder_no_operation_changes_anything(
    variant: int, operation: str, parts: list[str], private_name: str
) -> None:
    """Whatever the folder of the user's (any name, any depth) and whatever the change
    (create, link, rename, delete, chmod, truncate, append, utime, a FIFO, a shell child),
    in either namespace variant: it fails and the folder is unchanged on disk, while the same
    change in the worker's temporary folder (any name, also with a space, a tab, a newline or
    a backslash, which the mount table escapes) succeeds, and TMPDIR names that folder."""
    from adp.validation.import_environment import worker_environment
    from adp.validation.import_hiding import HidePlan

    _, isolation = VARIANTS_HERE[variant]
    with tempfile.TemporaryDirectory(prefix="adp-ro-prop-") as base:
        outside = Path(base, *parts)
        private = Path(base, "private", private_name)
        prepare(outside)
        prepare(private)
        before = snapshot(outside)
        plan = HidePlan(writable=(str(private),))
        command = [
            *isolation.command_prefix(plan),  # type: ignore[attr-defined]
            sys.executable, "-I", "-S", "-c", OPERATIONS, operation, str(outside), str(private),
        ]  # fmt: skip
        done = subprocess.run(
            command, env=worker_environment(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout.splitlines()[-1])
        assert seen["outside"].startswith("refused"), (operation, seen)
        assert snapshot(outside) == before, operation
        assert seen["inside"] == "done", (operation, seen)
        assert seen["tmpdir"] == str(private), seen


def test_the_worker_does_not_start_where_the_view_cannot_be_made_read_only(
    tmp_path: Path,
) -> None:
    """Fail closed: in a user namespace without a mount namespace of its own (no mount can be
    made there), the mounting step refuses to run its command even with nothing to hide: the
    command never runs, and the message says the file system could not be made read-only."""
    from adp.validation.import_isolation import mounter_command

    private = tmp_path / "private"
    private.mkdir()
    marker = tmp_path / "ran"
    for arguments in ([], ["--writable", str(private)]):
        command = [
            "unshare", "--user", "--map-root-user", "--",
            *mounter_command(arguments),
            sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ran')",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and not marker.exists(), (arguments, done)
        assert "read-only" in done.stderr, done.stderr


def test_the_probe_chooses_the_namespace_only_where_the_view_is_read_only() -> None:
    """The isolation probe, on real workers: in namespaces without the mounting step, the
    worker creates a file in a folder of the user's, and the probe calls that a problem; with
    it, that write fails, a write in its own temporary folder succeeds, and the probe is
    satisfied. ``probe()`` chose the namespace, so the check held on this machine."""
    from adp.validation.import_environment import worker_environment
    from adp.validation.import_isolation import (
        WORKER,
        _HidingProbe,
        _namespace_problem,
        _run_probe,
        probe,
    )

    chosen = probe()
    assert chosen.kind == "namespace", chosen
    worker = [sys.executable, "-c", WORKER.read_text(encoding="utf-8"), "--probe", "namespace"]
    with _HidingProbe() as files:
        writable_only = {str(files.open): "!"}
        bare = [*chosen.prefix, *chosen.privileges, *worker, *writable_only]
        found, problem = _run_probe(bare, worker_environment())
        assert problem == "", problem
        assert found["wrote"] == {str(files.open): ""}, found  # it made a file there
        assert "could write" in _namespace_problem(found, writable_only), found["wrote"]
        full = [*chosen.command_prefix(files.plan), *worker, *files.expected]
        found, problem = _run_probe(full, worker_environment())
        assert problem == "" and _namespace_problem(found, files.expected) == "", found
        assert found["wrote"][str(files.open)] == "!EROFS", found["wrote"]
        assert found["tmp_wrote"] == "" and found["tmpdir"] == str(files.private), found


def test_the_standby_is_stopped_and_its_temporary_folder_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ImportStandby.stop() stops the waiting worker and removes the folder made for it."""
    from adp.validation import ImportStandby

    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    warm = ImportStandby().start()
    try:
        deadline = time.monotonic() + 60
        while (standby := warm.stats().standby_pid) is None:
            assert time.monotonic() < deadline, "no standby started"
            time.sleep(0.05)
        worker = worker_under(standby)
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        private = Path(
            next(item.decode().split("=", 1)[1] for item in environ if item.startswith(b"TMPDIR="))
        )
        assert private.is_dir()
    finally:
        warm.stop()
    assert not private.exists(), "the standby's folder was not removed"
