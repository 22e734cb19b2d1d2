"""Every rule a finding can carry: its stable id, default severity, what it means and the fix.

The platform's own rules are ``ADP...``. Upstream scanners keep their own ids: ruff's Airflow
rules (``AIR3..``) and its bandit rules (``S...``, the same numbers as bandit's ``B...``), and
detect-secrets' plugin names. Ids never change meaning; a retired rule's id is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from adp.validation.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    fix: str
    tool: str = "adp"


E, W = Severity.error, Severity.warning

_ADP = [
    # ---- reading the files
    Rule(
        "ADP001",
        "unreadable-file",
        E,
        "The file cannot be read.",
        "Make the file readable by the user running the validation, or remove it.",
    ),
    Rule(
        "ADP002",
        "binary-file",
        E,
        "The file holds binary data, not Python source.",
        "Keep only Python source in the DAG folder; ship data files elsewhere (include/ or object storage).",
    ),
    Rule(
        "ADP003",
        "file-too-large",
        E,
        "The file is larger than the size limit and was not read.",
        "Split the file, or raise max_file_bytes if it really is a DAG file.",
    ),
    Rule("ADP004", "not-utf8", E, "The file is not valid UTF-8.", "Save the file as UTF-8."),
    Rule(
        "ADP005",
        "symlink-outside-root",
        E,
        "A symbolic link points outside the folder being validated; it was not followed.",
        "Replace the link by the file itself, or validate the folder it points into.",
    ),
    Rule(
        "ADP006",
        "path-not-found",
        E,
        "A path given to the validation does not exist.",
        "Check the path.",
    ),
    # ---- Python and the import check
    Rule(
        "ADP010",
        "syntax-error",
        E,
        "The file is not valid Python.",
        "Fix the syntax error at the reported line.",
    ),
    Rule(
        "ADP020",
        "import-error",
        E,
        "Importing the file raised an exception, so Airflow would list an import error instead of its DAGs.",
        "Fix the error at the reported line; import optional or heavy packages inside tasks.",
    ),
    Rule(
        "ADP021",
        "import-timeout",
        E,
        "Importing the file did not finish within the per-file timeout.",
        "Move slow work (queries, API calls, large computations) from module level into tasks.",
    ),
    Rule(
        "ADP022",
        "no-dag",
        E,
        "The file looks like a DAG file but defines no DAG.",
        "Call the @dag-decorated function at module level, or move the file into the package folder if it is a helper module.",
    ),
    Rule(
        "ADP023",
        "network-at-import",
        E,
        "Importing the file opened a network connection; the dag-processor re-imports every file every few seconds.",
        "Make the call inside a task, or read the value from a template ({{ var.value.x }}, {{ conn.x }}).",
    ),
    Rule(
        "ADP024",
        "slow-import",
        W,
        "Importing the file took longer than the import-time threshold.",
        "Move slow work from module level into tasks; import heavy libraries inside tasks.",
    ),
    Rule(
        "ADP025",
        "import-check-unavailable",
        E,
        "The import check could not run in the target environment.",
        "Run where Airflow is installed (the datakit's image: --image, or --python with an interpreter that has Airflow).",
    ),
    Rule(
        "ADP026",
        "weak-import-isolation",
        W,
        "The import check ran with in-process isolation only: no network namespace of its own (or no seccomp filter), so the code it imported was kept from the network, other processes and this machine's files by a guard that code can get round.",
        "Run the check where namespaces are allowed (a VM, root, or a container allowed to create user namespaces; adp doctor says which), or use --image; ADP_IMPORT_ISOLATION=namespace refuses to run without them.",
    ),
    # ---- naming
    Rule(
        "ADP100",
        "dag-id-prefix",
        E,
        "The DAG id does not start with the package's prefix.",
        "Rename the DAG to '<package>_<name>': every DAG of a package carries its name, so DAG ids stay unique across packages.",
    ),
    Rule(
        "ADP101",
        "duplicate-dag-id",
        E,
        "Two files define the same DAG id; Airflow keeps only one of them.",
        "Give each DAG its own id.",
    ),
    Rule(
        "ADP102",
        "dag-id-taken",
        E,
        "Another package of the environment already publishes this DAG id.",
        "Rename the DAG; ids are global across the environment.",
    ),
    Rule(
        "ADP103",
        "duplicate-file-name",
        E,
        "Another DAG file has the same file name, here or in another package of the environment.",
        "Rename the file; DAG file names are unique across the environment (start them with the package name).",
    ),
    # ---- top-level work
    Rule(
        "ADP200",
        "top-level-variable",
        E,
        "Variable.get at module level runs at every parse of the file, and needs a metadata database or secrets backend there.",
        "Read the Variable inside a task, or use the template {{ var.value.<key> }} in an operator argument.",
    ),
    Rule(
        "ADP201",
        "top-level-connection",
        E,
        "A connection or hook is used at module level; it runs at every parse of the file.",
        "Create hooks and read connections inside tasks; pass conn_id strings to operators.",
    ),
    Rule(
        "ADP202",
        "top-level-network",
        E,
        "A network call at module level runs at every parse of the file.",
        "Make the call inside a task.",
    ),
    Rule(
        "ADP203",
        "top-level-database",
        E,
        "A database connection or query at module level runs at every parse of the file.",
        "Connect and query inside a task (or with an SQL operator).",
    ),
    # ---- package code
    Rule(
        "ADP300",
        "package-import-at-top-level",
        E,
        "The DAG file imports the package's own code at module level, where the deployment's DAG parser may not have it.",
        "Import the package inside the task that needs it.",
    ),
    Rule(
        "ADP301",
        "package-import",
        E,
        "The DAG file imports the package's own code; this deployment runs package code only in its runtime image.",
        "Run package code in the package's image (KubernetesPodOperator) instead of importing it in the DAG file.",
    ),
    # ---- platform conventions
    Rule(
        "ADP400",
        "dag-without-tags",
        E,
        "The DAG has no tags; the UI and the platform group DAGs by tags.",
        "Add tags=[...] to the DAG (the datakit name at least).",
    ),
    Rule(
        "ADP401",
        "task-without-owner",
        E,
        "A task has no owner (or Airflow's default 'airflow').",
        "Set default_args={'owner': '<team>'} on the DAG.",
    ),
    Rule(
        "ADP402",
        "task-without-retries",
        E,
        "A task has no retries.",
        "Set default_args={'retries': 2} (or more) on the DAG.",
    ),
    # ---- suppressions
    Rule(
        "ADP900",
        "suppression-without-reason",
        E,
        "A suppression gives no reason.",
        "Write why after it: '# adp: ignore[RULE] <reason>', or the baseline entry's \"reason\".",
    ),
    Rule(
        "ADP901",
        "suppression-unknown-rule",
        E,
        "A suppression names a rule that does not exist.",
        "Use a rule id from 'adp dags rules'.",
    ),
    Rule(
        "ADP902",
        "unused-suppression",
        W,
        "A suppression or baseline entry matches no finding.",
        "Remove it: the problem it covered is gone.",
    ),
]

# ruff's Airflow 3 migration rules (`AIR3xx`): removed names break the import on Airflow 3.
_AIR = [
    Rule(
        "AIR301",
        "airflow3-removal",
        E,
        "Removed in Airflow 3.",
        "Use the replacement ruff names in the message.",
        "ruff",
    ),
    Rule(
        "AIR302",
        "airflow3-moved-to-provider",
        E,
        "Moved out of Airflow core into a provider package.",
        "Import it from the provider named in the message (and add the provider to requirements.txt).",
        "ruff",
    ),
    Rule(
        "AIR311",
        "airflow3-suggested-update",
        W,
        "Deprecated in Airflow 3; still works, will be removed.",
        "Use the replacement named in the message.",
        "ruff",
    ),
    Rule(
        "AIR312",
        "airflow3-suggested-to-move-to-provider",
        W,
        "Deprecated in core; moved to a provider.",
        "Import it from the provider named in the message.",
        "ruff",
    ),
    Rule(
        "AIR321",
        "airflow3-moved",
        W,
        "Moved to another module in Airflow 3.x.",
        "Import it from the module named in the message.",
        "ruff",
    ),
]

# ruff's implementation of bandit's checks (S602 is bandit's B602). Only calls that are dangerous
# in a DAG file; hardcoded secrets are detect-secrets' job (its plugins, below).
_S = [
    Rule(
        "S102",
        "exec-builtin",
        E,
        "Use of exec (bandit B102).",
        "Do not execute dynamic code; call the function directly.",
        "ruff",
    ),
    Rule(
        "S103",
        "bad-file-permissions",
        E,
        "A file mode that lets everyone write (bandit B103).",
        "Use 0o600 or 0o640.",
        "ruff",
    ),
    Rule(
        "S108",
        "hardcoded-temp-file",
        W,
        "A hard-coded temporary path (bandit B108).",
        "Use tempfile.mkdtemp() or tempfile.NamedTemporaryFile().",
        "ruff",
    ),
    Rule(
        "S301",
        "suspicious-pickle-usage",
        E,
        "Unpickling can run arbitrary code (bandit B301).",
        "Use JSON (or another data-only format) for data crossing a trust boundary.",
        "ruff",
    ),
    Rule(
        "S302",
        "suspicious-marshal-usage",
        E,
        "marshal can crash or run code on crafted input (bandit B302).",
        "Use JSON.",
        "ruff",
    ),
    Rule(
        "S306",
        "suspicious-mktemp-usage",
        E,
        "tempfile.mktemp is racy (bandit B306).",
        "Use tempfile.mkstemp() or NamedTemporaryFile().",
        "ruff",
    ),
    Rule(
        "S307",
        "suspicious-eval-usage",
        E,
        "Use of eval (bandit B307).",
        "Use ast.literal_eval, or call the function directly.",
        "ruff",
    ),
    Rule(
        "S323",
        "suspicious-unverified-context-usage",
        E,
        "TLS without certificate checks (bandit B323).",
        "Use ssl.create_default_context(); trust the corporate CA through the CA bundle.",
        "ruff",
    ),
    Rule(
        "S324",
        "hashlib-insecure-hash-function",
        W,
        "MD5/SHA1 used (bandit B324).",
        "Use hashlib.sha256, or pass usedforsecurity=False for non-security checksums.",
        "ruff",
    ),
    Rule(
        "S501",
        "request-with-no-cert-validation",
        E,
        "HTTP request with verify=False (bandit B501).",
        "Remove verify=False; the image trusts the corporate CA (REQUESTS_CA_BUNDLE).",
        "ruff",
    ),
    Rule(
        "S506",
        "unsafe-yaml-load",
        E,
        "yaml.load without a safe loader (bandit B506).",
        "Use yaml.safe_load.",
        "ruff",
    ),
    Rule(
        "S602",
        "subprocess-popen-with-shell-equals-true",
        E,
        "subprocess with shell=True (bandit B602).",
        "Pass the command as a list without shell=True.",
        "ruff",
    ),
    Rule(
        "S604",
        "call-with-shell-equals-true",
        E,
        "A call with shell=True (bandit B604).",
        "Pass the command as a list without shell=True.",
        "ruff",
    ),
    Rule(
        "S605",
        "start-process-with-a-shell",
        E,
        "os.system / os.popen run a shell (bandit B605).",
        "Use subprocess.run([...]) without a shell.",
        "ruff",
    ),
    Rule(
        "S608",
        "hardcoded-sql-expression",
        W,
        "SQL built with string formatting (bandit B608).",
        "Use bound parameters (parameters=... of the SQL operator or hook).",
        "ruff",
    ),
]

# detect-secrets' plugins (IPPublicDetector is left out: an address is not a secret).
DETECT_SECRETS_PLUGINS = [
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "Base64HighEntropyString",
    "BasicAuthDetector", "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector",
    "GitLabTokenDetector", "HexHighEntropyString", "IbmCloudIamDetector", "IbmCosHmacDetector",
    "JwtTokenDetector", "KeywordDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector",
    "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
    "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector",
    "TwilioKeyDetector",
]  # fmt: skip
_SECRETS = [
    Rule(
        name,
        name,
        E,
        f"A hard-coded secret (detect-secrets' {name}).",
        "Remove it from the file (and rotate it: it is in git history); read it at run time from an Airflow connection or the secrets backend.",
        "detect-secrets",
    )
    for name in DETECT_SECRETS_PLUGINS
]

RULES: dict[str, Rule] = {rule.id: rule for rule in [*_ADP, *_AIR, *_S, *_SECRETS]}
RUFF_SELECT = [rule.id for rule in [*_AIR, *_S]]


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def new_finding(
    rule_id: str, path: str, message: str, line: int = 0, column: int | None = None
) -> Finding:
    """A finding of one of the platform's rules, with the rule's severity and fix (column 1
    by default when there is a line)."""
    r = RULES[rule_id]
    column = (1 if line else 0) if column is None else column
    return Finding(
        rule=r.id,
        severity=r.severity,
        path=path,
        line=line,
        column=column,
        message=message,
        fix=r.fix,
    )


def upstream_rule(rule_id: str, tool: str, message: str) -> Rule:
    """The rule of an upstream finding; one we do not list yet (a newer ruff) keeps its id."""
    return RULES.get(rule_id) or Rule(
        rule_id, rule_id, E, message, "See the rule's documentation.", tool
    )
