"""The cache parser and the share/renew decisions, fed with caches written by real `kinit`."""

from __future__ import annotations

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
