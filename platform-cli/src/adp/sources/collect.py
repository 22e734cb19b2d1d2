"""Reading every DAG source of an environment: the release store's packages and the git
repositories of ``airflow-repos.yaml`` with the promoter's state. Reads only."""

from __future__ import annotations

from datetime import UTC, datetime

from adp.errors import UsageError
from adp.releases.listing import PackageReleases, Release, list_releases
from adp.releases.locate import open_store
from adp.releases.names import InvalidName
from adp.releases.pointer import ReleaseError
from adp.releases.store import Store, StoreError
from adp.repos.config import ReposConfig, Repository, redact_url
from adp.repos.state import CommitNote, RepoState, StateDir
from adp.sources.models import (
    AuditInfo,
    CommitInfo,
    PackageSource,
    ReleaseInfo,
    RepositorySource,
    SourceFinding,
    SourcesReport,
    WebhookInfo,
)

AUDIT_SHOWN = 20


class UnknownSource(UsageError, LookupError):
    """No DAG source has that name; the message lists the known ones."""


def age_text(then: datetime | None, now: datetime | None = None) -> str:
    """``then`` as an age: ``never``, ``42s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    if then is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _commit(note: CommitNote) -> CommitInfo:
    return CommitInfo(
        sha=note.sha,
        subject=note.subject,
        seen_at=note.seen_at,
        reason=note.reason,
        findings=[SourceFinding.of_note(f) for f in note.findings],
        dags=list(note.dags),
    )


def _credential_from(repo: Repository) -> str | None:
    if repo.token_env:
        return f"environment variable {repo.token_env}"
    if repo.token_file:
        return f"file {repo.token_file}"
    if repo.ssh_key_env:
        return f"environment variable {repo.ssh_key_env} (known hosts: {repo.known_hosts_file})"
    if repo.ssh_key_file:
        return f"file {repo.ssh_key_file} (known hosts: {repo.known_hosts_file})"
    return None


def receiver_path(name: str) -> str:
    """The receiver's endpoint of repository `name` (adp.webhooks.app: POST /hooks/<name>)."""
    return f"/hooks/{name}"


def webhook_info(repo: Repository) -> WebhookInfo | None:
    """The repository's webhook: provider, receiver path, where the secret is read from."""
    hook = repo.webhook
    if hook is None:
        return None
    secret = (
        f"environment variable {hook.secret_env}" if hook.secret_env else f"file {hook.secret_file}"
    )
    return WebhookInfo(
        provider=hook.provider, receiver_path=receiver_path(repo.name), secret_from=secret
    )


def _release(release: Release) -> ReleaseInfo:
    m = release.manifest
    return ReleaseInfo(
        version=release.version,
        published_at=m.created_at if m else None,
        published_by=m.publisher if m else None,
        git_sha=m.git_sha if m else None,
        image_tag=m.image_tag if m else None,
        files=len(m.files) if m else None,
        dag_ids=[d.dag_id for d in m.dags] if m else [],
        problem=release.problem,
    )


def package_source(env: str, listed: PackageReleases, detail: bool = False) -> PackageSource:
    """One package as ``list_releases`` read it."""
    pointer = listed.current
    releases = [_release(r) for r in listed.releases]
    current = next((r for r in releases if pointer and r.version == pointer.version), None)
    problem = listed.problem
    if pointer is not None and current is None:
        problem = problem or f"current.json points at {pointer.version}, which is not in the store"
    return PackageSource(
        name=listed.package,
        env=env,
        current_version=pointer.version if pointer else None,
        published_at=current.published_at if current else None,
        published_by=current.published_by if current else None,
        git_sha=current.git_sha if current else None,
        image_tag=current.image_tag if current else None,
        dag_ids=current.dag_ids if current else [],
        pointer_action=pointer.action if pointer else None,
        pointer_updated_at=pointer.updated_at if pointer else None,
        pointer_updated_by=pointer.updated_by if pointer else None,
        previous_version=pointer.previous if pointer else None,
        release_count=len(releases),
        problem=problem,
        releases=releases if detail else [],
    )


def _read_releases(store: Store, env: str) -> tuple[dict[str, PackageReleases], str | None]:
    """Every package of ``env`` by name, or the reason the store could not be read."""
    try:
        return {p.package: p for p in list_releases(store, env)}, None
    except (ReleaseError, StoreError, InvalidName, OSError) as error:
        return {}, f"release store {redact_url(store.url)}: {error}"


def repository_source(
    config: ReposConfig,
    repo: Repository,
    state: RepoState,
    listed: PackageReleases | None,
    problem: str | None = None,
    detail: bool = False,
) -> RepositorySource:
    """One repository: its entry, the promoter's state and (``listed``) its namespace's
    releases; ``problem``: why the store was not read."""
    now = datetime.now(UTC)
    upstream = state.upstream
    latest = next((n for n in [*state.pending, *state.refused] if n.sha == upstream), None)
    package = package_source(config.env, listed, detail) if listed is not None else None
    audit: list[AuditInfo] = []
    if detail:
        for entry in StateDir(config.state_dir).audit_entries(repo.name)[-AUDIT_SHOWN:]:
            audit.append(
                AuditInfo(
                    at=str(entry.get("at", "")),
                    action=str(entry.get("action", "")),
                    actor=str(entry.get("actor", "")),
                    commit=entry.get("commit"),
                    detail=str(entry.get("detail", "")),
                    findings=len(entry.get("findings") or []),
                )
            )
    return RepositorySource(
        name=repo.name,
        namespace=repo.namespace,
        env=config.env,
        url=redact_url(repo.url),
        branch=repo.branch,
        path=repo.path,
        auth_type=repo.auth_type,
        credential_from=_credential_from(repo),
        auto_deploy=repo.auto_deploy,
        sync_interval_seconds=repo.sync_interval,
        promoted=state.promoted,
        promoted_at=state.promoted_at,
        release_current=package.current_version if package else None,
        upstream=upstream,
        pending=[_commit(n) for n in state.pending],
        refused=[_commit(n) for n in state.refused],
        last_sync_at=state.last_sync_at,
        last_sync_age=age_text(state.last_sync_at, now),
        last_sync_age_seconds=(
            (now - state.last_sync_at).total_seconds() if state.last_sync_at else None
        ),
        last_outcome=state.last_outcome,
        last_error=state.last_error,
        findings=[SourceFinding.of_note(f) for f in latest.findings] if latest else [],
        dag_ids=package.dag_ids if package else [],
        release_count=package.release_count if package else None,
        releases=package.releases if package else [],
        webhook=webhook_info(repo),
        problem=problem or (package.problem if package else None),
        audit=audit,
    )


def repository_sources(
    config: ReposConfig, store: Store | None = None, detail: bool = False
) -> list[RepositorySource]:
    """Every repository of ``config``; with ``store``, the release each runs (without it the
    store is not read: ``release_current`` stays None)."""
    listed: dict[str, PackageReleases] = {}
    problem = None
    if store is not None and config.repositories:
        listed, problem = _read_releases(store, config.env)
    state_dir = StateDir(config.state_dir)
    return [
        repository_source(
            config,
            repo,
            state_dir.load(repo.name),
            listed.get(repo.namespace) if store is not None and problem is None else None,
            problem,
            detail,
        )
        for repo in config.repositories
    ]


def _store_of(config: ReposConfig | None, store: Store | None) -> Store:
    if store is not None:
        return store
    if config is None:
        raise ValueError("give the release store or an airflow-repos.yaml")
    settings = config.model.release_store
    return open_store(settings.bucket, settings.endpoint_url)


def list_sources(
    config: ReposConfig | None = None,
    store: Store | None = None,
    env: str | None = None,
    detail: bool = False,
) -> SourcesReport:
    """Every DAG source of ``env`` (default: the environment of ``config``): the packages of
    the release store (``store``, default: the one ``config`` names) and, for the environment
    of ``config``, its git repositories. A store that cannot be read is a note, and each
    repository's ``problem``: the repositories' own state is still reported. ``detail``: with
    every package's releases and each repository's latest audit entries (as
    ``source_status``)."""
    store = _store_of(config, store)
    env = env or (config.env if config else None)
    if env is None:
        raise ValueError("give the environment or an airflow-repos.yaml")
    report = SourcesReport(
        env=env, store=redact_url(store.url), config=str(config.path) if config else None
    )
    listed, problem = _read_releases(store, env)
    if problem:
        report.notes.append(problem)
    namespaces: set[str] = set()
    if config is not None and config.env == env:
        state_dir = StateDir(config.state_dir)
        for repo in config.repositories:
            namespaces.add(repo.namespace)
            report.repositories.append(
                repository_source(
                    config,
                    repo,
                    state_dir.load(repo.name),
                    listed.get(repo.namespace),
                    problem,
                    detail,
                )
            )
    report.packages = [
        package_source(env, item, detail) for name, item in listed.items() if name not in namespaces
    ]
    return report


def source_status(
    name: str,
    config: ReposConfig | None = None,
    store: Store | None = None,
    env: str | None = None,
) -> RepositorySource | PackageSource:
    """One source in detail: a repository of ``config`` by its name (or its namespace), else
    a package of the store, with every release (a repository: its latest audit entries).
    ``UnknownSource`` names the known ones."""
    store = _store_of(config, store)
    env = env or (config.env if config else None)
    if env is None:
        raise ValueError("give the environment or an airflow-repos.yaml")
    repos = config.repositories if config is not None and config.env == env else []
    repo = next((r for r in repos if name in (r.name, r.namespace)), None)
    listed, problem = _read_releases(store, env)
    if repo is not None:
        assert config is not None
        state = StateDir(config.state_dir).load(repo.name)
        return repository_source(
            config, repo, state, listed.get(repo.namespace), problem, detail=True
        )
    if name in listed:
        return package_source(env, listed[name], detail=True)
    known_repos = ", ".join(r.name for r in repos) or "none"
    known_packages = ", ".join(p for p in listed if p not in {r.namespace for r in repos}) or "none"
    where = f"; {problem}" if problem else ""
    raise UnknownSource(
        f"no DAG source named {name!r} in {env} (repositories: {known_repos}; packages: "
        f"{known_packages}){where}"
    )
