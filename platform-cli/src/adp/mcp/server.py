"""The MCP server: the tools of ``adp.mcp.operations`` registered on the SDK's ``MCPServer``
(FastMCP in mcp 1.x), with typed, documented parameters and annotations, served over stdio.

The user, not the model, confirms: a destructive tool and an ``add_repository`` that names a
credential (or creates ``airflow-repos.yaml``) ask the user through the client (elicitation).
``add_repository`` is refused where the client cannot ask; an argument such as ``confirm``
never stands for the user there.

No ``from __future__ import annotations`` here: the SDK reads the tools' annotations (the
parameters' ``Field`` descriptions and the ``Context`` parameter) at registration.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from adp import __version__
from adp.mcp.models import (
    AddReport,
    DecisionReport,
    RemovalReport,
    SourceStatus,
    SyncReport,
    ValidationReport,
)
from adp.mcp.operations import AddPlan, Operations, Settings, ToolInputError, chat_text
from adp.operations import AdpError, SourcesReport
from adp.operations.repos import INLINE_SECRETS, NewRepository

T = TypeVar("T")

INSTRUCTIONS = """\
The Airflow Data Platform's DAG sources: git repositories (airflow-repos.yaml) whose commits \
are validated and scanned, then promoted and published to the release store, and packages \
published to that store. Airflow runs what the store points at; no restart is needed to add \
or remove a source.

To add a user's repository: add_repository (name, url, and how it authenticates: public, or \
oauth_token with token_env/token_file naming where the token is, or ssh_key). It writes \
airflow-repos.yaml, runs the first sync (fetch, validate, scan, promote, publish) and reports \
the outcome, the promoted commit, the DAG ids found, any findings, and how to set up the \
webhook. Credentials never pass through the chat: ask the user for the NAME of an \
environment variable or file, never for a token or secret. Only the credentials the operator \
allowed can be named, and only for the hosts the operator allowed; the user confirms such a \
repository in their client (you cannot confirm it for them).

remove_repository, approve and rollback change nothing unless called with confirm=true: \
first call them without it, show the user what they would do, and call again with \
confirm=true only once the user agreed. list_sources and source_status read only; \
validate_dag_file checks one DAG file (a path or its text) as adp dags validate does."""

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
SECRETISH = ("token", "secret", "password", "passwd", "key", "credential")


class Confirm(BaseModel):
    """What the user answers when the client asks for confirmation (elicitation)."""

    confirm: bool = Field(description="true: go ahead; false: change nothing.")


def _argument_problems(tool: str, error: ValidationError) -> str:
    """The SDK's argument validation error, without the values given (a value in the wrong
    place may be a credential): each argument, what is wrong and the fix."""
    problems = []
    for item in error.errors():
        argument = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = "required: give it" if item["type"] == "missing" else item["msg"]
        problems.append(f"{argument}: {message}")
    return f"Error executing tool {tool}: " + "; ".join(problems) + " (nothing was changed)"


class AdpServer(MCPServer):
    """``MCPServer`` whose argument errors never echo a value and that refuses arguments a
    tool does not take (a ``token`` would otherwise be silently dropped)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = next((t for t in await self.list_tools() if t.name == name), None)
        if tool is not None:
            known = set((tool.input_schema or {}).get("properties", {}))
            for argument in sorted(set(arguments) - known):
                hint = ""
                if argument.lower() in INLINE_SECRETS or any(
                    word in argument.lower() for word in SECRETISH
                ):
                    hint = (
                        ": credentials never pass through a chat; put the value in an "
                        "environment variable or a file where adp mcp runs and give its name "
                        "(token_env, token_file, ssh_key_env, ssh_key_file, webhook_secret_env, "
                        "webhook_secret_file)"
                    )
                elif argument == "confirm":
                    hint = (
                        ": the user confirms it in the client (elicitation) when it names a "
                        "credential or creates the file, never an argument of the model"
                    )
                raise ToolError(
                    f"Error executing tool {name}: {argument}: not a parameter of {name} "
                    f"(its parameters: {', '.join(sorted(known)) or 'none'}){hint}; nothing "
                    "was changed"
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            cause = error.__cause__
            if isinstance(cause, ValidationError) and not isinstance(error, UnexpectedToolError):
                raise ToolError(_argument_problems(name, cause)) from None
            raise


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` on a worker thread (git, validation and the store block); an ``AdpError`` (an
    operation's, naming the argument in ``loc``) as the tool's error."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    except AdpError as error:  # loc names the tool's argument
        raise ToolError(chat_text(error.problems)) from None


def _can_ask_the_user(ctx: Context) -> bool:
    """Whether the client offers (form) elicitation: a question to the user, not the model."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and not (
        elicitation.form is None and elicitation.url is not None
    )


async def _user_says_yes(ctx: Context, question: str) -> bool:
    """The user's yes to ``question`` (a decline, a cancel, or no answer: False)."""
    try:
        answer = await ctx.elicit(question, Confirm)
    except Exception:  # the client offered elicitation but cannot answer: nothing changes
        return False
    return answer.action == "accept" and answer.data is not None and answer.data.confirm


async def _add_confirmed(ctx: Context, plan: AddPlan) -> bool:
    """Whether the user confirmed ``plan``. A repository's code is deployed to Airflow once it
    passes validation, so the user is asked whenever the client can ask; a repository without
    credentials is added without a question only by a client that cannot ask. One that names
    a credential (``plan.ask``) is refused with the argument and the fix there."""
    if plan.ask is None:
        if _can_ask_the_user(ctx):
            return await _user_says_yes(ctx, f"{plan.question}. Go ahead?")
        return True
    if not _can_ask_the_user(ctx):
        raise ToolError(
            str(
                ToolInputError(
                    plan.ask,
                    "a repository with a credential, or a new airflow-repos.yaml with its "
                    "release store, is added only once the user confirms it in their client "
                    "(MCP elicitation), which this client does not offer; the model cannot "
                    "confirm it. Use a client with elicitation, or have the operator run adp "
                    "repos add (nothing was written)",
                )
            )
        )
    return await _user_says_yes(ctx, f"{plan.question}. Go ahead?")


async def _confirmed(ctx: Context, summary: str, confirm: bool) -> bool:
    """Whether a destructive tool may go ahead. A client that can ask the user is always
    made to ask, whatever `confirm` says (the model cannot confirm for the user); only
    without elicitation does confirm=true stand for the user's yes."""
    if not _can_ask_the_user(ctx):
        return confirm
    return await _user_says_yes(ctx, f"{summary}. Go ahead?")


def create_server(settings: Settings) -> AdpServer:
    """The server with every tool of ``Operations(settings)``."""
    ops = Operations(settings)
    server = AdpServer(
        "adp",
        title="Airflow Data Platform",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    Name = Annotated[
        str,
        Field(
            description="The repository's name, as list_sources shows it (1-63 lowercase "
            "letters, digits, '-' and '_')."
        ),
    ]
    Sha = Annotated[
        str,
        Field(description="The full commit id (40 hex digits), as source_status shows it."),
    ]
    ConfirmArg = Annotated[
        bool,
        Field(
            description="true to go ahead. Without it nothing is changed: the answer says what "
            "would be done. Set it only once the user agreed."
        ),
    ]

    @server.tool(title="List DAG sources", annotations=READ_ONLY)
    async def list_sources(
        env: Annotated[
            str | None,
            Field(
                description="Another environment of the same release store (its packages "
                "only). Default: the environment of airflow-repos.yaml."
            ),
        ] = None,
    ) -> SourcesReport:
        """Every DAG source of the environment: the git repositories of airflow-repos.yaml
        (URL, branch, promoted commit, the release Airflow runs, commits awaiting approval,
        last sync and its outcome, findings) and the packages published to the release store
        (current version, published at and by, git sha, DAG ids, release count)."""
        return await _run(ops.list_sources, env)

    @server.tool(title="Status of one DAG source", annotations=READ_ONLY)
    async def source_status(
        name: Annotated[
            str,
            Field(
                description="A repository's name (or namespace) or a package's name, as "
                "list_sources shows them."
            ),
        ],
    ) -> SourceStatus:
        """One DAG source in detail: for a repository everything list_sources shows plus its
        pending and refused commits with their findings (rule id, file:line, message) and its
        latest audit entries; for a package every release."""
        return await _run(ops.source_status, name)

    policy = settings.policy.describe()

    @server.tool(
        title="Add a git repository",
        description=(
            "Add a git repository as a DAG source: write its entry into airflow-repos.yaml "
            "(the rest of the file as written; nothing written when anything is wrong), then "
            "run its first sync: fetch the branch, validate and scan the commit, and promote "
            "and publish it if it passes. Reports the outcome, the promoted commit, the DAG "
            "ids found, findings (rule id, file:line, message) and how to set up the push "
            "webhook. Credentials are given by the name of their variable or file only. "
            + policy
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False,
            open_world_hint=True,
        ),
    )  # fmt: skip
    async def add_repository(
        name: Annotated[
            str,
            Field(
                description="Its name in airflow-repos.yaml: 1-63 lowercase letters, digits, "
                "'-' and '_' (it is part of its webhook URL, /hooks/<name>)."
            ),
        ],
        url: Annotated[
            str,
            Field(
                description="https://host/path.git, ssh://user@host/path, user@host:path or "
                "file:///path. Never with a user name or token in it."
            ),
        ],
        namespace: Annotated[
            str | None,
            Field(
                description="The package its DAGs are published as: every DAG id must start "
                "with <namespace>_ (lowercase letters, digits and '_', starting with a letter). "
                "Default: the name, '-' written as '_'."
            ),
        ] = None,
        branch: Annotated[str, Field(description="The branch to track.")] = "main",
        auth_type: Annotated[
            Literal["public", "oauth_token", "ssh_key"],
            Field(
                description="public (no credential), oauth_token (token_env or token_file) or "
                "ssh_key (ssh_key_file or ssh_key_env, and known_hosts_file)."
            ),
        ] = "public",
        path: Annotated[
            str, Field(description="The repository's folder of DAGs ('' = the whole tree).")
        ] = "",
        sync_interval: Annotated[
            str | None,
            Field(
                description="How often it is polled, the fallback to webhooks: 60s, 5m, 1h "
                "(10s to 24h). Default 60s."
            ),
        ] = None,
        token_env: Annotated[
            str | None,
            Field(
                description="oauth_token: the NAME of an environment variable the operator "
                "allowed (adp mcp --credential-env) holding the token. Never the token."
            ),
        ] = None,
        token_file: Annotated[
            str | None,
            Field(
                description="oauth_token: a file in the operator's secrets folder (adp mcp "
                "--secrets-dir; relative to it) holding the token. Never the token."
            ),
        ] = None,
        token_username: Annotated[
            str | None,
            Field(
                description="The user name sent with the token: x-access-token (GitHub, the "
                "default), oauth2 (GitLab), x-token-auth (Bitbucket)."
            ),
        ] = None,
        ssh_key_file: Annotated[
            str | None,
            Field(description="ssh_key: a file in the secrets folder holding the private key."),
        ] = None,
        ssh_key_env: Annotated[
            str | None,
            Field(description="ssh_key: the NAME of an allowed variable holding the key."),
        ] = None,
        known_hosts_file: Annotated[
            str | None,
            Field(description="ssh_key: a file in the secrets folder with the pinned host key."),
        ] = None,
        auto_deploy: Annotated[
            bool,
            Field(
                description="Promote a commit that passes at once (false: it waits for approve)."
            ),
        ] = True,
        webhook_provider: Annotated[
            Literal["github", "gitlab", "bitbucket"] | None,
            Field(
                description="Announce pushes through the webhook receiver (with "
                "webhook_secret_env or webhook_secret_file). Default: polled only."
            ),
        ] = None,
        webhook_secret_env: Annotated[
            str | None,
            Field(
                description="The NAME of an allowed environment variable holding the webhook's "
                "shared secret where the receiver runs. Never the secret."
            ),
        ] = None,
        webhook_secret_file: Annotated[
            str | None,
            Field(description="A file in the secrets folder holding the webhook's secret."),
        ] = None,
        bucket: Annotated[
            str | None,
            Field(
                description="Only when airflow-repos.yaml does not exist yet: the release store "
                "(s3://bucket, file:///folder or a folder). The user confirms it."
            ),
        ] = None,
        env: Annotated[
            str | None,
            Field(
                description="Only when airflow-repos.yaml does not exist yet: the environment "
                "(for example dev)."
            ),
        ] = None,
        sync: Annotated[
            bool,
            Field(description="Run the first sync now: fetch, validate, scan, promote, publish."),
        ] = True,
        *,
        ctx: Context,
    ) -> AddReport:
        new = NewRepository(
            name=name,
            url=url,
            namespace=namespace if namespace is not None else name.replace("-", "_"),
            branch=branch,
            auth_type=auth_type,
            path=path,
            sync_interval=sync_interval,
            token_env=token_env,
            token_file=token_file,
            token_username=token_username,
            ssh_key_file=ssh_key_file,
            ssh_key_env=ssh_key_env,
            known_hosts_file=known_hosts_file,
            auto_deploy=auto_deploy,
            webhook_provider=webhook_provider,
            webhook_secret_env=webhook_secret_env,
            webhook_secret_file=webhook_secret_file,
        )
        plan = await _run(ops.prepare_add, new, sync, bucket, env)
        if not await _add_confirmed(ctx, plan):
            raise ToolError(
                str(
                    ToolInputError(
                        plan.ask or "name",
                        f"the user did not confirm adding {name}: nothing was written",
                    )
                )
            )
        return await _run(ops.add_repository, plan, sync, True)

    @server.tool(
        title="Remove a git repository",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False,
            open_world_hint=False,
        ),
    )  # fmt: skip
    async def remove_repository(
        name: Name, ctx: Context, confirm: ConfirmArg = False
    ) -> RemovalReport:
        """Remove a repository: its namespace leaves the environment (its DAGs leave Airflow
        at the next refresh; its releases and audit stay), its promoted branch is deleted and
        its entry taken out of airflow-repos.yaml. Destructive: without confirm=true nothing
        is changed and the answer says what would be done."""
        plan = await _run(ops.remove_repository, name, False)
        if not await _confirmed(ctx, plan.summary, confirm):
            return plan
        return await _run(ops.remove_repository, name, True)

    @server.tool(
        title="Sync a git repository",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True,
            open_world_hint=True,
        ),
    )  # fmt: skip
    async def sync(name: Name) -> SyncReport:
        """Fetch the repository's branch now; validate and scan a new commit; promote and
        publish it if it passes and auto_deploy is on, else keep it for approval. The promoted
        commit, and what Airflow runs, stay on any failure."""
        return await _run(ops.sync, name)

    @server.tool(
        title="Approve a commit",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False,
            open_world_hint=False,
        ),
    )  # fmt: skip
    async def approve(
        name: Name, sha: Sha, ctx: Context, confirm: ConfirmArg = False
    ) -> DecisionReport:
        """Promote a commit waiting for approval (auto_deploy off, a rewritten history, or the
        commit a rollback holds back), after validating it again: Airflow then runs it.
        Destructive: without confirm=true nothing is changed and the answer says what would be
        done."""
        plan = await _run(ops.approve, name, sha, False)
        if not await _confirmed(ctx, plan.summary, confirm):
            return plan
        return await _run(ops.approve, name, sha, True)

    @server.tool(
        title="Roll a repository back",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True,
            open_world_hint=False,
        ),
    )  # fmt: skip
    async def rollback(
        name: Name, sha: Sha, ctx: Context, confirm: ConfirmArg = False
    ) -> DecisionReport:
        """Point the repository's namespace back at a commit promoted before: Airflow runs it
        again, and the newest upstream commit is held back until a newer one arrives or it is
        approved. Destructive: without confirm=true nothing is changed and the answer says what
        would be done."""
        plan = await _run(ops.rollback, name, sha, False)
        if plan.how_to_confirm is None or not await _confirmed(ctx, plan.summary, confirm):
            return plan
        return await _run(ops.rollback, name, sha, True)

    @server.tool(
        title="Validate a DAG file",
        # Not read-only: the import check runs the file's code (network blocked, credential-
        # like environment removed), so clients must not approve it unasked.
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True,
            open_world_hint=True,
        ),
    )  # fmt: skip
    async def validate_dag_file(
        path: Annotated[
            str | None,
            Field(
                description="A .py file under the folders this server validates (relative "
                "paths: under the first of them). Give path or text."
            ),
        ] = None,
        text: Annotated[
            str | None, Field(description="The file's content, instead of a path.")
        ] = None,
        filename: Annotated[
            str, Field(description="With text: the file's name, for example sales_daily.py.")
        ] = "dag.py",
        package: Annotated[
            str | None,
            Field(
                description="The package the DAGs belong to: every DAG id must start with "
                "<package>_. Default: no prefix rule."
            ),
        ] = None,
        import_check: Annotated[
            bool,
            Field(
                description="Import the file (network blocked, credential-like environment "
                "removed, a timeout): needed for the DAG rules. It runs the file's code."
            ),
        ] = True,
        fail_on: Annotated[
            Literal["error", "warning"],
            Field(description="The severity that fails the file."),
        ] = "error",
    ) -> ValidationReport:
        """Validate and scan one DAG file as adp dags validate does (syntax, import in
        isolation, naming, top-level work, hardcoded secrets, dangerous calls, Airflow 3
        removals): the findings with rule id, file:line, message and fix, and the DAG ids
        the file defines."""
        return await _run(
            ops.validate_dag_file, path, text, filename, package, import_check, fail_on
        )

    return server


def serve(settings: Settings) -> None:
    """Run the server over stdio until the client closes it. A long-running server keeps one
    import-check worker warm, as the webhook receiver does."""
    from adp.operations.validate import ImportStandby

    with ImportStandby() as standby:
        settings.standby = standby
        create_server(settings).run("stdio")
