"""The one place of configuration: images.env over facts.env ->
`<registry>/<repo>:<type>-<version>`, with Layer 1's names for every setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from adp.images.config import RENAMED, ConfigError, ImageConfig, load_config, source_tree


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "images.env"
    path.write_text(text)
    return path


BASE = f"RUNTIME_REPO=adp-runtime\nIMAGE_PYTHON={source_tree().facts.IMAGE_PYTHON}\n"
# The tag's version is facts.env's PLATFORM_VERSION unless the environment overrides it.
ENV = {"PLATFORM_VERSION": "1.2.0"}


def test_tag_with_registry(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "IMAGE_REGISTRY=registry.example.com:5000/data\n" + BASE), ENV
    )
    assert (
        config.tag_for("dbt-runner")
        == "registry.example.com:5000/data/adp-runtime:dbt-runner-1.2.0"
    )


def test_tag_without_registry_is_local(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "IMAGE_REGISTRY=\n" + BASE), ENV)
    assert config.tag_for("spark-runner") == "adp-runtime:spark-runner-1.2.0"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    config = load_config(path, {"PLATFORM_VERSION": "2.0.0", "IMAGE_REGISTRY": "reg.local"})
    assert config.tag_for("python-runner") == "reg.local/adp-runtime:python-runner-2.0.0"


def test_committed_config_is_valid() -> None:
    config = load_config(source_tree().config_file, {})
    assert config.repo and config.version and config.image_python


def test_facts_are_the_defaults(tmp_path: Path) -> None:
    """Version, base image and uv come from facts.env: images.env holds no copy of them."""
    facts = source_tree().facts
    committed = source_tree().config_file.read_text()
    for fact in ("PLATFORM_VERSION", "IMAGE_PYTHON", "UV_VERSION", "PYTHON_VERSION"):
        assert f"\n{fact}=" not in committed, f"images.env repeats facts.env's {fact}"
    config = load_config(write(tmp_path, "RUNTIME_REPO=adp-runtime\nIMAGE_PYTHON=\n"), {})
    assert config.version == facts.PLATFORM_VERSION
    assert config.image_python == facts.IMAGE_PYTHON
    assert config.uv_version == facts.UV_VERSION
    assert config.tag_for("dbt-runner") == f"adp-runtime:dbt-runner-{facts.PLATFORM_VERSION}"
    mirror = "mirror.example.com/library/debian-python:stable"
    assert load_config(write(tmp_path, BASE), {"IMAGE_PYTHON": mirror}).image_python == mirror


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("IMAGE_REGISTRY=https://registry.example.com", "IMAGE_REGISTRY"),
        ("IMAGE_REGISTRY=registry.example.com/", "IMAGE_REGISTRY"),
        ("RUNTIME_REPO=Adp Runtime", "RUNTIME_REPO"),
        ("RUNTIME_TYPO=x", "unknown key RUNTIME_TYPO"),
        ("PACKAGE_INDEX_URL=https://user:secret@mirror.example.com/simple", "NETRC_FILE"),
        ("PACKAGE_INDEX_URL=https://user:secret@mirror.example.com/simple", "INDEX_PASSWORD_FILE"),
        ("PACKAGE_INDEX_URL=mirror.example.com/simple", "PACKAGE_INDEX_URL"),
        ("PACKAGE_INDEX_USERNAME=me@example.com", "PACKAGE_INDEX_USERNAME"),
        ("NETRC_FILE=/home/me/.netrc", "set it in the environment"),
        ("PLATFORM_VERSION=1.0", "facts.env"),
        ("just words", "expected KEY=value"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, line: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(write(tmp_path, BASE + line + "\n"), ENV)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PLATFORM_VERSION": "-1"}, "PLATFORM_VERSION"),
        ({"PLATFORM_VERSION": "1.0/2"}, "PLATFORM_VERSION"),
        ({"IMAGE_PYTHON": ""}, "IMAGE_PYTHON is empty"),
        ({"NETRC_FILE": "/no/such/netrc"}, "NETRC_FILE=/no/such/netrc is not a readable file"),
    ],
)
def test_bad_environment_values_are_named(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(write(tmp_path, BASE), environ)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_names_in_images_env_are_refused_naming_the_new_one(tmp_path: Path, old: str) -> None:
    new = RENAMED[old][0]
    with pytest.raises(ConfigError, match=f"{old} was renamed {new}") as caught:
        load_config(write(tmp_path, BASE + f"{old}=x\n"), ENV)
    assert "images.env:3" in str(caught.value)


@pytest.mark.parametrize("old", sorted(set(RENAMED) - {"UV_DEFAULT_INDEX"}))
def test_old_names_in_the_environment_are_refused_naming_the_new_one(
    tmp_path: Path, old: str
) -> None:
    new = RENAMED[old][0]
    with pytest.raises(ConfigError, match=f"{old} was renamed {new} \\(in the environment\\)"):
        load_config(write(tmp_path, BASE), {**ENV, old: "x"})


def test_uvs_own_index_variable_must_agree_with_package_index_url(tmp_path: Path) -> None:
    """UV_DEFAULT_INDEX in the environment is uv's own variable: it may stay when it names
    the same index, and is refused, pointing at PACKAGE_INDEX_URL, when it does not."""
    mirror = "https://mirror.example.com/pypi/simple"
    path = write(tmp_path, BASE + f"PACKAGE_INDEX_URL={mirror}\n")
    assert load_config(path, {**ENV, "UV_DEFAULT_INDEX": mirror}).package_index_url == mirror
    assert load_config(write(tmp_path, BASE), {**ENV, "UV_DEFAULT_INDEX": ""}).version
    other = "https://builder:s3cret@other.example.com/simple"
    with pytest.raises(ConfigError, match="set PACKAGE_INDEX_URL") as caught:
        load_config(path, {**ENV, "UV_DEFAULT_INDEX": other})
    assert "UV_DEFAULT_INDEX" in str(caught.value) and "s3cret" not in str(caught.value)
    with pytest.raises(ConfigError, match="differs from PACKAGE_INDEX_URL"):
        load_config(write(tmp_path, BASE), {**ENV, "UV_DEFAULT_INDEX": mirror})


def test_index_password_file_needs_the_index_and_a_username(tmp_path: Path) -> None:
    password = tmp_path / "index-password"
    password.write_text("s3cret\n")
    mirror = "PACKAGE_INDEX_URL=https://mirror.example.com/simple\n"
    environ = {**ENV, "INDEX_PASSWORD_FILE": str(password)}
    with pytest.raises(ConfigError, match="PACKAGE_INDEX_URL is empty"):
        load_config(write(tmp_path, BASE), environ)
    with pytest.raises(ConfigError, match="PACKAGE_INDEX_USERNAME is empty"):
        load_config(write(tmp_path, BASE + mirror), environ)
    config = load_config(write(tmp_path, BASE + mirror + "PACKAGE_INDEX_USERNAME=ci\n"), environ)
    assert config.secrets() == [f"id=index_password,src={password}"]
    assert "s3cret" not in repr(config)


def test_netrc_file_becomes_the_netrc_secret(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine mirror.example.com login ci password s3cret\n")
    config = load_config(write(tmp_path, BASE), {**ENV, "NETRC_FILE": str(netrc)})
    assert config.secrets() == [f"id=netrc,src={netrc}"]
    assert load_config(write(tmp_path, BASE), ENV).secrets() == []


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        load_config(tmp_path / "nope.env", {})


@pytest.mark.parametrize("name", ["Dbt", "dbt_runner", "-x", "dbt--runner", ""])
def test_bad_type_names(name: str) -> None:
    config = ImageConfig("", "adp-runtime", "1", "base")
    with pytest.raises(ConfigError):
        config.tag_for(name)


def test_overlong_tag_is_refused() -> None:
    config = ImageConfig("", "adp-runtime", "1" * 120, "base")
    with pytest.raises(ConfigError, match="128"):
        config.tag_for("dbt-runner")


def test_index_mirror_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "PACKAGE_INDEX_URL=https://mirror.example.com/pypi/simple\n")
    assert load_config(path, {}).package_index_url == "https://mirror.example.com/pypi/simple"
