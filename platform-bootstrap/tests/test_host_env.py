"""bin/host-kerberos-env: which cache `make platform-start` shares, and what it mounts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bin" / "host-kerberos-env"


def host_env(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KRB5_CONFIG": "/nonexistent"}
    return subprocess.run(
        [str(SCRIPT), *args], env={**base, **env}, capture_output=True, text=True, check=False
    )


def settings(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()[1:]  # after "export"
    return dict(word.split("=", 1) for word in words)


@pytest.mark.parametrize(
    ("name", "cache", "directory"),
    [
        ("FILE:/tmp/krb5cc_1000", "FILE:/tmp/krb5cc_1000", "/tmp"),
        ("/tmp/krb5cc_42", "FILE:/tmp/krb5cc_42", "/tmp"),
    ],
)
def test_file_caches_mount_their_directory(
    tmp_path: Path, name: str, cache: str, directory: str
) -> None:
    got = settings(host_env(tmp_path, KRB5CCNAME=name))
    assert got["HOST_KRB5CCNAME"] == cache and got["HOST_KRB5_CACHE_DIR"] == directory


def test_dir_collections_mount_the_collection_and_it_is_created_for_the_user(
    tmp_path: Path,
) -> None:
    collection = tmp_path / "krb5cc"
    got = settings(host_env(tmp_path, KRB5CCNAME=f"DIR:{collection}"))
    assert got["HOST_KRB5_CACHE_DIR"] == str(collection)
    assert collection.is_dir() and collection.stat().st_mode & 0o777 == 0o700
    got = settings(host_env(tmp_path, KRB5CCNAME=f"DIR::{collection}/tktABC"))
    assert got["HOST_KRB5_CACHE_DIR"] == str(collection)


def test_default_ccache_name_from_krb5_conf(tmp_path: Path) -> None:
    conf = tmp_path / "krb5.conf"
    conf.write_text("[libdefaults]\n  default_ccache_name = FILE:/var/tmp/krb5cc_%{uid}\n")
    got = settings(host_env(tmp_path, HOST_KRB5_CONFIG=str(conf)))
    assert got["HOST_KRB5CCNAME"] == f"FILE:/var/tmp/krb5cc_{os.getuid()}"
    assert got["HOST_KRB5_CONFIG"] == str(conf)


def test_kcm_without_an_export_fails_with_what_to_run(tmp_path: Path) -> None:
    result = host_env(tmp_path, KRB5CCNAME="KCM:1000")
    assert result.returncode == 1
    assert "adp kerberos export" in result.stderr and "kinit" in result.stderr
    assert result.stdout == ""
    # platform-stop and platform-status must still work.
    assert settings(host_env(tmp_path, "--lenient", KRB5CCNAME="KCM:1000"))


def test_kcm_with_an_export_shares_the_export(tmp_path: Path) -> None:
    export = tmp_path / ".cache" / "adp" / "kerberos" / "krb5cc"
    export.parent.mkdir(parents=True)
    export.write_bytes(b"")
    got = settings(host_env(tmp_path, KRB5CCNAME="KEYRING:persistent:1000"))
    assert got["HOST_KRB5CCNAME"] == f"FILE:{export}"
    assert got["HOST_KRB5_CACHE_DIR"] == str(export.parent)


def test_missing_krb5_conf_falls_back_to_dev_null_with_a_warning(tmp_path: Path) -> None:
    result = host_env(tmp_path, KRB5CCNAME="FILE:/tmp/x")
    assert settings(result)["HOST_KRB5_CONFIG"] == "/dev/null"
    assert "cannot renew" in result.stderr or "not renew" in result.stderr
