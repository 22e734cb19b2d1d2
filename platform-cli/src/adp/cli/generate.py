"""`adp dags generate`: DAG files from a spec, for the KubernetesPodOperator pattern (thin over
adp.generate).

Exit codes: 0 written (or up to date), 1 out of date (--check), a refused overwrite or a failed
render, 2 a bad spec or option (nothing written). Errors propagate as ``AdpError`` to the one
handler of ``adp.cli.errors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adp.errors import Failure, UsageError
from adp.generate.plan import Action, Plan, apply, plan
from adp.generate.spec import SpecError, load_spec

DEFAULT_SPEC = Path("kpo-dags.yaml")


def _line(verb: str, path: Path, refusal: str | None = None) -> str:
    return f"  {verb} {path}" + (f" (refused: {refusal})" if refusal else "")


_WOULD = {Action.create: "would create", Action.update: "would update",
          Action.delete: "would delete"}  # fmt: skip
_DONE = {Action.create: "created", Action.update: "updated", Action.delete: "deleted"}


def _load(spec_path: Path, out: Path, image_tag: str | None) -> Plan:
    """The plan of ``spec_path`` into ``out``: SpecError (exit 2) for a bad spec or option,
    RenderError or Failure (exit 1) when it cannot be rendered or ``out`` read."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a folder; pass the DAG folder to write")
    spec = load_spec(spec_path)
    try:
        spec = spec.with_tag(image_tag)
    except ValueError as error:
        raise SpecError(str(error), loc="image_tag") from None
    if not spec.image.tag:
        raise SpecError(
            "no tag: set it in the spec or pass --image-tag (CI passes the tag it just built)",
            file=str(spec_path),
            loc=("image", "tag"),
        )
    try:
        return plan(spec, spec_path, out)
    except OSError as error:
        raise Failure(f"cannot read {out}: {error}") from None


def generate_command(
    spec: Annotated[
        Path,
        typer.Argument(help="The spec: package, image and jobs (YAML).", show_default=True),
    ] = DEFAULT_SPEC,
    out: Annotated[Path, typer.Option("--out", "-o", help="The DAG folder to write.")] = Path(
        "dags"
    ),
    image_tag: Annotated[
        str | None,
        typer.Option("--image-tag", help="Image tag to inject (overrides image.tag of the spec)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace or delete files even if written or edited by hand."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written (a diff); write nothing.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 if the folder is not what the spec generates (CI)."),
    ] = False,
) -> None:
    """Write one DAG file per job of the spec: a KubernetesPodOperator running the job's
    command in the package's image, dag_id [bold]<package>_<name>[/].

    Generated files carry a header naming the spec and a digest; a file without it (written by
    hand) or whose digest no longer matches (edited by hand) is never replaced or deleted
    without --force, and then nothing is written at all. Files generated from the same spec for
    jobs it no longer has are deleted. A bad spec is refused with its file, field and fix.
    """
    result = _load(spec, out, image_tag)
    pending = result.pending
    if check:
        if not pending:
            typer.echo(f"up to date: {len(result.changes)} file(s) in {out}")
            return
        typer.echo(f"out of date: {len(pending)} file(s) in {out} differ from {spec}:")
        for change in pending:
            typer.echo(_line(_WOULD[change.action], change.path, change.refusal))
        typer.echo(f"run: adp dags generate {spec} --out {out}")
        raise typer.Exit(1)
    if dry_run:
        for change in pending:
            typer.echo(_line(_WOULD[change.action], change.path, change.refusal))
            if change.action is not Action.delete:
                typer.echo(change.diff(), nl=False)
        unchanged = len(result.changes) - len(pending)
        typer.echo(f"dry run: {len(pending)} change(s), {unchanged} unchanged; nothing was written")
        if result.refused and not force:
            raise typer.Exit(1)
        return
    try:
        done = apply(result, force=force)  # OverwriteRefused (exit 1): hand-edited files
    except OSError as error:
        raise Failure(f"cannot write to {out}: {error}") from None
    for change in done:
        typer.echo(_line(_DONE[change.action], change.path))
    unchanged = len(result.changes) - len(done)
    typer.echo(f"{len(done)} file(s) written or deleted, {unchanged} unchanged, in {out}")
