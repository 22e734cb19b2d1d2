"""``airflow-repos.yaml``: the git repositories an environment takes DAGs from, as a typed model.

Every problem is reported as ``file:line: field: message and fix``, all of them at once, and
nothing is used from a file that has one. Credentials are never written in the file: it names
the environment variable or the file that holds each one (``token_env``/``token_file``,
``ssh_key_file``/``ssh_key_env``, ``webhook.secret_env``/``secret_file``), and a value
written inline is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adp import pydantic_problems
from adp.errors import Problem, UsageError
from adp.releases import names
from adp.releases.locate import locate
from adp.releases.names import InvalidName
from adp.validation import PackageImports, Severity
from adp.validation.import_environment import pass_env_problem
from adp.yaml_lines import MAX_BYTES, Loc, YamlError, line_of, load

DEFAULT_FILE = "airflow-repos.yaml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
# What tokens of the common git hosts start with: written where a variable's name belongs, the
# value itself was pasted.
TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-",
                  "ATBB", "ATCTT", "xoxb-", "AKIA")  # fmt: skip
BRANCH_RE = re.compile(
    r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)(?!\.)(?!.*/\.)(?!.*\.lock/)[A-Za-z0-9._/-]{1,200}(?<![/.])$"
)
SCP_RE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
DURATION_RE = re.compile(r"^\s*(?P<n>[0-9]+)\s*(?P<unit>s|m|h)?\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}
MIN_INTERVAL, MAX_INTERVAL = 10, 86_400
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Keys that would hold a credential's value: refused wherever they appear in an entry.
INLINE_SECRETS = {"token", "password", "secret", "ssh_key", "private_key", "api_key", "key"}
AuthType = Literal["public", "oauth_token", "ssh_key"]
Provider = Literal["github", "gitlab", "bitbucket"]


class FileProblem(str):
    """One problem of ``airflow-repos.yaml``: its text (``file:line: field: message``, what
    callers always read) that also carries it as data (``problem``: ``file``, ``line``, ``loc``
    inside the file, ``message``), so no caller parses the text back."""

    problem: Problem

    def __new__(cls, problem: Problem | str) -> FileProblem:
        if isinstance(problem, str):
            problem = Problem(message=str(problem))
        parts = [f"{problem.file}:{problem.line}" if problem.line else problem.file]
        parts += [_field(problem.loc) if problem.loc or problem.line else None, problem.message]
        made = super().__new__(cls, ": ".join(p for p in parts if p))
        made.problem = problem
        return made

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def loc(self) -> Loc:
        return tuple(self.problem.loc)

    @property
    def fix(self) -> str | None:
        return self.problem.fix

    @property
    def file(self) -> str | None:
        return self.problem.file

    @property
    def line(self) -> int | None:
        return self.problem.line

    def where(self) -> str:
        return self.problem.where()

    def text(self, loc_text: str | None = None) -> str:
        return str(self) if loc_text is None else self.problem.text(loc_text)


class ReposConfigError(UsageError, ValueError):
    """``airflow-repos.yaml`` cannot be used. ``problems`` are :class:`FileProblem` s: the text
    ``file:line: field: message`` carrying ``file``, ``line`` and ``loc`` (inside the file) as
    data."""

    problems: list[FileProblem]  # type: ignore[assignment]  # str and Problem at once

    def __init__(self, problems: Iterable[Problem | str]) -> None:
        listed = [p if isinstance(p, FileProblem) else FileProblem(p) for p in problems]
        super().__init__(problems=[p.problem for p in listed])
        self.problems = listed
        head = listed[0] if len(listed) == 1 else f"{len(listed)} problems:\n  "
        self.args = (head if len(listed) == 1 else head + "\n  ".join(listed),)

    def __str__(self) -> str:
        return str(self.args[0])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: object) -> float:
    """``60``, ``"60s"``, ``"5m"``, ``"1h"`` as seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 60s, 5m or 1h")
    if isinstance(value, int | float):
        return float(value)
    match = DURATION_RE.fullmatch(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration: write it as 60s, 5m or 1h")
    return float(int(match["n"]) * UNITS[match["unit"]])


class ValidationSettings(_Model):
    """How a commit is checked. Validation and the security scan are mandatory for git
    repositories: ``enabled`` and ``security_scan`` exist (the seed's file names them) and
    must stay true. The repository's own pyproject.toml is not read: a repository cannot
    weaken the checks its commits pass."""

    enabled: bool = True
    security_scan: bool = True
    fail_on: Severity = Severity.error
    package_imports: PackageImports = PackageImports.inside_tasks
    python: str | None = Field(default=None, description="Interpreter of the import check.")
    image: str | None = Field(default=None, description="Image of the import check.")
    import_timeout: float = Field(default=30.0, gt=0, le=600)
    pass_env: list[str] = Field(
        default_factory=list,
        description="Variables of the promoter given to the code of a commit while it is "
        "imported, beyond the allow-list (never one the file names as a credential).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ValidationSettings:
        if self.python and self.image:
            raise ValueError(
                "python and image both choose where the import check runs: give one (image, "
                "the Layer-1 image, isolates the code of a commit best)"
            )
        return self

    @field_validator("enabled", "security_scan")
    @classmethod
    def _mandatory(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(
                "validation and the security scan are mandatory for git repositories: set it "
                "to true or remove the key (suppress one finding in the code instead, with "
                "# adp: ignore[RULE] reason)"
            )
        return value


class Webhook(_Model):
    provider: Provider
    secret_env: str | None = None
    secret_file: Path | None = None


class Repository(_Model):
    name: str
    url: str
    branch: str = "main"
    auth_type: AuthType = "public"
    namespace: str
    path: str = Field(default="", description="The folder of the repository holding the DAGs.")
    sync_interval: float = 60.0
    auto_deploy: bool = True
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    token_env: str | None = None
    token_file: Path | None = None
    token_username: str = "x-access-token"
    ssh_key_file: Path | None = None
    ssh_key_env: str | None = None
    known_hosts_file: Path | None = None
    webhook: Webhook | None = None

    @field_validator("sync_interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> float:
        seconds = parse_duration(value)
        if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
            raise ValueError(
                f"{value!r}: must be between {MIN_INTERVAL}s and {MAX_INTERVAL // 3600}h "
                "(webhooks make changes instant; polling is the fallback)"
            )
        return seconds

    @property
    def promoted_branch(self) -> str:
        return f"promoted/{self.branch}"


class StoreSettings(_Model):
    bucket: str
    env: str
    endpoint_url: str | None = None


class AirflowSettings(_Model):
    url: str | None = None
    bundle: str | None = None


class ReposFile(_Model):
    release_store: StoreSettings
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)
    state_dir: str = ".adp-repos"
    repositories: list[Repository] = Field(default_factory=list)


def anchored(value: Path, base: Path) -> Path:
    """``value`` as written in the file at ``base``: relative to that folder."""
    return value if value.is_absolute() else base / value


def _anchored_repository(repo: Repository, base: Path) -> Repository:
    """``repo`` with every path of its entry relative to ``base`` (an interpreter given by
    name alone, ``python3``, stays a name: it is looked up on PATH)."""
    update: dict[str, Any] = {
        field: anchored(value, base)
        for field in ("token_file", "ssh_key_file", "known_hosts_file")
        if (value := getattr(repo, field)) is not None
    }
    if repo.webhook is not None and repo.webhook.secret_file is not None:
        update["webhook"] = repo.webhook.model_copy(
            update={"secret_file": anchored(repo.webhook.secret_file, base)}
        )
    python = repo.validation.python
    if python and "/" in python:
        update["validation"] = repo.validation.model_copy(
            update={"python": str(anchored(Path(python), base))}
        )
    return repo.model_copy(update=update)


class ReposConfig:
    """A validated ``airflow-repos.yaml``: the model, where it was read and its state folder.

    Invariant: every path in ``model`` is absolute, and a relative one was written relative to
    the file's folder (``release_store.bucket`` when a local folder, ``state_dir``, the secret
    files, ``known_hosts_file``, ``validation.python`` when a path), never to the working
    directory of the process that reads it: a promoter started anywhere uses the store, state
    and secrets the file describes."""

    def __init__(self, model: ReposFile, path: Path) -> None:
        self.path = path
        self.base = path.resolve().parent
        store = model.release_store
        try:
            self.store_location = locate(store.bucket, store.endpoint_url, self.base, "")
        except InvalidName as error:  # parse checked it; the folder went since
            raise ReposConfigError(
                [Problem(file=str(path), loc=("release_store", "bucket"), message=str(error))]
            ) from None
        self.state_dir = anchored(Path(model.state_dir), self.base)
        bucket = store.bucket
        if self.store_location.folder is not None and not bucket.startswith("file://"):
            bucket = str(self.store_location.folder)
        self.model = model.model_copy(
            update={
                "release_store": store.model_copy(update={"bucket": bucket}),
                "state_dir": str(self.state_dir),
                "repositories": [_anchored_repository(r, self.base) for r in model.repositories],
            }
        )

    @property
    def env(self) -> str:
        return self.model.release_store.env

    @property
    def repositories(self) -> list[Repository]:
        return list(self.model.repositories)

    def repository(self, name: str) -> Repository:
        for repo in self.model.repositories:
            if repo.name == name:
                return repo
        known = ", ".join(r.name for r in self.model.repositories) or "none"
        raise ReposConfigError(
            [f"{self.path}: no repository named {name!r} (known: {known}); adp repos list"]
        )

    def resolve(self, path: Path) -> Path:
        """A path of the file (a secret file, known_hosts), relative to the file's folder."""
        return anchored(path, self.base)


_FIXES = {
    "missing": "required: add it",
    "extra_forbidden": "unknown field: remove it or check its spelling",
    "string_type": "must be a string (quote it in YAML)",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "literal_error": None,
    "enum": None,
}


def _field(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or bool(SCP_RE.fullmatch(url))


def redact_url(url: str) -> str:
    """``url`` with any password (and, for http(s), any user name: often a token) replaced."""
    if SCP_RE.fullmatch(url):
        return url
    parts = urlsplit(url)
    if parts.password is None and not (parts.username and parts.scheme in ("http", "https")):
        return url
    user = "***" if parts.scheme in ("http", "https") else f"{parts.username}:***"
    host = parts.hostname or ""
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _url_problems(repo: Repository) -> list[tuple[str, str]]:
    """(field, message) for the URL and the credentials it needs; a message shows the URL
    with any credential in it replaced."""
    problems: list[tuple[str, str]] = []
    url, auth = repo.url, repo.auth_type
    shown = redact_url(url)
    if url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
        return [("url", f"{shown!r}: not a repository URL (it starts with '-' or holds spaces)")]
    parts = urlsplit(url) if not SCP_RE.fullmatch(url) else None
    if parts is not None and (
        parts.password is not None or (parts.username and parts.scheme in ("http", "https"))
    ):
        return [
            (
                "url",
                f"{shown!r}: credentials are never written in airflow-repos.yaml (a user name "
                "in an https URL is usually a token): remove them from the URL and name the "
                "token with token_env or token_file",
            )
        ]
    if _is_ssh(url):
        if auth != "ssh_key":
            problems.append(
                (
                    "url",
                    f"{shown!r} is an SSH URL, which needs auth_type: ssh_key (with "
                    "ssh_key_file and known_hosts_file); for a public repository use its https URL",
                )
            )
        return problems
    assert parts is not None
    if parts.scheme not in {"https", "http", "file"} or (
        parts.scheme != "file" and not parts.hostname
    ):
        return [
            (
                "url",
                f"{shown!r}: use https://host/path, ssh://user@host/path, user@host:path "
                "or file:///path",
            )
        ]
    if parts.scheme == "file" and (
        parts.netloc not in ("", "localhost") or not parts.path.startswith("/")
    ):
        return [
            (
                "url",
                f"{shown!r}: a file URL names the repository by its absolute path, "
                "file:///path/to/repo.git (git ignores a host in it and reads another path, "
                "and file:path is taken for an SSH host)",
            )
        ]
    if auth == "ssh_key":
        problems.append(
            (
                "url",
                f"{url!r} is not an SSH URL; auth_type ssh_key needs "
                "ssh://user@host/path or user@host:path",
            )
        )
    if auth == "oauth_token" and parts.scheme == "http" and parts.hostname not in LOOPBACK:
        problems.append(
            ("url", "a token over plain http would cross the network in clear: use the https URL")
        )
    if auth == "oauth_token" and parts.scheme == "file":
        problems.append(("auth_type", "a file:// repository needs no token: use public"))
    return problems


def _variable_name(name: str) -> bool:
    return bool(ENV_VAR_RE.fullmatch(name)) and not name.startswith(TOKEN_PREFIXES)


def _credential_problems(repo: Repository) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    auth = repo.auth_type
    token = [f for f in ("token_env", "token_file") if getattr(repo, f) is not None]
    ssh = [
        f
        for f in ("ssh_key_file", "ssh_key_env", "known_hosts_file")
        if getattr(repo, f) is not None
    ]
    if auth == "oauth_token" and len(token) != 1:
        problems.append(
            (
                "token_env",
                "auth_type oauth_token needs exactly one of token_env "
                "(an environment variable) or token_file (a file) holding the token",
            )
        )
    if auth != "oauth_token":
        problems += [(f, f"only auth_type oauth_token uses {f}: remove it") for f in token]
    if auth == "ssh_key":
        keys = [f for f in ("ssh_key_file", "ssh_key_env") if getattr(repo, f) is not None]
        if len(keys) != 1:
            problems.append(
                (
                    "ssh_key_file",
                    "auth_type ssh_key needs exactly one of ssh_key_file (a file) or "
                    "ssh_key_env (an environment variable) holding the private key",
                )
            )
        if repo.known_hosts_file is None:
            problems.append(
                (
                    "known_hosts_file",
                    "auth_type ssh_key needs known_hosts_file: the server's pinned host key "
                    "(ssh-keyscan, checked out of band): host keys are checked strictly, never "
                    "accepted on first use",
                )
            )
    else:
        problems += [(f, f"only auth_type ssh_key uses {f}: remove it") for f in ssh]
    if repo.ssh_key_env is not None and not _variable_name(repo.ssh_key_env):
        problems.append(
            (
                "ssh_key_env",
                "this is not an environment variable's name (uppercase letters, digits and "
                "'_'; the value is not shown): name the variable that holds the key",
            )
        )
    if repo.token_env is not None and not _variable_name(repo.token_env):
        problems.append(
            (
                "token_env",
                "this is not an environment variable's name (uppercase letters, digits and "
                "'_'; the value is not shown, it may be a token): name the variable that holds "
                "the token, never the token",
            )
        )
    hook = repo.webhook
    if hook is not None:
        given = [f for f in ("secret_env", "secret_file") if getattr(hook, f) is not None]
        if len(given) != 1:
            problems.append(
                (
                    "webhook.secret_env",
                    "a webhook needs exactly one of secret_env or "
                    "secret_file holding its shared secret",
                )
            )
        if hook.secret_env is not None and not _variable_name(hook.secret_env):
            problems.append(
                (
                    "webhook.secret_env",
                    "this is not an environment variable's name (uppercase letters, digits "
                    "and '_'; the value is not shown): name the variable, never the secret",
                )
            )
    return problems


def _entry_problems(repo: Repository) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not NAME_RE.fullmatch(repo.name):
        problems.append(
            (
                "name",
                f"{repo.name!r}: use 1-63 lowercase letters, digits, '-' and "
                "'_', starting with a letter or digit",
            )
        )
    try:
        names.check_package(repo.namespace)
    except names.InvalidName as error:
        problems.append(
            ("namespace", f"{error} (the namespace is the package its DAG ids start with)")
        )
    if not BRANCH_RE.fullmatch(repo.branch) or repo.branch.endswith(".lock"):
        problems.append(("branch", f"{repo.branch!r} is not a branch name"))
    if repo.branch.startswith("promoted/"):
        problems.append(
            (
                "branch",
                "promoted/* branches are the platform's own: track the branch people push to",
            )
        )
    if repo.path:
        try:
            names.check_path(repo.path.strip("/"))
        except names.InvalidName as error:
            problems.append(("path", str(error).replace("file path", "path")))
    return problems + _url_problems(repo) + _credential_problems(repo)


def _inline_secrets(data: Any) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    repos = data.get("repositories") if isinstance(data, dict) else None
    for index, entry in enumerate(repos if isinstance(repos, list) else []):
        if not isinstance(entry, dict):
            continue
        places: list[tuple[Loc, dict[str, Any]]] = [(("repositories", index), entry)]
        if isinstance(entry.get("webhook"), dict):
            places.append((("repositories", index, "webhook"), entry["webhook"]))
        for loc, mapping in places:
            for key in mapping:
                if str(key).lower() in INLINE_SECRETS:
                    found.append(
                        (
                            (*loc, key),
                            "credentials are never written in "
                            "airflow-repos.yaml (they would reach git history and logs): "
                            "put the value in a file or an environment variable and name "
                            "it with *_env or *_file",
                        )
                    )
    return found


def _message(item: pydantic_problems.Item) -> str:
    kind = item["type"]
    if kind == "value_error":
        return str(item["ctx"]["error"])
    fix = _FIXES.get(kind)
    return fix if fix else item["msg"]


def parse(text: str, source: str, base: Path | None = None) -> ReposFile:
    """The model of ``text``; ``ReposConfigError`` listing every problem as ``source:line``.
    ``base``: the folder its relative paths are relative to (default: ``source``'s folder)."""
    try:
        data, lines = load(text, source)
    except YamlError as error:
        raise ReposConfigError([str(error)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ReposConfigError(
            [
                f"{source}:1: the file must be a mapping with release_store "
                "and repositories (see docs/git-repositories.md)"
            ]
        )
    problems = [(loc, message) for loc, message in _inline_secrets(data)]
    if not problems:
        try:
            model = ReposFile.model_validate(data)
        except ValidationError as error:
            found = pydantic_problems.problems(error, message=_message)
            problems = [(problem.loc, problem.message) for problem in found]
        else:
            problems = _file_problems(model, base or Path(source).resolve().parent)
    if problems:
        raise ReposConfigError(
            Problem(file=source, line=line_of(lines, loc), loc=loc, message=msg)
            for loc, msg in problems
        )
    return model


def _file_problems(model: ReposFile, base: Path) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    store = model.release_store
    try:
        names.check_env(store.env)
    except names.InvalidName as error:
        problems.append((("release_store", "env"), str(error)))
    try:
        locate(store.bucket, store.endpoint_url, base, "")
    except InvalidName as error:
        problems.append((("release_store", "bucket"), str(error)))
    seen: dict[str, dict[str, int]] = {"name": {}, "namespace": {}}
    for index, repo in enumerate(model.repositories):
        for field, message in _entry_problems(repo):
            loc: Loc = ("repositories", index, *field.split("."))
            problems.append((loc, message))
        for key in ("name", "namespace"):
            value = getattr(repo, key)
            if value in seen[key]:
                first = seen[key][value]
                problems.append(
                    (
                        ("repositories", index, key),
                        f"{value!r} is already used by "
                        f"repositories[{first}]: each repository needs its own {key}",
                    )
                )
            else:
                seen[key][value] = index
    credentials = named_variables(model)
    for index, repo in enumerate(model.repositories):
        for item, name in enumerate(repo.validation.pass_env):
            problem = pass_env_problem(name, credentials)
            if problem is not None:
                problems.append((("repositories", index, "validation", "pass_env", item), problem))
    return problems


def named_variables(model: ReposFile) -> set[str]:
    """Every environment variable the file names as a credential (``token_env``,
    ``ssh_key_env``, ``webhook.secret_env`` of every entry): never given to the code of a
    commit, whatever ``validation.pass_env`` says."""
    found: set[str] = set()
    for repo in model.repositories:
        found.update(n for n in (repo.token_env, repo.ssh_key_env) if n)
        if repo.webhook is not None and repo.webhook.secret_env:
            found.add(repo.webhook.secret_env)
    return found


def load_config(path: Path) -> ReposConfig:
    """The validated file at ``path``; ``ReposConfigError`` when it is missing or wrong. At most
    ``MAX_BYTES`` (and one more) are read: a larger file is refused, never read whole."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ReposConfigError(
            [f"{path}: no such file; create it (adp repos add writes it) or pass --config"]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReposConfigError([f"{path}: cannot read it ({error})"]) from None
    return ReposConfig(parse(text, str(path)), path)
