"""The platform's own static rules, on the syntax tree of one file.

Parse-time code is what the dag-processor runs every time it imports the file: module-level
statements, decorator and default-argument expressions, the bodies of ``@dag`` and
``@task_group`` functions (Airflow calls them while parsing) and of module-level functions that
parse-time code calls. Task bodies (``@task`` and any other function) run only in a task.
Invariant: a call is reported only when it is in parse-time code, and a rule names its line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from adp.validation.findings import Finding
from adp.validation.options import PackageImports
from adp.validation.rules import new_finding
from adp.validation.sources import Source

PARSE_TIME_DECORATORS = {"dag", "task_group", "DAG"}

# Called names (after resolving imports) and the rule they break at parse time.
_VARIABLE_SUFFIXES = (".Variable.get", ".Variable.set", ".Variable.setdefault", ".Variable.delete")
_CONNECTION_SUFFIXES = (".get_connection", ".Connection.get", ".get_conn", ".get_hook")
_DATABASE_METHODS = {"get_records", "get_first", "get_pandas_df", "get_df", "get_sqlalchemy_engine"}
_NETWORK_PREFIXES = (
    "requests.",
    "httpx.",
    "urllib.request.urlopen",
    "urllib3.",
    "aiohttp.",
    "socket.create_connection",
    "socket.socket",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
    "boto3.client",
    "boto3.resource",
    "boto3.Session",
    "boto3.session.Session",
    "smtplib.SMTP",
    "ftplib.FTP",
    "paramiko.SSHClient",
    "kubernetes.config.load",
)
_NETWORK_SAFE = {"requests.exceptions", "httpx.Timeout", "requests.codes"}
_DATABASE_CALLS = (
    "sqlalchemy.create_engine",
    "sqlmodel.create_engine",
    "psycopg2.connect",
    "psycopg.connect",
    "pyodbc.connect",
    "pymssql.connect",
    "pymysql.connect",
    "mysql.connector.connect",
    "sqlite3.connect",
    "snowflake.connector.connect",
    "oracledb.connect",
    "cx_Oracle.connect",
    "pymongo.MongoClient",
    "redis.Redis",
    "pandas.read_sql",
    "pandas.read_sql_query",
    "pandas.read_sql_table",
)


def _finding(rule_id: str, source: Source, node: ast.AST, message: str) -> Finding:
    line, column = getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1
    return new_finding(rule_id, source.display, message, line, column)


def parse(source: Source) -> tuple[ast.Module | None, Finding | None]:
    try:
        return ast.parse(source.text, filename=source.display), None
    except SyntaxError as error:
        message = f"syntax error: {error.msg}"
        return None, new_finding(
            "ADP010", source.display, message, error.lineno or 0, error.offset or 0
        )
    except ValueError as error:  # e.g. source with a NUL byte escaped through an encoding
        return None, new_finding("ADP010", source.display, str(error))


class _Imports(ast.NodeVisitor):
    """Local name -> dotted name it stands for, from every import of the module."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.names[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            return
        for alias in node.names:
            self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _dotted(node: ast.AST, imports: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # requests.Session().get(...): the chain's root call
        inner = _dotted(node.func, imports)
        return ".".join([inner, *reversed(parts)]) if inner else None
    if not isinstance(node, ast.Name):
        return None
    base = imports.get(node.id, node.id)
    return ".".join([base, *reversed(parts)])


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return ""


class _ParseTime:
    """The nodes of parse-time code, in source order."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }

    def nodes(self) -> Iterator[ast.AST]:
        """Each parse-time node once. A called module-level function's body is parse-time only
        when it is a plain function: a @task's body runs in the task; a @dag or @task_group
        body is walked where the function is defined."""
        done: set[str] = {
            name for name, function in self.functions.items() if function.decorator_list
        }
        pending: list[ast.AST] = [self.tree]
        while pending:
            for node in self._walk(pending.pop()):
                yield node
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    called = self.functions.get(node.func.id)
                    if called is not None and called.name not in done:
                        done.add(called.name)
                        pending.append(ast.Module(body=called.body, type_ignores=[]))

    def _walk(self, start: ast.AST) -> Iterator[ast.AST]:
        stack = list(reversed(list(ast.iter_child_nodes(start))))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                evaluated: list[ast.AST] = [*node.decorator_list, *node.args.defaults]
                evaluated += [d for d in node.args.kw_defaults if d is not None]
                if any(_decorator_name(d) in PARSE_TIME_DECORATORS for d in node.decorator_list):
                    evaluated += node.body
                stack.extend(reversed(evaluated))
            elif isinstance(node, ast.Lambda):
                stack.extend(reversed(node.args.defaults))
            else:
                stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _heavy_call(name: str) -> str | None:
    if name.endswith(_VARIABLE_SUFFIXES) or name in {"Variable.get", "Variable.set"}:
        return "ADP200"
    last = name.rsplit(".", 1)[-1]
    if name.endswith(_CONNECTION_SUFFIXES) or last in {"get_connection", "get_conn"}:
        return "ADP201"
    if last.endswith("Hook") and last[:1].isupper() and name.startswith("airflow."):
        return "ADP201"
    if last in _DATABASE_METHODS or name.startswith(_DATABASE_CALLS):
        return "ADP203"
    if name.startswith(_NETWORK_PREFIXES) and not name.startswith(tuple(_NETWORK_SAFE)):
        return "ADP202"
    return None


def check_tree(
    source: Source,
    tree: ast.Module,
    package: str | None,
    package_imports: PackageImports,
    dag_file: bool,
) -> list[Finding]:
    """Top-level heavy work and package imports in one parsed DAG file (a module of a package,
    or a file .airflowignore excludes, is not parsed by Airflow: its code runs only where a DAG
    file imports it, which the import check measures)."""
    visitor = _Imports()
    visitor.visit(tree)
    findings: list[Finding] = []
    parse_time_imports: set[int] = set()
    for node in _ParseTime(tree).nodes():
        if isinstance(node, ast.Call) and dag_file:
            name = _dotted(node.func, visitor.names)
            rule_id = _heavy_call(name) if name else None
            if rule_id:
                findings.append(
                    _finding(rule_id, source, node, f"{name}(...) runs at every parse of the file")
                )
        elif isinstance(node, ast.Import | ast.ImportFrom):
            parse_time_imports.add(id(node))
    if package and dag_file and package_imports is not PackageImports.anywhere:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if node.__class__ is ast.ImportFrom and node.level:
                continue
            if not any(m == package or m.startswith(f"{package}.") for m in modules):
                continue
            if package_imports is PackageImports.never:
                findings.append(
                    _finding("ADP301", source, node, f"imports {package}, the package's own code")
                )
            elif id(node) in parse_time_imports:
                findings.append(
                    _finding(
                        "ADP300",
                        source,
                        node,
                        f"imports {package} at parse time (module level or a @dag body)",
                    )
                )
    return findings


def locate(source: Source, name: str) -> int:
    """Line where a DAG or task id is written: the quoted id, else a function of that name."""
    quoted = (f'"{name}"', f"'{name}'")
    defined = (f"def {name}(", f"def {name} (")
    function_line = 0
    for number, text in enumerate(source.lines, 1):
        if any(q in text for q in quoted):
            return number
        if not function_line and any(d in text for d in defined):
            function_line = number
    return function_line
