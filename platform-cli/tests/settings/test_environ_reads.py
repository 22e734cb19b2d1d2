"""No module of adp reads the environment for a setting outside its settings model.

Every ``os.environ`` / ``os.getenv`` read in ``platform-cli/src/adp`` (found by walking each
module's syntax tree; setting a variable of this very process is no read) must be one of ALLOWED
below: process plumbing (a child's environment, HOME and PATH, the import worker's allow-list),
or credentials in variables that a file names. A setting of a component belongs in its
pydantic-settings model (adp.settings_base), where its variable, default and description are
declared once. Each entry names the variable read (or ``*`` for the whole environment or a
variable named at run time) and says why it is not a setting; a new read, even in a listed
module, fails here until it is a model's field or listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import adp

SOURCE = Path(adp.__file__).parent
ENVIRON_NAMES = {"environ", "environb", "getenv", "getenvb"}
# Setting a variable of this very process (the import worker prepares Airflow's) is no read.
WRITES = {"pop", "update", "clear"}

# module (relative to adp/) -> {variable or "*": why it is not a setting of a model}
ALLOWED: dict[str, dict[str, str]] = {
    "kerberos/export.py": {
        "KRB5CCNAME": "Kerberos' own variable for the ticket cache, as libkrb5 reads it",
    },
    "doctor/checks.py": {
        "*": "the doctor inspects a snapshot of the whole environment (its checks read "
        "settings through the models, from that snapshot)",
    },
    "repos/git.py": {
        "*": "credentials in variables named by airflow-repos.yaml (token_env, ssh_key_env), "
        "and the environment of git child processes",
    },
    "repos/protected.py": {
        "*": "the values of the credential variables airflow-repos.yaml names, to redact them",
    },
    "images/builder.py": {"*": "the environment of the docker build child process"},
    "images/locking.py": {"*": "the environment of the uv child process"},
    "dev/stack.py": {"*": "the environment of docker compose child processes"},
    "dev/settings.py": {
        "XDG_STATE_HOME": "the XDG base directory the state folder defaults under, in the "
        "settings module itself (ADP_DEV_STATE_DIR is the setting)",
    },
    "validation/import_isolation.py": {
        "*": "PATH, to find the worker's python and the unshare/setpriv the probe runs",
    },
    "validation/import_hiding.py": {
        "*": "HOME, AIRFLOW_HOME and credential-file variables: which files the import worker "
        "must not see (issue 26 security code)",
    },
    "validation/import_check.py": {
        "*": "the environment of the import worker, withheld variables removed (issue 26)",
    },
    "validation/import_environment.py": {
        "*": "the import worker's allow-listed environment (issue 26 security code)",
    },
}


def environ_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, variable or "*")`` of every use of os.environ / os.getenv & co in ``tree``."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, "*") for a in node.names if a.name in ENVIRON_NAMES]
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ENVIRON_NAMES
        ):
            continue
        if not _writes(node, parents):
            found.append((node.lineno, _key(node, parents)))
    return sorted(found)


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _writes(node: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> bool:
    """``os.environ["X"] = ...``, ``del os.environ["X"]`` or ``os.environ.pop/update/clear``."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript):
        return isinstance(parent.ctx, ast.Store | ast.Del)
    return isinstance(parent, ast.Attribute) and parent.attr in WRITES


def _key(node: ast.Attribute, parents: dict[ast.AST, ast.AST]) -> str:
    """The variable a use reads when it is written as a literal, else ``*``."""
    parent = parents.get(node)
    if node.attr.startswith("getenv") and isinstance(parent, ast.Call) and parent.args:
        return _literal(parent.args[0]) or "*"
    if isinstance(parent, ast.Subscript):  # os.environ["X"]
        return _literal(parent.slice) or "*"
    if isinstance(parent, ast.Attribute):  # os.environ.get("X"), .pop("X"), .items()
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.args:
            return _literal(call.args[0]) or "*"
    return "*"


def uses_in_adp() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        uses = environ_uses(ast.parse(path.read_text(), str(path)))
        if uses:
            found[path.relative_to(SOURCE).as_posix()] = uses
    return found


def test_no_module_reads_a_setting_from_the_environment_outside_a_model() -> None:
    unlisted = [
        f"adp/{module}:{line}: {key}"
        for module, uses in uses_in_adp().items()
        for line, key in uses
        if key not in ALLOWED.get(module, {})
    ]
    assert not unlisted, (
        "environment read outside a settings model: make it a field of the component's "
        "AdpSettings model (adp.settings_base), or, for process plumbing, list it in ALLOWED "
        "with the reason:\n  " + "\n  ".join(unlisted)
    )


def test_every_allowed_entry_is_still_used() -> None:
    """An allow-list entry whose read is gone is removed, so the list stays the truth."""
    used = {(module, key) for module, uses in uses_in_adp().items() for _, key in uses}
    stale = [(m, k) for m, keys in ALLOWED.items() for k in keys if (m, k) not in used]
    assert not stale, f"allow-list entries no longer used: {stale}"


def test_the_scanner_finds_each_form_of_read() -> None:
    code = (
        "import os\nfrom os import getenv\n"
        "a = os.environ.get('A')\nb = os.environ['B']\nc = os.getenv('C')\n"
        "d = dict(os.environ)\ne = os.environ.get(name)\n"
        "os.environ['W'] = '1'\nos.environ.pop('W', None)\ndel os.environ['W']\n"
    )
    assert environ_uses(ast.parse(code)) == [
        (2, "*"),
        (3, "A"),
        (4, "B"),
        (5, "C"),
        (6, "*"),
        (7, "*"),
    ]
