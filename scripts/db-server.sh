#!/bin/sh
# Starts or stops a private database or cache server on loopback, with its
# data in DIR, for the tests and the multi-node demo:
#   scripts/db-server.sh start mysql|pgsql|redis DIR PORT
#   scripts/db-server.sh stop  mysql|pgsql|redis DIR
# Run it as the user that owns DIR (not root: PostgreSQL refuses root).
# Each server listens on 127.0.0.1 only and trusts local connections.
set -eu
usage() {
    echo "usage: $0 start mysql|pgsql|redis DIR PORT" >&2
    echo "       $0 stop  mysql|pgsql|redis DIR" >&2
    exit 2
}
[ $# -ge 3 ] || usage
ACTION=$1 KIND=$2 DIR=$3 PORT=${4:-}
case "$ACTION:$KIND" in
start:mysql|start:pgsql|start:redis) [ -n "$PORT" ] || usage ;;
stop:mysql|stop:pgsql|stop:redis) ;;
*) usage ;;
esac
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

wait_for() {   # command to poll, what for
    i=0
    until eval "$1" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then echo "$2 did not start; see $DIR" >&2; exit 1; fi
        sleep 0.2
    done
}

case "$ACTION:$KIND" in
start:mysql)
    if [ ! -d "$DIR/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$DIR/data" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$DIR/install.log" 2>&1
    fi
    mariadbd --no-defaults --datadir="$DIR/data" --socket="$DIR/mysqld.sock" \
        --pid-file="$DIR/mysqld.pid" --bind-address=127.0.0.1 --port="$PORT" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --skip-log-bin --innodb-buffer-pool-size=64M \
        --log-error="$DIR/error.log" </dev/null >/dev/null 2>&1 &
    wait_for "mariadb --no-defaults -S '$DIR/mysqld.sock' -uroot -e 'SELECT 1'" "MariaDB"
    ;;
stop:mysql)
    [ -f "$DIR/mysqld.pid" ] && kill "$(cat "$DIR/mysqld.pid")" 2>/dev/null || true
    ;;
start:pgsql)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        "$(pg_bin)/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 \
            --no-locale >"$DIR/initdb.log" 2>&1
    fi
    "$(pg_bin)/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c shared_preload_libraries=pg_stat_statements" start >/dev/null
    ;;
stop:pgsql)
    [ -f "$DIR/data/postmaster.pid" ] && "$(pg_bin)/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
    ;;
start:redis)
    redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --save '' \
        --appendonly no --daemonize yes --pidfile "$DIR/redis.pid" \
        --logfile "$DIR/redis.log" >/dev/null
    wait_for "redis-cli -p $PORT ping" "redis"
    ;;
stop:redis)
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    ;;
*)
    usage
    exit 2
    ;;
esac
