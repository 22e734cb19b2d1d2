"""A Pagila-shaped DVD rental sample loaded into a PostgreSQL warehouse with sqlmodel-framework.

Code shared by the DAGs of pagila-sqlmodel-basic; it ships with the DAGs wherever
they are deployed. Import it inside tasks (`from pagila.models import
...`): Airflow puts the DAG bundle (the dags folder) on sys.path when it parses
DAGs and runs tasks, but not in every CLI command.
"""

PACKAGE_NAME = "pagila"
DAG_ID_PREFIX = "pagila_"
