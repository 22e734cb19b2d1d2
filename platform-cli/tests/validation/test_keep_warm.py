"""ImportStandby: the import check of a run given it takes a worker of this interpreter started
in advance (Airflow already imported), finds exactly what a fresh worker finds, never reuses one,
replaces one that died or was started in another environment, and is never used for an image
target nor by a run not given it; stopping it (the end of its ``with``) stops its worker. Real
workers, real DAG files."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adp.validation import ImportStandby, ImportTarget, Report, ValidationOptions, validate
from adp.validation.import_check import WarmStats
from adp_test_helpers.dag_corpus import dag


@pytest.fixture
def warm() -> Iterator[ImportStandby]:
    with ImportStandby() as standby:
        yield standby


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_warm_ok.py").write_text(dag("corp_warm_ok"))
    broken = dag("corp_warm_broken", top="import corpus_module_that_is_not_installed")
    (folder / "corp_warm_broken.py").write_text(broken)
    return folder


def options(**extra: object) -> ValidationOptions:
    return ValidationOptions(package="corp", **extra)


def outcome(report: Report) -> tuple[list[tuple[str, str, int, str]], list[tuple[str, str]]]:
    """What a run found, without where it ran (the notes)."""
    findings = [(f.rule, Path(f.path).name, f.line, f.message) for f in report.findings]
    return findings, [(d.dag_id, Path(d.path).name) for d in report.dags]


def waiting_standby(warm: ImportStandby, timeout: float = 10) -> int:
    """The pid of the standby once it is started (in the background)."""
    deadline = time.monotonic() + timeout
    while (pid := warm.stats().standby_pid) is None:
        assert time.monotonic() < deadline, "no standby started"
        time.sleep(0.02)
    return pid


def process_state(pid: int) -> str:
    """R, S, Z (exited, not yet reaped by its Popen), ...; "" once reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def test_warm_runs_find_what_a_fresh_worker_finds(
    tmp_path: Path, dag_folder: Path, warm: ImportStandby
) -> None:
    """Two runs in a row each take a standby (a different one, started before the run) and
    report the same findings and DAGs as a fresh worker; the request's timeout still applies
    although the standby imported Airflow before it knew it."""
    (dag_folder / "corp_warm_slow.py").write_text(
        dag("corp_warm_slow", top="import time\ntime.sleep(60)")
    )
    fresh = validate([str(dag_folder)], options(import_timeout=2))  # not given the standby
    assert (warm.stats().hits, warm.stats().misses) == (0, 0)  # so it never took it
    rules = sorted((rule, name) for rule, name, _, _ in outcome(fresh)[0])
    assert ("ADP020", "corp_warm_broken.py") in rules
    assert ("ADP021", "corp_warm_slow.py") in rules
    assert [dag_id for dag_id, _ in outcome(fresh)[1]] == ["corp_warm_ok"]

    before = warm.stats()
    first_pid = waiting_standby(warm)
    first = validate([str(dag_folder)], options(import_timeout=2), warm)
    after_first = warm.stats()
    second_pid = waiting_standby(warm)
    started = time.time()
    second = validate([str(dag_folder)], options(import_timeout=2), warm)
    after_second = warm.stats()

    assert outcome(first) == outcome(fresh)
    assert outcome(second) == outcome(fresh)
    assert (after_first.hits, after_first.last_pid) == (before.hits + 1, first_pid)
    assert (after_second.hits, after_second.last_pid) == (before.hits + 2, second_pid)
    assert second_pid != first_pid  # one worker, one run
    assert after_second.last_started is not None and after_second.last_started < started
    assert after_second.misses == before.misses
    assert process_state(first_pid) == ""  # done and reaped, not kept for another run


def test_killed_standby_is_replaced(dag_folder: Path, warm: ImportStandby) -> None:
    killed = waiting_standby(warm)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process_state(killed) not in ("Z", ""):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    before = warm.stats()
    report = validate([str(dag_folder)], options(), warm)
    after = warm.stats()
    assert (after.hits, after.misses) == (before.hits, before.misses + 1)
    assert sorted(rule for rule, *_ in outcome(report)[0] if rule.startswith("ADP02")) == [
        "ADP020"
    ]  # the run itself started a worker: no ADP025
    assert [dag_id for dag_id, _ in outcome(report)[1]] == ["corp_warm_ok"]
    assert waiting_standby(warm) not in (killed, None)  # the next standby


def test_standby_of_another_environment_is_not_used(
    tmp_path: Path, warm: ImportStandby, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standby started in another environment (here: without a variable the run passes,
    pass_env) is discarded: the run sees the environment a fresh worker would."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "corp_warm_env.py").write_text(
        dag("corp_warm_env", top="import os\nREGION = os.environ['CORP_WARM_REGION']")
    )
    stale = waiting_standby(warm)
    before = warm.stats()
    monkeypatch.setenv("CORP_WARM_REGION", "eu-west-1")
    report = validate([str(folder)], options(pass_env=["CORP_WARM_REGION"]), warm)
    after = warm.stats()
    assert (after.hits, after.misses) == (before.hits, before.misses + 1)
    assert [f.rule for f in report.findings if f.rule.startswith("ADP02")] == []
    assert [d.dag_id for d in report.dags] == ["corp_warm_env"]
    assert waiting_standby(warm) != stale


def test_image_target_never_takes_the_standby(
    tmp_path: Path, dag_folder: Path, warm: ImportStandby, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image target runs docker (here a docker that records its call and fails) and leaves
    the standby waiting, untouched."""
    calls = tmp_path / "docker-calls"
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexit 3\n')
    docker.chmod(0o755)
    monkeypatch.setenv("DOCKER", str(docker))
    standby = waiting_standby(warm)
    before = warm.stats()
    report = validate([str(dag_folder)], options(target=ImportTarget(image="corp/airflow:1")), warm)
    after: WarmStats = warm.stats()
    assert calls.read_text() == "run\n"
    unavailable = [f for f in report.findings if f.rule == "ADP025"]
    assert len(unavailable) == 1 and "image corp/airflow:1" in unavailable[0].message
    assert (after.hits, after.misses, after.standby_pid) == (before.hits, before.misses, standby)
    assert process_state(standby) not in ("Z", "")


def test_each_standby_is_its_own_and_ends_with_its_with_block(dag_folder: Path) -> None:
    """Two standbys of one process do not share a worker or counters; leaving a standby's
    ``with`` stops its waiting worker (reaped) and a run given it afterwards starts its own
    worker (a miss is not counted: it is stopped), finding the same."""
    with ImportStandby() as one, ImportStandby() as two:
        first, second = waiting_standby(one), waiting_standby(two)
        assert first != second
        validate([str(dag_folder)], options(), one)
        assert (one.stats().hits, two.stats().hits) == (1, 0)
        assert two.stats().standby_pid == second
    deadline = time.monotonic() + 10
    while process_state(second) != "":
        assert time.monotonic() < deadline, "the stopped standby's worker still runs"
        time.sleep(0.02)
    assert one.stats().enabled is False and one.stats().standby_pid is None
    report = validate([str(dag_folder)], options(), one)
    assert one.stats().hits == 1 and one.stats().misses == 0
    assert [d.dag_id for d in report.dags] == ["corp_warm_ok"]
