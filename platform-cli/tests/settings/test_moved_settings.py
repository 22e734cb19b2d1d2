"""ADP_IMPORT_ISOLATION, DOCKER and ADP_COMPOSE are fields of settings models, read from the
mapping given (or the environment), and ``requested`` keeps its contract: default auto, blank is
auto, an unknown mode is an IsolationError naming the variable and the allowed modes."""

from __future__ import annotations

import pytest
from adp.dev.settings import ComposeSettings
from adp.validation.import_isolation import MODES, IsolationError, requested
from adp.validation.import_settings import ImportCheckSettings
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12))
def test_requested_is_a_known_mode_or_an_isolation_error(value: str) -> None:
    environ = {"ADP_IMPORT_ISOLATION": value}
    if (value.strip() or "auto") in MODES:
        assert requested(environ) == (value.strip() or "auto")
    else:
        with pytest.raises(IsolationError) as raised:
            requested(environ)
        assert "ADP_IMPORT_ISOLATION=" in str(raised.value)
        assert "use auto, namespace or in-process" in str(raised.value)


def test_requested_defaults_to_auto_and_reads_the_given_mapping_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADP_IMPORT_ISOLATION", "in-process")
    assert requested({}) == "auto"
    assert requested({"ADP_IMPORT_ISOLATION": " namespace "}) == "namespace"
    assert requested() == "in-process"


def test_docker_and_compose_are_model_fields() -> None:
    assert ImportCheckSettings.load(environ={"DOCKER": "/opt/docker"}).docker == "/opt/docker"
    assert ImportCheckSettings.load(environ={}).docker is None
    assert ComposeSettings.load(environ={"ADP_COMPOSE": "podman compose"}).compose == (
        "podman compose"
    )
    assert ComposeSettings.load(environ={"ADP_COMPOSE": ""}).compose is None
