"""DAG validation (adp.validation) on generated DAG files: the static rules and the import check.

Generates --files realistic DAG files (TaskFlow API, tags, owner and retries in default_args,
2-3 tasks each, four shapes: a chain, a module-level JSON config string, dynamic task mapping,
an EmptyOperator with a package import inside a task) that follow every rule, then measures
the wall time, best of --repeat, of:

  static   ``validate([folder], ValidationOptions(package="bench", import_check=False))``:
           every static rule in one run (syntax, top-level work, package imports, ruff's AIR
           and bandit rules, detect-secrets). For context: where its time goes (the AST
           rules, the library's detect-secrets scanner and the suppression comments, each in
           one process; ruff as the library runs it), the same through the CLI
           (`adp dags validate --no-import-check`, a new interpreter, as bandit is), and
           detect-secrets' own CLI alone.
  anchor   `bandit -q -r <folder>` alone (.venv's bandit, pinned in requirements-dev.txt) on
           the same files. Goal (issue 12): all our static rules at least as fast as bandit
           alone.
  import   the import check alone (``run_imports`` on every file validate() imports: one
           worker in this interpreter, .venv's Airflow, imports Airflow once, then forks a
           child per file with a per-file timeout), then ``validate([folder],
           ValidationOptions(package="bench"))`` with every rule (the import check runs
           alongside the static rules). Goal (issue 12): 2,000 files in under 60 s on 2 cores.
           Also: the import check of one file alone (the worker's fixed start-up).

The files follow every rule, so each run must find nothing; the finding counts are printed so
a reader sees it. Prints figures side by side with the anchor and the goals; asserts nothing
about timing.

Usage (from the repository root; the full 2,000 files take a few minutes on 2 cores):
  .venv/bin/python benchmarks/dags_validate.py [--files 2000] [--repeat 1] [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adp.validation import (
    ImportTarget,
    Report,
    ValidationOptions,
    scanners,
    static_rules,
    suppressions,
    validate,
)
from adp.validation.import_check import ImportResult, run_imports
from adp.validation.sources import Source, collect

PACKAGE = "bench"
BIN = Path(sys.executable).parent
IMPORT_GOAL_S = 60.0
GOAL_CORES = 2
SCHEDULES = ['"@daily"', '"@hourly"', "None", '"0 3 * * *"', '"@weekly"']
TEAMS = ["sales", "finance", "marketing", "logistics", "risk", "hr", "platform"]

HEADER = '''\
"""Generated benchmark DAG {number}: {what}."""

{stdlib}from datetime import datetime, timedelta
{imports}
from airflow.sdk import dag, task
{module}

@dag(
    dag_id="{dag_id}",
    description="{what}",
    schedule={schedule},
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["{package}", "team-{team}"],
    default_args={{
        "owner": "{team}-data",
        "retries": {retries},
        "retry_delay": timedelta(minutes={delay}),
    }},
)
def {dag_id}():
'''

CHAIN = '''\
    @task
    def extract() -> list[dict[str, int]]:
        """Rows of the day's orders."""
        return [{{"order": n, "amount": (n + {number}) % 97}} for n in range(100)]

    @task
    def transform(rows: list[dict[str, int]]) -> int:
        return sum(row["amount"] for row in rows if row["amount"] > 10)

    @task
    def load(total: int) -> None:
        print(f"{dag_id}: loaded total {{total}}")

    load(transform(extract()))
'''

CONFIG_MODULE = """
CONFIG = json.loads(
    '{{"source": "s3://bench-raw-{number}/orders", "format": "parquet", '
    '"batch_size": {batch}, "region": "eu-west-1", "conn_id": "bench_warehouse", '
    '"api_url": "https://api.example.com/v1/orders"}}'
)
"""

CONFIG = """\
    @task
    def read_config() -> dict[str, object]:
        return dict(CONFIG)

    @task
    def copy_batch(config: dict[str, object]) -> str:
        return f"copied {{config['batch_size']}} rows from {{config['source']}}"

    copy_batch(read_config())
"""

MAPPED = """\
    @task
    def partitions() -> list[str]:
        return [f"part-{{n:02d}}" for n in range({width})]

    @task(retries={retries_task})
    def process(partition: str) -> int:
        from airflow.sdk import get_current_context

        context = get_current_context()
        return len(partition) + len(str(context["ds"]))

    @task
    def report(counts: list[int]) -> None:
        print(f"{dag_id}: {{sum(counts)}} rows in {{len(counts)}} partitions")

    report(process.expand(partition=partitions()))
"""

OPERATOR_IMPORTS = "\nfrom airflow.providers.standard.operators.empty import EmptyOperator"

OPERATOR = """\
    start = EmptyOperator(task_id="start")

    @task
    def score() -> float:
        from {package}.scoring import score_customers  # package code only inside the task

        return score_customers(batch={batch})

    start >> score()
"""

# (what, standard-library imports, other imports, module-level code, the @dag body)
SHAPES = [
    ("a chain of extract, transform and load", "", "", "", CHAIN),
    ("a copy driven by a module-level JSON config", "import json\n", "", CONFIG_MODULE, CONFIG),
    ("dynamic task mapping over partitions", "", "", "", MAPPED),
    ("an EmptyOperator, then package code in a task", "", OPERATOR_IMPORTS, "", OPERATOR),
]


def dag_file(number: int) -> tuple[str, str]:
    """The file name and text of generated DAG ``number``."""
    what, stdlib, imports, module, body = SHAPES[number % len(SHAPES)]
    fields = {
        "number": number,
        "what": what,
        "package": PACKAGE,
        "dag_id": f"{PACKAGE}_dag_{number:04d}",
        "schedule": SCHEDULES[number % len(SCHEDULES)],
        "team": TEAMS[number % len(TEAMS)],
        "retries": 1 + number % 3,
        "retries_task": 2 + number % 2,
        "delay": 1 + number % 10,
        "batch": 100 + number % 900,
        "width": 2 + number % 6,
    }
    module = module.format(**fields)
    text = HEADER.format(stdlib=stdlib, imports=imports, module=module, **fields)
    text += "\n" + body.format(**fields) + f"\n\n{fields['dag_id']}()\n"
    return f"{fields['dag_id']}.py", text


def generate(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for number in range(count):
        name, text = dag_file(number)
        (folder / name).write_text(text, encoding="utf-8")


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of ``repeat`` runs, and the last run's result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def tool(command: Sequence[str], ok: set[int], cwd: Path | None = None) -> Callable[[], str]:
    """A run of ``command`` returning its stdout; an exit code outside ``ok`` stops the bench."""

    def run() -> str:
        completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        if completed.returncode not in ok:
            sys.exit(
                f"{' '.join(command[:4])} ... exited {completed.returncode}:\n"
                f"{completed.stderr.strip()[-2000:]}"
            )
        return completed.stdout

    return run


def summary(report: Report) -> str:
    """How many findings, by rule (the generated files should have none)."""
    rules = Counter(finding.rule for finding in report.findings)
    detail = ", ".join(f"{rule} x{count}" for rule, count in sorted(rules.items()))
    return f"{len(report.findings)}" + (f" ({detail})" if detail else "")


def warn_if_found(report: Report) -> None:
    for finding in report.findings[:5]:
        print(f"  unexpected: {finding.path}:{finding.line} {finding.rule} {finding.message}")
    if report.findings:
        print("  the generated files follow every rule: a finding is a generator or library bug")


HEADING = f"  {'what':<56}{'seconds':>9}{'files/s':>11}   findings"


def row(what: str, seconds: float, files: int, note: str = "") -> str:
    rate = files / seconds if seconds > 0 else float("inf")
    return f"  {what:<56}{seconds:9.2f}{rate:11.0f}   {note}".rstrip()


def versions() -> str:
    names = ["apache-airflow", "ruff", "bandit", "detect-secrets"]
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


def timed_validate_with_imports(
    folder: Path, options: ValidationOptions, jobs: int
) -> tuple[float, float, Report, list[ImportResult], str]:
    """The import check alone (run_imports on every file validate() would import), then one
    full run (where the import check overlaps the static rules); returns both times, the
    report, the import results and where they ran."""
    sources, _, roots = collect([folder], options.max_file_bytes)
    candidates = [s for s in sources if s.might_contain_dag and not s.airflow_ignored]
    start = time.perf_counter()
    results, where = run_imports(candidates, roots, ImportTarget(), options.import_timeout, jobs)
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    report = validate([folder], options)
    total = time.perf_counter() - start
    return total, import_s, report, results, where


def ast_rules(sources: Sequence[Source]) -> None:
    """The platform's own AST rules (syntax, top-level work, package imports), one process."""
    where = ValidationOptions().package_imports
    for source in sources:
        tree, _ = static_rules.parse(source)
        if tree is not None:
            static_rules.check_tree(source, tree, PACKAGE, where, True)


def secret_scan(sources: Sequence[Source]) -> None:
    """The library's detect-secrets scanner (its plugins called line by line), one process."""
    with scanners.SecretScanner() as secrets:
        for source in sources:
            secrets.scan(source)


def suppression_comments(sources: Sequence[Source]) -> None:
    """Reading the inline suppressions (every file tokenized), as validate() does at the end."""
    for source in sources:
        suppressions.inline_suppressions(source)


def static_part(args: argparse.Namespace, folder: Path, jobs: int) -> None:
    files = args.files
    options = ValidationOptions(package=PACKAGE, import_check=False, jobs=jobs)
    sources, _, _ = collect([folder], options.max_file_bytes)
    print("static rules ...", flush=True)
    static_s, report = best_of(args.repeat, lambda: validate([folder], options))
    cli = [str(BIN / "adp"), "dags", "validate", "--package", PACKAGE, "--no-import-check"]
    cli_s, _ = best_of(args.repeat, tool([*cli, "--jobs", str(jobs), str(folder)], {0}, folder))
    ruff_s, ruff_out = best_of(args.repeat, tool(scanners.ruff_command(sources), {0}))
    # Run from the folder: detect-secrets scans nothing (silently) given a path outside its cwd.
    secrets_cmd = [str(BIN / "detect-secrets"), "scan", "--all-files", "."]
    secrets_s, secrets_out = best_of(args.repeat, tool(secrets_cmd, {0}, folder))
    bandit_cmd = [str(BIN / "bandit"), "-q", "-r", str(folder)]
    bandit_s, bandit_out = best_of(args.repeat, tool(bandit_cmd, {0, 1}))
    ast_s, _ = best_of(args.repeat, lambda: ast_rules(sources))
    scan_s, _ = best_of(args.repeat, lambda: secret_scan(sources))
    comments_s, _ = best_of(args.repeat, lambda: suppression_comments(sources))

    ruff_found = str(len(json.loads(ruff_out or "[]")))
    secrets_found = str(sum(len(found) for found in json.loads(secrets_out)["results"].values()))
    bandit_found = str(bandit_out.count(">> Issue:"))
    print(HEADING)
    print(row("validate(), import check off: all static rules", static_s, files, summary(report)))
    print(row("  in it: AST rules (parse, check_tree; 1 process)", ast_s, files))
    print(row("  in it: detect-secrets plugins (1 process)", scan_s, files))
    print(row("  in it: suppression comments (tokenize; 1 process)", comments_s, files))
    print(row("  in it: ruff (its command line, run alongside)", ruff_s, files, ruff_found))
    print(row("adp dags validate --no-import-check (CLI, new process)", cli_s, files, "exit 0"))
    print(row("detect-secrets scan --all-files (its CLI) alone", secrets_s, files, secrets_found))
    print(row("bandit -q -r alone (anchor)", bandit_s, files, bandit_found))
    met = "goal met" if static_s <= bandit_s else "goal not met"
    print(
        f"static rules {static_s:.1f} s vs bandit alone {bandit_s:.1f} s: {met} "
        f"({static_s / bandit_s:.2f}x bandit's time; the CLI, interpreter start included: "
        f"{cli_s:.1f} s)"
    )
    warn_if_found(report)


def import_part(args: argparse.Namespace, folder: Path, jobs: int) -> None:
    files = args.files
    options = ValidationOptions(package=PACKAGE, jobs=jobs)
    sources, _, roots = collect([folder], options.max_file_bytes)
    print("\nimport check ...", flush=True)
    single_s, _ = best_of(
        args.repeat,
        lambda: run_imports(sources[:1], roots, ImportTarget(), options.import_timeout, jobs),
    )
    runs = [timed_validate_with_imports(folder, options, jobs) for _ in range(args.repeat)]
    total_s = min(run[0] for run in runs)
    import_s = min(run[1] for run in runs)
    _, _, report, results, where = runs[-1]
    statuses = Counter(result.status for result in results)
    per_file = [result.seconds for result in results if result.status == "ok"] or [0.0]
    per_file_s = (import_s - single_s) / max(len(results) - 1, 1)
    print(f"  target: {where}; per-file timeout {options.import_timeout:g} s")
    print(HEADING)
    print(row("import check alone (run_imports)", import_s, files))
    print(row("validate(), every rule (import check alongside)", total_s, files, summary(report)))
    print(row("import check of 1 file (start-up: Airflow, warm-up)", single_s, 1))
    print(
        f"  files imported: {len(results)} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}); DAGs: "
        f"{len(report.dags)}; BundleDagBag per file in the child: median "
        f"{statistics.median(per_file) * 1000:.0f} ms, max {max(per_file) * 1000:.0f} ms; "
        f"wall per file after start-up: {per_file_s * 1000:.1f} ms"
    )
    met = "goal met" if import_s < IMPORT_GOAL_S else "goal not met"
    cores = os.cpu_count()
    on = "" if cores == GOAL_CORES else f"; measured on {cores} cores"
    print(
        f"import check {len(results)} files in {import_s:.1f} s "
        f"(goal: under {IMPORT_GOAL_S:.0f} s on {GOAL_CORES} cores): {met}{on}"
    )
    if files < 2000:
        scaled = single_s + per_file_s * 2000
        print(f"  (scaled linearly to 2,000 files: about {scaled:.0f} s)")
    warn_if_found(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="DAG files to generate")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    parser.add_argument("--static-only", action="store_true", help="skip the import check")
    args = parser.parse_args()
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    jobs = args.jobs or os.cpu_count() or 1

    work = Path(tempfile.mkdtemp(prefix="adp-bench-validate-"))
    folder = work / "dags"
    try:
        generate(folder, args.files)
        print(
            f"{args.files} generated DAG files in {folder}; os.cpu_count() {os.cpu_count()}, "
            f"jobs {jobs}, best of {args.repeat}"
        )
        print(f"Python {sys.version.split()[0]}; {versions()}\n")
        static_part(args, folder, jobs)
        if not args.static_only:
            import_part(args, folder, jobs)
    finally:
        if args.keep:
            print(f"\nkept {folder}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
