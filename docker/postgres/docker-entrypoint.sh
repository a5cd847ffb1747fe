#!/bin/bash
# Entrypoint of the stack's PostgreSQL image (docker/postgres/Dockerfile): the official postgres
# image's interface, as far as this project's compose files use it, written anew for Debian's
# packages.
#
#   docker-entrypoint.sh postgres [-c name=value ...]   initialise if needed, then serve
#   docker-entrypoint.sh -c name=value ...              the same ("postgres" is implied)
#   docker-entrypoint.sh CMD ...                        anything else is run as it is
#
# Honoured on the first start (an empty PGDATA):
#   POSTGRES_PASSWORD          the superuser's password; required unless the auth method is trust
#   POSTGRES_USER              the superuser (default postgres)
#   POSTGRES_DB                a database created for it (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments, split on blanks (no quoting)
#   POSTGRES_HOST_AUTH_METHOD  auth for connections from other hosts (default scram-sha-256);
#                              the unix socket and loopback are trusted, as in the official image
#   /docker-entrypoint-initdb.d/*.sh (run when executable, else sourced), *.sql and *.sql.gz, in
#   name order, against POSTGRES_DB, with a server on the unix socket only (so nothing outside
#   sees a half-initialised database: a TCP health check stays unhealthy until the end).
# Then PostgreSQL serves on port 5432 of every address. SIGINT (the image's STOPSIGNAL) and
# SIGTERM both ask for a fast shutdown: clients are disconnected, the data is flushed.
# Not implemented: the *_FILE variables, POSTGRES_INITDB_WALDIR, *.sql.xz/.zst, arbitrary uids.
set -Eeuo pipefail
me="postgres-entrypoint"
say() { echo "$me: $*" >&2; }

if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi
if [[ ${1:-} != postgres ]]; then
    exec "$@"
fi
shift # the rest are arguments for the postgres binary

# As root: make the data and socket directories the postgres user's, then become that user.
if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export PGPASSWORD="${PGPASSWORD:-${POSTGRES_PASSWORD:-}}"
psql_cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)

initialise() {
    local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [[ -z ${POSTGRES_PASSWORD:-} && $auth != trust ]]; then
        say "the database is uninitialised and POSTGRES_PASSWORD is not set"
        say "set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust for a throw-away database"
        exit 1
    fi
    local args=()
    read -r -a args <<<"${POSTGRES_INITDB_ARGS:-}"
    # Later arguments win, so POSTGRES_INITDB_ARGS may override the encoding and locale.
    args=(-D "$PGDATA" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 "${args[@]}")
    say "initdb $PGDATA (superuser $POSTGRES_USER, remote auth $auth)"
    if [[ -n ${POSTGRES_PASSWORD:-} ]]; then
        # The password through a pipe, never on a command line or in a file.
        initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
    else
        initdb "${args[@]}"
    fi
    printf '\n# Added by %s: every other host, POSTGRES_HOST_AUTH_METHOD.\nhost all all all %s\n' \
        "$me" "$auth" >>"$PGDATA/pg_hba.conf"
    printf "\n# Added by %s.\nlisten_addresses = '*'\n" "$me" >>"$PGDATA/postgresql.conf"

    # A private server for the init scripts: unix socket only.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -t 60 start
    if [[ $POSTGRES_DB != postgres ]]; then
        "${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    local f dir=/docker-entrypoint-initdb.d
    if [[ -e $dir && ! ( -r $dir && -x $dir ) ]]; then
        say "$dir is not readable by the postgres user (uid $(id -u)): its scripts cannot run"
        exit 1
    fi
    shopt -s nullglob
    for f in "$dir"/*; do
        case $f in
        *.sh)
            if [[ -x $f ]]; then
                say "running $f"
                "$f"
            else
                say "sourcing $f"
                # shellcheck disable=SC1090
                . "$f"
            fi
            ;;
        *.sql)
            say "running $f"
            "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f"
            ;;
        *.sql.gz)
            say "running $f"
            gzip -dc "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB"
            ;;
        *) say "ignoring $f" ;;
        esac
    done
    shopt -u nullglob
    pg_ctl -D "$PGDATA" -m fast -w -t 60 stop
    say "initialisation done"
}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    initialise
fi

# PostgreSQL in the background, so that this shell (PID 1) can turn SIGTERM into SIGINT, the fast
# shutdown, and still reap it and pass on its exit status.
postgres "$@" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true' INT TERM
status=0
while :; do
    status=0
    wait "$pid" || status=$?
    kill -0 "$pid" 2>/dev/null || break # still running: wait was cut short by a signal
done
exit "$status"
