"""The platform-owned mirror of one repository: a bare git repository under the state folder.

``fetch`` brings the tracked branch into ``refs/heads/upstream/<branch>`` (forced: a force-push
upstream is seen, then judged against the promoted commit); ``promote`` moves
``refs/heads/promoted/<branch>`` with a compare-and-swap on its old value; ``export`` writes one
commit's tree (or a folder of it) into a directory, refusing links that leave it.
"""

from __future__ import annotations

import io
import re
import tarfile
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
        return sha if SHA_RE.match(sha) else None

    def has_commit(self, sha: str) -> bool:
        return bool(SHA_RE.match(sha)) and self.resolve(sha) == sha

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
        """Write commit ``sha``'s ``folder`` (or whole tree) under ``dest``; its path there."""
        spec = [f"{sha}:{folder}"] if folder else [sha]
        try:
            listing = git.run(["ls-tree", "-r", "-l", "-z", *spec], self.git_dir)
        except GitError:
            listing = b""
        size = 0
        for entry in listing.split(b"\0"):
            fields = entry.split(None, 4)
            if len(fields) >= 4 and fields[3].isdigit():
                size += int(fields[3])
        if size > MAX_EXPORT_BYTES:
            raise ExportRefused(
                f"commit {sha[:12]}: {folder or 'the tree'} holds {size // 2**20} MiB, over "
                f"{MAX_EXPORT_BYTES // 2**20} MiB; keep data out of the DAG folder"
            )
        try:
            data = git.run(["archive", "--format=tar", *spec], self.git_dir)
        except GitError as error:
            if folder:
                raise GitError(
                    f"commit {sha[:12]} has no folder {folder!r} (path in airflow-repos.yaml)"
                ) from None
            raise error
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
