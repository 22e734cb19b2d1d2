"""Ask a running Airflow to refresh the platform's bundle now, not at its next
``refresh_interval``: ``PUT /api/v2/parseDagFile/{file_token}`` of any DAG file of the bundle
makes the dag-processor refresh that file's bundle (about a second). A bundle with no DAG yet
has no file token: it shows at its next refresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx

from adp import airflow_access
from adp.airflow_api import AirflowApiError, AirflowClient

Outcome = Literal["requested", "no-dag-yet", "failed"]


@dataclass(frozen=True)
class Reparse:
    outcome: Outcome
    detail: str


def request_reparse(client: AirflowClient, bundle: str) -> Reparse:
    """One re-parse request for ``bundle``; never raises for Airflow's or the network's
    failure (the bundle's refresh_interval is the fallback)."""
    try:
        answer = client.request("GET", "/api/v2/dags", params={"bundle_name": bundle, "limit": 1})
        dags = answer.json().get("dags", [])
        if not dags:
            return Reparse(
                "no-dag-yet", f"bundle {bundle} has no DAG yet: it shows at its next refresh"
            )
        token = dags[0]["file_token"]
        client.request("PUT", f"/api/v2/parseDagFile/{quote(token, safe='')}")
    except (AirflowApiError, httpx.HTTPError, KeyError, ValueError) as error:
        return Reparse("failed", f"{type(error).__name__}: {error}"[:300])
    return Reparse("requested", f"asked Airflow to refresh bundle {bundle}")


def ask_airflow(airflow_url: str | None, bundle: str, token: str | None = None) -> Reparse | None:
    """The one way ``adp`` asks Airflow to re-parse after a release pointer moved: one request
    for ``bundle`` to the Airflow at ``airflow_url`` with ``token`` (default:
    ``ADP_AIRFLOW_TOKEN``); None without a URL. Never raises for Airflow's or the network's
    failure (the outcome says ``failed``; the bundle's refresh_interval is the fallback)."""
    if not airflow_url:
        return None
    token = token or airflow_access.airflow_token()
    with AirflowClient(airflow_url, timeout=10, token=token) as api:
        return request_reparse(api, bundle)
