# sqlserver-runner's own lines of the runtime stage: the driver inserts them into ../Dockerfile at
# the marked line (as root, after the user is created, before the venv is copied).
# sqlserver-runner: make sure the FreeTDS driver is registered under the name DSNs use, and
# read the ticket from the platform's shared Kerberos cache volume (mounted at /krb5/cache).
RUN odbcinst -q -d -n FreeTDS >/dev/null 2>&1 \
 || odbcinst -i -d -f /usr/share/tdsodbc/odbcinst.ini
ENV KRB5CCNAME=/krb5/cache/krb5cc
