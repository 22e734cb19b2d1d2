"""Kerberos ticket sharer: kinit-to-usable latency, idle CPU and memory of its container.

Starts a throw-away MIT KDC on loopback and the real compose stack
(`make -C platform-bootstrap platform-start`, its own project and volume name), then:
  latency  runs `kinit` on the "host" N times (a new login each time) and measures the
           time from starting kinit until the volume holds the new ticket and it
           authenticates (`kvno` with a copy of the shared file)
  idle     samples the sharer container's CPU time and memory over a quiet period
It prints figures; it asserts nothing about them.

Needs root (reads the volume's mount point), Docker, make,
docker-compose, krb5-kdc. Usage:
  python benchmarks/kerberos_share_latency.py [--runs 10] [--idle-seconds 30] [--poll-interval 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
BOOTSTRAP = REPO / "platform-bootstrap"
try:
    from adp_test_servers.kdc import start_realm
    from adp_test_servers.platform_stack import make_platform, sharer_container, stack_env
    from kerberos_ticket_sharer.ticket_cache import parse
except ImportError:  # not installed (scripts/dev-env installs both): use the source trees
    sys.path[:0] = [
        str(REPO / "test-support" / "src"),
        str(BOOTSTRAP / "kerberos-ticket-sharer" / "src"),
    ]
    from adp_test_servers.kdc import start_realm
    from adp_test_servers.platform_stack import make_platform, sharer_container, stack_env
    from kerberos_ticket_sharer.ticket_cache import parse


def make(target: str, env: dict[str, str]) -> None:
    result = make_platform(BOOTSTRAP, target, env)
    if result.returncode != 0:
        sys.exit(f"make {target} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def authtime(path: Path) -> int | None:
    try:
        tgt = parse(path.read_bytes()).tgt()
    except (FileNotFoundError, ValueError):
        return None
    return tgt.authtime if tgt else None


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sharer_pid(container) -> int:  # type: ignore[no-untyped-def]
    """Host PID of the sharer's Python process (its parent in the container is tini)."""
    top = container.top(ps_args="-eo pid,args")
    for pid, args in top["Processes"]:
        if "kerberos_ticket_sharer" in args and "healthcheck" not in args:
            return int(pid)
    raise RuntimeError(f"no sharer process in {top}")


def cpu_and_memory(container, seconds: float) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """CPU % of one core over `seconds` (container, and the sharer loop alone), then memory
    in MiB (total, and without page cache)."""
    pid = sharer_pid(container)
    loop_before = process_cpu_seconds(pid)
    first = container.stats(stream=False)
    time.sleep(seconds)
    second = container.stats(stream=False)
    loop = 100 * (process_cpu_seconds(pid) - loop_before) / seconds
    used = (
        second["cpu_stats"]["cpu_usage"]["total_usage"]
        - first["cpu_stats"]["cpu_usage"]["total_usage"]
    )
    memory = second["memory_stats"]
    usage = memory.get("usage", 0)
    cache = memory.get("stats", {}).get("cache", memory.get("stats", {}).get("inactive_file", 0))
    return 100 * used / (seconds * 1e9), loop, usage / 2**20, (usage - cache) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--poll-interval", default="1", help="SHARER_POLL_INTERVAL (seconds)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark reads the volume's mount point directly")

    work = Path(tempfile.mkdtemp(prefix="adp-bench-krb-"))
    work.chmod(0o755)
    realm = start_realm(work / "kdc", "BENCH.TEST")
    principal = realm.add_user("erin", "erin-password")
    realm.add_service("host/localhost", work / "kdc" / "host.keytab")
    host = work / "host"
    host.mkdir()
    env = stack_env(realm, host, "adpbench", SHARER_POLL_INTERVAL=args.poll_interval)
    client = docker.from_env()
    try:
        realm.kinit(principal, f"FILE:{host}/krb5cc_1000")
        make("platform-start", env)
        volume = client.volumes.get(env["KERBEROS_CACHE_VOLUME"])
        shared = Path(volume.attrs["Mountpoint"]) / "krb5cc"
        container = sharer_container(client, env)
        kinit_times, latencies = [], []
        for _ in range(args.runs):
            before = authtime(shared)
            # A new authtime (1 s resolution) marks a new login; the random part spreads
            # the kinit over the sharer's poll cycle instead of hitting one phase of it.
            time.sleep(1.1 + random.random())
            start = time.monotonic()
            realm.kinit(principal, f"FILE:{host}/krb5cc_1000")
            kinit_done = time.monotonic()
            while authtime(shared) in (before, None):
                if time.monotonic() - start > 30:
                    sys.exit(f"no new ticket in the volume after 30 s:\n{container.logs()[-2000:]}")
                time.sleep(0.005)
            # Docker's volume directory is root-only on the host, so prove the ticket is
            # usable on a private copy (kvno would add a service ticket to the file).
            probe = work / "probe.ccache"
            probe.write_bytes(shared.read_bytes())
            kvno = subprocess.run(
                ["kvno", "host/localhost"], env=realm.env(f"FILE:{probe}"), capture_output=True
            )
            usable = time.monotonic()
            if kvno.returncode != 0:
                sys.exit(f"shared copy not usable: {kvno.stderr.decode()}")
            kinit_times.append(kinit_done - start)
            latencies.append(usable - start)

        cpu, loop, memory, memory_no_cache = cpu_and_memory(container, args.idle_seconds)
        image = client.images.get(container.image.id)
        print(f"kerberos ticket sharer, poll interval {args.poll_interval} s, {args.runs} logins")
        print(f"  kinit alone:              median {statistics.median(kinit_times) * 1000:.0f} ms")
        print(
            "  kinit -> usable in volume: "
            f"median {statistics.median(latencies):.2f} s, "
            f"min {min(latencies):.2f} s, max {max(latencies):.2f} s"
        )
        print(
            f"  idle CPU over {args.idle_seconds:g} s:     {cpu:.2f} % of one core "
            f"(sharer loop {loop:.2f} %, the rest is Docker's health check every 10 s)"
        )
        print(f"  memory:                   {memory:.1f} MiB ({memory_no_cache:.1f} MiB w/o cache)")
        print(f"  image size:               {image.attrs['Size'] / 2**20:.0f} MiB")
    finally:
        make("platform-clean", env)
        realm.stop()


if __name__ == "__main__":
    main()
