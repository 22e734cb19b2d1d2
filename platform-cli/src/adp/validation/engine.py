"""One validation run: read the files, run every rule, apply the suppressions.

The static part (syntax, top-level work, package imports, secrets) runs in parallel processes
next to ruff; the import check runs in the target environment; the DAG rules then judge what
Airflow built. Invariant: the same files and options give the same findings, in the same order,
whichever part of the platform calls it.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from adp.validation import scanners, suppressions
from adp.validation.dag_rules import check_dags, load_manifests
from adp.validation.findings import Finding, Report, fingerprint
from adp.validation.import_check import ImportRun, ImportStandby, TargetUnavailable, findings_of
from adp.validation.options import PackageImports, ValidationOptions
from adp.validation.rules import new_finding
from adp.validation.sources import Source, collect
from adp.validation.static_rules import check_tree, parse

PARALLEL_FROM = 64  # files; fewer are checked in this process
HEAVY_WORK = {"ADP200", "ADP201", "ADP202", "ADP203"}


_worker_scanner: scanners.SecretScanner | None = None


def _start_worker() -> None:
    """In each static worker process: one secret scanner for all its batches (the process ends
    with the pool, and detect-secrets' settings with it)."""
    global _worker_scanner
    _worker_scanner = scanners.SecretScanner().__enter__()


def _static(
    batch: Sequence[Source], package: str | None, package_imports: PackageImports
) -> tuple[list[Finding], set[str]]:
    """Findings of one batch, and the files among them that parse."""
    if _worker_scanner is not None:
        return _static_with(_worker_scanner, batch, package, package_imports)
    with scanners.SecretScanner() as secrets:
        return _static_with(secrets, batch, package, package_imports)


def _static_with(
    secrets: scanners.SecretScanner,
    batch: Sequence[Source],
    package: str | None,
    package_imports: PackageImports,
) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    parsed: set[str] = set()
    for source in batch:
        tree, syntax = parse(source)
        if syntax is not None:
            findings.append(syntax)
        elif tree is not None:
            parsed.add(source.display)
            dag_file = not source.in_package and not source.airflow_ignored
            findings += check_tree(source, tree, package, package_imports, dag_file)
        findings += secrets.scan(source)
    return findings, parsed


def _merge_import_failures(findings: list[Finding]) -> list[Finding]:
    """An import that failed on a line a top-level-work rule already names is one problem: the
    rule's finding says so, and the import error is not repeated."""
    heavy = {(f.path, f.line): f for f in findings if f.rule in HEAVY_WORK}
    kept = []
    for finding in findings:
        twin = heavy.get((finding.path, finding.line))
        if finding.rule in {"ADP020", "ADP023"} and twin is not None:
            twin.message += f"; importing the file failed there ({finding.message})"
            continue
        kept.append(finding)
    return kept


def _static_all(
    sources: Sequence[Source], options: ValidationOptions, jobs: int
) -> tuple[list[Finding], set[str]]:
    if len(sources) < PARALLEL_FROM or jobs == 1:
        return _static(sources, options.package, options.package_imports)
    size = max(16, len(sources) // (jobs * 4))
    batches = [sources[i : i + size] for i in range(0, len(sources), size)]
    findings: list[Finding] = []
    parsed: set[str] = set()
    scanners.SecretScanner()  # imports detect-secrets here, once, before the workers fork
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker
    ) as pool:
        futures = [
            pool.submit(_static, batch, options.package, options.package_imports)
            for batch in batches
        ]
        for future in futures:
            batch_findings, batch_parsed = future.result()
            findings += batch_findings
            parsed |= batch_parsed
    return findings, parsed


def _ruff_start(sources: Sequence[Source]) -> subprocess.Popen[str] | None:
    if not sources:
        return None
    return subprocess.Popen(
        scanners.ruff_command(sources), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def validate(
    paths: Sequence[str | Path],
    options: ValidationOptions,
    standby: ImportStandby | None = None,
) -> Report:
    """Validate the DAG files under ``paths`` (folders or files). Raises ConfigError for a bad
    manifest or baseline (before anything runs); every problem with the files is a finding.
    ``standby``: the caller's ``ImportStandby``, whose waiting worker the import check may take."""
    manifests = load_manifests(options.env_manifests)
    baseline = suppressions.load_baseline(options.baseline) if options.baseline else None
    jobs = options.jobs or os.cpu_count() or 1
    sources, findings, roots = collect(paths, options.max_file_bytes)
    report = Report(
        package=options.package,
        roots=[str(root) for root in roots],
        files=[source.relative for source in sources],
    )
    # Everything Airflow would import (decided from the text; files that turn out not to parse
    # are dropped below) starts importing now, so the target warms up next to the static rules.
    candidates = [s for s in sources if s.might_contain_dag and not s.airflow_ignored]
    imports = (
        ImportRun(
            candidates,
            roots,
            options.target,
            options.import_timeout,
            jobs,
            pass_env=options.pass_env,
            withheld=options.withheld_env,
            hide=options.hide_paths,
            visible=options.visible_paths,
            redact=[secret.get_secret_value() for secret in options.redact],
            standby=standby,
        )
        if options.import_check
        else None
    )
    try:
        ruff = _ruff_start(sources)
        static_findings, parsed = _static_all(sources, options, jobs)
        findings += static_findings
        if ruff is not None:
            stdout, stderr = ruff.communicate()
            findings += scanners.ruff_findings(sources, stdout, stderr, ruff.returncode)
    except BaseException:
        if imports is not None:
            imports.close()
        raise
    if imports is not None:
        try:
            results, where = imports.results()
            report.notes.append(f"import check: {len(results)} file(s) in {where}")
            if imports.weaker:
                findings.append(new_finding("ADP026", ".", imports.weaker))
        except TargetUnavailable as error:
            results = []
            findings.append(new_finding("ADP025", ".", str(error)))
        results = [r for r in results if r.source.display in parsed]  # ADP010 says it all
        for result in results:
            findings += findings_of(
                result, options.import_time_threshold, not result.source.in_package
            )
        dag_files = [s for s in candidates if s.display in parsed and not s.in_package]
        dag_findings, report.dags = check_dags(results, dag_files, options, manifests)
        findings += dag_findings
    else:
        report.notes.append("import check off: naming and convention rules did not run")
    findings = _merge_import_failures(findings)
    by_display = {source.display: source for source in sources}
    for finding in findings:
        source = by_display.get(finding.path)
        text = source.line_text(finding.line) if source else ""
        relative = source.relative if source else finding.path
        finding.fingerprint = fingerprint(finding.rule, relative, text)
    report.findings = findings
    suppressions.apply(report, sources, baseline, str(options.baseline or ""))
    report.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule, f.message))
    report.dags.sort(key=lambda d: (d.path, d.dag_id))
    return report
