"""The platform-owned mirror of one repository: a bare git repository under the state folder.

``fetch`` brings the tracked branch into ``refs/heads/upstream/<branch>`` (forced: a force-push
upstream is seen, then judged against the promoted commit); ``promote`` moves
``refs/heads/promoted/<branch>`` with a compare-and-swap on its old value; ``export`` writes one
commit's tree (or a folder of it) into a directory, exactly (every blob's own bytes, whatever
the commit's ``.gitattributes`` say), refusing links that leave it.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from adp.repos import git
from adp.repos.git import Credentials, GitError

SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
ZERO = "0" * 40
MAX_EXPORT_BYTES = 256 * 1024 * 1024  # a DAG folder; the release pack's own limit


class ExportRefused(GitError):
    """The commit's content cannot become a release (too large, links leaving the folder):
    a property of the commit, so it is refused, not retried."""


class Mirror:
    def __init__(self, root: Path, name: str, branch: str) -> None:
        self.git_dir = root / f"{name}.git"
        self.branch = branch

    @property
    def upstream_ref(self) -> str:
        return f"refs/heads/upstream/{self.branch}"

    @property
    def promoted_ref(self) -> str:
        return f"refs/heads/promoted/{self.branch}"

    def ensure(self) -> None:
        if not (self.git_dir / "HEAD").is_file():
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            git.run(["init", "--quiet", "--bare", str(self.git_dir)])

    def fetch(self, url: str, creds: Credentials) -> str:
        """The upstream branch's commit, fetched (with its history) into the mirror."""
        self.ensure()
        refspec = f"+refs/heads/{self.branch}:{self.upstream_ref}"
        if url.startswith("-"):
            raise GitError(f"{url!r} is not a repository URL")
        git.run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--end-of-options",
                url,
                refspec,
            ],
            self.git_dir,
            creds,
        )
        sha = self.resolve(self.upstream_ref)
        if sha is None:
            raise GitError(f"branch {self.branch} was not fetched")
        return sha

    def resolve(self, ref: str) -> str | None:
        try:
            out = git.run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], self.git_dir)
        except GitError:
            return None
        sha = out.decode().strip()
        return sha if SHA_RE.fullmatch(sha) else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            git.run(["merge-base", "--is-ancestor", older, newer], self.git_dir)
        except GitError:
            return False
        return True

    def promoted(self) -> str | None:
        return self.resolve(self.promoted_ref)

    def promote(self, sha: str, expected: str | None) -> None:
        """Point the promoted branch at ``sha``, only if it still is ``expected``."""
        git.run(["update-ref", self.promoted_ref, sha, expected or ZERO], self.git_dir)

    def unpromote(self) -> None:
        """Delete the promoted branch (the repository is removed from the environment)."""
        git.run(["update-ref", "-d", self.promoted_ref], self.git_dir)

    def subject(self, sha: str) -> str:
        out = git.run(["log", "-1", "--format=%an <%ae>%x00%s", sha], self.git_dir)
        return out.decode("utf-8", "replace").strip().replace("\x00", ": ", 1)[:300]

    def export(self, sha: str, folder: str, dest: Path) -> Path:
        """Write commit ``sha``'s ``folder`` (or whole tree) under ``dest``; its path there.

        Exact by construction: every entry of the tree is written with its blob's bytes, read
        with ``git cat-file`` (which applies no attribute). ``git archive`` is not used: it
        honours the commit's own ``.gitattributes`` (``export-ignore`` leaves files out,
        ``export-subst``, ``ident``, ``eol``/``text`` and ``working-tree-encoding`` rewrite
        them), so the release named after a commit would not hold that commit's tree."""
        spec = f"{sha}:{folder}" if folder else sha
        try:
            listing = git.run(["ls-tree", "-r", "-l", "-z", "--full-tree", spec], self.git_dir)
        except GitError as error:
            if folder:
                raise GitError(
                    f"commit {sha[:12]} has no folder {folder!r} (path in airflow-repos.yaml)"
                ) from None
            raise error
        entries = _entries(listing)
        size = sum(entry.size for entry in entries)
        if size > MAX_EXPORT_BYTES:
            raise ExportRefused(
                f"commit {sha[:12]}: {folder or 'the tree'} holds {size // 2**20} MiB, over "
                f"{MAX_EXPORT_BYTES // 2**20} MiB; keep data out of the DAG folder"
            )
        when = git.run(["log", "-1", "--format=%ct", sha, "--"], self.git_dir).strip()
        data = self._tar(entries, int(when) if when.isdigit() else 0)
        dest.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                if hasattr(tarfile, "data_filter"):  # refuses links and paths leaving dest
                    archive.extractall(dest, filter="data")
                else:  # a Python without extraction filters (the Debian base's): the same checks
                    archive.extractall(dest, members=_inside(archive, dest))
        except tarfile.TarError as error:
            raise ExportRefused(
                f"commit {sha[:12]}: {error} (a link pointing outside the DAG folder, or an "
                "absolute one); a release holds only files of its folder"
            ) from None
        return dest

    def _tar(self, entries: list[_Entry], mtime: int) -> bytes:
        """A tar of ``entries``: each blob's bytes as git stores them, a link's target as its
        blob holds it, a submodule as an empty folder; every time the commit's (as ``git
        archive`` writes them)."""
        wanted = sorted({e.oid for e in entries if e.kind == "blob"})
        blobs = _batch(git.run(["cat-file", "--batch"], self.git_dir, input=_lines(wanted)))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for entry in entries:
                info = tarfile.TarInfo(os.fsdecode(entry.path))
                info.mtime = mtime
                if entry.kind != "blob":
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                elif entry.mode == "120000":
                    info.type, info.mode = tarfile.SYMTYPE, 0o777
                    info.linkname = os.fsdecode(blobs[entry.oid])
                    archive.addfile(info)
                else:
                    body = blobs[entry.oid]
                    info.size, info.mode = len(body), 0o755 if entry.mode == "100755" else 0o644
                    archive.addfile(info, io.BytesIO(body))
        return out.getvalue()


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str  # blob, or commit (a submodule)
    oid: str
    size: int
    path: bytes


def _entries(listing: bytes) -> list[_Entry]:
    """The entries of ``git ls-tree -r -l -z`` (mode, type, object, size, path)."""
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid, size = meta.decode("ascii").split()
        if not SHA_RE.fullmatch(oid) or kind not in ("blob", "commit"):
            raise GitError(f"git ls-tree: unexpected entry {meta!r}")
        entries.append(_Entry(mode, kind, oid, int(size) if size.isdigit() else 0, path))
    return entries


def _lines(oids: list[str]) -> bytes:
    return "".join(f"{oid}\n" for oid in oids).encode("ascii")


def _batch(output: bytes) -> dict[str, bytes]:
    """``object -> bytes`` from the output of ``git cat-file --batch``."""
    blobs: dict[str, bytes] = {}
    at = 0
    while at < len(output):
        end = output.index(b"\n", at)
        header = output[at:end].decode("ascii").split()
        if len(header) != 3:
            raise GitError(f"git cat-file: {' '.join(header)}")
        oid, _, size = header
        start = end + 1
        blobs[oid] = output[start : start + int(size)]
        at = start + int(size) + 1
    return blobs


def _inside(archive: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    """The members of ``archive`` when every one stays in ``dest`` (as tarfile's ``data``
    filter decides: no absolute or escaping path, no link leaving ``dest``, no device);
    ``tarfile.TarError`` otherwise."""
    root = dest.resolve()
    members = archive.getmembers()
    for member in members:
        target = (root / member.name).resolve()
        if member.name.startswith("/") or not target.is_relative_to(root):
            raise tarfile.TarError(f"{member.name!r} would be extracted outside the folder")
        if member.isdev():
            raise tarfile.TarError(f"{member.name!r} is a device file")
        if member.issym() or member.islnk():
            if member.linkname.startswith("/"):
                raise tarfile.TarError(f"{member.name!r} is an absolute link")
            base = target.parent if member.issym() else root
            if not (base / member.linkname).resolve().is_relative_to(root):
                raise tarfile.TarError(f"{member.name!r} links outside the folder")
        member.mode &= 0o755
    return members
