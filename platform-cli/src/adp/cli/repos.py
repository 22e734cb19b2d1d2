"""`adp repos ...`: git repositories as DAG sources (thin over adp.operations.repos; the
webhook receiver of `adp repos serve` over adp.webhooks). Errors are the operations' own,
reported by the one handler of `adp` (adp.cli.errors).

Exit codes: 0 ok (promoted, unchanged or pending approval), 1 a refused, rewritten,
unreachable or failed sync or a refused request, 2 a bad airflow-repos.yaml or bad options.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adp.errors import NextStep, Problem
from adp.operations import AdpError, Caller, SyncOutcome
from adp.operations import repos as ops
from adp.operations.repos import DEFAULT_FILE, NewRepository, ReposConfig, SyncResult

app = typer.Typer(
    help="Git repositories as DAG sources: validated, scanned, then promoted and published.",
    no_args_is_help=True,
)
console = Console() if sys.stdout.isatty() else Console(width=140)
err = Console(stderr=True, soft_wrap=True)

ConfigPath = Annotated[
    Path,
    typer.Option("--config", envvar="ADP_REPOS_CONFIG", help="The airflow-repos.yaml file."),
]
Actor = Annotated[
    str | None, typer.Option("--actor", help="Who acts, for the audit (default: user@host).")
]
AirflowUrl = Annotated[
    str | None,
    typer.Option(
        "--airflow-url",
        envvar="ADP_AIRFLOW_URL",
        help="A running Airflow to ask to re-parse after a promotion (default: airflow.url "
        "of the file). Token: ADP_AIRFLOW_TOKEN.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def command(step: NextStep) -> str:
    """``step`` as the command that does it: ``adp repos approve NAME SHA``, ``adp repos status
    NAME``, ``adp repos rollback NAME <sha>`` (the person picks the commit)."""
    words = ["adp", "repos", step.action, step.repository]
    if step.action in ("approve", "rollback"):
        words.append(step.commit or "<sha>")
    return " ".join(words)


def with_step(text: str, step: NextStep | None) -> str:
    """A sync's ``detail`` followed by its next step as a command."""
    return f"{text}: {command(step)}" if step is not None else text


def _worded(problem: Problem, positional: bool) -> Problem:
    """``problem`` as this command says it: NAME or SHA without a flag, the next step as the
    command's fix."""
    update: dict[str, object] = {"loc": ()} if positional else {}
    step = getattr(problem, "next_step", None)  # airflow-repos.yaml's FileProblem has none
    if step is not None and problem.fix is None:
        update |= {"fix": command(step), "next_step": None}
    return problem.model_copy(update=update)


@contextlib.contextmanager
def _positional() -> Iterator[None]:
    """An operation's error about NAME or SHA (arguments, not options): shown without a flag;
    a problem's next step shown as the command that does it."""
    try:
        yield
    except AdpError as error:
        positional = error.loc[:1] in (("name",), ("sha",)) and not any(
            p.file for p in error.problems
        )
        if not positional and not any(getattr(p, "next_step", None) for p in error.problems):
            raise
        problems = [_worded(p, positional) for p in error.problems]
        raise type(error)(problems=problems) from None


def _caller(actor: str | None, airflow_url: str | None) -> Caller:
    return Caller(actor=actor, airflow_url=airflow_url)


def _say(result: SyncOutcome) -> None:
    colour = "green" if result.ok else "red"
    typer.echo(f"{result.repository}: ", nl=False)
    detail = with_step(result.detail, result.next_step)
    console.print(f"[{colour}]{result.outcome}[/] {escape(detail)}", highlight=False)
    for note in result.findings:
        typer.echo(f"  {note.location}: {note.rule} [{note.severity}] {note.message}")
    if result.reparse:
        typer.echo(f"  {result.reparse}")


@app.command("sync")
def sync_command(
    name: Annotated[str | None, typer.Argument(help="The repository (default: --all).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every repository of the file.")] = False,
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
) -> None:
    """Fetch, validate and scan the tracked branch's new commit; promote and publish it if it
    passes and auto_deploy is on, else keep it for approval. The promoted commit stays on any
    failure."""
    cfg = ops.open_config(config)
    if name is None and not all_:
        raise _fail("name a repository or pass --all", 2)
    caller = _caller(actor, airflow_url)
    ops.promoter(cfg, caller)  # a store that cannot be opened is refused before any sync
    names = [r.name for r in cfg.repositories] if name is None else [name]
    worst = 0
    for each in names:
        with _positional():
            result = ops.sync(cfg, each, caller, reason="adp repos sync")
        _say(result)
        worst = max(worst, 0 if result.ok else 1)
    raise typer.Exit(worst)


def _decide(
    config: Path, actor: str | None, airflow_url: str | None, action: str, name: str, sha: str
) -> None:
    """A person's decision on one commit: ``approve`` or ``rollback``."""
    decide = ops.approve if action == "approve" else ops.rollback
    with _positional():
        _say(decide(config, name, sha, _caller(actor, airflow_url)))


@app.command("approve")
def approve_command(
    name: Annotated[str, typer.Argument(help="The repository.")],
    sha: Annotated[str, typer.Argument(help="The full commit id waiting for approval.")],
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
) -> None:
    """Promote a commit waiting for approval (validated again first)."""
    _decide(config, actor, airflow_url, "approve", name, sha)


@app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="The repository.")],
    sha: Annotated[str, typer.Argument(help="A commit promoted before (full id).")],
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
) -> None:
    """Point the repository's namespace back at a commit promoted before."""
    _decide(config, actor, airflow_url, "rollback", name, sha)


def _status_data(cfg: ReposConfig, with_store: bool) -> list[dict[str, Any]]:
    """Each repository as adp.sources reads it (the store only ``with_store``)."""
    return [
        r.model_dump(mode="json", exclude={"audit"}) for r in ops.list_repositories(cfg, with_store)
    ]


@app.command("list")
def list_command(config: ConfigPath = Path(DEFAULT_FILE), as_json: AsJson = False) -> None:
    """The repositories of the file, with their promoted commit and last sync."""
    cfg = ops.open_config(config)
    rows = _status_data(cfg, False)
    if as_json:
        typer.echo(json.dumps({"env": cfg.env, "repositories": rows}, indent=2))
        return
    table = Table("name", "namespace", "url", "branch", "auth", "auto", "promoted", "last sync")
    for r in rows:
        table.add_row(
            r["name"],
            r["namespace"],
            escape(r["url"]),
            r["branch"],
            r["auth_type"],
            "yes" if r["auto_deploy"] else "no",
            (r["promoted"] or "-")[:12],
            f"{r['last_outcome'] or '-'} ({r['last_sync_age']})",
        )
    console.print(table)
    if not rows:
        typer.echo(f"no repositories in {cfg.path}; adp repos add")


@app.command("status")
def status_command(
    name: Annotated[str | None, typer.Argument(help="Only this repository.")] = None,
    config: ConfigPath = Path(DEFAULT_FILE),
    as_json: AsJson = False,
) -> None:
    """Each repository's promoted commit, the release Airflow runs, the last sync and why it
    did not promote (pending approval, findings, rewritten history, unreachable); first the
    release store and state folder used (relative paths of the file are relative to its
    folder)."""
    cfg = ops.open_config(config)
    if name is not None:
        with _positional():
            ops.find_repository(cfg, name)
    promoter = ops.promoter(cfg)
    rows = [r for r in _status_data(cfg, True) if name in (None, r["name"])]
    settings = cfg.model.release_store  # its paths made absolute against the file's folder
    store = {
        "url": promoter.store.url,
        "bucket": settings.bucket,
        "endpoint_url": settings.endpoint_url,
        "env": cfg.env,
    }
    if as_json:
        data = {"env": cfg.env, "release_store": store, "state_dir": str(cfg.state_dir)}
        typer.echo(json.dumps({**data, "repositories": rows}, indent=2))
        return
    typer.echo(f"release store: {store['url']} (env {cfg.env})")
    typer.echo(f"state:         {cfg.state_dir}")
    for r in rows:
        typer.echo(f"{r['name']} ({r['url']} {r['branch']} -> {cfg.env}/{r['namespace']})")
        typer.echo(f"  promoted:  {r['promoted'] or 'none'}")
        typer.echo(f"  running:   {r['release_current'] or 'none'} (release store pointer)")
        if r["problem"]:
            typer.echo(f"  problem:   {r['problem']}")
        if r["dag_ids"]:
            typer.echo(f"  DAGs:      {', '.join(r['dag_ids'])}")
        typer.echo(f"  upstream:  {r['upstream'] or 'not fetched yet'}")
        typer.echo(f"  last sync: {r['last_outcome'] or '-'} ({r['last_sync_age']})")
        if r["last_error"]:
            typer.echo(f"  why:       {r['last_error']}")
        for kind in ("pending", "refused"):
            for note in r[kind]:
                typer.echo(f"  {kind}:   {note['sha'][:12]} {note['subject']}")
                reason = note["reason"]
                if kind == "pending":  # a pending commit's next step: approve it
                    step = NextStep(action="approve", repository=r["name"], commit=note["sha"])
                    reason = with_step(reason, step)
                typer.echo(f"             {reason}")
                for f in note["findings"]:
                    typer.echo(f"             {f['location']}: {f['rule']} {f['message']}")


@app.command("audit")
def audit_command(
    name: Annotated[str | None, typer.Argument(help="Only this repository.")] = None,
    config: ConfigPath = Path(DEFAULT_FILE),
    as_json: AsJson = False,
) -> None:
    """Every promotion, refusal, approval, rollback, addition and removal, oldest first."""
    entries = ops.audit(config, name)
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        commit = (e["commit"] or "")[:12]
        found = f" ({len(e['findings'])} finding(s))" if e["findings"] else ""
        typer.echo(
            f"{e['at']} {e['action']:<9} {e['repository']} {commit} by {e['actor']}"
            f"{found} {e['detail']}"
        )


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The repository's name (used in URLs and files).")],
    url: Annotated[str, typer.Option("--url", help="https://, ssh://, user@host:path, file://")],
    namespace: Annotated[
        str, typer.Option("--namespace", help="Its package: DAG ids start with <namespace>_.")
    ],
    branch: Annotated[str, typer.Option("--branch", help="The branch to track.")] = "main",
    auth_type: Annotated[
        str, typer.Option("--auth-type", help="public, oauth_token or ssh_key.")
    ] = "public",
    path: Annotated[str, typer.Option("--path", help="Folder of the DAGs in the repo.")] = "",
    sync_interval: Annotated[str, typer.Option("--sync-interval", help="e.g. 60s, 5m.")] = "60s",
    token_env: Annotated[str | None, typer.Option("--token-env")] = None,
    token_file: Annotated[str | None, typer.Option("--token-file")] = None,
    ssh_key_file: Annotated[str | None, typer.Option("--ssh-key-file")] = None,
    ssh_key_env: Annotated[str | None, typer.Option("--ssh-key-env")] = None,
    known_hosts_file: Annotated[str | None, typer.Option("--known-hosts-file")] = None,
    no_auto_deploy: Annotated[
        bool, typer.Option("--no-auto-deploy", help="Keep passing commits for approval.")
    ] = False,
    webhook_provider: Annotated[
        str | None, typer.Option("--webhook-provider", help="github, gitlab or bitbucket.")
    ] = None,
    webhook_secret_env: Annotated[str | None, typer.Option("--webhook-secret-env")] = None,
    webhook_secret_file: Annotated[str | None, typer.Option("--webhook-secret-file")] = None,
    bucket: Annotated[
        str | None, typer.Option("--bucket", help="Release store, when creating the file.")
    ] = None,
    env: Annotated[str | None, typer.Option("--env", help="Environment, when creating it.")] = None,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Do not sync it now.")] = False,
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
) -> None:
    """Add a repository to airflow-repos.yaml (the rest of the file stays as written), then
    sync it: its DAGs reach the running Airflow with no restart."""
    new = NewRepository(
        name=name,
        url=url,
        namespace=namespace,
        branch=branch,
        auth_type=auth_type,
        path=path,
        sync_interval=sync_interval,
        token_env=token_env,
        token_file=token_file,
        ssh_key_file=ssh_key_file,
        ssh_key_env=ssh_key_env,
        known_hosts_file=known_hosts_file,
        auto_deploy=not no_auto_deploy,
        webhook_provider=webhook_provider,
        webhook_secret_env=webhook_secret_env,
        webhook_secret_file=webhook_secret_file,
    )
    added = ops.add_repository(
        config, new, _caller(actor, airflow_url), bucket, env, not no_sync, "adp repos add"
    )
    typer.echo(f"added {name} to {config}")
    if added.sync is not None:
        _say(added.sync)
        raise typer.Exit(0 if added.sync.ok else 1)


@app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The repository.")],
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
) -> None:
    """Remove a repository: out of the file, and its namespace out of the environment (its
    pointer is removed; its releases stay for the record). No Airflow restart."""
    with _positional():
        removal = ops.remove_repository(config, name, _caller(actor, airflow_url))
    typer.echo(
        f"removed {name}: {removal.env}/{removal.namespace} ({removal.release or 'no release'}) "
        "is out of the environment"
    )
    if removal.reparse:
        typer.echo(removal.reparse)


@app.command("bundle-config")
def bundle_config_command(
    mirror_url: Annotated[
        str,
        typer.Option(
            "--mirror-url",
            help="Where Airflow reaches the mirrors, with {name}: file:///srv/mirrors/{name}.git",
        ),
    ],
    config: ConfigPath = Path(DEFAULT_FILE),
) -> None:
    """Print stock GitDagBundle entries tracking each promoted branch, and their connections.

    The platform's own bundle needs no restart when a repository is added; these do."""
    bundles = ops.git_bundles(config, mirror_url)
    err.print(f"[yellow]note:[/] {bundles.note}", highlight=False)
    value = json.dumps(bundles.entries, separators=(",", ":"))
    typer.echo(f"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST={value}")
    for key, value in bundles.connections.items():
        typer.echo(f"{key}={value}")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8099,
    config: ConfigPath = Path(DEFAULT_FILE),
    actor: Actor = None,
    airflow_url: AirflowUrl = None,
    # The defaults are adp.webhooks.ConnectionLimits' (not imported here: it needs uvicorn).
    read_timeout: Annotated[
        float,
        typer.Option(
            "--read-timeout",
            help="Seconds a client has to send a whole request (headers and body), else 408.",
        ),
    ] = 10.0,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            help="Open connections at most; when full, a connection still reading a request "
            "gives way to a new one.",
        ),
    ] = 256,
    max_connections_per_client: Annotated[
        int,
        typer.Option(
            "--max-connections-per-client",
            help="Connections one client address (IPv6: one /64) may hold. Behind a reverse "
            "proxy every connection comes from the proxy: set it to --max-connections.",
        ),
    ] = 16,
) -> None:
    """The webhook receiver: POST /hooks/<name> (GitHub, GitLab, Bitbucket; signed), with
    polling at each sync_interval as the fallback; GET /healthz and /metrics."""
    from adp.operations.validate import ImportStandby
    from adp.webhooks.app import create_app, serve
    from adp.webhooks.connections import ConnectionLimits
    from adp.webhooks.targets import HookTarget

    try:
        limits = ConnectionLimits(read_timeout, max_connections, max_connections_per_client)
    except ValueError as error:  # the message starts with the setting's name: name the option
        raise _fail("--" + str(error).replace("_", "-"), 2) from None
    cfg = ops.open_config(config)
    promoter = ops.promoter(
        cfg, _caller(actor or f"{ops.promoter(cfg).actor} (adp repos serve)", airflow_url)
    )
    targets = []
    for repo in cfg.repositories:
        secret = ops.webhook_secret(cfg, repo)
        provider = repo.webhook.provider if repo.webhook is not None else "github"
        targets.append(
            HookTarget(repo.name, provider, secret, repo.branch, poll_interval=repo.sync_interval)
        )

    def sync(name: str, reason: str) -> SyncResult:
        result = promoter.sync(name, reason=reason)
        detail = with_step(result.detail, result.next_step)
        print(f"{result.repository}: {result.outcome} {detail} ({reason})", flush=True)
        return result

    # A long-running receiver keeps one import-check worker warm (Airflow imported) for the
    # next push: validating a small commit takes about 1 s instead of 3 s.
    with ImportStandby() as standby:
        promoter.standby = standby
        receiver = create_app(targets, sync, cfg.state_dir / "webhooks")
        serve(receiver, host=host, port=port, limits=limits)
