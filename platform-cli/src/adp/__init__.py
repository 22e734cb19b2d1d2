"""adp: the Airflow Data Platform's command line and the libraries behind it.

One folder per concern, each stating its contract at the top of its ``__init__``:
``cli/`` holds the thin typer commands only; every other folder is a library free of
typer, so that Airflow processes, CI jobs and servers import it directly.

- ``kerberos/``: export KCM:/KEYRING: caches for the ticket sharer.
- ``dev/``: the local, Astro-shaped Airflow stack of a datakit (``adp dev``).
- ``doctor/``: the host's prerequisites, each with its fix (``adp doctor``).
- ``images/``: the per-DAG-type runtime images (``adp images``).
- ``facts``: the pinned facts of the repository's facts.env; ``docker_cli``: the BuildKit
  client (scripts/find-buildkit-docker).

DAG distribution adds ``validation/``, ``releases/``, ``sync/``, ``bundles/``, ``repos/``,
``webhooks/`` and ``ui/`` (platform-cli/README.md says what each holds).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("platform-cli")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
