"""The environment of the code the import check runs: an allow-list, never the caller's.

Invariant: the worker that imports DAG files (the code of a pushed commit, a chat model's text)
starts with exactly ``worker_environment(pass_env, withheld)``: the variables of ``ALLOWED`` (what
Python needs to start and to read text: the command path, the locale, the time zone, the
temporary folder) that the caller has, plus the names the operator passed explicitly
(``pass_env``), minus every name in ``withheld`` (what the platform's own settings name:
``token_env``, ``ssh_key_env``, ``webhook.secret_env`` of airflow-repos.yaml). Nothing else of the
caller's environment reaches it, whatever its name, and ``FIXED`` (``PYTHONDONTWRITEBYTECODE``:
no ``__pycache__`` in the folder being validated) is always set. The platform then sets
``TMPDIR`` to a folder it made for that worker (the caller's is never used), and the worker its
own Airflow settings and ``HOME`` (a folder in it), listed in ``WORKER_SETS``.

A name the operator may not pass is refused with the reason (``pass_env_problem``): the
platform's own settings and credentials (``ADP_*``, the release store's ``AWS_*``), Airflow's
secrets and deployment values (the Fernet key, the database, connections, Variables, secrets
backends, ``*_CMD``/``*_SECRET`` indirections), the variables the worker sets itself, and every
name in ``withheld``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence

# What Python and Airflow need to import a DAG file; none of it is a credential.
ALLOWED = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR"})
ALLOWED_PREFIXES = ("LC_",)  # the locale categories (LC_ALL, LC_CTYPE, ...)

# Always given, whatever the caller has: no .pyc is written into the folder being validated
# (a __pycache__ there would change what is published after it).
FIXED = {"PYTHONDONTWRITEBYTECODE": "1"}

# Set by the worker itself before it imports Airflow (import_worker._prepare_environment), and
# TMPDIR, its own temporary folder, by the platform (import_check._launch).
WORKER_SETS = frozenset(
    {
        *FIXED,
        "TMPDIR",
        "HOME",
        "AIRFLOW_HOME",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT",
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    }
)

# The platform's own settings and credentials, and Airflow's secrets and deployment values.
RESERVED_PREFIXES = (
    ("ADP_", "the platform's own settings and credentials"),
    ("AWS_", "the release store's credentials"),
    ("AIRFLOW_CONN_", "a connection: the import check sees what CI sees; read it inside a task"),
    ("AIRFLOW_VAR_", "a Variable: the import check sees what CI sees; read it inside a task"),
    ("AIRFLOW__SECRETS__", "Airflow's secrets backend"),
    ("AIRFLOW__DATABASE__", "Airflow's metadata database"),
)
RESERVED = {
    "AIRFLOW__CORE__FERNET_KEY": "Airflow's Fernet key",
    "AIRFLOW__CORE__SQL_ALCHEMY_CONN": "Airflow's metadata database",
    "AIRFLOW__API_AUTH__JWT_SECRET": "Airflow's API signing secret",
    "AIRFLOW__API__SECRET_KEY": "Airflow's API secret key",
    "AIRFLOW__WEBSERVER__SECRET_KEY": "Airflow's webserver secret key",
    "AIRFLOW__CELERY__BROKER_URL": "Airflow's Celery broker (it holds a password)",
    "AIRFLOW__CELERY__RESULT_BACKEND": "Airflow's Celery result backend (it holds a password)",
    "KRB5CCNAME": "the Kerberos ticket cache",
    "SSH_AUTH_SOCK": "the SSH agent",
}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def allowed(name: str) -> bool:
    """True for a name of the allow-list (given to the worker when the caller has it)."""
    return name in ALLOWED or name.startswith(ALLOWED_PREFIXES)


def pass_env_problem(name: str, withheld: Collection[str] = ()) -> str | None:
    """Why ``name`` may not be passed to the code under validation, or None when it may."""
    if not NAME_RE.fullmatch(name):
        return (
            f"{name!r} is not an environment variable's name (letters, digits and '_', not "
            "starting with a digit): give the name, never a value"
        )
    if name in withheld:
        return (
            f"{name} holds a credential the platform's settings name (a token_env, ssh_key_env "
            "or webhook secret_env of airflow-repos.yaml): it is never given to the code being "
            "validated; remove it from pass_env"
        )
    if name in WORKER_SETS:
        return f"{name} is set by the import check itself: remove it from pass_env"
    why = RESERVED.get(name) or next(
        (reason for prefix, reason in RESERVED_PREFIXES if name.startswith(prefix)), None
    )
    if why is None and name.startswith("AIRFLOW__") and name.endswith(("_CMD", "_SECRET")):
        why = "an Airflow setting read from a command or a secrets backend"
    if why is not None:
        return f"{name} is never given to the code being validated ({why}): remove it from pass_env"
    return None


def worker_environment(
    pass_env: Sequence[str] = (),
    withheld: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment the worker starts with: the allow-listed variables ``environ``
    (default: this process's) has, plus the ``pass_env`` names it has, minus ``withheld``.
    Raises ValueError for a name of ``pass_env`` that ``pass_env_problem`` refuses."""
    source = os.environ if environ is None else environ
    for name in pass_env:
        problem = pass_env_problem(name, withheld)
        if problem is not None:
            raise ValueError(problem)
    chosen = {name: value for name, value in source.items() if allowed(name)}
    chosen.update({name: source[name] for name in pass_env if name in source})
    return {name: value for name, value in chosen.items() if name not in withheld} | FIXED
