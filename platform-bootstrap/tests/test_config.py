"""The sharer's settings: a ticket is readable by its owner, never by every user, and by the
owner's group only when the user says so (SHARER_ALLOW_GROUP_READ)."""

from __future__ import annotations

import pytest
from kerberos_ticket_sharer import config

BASE = {"SHARER_SOURCE_CCACHE": "FILE:/tmp/krb5cc_1000"}


@pytest.mark.parametrize("mode", ["0400", "0600", "400"])
def test_owner_only_modes_are_accepted(mode: str) -> None:
    assert config.from_env({**BASE, "SHARER_FILE_MODE": mode}).file_mode == int(mode, 8)


def test_the_default_is_owner_read_only() -> None:
    assert config.from_env(BASE).file_mode == 0o400


@pytest.mark.parametrize("mode", ["0644", "0604", "0404", "0777"])
def test_world_readable_modes_are_refused_even_with_the_group_override(mode: str) -> None:
    for allow in ("", "yes"):
        env = {**BASE, "SHARER_FILE_MODE": mode, "SHARER_ALLOW_GROUP_READ": allow}
        with pytest.raises(config.ConfigError, match=rf"SHARER_FILE_MODE={mode} lets every user"):
            config.from_env(env)


def test_group_readable_needs_the_explicit_override() -> None:
    with pytest.raises(config.ConfigError, match="SHARER_ALLOW_GROUP_READ=yes"):
        config.from_env({**BASE, "SHARER_FILE_MODE": "0440"})
    allowed = {**BASE, "SHARER_FILE_MODE": "0440", "SHARER_ALLOW_GROUP_READ": "yes"}
    assert config.from_env(allowed).file_mode == 0o440


@pytest.mark.parametrize("mode", ["0200", "04400", "0000"])
def test_modes_the_owner_cannot_read_are_refused(mode: str) -> None:
    with pytest.raises(config.ConfigError, match="not a file mode the owner can read"):
        config.from_env({**BASE, "SHARER_FILE_MODE": mode})


def test_a_bad_override_value_is_refused() -> None:
    with pytest.raises(config.ConfigError, match="SHARER_ALLOW_GROUP_READ='maybe'"):
        config.from_env({**BASE, "SHARER_ALLOW_GROUP_READ": "maybe"})
