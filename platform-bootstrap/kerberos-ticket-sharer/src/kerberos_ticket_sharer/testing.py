"""Moved to test-support (package adp_test_servers): the throw-away KDC is not product code.

A temporary alias for the tests that still import it from here; it goes once none does.
"""

from adp_test_servers.kdc import (
    KCM_SOCKET,
    KDC_BINARIES,
    Realm,
    missing_kerberos_tools,
    running_kcm,
    start_realm,
    write_krb5_conf,
)
from adp_test_servers.ports import free_port
from adp_test_servers.sharer import SharerProcess
from adp_test_servers.system import as_uid

__all__ = [
    "KCM_SOCKET",
    "KDC_BINARIES",
    "Realm",
    "SharerProcess",
    "as_uid",
    "free_port",
    "missing_kerberos_tools",
    "running_kcm",
    "start_realm",
    "write_krb5_conf",
]
