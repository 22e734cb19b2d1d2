"""The local Airflow stack of a datakit, shaped as `astro dev start` shapes it.

Contract: `adp dev start` in a datakit folder runs the same services with the same
settings and mounts as the Astro CLI's Airflow 3 stack (postgres, db-migration,
scheduler, dag-processor, api-server, triggerer; LocalExecutor; dags/ plugins/ include/
tests/ bind-mounted), merges the datakit's docker-compose.override.yml, and reports
ready only when Airflow's own health endpoint says every component is healthy. The
stack's secrets (metadata database password, JWT secret, API secret key, Fernet key) are
generated once per stack into a 0600 file outside the project: never in the rendered
compose file, the project, the image or a log.

Modules: `project` (which datakit, its names), `settings` (ADP_DEV_* and IMAGE_POSTGRES),
`compose` (the reviewed compose template and the compose command), `secrets`,
`postgres` (the metadata database image, built offline when no registry answers),
`ports` (Airflow's REST API client is `adp.airflow_api`),
`airflow_settings` (airflow_settings.yaml into the running Airflow), `stack` (start,
stop, status, logs, exec in a service, trigger a DAG with its conf).

Commands: `adp dev start | stop | status | logs | exec SERVICE [COMMAND...] | pytest |
trigger DAG_ID [--conf JSON]`. Every compose command on a stack sees IMAGE_POSTGRES set to
the metadata database's image, so the override can run a PostgreSQL of its own as
`image: ${IMAGE_POSTGRES:-postgres:16}` (under `astro dev start`, the default applies).
"""
