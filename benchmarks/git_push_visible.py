"""A git push until the new DAG version shows through Airflow's REST API, in the running stack.

Starts the template's datakit with `adp dev start` and one compose override: a local release
store mounted into the Airflow services and served as the platform's bundle (refresh_interval
30 s, so the re-parse request, not the interval, is what is measured). A bare repository on
this machine is added with `adp repos add`, and `adp repos serve` (the webhook receiver) runs
on loopback. Then --runs times: commit a new version of the DAG, `git push`, post the signed
GitHub push event as GitHub would, and measure from the push:

- to promoted: the receiver fetched, validated, scanned and published the commit (the
  repository's state names it as promoted);
- to visible: `GET /api/v2/dags/{id}` shows the new description.

Prints medians next to the issue's goals (promoted <= 2 s, visible <= 5 s) and the seed's
target (under 30 s).

Usage: python benchmarks/git_push_visible.py [--runs 10]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from adp.airflow_api import AirflowClient
from adp.repos.state import StateDir
from adp_test_servers.ports import free_port
from bench_stack import dag_file, release_store, running_bench_stack, wait_for_description

GOALS = "goals (issue): push -> promoted <= 2 s, push -> visible <= 5 s (median); seed: < 30 s"
SECRET = os.urandom(16).hex()
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "PATH": os.environ["PATH"]}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def push(work: Path, n: int) -> str:
    (work / "dags").mkdir(exist_ok=True)
    (work / "dags" / "bench_daily.py").write_text(dag_file("bench_daily", n))
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", f"version {n}")
    git(work, "push", "--quiet", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def webhook(url: str, sha: str, n: int) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": f"bench-{n}-{sha[:8]}",
               "X-Hub-Signature-256": f"sha256={signature}"}  # fmt: skip
    answer = httpx.post(f"{url}/hooks/bench", content=body, headers=headers, timeout=10)
    if answer.status_code != 202:
        raise SystemExit(f"webhook: {answer.status_code} {answer.text}")


def wait_promoted(state: StateDir, sha: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = state.load("bench")
        if current.promoted == sha:
            return
        if any(n.sha == sha for n in current.refused):
            raise SystemExit(f"{sha[:12]} was refused: {current.last_error}")
        time.sleep(0.05)
    raise SystemExit(f"{sha[:12]} not promoted within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    adp = str(Path(sys.executable).parent / "adp")
    promoted, visible = [], []
    with running_bench_stack("bench-git-", prepare=release_store) as bench:
        origin, work = bench.tmp / "bench.git", bench.tmp / "bench-work"
        git(bench.tmp, "init", "--quiet", "--bare", "--initial-branch", "main", str(origin))
        git(bench.tmp, "init", "--quiet", "--initial-branch", "main", str(work))
        git(work, "remote", "add", "origin", str(origin))
        push(work, 0)
        config = bench.tmp / "airflow-repos.yaml"
        config.write_text(yaml.safe_dump({
            "release_store": {"bucket": str(bench.tmp / "store"), "env": "dev"},
            "airflow": {"url": bench.url},
            "repositories": [{
                "name": "bench", "url": origin.as_uri(), "namespace": "bench", "path": "dags",
                "sync_interval": "1h",
                "webhook": {"provider": "github", "secret_env": "BENCH_HOOK_SECRET"},
            }],
        }))  # fmt: skip
        env = {**os.environ, "BENCH_HOOK_SECRET": SECRET}
        subprocess.run([adp, "repos", "sync", "bench", "--config", str(config)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (bench.tmp / "serve.log").open("w")
        serve = subprocess.Popen(
            [adp, "repos", "serve", "--port", str(port), "--config", str(config)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            with AirflowClient(bench.url) as api:
                wait_for_description(api, "bench_daily", "version 0")
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise SystemExit("adp repos serve did not start")
                    time.sleep(0.2)
                state = StateDir(config.parent / ".adp-repos")
                for n in range(1, args.runs + 1):
                    time.sleep(1)  # pushes are spaced, as people push
                    sha = push(work, n)
                    pushed = time.monotonic()
                    webhook(url, sha, n)
                    wait_promoted(state, sha)
                    promoted.append(time.monotonic() - pushed)
                    wait_for_description(api, "bench_daily", f"version {n}")
                    visible.append(time.monotonic() - pushed)
        finally:
            serve.terminate()
            serve.wait(20)
    print(f"git push -> webhook -> validated, promoted -> visible in Airflow ({args.runs} runs)")
    for label, values in (("promoted", promoted), ("visible", visible)):
        print(
            f"  push -> {label:<8}: median {statistics.median(values):.1f} s, "
            f"min {min(values):.1f} s, max {max(values):.1f} s"
        )
    print(f"  {GOALS}")


if __name__ == "__main__":
    main()
