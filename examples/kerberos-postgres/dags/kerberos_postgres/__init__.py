"""The Kerberos pattern: the warehouse connection logs in with the shared ticket of the developer.

Code shared by the DAGs of kerberos-postgres; it ships with the DAGs wherever
they are deployed. Import it inside tasks (`from kerberos_postgres.models import
...`): Airflow puts the DAG bundle (the dags folder) on sys.path when it parses
DAGs and runs tasks, but not in every CLI command.
"""

PACKAGE_NAME = "kerberos_postgres"
DAG_ID_PREFIX = "kerberos_postgres_"
