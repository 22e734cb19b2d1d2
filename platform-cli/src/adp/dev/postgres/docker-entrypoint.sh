#!/bin/bash
# First start: create the cluster in $PGDATA (superuser $POSTGRES_USER with
# $POSTGRES_PASSWORD, password logins over TCP; POSTGRES_HOST_AUTH_METHOD=trust, as in the
# official image, lets TCP clients in without a password and makes the password optional),
# run /docker-entrypoint-initdb.d/*.
# Every start: exec postgres with the given -c options. Any other command runs as is.
set -euo pipefail
[[ "${1:-}" == postgres ]] || exec "$@"
shift
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  case "$auth" in
    trust | scram-sha-256 | md5) ;;
    *) echo "POSTGRES_HOST_AUTH_METHOD=$auth: use scram-sha-256 (the default), md5 or trust" >&2; exit 1 ;;
  esac
  if [[ "$auth" != trust ]]; then
    : "${POSTGRES_PASSWORD:?is empty: set POSTGRES_PASSWORD, the superuser password of the new cluster}"
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, as in the official image
  initdb_args=(--username="$user" --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-})
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
  else
    initdb "${initdb_args[@]}" >/dev/null
  fi
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
  # Init scripts talk over the Unix socket only: no client can connect before they finish.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ "$db" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -qc "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "docker-entrypoint: running $f"; . "$f" ;;
      *.sql) echo "docker-entrypoint: running $f"; psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -qf "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "docker-entrypoint: created the cluster in $PGDATA"
fi
exec postgres -D "$PGDATA" "$@"
