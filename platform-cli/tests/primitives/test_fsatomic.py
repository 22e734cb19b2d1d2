"""adp.fsatomic: the target holds the old content or the new, never a part; no temporary file
is left after a write that returned or raised; the mode is the one asked for; a link at the
target is replaced, never followed. Real files, real processes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from adp import fsatomic
from hypothesis import given, settings
from hypothesis import strategies as st

CONTENTS = st.binary(max_size=4096)
MODES = st.sampled_from([0o600, 0o640, 0o644, 0o444, 0o755])


def _names(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()}


@settings(max_examples=60, deadline=None)
@given(old=st.none() | CONTENTS, new=CONTENTS, mode=MODES)
def test_write_bytes_leaves_the_new_content_the_mode_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory, old: bytes | None, new: bytes, mode: int
) -> None:
    folder = tmp_path_factory.mktemp("w")
    target = folder / "file.json"
    if old is not None:
        target.write_bytes(old)
    fsatomic.write_bytes(target, new, mode=mode)
    assert target.read_bytes() == new
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert _names(folder) == {"file.json"}


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=500))
def test_write_text_is_utf8_without_newline_translation(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    target = tmp_path_factory.mktemp("t") / "a.yaml"
    fsatomic.write_text(target, text)
    assert target.read_bytes() == text.encode("utf-8")


@settings(max_examples=40, deadline=None)
@given(old=CONTENTS, part=CONTENTS)
def test_an_error_mid_write_keeps_the_old_content_and_removes_the_temporary(
    tmp_path_factory: pytest.TempPathFactory, old: bytes, part: bytes
) -> None:
    folder = tmp_path_factory.mktemp("e")
    target = folder / "state.json"
    target.write_bytes(old)
    with pytest.raises(RuntimeError, match="stopped"), fsatomic.open_atomic(target) as out:
        out.write(part)
        raise RuntimeError("stopped half-way")
    assert target.read_bytes() == old
    assert _names(folder) == {"state.json"}


def test_a_failed_rename_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a folder cannot be replaced by a file
    (target / "inside").write_text("x")
    with pytest.raises(OSError):
        fsatomic.write_bytes(target, b"new")
    assert _names(tmp_path) == {"taken"}


def test_mode_none_is_any_new_file_and_an_explicit_mode_ignores_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        fsatomic.write_bytes(tmp_path / "as-any", b"x", mode=None)
        fsatomic.write_bytes(tmp_path / "explicit", b"x", mode=0o644)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "as-any").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "explicit").stat().st_mode) == 0o644


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours")
    target = tmp_path / "target"
    target.symlink_to(elsewhere)
    fsatomic.write_bytes(target, b"mine")
    assert not target.is_symlink()
    assert target.read_bytes() == b"mine"
    assert elsewhere.read_bytes() == b"not yours"


def test_the_temporary_name_starts_with_the_prefix_asked_for(tmp_path: Path) -> None:
    seen: list[str] = []
    with fsatomic.open_atomic(tmp_path / "health.json", temp_prefix=".tmp-") as out:
        seen = sorted(_names(tmp_path))
        out.write(b"{}")
    assert len(seen) == 1 and seen[0].startswith(".tmp-")
    assert _names(tmp_path) == {"health.json"}


def test_readers_see_the_old_content_or_the_new_never_a_part(tmp_path: Path) -> None:
    target = tmp_path / "big"
    one, two = b"1" * 300_000, b"2" * 300_000
    fsatomic.write_bytes(target, one)
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for index in range(40):
            fsatomic.write_bytes(target, two if index % 2 else one)
    finally:
        done.set()
        reader.join()
    assert seen <= {one, two}
    assert _names(tmp_path) == {"big"}


WRITER = """
import sys
from adp import fsatomic
target = sys.argv[1]
print("ready", flush=True)
index = 0
while True:
    fsatomic.write_bytes(target, (b"A" if index % 2 else b"B") * 200_000)
    index += 1
"""


def test_a_killed_writer_leaves_the_old_content_or_the_new(tmp_path: Path) -> None:
    target = tmp_path / "target"
    fsatomic.write_bytes(target, b"A" * 200_000)
    for delay in (0.01, 0.05, 0.1):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE
        )
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        assert target.read_bytes() in {b"A" * 200_000, b"B" * 200_000}


def test_temporary_and_commit_for_a_writer_that_creates_the_file_itself(tmp_path: Path) -> None:
    target = tmp_path / "cache"
    target.write_bytes(b"old")
    with fsatomic.temporary(target) as temp:
        temp.write_bytes(b"new")
        fsatomic.commit(temp, target)
    assert target.read_bytes() == b"new"
    with pytest.raises(RuntimeError), fsatomic.temporary(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("libkrb5 failed")
    assert target.read_bytes() == b"new"
    assert _names(tmp_path) == {"cache"}


@settings(max_examples=40, deadline=None)
@given(old=st.none() | CONTENTS, new=CONTENTS)
def test_replace_at_in_an_open_folder(
    tmp_path_factory: pytest.TempPathFactory, old: bytes | None, new: bytes
) -> None:
    folder = tmp_path_factory.mktemp("at")
    if old is not None:
        (folder / "key").write_bytes(old)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsatomic.replace_at(fd, new, "key", ".adp-tmp-")
    finally:
        os.close(fd)
    assert (folder / "key").read_bytes() == new
    assert _names(folder) == {"key"}


def test_replace_at_replaces_a_link_and_write_temp_at_is_new_and_on_disk(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "key").symlink_to(elsewhere)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsatomic.replace_at(fd, b"mine", "key", ".adp-tmp-")
        name = fsatomic.write_temp_at(fd, b"data", ".adp-tmp-", mode=0o640)
    finally:
        os.close(fd)
    assert not (folder / "key").is_symlink() and (folder / "key").read_bytes() == b"mine"
    assert elsewhere.read_bytes() == b"not yours"
    assert name.startswith(".adp-tmp-") and (folder / name).read_bytes() == b"data"
    assert stat.S_IMODE((folder / name).stat().st_mode) == 0o640
