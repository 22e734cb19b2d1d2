"""The operations layer: every action a person or a program takes on DAG sources, once, under
the three front ends (the CLI, ``adp mcp``, the Airflow UI's DAG sources page).

Invariant: an action is one typed function (``adp.operations.repos``: sync, approve, rollback,
add, remove, list, status; ``adp.operations.releases``: publish, rollback, list;
``adp.operations.validate``: one DAG file) returning a pydantic model of
``adp.operations.results`` that says whether it succeeded, what changed and the re-parse it
asked Airflow for; or raising an ``adp.errors`` type whose ``loc`` names the argument, having
changed nothing. The front ends translate arguments and render results: they hold no rule and
import the libraries below this layer only through it (tests/operations checks it).

The names below are re-exported for the front ends: the models they render, the inputs
they build and airflow-repos.yaml's loader (the UI's page reads which one the api-server uses);
``adp.operations.bundles`` re-exports Airflow's bundle configuration."""

from adp.errors import AdpError, Failure, Problem, UsageError, problems_of
from adp.operations.caller import Caller
from adp.operations.errors import NotFound, Refused
from adp.operations.results import (
    Addition,
    Decision,
    PointerMove,
    Removal,
    Reparse,
    SyncOutcome,
)
from adp.repos.config import ReposConfig, ReposConfigError, load_config, redact_url
from adp.sources import SourceFinding, SourcesReport

__all__ = [
    "Addition",
    "AdpError",
    "Caller",
    "Decision",
    "Failure",
    "NotFound",
    "PointerMove",
    "Problem",
    "Refused",
    "Removal",
    "Reparse",
    "ReposConfig",
    "ReposConfigError",
    "SourceFinding",
    "SourcesReport",
    "SyncOutcome",
    "UsageError",
    "load_config",
    "problems_of",
    "redact_url",
]
