"""`python -m adp`: the same as the `adp` command."""

from adp.cli.main import app

app(prog_name="adp")
