"""airflow_settings.yaml into a running Airflow, as `astro dev start` imports it.

The file (committed, no secrets) lists connections, pools and variables in the Astro CLI's
format. Each entry is created through the REST API, or updated when it exists, so a restart
changes nothing that is already right. A bad file is refused, naming the entry and field,
before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adp import pydantic_problems, yaml_lines
from adp.airflow_api import AirflowClient
from adp.dev.errors import DevError


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectionEntry(_Entry):
    conn_id: str = Field(min_length=1)
    conn_type: str = Field(min_length=1)
    conn_host: str | None = None
    conn_schema: str | None = None
    conn_login: str | None = None
    conn_password: str | None = None
    conn_port: int | None = None
    conn_uri: str | None = None
    conn_extra: dict[str, Any] | str | None = None
    conn_description: str | None = None

    def body(self) -> dict[str, Any]:
        extra = self.conn_extra
        return {
            "connection_id": self.conn_id,
            "conn_type": self.conn_type,
            "host": self.conn_host,
            "schema": self.conn_schema,
            "login": self.conn_login,
            "password": self.conn_password,
            "port": self.conn_port,
            "description": self.conn_description,
            "extra": json.dumps(extra) if isinstance(extra, dict) else extra,
        }


class PoolEntry(_Entry):
    pool_name: str = Field(min_length=1)
    pool_slot: int = Field(ge=-1)
    pool_description: str | None = None


class VariableEntry(_Entry):
    variable_name: str = Field(min_length=1)
    variable_value: Any = None


class Settings(_Entry):
    connections: list[ConnectionEntry] = []
    pools: list[PoolEntry] = []
    variables: list[VariableEntry] = []


def load(path: Path) -> Settings:
    """The `airflow:` section of `path`, validated; DevError names the bad entry."""
    try:  # bounded (1 MiB, 32 levels); aliases allowed, as the Astro CLI allows them
        data = yaml_lines.load(path.read_text(), str(path), allow_aliases=True)[0] or {}
    except yaml_lines.YamlError as exc:
        where = f"line {exc.problems[0].line}: " if exc.problems[0].line else ""
        raise DevError(f"{path}: not valid YAML ({where}{exc.message})") from None
    if not isinstance(data, dict) or not isinstance(data.get("airflow", {}), dict):
        raise DevError(f"{path}: expected a mapping with an `airflow:` section")
    section = {k: v or [] for k, v in (data.get("airflow") or {}).items()}
    try:
        return Settings.model_validate(section)
    except ValidationError as exc:
        found = pydantic_problems.problems(exc, loc_prefix=("airflow",), limit=3)
        problems = pydantic_problems.render(found)
        raise DevError(f"{path}: {problems} (fix the entry, or remove it)") from None


def apply(client: AirflowClient, settings: Settings) -> dict[str, int]:
    """Create or update every entry; returns how many of each kind were written."""
    for conn in settings.connections:
        body = conn.body()
        if client.request("POST", "/api/v2/connections", ok=(409,), json=body).status_code == 409:
            client.request("PATCH", f"/api/v2/connections/{conn.conn_id}", json=body)
    for pool in settings.pools:
        # Airflow's pool update wants the whole pool: include_deferred as Airflow defaults it.
        body = {"name": pool.pool_name, "slots": pool.pool_slot, "include_deferred": False}
        if pool.pool_description is not None:
            body["description"] = pool.pool_description
        if client.request("POST", "/api/v2/pools", ok=(409,), json=body).status_code == 409:
            client.request("PATCH", f"/api/v2/pools/{pool.pool_name}", json=body)
    for variable in settings.variables:
        value = variable.variable_value
        body = {
            "key": variable.variable_name,
            "value": value if isinstance(value, str) else json.dumps(value),
        }
        if client.request("POST", "/api/v2/variables", ok=(409,), json=body).status_code == 409:
            client.request("PATCH", f"/api/v2/variables/{variable.variable_name}", json=body)
    return {
        "connections": len(settings.connections),
        "pools": len(settings.pools),
        "variables": len(settings.variables),
    }
