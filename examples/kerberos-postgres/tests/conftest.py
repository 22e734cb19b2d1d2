"""Test settings shared by the tests of kerberos-postgres.

Runs before any test module imports Airflow: Airflow reads its configuration
once, at import time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = PROJECT_ROOT / "dags"

# Airflow 3.3 has no DagBag(include_examples=...): examples are off by configuration.
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER))
# On a laptop, keep Airflow's files out of ~/airflow; the image sets AIRFLOW_HOME itself.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
# The dags folder is deliberately *not* put on sys.path here: DAG files must
# import without it, as in `airflow dags list-import-errors --local`. Tests that
# import the datakit's package add it themselves (monkeypatch.syspath_prepend).
