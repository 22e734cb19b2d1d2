"""Kerberos ticket sharer: copies the developer's valid TGT into the volume datakits mount."""

import os
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kerberos-ticket-sharer")
except PackageNotFoundError:  # the image runs the source (PYTHONPATH); its build passes the version
    __version__ = os.environ.get("KERBEROS_TICKET_SHARER_VERSION", "0.0.0+unknown")
