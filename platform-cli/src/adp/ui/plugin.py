"""The Airflow plugin: the ``/adp-sources`` app in the api-server and its "DAG sources" entry
in the UI's Browse menu (an external view: the UI shows the page in a frame at
``/plugin/dag-sources``). Registered by platform-cli's ``airflow.plugins`` entry point."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from adp.ui.app import PREFIX, create_app

URL_ROUTE = "dag-sources"


class DagSourcesPlugin(AirflowPlugin):
    name = "adp_dag_sources"
    fastapi_apps: ClassVar[list[Any]] = [
        {"app": create_app(), "url_prefix": PREFIX, "name": "DAG sources"}
    ]
    external_views: ClassVar[list[Any]] = [
        {
            "name": "DAG sources",
            "href": f"{PREFIX}/",
            "url_route": URL_ROUTE,
            "destination": "nav",
            "category": "browse",
        }
    ]
