"""The invariants of adp.settings_base: every setting is declared once (a field naming its
variable, default and description), flags win over variables, and a bad or missing value is a
UsageError naming the variable, never its value."""

from __future__ import annotations

import importlib
import pkgutil

import adp
import pytest
from adp.errors import UsageError
from adp.settings_base import AdpSettings
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field


class Knobs(AdpSettings):
    """A model of the tests' own, over variables no host sets."""

    count: int = Field(3, ge=1, validation_alias="ADP_TEST_KNOBS_COUNT", description="How many")
    name: str = Field(validation_alias="ADP_TEST_KNOBS_NAME", description="A name")
    token: str | None = Field(None, validation_alias="ADP_TEST_KNOBS_TOKEN", description="Secret")


def every_model() -> list[type[AdpSettings]]:
    """Every settings model of adp (its modules imported, then AdpSettings' subclasses)."""
    for module in pkgutil.walk_packages(adp.__path__, "adp."):
        if module.name.endswith(("settings", "variables", "access")):
            importlib.import_module(module.name)
    found: list[type[AdpSettings]] = []
    todo = list(AdpSettings.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return [m for m in found if m.__module__.startswith("adp.")]


def test_the_variable_is_read_and_the_default_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADP_TEST_KNOBS_NAME", "from-the-environment")
    monkeypatch.delenv("ADP_TEST_KNOBS_COUNT", raising=False)
    knobs = Knobs.load()
    assert knobs.name == "from-the-environment" and knobs.count == 3


def test_a_given_mapping_is_read_instead_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADP_TEST_KNOBS_NAME", "process")
    assert Knobs.load(environ={"ADP_TEST_KNOBS_NAME": "given"}).name == "given"
    assert Knobs.load().name == "process"  # the mapping was for that call only


def test_a_flag_wins_over_its_variable_and_none_leaves_it() -> None:
    environ = {"ADP_TEST_KNOBS_NAME": "variable", "ADP_TEST_KNOBS_COUNT": "7"}
    knobs = Knobs.load({"name": "flag", "count": None}, environ=environ)
    assert knobs.name == "flag" and knobs.count == 7


def test_an_empty_variable_is_unset() -> None:
    knobs = Knobs.load(environ={"ADP_TEST_KNOBS_NAME": "n", "ADP_TEST_KNOBS_COUNT": ""})
    assert knobs.count == 3


def test_every_problem_is_named_at_once_by_its_variable() -> None:
    with pytest.raises(UsageError) as caught:
        Knobs.load(environ={"ADP_TEST_KNOBS_COUNT": "0"})
    error = caught.value
    assert error.exit_code == 2
    assert {p.loc for p in error.problems} == {("ADP_TEST_KNOBS_COUNT",), ("ADP_TEST_KNOBS_NAME",)}
    by_loc = {p.loc[0]: p for p in error.problems}
    assert by_loc["ADP_TEST_KNOBS_NAME"].message == "not set"
    assert by_loc["ADP_TEST_KNOBS_NAME"].fix == "set ADP_TEST_KNOBS_NAME: a name"
    assert "greater than or equal to 1" in by_loc["ADP_TEST_KNOBS_COUNT"].message


def test_the_fix_names_the_flag_when_the_caller_has_flags() -> None:
    with pytest.raises(UsageError) as caught:
        Knobs.load({"count": 0}, environ={"ADP_TEST_KNOBS_NAME": "n"}, flag=lambda f: f"--{f}")
    (problem,) = caught.value.problems
    assert problem.loc == ("ADP_TEST_KNOBS_COUNT",)
    assert problem.fix == "give --count or ADP_TEST_KNOBS_COUNT: how many"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1))
def test_a_bad_value_is_never_shown(text: str) -> None:
    """Whatever a variable holds (a pasted secret, say), no problem repeats it."""
    value = f"sk-{text}"  # never a valid count
    with pytest.raises(UsageError) as caught:
        Knobs.load(environ={"ADP_TEST_KNOBS_NAME": "n", "ADP_TEST_KNOBS_COUNT": value})
    assert value not in str(caught.value)
    assert all(value not in (p.fix or "") + p.message for p in caught.value.problems)


def test_help_names_the_variable_and_the_default() -> None:
    assert Knobs.help("count") == "How many (ADP_TEST_KNOBS_COUNT, default 3)."
    assert Knobs.help("name") == "A name (ADP_TEST_KNOBS_NAME)."


def test_every_field_of_every_model_names_one_variable_and_says_what_it_is() -> None:
    models = every_model()
    names = {m.__name__ for m in models}
    assert {"SyncSettings", "HealthSettings", "PageSettings"} <= names
    assert {"ImageVariables", "AirflowAccess"} <= names
    for model in models:
        for field, info in model.model_fields.items():
            variable = model.variable(field)
            assert variable.isupper() and variable.replace("_", "").isalnum(), (model, field)
            assert info.description, f"{model.__name__}.{field} has no description"


def test_no_variable_is_declared_twice() -> None:
    """A variable shared by two components is one field, inherited; never two declarations."""
    declared: dict[str, str] = {}
    for model in every_model():
        bases = [base for base in model.__mro__[1:] if issubclass(base, AdpSettings)]
        own = set(model.model_fields) - {f for base in bases for f in base.model_fields}
        for field in own:
            variable = model.variable(field)
            where = f"{model.__module__}.{model.__name__}.{field}"
            assert variable not in declared, f"{variable}: {declared.get(variable)} and {where}"
            declared[variable] = where
