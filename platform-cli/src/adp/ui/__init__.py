"""The "DAG sources" page of the Airflow UI: an Airflow 3 plugin (``adp.ui.plugin``, registered
through the ``airflow.plugins`` entry point of platform-cli, so the Layer-1 image has it) that
mounts a FastAPI app in the api-server at ``/adp-sources`` and adds it to the UI's navigation.

Contract: the page shows what ``adp.sources`` reads, and nothing else: every package of the
release stores of the platform's bundles (``dag_bundle_config_list``) and every git repository
of ``ADP_REPOS_CONFIG`` (an ``airflow-repos.yaml``), with its running release or promoted
commit, commits awaiting approval, last sync and its age, last error and findings (rule,
file:line, message). Who may see it and act is Airflow's auth manager's answer, asked for every
request: reading needs DAG read access; sync, approve and rollback need the right to edit every
DAG the source runs (and, for a rollback or approval, every DAG of the target), and are refused
with 403 otherwise, whatever the browser shows. An action also needs the ``X-Requested-By``
header (a cross-site form cannot send it). Each action is ``adp repos sync|approve|rollback``
or ``adp dags rollback`` run by the library, recorded with the Airflow user as the actor, and
followed by a re-parse request made with the user's own token. No page or answer holds a
credential: URLs are redacted and a token or secret is named by its variable or file.
"""
