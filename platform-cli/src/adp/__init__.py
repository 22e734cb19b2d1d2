"""adp: the Airflow Data Platform's command line and the libraries behind it.

One folder or module per concern, each stating its contract at the top of its ``__init__``
or module docstring, in four tiers; a tier imports only the tiers below it, and nothing below
the front ends imports typer, so Airflow processes, CI jobs and servers import the libraries
directly (platform-cli/README.md says what each holds and its invariant):

1. Shared primitives, which import no other tier: ``errors`` (``AdpError`` and ``Problem``,
   the one error vocabulary), ``fsatomic`` (atomic, durable file writes), ``envfile``
   (``KEY=value`` files), ``yaml_lines`` (the one YAML reader: duplicate keys refused,
   bounded, every value's line), ``pydantic_problems`` (pydantic errors as problems),
   ``settings_base`` (settings from variables, each declared once), ``airflow_api`` (Airflow's
   REST client) and ``airflow_access`` (which Airflow, with which token), ``facts`` (the
   pinned facts of facts.env), ``names`` (the rules for package, environment and image-type
   names), ``docker_cli`` (the BuildKit client).
2. Domain libraries: ``validation/`` (the DAG rules and the security scan), ``generate/``
   (DAG files from a spec), ``releases/`` (the release store), ``sync/`` (the sync agent),
   ``bundles/`` (the Airflow DAG bundle), ``repos/`` (git repositories, validate-then-promote),
   ``sources/`` (every DAG source as typed data), ``webhooks/`` (the receiver), ``images/``
   (the runtime images), ``dev/`` (the local Airflow stack; only the developer's tools,
   ``doctor/`` and ``cli/``, import it), ``doctor/`` (the host's prerequisites), ``kerberos/``
   (KCM:/KEYRING: export).
3. ``operations/``: every action on DAG sources, once, as a typed function with a typed result.
4. Front ends, which only translate arguments and render results: ``cli/`` (the thin typer
   commands), ``mcp/`` (``adp mcp``, tools for chat assistants), ``ui/`` (the DAG sources page
   of the Airflow UI).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("platform-cli")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
