"""The two checks under `adp mcp`'s credential policy, over generated hostile input
(Hypothesis): the host matcher accepts a URL only when the host every parser reads in it
matches the allow-list, and the secrets-folder resolver accepts a path only when its real
path (links followed) is a regular file inside the folder. Both also accept what they should
(the plain spellings of an allowed host, every file really in the folder)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from adp.mcp.credential_policy import PolicyError, resolve_in_folder
from adp.mcp.hosts import HostAllowList, HostError, HostPattern
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

LABELS = ["git", "allowed", "example", "corp", "evil", "test", "xn--gt-hoc", "a", "com", "0"]
ENTRIES = ["git.allowed.example", "*.corp.example", "127.0.0.1:8443", "[::1]", "example.com"]
# Pieces a hostile URL is made of: separators, userinfo, escapes, look-alikes, ports.
ALLOWED = ["git.allowed.example", "GIT.allowed.example.", "team.corp.example", "[::1]",
           "127.0.0.1:8443", "example.com", "Example.COM:443"]  # fmt: skip
JUNK = ["@", "#", "?", "/", "\\", ":", "%2e", "%40", ".", "..", "[", "]", "::1", "127.0.0.1",
        "2130706433", "0x7f", ":443", ":8443", ":22", "git@", "user:pw@", " ", "\t",
        "\u0456", "\uff47", "ß", "-", "_", "*"]  # fmt: skip
SCHEMES = ["https://", "http://", "ssh://", "HTTPS://", "git+ssh://", "file://", "", "git@"]
PROPERTY = settings(max_examples=600, deadline=None)


def reference_host(host: str | None) -> str | None:
    """A host as a reader would compare it: lowercase, no trailing dot, no brackets."""
    if not host:
        return None
    return host.lower().rstrip(".").strip("[]")


def reference_matches(allow: HostAllowList, host: str | None, port: int) -> bool:
    """The allow-list, matched the plain way: equal, or under a '*.' domain; the port if set."""
    if host is None:
        return False
    for p in allow.patterns:
        same = host.endswith("." + p.host) if p.wildcard else host == p.host
        if same and p.port in (None, port):
            return True
    return False


def parsers_agree_it_is_allowed(allow: HostAllowList, url: str) -> bool:
    """Every parser at hand reads a host in ``url`` that the allow-list matches."""
    if "://" not in url:  # user@host:path, as git and ssh read it
        user_host, _, _ = url.partition(":")
        return reference_matches(allow, reference_host(user_host.rpartition("@")[2]), 22)
    scheme = url.split("://", 1)[0].lower()
    default = {"https": 443, "http": 80, "ssh": 22}[scheme]
    parts = urlsplit(url)
    if parts.username is not None and scheme != "ssh":
        return False
    hosts = [(reference_host(parts.hostname), parts.port or default)]
    if scheme in ("http", "https"):
        try:
            other = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            return False
        hosts.append((reference_host(other.host), other.port or default))
    return all(reference_matches(allow, h, p) for h, p in hosts)


hosts = st.lists(st.sampled_from(LABELS), min_size=1, max_size=4).map(".".join)
allow_lists = st.one_of(st.just(ENTRIES), st.lists(st.sampled_from(ENTRIES), min_size=1))
schemes = st.one_of(
    st.sampled_from(["https://", "ssh://git@", "http://"]), st.sampled_from(SCHEMES)
)
pieces = st.one_of(hosts, st.sampled_from(ALLOWED), st.sampled_from(JUNK))
paths = st.sampled_from(["/team.git", ":team.git", "", "/x@evil.test/team.git", "#frag"])
hostile_urls = st.one_of(
    # anything made of the pieces
    st.builds(
        lambda scheme, parts, path: scheme + "".join(parts) + path,
        schemes, st.lists(pieces, min_size=1, max_size=5), paths,
    ),
    # an allowed host with hostile pieces before and after it
    st.builds(
        lambda scheme, before, host, after, path: scheme + "".join(before) + host
        + "".join(after) + path,
        schemes, st.lists(pieces, max_size=2), st.sampled_from(ALLOWED),
        st.lists(pieces, max_size=2), paths,
    ),
)  # fmt: skip


@PROPERTY
@given(url=hostile_urls, entries=allow_lists)
@example(url="https://git.allowed.example@evil.test/team.git", entries=["git.allowed.example"])
@example(url="https://evil.test\\@git.allowed.example/x.git", entries=["git.allowed.example"])
@example(url="https://evil.test#@git.allowed.example/x.git", entries=["git.allowed.example"])
@example(url="ssh://git@git.allowed.example@evil.test/x.git", entries=["git.allowed.example"])
@example(url="https://xn--gt-hoc.allowed.example/x.git", entries=["git.allowed.example"])
@example(url="https://g\u0456t.allowed.example/x.git", entries=["git.allowed.example"])
@example(url="https://corp.example/x.git", entries=["*.corp.example"])
@example(url="http://2130706433:8443/x.git", entries=["127.0.0.1:8443"])
def test_a_url_is_allowed_only_when_every_parser_reads_an_allowed_host(
    url: str, entries: list[str]
) -> None:
    allow = HostAllowList.parse(entries)
    if allow.allows(url):
        assert url.isascii() and "\\" not in url and not any(c.isspace() for c in url)
        assert parsers_agree_it_is_allowed(allow, url), (url, entries)


@PROPERTY
@given(
    host=hosts.filter(lambda h: h.split(".")[-1] != "0"),
    upper=st.lists(st.booleans(), min_size=1, max_size=40),
    dot=st.booleans(),
    port=st.sampled_from(["", ":443"]),
    sub=st.sampled_from(["", "team.", "a.b."]),
    pinned=st.booleans(),
)
def test_the_plain_spellings_of_an_allowed_host_are_allowed(
    host: str, upper: list[bool], dot: bool, port: str, sub: str, pinned: bool
) -> None:
    if "." not in host:
        sub = ""  # '*.' stands before a domain of two labels or more
    entry = (f"*.{host}" if sub else host) + (":443" if pinned else "")
    allow = HostAllowList.parse([entry])
    name = sub + host
    spelled = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(name))
    assert allow.allows(f"https://{spelled}{'.' if dot else ''}{port}/team.git"), entry
    assert allow.allows(f"https://{spelled}:8443/team.git") is not pinned  # the entry's port
    assert allow.allows(f"ssh://git@{spelled}/team.git") is not pinned  # ssh: port 22
    assert not allow.allows(f"https://{name}@attacker.invalid/team.git")
    assert not allow.allows(f"https://{name}.attacker.invalid/team.git")


@pytest.mark.parametrize(
    "entry",
    ["https://git.example.com", "user@git.example.com", "*.com", "*", "git.example.com/x",
     "git.example.com:0", "git.example.com:99999", "*.10.0.0.1", "", "git..example.com",
     "-git.example.com", "2130706433"],
)  # fmt: skip
def test_an_allow_list_entry_it_cannot_match_exactly_is_refused(entry: str) -> None:
    with pytest.raises(HostError):
        HostPattern.parse(entry)


def test_an_international_entry_is_compared_in_its_ascii_form() -> None:
    allow = HostAllowList.parse(["bücher.example", "GIT.Example.COM."])
    assert allow.allows("https://xn--bcher-kva.example/x.git")
    assert allow.allows("https://git.example.com/x.git")
    assert not allow.allows("https://bücher.example/x.git")  # Unicode in a URL: refused


# -- the secrets folder --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree() -> Iterator[Path]:
    """base/secrets (the folder) with files, links in and out, a loop; base/outside; and a
    sibling whose name starts like the folder's."""
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        secrets, outside, sibling = base / "secrets", base / "outside", base / "secrets-evil"
        for folder in (secrets / "sub", secrets / "emptydir", outside, sibling):
            folder.mkdir(parents=True)
        (secrets / "team-token").write_text("t")
        (secrets / "sub" / "inner-token").write_text("i")
        (outside / "passwd").write_text("p")
        (sibling / "x").write_text("x")
        (secrets / "link-in").symlink_to("team-token")
        (secrets / "sub" / "link-up").symlink_to("../team-token")  # up, but still inside
        (secrets / "link-out").symlink_to("../outside/passwd")
        (secrets / "dir-out").symlink_to(outside)
        (secrets / "abs-out").symlink_to(outside / "passwd")
        (secrets / "sibling").symlink_to(sibling / "x")
        (secrets / "loop").symlink_to("loop")
        (secrets / "dangling").symlink_to("nothing-here")
        yield secrets


SEGMENTS = ["team-token", "sub", "inner-token", "link-in", "link-up", "link-out", "dir-out",
            "abs-out", "sibling", "loop", "dangling", "..", ".", "passwd", "outside", "secrets",
            "secrets-evil", "x", "emptydir", "", "~", "team-token\x00"]  # fmt: skip


def _inside(folder: Path, path: str) -> bool:
    real = os.path.realpath(path)
    root = os.path.realpath(folder)
    return os.path.commonpath([real, root]) == root and real != root and os.path.isfile(real)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5),
    anchor=st.sampled_from(["", "folder", "base", "/"]),
)
@example(segments=["..", "outside", "passwd"], anchor="")
@example(segments=["link-out"], anchor="")
@example(segments=["dir-out", "passwd"], anchor="")
@example(segments=["..", "secrets-evil", "x"], anchor="folder")
@example(segments=["sub", "link-up"], anchor="")
def test_a_path_is_accepted_only_when_its_real_file_is_in_the_folder(
    tree: Path, segments: list[str], anchor: str
) -> None:
    relative = "/".join(segments)
    given = {
        "": relative,
        "folder": f"{tree}/{relative}",
        "base": f"{tree.parent}/{relative}",
        "/": f"/{relative}",
    }[anchor]
    try:
        written = resolve_in_folder(tree, given, "token_file")
    except PolicyError as error:
        assert str(error).startswith("token_file: ")
        if ".." not in Path(given).parts and "\x00" not in given and given:
            candidate = given if given.startswith("/") else f"{tree}/{given}"
            assert not _inside(tree, candidate), given  # refused only what is not inside
        return
    assert written.is_absolute() and ".." not in written.parts
    assert _inside(tree, str(written)), (given, written)
