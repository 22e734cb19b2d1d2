"""Each component's settings model: its variables are read, its defaults hold, a bad value
is named by its variable, and the flags of `adp sync` are the model's (help, variable, default)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from adp.airflow_access import AirflowAccess, airflow_token, airflow_url
from adp.bundles.config import CLASSPATH
from adp.cli.errors import option_name
from adp.cli.sync import sync_command
from adp.images.config import RENAMED, ConfigError, load_config, source_tree
from adp.images.variables import RETIRED_FIELDS, ImageVariables
from adp.sync.settings import HealthSettings, SettingsError, SyncSettings
from adp.ui.settings import PageSettings, internal_airflow_url, read_settings
from typer.testing import CliRunner

SYNC = {"ADP_RELEASE_STORE": "/srv/store", "ADP_ENV": "dev", "ADP_SYNC_DIR": "/srv/sync"}


# -- the sync agent -------------------------------------------------------------------------
def test_sync_reads_its_variables_and_keeps_its_defaults() -> None:
    settings = SyncSettings.load(environ={**SYNC, "ADP_SYNC_KEEP": "9"})
    assert (settings.store, settings.env, settings.sync_dir) == (
        "/srv/store",
        "dev",
        Path("/srv/sync"),
    )
    assert settings.keep == 9
    assert (settings.interval, settings.health_host, settings.health_port) == (
        30.0,
        "127.0.0.1",
        None,
    )
    assert settings.record_snapshots is True and settings.endpoint_url is None


def test_sync_flags_win_over_variables() -> None:
    environ = {**SYNC, "ADP_SYNC_KEEP": "9", "AWS_ENDPOINT_URL": "http://s3.local"}
    settings = SyncSettings.load({"keep": 2, "record_snapshots": False}, environ=environ)
    assert settings.keep == 2 and settings.record_snapshots is False
    assert settings.endpoint_url == "http://s3.local"


def test_sync_bad_values_are_named_by_their_variables_at_once() -> None:
    environ = {
        **SYNC,
        "ADP_SYNC_INTERVAL": "soon",
        "ADP_ENV": "Prod!",
        "ADP_SYNC_HEALTH_PORT": "70000",
    }
    with pytest.raises(SettingsError) as caught:
        SyncSettings.load(environ=environ)
    assert caught.value.exit_code == 2
    named = {p.loc[0]: p for p in caught.value.problems}
    assert set(named) == {"ADP_SYNC_INTERVAL", "ADP_ENV", "ADP_SYNC_HEALTH_PORT"}
    assert named["ADP_ENV"].message.startswith("environment 'Prod!'")
    assert named["ADP_SYNC_INTERVAL"].fix == "set ADP_SYNC_INTERVAL: seconds between syncs"


def test_sync_missing_settings_name_flag_and_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        SyncSettings.load(
            {"store": "/srv/store"}, environ={}, flag=lambda f: "--" + f.replace("_", "-")
        )
    fixes = sorted(p.fix or "" for p in caught.value.problems)
    assert [fix.split(":")[0] for fix in fixes] == [
        "give --env or ADP_ENV",
        "give --sync-dir or ADP_SYNC_DIR",
    ]


def test_the_health_check_needs_only_the_sync_dir() -> None:
    settings = HealthSettings.load(
        environ={"ADP_SYNC_DIR": "/srv/sync", "ADP_SYNC_HEALTH_MAX_AGE": "12"}
    )
    assert settings.sync_dir == Path("/srv/sync") and settings.health_max_age == 12
    with pytest.raises(SettingsError) as caught:
        HealthSettings.load(environ={"ADP_SYNC_DIR": "/srv/sync", "ADP_SYNC_HEALTH_MAX_AGE": "-1"})
    assert [p.loc for p in caught.value.problems] == [("ADP_SYNC_HEALTH_MAX_AGE",)]


def test_adp_sync_flags_take_help_variable_and_default_from_the_model() -> None:
    app = typer.Typer()
    app.command(context_settings={"allow_extra_args": True})(sync_command)
    answer = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert answer.exit_code == 0, answer.output
    text = " ".join(answer.output.split())
    for field in SyncSettings.model_fields:
        if field == "record_snapshots":  # a negative flag: --no-record-snapshots
            assert "ADP_SYNC_RECORD_SNAPSHOTS=false" in text
            continue
        assert "--" + field.replace("_", "-") in text
        assert SyncSettings.help(field) in text, field


# -- the DAG sources page ---------------------------------------------------------------------
def test_page_reads_its_variables_and_keeps_its_defaults(tmp_path: Path) -> None:
    assert internal_airflow_url({"ADP_UI_AIRFLOW_URL": "http://api-server:8080/"}) == (
        "http://api-server:8080"
    )
    assert internal_airflow_url({}).startswith("http://127.0.0.1:")
    page = PageSettings.load(environ={"ADP_REPOS_CONFIG": str(tmp_path / "airflow-repos.yaml")})
    assert page.config == tmp_path / "airflow-repos.yaml" and page.airflow_url is None
    assert PageSettings.load(environ={}).config is None


def test_page_names_the_variable_of_a_bad_repos_config(tmp_path: Path) -> None:
    missing = tmp_path / "airflow-repos.yaml"
    settings = read_settings({"ADP_REPOS_CONFIG": str(missing)}, bundle_setting="")
    assert settings.config is None
    assert any(note.startswith(f"ADP_REPOS_CONFIG={missing}: ") for note in settings.notes)


def test_page_reads_the_bundles_it_is_given(tmp_path: Path) -> None:
    bundles = [{"name": "b", "classpath": CLASSPATH, "kwargs": {"env": "qa", "store": "/srv/s"}}]
    settings = read_settings({}, bundle_setting=json.dumps(bundles))
    assert [(e.env, e.store, e.bundle) for e in settings.environments] == [("qa", "/srv/s", "b")]


# -- the runtime images -----------------------------------------------------------------------
BASE = f"RUNTIME_REPO=adp-runtime\nIMAGE_PYTHON={source_tree().facts.IMAGE_PYTHON}\n"


def test_images_variables_override_the_file_even_empty(tmp_path: Path) -> None:
    path = tmp_path / "images.env"
    path.write_text("IMAGE_REGISTRY=registry.example.com\n" + BASE)
    assert load_config(path, {}).registry == "registry.example.com"  # unset: the file's
    assert load_config(path, {"IMAGE_REGISTRY": ""}).registry == ""  # set empty: cleared
    assert load_config(path, {"IMAGE_REGISTRY": " reg.local "}).registry == "reg.local"


def test_images_bad_variable_is_named(tmp_path: Path) -> None:
    path = tmp_path / "images.env"
    path.write_text(BASE)
    with pytest.raises(ConfigError, match="PLATFORM_VERSION="):
        load_config(path, {"PLATFORM_VERSION": "-bad"})


def test_images_retired_variables_are_the_renamed_ones() -> None:
    retired = {ImageVariables.variable(field) for field in RETIRED_FIELDS}
    assert retired == set(RENAMED) - {"UV_DEFAULT_INDEX"}
    for old in retired:
        assert ImageVariables.load(environ={old: ""}).retired() == [old]


def test_airflow_constraints_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = source_tree()
    monkeypatch.setenv("AIRFLOW_CONSTRAINTS", "elsewhere/constraints.txt")
    assert tree.airflow_constraints() == tree.root / "elsewhere/constraints.txt"
    monkeypatch.delenv("AIRFLOW_CONSTRAINTS")
    assert tree.airflow_constraints() == tree.root / tree.facts.AIRFLOW_CONSTRAINTS


# -- the Airflow asked to re-parse ----------------------------------------------------------
def test_airflow_access_reads_url_and_token_and_never_shows_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADP_AIRFLOW_URL", "http://airflow:8080")
    monkeypatch.setenv("ADP_AIRFLOW_TOKEN", "tok-3f9a")
    assert airflow_url() == "http://airflow:8080" and airflow_token() == "tok-3f9a"
    access = AirflowAccess.load()
    assert "tok-3f9a" not in repr(access) and "tok-3f9a" not in str(access.model_dump())
    monkeypatch.delenv("ADP_AIRFLOW_TOKEN")
    monkeypatch.delenv("ADP_AIRFLOW_URL")
    assert airflow_url() is None and airflow_token() is None


def test_the_sync_settings_table_of_the_docs_is_the_model() -> None:
    """docs/dag-sync.md's table names each option with the model's variable, every field once."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "dag-sync.md"
    rows = re.findall(r"^\| `(--[a-z-]+)` \| `?([A-Z_]*)[=a-z`]* \|", doc.read_text(), re.M)
    table = {option: variable for option, variable in rows}
    for field in SyncSettings.model_fields:
        option = "--no-record-snapshots" if field == "record_snapshots" else option_name(field)
        assert table.get(option) == SyncSettings.variable(field), (option, table.get(option))
