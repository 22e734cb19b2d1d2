"""What a writer of one package's prefix can make the sync agent do (issue 26, items 1 and 2).

A package's CI may write only under ``<env>/<package>/``. Whatever it writes there (a pointer
naming another package's release or a path, a manifest copied from another package, version
names that look like the agent's own files, bytes that are no document at all), the invariant
is the seed's promise: what every OTHER package serves does not change, and that package's next
honest publication is served. The named cases are the issue's; the property tests generate the
class, on the local store and on S3 (moto on loopback), where keys may even hold '..'.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from adp.releases import names
from adp.releases.listing import list_releases
from adp.releases.local_store import LocalStore
from adp.releases.s3_store import S3Store
from adp.releases.store import Store
from adp.sync import Syncer, materialize_snapshot
from adp.sync.errors import SyncError
from adp.sync.materialize import snapshot_problems
from adp.sync.snapshot import parse_snapshot
from adp_test_helpers.release_corpus import new_bucket
from adp_test_helpers.sync_support import CountingStore, publish_files, read_current, read_tree
from adp_test_servers.s3 import S3Server
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

A = {"pkg_a_daily.py": b"# a v1\n"}
B = {"pkg_b_daily.py": b"# b v7\n", "sql/b.sql": b"select 7;\n"}
B_NEXT = {"pkg_b_daily.py": b"# b v8\n"}


def served(sync_dir: Path, package: str) -> dict[str, bytes]:
    return {
        path.removeprefix(f"{package}/"): data
        for path, data in read_current(sync_dir).items()
        if path.startswith(f"{package}/")
    }


def raw_put(store: Store, key: str, data: bytes) -> None:
    """Write ``key`` as the package's own CI could: S3 takes any key under its prefix (even
    one with '..' in it); a local store's writer is a file system user of that folder."""
    inner = store.inner if isinstance(store, CountingStore) else store
    if isinstance(inner, S3Store):
        # a key the server refuses (a newline in it, for moto) no writer can write either
        with contextlib.suppress(inner._botocore.ClientError):
            inner.client.put_object(Bucket=inner.bucket, Key=key, Body=data)
        return
    assert isinstance(inner, LocalStore)
    path = inner.root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def pointer_doc(**fields: object) -> bytes:
    doc: dict[str, object] = {
        "format_version": 1,
        "env": "dev",
        "package": "pkg_a",
        "version": "v1",
        "manifest_sha256": "0" * 64,
        "previous": None,
        "updated_at": "2026-12-07T00:00:00+00:00",
        "updated_by": "ci-of-pkg_a",
        "action": "publish",
    }
    doc.update(fields)
    return json.dumps(doc).encode()


# -- the cases, on both stores --------------------------------------------------------


def test_a_pointer_naming_another_packages_release_changes_nothing_of_it(
    store: CountingStore, tmp_path: Path
) -> None:
    """Item 1: pkg_a's pointer says version '../pkg_b/v7' with the sha256 of pkg_b's manifest
    (readable in the store). Before: sync said ok and current/pkg_a served pkg_b's files; after
    pkg_b's next publish current/pkg_b pointed at nothing, still ok."""
    publish_files(store, "dev", "pkg_a", "v1", A)
    b7 = publish_files(store, "dev", "pkg_b", "v7", B)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    assert syncer.cycle().status == "ok"
    raw_put(
        store,
        "dev/pkg_a/current.json",
        pointer_doc(version="../pkg_b/v7", manifest_sha256=b7.manifest_sha256),
    )
    result = syncer.cycle()
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}
    assert "version '../pkg_b/v7'" in result.package_errors["pkg_a"]
    assert served(tmp_path / "sync", "pkg_a") == A  # its last good release stays
    assert served(tmp_path / "sync", "pkg_b") == B
    publish_files(store, "dev", "pkg_b", "v8", B_NEXT)
    result = syncer.cycle()
    assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}
    assert served(tmp_path / "sync", "pkg_b") == B_NEXT
    assert snapshot_problems(syncer.dir, syncer.current) == []  # type: ignore[arg-type]


def test_a_pointer_with_a_legal_version_and_another_packages_manifest_is_refused(
    store: CountingStore, tmp_path: Path
) -> None:
    """The same with a legal version name: the manifest it names (already here, verified) is
    pkg_b's, so it is refused although its bytes match the pointer's sha256."""
    publish_files(store, "dev", "pkg_a", "v1", A)
    b7 = publish_files(store, "dev", "pkg_b", "v7", B)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    syncer.cycle()
    raw_put(
        store,
        "dev/pkg_a/current.json",
        pointer_doc(version="v7", manifest_sha256=b7.manifest_sha256),
    )
    result = syncer.cycle()
    assert set(result.package_errors) == {"pkg_a"}
    assert "a release of dev/pkg_b version v7" in result.package_errors["pkg_a"]
    assert served(tmp_path / "sync", "pkg_a") == A and served(tmp_path / "sync", "pkg_b") == B


@pytest.mark.parametrize(
    "versions",
    [["v2.manifest"], ["v1", "v1.manifest"], ["v1.manifest", "v1"], ["v1", "v1.json", "v2"]],
)
def test_version_names_never_collide_with_the_agents_own_files(
    store: CountingStore, tmp_path: Path, versions: list[str]
) -> None:
    """Item 2: publishing '--version v2.manifest' then syncing deleted the live release (the
    pruner read its folder as the marker of 'v2'); 'v1' then 'v1.manifest' made the package
    unsyncable. Every version is served, and kept snapshots stay whole."""
    syncer = Syncer(store, "dev", tmp_path / "sync", keep=2)
    for number, version in enumerate(versions):
        content = {"pkg_a_daily.py": f"# {version} {number}\n".encode()}
        publish_files(store, "dev", "pkg_a", version, content)
        result = syncer.cycle()
        assert result.status == "ok", result.error
        assert served(tmp_path / "sync", "pkg_a") == content
        syncer.cycle()  # a later cycle (nothing changed) still serves it
        assert served(tmp_path / "sync", "pkg_a") == content
    for doc in (tmp_path / "sync" / "snapshots").glob("*.json"):
        kept = parse_snapshot(doc.read_bytes(), doc.stem)
        assert snapshot_problems(syncer.dir, kept) == []


def test_health_never_says_ok_while_current_links_to_nothing(
    store: CountingStore, tmp_path: Path
) -> None:
    """A release folder under current removed (by hand, or by an older pruner): the next cycle,
    though no pointer changed, rebuilds it from the objects; when it cannot, it fails (never
    'ok' with a link to nothing)."""
    pointer = publish_files(store, "dev", "pkg_a", "v1", A)
    syncer = Syncer(store, "dev", tmp_path / "sync")
    syncer.cycle()
    release = syncer.dir.release("pkg_a", pointer.manifest_sha256)
    for path in sorted(release.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    release.rmdir()
    repaired = syncer.cycle()
    assert repaired.status == "ok" and served(tmp_path / "sync", "pkg_a") == A
    # now gone here and in the store: the cycle must say so
    release_files = sorted(release.rglob("*"), reverse=True)
    for path in release_files:
        path.unlink() if path.is_file() else path.rmdir()
    release.rmdir()
    for entry in syncer.dir.objects.iterdir():
        entry.unlink()
    inner = store.inner
    for key in list(inner.list("dev/pkg_a/releases/")):
        if isinstance(inner, LocalStore):
            inner.root.joinpath(*key.split("/")).unlink()
        else:
            inner.delete(key)
    broken = syncer.cycle()
    assert broken.status == "failed" and "current does not serve" in (broken.error or "")
    assert "points at nothing" in broken.error and "cannot be rebuilt" in broken.error


# -- the class: anything written under one package's prefix ----------------------------------

HOSTILE_VERSIONS = [
    "../pkg_b/v7",
    "../../dev/pkg_b/releases/v7",
    "v7/../../pkg_b",
    "/etc",
    ".",
    "..",
    "",
    "v7\x00",
    "v7/files",
    "v7\n",
    "a" * 300,
    "pkg_b/../v7",
    "\u202ev7",
    "v7.manifest",
    ".tmp-v7",
    "-v7",
]
LEGAL_VERSIONS = st.from_regex(names.VERSION_RE, fullmatch=True).filter(lambda v: ".." not in v)
VERSIONS = st.one_of(st.sampled_from(HOSTILE_VERSIONS), LEGAL_VERSIONS, st.just("v7"))
SHAS = st.sampled_from(["b", "a", "own", "zero", "../../releases/pkg_b", "B" * 64])
FIELD = st.sampled_from(["dev", "pkg_a", "pkg_b", "../pkg_b", "prod", ""])


@st.composite
def hostile_writes(draw: st.DrawFn) -> list[tuple[str, object]]:
    """1-4 writes of pkg_a's CI: pointers, manifests (pkg_b's copied, or edited), raw bytes."""
    writes: list[tuple[str, object]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["pointer", "manifest", "raw"]))
        if kind == "pointer":
            writes.append(
                (
                    "pointer",
                    {
                        "env": draw(st.sampled_from(["dev", "dev", "prod", "../dev"])),
                        "package": draw(st.sampled_from(["pkg_a", "pkg_a", "pkg_b"])),
                        "version": draw(VERSIONS),
                        "manifest_sha256": draw(SHAS),
                        "previous": draw(st.one_of(st.none(), VERSIONS)),
                        "action": draw(st.sampled_from(["publish", "rollback", "delete"])),
                        "updated_by": draw(st.sampled_from(["ci", "x\ny", "z" * 300])),
                    },
                )
            )
        elif kind == "manifest":
            writes.append(
                (
                    "manifest",
                    {
                        "at": draw(VERSIONS),
                        "package": draw(FIELD),
                        "env": draw(st.sampled_from(["dev", "prod"])),
                        "version": draw(VERSIONS),
                        "path": draw(
                            st.sampled_from(["pkg_b_daily.py", "../pkg_b/pkg_b_daily.py", "/x"])
                        ),
                    },
                )
            )
        else:
            writes.append(
                (
                    "raw",
                    {
                        "suffix": draw(
                            st.sampled_from(
                                [
                                    "current.json",
                                    "releases/v7/manifest.json",
                                    "releases/v7/files.pack",
                                    "releases/v7/files/pkg_b_daily.py",
                                    "../pkg_b/current.json",
                                    "releases/../../pkg_b/current.json",
                                    "_snapshots/x.json",
                                ]
                            )
                        ),
                        "data": draw(st.binary(max_size=64)),
                    },
                )
            )
    return writes


def attack(store: Store, writes: list[tuple[str, object]], shas: dict[str, str]) -> None:
    """Carry out the writes, each only under dev/pkg_a/ (checked here)."""
    own = shas["a"]
    for kind, spec in writes:
        assert isinstance(spec, dict)
        if kind == "pointer":
            sha = {"b": shas["b"], "a": shas["a"], "own": own, "zero": "0" * 64}.get(
                spec["manifest_sha256"], spec["manifest_sha256"]
            )
            fields = {**spec, "manifest_sha256": sha}
            key, data = "dev/pkg_a/current.json", pointer_doc(**fields)
        elif kind == "manifest":
            doc = json.loads(shas["b_manifest"])
            doc.update(env=spec["env"], package=spec["package"], version=spec["version"])
            doc["files"][0]["path"] = spec["path"]
            data = json.dumps(doc).encode()
            own = hashlib.sha256(data).hexdigest()
            key = f"dev/pkg_a/releases/{spec['at']}/manifest.json"
        else:
            key, data = f"dev/pkg_a/{spec['suffix']}", spec["data"]
        assert key.startswith("dev/pkg_a/")
        if not isinstance(store, S3Store) and any(
            part in ("", ".", "..") or "\x00" in part or len(part.encode()) > 255
            for part in key.split("/")
        ):
            continue  # a file system user of dev/pkg_a/ cannot write outside it (or such a name)
        raw_put(store, key, data)


def check_other_packages_unchanged(store: Store, writes: list[tuple[str, object]]) -> None:
    """The property: after any writes under dev/pkg_a/, pkg_b serves exactly its release, its
    next publication is served, and pkg_a serves only a release of its own."""
    with work_dir() as work:
        publish_files(store, "dev", "pkg_a", "v1", A)
        b7 = publish_files(store, "dev", "pkg_b", "v7", B)
        b_manifest = store.get(names.manifest_key("dev", "pkg_b", "v7"))
        assert b_manifest is not None
        syncer = Syncer(store, "dev", work / "sync")
        assert syncer.cycle().status == "ok"
        a1 = store.get(names.manifest_key("dev", "pkg_a", "v1"))
        assert a1 is not None
        shas = {
            "a": hashlib.sha256(a1.data).hexdigest(),
            "b": b7.manifest_sha256,
            "b_manifest": b_manifest.data.decode(),
        }
        attack(store, writes, shas)
        result = syncer.cycle()
        assert "pkg_b" not in result.package_errors
        assert served(work / "sync", "pkg_b") == B
        assert read_tree(syncer.dir.release("pkg_b", b7.manifest_sha256)) == B
        a_link = work / "sync" / "current" / "pkg_a"
        if a_link.exists():
            assert a_link.resolve().parent == (work / "sync" / "releases" / "pkg_a").resolve()
        assert snapshot_problems(syncer.dir, syncer.current) == []  # type: ignore[arg-type]
        assert sorted(p.name for p in work.iterdir()) == ["sync"]  # nothing written beside it
        publish_files(store, "dev", "pkg_b", "v8", B_NEXT)
        again = syncer.cycle()
        assert "pkg_b" not in again.package_errors and again.status != "failed"
        assert served(work / "sync", "pkg_b") == B_NEXT


@contextmanager
def work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="adp-hostile-") as folder:
        yield Path(folder)


@settings(max_examples=120, deadline=None)
@given(writes=hostile_writes())
def test_no_write_under_one_package_changes_another_on_the_local_store(
    writes: list[tuple[str, object]],
) -> None:
    with work_dir() as root:
        check_other_packages_unchanged(LocalStore(root / "store"), writes)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writes=hostile_writes())
def test_no_write_under_one_package_changes_another_on_s3(
    s3_env: S3Server, writes: list[tuple[str, object]]
) -> None:
    check_other_packages_unchanged(S3Store(new_bucket(s3_env), s3_env.endpoint), writes)


# -- version names: no pair of legal names collides on disk -----------------------------------


@settings(max_examples=60, deadline=None)
@given(
    versions=st.lists(
        st.one_of(
            LEGAL_VERSIONS,
            st.builds(
                "{}{}".format,
                st.sampled_from(["v1", "v2", "1"]),
                st.sampled_from(["", ".manifest", ".json", ".tmp", "-x", ".pack"]),
            ),
        ),
        min_size=1,
        max_size=5,
        unique=True,
    )
)
def test_any_sequence_of_legal_version_names_is_served_whole(versions: list[str]) -> None:
    """Publishing any legal version names, one after another, with a sync after each: every
    cycle is ok, current serves the newest, and every kept snapshot is whole."""
    with work_dir() as root:
        store = LocalStore(root / "store")
        syncer = Syncer(store, "dev", root / "sync", keep=3)
        for number, version in enumerate(versions):
            content = {"pkg_a_x.py": f"# {number}\n".encode()}
            publish_files(store, "dev", "pkg_a", version, content)
            result = syncer.cycle()
            assert result.status == "ok", result.error
            assert served(root / "sync", "pkg_a") == content
        for doc in (root / "sync" / "snapshots").glob("*.json"):
            kept = parse_snapshot(doc.read_bytes(), doc.stem)
            assert snapshot_problems(syncer.dir, kept) == []


# -- other names read from the store ----------------------------------------------------------


def test_a_snapshot_document_with_a_hostile_hash_is_refused(
    store: CountingStore, tmp_path: Path
) -> None:
    """A snapshot document (content-addressed, so its id is whatever it hashes to) naming a
    manifest 'sha256' that is a path: refused before any path is built from it."""
    doc = json.dumps(
        {"env": "dev", "packages": {"pkg_a": {"version": "v1", "manifest_sha256": "../../x"}}},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    snapshot_id = hashlib.sha256(doc).hexdigest()
    store.put_new(f"dev/_snapshots/{snapshot_id}.json", doc)
    with pytest.raises(SyncError, match="not a sha256"):
        materialize_snapshot(store, "dev", snapshot_id, tmp_path / "worker")
    assert not (tmp_path / "x").exists() and not (tmp_path / "worker" / "x").exists()
    assert list((tmp_path / "worker" / "releases").iterdir()) == []


def test_listing_names_hostile_keys_and_foreign_manifests_without_failing(
    s3_env: S3Server,
) -> None:
    """`adp dags list` over keys only S3 can hold ('..' in a version) and a manifest under
    pkg_a that names pkg_b: each is a problem of its release; pkg_b's listing is its own."""
    store = S3Store(new_bucket(s3_env), s3_env.endpoint)
    publish_files(store, "dev", "pkg_a", "v1", A)
    publish_files(store, "dev", "pkg_b", "v7", B)
    b_manifest = store.get(names.manifest_key("dev", "pkg_b", "v7"))
    assert b_manifest is not None
    raw_put(store, "dev/pkg_a/releases/v7/manifest.json", b_manifest.data)
    raw_put(store, "dev/pkg_a/releases/../manifest.json", b"{}")
    raw_put(store, "dev/pkg_a/releases/v 9/manifest.json", b"{}")
    listing = {p.package: p for p in list_releases(store, "dev")}
    a = {r.version: r for r in listing["pkg_a"].releases}
    assert a["v1"].manifest is not None and a["v1"].problem is None
    assert a["v7"].manifest is None and "dev/pkg_b" in (a["v7"].problem or "")
    assert a[".."].manifest is None and "version" in (a[".."].problem or "")
    assert a["v 9"].manifest is None
    assert [r.version for r in listing["pkg_b"].releases] == ["v7"]


# -- the local store holds no links (item 11) -------------------------------------------------


def test_the_local_store_refuses_links_out_of_its_folder(tmp_path: Path) -> None:
    """A file or folder link under one package's folder would read (or write) outside the
    store: reading through it is refused, listing leaves it out, writing through it is
    refused, and nothing outside the store is touched."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not the store's\n")
    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "pkg_a", "v1", A)
    files = tmp_path / "store" / "dev" / "pkg_a" / "releases" / "v1" / "files"
    os.symlink(outside / "secret", files / "linked.py")
    os.symlink(outside, tmp_path / "store" / "dev" / "pkg_c")
    os.symlink(outside, files / "folder")
    for key in (
        "dev/pkg_a/releases/v1/files/linked.py",
        "dev/pkg_c/secret",
        "dev/pkg_a/releases/v1/files/folder/secret",
    ):
        with pytest.raises(Exception, match="symbolic link"):
            store.get(key)
        with pytest.raises(Exception, match=r"symbolic link|already exists"):
            store.put_new(key.replace("secret", "new"), b"x")
        with pytest.raises(Exception, match="symbolic link"):
            store.put_if(key.replace("secret", "other"), b"x", None)
    assert "dev/pkg_a/releases/v1/files/linked.py" not in list(store.list("dev/"))
    assert store.folders("dev/") == ["pkg_a"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"not the store's\n"


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(0, 3),
    names_=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=4, max_size=4),
    link_dir=st.booleans(),
)
def test_no_key_reads_or_writes_outside_the_local_store(
    depth: int, names_: list[str], link_dir: bool
) -> None:
    """A link placed at any depth of a key's path, to a file or a folder outside: get, put_new,
    put_if and delete of any key through it never touch what is outside."""
    assume(len(set(names_)) == len(names_))
    with work_dir() as root:
        outside = root / "outside"
        outside.mkdir()
        (outside / "f").write_bytes(b"outside\n")
        store = LocalStore(root / "store")
        parts = ["dev", *names_[:depth]]
        folder = (root / "store").joinpath(*parts)
        folder.mkdir(parents=True)
        link = folder / names_[3]
        os.symlink(outside if link_dir else outside / "f", link)
        key = "/".join([*parts, names_[3]] + (["f"] if link_dir else []))
        for call in (
            lambda: store.get(key),
            lambda: store.put_new(key, b"x"),
            lambda: store.put_if(key, b"x", None),
        ):
            try:
                call()
            except Exception as error:  # refused: that is the point; never a silent read
                assert "symbolic link" in str(error) or "already exists" in str(error)
            else:
                raise AssertionError(f"{key}: went through a link")
        try:  # removing the link itself is harmless; removing through it is refused
            store.delete(key)
        except Exception as error:
            assert "symbolic link" in str(error)
        assert sorted(p.name for p in outside.iterdir()) == ["f"]
        assert (outside / "f").read_bytes() == b"outside\n"


def test_a_sync_folder_of_the_earlier_layout_keeps_serving_and_is_moved_over(
    store: CountingStore, tmp_path: Path
) -> None:
    """A folder made by the earlier agent (releases/<package>/<version>/ beside a
    <version>.manifest marker): the new agent serves the same snapshot without a gap, moves
    its links to the new folders, and prunes the old ones after the next swap."""
    pointer = publish_files(store, "dev", "pkg_a", "v1", A)
    first = Syncer(store, "dev", tmp_path / "sync").cycle()
    sync = tmp_path / "sync"
    new_folder = sync / "releases" / "pkg_a" / pointer.manifest_sha256
    old_folder = sync / "releases" / "pkg_a" / "v1"
    new_folder.rename(old_folder)
    (sync / "releases" / "pkg_a" / "v1.manifest").write_text(pointer.manifest_sha256 + "\n")
    link = sync / "snapshots" / first.snapshot_id / "pkg_a"
    link.unlink()
    link.symlink_to("../../releases/pkg_a/v1")
    (sync / "layout.json").unlink()
    assert served(sync, "pkg_a") == A

    syncer = Syncer(store, "dev", sync)
    again = syncer.cycle()
    assert again.status == "ok" and not again.swapped and again.snapshot_id == first.snapshot_id
    assert os.readlink(link) == f"../../releases/pkg_a/{pointer.manifest_sha256}"
    assert served(sync, "pkg_a") == A and (sync / "layout.json").is_file()
    publish_files(store, "dev", "pkg_a", "v2", B_NEXT)
    assert syncer.cycle().swapped
    assert not old_folder.exists() and not (sync / "releases" / "pkg_a" / "v1.manifest").exists()
    assert served(sync, "pkg_a") == B_NEXT


@settings(max_examples=40, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.integers(1, 200_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    )
)
def test_any_bytes_as_a_pointer_are_that_packages_error_only(data: bytes) -> None:
    """Bytes of any kind (deeply nested JSON among them) as pkg_a's pointer: an error of pkg_a
    named as such (never a crash of the cycle, never pkg_b's)."""
    with work_dir() as root:
        store = LocalStore(root / "store")
        publish_files(store, "dev", "pkg_b", "v7", B)
        raw_put(store, "dev/pkg_a/current.json", data)
        result = Syncer(store, "dev", root / "sync").cycle()
        assert result.status == "degraded" and set(result.package_errors) == {"pkg_a"}
        assert result.package_errors["pkg_a"].startswith("dev/pkg_a/current.json: ")
        assert served(root / "sync", "pkg_b") == B


def test_a_huge_pointer_or_manifest_is_a_problem_of_its_package_in_listings(
    tmp_path: Path,
) -> None:
    """`adp dags list`, rollback and the sources views read documents bounded too: a pointer or
    manifest of pkg_a larger than a reader accepts is pkg_a's problem; pkg_b is listed whole."""
    from adp.releases.pointer import ReleaseError, read_pointer
    from adp.releases.store import DOCUMENT_MAX_BYTES

    store = LocalStore(tmp_path / "store")
    publish_files(store, "dev", "pkg_b", "v7", B)
    padding = b" " * (DOCUMENT_MAX_BYTES + 1)
    raw_put(store, "dev/pkg_a/current.json", pointer_doc()[:-1] + padding + b"}")
    raw_put(store, "dev/pkg_a/releases/v1/manifest.json", b"{" + padding + b"}")
    with pytest.raises(ReleaseError, match="the pointer is damaged"):
        read_pointer(store, "dev", "pkg_a")
    listing = {p.package: p for p in list_releases(store, "dev")}
    assert "larger than" in (listing["pkg_a"].problem or "")
    assert "larger than" in (listing["pkg_a"].releases[0].problem or "")
    assert [r.version for r in listing["pkg_b"].releases] == ["v7"]
    assert listing["pkg_b"].problem is None
