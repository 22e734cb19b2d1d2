"""A rule that checks a whole value checks it with ``fullmatch``.

Python's ``$`` also matches before a final newline, so ``re.match(r"^[a-z]+$", "sales\\n")``
succeeds: a package named ``"sales\\n"`` passed ``check_package`` and became the store key
``dev/sales\\n/current.json``. Every pattern of ``adp`` anchored at both ends (``^...$``) is a
whole-value rule; this test fails if one is applied with ``match``/``search`` instead of
``fullmatch`` (an AST walk over every module, so a new rule cannot escape), and checks the
name rules themselves against a trailing newline.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import adp
from adp.releases import names


def _whole(value: object) -> bool:
    """A compiled pattern or a literal anchored at both ends (``^...$``)."""
    text = value.pattern if isinstance(value, re.Pattern) else value
    return isinstance(text, str) and text.startswith("^") and text.endswith("$")


def _resolve(node: ast.expr, namespace: dict[str, object]) -> object:
    """The object a ``Name`` or ``a.b.c`` expression names in a module's globals, or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _partial_uses(path: Path, namespace: dict[str, object]) -> list[str]:
    """``rule.match(...)``/``rule.search(...)`` of a whole-value rule, and ``re.match("^...$")``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("match", "search"):
            continue
        owner = node.func.value
        whole_rule = _whole(_resolve(owner, namespace))
        literal = (
            _resolve(owner, namespace) is re
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and _whole(node.args[0].value)
        )
        if whole_rule or literal:
            found.append(f"{path}:{node.lineno}: {ast.unparse(owner)}.{node.func.attr}")
    return found


def _modules() -> list[tuple[Path, dict[str, object]]]:
    found = []
    for info in pkgutil.walk_packages(adp.__path__, "adp."):
        if info.name == "adp.__main__":  # runs the CLI when imported
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed: nothing to check there
            continue
        if getattr(module, "__file__", None):
            found.append((Path(module.__file__), vars(module)))
    return found


def test_every_whole_value_rule_is_applied_with_fullmatch() -> None:
    modules = _modules()
    assert len(modules) > 100, "the walk must see the whole package"
    found = [use for path, namespace in modules for use in _partial_uses(path, namespace)]
    assert not found, (
        "use fullmatch for a ^...$ rule ($ also matches before a final newline):\n"
        + ("\n".join(found))
    )


def test_the_walk_sees_a_partial_use(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        'import re\nR = re.compile(r"^[a-z]+$")\nP = re.compile("[a-z]")\n'
        'R.match("x")\nR.fullmatch("x")\nP.match("x")\nre.search(r"^a$", "a")\n'
    )
    namespace: dict[str, object] = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    uses = [u.rsplit(": ", 1)[1] for u in _partial_uses(module, namespace)]
    assert uses == ["R.match", "re.search"]


def test_names_with_a_final_newline_are_refused() -> None:
    for check, good in (
        (names.check_package, "sales"),
        (names.check_env, "dev"),
        (names.check_version, "v1"),
    ):
        check(good)
        for bad in (good + "\n", good + "\r\n", "\n" + good):
            try:
                check(bad)
            except names.InvalidName:
                continue
            raise AssertionError(f"{check.__name__} accepted {bad!r}")
    assert re.fullmatch(r"^[a-z]+$", "a\n") is None
