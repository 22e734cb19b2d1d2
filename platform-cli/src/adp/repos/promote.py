"""Validate-then-promote: a repository's new commit reaches Airflow only once it passed.

``sync`` fetches the tracked branch into the mirror; a new commit that descends from the
promoted one is validated and scanned (the validation library, as ``adp dags publish`` runs it)
and, when it passes and ``auto_deploy`` is on, published as release ``<commit>`` of the
repository's namespace, then recorded on ``promoted/<branch>``; otherwise it is kept as pending
approval (it passed) or refused (its findings). A repository that cannot be reached, a
force-push that rewrites history and a commit that fails leave the promoted commit, and so what
Airflow runs, as it was; the state says why. ``approve`` and ``rollback`` are the two ways a
person moves the promoted commit; every move, refusal and approval is written to the audit.
What a person does next (approve this commit, read the status, roll back) is data, a
``NextStep`` on the result or the refusal's problem, never a front end's command in the text.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from adp import airflow_access
from adp.bundles.config import default_bundle_name
from adp.bundles.reparse import ask_airflow
from adp.errors import Failure, NextStep, Problem
from adp.releases.locate import open_store
from adp.releases.manifest import ManifestFile, content_sha256
from adp.releases.pointer import (
    PointerConflict,
    ReleaseError,
    read_manifest,
    read_pointer,
    retire,
    rollback,
)
from adp.releases.publish import (
    PublishRequest,
    ValidationFailed,
    VersionExists,
    collect_files,
    default_publisher,
    publish,
)
from adp.releases.store import Store, StoreError
from adp.repos.config import ReposConfig, Repository, load_config, named_variables
from adp.repos.git import CredentialError, GitError, credentials
from adp.repos.mirror import SHA_RE, ExportRefused, Mirror
from adp.repos.protected import Protected
from adp.repos.state import CommitNote, FindingNote, Outcome, RepoState, StateDir, now
from adp.validation import ConfigError, ImportStandby, ImportTarget, ValidationOptions


def folder_sha256(folder: Path) -> str:
    """The content hash a release of ``folder`` would have (``manifest.content_sha256``)."""
    files = collect_files(folder)
    listed = [
        ManifestFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        for path, data in files.items()
    ]
    return content_sha256(listed)


# The outcomes of a sync or a decision that count as failures, for every front end.
FAILED: frozenset[Outcome] = frozenset({"refused", "rewritten", "unreachable", "failed"})


class PromotionError(Failure, RuntimeError):
    """A person's request (approve, rollback) cannot be carried out; nothing was changed."""


def _refusal(message: str, step: NextStep) -> PromotionError:
    """A refusal whose next step is data (its problem's ``next_step``), never command text."""
    return PromotionError(problems=[Problem(message=message, next_step=step)])


@dataclass
class SyncResult:
    repository: str
    outcome: Outcome
    commit: str | None
    promoted: str | None
    detail: str
    findings: list[FindingNote] = field(default_factory=list)
    reparse: str | None = None
    dags: list[str] = field(default_factory=list)  # the DAG ids of ``commit``, when validated
    # what a person does next (approve a pending or rewritten commit); each front end words it
    next_step: NextStep | None = None

    @property
    def moved(self) -> bool:
        return self.outcome in ("promoted", "approved", "rolled-back")

    @property
    def ok(self) -> bool:
        """False for the outcomes that are failures (exit 1 of the CLI, ok=false elsewhere)."""
        return self.outcome not in FAILED


def validation_options(
    repo: Repository, withheld: set[str] | None = None, protected: Protected | None = None
) -> ValidationOptions:
    """How a commit of ``repo`` is validated; ``withheld``: the variables airflow-repos.yaml
    names as credentials, never given to the commit's code (``named_variables``);
    ``protected``: the files hidden from it and the secret values removed from its findings
    (``Protected.of``)."""
    settings = repo.validation
    protected = protected or Protected()
    return ValidationOptions(
        package=repo.namespace,
        import_check=True,
        fail_on=settings.fail_on,
        package_imports=settings.package_imports,
        import_timeout=settings.import_timeout,
        target=ImportTarget(python=settings.python, image=settings.image),
        pass_env=list(settings.pass_env),
        withheld_env=sorted(withheld or set()),
        hide_paths=protected.hide,
        visible_paths=protected.visible,
        redact=[SecretStr(value) for value in protected.redact],
    )


class Promoter:
    """The promoter of one ``airflow-repos.yaml``; ``actor`` is who acts (recorded)."""

    def __init__(
        self,
        config: ReposConfig,
        actor: str | None = None,
        store: Store | None = None,
        airflow_url: str | None = None,
        airflow_token: str | None = None,
        standby: ImportStandby | None = None,
    ) -> None:
        """``airflow_url``/``airflow_token``: the Airflow asked to re-parse after a move (default:
        the file's ``airflow.url``, ``ADP_AIRFLOW_URL`` and ``ADP_AIRFLOW_TOKEN``); ``standby``:
        the import check's worker kept warm by a long-running server that owns it."""
        self.config = config
        self.actor = actor or default_publisher()
        settings = config.model.release_store
        self.store = store or open_store(settings.bucket, settings.endpoint_url)
        self.state = StateDir(config.state_dir)
        try:
            self._mtime: int | None = config.path.stat().st_mtime_ns
        except OSError:
            self._mtime = None
        self.airflow_url = airflow_url or config.model.airflow.url or airflow_access.airflow_url()
        self.airflow_token = airflow_token
        self.standby = standby

    # -- helpers ----------------------------------------------------------------------
    def mirror(self, repo: Repository) -> Mirror:
        return Mirror(self.state.mirrors, repo.name, repo.branch)

    def reparse(self) -> str | None:
        """Ask the configured Airflow to re-parse the environment's bundle now; what it said
        (None without an Airflow URL). Never raises: the bundle's refresh is the fallback."""
        bundle = self.config.model.airflow.bundle or default_bundle_name(self.config.env)
        asked = ask_airflow(self.airflow_url, bundle, self.airflow_token)
        return asked.detail if asked is not None else None

    @contextlib.contextmanager
    def _exported(self, repo: Repository, mirror: Mirror, sha: str) -> Iterator[Path]:
        self.state.work.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{repo.name}-{sha[:12]}-", dir=self.state.work))
        try:
            mirror.export(sha, repo.path.strip("/"), folder)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _publish(
        self, repo: Repository, mirror: Mirror, sha: str, dry_run: bool
    ) -> tuple[list[FindingNote], list[str]]:
        """Validate commit ``sha`` and (unless ``dry_run``) make it the namespace's current
        release; the findings below the failing level and the DAG ids the commit defines.
        ValidationFailed when it fails."""
        env = self.config.env
        token = self.airflow_token or airflow_access.airflow_token()
        protected = Protected.of(self.config, (token,))
        with self._exported(repo, mirror, sha) as folder:
            request = PublishRequest(
                env, repo.namespace, folder, version=sha, publisher=self.actor, git_sha=sha
            )
            try:
                plan = publish(
                    self.store,
                    request,
                    validation_options(repo, named_variables(self.config.model), protected),
                    dry_run=dry_run,
                    standby=self.standby,
                )
            except VersionExists:
                # published before (a rollback, or a run stopped after its publish); this very
                # content passed validation just now: point at it again, once it is certain the
                # release named after the commit holds exactly the commit's files
                manifest, _ = read_manifest(self.store, env, repo.namespace, sha)
                if manifest.git_sha != sha or manifest.content_sha256 != folder_sha256(folder):
                    raise ReleaseError(
                        f"release {sha} of {env}/{repo.namespace} exists with other content "
                        f"(published by {manifest.publisher}, git sha {manifest.git_sha}); it is "
                        "not this commit, so it is not pointed at: push the change as a new commit"
                    ) from None
                if not dry_run:
                    rollback(self.store, env, repo.namespace, sha, self.actor)
                return [], [d.dag_id for d in manifest.dags]
            notes = [FindingNote.of(f, str(folder)) for f in plan.report.active()]
            return notes, [d.dag_id for d in plan.report.dags]

    def _record(self, state: RepoState, result: SyncResult) -> SyncResult:
        state.last_outcome = result.outcome
        state.last_error = (
            None
            if result.outcome in ("promoted", "unchanged", "approved", "rolled-back")
            else result.detail
        )
        self.state.save(state)
        return result

    def _repository(self, name: str) -> Repository:
        """``name``'s entry in the file as it is now (a long-running receiver sees edits: a
        repository removed since it started is never synced again)."""
        try:
            mtime = self.config.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime != self._mtime:
            self.config, self._mtime = load_config(self.config.path), mtime
        return self.config.repository(name)

    # -- sync --------------------------------------------------------------------------
    def sync(self, name: str, reason: str = "manual") -> SyncResult:
        """Fetch, validate and promote ``name``'s new commit (see the module's contract)."""
        repo = self._repository(name)
        with self.state.locked(name):
            state = self.state.load(name)
            state.last_sync_at = now()
            mirror = self.mirror(repo)
            promoted = mirror.promoted()
            state.promoted = promoted
            try:
                with credentials(self.config, repo) as creds:
                    tip = mirror.fetch(repo.url, creds)
            except (GitError, CredentialError) as error:
                outcome: Outcome = "failed" if isinstance(error, CredentialError) else "unreachable"
                detail = f"cannot fetch {repo.branch} of {repo.url}: {error}"
                if promoted:
                    detail += f"; {promoted[:12]} stays promoted"
                return self._record(state, SyncResult(name, outcome, None, promoted, detail))
            state.upstream = tip
            return self._record(state, self._judge(repo, mirror, state, tip, reason))

    def _judge(
        self, repo: Repository, mirror: Mirror, state: RepoState, tip: str, reason: str
    ) -> SyncResult:
        name, promoted = repo.name, state.promoted
        if tip == promoted:
            return SyncResult(name, "unchanged", tip, promoted, f"{tip[:12]} is promoted")
        if state.held_upstream == tip:
            return SyncResult(
                name,
                "unchanged",
                tip,
                promoted,
                f"rolled back to {promoted and promoted[:12]}; {tip[:12]} is not "
                "promoted again until a new commit arrives or it is approved",
            )
        for kind in ("pending", "refused"):
            known = next((n for n in getattr(state, kind) if n.sha == tip), None)
            if known is not None:
                outcome: Outcome = "pending" if kind == "pending" else "refused"
                step = NextStep(action="approve", repository=name, commit=tip)
                return SyncResult(
                    name, outcome, tip, promoted, known.reason, known.findings, dags=known.dags,
                    next_step=step if kind == "pending" or known.rewritten else None,
                )  # fmt: skip
        subject = mirror.subject(tip)
        if promoted and not mirror.is_ancestor(promoted, tip):
            why = (
                f"history rewritten: the promoted commit {promoted[:12]} is not an ancestor "
                f"of {tip[:12]} (a force-push); {promoted[:12]} stays promoted until {tip[:12]} "
                "is approved after review"
            )
            note = CommitNote(sha=tip, subject=subject, reason=why, rewritten=True)
            state.note("refused", note)
            self.state.audit("refuse", name, self.actor, tip, detail=f"{reason}: {why}")
            step = NextStep(action="approve", repository=name, commit=tip)
            return SyncResult(name, "rewritten", tip, promoted, why, next_step=step)
        dry_run = not repo.auto_deploy
        try:
            notes, dags = self._publish(repo, mirror, tip, dry_run=dry_run)
        except ValidationFailed as error:
            root = error.report.roots[0] if error.report.roots else ""
            findings = [FindingNote.of(f, root) for f in error.findings]
            why = f"validation failed: {error}".replace(root, f"commit {tip[:12]}")
            state.note(
                "refused", CommitNote(sha=tip, subject=subject, reason=why, findings=findings)
            )
            self.state.audit("refuse", name, self.actor, tip, findings, f"{reason}: {why}")
            kept = f"; {promoted[:12]} stays promoted" if promoted else ""
            return SyncResult(name, "refused", tip, promoted, f"{why}{kept}", findings)
        except (PointerConflict, StoreError, ConfigError) as error:  # transient or the setup's
            return SyncResult(name, "failed", tip, promoted, f"{tip[:12]}: {error}")
        except (ReleaseError, ExportRefused) as error:  # the commit's content: refused
            why = f"cannot be published: {error}"
            state.note("refused", CommitNote(sha=tip, subject=subject, reason=why))
            self.state.audit("refuse", name, self.actor, tip, detail=f"{reason}: {why}")
            kept = f"; {promoted[:12]} stays promoted" if promoted else ""
            return SyncResult(name, "refused", tip, promoted, f"{why}{kept}")
        except GitError as error:
            return SyncResult(name, "failed", tip, promoted, f"{tip[:12]}: {error}")
        if dry_run:
            why = "passed validation; auto_deploy is off"
            note = CommitNote(sha=tip, subject=subject, reason=why, findings=notes, dags=dags)
            state.note("pending", note)
            self.state.audit("pending", name, self.actor, tip, notes, reason)
            step = NextStep(action="approve", repository=name, commit=tip)
            return SyncResult(name, "pending", tip, promoted, why, notes, dags=dags, next_step=step)
        moved = self._moved(repo, mirror, state, tip, "promoted", "promote", reason, notes)
        moved.dags = dags
        return moved

    def _moved(
        self,
        repo: Repository,
        mirror: Mirror,
        state: RepoState,
        sha: str,
        outcome: Outcome,
        action: str,
        reason: str,
        notes: list[FindingNote],
    ) -> SyncResult:
        """The release store points at ``sha``: record it on the promoted branch, the state
        and the audit, then ask Airflow to re-parse."""
        before = state.promoted
        state.promoted, state.promoted_at = sha, now()
        state.history = [s for s in state.history if s != sha] + [sha]
        state.forget(sha)
        if action != "rollback":  # commits older than the one promoted wait no more
            state.pending = [n for n in state.pending if not mirror.is_ancestor(n.sha, sha)]
        state.held_upstream = state.upstream if action == "rollback" else None
        self.state.audit(action, repo.name, self.actor, sha, notes, reason)
        was = before[:12] if before else "none"
        result = SyncResult(repo.name, outcome, sha, sha, f"{was} -> {sha[:12]}", notes)
        self.state.save(state)
        try:
            mirror.promote(sha, mirror.promoted())
        except GitError as error:
            # the store already points at sha (what Airflow runs); the next sync records it on
            # the promoted branch again (the release exists: it is only pointed at)
            result.detail += f" (promoted/{repo.branch} not moved yet: {error})"
        result.reparse = self.reparse()
        return result

    # -- a person's decisions -------------------------------------------------------------
    def _approvable(self, name: str, state: RepoState, mirror: Mirror, sha: str) -> CommitNote:
        """The note of ``sha`` if it may be approved now (PromotionError otherwise)."""
        pending = next((n for n in state.pending if n.sha == sha), None)
        refused = next((n for n in state.refused if n.sha == sha), None)
        held = sha == state.held_upstream
        if pending is None and refused is None and not held:
            raise _refusal(
                f"{name}: {sha} is not waiting for approval (the status lists the pending "
                "commits); nothing was changed",
                NextStep(action="status", repository=name),
            )
        if refused is not None and refused.findings:
            raise PromotionError(
                f"{name}: {sha[:12]} failed validation ({len(refused.findings)} finding(s)) "
                "and cannot be approved: fix it and push; nothing was changed"
            )
        if refused is not None and not refused.rewritten:
            raise PromotionError(
                f"{name}: {sha[:12]} was refused ({refused.reason}) and cannot be approved: "
                "fix it and push; nothing was changed"
            )
        rewrites = refused is not None  # accepting a rewritten history is the point
        if state.promoted and not rewrites and not mirror.is_ancestor(state.promoted, sha):
            raise _refusal(
                f"{name}: {sha[:12]} is older than the promoted {state.promoted[:12]} (or "
                "beside it): roll back to go back; nothing was changed",
                NextStep(action="rollback", repository=name),
            )
        reason = "held back by a rollback" if held else "waiting for approval"
        return pending or refused or CommitNote(sha=sha, reason=reason)

    def check_approve(self, name: str, sha: str) -> CommitNote:
        """What ``approve(name, sha)`` would promote (PromotionError when it would refuse);
        reads only, changes nothing. ``approve`` checks again, under the lock."""
        repo = self._repository(name)
        state = self.state.load(name)
        mirror = self.mirror(repo)
        state.promoted = mirror.promoted()
        return self._approvable(name, state, mirror, sha)

    def approve(self, name: str, sha: str) -> SyncResult:
        """Promote a commit waiting for approval (or one whose history was rewritten, or the
        one a rollback holds back), after validating it again; a commit that failed validation
        cannot be approved, and neither can one older than the promoted commit."""
        repo = self._repository(name)
        with self.state.locked(name):
            state = self.state.load(name)
            mirror = self.mirror(repo)
            state.promoted = mirror.promoted()
            self._approvable(name, state, mirror, sha)
            try:
                notes, dags = self._publish(repo, mirror, sha, dry_run=False)
            except ValidationFailed as error:
                raise PromotionError(f"{name}: {sha[:12]} fails validation now: {error}") from None
            except (ReleaseError, StoreError, ConfigError, GitError) as error:
                raise PromotionError(f"{name}: {sha[:12]}: {error}") from None
            moved = self._moved(repo, mirror, state, sha, "approved", "approve", "approved", notes)
            moved.dags = dags
            return self._record(state, moved)

    def _rollback_target(self, name: str, state: RepoState, sha: str) -> None:
        if not SHA_RE.fullmatch(sha):
            raise _refusal(
                f"{sha!r}: give the full commit id", NextStep(action="status", repository=name)
            )
        if sha not in state.history:
            known = ", ".join(s[:12] for s in state.history) or "none"
            raise PromotionError(
                f"{name}: {sha[:12]} was never promoted (promoted before: {known}); "
                "nothing was changed"
            )

    def check_rollback(self, name: str, sha: str) -> bool:
        """Whether ``rollback(name, sha)`` would move anything (False: ``sha`` is promoted and
        running already); PromotionError when it would refuse. Reads only, changes nothing."""
        repo = self._repository(name)
        state = self.state.load(name)
        state.promoted = self.mirror(repo).promoted()
        self._rollback_target(name, state, sha)
        running = read_pointer(self.store, self.config.env, repo.namespace).version
        return not (sha == state.promoted and running == sha)

    def rollback(self, name: str, sha: str) -> SyncResult:
        """Point the namespace back at an earlier promoted commit; the upstream commit seen now
        is not promoted again until a newer one arrives or it is approved."""
        repo = self._repository(name)
        if not SHA_RE.fullmatch(sha):
            raise _refusal(
                f"{sha!r}: give the full commit id", NextStep(action="status", repository=name)
            )
        with self.state.locked(name):
            state = self.state.load(name)
            mirror = self.mirror(repo)
            state.promoted = mirror.promoted()
            self._rollback_target(name, state, sha)
            running = read_pointer(self.store, self.config.env, repo.namespace).version
            if sha == state.promoted and running == sha:
                return SyncResult(name, "unchanged", sha, sha, f"{sha[:12]} is promoted already")
            try:
                rollback(self.store, self.config.env, repo.namespace, sha, self.actor)
            except (PointerConflict, ReleaseError, StoreError) as error:
                raise PromotionError(f"{name}: {error}") from None
            return self._record(
                state,
                self._moved(repo, mirror, state, sha, "rolled-back", "rollback", "rollback", []),
            )

    def remove(self, name: str) -> str | None:
        """Take ``name`` out of the environment, under its lock (so no sync of it runs now):
        its namespace's pointer is removed (its releases stay), the mirror's promoted branch
        is deleted and its state set aside, so the same name added again starts afresh.
        Returns the release it pointed at. The caller removes the entry from the file."""
        repo = self._repository(name)
        with self.state.locked(name):
            try:
                was = retire(self.store, self.config.env, repo.namespace)
            except (ReleaseError, StoreError) as error:
                raise PromotionError(f"{name}: {error}; nothing was changed") from None
            mirror = self.mirror(repo)
            with contextlib.suppress(GitError):
                if mirror.promoted() is not None:
                    mirror.unpromote()
            self.state.set_aside(name)
            self.state.audit("remove", name, self.actor, was,
                             detail=f"{self.config.env}/{repo.namespace} retired")  # fmt: skip
        return was
