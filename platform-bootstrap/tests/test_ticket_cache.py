"""The cache parser and the share/renew decisions, fed with caches written by real `kinit`."""

from __future__ import annotations

import struct
import subprocess
import time
from pathlib import Path

import pytest
from adp_test_servers.kdc import Realm
from kerberos_ticket_sharer.sharer import renew_due, should_share
from kerberos_ticket_sharer.ticket_cache import CacheFormatError, judge, parse


@pytest.fixture
def alice_cache(realm: Realm, workdir: Path) -> bytes:
    cache = workdir / "alice.ccache"
    realm.kinit("alice@ADP.TEST", f"FILE:{cache}", lifetime="1h", renewable="2h")
    return cache.read_bytes()


def test_parses_principal_and_tgt_of_a_real_cache(alice_cache: bytes) -> None:
    cache = parse(alice_cache)
    assert cache.version == 4
    assert str(cache.principal) == "alice@ADP.TEST"
    tgt = cache.tgt()
    assert tgt is not None
    assert str(tgt.server) == "krbtgt/ADP.TEST@ADP.TEST"
    assert 3590 <= tgt.endtime - tgt.starttime <= 3600
    assert tgt.renewable
    assert 7190 <= tgt.renew_till - tgt.starttime <= 7200


def test_service_tickets_and_config_entries_are_not_taken_for_the_tgt(
    realm: Realm, workdir: Path
) -> None:
    name = f"FILE:{workdir / 'c'}"
    realm.kinit("alice@ADP.TEST", name)
    assert realm.run("kvno", "host/localhost", ccache=name).returncode == 0
    cache = parse((workdir / "c").read_bytes())
    servers = {str(c.server) for c in cache.credentials}
    assert "host/localhost@ADP.TEST" in servers
    assert any(c.is_config for c in cache.credentials)
    tgt = cache.tgt()
    assert tgt is not None and tgt.server.components == ("krbtgt", "ADP.TEST")


def test_valid_expiring_and_expired_verdicts(alice_cache: bytes) -> None:
    tgt = parse(alice_cache).tgt()
    assert tgt is not None
    ok = judge(alice_cache, tgt.starttime + 10, min_remaining=60)
    assert ok.shareable and ok.code == "ok" and ok.principal == "alice@ADP.TEST"
    expiring = judge(alice_cache, tgt.endtime - 30, min_remaining=60)
    assert not expiring.shareable and expiring.code == "expiring"
    expired = judge(alice_cache, tgt.endtime + 1)
    assert not expired.shareable and expired.code == "expired"
    assert "expired at" in expired.reason


def test_no_prefix_of_a_cache_is_mistaken_for_more_than_it_holds(alice_cache: bytes) -> None:
    """A reader that catches kinit mid-write sees a prefix: never a TGT it does not fully hold."""
    full = parse(alice_cache)
    for length in range(len(alice_cache)):
        try:
            partial = parse(alice_cache[:length])
        except CacheFormatError:
            continue
        assert partial.credentials == full.credentials[: len(partial.credentials)]


@pytest.mark.parametrize("data", [b"", b"\x05", b"\x05\x09garbage", b"not a cache at all"])
def test_garbage_is_unreadable_not_shareable(data: bytes) -> None:
    verdict = judge(data, 0)
    assert not verdict.shareable and verdict.code == "unreadable"


def test_missing_cache_is_not_shareable() -> None:
    assert judge(None, 0).code == "missing"


def test_a_new_kinit_replaces_a_renewed_copy_but_an_older_login_does_not(
    realm: Realm, workdir: Path
) -> None:
    first, second = workdir / "first", workdir / "second"
    realm.kinit("alice@ADP.TEST", f"FILE:{first}", lifetime="1h", renewable="2h")
    now = parse(first.read_bytes()).credentials[-1].starttime
    # The second login happens at least one second later (authtime has 1 s resolution).
    time.sleep(1.1)
    realm.kinit("alice@ADP.TEST", f"FILE:{second}", lifetime="1h", renewable="2h")
    old, new = judge(first.read_bytes(), now + 2), judge(second.read_bytes(), now + 2)
    assert should_share(new, old)
    assert not should_share(old, new)
    assert should_share(old, None)
    bob = workdir / "bob"
    realm.kinit("bob@ADP.TEST", f"FILE:{bob}")
    assert should_share(judge(bob.read_bytes(), now + 2), new)


def test_renewal_is_due_only_near_the_end_of_a_renewable_ticket(alice_cache: bytes) -> None:
    tgt = parse(alice_cache).tgt()
    assert tgt is not None
    early = judge(alice_cache, tgt.starttime + 60)
    late = judge(alice_cache, tgt.endtime - 600)
    assert not renew_due(early, tgt.starttime + 60, margin=900)
    assert renew_due(late, tgt.endtime - 600, margin=900)
    # A margin longer than the ticket's life is capped at half of it: no renewal storm.
    assert not renew_due(early, tgt.starttime + 60, margin=86400)


def test_non_renewable_ticket_is_never_due(realm: Realm, workdir: Path) -> None:
    cache = workdir / "plain"
    realm.kinit("alice@ADP.TEST", f"FILE:{cache}", lifetime="1h")
    verdict = judge(cache.read_bytes(), 0)
    tgt = parse(cache.read_bytes()).tgt()
    assert tgt is not None
    late = judge(cache.read_bytes(), tgt.endtime - 5)
    assert not verdict.renewable and not renew_due(late, tgt.endtime - 5, margin=900)


# ---- which ticket is shared (issue 11, item 22) -------------------------------------------


def test_a_renewal_on_the_host_replaces_the_shared_copy(realm: Realm, workdir: Path) -> None:
    """`kinit -R` on the host: the same login (same authtime), a later end: it is shared."""
    host = workdir / "host"
    realm.kinit("alice@ADP.TEST", f"FILE:{host}", lifetime="1h", renewable="2h")
    shared = host.read_bytes()
    time.sleep(1.1)  # the renewed end is later by at least a second (1 s resolution)
    assert realm.run("kinit", "-R", ccache=f"FILE:{host}").returncode == 0
    now = time.time()
    before, renewed = judge(shared, now), judge(host.read_bytes(), now)
    assert renewed.authtime == before.authtime and renewed.expires > before.expires
    assert should_share(renewed, before)
    assert not should_share(before, renewed)


def test_a_new_login_wins_even_when_it_ends_before_the_sharers_renewed_copy(
    realm: Realm, workdir: Path
) -> None:
    host, copy = workdir / "host", workdir / "copy"
    realm.kinit("alice@ADP.TEST", f"FILE:{host}", lifetime="1h", renewable="2h")
    copy.write_bytes(host.read_bytes())
    time.sleep(1.1)
    assert realm.run("kinit", "-R", ccache=f"FILE:{copy}").returncode == 0  # the sharer's renewal
    time.sleep(1.1)
    realm.kinit("alice@ADP.TEST", f"FILE:{host}", lifetime="10m")  # shorter, but newer
    now = time.time()
    renewed, login = judge(copy.read_bytes(), now), judge(host.read_bytes(), now)
    assert login.expires < renewed.expires and login.authtime > renewed.authtime
    assert should_share(login, renewed)


# ---- postdated tickets (item 23) ------------------------------------------------------------


@pytest.mark.parametrize("start", ["1m", "10m"], ids=["inside-skew", "outside-skew"])
def test_a_postdated_ticket_is_never_shared(realm: Realm, workdir: Path, start: str) -> None:
    """`kinit -s`: the KDC flags the TGT invalid until it is validated; inside the 300 s
    clock-skew allowance (1 min) as outside it (10 min), it is not shareable."""
    cache = workdir / "postdated"
    result = subprocess.run(
        ["kinit", "-s", start, "-l", "1h", "-c", f"FILE:{cache}", "alice@ADP.TEST"],
        input=realm.passwords["alice@ADP.TEST"] + "\n",
        env=realm.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    now = time.time()
    verdict = judge(cache.read_bytes(), now)
    assert not verdict.shareable and verdict.code == "invalid", verdict
    assert "flagged invalid" in verdict.reason
    assert not should_share(verdict, None)


# ---- renewal timing (item 24) ---------------------------------------------------------------


def test_an_expired_copy_is_not_due_for_renewal_even_if_renewable(alice_cache: bytes) -> None:
    tgt = parse(alice_cache).tgt()
    assert tgt is not None and tgt.renew_till > tgt.endtime + 60
    after_end = tgt.endtime + 30
    expired = judge(alice_cache, after_end)
    assert expired.code == "expired" and expired.renewable
    assert not renew_due(expired, after_end, margin=900)


def test_renewal_margin_is_capped_at_exactly_half_the_lifetime(alice_cache: bytes) -> None:
    tgt = parse(alice_cache).tgt()
    assert tgt is not None
    half = (tgt.endtime - tgt.starttime) / 2
    just_inside, just_outside = tgt.endtime - half + 1, tgt.endtime - half - 1
    assert renew_due(judge(alice_cache, just_inside), just_inside, margin=86400)
    assert not renew_due(judge(alice_cache, just_outside), just_outside, margin=86400)
    # Below half the lifetime, the margin itself decides, to the second.
    assert renew_due(judge(alice_cache, tgt.endtime - 899), tgt.endtime - 899, margin=900)
    assert not renew_due(judge(alice_cache, tgt.endtime - 901), tgt.endtime - 901, margin=900)


# ---- cache formats (item 26) ----------------------------------------------------------------


def test_format_version_3_written_by_kinit_parses(realm: Realm, workdir: Path) -> None:
    conf = workdir / "krb5-v3.conf"
    original = Path(realm.env()["KRB5_CONFIG"]).read_text()
    conf.write_text(original.replace("[libdefaults]\n", "[libdefaults]\n    ccache_type = 3\n", 1))
    cache = workdir / "v3"
    env = {**realm.env(), "KRB5_CONFIG": str(conf)}
    subprocess.run(
        ["kinit", "-l", "1h", "-r", "2h", "-c", f"FILE:{cache}", "alice@ADP.TEST"],
        input=realm.passwords["alice@ADP.TEST"] + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = cache.read_bytes()
    assert data[:2] == b"\x05\x03"
    parsed = parse(data)
    assert parsed.version == 3 and str(parsed.principal) == "alice@ADP.TEST"
    tgt = parsed.tgt()
    assert tgt is not None and 3590 <= tgt.endtime - tgt.starttime <= 3600 and tgt.renewable
    assert judge(data, tgt.starttime + 10).shareable


def _with_entries(data: bytes, flags: int, field: str) -> bytes:
    """The cache with one address or one authorization-data entry added to its TGT.

    The TGT's credential holds ``is_skey (0) | flags | address count | authdata count``;
    the counts are 0 in what kinit writes here, and the TGT's flags make the run unique."""
    tail = b"\x00" + struct.pack(">I", flags)
    empty = tail + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
    assert data.count(empty) == 1
    entry = struct.pack(">IH", 1, 2 if field == "address" else 1) + struct.pack(">I", 4)
    entry += b"\x7f\x00\x00\x01" if field == "address" else b"adp!"
    if field == "address":
        return data.replace(empty, tail + entry + b"\x00\x00\x00\x00")
    return data.replace(empty, tail + b"\x00\x00\x00\x00" + entry)


@pytest.mark.parametrize("field", ["address", "authdata"])
def test_tickets_with_addresses_or_authorization_data_parse(alice_cache: bytes, field: str) -> None:
    original = parse(alice_cache)
    tgt = original.tgt()
    assert tgt is not None
    changed = _with_entries(alice_cache, tgt.flags, field)
    parsed = parse(changed)
    assert parsed.credentials == original.credentials  # the same tickets, times and flags
    assert judge(changed, tgt.starttime + 10).shareable
    # A count that promises more entries than the file holds is refused, not misread.
    assert judge(changed[:-3], tgt.starttime + 10).code == "unreadable"
