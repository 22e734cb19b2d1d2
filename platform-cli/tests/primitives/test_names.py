"""adp.names is the one place of the package, environment and image-type rules: the copies that
cannot import it (copier.yml's questions, the Airflow policy) are equal to it, and every check in
adp uses it."""

from __future__ import annotations

import re
from pathlib import Path

from adp import names
from adp.bundles import policy
from adp.generate import spec
from adp.images import config as images_config
from adp.releases import names as store_names
from adp.validation import options
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
COPIER = (ROOT / "copier.yml").read_text(encoding="utf-8")


def _copier_pattern(question: str) -> str:
    """The regex of ``question``'s validator in copier.yml (``regex_search('^...\\Z')``)."""
    block = COPIER.split(f"\n{question}:\n", 1)[1].split("\n\n", 1)[0]
    found = re.findall(rf"{question} \| regex_search\('(.*?)'\)", block)
    assert len(found) == 1, f"copier.yml: {question} has {len(found)} regex validators"
    return found[0].replace("\\\\", "\\")  # YAML folded text: Jinja's '\\Z' is \Z


def _copier_max(question: str) -> int:
    block = COPIER.split(f"\n{question}:\n", 1)[1].split("\n\n", 1)[0]
    return int(re.search(rf"{question} \| length > (\d+)", block)[1])


def test_copier_writes_the_package_and_datakit_rules_of_adp_names() -> None:
    assert _copier_pattern("package_name") == rf"^{names.PACKAGE_PATTERN}\Z"
    assert _copier_pattern("datakit_name") == rf"^{names.TYPE_NAME_PATTERN}\Z"
    assert _copier_max("package_name") <= names.PACKAGE_MAX


def test_every_check_in_adp_uses_the_one_rule() -> None:
    assert store_names.PACKAGE_RE is names.PACKAGE_RE
    assert store_names.ENV_RE is names.ENV_RE
    assert options.PACKAGE_RE is names.PACKAGE_RE
    assert spec.PACKAGE_RE is names.PACKAGE_RE
    assert images_config.TYPE_NAME_RE is names.TYPE_NAME_RE
    # the policy copies it (it imports only Airflow and the standard library)
    assert policy._PACKAGE.pattern == names.PACKAGE_RE.pattern


NAMEISH = st.text(alphabet="abcxyz019_-A\n .", max_size=70)


@settings(max_examples=300, deadline=None)
@given(name=NAMEISH)
def test_a_package_name_the_template_gives_is_one_the_platform_takes(name: str) -> None:
    by_template = bool(re.search(_copier_pattern("package_name"), name))
    by_template = by_template and len(name) <= _copier_max("package_name")
    if by_template:
        assert bool(names.PACKAGE_RE.match(name))
        assert store_names.check_package(name) == name
    if bool(names.PACKAGE_RE.match(name)) and "\n" not in name:
        assert re.fullmatch(names.PACKAGE_PATTERN, name)


HISTORICAL = {  # the patterns each copy had before issue 27: the one place changed no answer
    "TYPE_NAME_RE": r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
    "ENV_RE": r"^[a-z][a-z0-9-]{0,31}$",
    "PACKAGE_RE": r"^[a-z][a-z0-9_]{0,63}$",
}


@settings(max_examples=300, deadline=None)
@given(name=NAMEISH)
def test_the_rules_answer_as_their_copies_did(name: str) -> None:
    for attribute, pattern in HISTORICAL.items():
        assert bool(getattr(names, attribute).match(name)) == bool(re.match(pattern, name))


def test_the_messages_say_the_rule() -> None:
    for check, bad in ((store_names.check_package, "Sales"), (store_names.check_env, "Prod")):
        try:
            check(bad)
        except store_names.InvalidName as error:
            assert names.PACKAGE_RULE in str(error) or names.ENV_RULE in str(error)
        else:
            raise AssertionError(f"{bad!r} was accepted")
