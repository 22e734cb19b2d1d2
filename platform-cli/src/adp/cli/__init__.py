"""The `adp` command: thin typer commands over the libraries of the other folders.

Nothing here holds logic a server or an Airflow process would need; each module parses
options, calls one library, prints its result (text or --json) and maps errors to exit
codes: 0 ok, 1 findings or failure, 2 usage.
"""
