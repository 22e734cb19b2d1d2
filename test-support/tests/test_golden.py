"""adp_test_helpers.golden: ADP_UPDATE_GOLDEN rewrites golden copies only off CI; under CI it
fails the test (naming both variables), whatever the two values are."""

from __future__ import annotations

import pytest
from adp_test_helpers.golden import VARIABLE, under_ci, update_requested
from hypothesis import given, settings
from hypothesis import strategies as st

values = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\0"), max_size=8)
CI_VALUES = st.sampled_from(["true", "1", "TRUE", "yes", "gitlab"]) | values.filter(
    lambda v: v.strip().lower() not in ("", "0", "false", "no", "off")
)


@settings(max_examples=100, deadline=None)
@given(ci=CI_VALUES, update=values.filter(bool))
def test_under_ci_a_set_update_variable_fails_the_test(ci: str, update: str) -> None:
    env = {"CI": ci, VARIABLE: update}
    assert under_ci(env)
    with pytest.raises(pytest.fail.Exception) as failed:
        update_requested(env)
    assert VARIABLE in str(failed.value) and "CI" in str(failed.value)


@settings(max_examples=100, deadline=None)
@given(ci=st.sampled_from([None, "", "0", "false", "False", "no", "off"]), update=values)
def test_off_ci_only_the_value_1_asks_for_a_rewrite(ci: str | None, update: str) -> None:
    env = {VARIABLE: update} if ci is None else {"CI": ci, VARIABLE: update}
    assert not under_ci(env)
    assert update_requested(env) is (update == "1")


@settings(max_examples=50, deadline=None)
@given(ci=CI_VALUES)
def test_under_ci_without_the_variable_nothing_is_rewritten(ci: str) -> None:
    assert update_requested({"CI": ci}) is False
