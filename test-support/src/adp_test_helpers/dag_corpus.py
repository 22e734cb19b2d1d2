"""A corpus of DAG files made by the tests: for each rule, a case that trips it and a near
miss that must not. Each case is one folder (one validation root) of the corpus; DAG ids and
file names are unique across cases, so cases never trip each other's cross-file rules.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "corp"
# A real token shape, assembled so that this test file itself holds no token.
GITHUB_TOKEN = "ghp_" + "Zq8vN3kX7mB2wY5tR1pL9sD4fH6jK0aC3eG8"
AWS_KEY = "AKIA" + "Z7Q3VN5KXMB2WY4T"


def dag(dag_id: str, top: str = "", body: str = "", task: str = "return 1", **params: str) -> str:
    """A DAG file that follows every rule, with code spliced in at module level (``top``), in
    the @dag body (``body``) and in the task (``task``)."""
    args = {
        "dag_id": repr(dag_id),
        "schedule": "None",
        "start_date": "datetime(2025, 1, 1)",
        "catchup": "False",
        "tags": '["corpus"]',
        "default_args": '{"owner": "data-team", "retries": 2}',
    }
    args.update(params)
    arguments = "".join(f"    {key}={value},\n" for key, value in args.items())
    return (
        "from datetime import datetime\n\n"
        "from airflow.sdk import dag, task\n"
        f"{textwrap.dedent(top)}\n\n"
        f"@dag(\n{arguments})\n"
        f"def {dag_id}():\n"
        f"{textwrap.indent(textwrap.dedent(body), '    ')}\n"
        "    @task\n"
        "    def work():\n"
        f"{textwrap.indent(textwrap.dedent(task), '        ')}\n\n"
        "    work()\n\n\n"
        f"{dag_id}()\n"
    )


@dataclass
class Case:
    """One folder. ``rules``: exactly the rules its findings must carry (empty: a near miss,
    nothing at all may be found); ``lines``: rule -> line where it must point."""

    name: str
    files: dict[str, str | bytes]
    rules: set[str] = field(default_factory=set)
    lines: dict[str, int] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # name -> target (relative to folder)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the case's file")


def _case(name: str, rules: set[str], text: str, point: str | None = None, **extra) -> Case:
    file = f"{PACKAGE}_{name}.py"
    lines = {rule: _line_of(text, point) for rule in rules} if point else {}
    return Case(name, {file: text, **extra}, rules, lines)


def cases() -> list[Case]:
    c: list[Case] = []
    ok = f"{PACKAGE}_ok"
    c.append(_case("ok", set(), dag(ok)))
    # ---- syntax and import
    broken = dag(f"{PACKAGE}_syntax") + "def broken(:\n    pass\n"
    c.append(_case("syntax", {"ADP010"}, broken, "def broken(:"))
    c.append(_case("syntax_ok", set(), dag(f"{PACKAGE}_syntax_ok") + "def fine():\n    pass\n"))
    text = dag(f"{PACKAGE}_importerr", top="import corpus_module_that_is_not_installed")
    c.append(_case("importerr", {"ADP020"}, text, "corpus_module_that_is_not_installed"))
    text = dag(f"{PACKAGE}_importerr_ok", task="import corpus_module_that_is_not_installed")
    c.append(_case("importerr_ok", set(), text))
    text = dag(f"{PACKAGE}_timeout", top="import time\ntime.sleep(120)")
    c.append(_case("timeout", {"ADP021"}, text, "time.sleep(120)"))
    text = dag(f"{PACKAGE}_slow", top="import time\ntime.sleep(3)")
    c.append(_case("slow", {"ADP024"}, text))
    text = dag(f"{PACKAGE}_slow_ok", task="import time\ntime.sleep(3)")
    c.append(_case("slow_ok", set(), text))
    nodag = "from airflow.sdk import dag  # a DAG file that forgot to call its DAG\nX = 1\n"
    c.append(_case("nodag", {"ADP022"}, nodag))
    helper = Case(
        "nodag_ok",
        {
            f"{PACKAGE}_nodag_ok.py": dag(f"{PACKAGE}_nodag_ok"),
            "helpers/__init__.py": "",
            "helpers/dag_tools.py": "# Helpers for airflow DAG files: a module, no DAG.\nX = 1\n",
            "notes.py": "# No mention of the orchestrator here.\nY = 2\n",
        },
    )
    c.append(helper)
    network_module = (
        "import socket\n\n\ndef fetch():\n"
        "    return socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    )
    text = dag(f"{PACKAGE}_network", top="from nethelpers.client import fetch\nfetch()")
    case = _case("network", {"ADP023"}, text, "fetch()")
    case.files["nethelpers/__init__.py"] = ""
    case.files["nethelpers/client.py"] = network_module
    c.append(case)
    text = dag(f"{PACKAGE}_network_ok", top="from nethelpers2.client import fetch", task="fetch()")
    case = _case("network_ok", set(), text)
    case.files["nethelpers2/__init__.py"] = ""
    case.files["nethelpers2/client.py"] = network_module
    c.append(case)
    # Each file is imported in isolation: what one file leaves in sys.modules is not there for
    # the next (a.py sorts first, and runs first in a single interpreter).
    leaky = Case(
        "isolation",
        {
            f"{PACKAGE}_isolation_a.py": dag(
                f"{PACKAGE}_isolation_a",
                top="import sys\nimport types\n"
                "sys.modules['corpus_leaked'] = types.ModuleType('leak')",
            ),
            f"{PACKAGE}_isolation_b.py": dag(f"{PACKAGE}_isolation_b", top="import corpus_leaked"),
        },
        {"ADP020"},
    )
    c.append(leaky)
    # ---- naming
    c.append(_case("prefix", {"ADP100"}, dag("sales_prefix"), "'sales_prefix'"))
    two = {
        f"{PACKAGE}_dup_a.py": dag(f"{PACKAGE}_dup"),
        f"{PACKAGE}_dup_b.py": dag(f"{PACKAGE}_dup"),
    }
    c.append(Case("dup", two, {"ADP101"}))
    c.append(_case("taken", {"ADP102"}, dag(f"{PACKAGE}_taken"), f"'{PACKAGE}_taken'"))
    c.append(_case("taken_ok", set(), dag(f"{PACKAGE}_mine")))  # in our own old manifest
    same = {
        f"a/{PACKAGE}_same.py": dag(f"{PACKAGE}_same_a"),
        f"b/{PACKAGE}_same.py": dag(f"{PACKAGE}_same_b"),
    }
    c.append(Case("filename", same, {"ADP103"}))
    c.append(Case("filename_env", {"sales_report.py": dag(f"{PACKAGE}_report")}, {"ADP103"}))
    # ---- top-level work
    top_var = "from airflow.sdk import Variable\nLIMIT = Variable.get('corp_limit')"
    text = dag(f"{PACKAGE}_var", top=top_var)
    c.append(_case("var", {"ADP200"}, text, "Variable.get"))
    text = dag(f"{PACKAGE}_var_in_body", body="limit = Variable.get('corp_limit')")
    text = text.replace(
        "from airflow.sdk import dag, task", "from airflow.sdk import Variable, dag, task"
    )
    c.append(_case("var_in_body", {"ADP200"}, text, "Variable.get"))
    text = dag(
        f"{PACKAGE}_var_ok",
        top="from airflow.sdk import Variable\nTEMPLATE = '{{ var.value.corp_limit }}'",
        task="return Variable.get('corp_limit')",
    )
    c.append(_case("var_ok", set(), text))
    # A module-level @task called from the @dag body: its body runs in the task, not at parse.
    task_at_top = (
        "from airflow.sdk import Variable\n\n\n@task\ndef limit():\n"
        "    return Variable.get('corp_limit')"
    )
    text = dag(f"{PACKAGE}_task_from_dag", top=task_at_top, body="limit()")
    c.append(_case("task_from_dag", set(), text))
    top_conn = "from airflow.sdk.bases.hook import BaseHook\nCONN = BaseHook.get_connection('db')"
    c.append(_case("conn", {"ADP201"}, dag(f"{PACKAGE}_conn", top=top_conn), "get_connection"))
    text = dag(
        f"{PACKAGE}_conn_ok",
        top="from airflow.sdk.bases.hook import BaseHook",
        task="return BaseHook.get_connection('db').host",
    )
    c.append(_case("conn_ok", set(), text))
    top_net = "import requests\nSTATUS = requests.get('http://127.0.0.1:9/', timeout=1)"
    c.append(_case("net", {"ADP202"}, dag(f"{PACKAGE}_net", top=top_net), "requests.get"))
    text = dag(
        f"{PACKAGE}_net_ok",
        top="import requests",
        task="return requests.get('http://127.0.0.1:9/', timeout=1).status_code",
    )
    c.append(_case("net_ok", set(), text))
    top_db = "import sqlite3\nDB = sqlite3.connect(':memory:')"
    c.append(_case("db", {"ADP203"}, dag(f"{PACKAGE}_db", top=top_db), "sqlite3.connect"))
    text = dag(f"{PACKAGE}_db_ok", top="import sqlite3", task="return sqlite3.connect(':memory:')")
    c.append(_case("db_ok", set(), text))
    # ---- the package's own code (the case folder holds the package)
    package_files = {f"{PACKAGE}/__init__.py": "", f"{PACKAGE}/models.py": "LIMIT = 3\n"}
    text = dag(f"{PACKAGE}_pkgimport", top=f"from {PACKAGE}.models import LIMIT")
    case = _case("pkgimport", {"ADP300"}, text, f"from {PACKAGE}.models", **package_files)
    c.append(case)
    text = dag(f"{PACKAGE}_pkgimport_ok", task=f"from {PACKAGE}.models import LIMIT\nreturn LIMIT")
    c.append(_case("pkgimport_ok", set(), text, **package_files))
    # ---- conventions
    c.append(_case("tags", {"ADP400"}, dag(f"{PACKAGE}_tags", tags="[]"), f"'{PACKAGE}_tags'"))
    no_owner = dag(f"{PACKAGE}_owner", default_args='{"retries": 2}')
    c.append(_case("owner", {"ADP401"}, no_owner, "def work"))
    no_retries = dag(f"{PACKAGE}_retries", default_args='{"owner": "data-team", "retries": 0}')
    c.append(_case("retries", {"ADP402"}, no_retries, "def work"))
    # ---- upstream scanners
    text = dag(f"{PACKAGE}_shell", top="import subprocess\nsubprocess.run('ls', shell=True)")
    c.append(_case("shell", {"S602"}, text, "shell=True"))
    text = dag(f"{PACKAGE}_shell_ok", top="import subprocess\nsubprocess.run(['ls'], check=True)")
    c.append(_case("shell_ok", set(), text))
    text = dag(f"{PACKAGE}_eval", task="return eval('1 + 1')")
    c.append(_case("eval", {"S307"}, text, "eval('"))
    text = dag(f"{PACKAGE}_verify", task="import requests\nrequests.get('https://x', verify=False)")
    c.append(_case("verify", {"S501"}, text, "verify=False"))
    text = dag(f"{PACKAGE}_pickle", task="import pickle\nreturn pickle.loads(b'')")
    c.append(_case("pickle", {"S301"}, text, "pickle.loads"))
    text = dag(f"{PACKAGE}_removed", schedule_interval='"@daily"')
    text = text.replace("    schedule=None,\n", "")
    # Airflow 3's DAG refuses the argument: ruff names it, the import check proves it.
    case = _case("removed", {"AIR301", "ADP020"}, text)
    last = len(text.splitlines())  # the module-level call that builds the DAG
    case.lines = {"AIR301": _line_of(text, "schedule_interval"), "ADP020": last}
    c.append(case)
    # ---- secrets
    text = dag(f"{PACKAGE}_ghtoken", top=f'GH = "{GITHUB_TOKEN}"')
    case = _case("ghtoken", {"GitHubTokenDetector", "Base64HighEntropyString"}, text, "GH = ")
    c.append(case)
    text = dag(f"{PACKAGE}_aws", top=f'KEY_ID = "{AWS_KEY}"')
    c.append(_case("aws", {"AWSKeyDetector"}, text, "KEY_ID"))
    text = dag(f"{PACKAGE}_password", top='db_password = "Tr0ub4dor-and-3"')
    c.append(_case("password", {"KeywordDetector"}, text, "db_password"))
    text = dag(
        f"{PACKAGE}_allowlisted", top='db_password = "Tr0ub4dor-and-4"  # pragma: allowlist secret'
    )
    c.append(_case("allowlisted", {"KeywordDetector"}, text, "db_password"))
    text = dag(
        f"{PACKAGE}_secret_ok",
        top='import os\ndb_password = os.environ.get("DB_PASSWORD", "")\n'
        'TEMPLATE = "{{ conn.warehouse.password }}"\nBUCKET = "s3://corp-raw/landing"',
    )
    c.append(_case("secret_ok", set(), text))
    # ---- suppressions
    text = dag(
        f"{PACKAGE}_supp", task="return eval('1')  # adp: ignore[S307] the input is a literal"
    )
    c.append(_case("supp", set(), text))
    text = dag(f"{PACKAGE}_supp_noreason", task="return eval('1')  # adp: ignore[S307]")
    c.append(_case("supp_noreason", {"ADP900", "S307"}, text, "eval("))
    text = dag(f"{PACKAGE}_supp_unknown", task="return 1  # adp: ignore[XYZ123] because")
    c.append(_case("supp_unknown", {"ADP901"}, text, "XYZ123"))
    text = dag(f"{PACKAGE}_supp_unused", task="return 1  # adp: ignore[S307] no eval here any more")
    c.append(_case("supp_unused", {"ADP902"}, text, "ignore[S307]"))
    text = dag(f"{PACKAGE}_noqa", task="return eval('1')  # noqa: S307  # nosec")
    c.append(_case("noqa", {"S307"}, text, "eval("))
    # ---- bad input
    c.append(Case("binary", {f"{PACKAGE}_binary.py": b"\x7fELF\x00\x01\x02"}, {"ADP002"}))
    c.append(
        Case("latin1", {f"{PACKAGE}_latin1.py": "x = 'caf\xe9'\n".encode("latin-1")}, {"ADP004"})
    )
    big = "# padding\n" * 110_000
    c.append(Case("big", {f"{PACKAGE}_big.py": big}, {"ADP003"}))
    c.append(Case("fifo", {}, {"ADP001"}))  # the test makes a FIFO named corp_fifo.py
    outside = Case(
        "link_out", {}, {"ADP005"}, links={f"{PACKAGE}_evil.py": "../../outside/secret.py"}
    )
    c.append(outside)
    folder_out = Case("dirlink_out", {}, {"ADP005"}, links={"vendored": "../../outside"})
    c.append(folder_out)
    inside = Case(
        "link_in",
        {f"real/{PACKAGE}_real.py": dag(f"{PACKAGE}_real")},
        set(),
        links={f"{PACKAGE}_alias.py": f"real/{PACKAGE}_real.py"},
    )
    c.append(inside)
    return c


def write(root: Path) -> list[Case]:
    """Write every case under root/cases/<name>/ and the files outside them (root/outside/)."""
    outside = root / "outside"
    outside.mkdir(parents=True)
    # What a link must never make the validation read: a syntax error and a token.
    (outside / "secret.py").write_text(f'TOKEN = "{GITHUB_TOKEN}"\ndef (:\n')
    written = cases()
    for case in written:
        folder = root / "cases" / case.name
        folder.mkdir(parents=True)
        for name, content in case.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        for name, target in case.links.items():
            (folder / name).symlink_to(target)
        if case.name == "fifo":
            os.mkfifo(folder / f"{PACKAGE}_fifo.py")
    return written
