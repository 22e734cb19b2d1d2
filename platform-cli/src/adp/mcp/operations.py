"""The tools' work, free of the MCP SDK: each takes the tool's arguments and returns a model of
``adp.mcp.models``, or raises ``ToolInputError`` naming the argument and the fix, having
changed nothing. Everything is done by the libraries (``adp.sources``, ``adp.repos``,
``adp.validation``); this module checks arguments and words the answers for a chat.

Adding a repository is two steps: ``prepare_add`` checks everything (the entry as the file
would hold it, then the operator's credential policy, ``adp.mcp.credential_policy``) and says
whether the user must confirm it (any credential, or a new file with its release store);
``add_repository`` writes and syncs only a prepared addition, and only one the user confirmed
when it needs them."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

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
    for_chat,
)
from adp.releases.locate import open_store
from adp.releases.names import InvalidName, check_env
from adp.releases.pointer import ReleaseError
from adp.releases.store import StoreError
from adp.repos.config import (
    TOKEN_PREFIXES,
    ReposConfig,
    ReposConfigError,
    Repository,
    load_config,
    redact_url,
)
from adp.repos.manage import (
    MissingConfig,
    NewRepository,
    add_repository,
    plan_removal,
    planned_text,
    remove_repository,
)
from adp.repos.mirror import SHA_RE
from adp.repos.promote import Promoter, PromotionError
from adp.sources import SourceFinding, SourcesReport, UnknownSource, list_sources, source_status
from adp.sources.collect import receiver_path, webhook_info
from adp.sources.models import RepositorySource
from adp.validation import ConfigError, Severity, ValidationOptions, validate

PROBLEM_RE = re.compile(
    r"^(?P<where>.*?:[0-9]+): repositories\[(?P<index>[0-9]+)\]\.(?P<field>[A-Za-z_.]+): "
    r"(?P<message>.*)$",
    re.DOTALL,
)
STORE_RE = re.compile(r"^(?P<where>.*?:[0-9]+): release_store\.(?P<field>bucket|env): (?P<m>.*)$")
FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.py$")
MAX_TEXT = 1_000_000
CONFIRM = "call {tool} again with the same arguments and confirm=true"


class ToolInputError(ValueError):
    """An argument cannot be used; nothing was changed. The message starts with its name."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(f"{argument}: {message}")


@dataclass
class Settings:
    """How ``adp mcp`` was started."""

    config: Path
    actor: str | None = None
    airflow_url: str | None = None
    validate_roots: list[Path] = field(default_factory=lambda: [Path.cwd()])
    webhook_base_url: str | None = None
    policy: CredentialPolicy = field(default_factory=CredentialPolicy)


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
    def _config(self) -> ReposConfig:
        path = self.settings.config
        try:
            return load_config(path)
        except ReposConfigError as error:
            raise ToolInputError(
                "config",
                f"{error}. Fix {path} (adp mcp --config names it; add_repository creates it "
                "when it does not exist)",
            ) from None

    def _promoter(self, config: ReposConfig) -> Promoter:
        try:
            return Promoter(
                config, actor=self.settings.actor, airflow_url=self.settings.airflow_url
            )
        except InvalidName as error:
            raise ToolInputError("release_store", f"{config.path}: {error}") from None

    def _repository(self, config: ReposConfig, name: str) -> Repository:
        try:
            return config.repository(name)
        except ReposConfigError:
            known = ", ".join(r.name for r in config.repositories) or "none"
            raise ToolInputError(
                "name",
                f"no repository named {name!r} in {config.path} (repositories: {known}); "
                "list_sources lists every source",
            ) from None

    @staticmethod
    def _sha(sha: str) -> str:
        if not SHA_RE.match(sha):
            raise ToolInputError(
                "sha",
                "give the full commit id (40 hex digits): source_status lists the promoted, "
                "pending and refused commits",
            )
        return sha

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
        config = self._config()
        if env is not None:
            try:
                check_env(env)
            except InvalidName as error:
                raise ToolInputError("env", str(error)) from None
        return list_sources(config, self._promoter(config).store, env)

    def source_status(self, name: str) -> SourceStatus:
        config = self._config()
        try:
            return SourceStatus(source=source_status(name, config, self._promoter(config).store))
        except UnknownSource as error:
            raise ToolInputError("name", f"{error}; list_sources lists every source") from None

    # -- adding ----------------------------------------------------------------------------
    def _config_problems(self, error: ReposConfigError, index: int) -> ToolInputError:
        """The file's messages about the new entry as messages about the tool's arguments."""
        mine, others = [], []
        for problem in error.problems:
            match = PROBLEM_RE.match(problem)
            store = STORE_RE.match(problem)
            if match and int(match["index"]) == index:
                mine.append((match["field"].replace(".", "_"), match["message"]))
            elif store:
                mine.append((store["field"], store["m"]))
            else:
                others.append(problem)
        if others or not mine:
            return ToolInputError(
                "config",
                f"{self.settings.config} has problems to fix first (nothing was written): "
                + "; ".join(others or error.problems),
            )
        argument, message = mine[0]
        rest = "; ".join(f"{a}: {m}" for a, m in mine[1:])
        if rest:
            message += f"; also {rest}"
        return ToolInputError(argument, f"{message} (nothing was written)")

    def prepare_add(
        self, new: NewRepository, sync: bool = True, bucket: str | None = None,
        env: str | None = None,
    ) -> AddPlan:  # fmt: skip
        """Everything checked, nothing written: the entry as the file would hold it, then the
        credential policy. ``ToolInputError`` naming the argument otherwise."""
        for argument, value in new.model_dump().items():
            if isinstance(value, str) and argument != "url" and looks_like_credential(value):
                raise credential_refusal(argument)
        path = self.settings.config
        if not path.exists() and bucket:
            try:
                open_store(bucket)
            except InvalidName as error:
                message = str(error).replace("--bucket", "bucket")
                raise ToolInputError("bucket", message) from None
            except ImportError:
                message = "an s3:// store needs the s3 extra: pip install 'platform-cli[s3]'"
                raise ToolInputError("bucket", message) from None
        creates = not path.exists()
        self._planned(new, bucket, env)
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

    def _planned(self, new: NewRepository, bucket: str | None, env: str | None) -> None:
        """The file with ``new`` added is valid (``ToolInputError`` naming the argument)."""
        path = self.settings.config
        index = 0
        if path.exists():  # a file or a store that cannot be used is refused before writing
            config = self._config()
            self._promoter(config)
            index = len(config.repositories)
        try:
            planned_text(path, new, bucket, env)
        except MissingConfig:
            raise ToolInputError(
                "env" if bucket else "bucket",
                f"{path} does not exist yet: give bucket (the release store: s3://bucket, "
                "file:///folder or a folder) and env (the environment, e.g. dev) to create it",
            ) from None
        except ReposConfigError as error:
            raise self._config_problems(error, index) from None

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
        new, bucket, env = plan.new, plan.bucket, plan.env
        path = self.settings.config
        index = len(self._config().repositories) if path.exists() else 0
        try:
            config = add_repository(path, new, self.settings.actor, bucket, env)
        except MissingConfig:
            raise ToolInputError("bucket", f"{path} does not exist: nothing was written") from None
        except ReposConfigError as error:
            raise self._config_problems(error, index) from None
        repo = config.repository(new.name)
        result: SyncReport | None = None
        promoter = self._promoter(config)
        if sync:
            result = SyncReport.of(promoter.sync(new.name, reason="adp mcp add_repository"))
        status = source_status(new.name, config, promoter.store)
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
        config = self._config()
        self._repository(config, name)
        return SyncReport.of(self._promoter(config).sync(name, reason="adp mcp sync"))

    def approve(self, name: str, sha: str, confirm: bool = False) -> DecisionReport:
        config = self._config()
        repo = self._repository(config, name)
        self._sha(sha)
        promoter = self._promoter(config)
        try:
            note = promoter.check_approve(name, sha)
        except PromotionError as error:
            raise ToolInputError("sha", for_chat(str(error))) from None
        state = promoter.state.load(name)
        was = state.promoted[:12] if state.promoted else "nothing"
        subject = f" ({note.subject})" if note.subject else ""
        summary = (
            f"approve {sha[:12]}{subject} of {name}: validate it again, publish it as release "
            f"{sha} of {config.env}/{repo.namespace} and point Airflow at it (instead of {was})"
        )
        report = DecisionReport(
            action="approve", repository=name, commit=sha, confirmed=confirm, changed=False,
            summary=summary,
        )  # fmt: skip
        if not confirm:
            report.how_to_confirm = CONFIRM.format(tool="approve")
            return report
        try:
            result = SyncReport.of(promoter.approve(name, sha))
        except PromotionError as error:
            raise ToolInputError("sha", for_chat(str(error))) from None
        report.changed, report.result = True, result
        return report

    def rollback(self, name: str, sha: str, confirm: bool = False) -> DecisionReport:
        config = self._config()
        repo = self._repository(config, name)
        self._sha(sha)
        promoter = self._promoter(config)
        try:
            moves = promoter.check_rollback(name, sha)
        except PromotionError as error:
            raise ToolInputError("sha", for_chat(str(error))) from None
        except (ReleaseError, StoreError) as error:
            raise ToolInputError("release_store", str(error)) from None
        report = DecisionReport(
            action="rollback", repository=name, commit=sha, confirmed=confirm, changed=False,
            summary=(
                f"roll {name} back to {sha[:12]}: point {config.env}/{repo.namespace} at its "
                "release again; the newest upstream commit is held back until a newer one "
                "arrives or it is approved"
            ),
        )  # fmt: skip
        if not moves:
            report.summary = f"{sha[:12]} is promoted and running already: nothing to do"
            return report
        if not confirm:
            report.how_to_confirm = CONFIRM.format(tool="rollback")
            return report
        try:
            result = SyncReport.of(promoter.rollback(name, sha))
        except PromotionError as error:
            raise ToolInputError("sha", for_chat(str(error))) from None
        report.changed, report.result = result.outcome == "rolled-back", result
        return report

    def remove_repository(self, name: str, confirm: bool = False) -> RemovalReport:
        config = self._config()
        self._repository(config, name)
        try:
            removal, _ = plan_removal(config, name)
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
        promoter = self._promoter(config)
        try:
            done = remove_repository(promoter, name)
        except ReposConfigError as error:
            raise ToolInputError("name", f"{error}; nothing was changed") from None
        except PromotionError as error:
            raise ToolInputError("release_store", str(error)) from None
        report.changed, report.previous_release, report.reparse = True, done.release, done.reparse
        return report

    # -- validation ------------------------------------------------------------------------
    def _allowed(self, path: str) -> tuple[Path, Path]:
        """The file ``path`` names and the allowed root it is under."""
        roots = [r.resolve() for r in self.settings.validate_roots]
        given = Path(path).expanduser()
        target = (given if given.is_absolute() else roots[0] / given).resolve()
        root = next((r for r in roots if target == r or r in target.parents), None)
        if root is None:
            shown = ", ".join(str(r) for r in roots)
            raise ToolInputError(
                "path",
                f"{path} is outside the folders this server validates ({shown}): give a file "
                "under them, or its text as text (adp mcp --validate-root adds a folder)",
            )
        if not target.is_file():
            raise ToolInputError("path", f"{path}: no such file under {root}")
        if target.suffix != ".py":
            raise ToolInputError("path", f"{path}: not a Python file (a DAG file ends in .py)")
        return target, root

    def validate_dag_file(
        self,
        path: str | None = None,
        text: str | None = None,
        filename: str = "dag.py",
        package: str | None = None,
        import_check: bool = True,
        fail_on: str = "error",
    ) -> ValidationReport:
        if (path is None) == (text is None):
            raise ToolInputError(
                "path", "give exactly one of path (a file under the allowed folders) or text "
                "(the file's content)",
            )  # fmt: skip
        try:
            options = ValidationOptions(
                package=package, import_check=import_check, fail_on=Severity(fail_on)
            )
        except (ValidationError, ValueError) as error:
            if isinstance(error, ValidationError):
                first = error.errors()[0]
                argument = str(first["loc"][0]) if first["loc"] else "package"
                message = str(first.get("ctx", {}).get("error") or first["msg"])
            else:
                argument, message = "fail_on", "use error or warning"
            raise ToolInputError(argument, message) from None
        if text is not None:
            if not FILENAME_RE.match(filename):
                raise ToolInputError(
                    "filename", "a file name such as sales_daily.py (letters, digits, '_', "
                    "'.', '-', ending in .py; no folder)",
                )  # fmt: skip
            data = text.encode("utf-8")
            if len(data) > MAX_TEXT:
                raise ToolInputError("text", f"longer than {MAX_TEXT} bytes: give a path instead")
            with tempfile.TemporaryDirectory(prefix="adp-mcp-validate-") as folder:
                file = Path(folder) / filename
                file.write_bytes(data)
                return self._validated(file, Path(folder).resolve(), filename, options)
        assert path is not None
        file, root = self._allowed(path)
        return self._validated(file, root, str(file.relative_to(root)), options)

    @staticmethod
    def _validated(
        file: Path, root: Path, shown: str, options: ValidationOptions
    ) -> ValidationReport:
        try:
            report = validate([str(file)], options)
        except ConfigError as error:
            raise ToolInputError("package", str(error)) from None
        findings = [SourceFinding.of_finding(f, str(root)) for f in report.findings]
        return ValidationReport(
            file=shown,
            package=options.package,
            passed=report.exit_code(options.fail_on) == 0,
            fail_on=str(options.fail_on),
            counts=report.counts(),
            dag_ids=[d.dag_id for d in report.dags],
            findings=findings,
            notes=[n.replace(str(root), ".") for n in report.notes],
        )
