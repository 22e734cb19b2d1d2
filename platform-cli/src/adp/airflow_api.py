"""Airflow 3's REST API, as the local stack's users and tests drive it.

SimpleAuthManager with every user an admin (the local stack's setting): `GET /auth/token`
hands out a bearer token; `/api/v2/monitor/health` needs none.

Layering: a shared primitive below the libraries (repos, bundles, releases), the front ends
and `adp.dev`; of `adp` it imports only `adp.errors`, so any of them may use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from adp.errors import Failure

HEALTH_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
FINISHED_STATES = frozenset({"success", "failed"})


class AirflowApiError(Failure, RuntimeError):
    """A request Airflow answered with an error, or a wait that ran out of time."""


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str


def unhealthy(health: dict[str, Any]) -> list[str]:
    """The components of a /monitor/health answer that are not healthy (all of
    HEALTH_COMPONENTS must be)."""
    return [
        name for name in HEALTH_COMPONENTS if (health.get(name) or {}).get("status") != "healthy"
    ]


class AirflowClient:
    """A small client of one Airflow's REST API (httpx underneath)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        token: str | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        """``token``: a bearer token; without one, ``login`` (user name, password) signs in
        with ``POST /auth/token``, and without that ``GET /auth/token`` (the simple auth
        manager of a local stack, where everyone is admin) gives one."""
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = token or None
        self._login = login

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------
    def token(self) -> str:
        if self._token is None:
            if self._login is not None:
                username, password = self._login
                answer = self._http.post(
                    "/auth/token", json={"username": username, "password": password}
                )
            else:
                answer = self._http.get("/auth/token")
            if answer.status_code >= 400:
                method = "POST" if self._login else "GET"
                raise AirflowApiError(
                    f"{method} /auth/token: HTTP {answer.status_code} {answer.text[:300]}"
                )
            self._token = str(answer.json()["access_token"])
        return self._token

    def request(
        self, method: str, path: str, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token()}"}
        answer = self._http.request(method, path, headers=headers, **kwargs)
        if answer.status_code >= 400 and answer.status_code not in ok:
            raise AirflowApiError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:500]}")
        return answer

    def _poll(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One request of a wait loop: None when the server did not answer in time (a busy
        api-server), so that only the loop's own deadline ends the wait."""
        try:
            return self.request(method, path, **kwargs)
        except httpx.TransportError:
            return None

    # -- health ---------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """/api/v2/monitor/health; raises httpx.TransportError while nothing listens."""
        answer = self._http.get("/api/v2/monitor/health")
        answer.raise_for_status()
        return dict(answer.json())

    # -- DAGs and runs --------------------------------------------------------------
    def dags(self, **params: Any) -> list[dict[str, Any]]:
        answer = self.request("GET", "/api/v2/dags", params={"limit": 1000, **params})
        return list(answer.json()["dags"])

    def wait_for_dag(self, dag_id: str, timeout: float, interval: float = 1.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed `dag_id`; return it."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self._poll("GET", f"/api/v2/dags/{dag_id}", ok=(404,))
            if answer is not None and answer.status_code == 200:
                return dict(answer.json())
            if time.monotonic() > deadline:
                errors = self.import_errors()
                raise AirflowApiError(
                    f"DAG {dag_id} did not appear within {timeout:.0f} s; import errors: "
                    f"{errors or 'none'}"
                )
            time.sleep(interval)

    def import_errors(self) -> list[dict[str, Any]]:
        answer = self.request("GET", "/api/v2/importErrors")
        return list(answer.json()["import_errors"])

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> DagRun:
        body: dict[str, Any] = {"logical_date": None, **({"conf": conf} if conf else {})}
        answer = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body).json()
        return DagRun(dag_id, answer["dag_run_id"], answer["state"])

    def wait_for_run(self, run: DagRun, timeout: float, interval: float = 1.0) -> DagRun:
        """Wait until `run` has finished (success or failed); return its final state."""
        deadline = time.monotonic() + timeout
        state = run.state
        while True:
            answer = self._poll("GET", f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}")
            if answer is not None:
                state = answer.json()["state"]
                if state in FINISHED_STATES:
                    return DagRun(run.dag_id, run.run_id, state)
            if time.monotonic() > deadline:
                raise AirflowApiError(
                    f"run {run.run_id} of {run.dag_id} still {state} after {timeout:.0f} s"
                )
            time.sleep(interval)

    def task_instances(self, run: DagRun) -> list[dict[str, Any]]:
        answer = self.request(
            "GET", f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances"
        )
        return list(answer.json()["task_instances"])

    def task_log(self, run: DagRun, task_id: str, try_number: int = 1) -> str:
        """The task's log as text (Airflow 3 answers structured log lines)."""
        answer = self.request(
            "GET",
            f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}"
            f"/logs/{try_number}",
            params={"full_content": True},
            headers={"Accept": "application/json"},
        ).json()
        content = answer.get("content", "")
        if isinstance(content, list):
            return "\n".join(
                str(line.get("event", line)) if isinstance(line, dict) else str(line)
                for line in content
            )
        return str(content)
