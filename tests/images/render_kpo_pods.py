"""Write, as JSON, the pod each KubernetesPodOperator of a DAG folder would create.

Run by test_pod_specs.py in its own process (with AIRFLOW_HOME set), so Airflow's import-time
configuration never leaks into the test session. Uses the provider's own pod building
(`KubernetesPodOperator.build_pod_request_obj`), no cluster.
Usage: python render_kpo_pods.py DAG_FOLDER OUTPUT_JSON (Airflow logs to stdout, hence a file)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import ApiClient


def main(folder: str, output: str) -> int:
    bag = DagBag(dag_folder=folder)
    if bag.import_errors:
        errors = {k: str(v) for k, v in bag.import_errors.items()}
        Path(output).write_text(json.dumps({"import_errors": errors}))
        return 1
    api = ApiClient()
    pods = {}
    for dag_id, dag in bag.dags.items():
        for task in dag.tasks:
            if isinstance(task, KubernetesPodOperator):
                pod = task.build_pod_request_obj(dry_run=True)
                pods[f"{dag_id}.{task.task_id}"] = api.sanitize_for_serialization(pod)
    Path(output).write_text(json.dumps({"pods": pods}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
