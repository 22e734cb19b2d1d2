"""`kerberos-ticket-sharer run | status | healthcheck` (stdlib only: the image needs no PyPI).

Exit codes: 0 ok/healthy, 1 unhealthy or failed, 2 bad settings or usage.
"""

from __future__ import annotations

import json
import sys

from kerberos_ticket_sharer import __version__, config


def healthcheck() -> int:
    """The health check without argparse: Docker runs it every few seconds."""
    try:
        settings = config.from_env()
    except config.ConfigError as exc:
        print(f"kerberos-ticket-sharer: {exc}", file=sys.stderr)
        return 2
    from kerberos_ticket_sharer import status

    result = status.report(settings)
    # One line for `docker inspect`: the verdict and, when unhealthy, what to do.
    print(result.lines[0] if result.healthy else f"{result.lines[0]} | {result.lines[-1].strip()}")
    return 0 if result.healthy else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["healthcheck"]:
        return healthcheck()
    if argv and argv[0] == "host-env":  # on the host, before any container exists
        from kerberos_ticket_sharer import host_env

        if argv[1:] not in ([], ["--lenient"]):
            print("usage: kerberos-ticket-sharer host-env [--lenient]", file=sys.stderr)
            return 2
        return host_env.main(lenient=argv[1:] == ["--lenient"])
    import argparse

    parser = argparse.ArgumentParser(
        prog="kerberos-ticket-sharer",
        description=(
            "Share the developer's Kerberos TGT with Airflow containers: copy it, only while "
            "valid, atomically into SHARER_TARGET_DIR/SHARER_TARGET_NAME (default "
            "/krb5/cache/krb5cc), readable only by SHARER_OWNER_UID. Settings come from "
            "environment variables; see platform-bootstrap/.env.example."
        ),
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="poll the source and share its ticket (the default)")
    show = commands.add_parser(
        "status", help="print principal, expiry and time since the last share"
    )
    show.add_argument("--json", action="store_true", help="print a JSON object instead")
    commands.add_parser(
        "host-env",
        help="print the HOST_KRB5* settings platform-bootstrap's compose file needs (--lenient)",
    )
    commands.add_parser(
        "healthcheck",
        help="exit 0 only if the sharer is alive and the shared copy holds a valid TGT",
    )
    args = parser.parse_args(argv)
    if args.command == "healthcheck":
        return healthcheck()

    try:
        settings = config.from_env()
    except config.ConfigError as exc:
        print(f"kerberos-ticket-sharer: {exc}", file=sys.stderr)
        return 2

    if args.command in (None, "run"):
        # Imported here: the health check runs this CLI every few seconds and needs neither.
        import logging

        from kerberos_ticket_sharer import shared_copy, sharer

        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s kerberos-ticket-sharer: %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            stream=sys.stderr,
        )
        try:
            sharer.Sharer(settings).run()
        except shared_copy.SharedCopyError as exc:
            logging.getLogger("kerberos_ticket_sharer").error("%s", exc.strerror)
            return 1
        return 0

    from kerberos_ticket_sharer import status

    result = status.report(settings)
    if args.json:
        print(json.dumps(result.data, indent=2, sort_keys=True))
    else:
        print("\n".join(result.lines))
    return 0 if result.healthy else 1
