# airflow-runner's own lines of the runtime stage: the driver inserts them into ../Dockerfile at
# the marked line (as root, after the user is created, before the venv is copied).
# airflow-runner: a writable AIRFLOW_HOME for the task's config and logs (group 0, like the
# user, so arbitrary uids work too). The pod template supplies the rest of the configuration.
RUN install -d -o "${RUNTIME_UID}" -g 0 -m 2775 /opt/airflow
ENV AIRFLOW_HOME=/opt/airflow
