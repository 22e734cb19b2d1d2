"""Entry point of the `adp` command: one typer app, one sub-command group per concern.

Every error of a command reaches the user through one handler: the root group
(:class:`adp.cli.errors.AdpGroup`) prints an ``AdpError``'s problems and exits with its code.
"""

import typer

from adp import __version__
from adp.cli import dags, dev, doctor, images, kerberos, mcp, repos, sync
from adp.cli.errors import AdpGroup

app = typer.Typer(
    cls=AdpGroup,
    name="adp",
    help="The Airflow Data Platform's command line.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(kerberos.app, name="kerberos")
app.add_typer(dev.app, name="dev")
app.add_typer(images.app, name="images")
app.add_typer(dags.app, name="dags")
app.add_typer(repos.app, name="repos")
app.command("doctor")(doctor.doctor_command)
app.command("mcp")(mcp.mcp_command)
app.command("sync", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    sync.sync_command
)


@app.callback()
def main() -> None:
    """The Airflow Data Platform's command line.

    Exit codes: 0 ok, 1 findings or failure, 2 usage error.
    """


@app.command()
def version() -> None:
    """Print the platform-cli version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
