"""adp: the Airflow Data Platform's command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("platform-cli")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
