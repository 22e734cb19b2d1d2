# spark-runner's own lines of the runtime stage: the driver inserts them into ../Dockerfile at
# the marked line (as root, after the user is created, before the venv is copied).
# spark-runner: the driver and its Python workers use the venv's interpreter.
ENV PYSPARK_PYTHON=/opt/venv/bin/python \
    PYSPARK_DRIVER_PYTHON=/opt/venv/bin/python
