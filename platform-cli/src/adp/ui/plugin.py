"""The Airflow plugin: the ``/adp-sources`` app in the api-server and its "DAG sources" entry
in the UI's Browse menu (an external view: the UI shows the page in a frame at
``/plugin/dag-sources``). Registered by platform-cli's ``airflow.plugins`` entry point."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from adp.ui.app import PREFIX, create_app

URL_ROUTE = "dag-sources"


class DagSourcesPlugin(AirflowPlugin):
    name = "adp_dag_sources"
    # Declared as AirflowPlugin declares them (instance variables with a class default, which
    # Airflow reads from the class): ClassVar would contradict the base class.
    fastapi_apps: list[Any] = [  # noqa: RUF012
        {"app": create_app(), "url_prefix": PREFIX, "name": "DAG sources"}
    ]
    external_views: list[Any] = [  # noqa: RUF012
        {
            "name": "DAG sources",
            "href": f"{PREFIX}/",
            "url_route": URL_ROUTE,
            "destination": "nav",
            "category": "browse",
        }
    ]
