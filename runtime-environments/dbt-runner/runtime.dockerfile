# dbt-runner's own lines of the runtime stage: the driver inserts them into ../Dockerfile at
# the marked line (as root, after the user is created, before the venv is copied).
# dbt-runner: dbt never phones home from a pod (and cannot through the proxy anyway).
ENV DBT_SEND_ANONYMOUS_USAGE_STATS=false
# dbt-runner: register FreeTDS under the name profiles use (driver: FreeTDS).
RUN odbcinst -q -d -n FreeTDS >/dev/null 2>&1 \
 || odbcinst -i -d -f /usr/share/tdsodbc/odbcinst.ini
