"""The front ends (the CLI, ``adp mcp``, the Airflow UI's page) reach the DAG-source actions
only through ``adp.operations``: a front-end module that imports a library below it (the
release store, the promoter, airflow-repos.yaml, the sources read model, validation, the
Airflow client) fails this test, so a rule cannot be written again in a front end.

Allowed for every front-end module: ``adp.operations`` (and what it re-exports: the models,
``NewRepository``, ``DEFAULT_FILE`` ...), ``adp.errors`` (the one error vocabulary), the front
ends themselves (``adp mcp`` is a CLI command that starts the MCP server) and ``adp`` itself
(``__version__``, ``pydantic_problems``: the shared renderer of a request's validation errors).

Out of scope (they are no DAG-source action; they import their own libraries): the CLI's
``dev``, ``images``, ``kerberos``, ``doctor``, ``generate`` (a spec to DAG files), ``sync``
(the sync agent, a separate process), ``main`` and ``errors`` (the app and its one error
handler), ``adp.webhooks`` imported by ``adp repos serve`` (the receiver's process wiring).

Explicit exceptions, each justified in ``EXCEPTIONS``."""

from __future__ import annotations

import ast
from pathlib import Path

import adp

SRC = Path(adp.__file__).parent
FRONT_ENDS = ("cli", "mcp", "ui")
OUT_OF_SCOPE = {
    "adp.cli.dev",
    "adp.cli.images",
    "adp.cli.kerberos",
    "adp.cli.doctor",
    "adp.cli.generate",
    "adp.cli.sync",
    "adp.cli.main",
    "adp.cli.errors",
}
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("adp.cli.repos", "adp.webhooks.app"): "adp repos serve runs the webhook receiver",
    ("adp.cli.repos", "adp.webhooks.connections"): "adp repos serve: the receiver's limits",
    ("adp.cli.repos", "adp.webhooks.targets"): "adp repos serve: the receiver's endpoints",
    ("adp.ui.settings", "adp.settings_base"): "the UI's own settings: the shared settings base",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def adp_imports(path: Path) -> set[str]:
    """Every ``adp`` module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "adp")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] == "adp"
        ):
            found.add(node.module)
    return found


def allowed(importer: str, imported: str) -> bool:
    front_end = ".".join(importer.split(".")[:2])
    return (
        imported == "adp"
        or imported == "adp.errors"
        or imported == "adp.pydantic_problems"
        or imported == "adp.operations"
        or imported.startswith("adp.operations.")
        or imported == front_end
        or imported.startswith(front_end + ".")
        or imported.split(".")[:2] in (["adp", "cli"], ["adp", "mcp"], ["adp", "ui"])
        or (importer, imported) in EXCEPTIONS
    )


def front_end_modules() -> list[Path]:
    files = [p for name in FRONT_ENDS for p in sorted((SRC / name).rglob("*.py"))]
    return [p for p in files if module_name(p) not in OUT_OF_SCOPE]


def test_front_ends_reach_the_libraries_only_through_the_operations_layer() -> None:
    modules = front_end_modules()
    assert len(modules) >= 10, modules  # the walk found the front ends
    wrong = sorted(
        f"{module_name(path)} imports {imported}"
        for path in modules
        for imported in adp_imports(path)
        if not allowed(module_name(path), imported)
    )
    assert not wrong, "front ends must import through adp.operations:\n" + "\n".join(wrong)


def test_every_exception_is_still_needed() -> None:
    """An exception no module needs any more is taken out of the list (it stays short)."""
    used = {(module_name(p), i) for p in front_end_modules() for i in adp_imports(p)}
    unused = sorted(set(EXCEPTIONS) - used)
    assert not unused, unused


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from adp.repos.promote import Promoter\n    import adp.dev\n")
    assert adp_imports(source) == {"adp.repos.promote", "adp.dev"}
    assert not allowed("adp.cli.repos", "adp.repos.promote")
    assert allowed("adp.cli.repos", "adp.operations.repos")
