"""The code the import check runs (a pushed commit's DAG file) cannot read the platform's secret
files, and cannot show a secret it got hold of through the findings.

With the operating system's isolation (a mount namespace of its own) the files airflow-repos.yaml
names as credentials (token_file, ssh_key_file, webhook secret_file), the promoter's state folder
and the validating user's credential files (~/.aws, ~/.ssh, ~/.netrc, ...) are hidden from the
worker's whole process tree, while the folder being validated stays readable. In both isolations
the promoter removes the credential values it knows (and their usual encodings) from every result
of the import check before anything is recorded or shown. Real promoter syncs over a real git
repository, real `adp dags validate` processes, real workers, real files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from adp_test_helpers.dag_corpus import dag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from adp.validation import ImportStandby

# -- recovering a secret from text: what the tests (and the property) call a leak ----------------
HEX_RUN = re.compile(r"[0-9A-Fa-f]{2,}")
B64_RUN = re.compile(r"[A-Za-z0-9+/_=-]{4,}")


def recoverable(text: str, secret: str) -> bool:
    """True when ``text`` holds ``secret``: as it is, or hex- or base64-encoded (standard or
    URL-safe alphabet, padded or not) at any alignment among other bytes."""
    if secret in text:
        return True
    wanted = secret.encode()
    for match in HEX_RUN.finditer(text):
        run = match.group()
        for start in (0, 1):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 2]
            if chunk and wanted in bytes.fromhex(chunk):
                return True
    for match in B64_RUN.finditer(text):
        run = match.group().replace("-", "+").replace("_", "/").replace("=", "")
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            if not chunk:
                continue
            try:
                decoded = base64.b64decode(chunk)
            except (binascii.Error, ValueError):
                continue
            if wanted in decoded:
                return True
    return False


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets ``text`` holds in any form ``recoverable`` knows."""
    return [name for name, value in secrets.items() if recoverable(text, value)]


# -- planted credentials ---------------------------------------------------------------------
def ssh_key() -> str:
    body = base64.b64encode(os.urandom(300)).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return "\n".join(
        ["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----", ""]
    )


def markers_of(key: str) -> list[str]:
    """The secret part of a planted key: its body lines."""
    return [line for line in key.splitlines() if line and not line.startswith("-----")]


@dataclass
class Planted:
    """Credential files planted where the platform's settings or the user's home have them:
    ``files`` path -> content; ``secrets`` name -> a value that must never be shown."""

    files: dict[Path, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def plant(self, path: Path, content: str, *markers: tuple[str, str]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        self.files[path] = content
        for name, value in markers:
            self.secrets[name] = value
        return path


def plant_home(home: Path, planted: Planted) -> None:
    """The validating user's credential files, each holding a marker of its own."""
    marker = {name: f"{name}-{uuid.uuid4().hex}" for name in
              ("aws", "netrc", "gitcred", "docker", "kube", "gcloud")}  # fmt: skip
    planted.plant(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = AKIAPLANTED\naws_secret_access_key = {marker['aws']}\n",
        ("~/.aws/credentials", marker["aws"]),
    )
    key = ssh_key()
    planted.plant(
        home / ".ssh" / "id_ed25519",
        key,
        *((f"~/.ssh/id_ed25519 line {n}", line) for n, line in enumerate(markers_of(key))),
    )
    planted.plant(
        home / ".netrc",
        f"machine git.example.com login x password {marker['netrc']}\n",
        ("~/.netrc", marker["netrc"]),
    )
    planted.plant(
        home / ".git-credentials",
        f"https://x:{marker['gitcred']}@git.example.com\n",
        ("~/.git-credentials", marker["gitcred"]),
    )
    planted.plant(
        home / ".docker" / "config.json",
        json.dumps({"auths": {"registry.example.com": {"auth": marker["docker"]}}}),
        ("~/.docker/config.json", marker["docker"]),
    )
    planted.plant(
        home / ".kube" / "config",
        f"users:\n- name: x\n  user:\n    token: {marker['kube']}\n",
        ("~/.kube/config", marker["kube"]),
    )
    planted.plant(
        home / ".config" / "gcloud" / "application_default_credentials.json",
        json.dumps({"refresh_token": marker["gcloud"]}),
        ("~/.config/gcloud", marker["gcloud"]),
    )


# The hostile DAG file: reads every target, lists folders, writes what it got where the test can
# see it, then raises an exception carrying all of it (plain, base64 and hex) into the findings.
HOSTILE = """
import base64, json, os
TARGETS = {targets!r}
FOLDERS = {folders!r}
OBSERVED = {observed!r}
read, listed = {{}}, {{}}
for path in TARGETS:
    try:
        with open(path, "rb") as handle:
            read[path] = handle.read().decode(errors="replace")
    except BaseException as error:
        read[path] = "!" + type(error).__name__
for folder in FOLDERS:
    try:
        listed[folder] = sorted(os.listdir(folder))
    except BaseException as error:
        listed[folder] = "!" + type(error).__name__
observed = json.dumps({{"read": read, "listed": listed}})
try:
    with open(OBSERVED, "w") as handle:
        handle.write(observed)
    said = ""
except OSError:  # read-only in its namespace: its import error says it
    said = "observed: " + observed + " "
stolen = " | ".join(value.replace(chr(10), " ") for value in read.values())
raise RuntimeError(said + "stolen: " + stolen + " b64: "
                   + base64.b64encode(stolen.encode()).decode() + " hex: " + stolen.encode().hex())
"""

# A DAG file that reads a file of its own folder at import: the folder validated stays readable.
READER = """
import os
with open(os.path.join(os.path.dirname(__file__), "sql", "query.sql")) as handle:
    QUERY = handle.read()
assert QUERY == "select 1\\n", QUERY
"""


def hostile(dag_id: str, targets: list[Path], folders: list[Path], observed: Path) -> str:
    top = HOSTILE.format(
        targets=[str(t) for t in targets], folders=[str(f) for f in folders], observed=str(observed)
    )
    return dag(dag_id, top=top)


def observed_in(document: object) -> dict[str, object]:
    """What the hostile file read and listed, from its import error in ``document`` (a
    finding's message, or any JSON value holding one: a report, SARIF)."""
    if isinstance(document, dict):
        document = list(document.values())
    for value in document if isinstance(document, list) else [document]:
        if isinstance(value, (dict, list)):
            with contextlib.suppress(LookupError):
                return observed_in(value)
        elif isinstance(value, str) and "observed: " in value:
            start = value.index("observed: ") + len("observed: ")
            return json.JSONDecoder().raw_decode(value, start)[0]
    raise LookupError("no finding says what the file observed")


def assert_hidden(seen: dict[str, object], planted: Planted) -> dict[str, object]:
    """What the hostile file read (``observed_in``): no planted file's content (a hidden file
    reads empty, a file in a hidden folder does not exist)."""
    for path in planted.files:
        got = seen["read"][str(path)]
        assert got == "" or got.startswith("!"), f"the imported code read {path}: {got[:60]!r}"
    text = json.dumps(seen)
    assert leaks(text, planted.secrets) == [], "the imported code got hold of a secret"
    return seen


# -- the promoter: airflow-repos.yaml's credentials, its state folder, the user's home ---------
@dataclass
class PromoterSetup:
    root: Path
    config: Path
    state: Path
    planted: Planted
    upstream: object
    observed: Path

    def targets(self) -> list[Path]:
        return list(self.planted.files)


def promoter_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PromoterSetup:
    """Three repositories in airflow-repos.yaml, each credential in a file of its own: `sales`
    (public, the one synced; its webhook's secret_file), `other` (an oauth token_file) and
    `deploy` (an ssh_key_file); a file in the state folder; the user's credential files under
    a HOME of the test's."""
    from adp_test_helpers.repo_support import Upstream, write_config

    planted = Planted()
    secrets = tmp_path / "secrets"
    token = planted.plant(
        secrets / "other-token", f"ghp_{uuid.uuid4().hex}{uuid.uuid4().hex[:4]}\n"
    )
    planted.secrets["token_file"] = planted.files[token].strip()
    key = ssh_key()
    deploy_key = planted.plant(secrets / "deploy-key", key)
    for number, line in enumerate(markers_of(key)):
        planted.secrets[f"ssh_key_file line {number}"] = line
    hook = planted.plant(secrets / "sales-hook", f"hook-{uuid.uuid4().hex}\n")
    planted.secrets["webhook secret_file"] = planted.files[hook].strip()
    known_hosts = secrets / "known_hosts"
    known_hosts.write_text("git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIplanted\n")
    state = tmp_path / ".adp-repos"
    note = f"state-{uuid.uuid4().hex}"
    planted.plant(state / "planted" / "notes.txt", note + "\n", ("state_dir file", note))
    home = tmp_path / "home"
    plant_home(home, planted)
    monkeypatch.setenv("HOME", str(home))
    upstream = Upstream(tmp_path)
    config = write_config(
        tmp_path / "airflow-repos.yaml",
        tmp_path / "store",
        [
            {
                "name": "sales",
                "url": upstream.url,
                "namespace": "sales",
                "path": "dags",
                "webhook": {"provider": "github", "secret_file": str(hook)},
            },
            {
                "name": "other",
                "url": "https://git.example.com/other.git",
                "auth_type": "oauth_token",
                "namespace": "other",
                "token_file": str(token),
            },
            {
                "name": "deploy",
                "url": "git@git.example.com:deploy.git",
                "auth_type": "ssh_key",
                "namespace": "deploy",
                "ssh_key_file": str(deploy_key),
                "known_hosts_file": str(known_hosts),
            },
        ],
    )
    return PromoterSetup(tmp_path, config, state, planted, upstream, tmp_path / "observed.json")


def everything_recorded(setup: PromoterSetup, result: object, captured: str) -> str:
    """The sync's result, every file of the state folder (state, audit, mirrors) and of the
    store, and what was printed and logged."""
    parts = [repr(result), captured]
    for folder in (setup.state, setup.root / "store"):
        for path in folder.rglob("*"):
            if path.is_file() and "planted" not in path.parts:
                parts.append(path.read_bytes().decode(errors="replace"))
    return "\n".join(parts)


def the_commits(setup: PromoterSetup) -> tuple[dict[str, str], dict[str, str]]:
    """A clean commit (a DAG reading a file of its own folder) and then the hostile one."""
    from adp_test_helpers.repo_support import dag_text

    clean = {
        "dags/sales_daily.py": dag_text("sales_daily", extra=READER),
        "dags/sql/query.sql": "select 1\n",
    }
    folders = [setup.state, setup.state / "planted", setup.root / "home" / ".aws"]
    folders.append(setup.root / "store")
    targets = [*setup.targets(), setup.config]
    bad = {"dags/sales_hostile.py": hostile("sales_hostile", targets, folders, setup.observed)}
    return clean, bad


def test_a_hostile_commit_reads_no_credential_file_in_its_namespace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The issue's attack on files: a pushed DAG file reads, at import, the token_file,
    ssh_key_file and webhook secret_file of airflow-repos.yaml, a file of the state folder and
    the user's ~/.aws, ~/.ssh, ~/.netrc, ~/.git-credentials, ~/.docker, ~/.kube and gcloud
    files, and raises them (plain, base64, hex) into its finding. In the worker's mount
    namespace each reads empty or does not exist (as do airflow-repos.yaml and the local release
    store, which it could otherwise rewrite); the commit is refused with an ADP020 that holds
    none of them, nor does the state, the audit, the store or any output. The clean
    commit before it, whose DAG reads a file of its own folder, was promoted; the promoter's
    ImportStandby (as `adp repos serve` runs it) is used with the same hiding."""
    from adp.releases.local_store import LocalStore
    from adp.repos.config import load_config
    from adp.repos.promote import Promoter
    from adp.validation import ImportStandby

    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    setup = promoter_setup(tmp_path, monkeypatch)
    clean, bad = the_commits(setup)
    standby = ImportStandby().start()
    try:
        promoter = Promoter(
            load_config(setup.config),
            actor="tester",
            store=LocalStore(tmp_path / "store"),
            standby=standby,
        )
        first = setup.upstream.commit(clean, "clean")  # type: ignore[attr-defined]
        promoted = promoter.sync("sales")
        assert (promoted.outcome, promoted.commit) == ("promoted", first), promoted
        assert promoted.findings == [], promoted.findings  # the DAG read its own folder
        wait_for_standby(standby)
        hits = standby.stats().hits
        second = setup.upstream.commit(bad, "hostile")  # type: ignore[attr-defined]
        refused = promoter.sync("sales")
        assert standby.stats().hits == hits + 1, "the standby was not started with the hiding"
    finally:
        standby.stop()
    assert (refused.outcome, refused.commit) == ("refused", second), refused
    seen = assert_hidden(observed_in([f.message for f in refused.findings]), setup.planted)
    listed = seen["listed"]
    assert listed[str(setup.state)] == ["work"], listed  # only where the commit is exported
    assert listed[str(setup.state / "planted")] == "!FileNotFoundError", listed
    assert listed[str(setup.root / "home" / ".aws")] == [], listed  # an empty folder
    # airflow-repos.yaml and the local release store, which the code could otherwise rewrite
    assert seen["read"][str(setup.config)] == "" and listed[str(setup.root / "store")] == []
    import_errors = [f for f in refused.findings if f.rule == "ADP020"]
    assert import_errors and "stolen" in import_errors[0].message, refused.findings
    assert all(f.rule != "ADP026" for f in refused.findings), refused.findings
    captured = capsys.readouterr()
    recorded = everything_recorded(setup, refused, captured.out + captured.err + caplog.text)
    assert leaks(recorded, setup.planted.secrets) == []


def wait_for_standby(standby: ImportStandby, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (pid := standby.stats().standby_pid) is None:
        assert time.monotonic() < deadline, "no standby started"
        time.sleep(0.02)
    return pid


def test_with_in_process_isolation_the_promoter_redacts_the_credentials_it_knows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Where no namespace is available (forced here) files are NOT hidden: the hostile file
    reads the credential files. The values the promoter knows (the token, every line of the SSH
    key, the webhook secret) are removed from its findings, plain, base64- and hex-encoded,
    before they are recorded or shown."""
    from adp.releases.local_store import LocalStore
    from adp.repos.config import load_config
    from adp.repos.promote import Promoter

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ADP_IMPORT_ISOLATION", "in-process")
    setup = promoter_setup(tmp_path, monkeypatch)
    _, bad = the_commits(setup)
    promoter = Promoter(
        load_config(setup.config), actor="tester", store=LocalStore(tmp_path / "store")
    )
    sha = setup.upstream.commit(bad, "hostile")  # type: ignore[attr-defined]
    refused = promoter.sync("sales")
    assert (refused.outcome, refused.commit) == ("refused", sha), refused
    seen = json.loads(setup.observed.read_text())
    token_file = next(p for p in setup.planted.files if p.name == "other-token")
    assert seen["read"][str(token_file)] == setup.planted.files[token_file]  # not hidden here
    import_errors = [f for f in refused.findings if f.rule == "ADP020"]
    assert import_errors and "stolen" in import_errors[0].message, refused.findings
    known = {
        name: value
        for name, value in setup.planted.secrets.items()
        if name.startswith(("token_file", "ssh_key_file", "webhook"))
    }
    captured = capsys.readouterr()
    recorded = everything_recorded(setup, refused, captured.out + captured.err + caplog.text)
    assert leaks(recorded, known) == []


# -- `adp dags validate`: the user's credential files, hide_paths, the folder validated ----------
def run_validate(
    folder: Path, env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adp", "dags", "validate", str(folder), "--package", "corp",
         *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=cwd or folder.parent,
    )  # fmt: skip


def test_cli_hides_the_users_credential_files_in_json_and_sarif(tmp_path: Path) -> None:
    """`adp dags validate` with a HOME holding credential files: the hostile file reads none of
    them, no report (json, sarif) holds one, and a DAG reading its own folder imports fine."""
    planted = Planted()
    home = tmp_path / "home"
    plant_home(home, planted)
    folder = tmp_path / "dags"
    observed = tmp_path / "observed.json"
    (folder / "sql").mkdir(parents=True)
    (folder / "sql" / "query.sql").write_text("select 1\n")
    (folder / "corp_reader.py").write_text(dag("corp_reader", top=READER))
    (folder / "corp_hostile.py").write_text(
        hostile("corp_hostile", list(planted.files), [home, home / ".ssh"], observed)
    )
    env = {**os.environ, "HOME": str(home)}
    env.pop("ADP_IMPORT_ISOLATION", None)
    for fmt in ("json", "sarif"):
        result = run_validate(folder, env, "--format", fmt)
        assert result.returncode == 1, result.stderr
        assert leaks(result.stdout + result.stderr, planted.secrets) == [], fmt
        assert_hidden(observed_in(json.loads(result.stdout)), planted)
    report = json.loads(run_validate(folder, env, "--format", "json").stdout)
    rules = {(Path(f["path"]).name, f["rule"]) for f in report["findings"]}
    assert ("corp_hostile.py", "ADP020") in rules, rules
    assert not [r for r in rules if r[0] == "corp_reader.py"], rules
    assert any("network namespace" in note for note in report["notes"])


def test_hide_paths_hide_a_folder_but_the_folder_validated_inside_it(tmp_path: Path) -> None:
    """`hide_paths` in [tool.adp.dags] (relative to pyproject.toml): a state folder holding the
    folder being validated, and a token file. The folder validated stays readable (its DAG reads
    its own files); the rest of the state folder (a file, another export next to the one
    validated) and the token are not."""
    planted = Planted()
    state = tmp_path / "state"
    secret = f"state-{uuid.uuid4().hex}"
    peer = f"peer-{uuid.uuid4().hex}"
    token = f"tok-{uuid.uuid4().hex}"
    planted.plant(state / "secret.txt", secret, ("state file", secret))
    planted.plant(state / "work" / "other-export" / "peer.py", f"X = {peer!r}\n", ("peer", peer))
    planted.plant(tmp_path / "secrets" / "token", token, ("token", token))
    folder = state / "work" / "dags"
    observed = tmp_path / "observed.json"
    (folder / "sql").mkdir(parents=True)
    (folder / "sql" / "query.sql").write_text("select 1\n")
    (folder / "corp_reader.py").write_text(dag("corp_reader", top=READER))
    (folder / "corp_hostile.py").write_text(
        hostile("corp_hostile", list(planted.files), [state, state / "work"], observed)
    )
    config = tmp_path / "pyproject.toml"
    config.write_text(
        textwrap.dedent("""\
        [tool.adp.dags]
        hide_paths = ["state", "secrets/token"]
        """)
    )
    env = dict(os.environ)
    env.pop("ADP_IMPORT_ISOLATION", None)
    result = run_validate(folder, env, "--format", "json", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    seen = assert_hidden(observed_in(json.loads(result.stdout)), planted)
    assert seen["listed"][str(state)] == ["work"], seen["listed"]  # nothing else of it
    assert seen["listed"][str(state / "work")] == ["dags"], seen["listed"]
    assert leaks(result.stdout + result.stderr, planted.secrets) == []
    report = json.loads(result.stdout)
    rules = {(Path(f["path"]).name, f["rule"]) for f in report["findings"]}
    assert ("corp_hostile.py", "ADP020") in rules and not [
        r for r in rules if r[0] == "corp_reader.py"
    ], rules
    assert not [f for f in report["findings"] if f["rule"] in ("ADP025", "ADP026")]


def test_a_path_the_worker_needs_is_not_hidden_and_that_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hide path holding the interpreter (its environment) is not hidden, never breaking the
    import: the report says so as ADP026, naming the path, and the DAG imports as before."""
    from adp.validation import ValidationOptions, validate

    monkeypatch.delenv("ADP_IMPORT_ISOLATION", raising=False)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_fine.py").write_text(dag("corp_fine"))
    options = ValidationOptions(package="corp", hide_paths=[Path(sys.prefix)])
    report = validate([str(folder)], options)
    weaker = [f for f in report.findings if f.rule == "ADP026"]
    assert len(weaker) == 1 and weaker[0].severity == "warning", report.findings
    assert os.path.realpath(sys.prefix) in weaker[0].message
    assert "not hidden" in weaker[0].message and "interpreter" in weaker[0].message
    assert [d.dag_id for d in report.dags] == ["corp_fine"]


def test_a_mount_that_fails_stops_the_worker_before_it_starts(tmp_path: Path) -> None:
    """Fail closed: where a path cannot be hidden (here: no mount namespace of its own to
    mount in), the command after it never runs, and the message names the path."""
    from adp.validation.import_isolation import mounter_command

    secret = tmp_path / "secret"
    secret.write_text("s3cr3t")
    marker = tmp_path / "ran"
    command = [
        "unshare", "--user", "--map-root-user", "--",
        *mounter_command(["--hide", str(secret)]),
        sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ran')",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and not marker.exists(), done
    assert str(secret) in done.stderr and "s3cr3t" not in done.stderr + done.stdout


def test_the_probe_chooses_the_namespace_only_where_files_are_hidden() -> None:
    """The isolation probe's check, on real workers: without the hiding step (namespaces and
    setpriv alone) the worker reads the probe's secret file, and the probe calls that a
    problem; with it, the file reads empty, the hidden folder's file is gone and the folder
    kept inside it is readable. ``probe()`` chose the namespace, so the check held here."""
    from adp.validation.import_environment import worker_environment
    from adp.validation.import_isolation import (
        WORKER,
        _HidingProbe,
        _namespace_problem,
        _run_probe,
        probe,
    )

    chosen = probe()
    assert chosen.kind == "namespace" and chosen.needs, chosen
    worker = [sys.executable, "-c", WORKER.read_text(encoding="utf-8"), "--probe", "namespace"]
    with _HidingProbe() as files:
        unhidden = [*chosen.prefix, *chosen.privileges, *worker, *files.expected]
        found, problem = _run_probe(unhidden, worker_environment())
        assert problem == "", problem
        assert "not hidden" in _namespace_problem(found, files.expected), found["read"]
        hidden = [*chosen.command_prefix(files.plan), *worker, *files.expected]
        found, problem = _run_probe(hidden, worker_environment())
        assert problem == "" and _namespace_problem(found, files.expected) == "", found["read"]


# -- the redactor: a property over generated secrets --------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ENCODINGS = {
    "plain": lambda data: data.decode(errors="replace"),
    "hex": lambda data: data.hex(),
    "HEX": lambda data: data.hex().upper(),
    "base64": _b64,
    "base64 unpadded": lambda data: _b64(data).rstrip("="),
    "base64 urlsafe": lambda data: base64.urlsafe_b64encode(data).decode(),
    "json": lambda data: json.dumps(data.decode(errors="replace")),
    "repr": lambda data: repr(data.decode(errors="replace")),
    "url": lambda data: urllib.parse.quote(data.decode(errors="replace"), safe=""),
}
SECRET_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
    min_size=8,
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secrets=st.lists(SECRET_TEXT, min_size=1, max_size=3),
    which=st.data(),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    before=st.binary(max_size=5),
    after=st.binary(max_size=5),
    words=st.text(max_size=20),
)
def test_the_redactor_leaves_no_listed_encoding_of_a_secret(
    secrets: list[str],
    which: st.DataObject,
    encoding: str,
    before: bytes,
    after: bytes,
    words: str,
) -> None:
    """Whatever the secret and whatever surrounds it: once redacted, the text holds the secret
    neither as it is nor hex- nor base64-encoded (any alignment, either alphabet), nor its JSON,
    repr or URL form."""
    from adp.validation.redaction import Redactor

    secret = which.draw(st.sampled_from(secrets))
    data = before + secret.encode() + after
    text = f"{words} import failed: {ENCODINGS[encoding](data)} {words}"
    redacted = Redactor(secrets).text(text)
    assert not recoverable(redacted, secret), (encoding, redacted)
    escaped = (json.dumps(secret)[1:-1], repr(secret)[1:-1], urllib.parse.quote(secret, safe=""))
    assert not [form for form in escaped if form in redacted], (encoding, redacted)


def test_the_redactor_reaches_every_string_of_a_result() -> None:
    """Nested results (the worker's JSON: dicts, lists, DAG ids, tags, network targets)."""
    from adp.validation.redaction import Redactor

    secret = f"tok-{uuid.uuid4().hex}"
    result = {
        "error": {"message": f"boom {secret}", "line": 3},
        "dags": [{"dag_id": secret, "tags": [_b64(secret.encode())], "tasks": []}],
        "network": [{"target": f"{secret.encode().hex()}.example.com", "line": 1}],
    }
    redacted = Redactor([secret]).value(result)
    assert not recoverable(json.dumps(redacted), secret), redacted
    assert redacted["error"]["line"] == 3
