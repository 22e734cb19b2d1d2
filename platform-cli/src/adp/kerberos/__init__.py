"""Kerberos on the developer's host.

Contract: `export_cache` writes a FILE cache holding every credential of the source cache,
atomically (temporary file + rename, mode 0600), and only when the source holds a valid
TGT; otherwise it raises `TicketError` whose message says what to run.
"""
