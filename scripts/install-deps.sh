#!/bin/sh
# Installs, from Debian 12's own packages, what the project needs:
#   scripts/install-deps.sh demo   build the module and run the demo
#   scripts/install-deps.sh        (or "all") also the whole test suite:
#                                  database servers (started by the tests
#                                  only, on loopback, in scratch folders),
#                                  redis, clang, valgrind, wrk...
set -eu
DEMO="apache2 apache2-dev libapr1-dev libaprutil1-dev libjansson-dev
 libyajl-dev libcurl4-openssl-dev libsqlite3-dev libaprutil1-dbd-sqlite3 sqlite3
 autoconf automake libtool pkg-config make gcc python3 ca-certificates curl"
TEST="libapache2-mod-perl2 libwww-perl openssl
 libaprutil1-dbd-mysql libaprutil1-dbd-pgsql mariadb-server mariadb-client
 postgresql postgresql-client redis-server redis-tools
 clang libclang-rt-14-dev wrk valgrind procps prometheus"
case "${1:-all}" in
demo) PACKAGES="$DEMO" ;;
all) PACKAGES="$DEMO $TEST" ;;
*) echo "usage: $0 [demo|all]" >&2; exit 2 ;;
esac
# nothing to do (and no root needed) when every package is there already
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' \
        || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
    echo "install-deps: the packages are installed already"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: these packages are missing:$missing" >&2
        echo "install-deps: installing them needs root, and sudo is not installed:" \
             "run \"$0 ${1:-all}\" as root (or install sudo), then this again" >&2
        exit 1
    fi
    SUDO="sudo"
    echo "install-deps: installing$missing with sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
