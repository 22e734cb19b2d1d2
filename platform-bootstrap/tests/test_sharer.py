"""The sharer as a real process against a real KDC: what it shares, when, and what it says."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from adp_test_servers.kdc import Realm
from adp_test_servers.sharer import SharerProcess
from adp_test_servers.system import as_uid
from kerberos_ticket_sharer.ticket_cache import judge, parse

StartSharer = Callable[..., SharerProcess]


def shared_principal(target: Path) -> str | None:
    try:
        return str(parse(target.read_bytes()).principal)
    except (FileNotFoundError, ValueError):
        return None


def kvno_as_airflow(realm: Realm, cache: Path) -> subprocess.CompletedProcess[str]:
    """Use the shared copy the way a datakit does: as uid 50000, read-only."""
    return subprocess.run(
        as_uid(50000, 0, "kvno", "host/localhost"),
        env=realm.env(f"FILE:{cache}"),
        capture_output=True,
        text=True,
    )


def share_from_host(
    realm: Realm,
    workdir: Path,
    start_sharer: StartSharer,
    *,
    lifetime: str | None = None,
    renewable: str | None = None,
    **settings: str,
) -> tuple[Path, SharerProcess]:
    """kinit alice into a FILE cache on the "host", start a sharer on it with `settings`,
    wait for the shared copy; return the host cache and the sharer."""
    host_cache = workdir / "krb5cc_1000"
    realm.kinit("alice@ADP.TEST", f"FILE:{host_cache}", lifetime=lifetime, renewable=renewable)
    sharer = start_sharer(source_ccache=f"FILE:{host_cache}", **settings)
    sharer.wait_for(sharer.target.exists, what="the shared copy")
    return host_cache, sharer


def test_shares_a_valid_file_cache_and_the_copy_authenticates(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache, sharer = share_from_host(
        realm, workdir, start_sharer, lifetime="1h", renewable="2h"
    )

    assert sharer.target.read_bytes() == host_cache.read_bytes()
    st = sharer.target.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (50000, 0, 0o400)
    kvno = kvno_as_airflow(realm, sharer.target)
    assert kvno.returncode == 0, kvno.stderr
    sharer.wait_for_log(
        "shared ticket for alice@ADP.TEST (copied from host): valid until"
    )  # the file is written before the line is logged

    sharer.wait_for(lambda: sharer.command("healthcheck").returncode == 0, what="healthy")
    status = sharer.command("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "healthy: sharing a valid ticket for alice@ADP.TEST" in status.stdout
    assert "principal:   alice@ADP.TEST" in status.stdout
    assert "expires:" in status.stdout and "last share:" in status.stdout
    data = json.loads(sharer.command("status", "--json").stdout)
    assert data["healthy"] and data["principal"] == "alice@ADP.TEST"
    assert data["seconds_since_last_share"] is not None and data["seconds_since_last_share"] < 60
    assert data["renew_till"] > data["expires"]


def test_without_a_ticket_nothing_is_shared_and_the_user_is_told_what_to_run(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache = workdir / "krb5cc_1000"
    sharer = start_sharer(source_ccache=f"FILE:{host_cache}")
    sharer.wait_for_log("not found")
    assert "run on the host: kinit <your-user>@ADP.TEST" in sharer.log()
    assert not sharer.target.exists()
    health = sharer.command("healthcheck")
    assert health.returncode == 1
    assert "UNHEALTHY" in health.stdout and "kinit" in health.stdout
    status = json.loads(sharer.command("status", "--json").stdout)
    assert status["healthy"] is False and status["shared_ticket"] == "missing"
    assert "kinit" in status["hint"]

    # The moment the user follows the advice, the ticket is shared.
    realm.kinit("alice@ADP.TEST", f"FILE:{host_cache}")
    sharer.wait_for(lambda: shared_principal(sharer.target) == "alice@ADP.TEST", what="share")
    sharer.wait_for_log("source is usable again")


def test_a_new_kinit_on_the_host_is_shared_within_seconds(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache = workdir / "krb5cc_1000"
    realm.kinit("alice@ADP.TEST", f"FILE:{host_cache}")
    sharer = start_sharer(source_ccache=f"FILE:{host_cache}", poll_interval="1")
    sharer.wait_for(lambda: shared_principal(sharer.target) == "alice@ADP.TEST", what="alice")

    latencies = []
    for principal in ("bob@ADP.TEST", "alice@ADP.TEST", "bob@ADP.TEST"):
        time.sleep(1.1)  # a new authtime, so this is visibly a new login
        started = time.monotonic()
        realm.kinit(principal, f"FILE:{host_cache}")
        latency = time.monotonic() - started
        latency += sharer.wait_for(
            lambda p=principal: shared_principal(sharer.target) == p, timeout=10, what=principal
        )
        latencies.append(latency)
    print(f"kinit -> shared copy latency with a 1 s poll: {[round(x, 2) for x in latencies]} s")
    assert sharer.target.read_bytes() == host_cache.read_bytes()


@pytest.mark.slow
def test_the_shared_copy_is_renewed_while_renewable_and_outlives_the_host_ticket(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache = workdir / "krb5cc_1000"
    realm.kinit("alice@ADP.TEST", f"FILE:{host_cache}", lifetime="12s", renewable="1h")
    host_tgt = parse(host_cache.read_bytes()).tgt()
    assert host_tgt is not None and host_tgt.renewable
    sharer = start_sharer(source_ccache=f"FILE:{host_cache}", renew_margin="3600")
    sharer.wait_for(sharer.target.exists, what="first share")
    # Renewal starts when half the 12 s lifetime is left.
    sharer.wait_for_log("(renewed)", timeout=15)
    renewed = parse(sharer.target.read_bytes()).tgt()
    assert renewed is not None
    assert renewed.authtime == host_tgt.authtime and renewed.endtime > host_tgt.endtime

    # The host's ticket expires; the renewed copy still authenticates, and the host's
    # stale cache does not overwrite it.
    time.sleep(max(0.0, host_tgt.endtime - time.time()) + 1)
    assert judge(host_cache.read_bytes(), time.time()).code == "expired"
    kvno = kvno_as_airflow(realm, sharer.target)
    assert kvno.returncode == 0, kvno.stderr + sharer.log()
    assert sharer.command("healthcheck").returncode == 0


def test_a_destroyed_host_ticket_removes_the_shared_copy(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache, sharer = share_from_host(
        realm, workdir, start_sharer, lifetime="1h", renewable="2h"
    )
    assert realm.run("kdestroy", ccache=f"FILE:{host_cache}").returncode == 0
    sharer.wait_for(lambda: not sharer.target.exists(), what="removal of the shared copy")
    # The file goes before the line is logged: wait for the line, not for the file.
    sharer.wait_for_log("is gone (kdestroy?): removed the shared ticket")
    sharer.wait_for_log("run on the host: kinit alice@ADP.TEST")
    kvno = kvno_as_airflow(realm, sharer.target)
    assert kvno.returncode != 0 and "No credentials cache found" in kvno.stderr
    health = sharer.command("healthcheck")
    assert health.returncode == 1 and "kinit alice@ADP.TEST" in health.stdout


def test_a_destroyed_host_ticket_can_leave_the_copy_to_expire(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache, sharer = share_from_host(
        realm, workdir, start_sharer, lifetime="20s", renewable="1h", on_source_gone="keep"
    )
    shared = sharer.target.read_bytes()
    realm.run("kdestroy", ccache=f"FILE:{host_cache}")
    sharer.wait_for_log("not found")
    time.sleep(12)  # past the point where a live host ticket would have been renewed
    assert sharer.target.read_bytes() == shared, "a destroyed login must not be renewed"
    assert "(renewed)" not in sharer.log()


def test_an_expired_ticket_is_removed_not_refreshed_and_the_failure_is_clear(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    """No expired ticket is shared: the copy goes when it expires, and status says why."""
    host_cache, sharer = share_from_host(realm, workdir, start_sharer, lifetime="5s")
    # The file goes before the line is logged: wait for the line, not for the file.
    sharer.wait_for_log("shared ticket for alice@ADP.TEST expired at", timeout=15)
    assert "removed it from the shared volume" in sharer.log()
    assert "run on the host: kinit alice@ADP.TEST" in sharer.log()
    assert not sharer.target.exists(), "an expired ticket stayed in the shared volume"
    time.sleep(3)  # past the realm's 2 s clock skew allowance
    assert not sharer.target.exists(), "an expired ticket was shared again"
    kvno = kvno_as_airflow(realm, sharer.target)
    assert kvno.returncode != 0 and "No credentials cache found" in kvno.stderr, kvno.stderr
    health = sharer.command("healthcheck")
    assert health.returncode == 1
    assert "no ticket shared" in health.stdout and "expired" in health.stdout
    assert "kinit alice@ADP.TEST" in health.stdout

    # A sharer started on an already expired cache shares nothing.
    fresh = start_sharer(source_ccache=f"FILE:{host_cache}")
    fresh.wait_for_log("not sharing")
    assert "expired at" in fresh.log()
    assert not fresh.target.exists()


def test_a_dir_collection_is_followed_through_its_primary_cache(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    collection = workdir / "krb5cc_dir"
    name = f"DIR:{collection}"
    realm.kinit("alice@ADP.TEST", name, via_env=True)
    sharer = start_sharer(source_ccache=name)
    sharer.wait_for(lambda: shared_principal(sharer.target) == "alice@ADP.TEST", what="alice")

    time.sleep(1.1)
    realm.kinit("bob@ADP.TEST", name, via_env=True)  # a second cache, now the primary one
    assert len(list(collection.glob("tkt*"))) == 2
    sharer.wait_for(lambda: shared_principal(sharer.target) == "bob@ADP.TEST", what="bob")

    switch = realm.run("kswitch", "-p", "alice@ADP.TEST", ccache=name)
    assert switch.returncode == 0, switch.stderr
    sharer.wait_for(lambda: shared_principal(sharer.target) == "alice@ADP.TEST", what="switch")
    assert kvno_as_airflow(realm, sharer.target).returncode == 0


def test_keytab_mode_keeps_a_ticket_without_any_host_cache(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    keytab = realm.user_keytab("alice@ADP.TEST", workdir / "alice.keytab")
    sharer = start_sharer(
        keytab=str(keytab), keytab_principal="alice@ADP.TEST", keytab_lifetime="12s"
    )
    sharer.wait_for(sharer.target.exists, what="share from keytab")
    sharer.wait_for_log(
        "shared ticket for alice@ADP.TEST (from keytab)"
    )  # the file is written before the line is logged
    first = parse(sharer.target.read_bytes()).tgt()
    assert first is not None
    assert kvno_as_airflow(realm, sharer.target).returncode == 0
    # Before half the lifetime is left, it gets a fresh ticket from the keytab.
    sharer.wait_for(
        lambda: (parse(sharer.target.read_bytes()).tgt() or first).endtime > first.endtime,
        timeout=15,
        what="a refreshed keytab ticket",
    )


def test_keytab_mode_reports_a_bad_keytab(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    sharer = start_sharer(keytab=str(workdir / "nope.keytab"), keytab_principal="alice@ADP.TEST")
    sharer.wait_for_log("missing or unreadable")
    health = sharer.command("healthcheck")
    assert health.returncode == 1 and "SHARER_KEYTAB" in health.stdout


def test_a_fifo_as_the_source_is_refused_and_the_loop_keeps_running(
    workdir: Path, start_sharer: StartSharer
) -> None:
    fifo = workdir / "krb5cc_fifo"
    os.mkfifo(fifo)
    sharer = start_sharer(source_ccache=f"FILE:{fifo}")
    sharer.wait_for_log("is not a regular file")
    time.sleep(3)  # several polls later, still alive and still saying why
    assert sharer.process.poll() is None
    health = sharer.command("healthcheck")
    assert health.returncode == 1 and "not running" not in health.stdout, health.stdout
    assert not sharer.target.exists()


def test_kcm_and_keyring_caches_are_refused_with_the_export_command(
    realm: Realm, start_sharer: StartSharer
) -> None:
    sharer = start_sharer(source_ccache="KEYRING:persistent:1000")
    sharer.wait_for_log("adp kerberos export")
    assert not sharer.target.exists()


def test_bad_settings_exit_2_naming_the_variable(realm: Realm, start_sharer: StartSharer) -> None:
    sharer = start_sharer(source_ccache="FILE:/nonexistent")
    bad = dict(sharer.env, SHARER_POLL_INTERVAL="soon")
    result = subprocess.run(
        ["python3", "-m", "kerberos_ticket_sharer", "run"],
        env=bad,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "SHARER_POLL_INTERVAL='soon' is not a number" in result.stderr


def test_logs_and_state_hold_no_secrets(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    _, sharer = share_from_host(realm, workdir, start_sharer)
    time.sleep(1)
    state = Path(sharer.env["SHARER_STATE_DIR"], "state.json").read_text()
    for text in (sharer.log(), state, sharer.command("status", "--json").stdout):
        assert realm.passwords["alice@ADP.TEST"] not in text
        assert text.isascii(), "ticket bytes leaked into a log or the state file"
    assert set(json.loads(state)) <= {
        "pid",
        "heartbeat",
        "started",
        "mode",
        "source",
        "target",
        "principal",
        "expires",
        "last_share",
        "last_share_origin",
        "shares",
        "problem",
    }


def test_a_restarted_sharer_keeps_the_copy_and_reports_its_age(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    host_cache, first = share_from_host(realm, workdir, start_sharer)
    first.stop()
    assert "stopping on signal 15; the shared copy stays in place" in first.log()
    mtime = first.target.stat().st_mtime_ns

    again = start_sharer(
        source_ccache=f"FILE:{host_cache}",
        target_dir=str(first.target.parent),
        state_dir=first.env["SHARER_STATE_DIR"],
    )
    again.wait_for(lambda: again.command("healthcheck").returncode == 0, what="healthy")
    assert first.target.stat().st_mtime_ns == mtime, "an unchanged ticket was rewritten"
    status = json.loads(again.command("status", "--json").stdout)
    assert status["last_share_origin"] in ("before the sharer restarted", "copied from host")
    assert status["seconds_since_last_share"] is not None


def test_a_shared_copy_deleted_behind_its_back_is_shared_again(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    _, sharer = share_from_host(realm, workdir, start_sharer)
    sharer.target.unlink()
    sharer.wait_for(sharer.target.exists, what="share again")
    sharer.wait_for_log("vanished; sharing again")  # the file is written before the line is logged


def test_a_postdated_host_ticket_is_not_shared_and_the_loop_keeps_running(
    realm: Realm, workdir: Path, start_sharer: StartSharer
) -> None:
    """`kinit -s` on the host: nothing is shared, the poll keeps going, status says why."""
    host_cache = workdir / "krb5cc_postdated"
    subprocess.run(
        ["kinit", "-s", "10m", "-l", "1h", "-c", f"FILE:{host_cache}", "alice@ADP.TEST"],
        input=realm.passwords["alice@ADP.TEST"] + "\n",
        env=realm.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    sharer = start_sharer(source_ccache=f"FILE:{host_cache}")
    sharer.wait_for_log("flagged invalid (postdated?)")
    time.sleep(2)  # several polls
    assert sharer.process.poll() is None, sharer.log()
    assert not sharer.target.exists()
    assert "Traceback" not in sharer.log()
    health = sharer.command("healthcheck")
    assert health.returncode == 1 and "postdated" in health.stdout
    # Once a usable ticket is there, it is shared: the loop was alive all along.
    realm.kinit("alice@ADP.TEST", f"FILE:{host_cache}", lifetime="1h")
    sharer.wait_for(sharer.target.exists, what="the shared copy")
