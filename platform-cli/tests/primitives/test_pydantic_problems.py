"""adp.pydantic_problems: one problem per pydantic error item, its location as data, pydantic's
message unless the caller words it, never the input value; rendered as the formatters it
replaced printed (``a.0.b: message``, joined by ``; ``)."""

from __future__ import annotations

import pytest
from adp import pydantic_problems
from adp.errors import Problem
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Sub(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(ge=1, le=65535)
    name: str = Field(max_length=8)


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int
    items: list[Sub] = []


SECRET = "s3cr3t-value-never-shown"
VALUES = st.one_of(
    st.integers(-5, 70000), st.just(SECRET), st.text(max_size=12), st.none(), st.booleans()
)
SUBS = st.dictionaries(st.sampled_from(["port", "name", "extra"]), VALUES, max_size=3)
DOCS = st.dictionaries(
    st.sampled_from(["count", "items", "other"]),
    st.one_of(VALUES, st.lists(st.one_of(SUBS, VALUES), max_size=3)),
    max_size=3,
)


def _error(data: object) -> ValidationError | None:
    try:
        Doc.model_validate(data)
    except ValidationError as error:
        return error
    return None


def _old_render(error: ValidationError, empty: str) -> str:
    """What validation/options.py and releases/manifest.py wrote before (their code)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or empty}: {item['msg']}"
        for item in error.errors()
    )


@settings(max_examples=200, deadline=None)
@given(data=DOCS)
def test_one_problem_per_item_with_its_loc_as_data_and_the_old_rendering(data: dict) -> None:
    error = _error(data)
    if error is None:
        return
    found = pydantic_problems.problems(error)
    assert [p.loc for p in found] == [tuple(item["loc"]) for item in error.errors()]
    assert [p.message for p in found] == [item["msg"] for item in error.errors()]
    assert all(isinstance(p, Problem) for p in found)
    assert pydantic_problems.render(found, empty="settings") == _old_render(error, "settings")
    first = error.errors()[0]
    assert pydantic_problems.first(error, empty="document") == (
        f"{'.'.join(str(part) for part in first['loc']) or 'document'}: {first['msg']}"
    )
    assert SECRET not in pydantic_problems.render(found)


@settings(max_examples=100, deadline=None)
@given(data=DOCS, limit=st.integers(1, 3))
def test_prefix_limit_and_a_callers_wording(data: dict, limit: int) -> None:
    error = _error(data)
    if error is None:
        return
    items = error.errors()
    found = pydantic_problems.problems(error, loc_prefix=("airflow",), limit=limit)
    assert [p.loc for p in found] == [("airflow", *item["loc"]) for item in items[:limit]]
    worded = pydantic_problems.problems(
        error, message=lambda item: None if item["type"] == "missing" else item["type"]
    )
    assert [p.message for p in worded] == [i["type"] for i in items if i["type"] != "missing"]


def test_a_request_error_list_and_a_loc_of_the_callers() -> None:
    items = [
        {"loc": ("body", "name"), "msg": "Field required", "type": "missing"},
        {"loc": ("body",), "msg": "bad body", "type": "x"},
        {"loc": ("query", "n"), "type": "y"},
    ]
    found = pydantic_problems.problems(
        items, loc=lambda item: tuple(p for p in item.get("loc", ()) if p != "body")
    )
    assert pydantic_problems.render(found, empty="body") == (
        "name: Field required; body: bad body; query.n: invalid"
    )


def test_rendering_in_a_callers_words() -> None:
    found = [Problem(message="'x': not a port", loc=("api_port",))]
    assert (
        pydantic_problems.render(found, loc_text=lambda loc: f"ADP_{loc[0]}".upper(), between="=")
        == "ADP_API_PORT='x': not a port"
    )
    assert pydantic_problems.lines([Problem(message="alone")]) == ["alone"]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({}, "count: Field required"),
        ({"count": 1, "items": [{"port": 0, "name": "a"}]},
         "items.0.port: Input should be greater than or equal to 1"),
        ({"count": 1, "bogus": 2}, "bogus: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_examples(data: dict, text: str) -> None:
    error = _error(data)
    assert error is not None
    assert pydantic_problems.render(pydantic_problems.problems(error)) == text
