"""The tools' work, free of the MCP SDK: each takes the tool's arguments and returns a model of
``adp.mcp.models``, or raises an ``adp.errors`` type whose ``loc`` names the argument
(``ToolInputError`` for this module's own refusals), having changed nothing. Every action is an
operation of ``adp.operations``; this module adds what is the chat's own (the refusal of a
pasted credential, the operator's credential policy, the confirmation) and words the answers
for a chat (``chat_text`` renders an error's problems as ``argument: message``).

Adding a repository is two steps: ``prepare_add`` checks everything (the entry as the file
would hold it, then the operator's credential policy, ``adp.mcp.credential_policy``) and says
whether the user must confirm it (any credential, or a new file with its release store);
``add_repository`` writes and syncs only a prepared addition, and only one the user confirmed
when it needs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from adp.errors import Problem, UsageError
from adp.mcp.credential_policy import (
    CredentialPolicy,
    PolicyError,
    credential_fields,
    has_credential,
)
from adp.mcp.hosts import HostError, endpoint_of
from adp.mcp.models import (
    AddReport,
    DecisionReport,
    RemovalReport,
    SourceStatus,
    SyncReport,
    ValidationReport,
    WebhookSetup,
    tool_call,
)
from adp.operations import Caller
from adp.operations import repos as ops
from adp.operations.repos import (
    TOKEN_PREFIXES,
    NewRepository,
    ReposConfig,
    ReposConfigError,
    Repository,
    RepositorySource,
    SourcesReport,
    receiver_path,
    redact_url,
    webhook_info,
)
from adp.operations.validate import ImportStandby, validate_dag_file

CONFIRM = "call {tool} again with the same arguments and confirm=true"


class ToolInputError(UsageError, ValueError):
    """An argument cannot be used; nothing was changed. ``loc`` is the argument; the message
    starts with its name."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(message, loc=(argument,))


def chat_text(problems: list[Problem]) -> str:
    """An error's problems as a tool error says them: ``argument: message``, the first one
    first and the others after ``also``; a problem of airflow-repos.yaml as the file says it
    (``file:line: field: message``). A problem's next step is named as this server's tool."""

    def one(p: Problem) -> str:
        text = p.text() if p.file or not p.loc else f"{p.loc[0]}: {p.message}"
        step = getattr(p, "next_step", None)  # airflow-repos.yaml's FileProblem has none
        return f"{text} ({tool_call(step)})" if step else text

    parts = [one(p) for p in problems]
    return parts[0] + "".join(f"; also {part}" for part in parts[1:])


@dataclass
class Settings:
    """How ``adp mcp`` was started."""

    config: Path
    actor: str | None = None
    airflow_url: str | None = None
    validate_roots: list[Path] = field(default_factory=lambda: [Path.cwd()])
    webhook_base_url: str | None = None
    policy: CredentialPolicy = field(default_factory=CredentialPolicy)
    # the import check's worker kept warm by the server (``serve``); None: each run starts one
    standby: ImportStandby | None = None


@dataclass(frozen=True)
class AddPlan:
    """A repository addition checked by ``prepare_add``: ``new`` as it will be written (its
    credential files as the absolute paths checked); ``ask`` is the argument the user's
    confirmation stands for (None: no confirmation needed) and ``question`` what they are
    asked (names only, never a value)."""

    new: NewRepository
    bucket: str | None
    env: str | None
    ask: str | None
    question: str


def looks_like_credential(value: str) -> bool:
    """A token of a common git host, or a private key: a value pasted where a name belongs."""
    text = value.strip()
    return text.startswith(TOKEN_PREFIXES) or "PRIVATE KEY" in text or text.startswith("-----")


def credential_refusal(argument: str) -> ToolInputError:
    return ToolInputError(
        argument,
        "this looks like a credential (the value is not shown): credentials never pass "
        "through a chat or airflow-repos.yaml. Put it in an environment variable or a file "
        "on the machine running adp mcp and give the name: token_env or token_file, "
        "ssh_key_env or ssh_key_file, webhook_secret_env or webhook_secret_file",
    )


class Operations:
    """The tools of one ``adp mcp`` process. The file is read again at every call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- helpers -------------------------------------------------------------------------
    def _caller(self) -> Caller:
        return Caller(
            actor=self.settings.actor,
            airflow_url=self.settings.airflow_url,
            standby=self.settings.standby,
        )

    def _config(self) -> ReposConfig:
        path = self.settings.config
        try:
            return ops.open_config(path)
        except ReposConfigError as error:
            raise ToolInputError(
                "config",
                f"{error}. Fix {path} (adp mcp --config names it; add_repository creates it "
                "when it does not exist)",
            ) from None

    # -- reading -------------------------------------------------------------------------
    def list_sources(self, env: str | None = None) -> SourcesReport:
        path = self.settings.config
        if not path.exists():
            return SourcesReport(
                config=str(path),
                notes=[
                    f"{path} does not exist yet: add_repository creates it (give bucket and "
                    "env, the release store and the environment)"
                ],
            )
        return ops.sources(self._config(), env)

    def source_status(self, name: str) -> SourceStatus:
        try:
            return SourceStatus(source=ops.status(self._config(), name))
        except ops.NotFound as error:
            raise ToolInputError(
                "name", f"{error.message}; list_sources lists every source"
            ) from None

    # -- adding ----------------------------------------------------------------------------
    def prepare_add(
        self, new: NewRepository, sync: bool = True, bucket: str | None = None,
        env: str | None = None,
    ) -> AddPlan:  # fmt: skip
        """Everything checked, nothing written: the entry as the file would hold it, then the
        credential policy. ``ToolInputError`` naming the argument otherwise."""
        for argument, value in new.model_dump().items():
            if isinstance(value, str) and argument != "url" and looks_like_credential(value):
                raise credential_refusal(argument)
        if self.settings.config.exists():
            self._config()  # a file that cannot be used: the config argument, with the fix
        creates = ops.check_addition(self.settings.config, new, bucket, env, self._caller())
        try:
            checked = self.settings.policy.check(new)
        except PolicyError as error:
            raise ToolInputError(error.argument, error.message) from None
        ask = None
        if has_credential(new):
            ask = (credential_fields(new) or ["auth_type"])[0]
        elif creates:
            ask = "bucket"
        return AddPlan(checked, bucket, env, ask, self._question(checked, sync, creates, bucket))

    def _question(self, new: NewRepository, sync: bool, creates: bool, bucket: str | None) -> str:
        """What the user is asked before ``new`` is added: names and hosts, never a value."""
        path = self.settings.config
        head = f"Add the git repository {new.name} ({redact_url(new.url)}, branch {new.branch})"
        if creates:
            head += (
                f", creating {path} with the release store {bucket} (every release of this "
                "environment is written there)"
            )
        else:
            head += f" to {path}"
        parts = [head]
        try:
            host = str(endpoint_of(new.url))
        except HostError:
            host = redact_url(new.url)
        uses = {
            "token_env": "sending the token in environment variable {} to {}",
            "token_file": "sending the token in file {} to {}",
            "ssh_key_env": "logging in with the SSH key in environment variable {} to {}",
            "ssh_key_file": "logging in with the SSH key in file {} to {}",
        }
        for argument, words in uses.items():
            value = getattr(new, argument)
            if value is not None:
                parts.append(words.format(value, host))
        if new.webhook_secret_env or new.webhook_secret_file:
            where = (
                f"environment variable {new.webhook_secret_env}"
                if new.webhook_secret_env
                else f"file {new.webhook_secret_file}"
            )
            parts.append(f"checking its webhook with the secret in {where}")
        if sync:
            parts.append("then sync it now: a commit that passes validation goes to Airflow")
        return "; ".join(parts)

    def add_repository(
        self, plan: AddPlan, sync: bool = True, confirmed: bool = False
    ) -> AddReport:
        """Write ``plan`` (from ``prepare_add``) and run the first sync. ``confirmed``: the
        user said yes (required when ``plan.ask`` is set: the SDK-free layer refuses
        otherwise, whatever its caller)."""
        if plan.ask is not None and not confirmed:
            raise ToolInputError(
                plan.ask, "the user did not confirm this repository: nothing was written"
            )
        new = plan.new
        added = ops.add_repository(
            self.settings.config, new, self._caller(), plan.bucket, plan.env, sync,
            "adp mcp add_repository",
        )  # fmt: skip
        config = self._config()
        repo = config.repository(new.name)
        result = SyncReport.of(added.sync) if added.sync is not None else None
        status = ops.status(config, new.name)
        assert isinstance(status, RepositorySource)
        steps = []
        if result is not None and not result.ok:
            steps.append(
                f"The first sync did not promote ({result.outcome}): {result.detail}. Fix it "
                f"(push a fix, or correct the credential where adp mcp runs), then call sync "
                f"with name {new.name!r}."
            )
        elif result is not None and result.outcome == "pending":
            steps.append(
                f"auto_deploy is off: the commit waits for approval; call approve with name "
                f"{new.name!r} and sha {result.commit} once it is reviewed."
            )
        elif result is not None and result.reparse:
            steps.append(f"Airflow was asked to re-parse the {config.env} bundle: {result.reparse}")
        elif result is not None:
            steps.append(
                f"Its DAGs reach Airflow at the next refresh of the {config.env} bundle, with no "
                "restart (adp mcp --airflow-url, or airflow.url in the file, asks for it at once)."
            )
        else:
            steps.append(f"Not synced yet: call sync with name {new.name!r}.")
        return AddReport(
            repository=new.name,
            namespace=repo.namespace,
            env=config.env,
            config=str(config.path),
            entry={**new.entry(), "url": redact_url(new.url)},
            sync=result,
            dag_ids=(result.dag_ids if result and result.dag_ids else status.dag_ids),
            findings=result.findings if result else [],
            webhook=self.webhook_setup(config, repo),
            next_steps=steps,
        )

    def webhook_setup(self, config: ReposConfig, repo: Repository) -> WebhookSetup:
        path = receiver_path(repo.name)
        base = (self.settings.webhook_base_url or "https://<your receiver's host>").rstrip("/")
        url = f"{base}{path}"
        serve = f"adp repos serve --config {config.path}"
        hook, info = repo.webhook, webhook_info(repo)
        if hook is None or info is None:
            return WebhookSetup(
                configured=False,
                receiver_path=path,
                receiver_url=url,
                steps=[
                    f"No webhook is configured: the receiver ({serve}) polls the repository "
                    f"every {repo.sync_interval:.0f}s, and sync promotes a new commit now.",
                    "For instant pickup on push: add to its entry in "
                    f"{config.path}: 'webhook: {{provider: github|gitlab|bitbucket, "
                    "secret_env: <VARIABLE>}' (or secret_file: <file>), set that variable "
                    "(a random secret) where the receiver runs, restart the receiver, and "
                    f"point the provider's push webhook at {url} with the same secret.",
                    "Never paste the secret into this chat: the tools neither take nor show one.",
                ],
            )
        secret = info.secret_from
        form = {
            "github": f"On GitHub: the repository's Settings > Webhooks > Add webhook. Payload "
            f"URL {url}; content type application/json; Secret: the shared secret; events: "
            "just the push event.",
            "gitlab": f"On GitLab: the project's Settings > Webhooks > Add new webhook. URL "
            f"{url}; Secret token: the shared secret (or a signing token whsec_...: the "
            f"receiver then accepts only signed deliveries); trigger: push events, branch "
            f"{repo.branch}.",
            "bitbucket": f"On Bitbucket Cloud: Repository settings > Webhooks > Add webhook. "
            f"URL {url}; Secret: the shared secret; triggers: repository push.",
        }[hook.provider]
        return WebhookSetup(
            configured=True,
            provider=hook.provider,
            receiver_path=path,
            receiver_url=url,
            secret_from=secret,
            steps=[
                f"The shared secret is read by the receiver from the {secret}: choose a random "
                "value, set it there yourself (where the receiver runs) and in the provider's "
                "form. Never paste it into this chat: the tools neither take nor show it.",
                form,
                f"The receiver is {serve} (behind your TLS proxy). A repository added while it "
                "runs gets its endpoint when the receiver restarts; until then it is synced "
                "by the sync tool.",
            ],
        )

    # -- syncing and decisions ---------------------------------------------------------------
    def sync(self, name: str) -> SyncReport:
        return SyncReport.of(ops.sync(self._config(), name, self._caller(), reason="adp mcp sync"))

    def approve(self, name: str, sha: str, confirm: bool = False) -> DecisionReport:
        config = self._config()
        plan = ops.check_approve(config, name, sha, self._caller())
        was = plan.promoted[:12] if plan.promoted else "nothing"
        subject = f" ({plan.subject})" if plan.subject else ""
        summary = (
            f"approve {sha[:12]}{subject} of {name}: validate it again, publish it as release "
            f"{sha} of {plan.env}/{plan.namespace} and point Airflow at it (instead of {was})"
        )
        report = DecisionReport(
            action="approve", repository=name, commit=sha, confirmed=confirm, changed=False,
            summary=summary,
        )  # fmt: skip
        if not confirm:
            report.how_to_confirm = CONFIRM.format(tool="approve")
            return report
        result = SyncReport.of(ops.approve(config, name, sha, self._caller()))
        report.changed, report.result = True, result
        return report

    def rollback(self, name: str, sha: str, confirm: bool = False) -> DecisionReport:
        config = self._config()
        plan = ops.check_rollback(config, name, sha, self._caller())
        report = DecisionReport(
            action="rollback", repository=name, commit=sha, confirmed=confirm, changed=False,
            summary=(
                f"roll {name} back to {sha[:12]}: point {plan.env}/{plan.namespace} at its "
                "release again; the newest upstream commit is held back until a newer one "
                "arrives or it is approved"
            ),
        )  # fmt: skip
        if not plan.moves:
            report.summary = f"{sha[:12]} is promoted and running already: nothing to do"
            return report
        if not confirm:
            report.how_to_confirm = CONFIRM.format(tool="rollback")
            return report
        result = SyncReport.of(ops.rollback(config, name, sha, self._caller()))
        report.changed, report.result = result.outcome == "rolled-back", result
        return report

    def remove_repository(self, name: str, confirm: bool = False) -> RemovalReport:
        config = self._config()
        try:
            removal = ops.check_removal(config, name)
        except ReposConfigError as error:
            raise ToolInputError("name", f"{error}; nothing was changed") from None
        report = RemovalReport(
            repository=name, namespace=removal.namespace, env=removal.env, confirmed=confirm,
            changed=False,
            summary=(
                f"remove {name}: take {removal.env}/{removal.namespace} out of the "
                "environment (its DAGs leave Airflow at the next refresh; its releases and "
                f"audit stay), delete its promoted branch, set its state aside and take its "
                f"entry out of {config.path}"
            ),
        )  # fmt: skip
        if not confirm:
            report.how_to_confirm = CONFIRM.format(tool="remove_repository")
            return report
        try:
            done = ops.remove_repository(config, name, self._caller())
        except ReposConfigError as error:
            raise ToolInputError("name", f"{error}; nothing was changed") from None
        report.changed, report.previous_release, report.reparse = True, done.release, done.reparse
        return report

    # -- validation ------------------------------------------------------------------------
    def validate_dag_file(
        self,
        path: str | None = None,
        text: str | None = None,
        filename: str = "dag.py",
        package: str | None = None,
        import_check: bool = True,
        fail_on: str = "error",
    ) -> ValidationReport:
        checked = validate_dag_file(
            self.settings.validate_roots, path, text, filename, package, import_check, fail_on,
            self.settings.standby,
        )  # fmt: skip
        return ValidationReport.model_validate(checked.model_dump())
