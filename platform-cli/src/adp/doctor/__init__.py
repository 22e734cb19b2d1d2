"""`adp doctor`: the host's prerequisites for building and running datakits.

Contract: every check returns one `Check` with a status (ok, fail, warn, skip), a one-line
detail and, unless ok, the fix; a check never prints a credential (credential files are
judged by their path and mode only) and never changes anything. `failed(checks)` is true
exactly when a required check failed: Kerberos and the Astro CLI are optional unless asked
for (a datakit with the Kerberos override asks for Kerberos).
"""

from adp.doctor.checks import Check, Context, failed, run_checks

__all__ = ["Check", "Context", "failed", "run_checks"]
