"""The `adp` command: thin typer commands over the libraries of the other folders.

Nothing here holds logic a server or an Airflow process would need; each module parses
options, calls one library, and prints its result (text or --json). Errors are not printed
here: an ``AdpError`` propagates to the one handler of ``adp.cli.errors``, which prints its
problems and exits with its code: 0 ok, 1 findings or failure, 2 usage.
"""
