"""Choosing a runtime image per task: the two ways, side by side.

1. `KubernetesPodOperator(image=...)` for jobs that do not need Airflow inside: dbt, Spark,
   SQL Server extracts. The pod runs only the tool; Airflow watches it from outside.
2. `executor_config={"pod_override": ...}` for Airflow tasks (here a TaskFlow `@task`) run by
   the KubernetesExecutor: the override replaces the image of the container named `base`,
   which runs Airflow's task runner, so that image must hold the scheduler's Airflow version
   (the airflow-runner type does).

Image references follow what `adp images` tags: `<registry>/<repo>:<type>-<version>`
(runtime-environments/images.env; the version is facts.env's PLATFORM_VERSION).
A deployment sets ADP_RUNTIME_IMAGE (registry/repo) and ADP_RUNTIME_VERSION in the
environment of the scheduler and dag-processor; the defaults match those tags (a test checks).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.sdk import dag, task
from kubernetes.client import models as k8s

RUNTIME_IMAGE = os.environ.get("ADP_RUNTIME_IMAGE", "adp-runtime")
RUNTIME_VERSION = os.environ.get("ADP_RUNTIME_VERSION", "0.1.0")
RUNTIME_UID = 50000  # the `runner` user every runtime image runs as


def runtime_image(runtime_type: str) -> str:
    """`<registry>/<repo>:<type>-<version>`, as `make images` tags it."""
    return f"{RUNTIME_IMAGE}:{runtime_type}-{RUNTIME_VERSION}"


# Every pod runs as the image's non-root user, with no privilege escalation.
POD_SECURITY = k8s.V1PodSecurityContext(
    run_as_non_root=True,
    run_as_user=RUNTIME_UID,
    run_as_group=0,
    fs_group=0,
    seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
)
CONTAINER_SECURITY = k8s.V1SecurityContext(
    allow_privilege_escalation=False,
    capabilities=k8s.V1Capabilities(drop=["ALL"]),
)

# The platform's shared Kerberos ticket cache, read-only (KRB5CCNAME in sqlserver-runner).
KERBEROS_CACHE = k8s.V1Volume(
    name="kerberos-cache",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
        claim_name="platform-kerberos-cache", read_only=True
    ),
)


@dag(
    dag_id="runtime_images_example",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "runtime-images"],
)
def runtime_images_example() -> None:
    # 1. A dbt project in its own image. profiles.yml comes from a Kubernetes secret mounted
    #    as files: no credential is in the image or in the DAG.
    dbt_build = KubernetesPodOperator(
        task_id="dbt_build",
        name="dbt-build",
        image=runtime_image("dbt-runner"),
        cmds=["dbt"],
        arguments=["build", "--project-dir", "/project", "--profiles-dir", "/secrets/dbt"],
        secrets=[Secret("volume", "/secrets/dbt", "dbt-profiles")],
        security_context=POD_SECURITY,
        container_security_context=CONTAINER_SECURITY,
        get_logs=True,
        on_finish_action="delete_pod",
    )

    # 1b. A SQL Server extract with the shared Kerberos ticket mounted read-only.
    sqlserver_extract = KubernetesPodOperator(
        task_id="sqlserver_extract",
        name="sqlserver-extract",
        image=runtime_image("sqlserver-runner"),
        cmds=["python", "-m", "jobs.extract_orders"],
        volumes=[KERBEROS_CACHE],
        volume_mounts=[
            k8s.V1VolumeMount(name="kerberos-cache", mount_path="/krb5/cache", read_only=True)
        ],
        security_context=POD_SECURITY,
        container_security_context=CONTAINER_SECURITY,
        get_logs=True,
        on_finish_action="delete_pod",
    )

    # 2. An Airflow task whose pod uses another image: the container must be named `base`.
    @task(
        executor_config={
            "pod_override": k8s.V1Pod(
                spec=k8s.V1PodSpec(
                    security_context=POD_SECURITY,
                    containers=[
                        k8s.V1Container(
                            name="base",
                            image=runtime_image("airflow-runner"),
                            security_context=CONTAINER_SECURITY,
                        )
                    ],
                )
            )
        }
    )
    def summarise() -> str:
        import yaml  # from the airflow-runner image, not from the scheduler's

        return yaml.safe_dump({"status": "done"})

    [dbt_build, sqlserver_extract] >> summarise()


runtime_images_example()
